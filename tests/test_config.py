"""Configuration: declared options, load order, errors that name the culprit."""
from __future__ import annotations

import pytest

from minicloud.config import OPTIONS, Config, default_state_dir
from minicloud.errors import ConfigError


def test_defaults_use_openstack_ports(tmp_path):
    conf = Config.load(tmp_path, environ={})
    assert (conf.identity.port, conf.image.port) == (5000, 9292)
    assert conf.database_url == f"sqlite:///{tmp_path / 'minicloud.db'}"
    assert conf.image.max_image_size == 10 * 1024 ** 3


def test_load_order_defaults_file_env_overrides(tmp_path):
    (tmp_path / "minicloud.conf").write_text("[image]\nport = 1111\nchunk_size = 64K\n")
    conf = Config.load(tmp_path, environ={})
    assert conf.image.port == 1111 and conf.image.chunk_size == 65536
    conf = Config.load(tmp_path, environ={"MINICLOUD_IMAGE_PORT": "2222"})
    assert conf.image.port == 2222
    conf = Config.load(tmp_path, overrides={"image.port": "3333"},
                       environ={"MINICLOUD_IMAGE_PORT": "2222"})
    assert conf.image.port == 3333


@pytest.mark.parametrize("text, needle", [
    ("[image]\nport = ninety\n", "[image] port = 'ninety'"),
    ("[image]\nport = 70000\n", "between 0 and 65535"),
    ("[image]\nno_such = 1\n", "unknown option [image] no_such"),
    ("[DEFAULT]\nworkers = x\n", "[DEFAULT] workers"),
    ("not an ini file", "minicloud.conf"),
])
def test_bad_file_is_refused_with_file_key_and_value(tmp_path, text, needle):
    (tmp_path / "minicloud.conf").write_text(text)
    with pytest.raises(ConfigError) as exc:
        Config.load(tmp_path, environ={})
    assert needle in exc.value.message


def test_bad_environment_value_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="MINICLOUD_IMAGE_PORT"):
        Config.load(tmp_path, environ={"MINICLOUD_IMAGE_PORT": "-1"})


def test_every_option_has_help_and_parses_its_default(tmp_path):
    conf = Config.load(tmp_path, environ={})
    for opt in OPTIONS:
        assert opt.help.endswith((".", ")")), opt
        assert getattr(getattr(conf, opt.section), opt.key) is not None


def test_state_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("MINICLOUD_STATE_DIR", str(tmp_path / "s"))
    assert default_state_dir() == tmp_path / "s"
    monkeypatch.delenv("MINICLOUD_STATE_DIR")
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_state_dir() == tmp_path / "xdg" / "minicloud"
    monkeypatch.setattr("os.geteuid", lambda: 0)
    assert str(default_state_dir()) == "/var/lib/minicloud"
