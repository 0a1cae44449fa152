"""``minicloud image ...``: unit pieces against a fake HTTP boundary, then the real CLI against
a real running cloud (identity + image services started by ``minicloud up``)."""
from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
import requests
from click.testing import CliRunner, Result

from minicloud import errors, services
from minicloud.cli import images, transfer
from minicloud.cli.main import cli
from minicloud.client import Client, find_credentials

ROOT = Path(__file__).resolve().parent.parent
NO_OS_ENV = {k: None for k in os.environ if k.startswith("OS_")}


# --- unit: a fake Glance behind Client.request ----------------------------------------------

class FakeGlance:
    """Answers the calls ImageApi makes from an in-memory list; records every request."""

    def __init__(self, imgs: list[dict], page_size: int = 2) -> None:
        self.images, self.page_size, self.calls = imgs, page_size, []

    def endpoint(self, service_type: str) -> str:
        return "http://glance.test:9292"

    def request(self, service_type: str, method: str, path: str, **kw) -> requests.Response:
        params = kw.get("params") or {}
        self.calls.append((method, path, dict(params)))
        if path == "/v2/images" and method == "GET":
            return self._list(params)
        image_id = path.removeprefix("/v2/images/")
        for img in self.images:
            if img["id"] == image_id:
                return _response(img)
        raise errors.NotFound(f"no image {image_id}")

    def _list(self, params: dict) -> requests.Response:
        def one(value):
            return value[0] if isinstance(value, list) else value

        hidden = str(one(params.get("os_hidden", "false"))).lower() == "true"
        found = [i for i in self.images if i.get("os_hidden", False) == hidden
                 and ("name" not in params or i["name"] == one(params["name"]))]
        start = 0
        if "marker" in params:
            start = [i["id"] for i in found].index(one(params["marker"])) + 1
        page = found[start:start + self.page_size]
        body: dict = {"images": page}
        if start + self.page_size < len(found):
            body["next"] = f"/v2/images?marker={page[-1]['id']}&limit={self.page_size}"
        return _response(body)


def _response(body: dict | bytes, headers: dict | None = None, status: int = 200
              ) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    resp.raw = io.BytesIO(data)
    resp.headers.update(headers or {})
    return resp


def _img(i: int, name: str, **extra) -> dict:
    return {"id": f"00000000-0000-0000-0000-{i:012d}", "name": name, "status": "active",
            **extra}


@pytest.fixture
def glance() -> FakeGlance:
    return FakeGlance([_img(1, "alpha"), _img(2, "beta"), _img(3, "twin"), _img(4, "twin"),
                       _img(5, "ghost", os_hidden=True), _img(6, "gamma")])


def test_find_by_id_asks_for_it_directly(glance):
    img = images.ImageApi(glance).find(_img(2, "")["id"])
    assert img["name"] == "beta" and len(glance.calls) == 1


def test_find_by_name_lists_with_a_name_filter(glance):
    assert images.ImageApi(glance).find("gamma")["id"] == _img(6, "")["id"]
    assert [c[:2] for c in glance.calls] == [("GET", "/v2/images/gamma"),
                                             ("GET", "/v2/images")]
    assert glance.calls[1][2] == {"name": "gamma"}


def test_find_hidden_image_through_the_os_hidden_list(glance):
    assert images.ImageApi(glance).find("ghost")["id"] == _img(5, "")["id"]
    assert glance.calls[-1][2] == {"os_hidden": "true"}


def test_find_missing_and_ambiguous_names(glance):
    api = images.ImageApi(glance)
    with pytest.raises(errors.NotFound, match="^No Image found for nope$"):
        api.find("nope")
    with pytest.raises(errors.MinicloudError,
                       match=r"^More than one Image exists with the name 'twin'\.$"):
        api.find("twin")


def test_names_are_percent_encoded_in_the_path(glance):
    with pytest.raises(errors.NotFound):
        images.ImageApi(glance).find("a b/c")
    assert glance.calls[0][1] == "/v2/images/a%20b%2Fc"


def test_list_follows_next_links_and_keeps_filters(glance):
    glance.page_size = 1
    got = list(images.ImageApi(glance).list({"name": "twin"}))
    assert [i["id"] for i in got] == [_img(3, "")["id"], _img(4, "")["id"]]
    assert glance.calls[1][2]["name"] == "twin" and glance.calls[1][2]["marker"]


def test_list_stops_an_endless_pagination_loop(mocker):
    client = mocker.Mock()
    client.endpoint.return_value = "http://glance.test:9292"
    client.request.side_effect = lambda *a, **kw: _response(
        {"images": [_img(1, "x")], "next": "/v2/images?marker=same"})
    with pytest.raises(errors.MinicloudError, match="endless pagination loop"):
        list(images.ImageApi(client).list({}))


def test_next_link_absolute_or_without_version_is_rebased(mocker):
    client = mocker.Mock()
    client.endpoint.return_value = "http://h:8080/image"
    api = images.ImageApi(client)
    assert api._next_page("http://h:8080/image/v2/images?marker=m") == (
        "/v2/images", {"marker": ["m"]})
    assert api._next_page("/images?marker=m&limit=3") == (
        "/v2/images", {"marker": ["m"], "limit": ["3"]})


def test_parse_properties():
    parsed = images.parse_properties(None, None, ["a=1", "url=http://x/?q=1&r=2", "empty="])
    assert parsed == {"a": "1", "url": "http://x/?q=1&r=2", "empty": ""}
    for bad in ("novalue", "=v"):
        with pytest.raises(click.BadParameter, match="is not KEY=VALUE"):
            images.parse_properties(None, None, [bad])


@pytest.mark.parametrize("command", [["create", "x"], ["set", "x"], ["list"]])
def test_bad_property_is_a_usage_error(tmp_path, command):
    result = CliRunner().invoke(cli, ["--state-dir", str(tmp_path), "image", *command,
                                      "--property", "novalue"], env=NO_OS_ENV)
    assert result.exit_code == 2
    assert "'novalue' is not KEY=VALUE" in result.stderr
    assert "Traceback" not in result.output


def test_show_record_folds_custom_properties():
    record = images.show_record({"id": "i", "name": "n", "status": "active", "os_hidden": False,
                                 "hw_disk_bus": "virtio", "self": "/v2/images/i",
                                 "tags": ["a"]})
    assert record["properties"] == {"os_hidden": False, "hw_disk_bus": "virtio"}
    assert record["tags"] == ["a"] and record["size"] is None and "self" not in record


class FakeData:
    """The download side of ImageApi: one image whose data is ``data``."""

    def __init__(self, data: bytes, headers: dict | None = None, status: int = 200) -> None:
        self.data, self.headers, self.status = data, headers or {}, status

    def download(self, image_id: str) -> requests.Response:
        return _response(self.data, {"Content-Length": str(len(self.data)), **self.headers},
                         self.status)


DATA = os.urandom(3 * transfer.CHUNK + 123)
SHA512 = hashlib.sha512(DATA).hexdigest()
MD5 = hashlib.md5(DATA, usedforsecurity=False).hexdigest()


@pytest.mark.parametrize("img", [
    {"os_hash_algo": "sha512", "os_hash_value": SHA512, "checksum": "ignored"},
    {"checksum": MD5},
    {},  # nothing to check against: written as is
])
def test_save_verifies_and_renames(tmp_path, img):
    out = tmp_path / "out.img"
    transfer.save_data(FakeData(DATA), {"id": "i", **img}, str(out))
    assert out.read_bytes() == DATA
    assert [p.name for p in tmp_path.iterdir()] == ["out.img"]


def test_save_md5_from_content_md5_header(tmp_path):
    out = tmp_path / "out.img"
    with pytest.raises(errors.MinicloudError, match="checksum mismatch"):
        transfer.save_data(FakeData(DATA, {"Content-MD5": "0" * 32}), {"id": "i"}, str(out))
    transfer.save_data(FakeData(DATA, {"Content-MD5": MD5}), {"id": "i"}, str(out))
    assert out.read_bytes() == DATA


@pytest.mark.parametrize("img", [
    {"os_hash_algo": "sha512", "os_hash_value": "0" * 128},
    {"checksum": "0" * 32},
])
def test_save_mismatch_leaves_nothing_behind(tmp_path, img):
    out = tmp_path / "out.img"
    with pytest.raises(errors.MinicloudError, match="^checksum mismatch for image i: expected"):
        transfer.save_data(FakeData(DATA), {"id": "i", **img}, str(out))
    assert list(tmp_path.iterdir()) == []


def test_save_mismatch_keeps_an_existing_out_file(tmp_path):
    out = tmp_path / "out.img"
    out.write_bytes(b"old")
    with pytest.raises(errors.MinicloudError, match="checksum mismatch"):
        transfer.save_data(FakeData(DATA), {"id": "i", "checksum": "0" * 32}, str(out))
    assert out.read_bytes() == b"old" and len(list(tmp_path.iterdir())) == 1


def test_save_of_an_image_without_data(tmp_path):
    with pytest.raises(errors.NotFound, match="has no data"):
        transfer.save_data(FakeData(b"", status=204), {"id": "i"}, str(tmp_path / "o"))
    assert list(tmp_path.iterdir()) == []


def test_progress_reader_streams_in_bounded_chunks(mocker):
    bar = mocker.Mock()
    reader = transfer.ProgressReader(io.BytesIO(DATA), bar, len(DATA))
    assert requests.utils.super_len(reader) == len(DATA)
    assert len(reader.read()) == transfer.CHUNK  # never the whole file at once
    assert b"".join(reader) == DATA[transfer.CHUNK:]
    assert sum(c.args[0] for c in bar.update.call_args_list) == len(DATA)
    unknown = transfer.ProgressReader(io.BytesIO(DATA), bar, None)
    assert requests.utils.super_len(unknown) == 0  # so requests sends it chunked


def test_no_progress_bar_unless_stderr_is_a_terminal(mocker):
    mocker.patch.object(sys.stderr, "isatty", return_value=False)
    with transfer._progress(10, "t") as bar:
        assert bar.disable


def test_failed_fill_discards_the_new_image(mocker):
    api = mocker.Mock()
    api.delete.side_effect = errors.ServiceUnavailable("gone")  # cleanup errors are swallowed
    with pytest.raises(KeyboardInterrupt):
        with images._discarded_on_failure(api, {"id": "i", "protected": True}):
            raise KeyboardInterrupt
    api.update.assert_called_once_with("i", [{"op": "add", "path": "/protected",
                                              "value": False}])
    api.delete.assert_called_once_with("i")


def test_json_pointer_escaping():
    assert images._add("a/b~c", "v") == {"op": "add", "path": "/a~1b~0c", "value": "v"}


# --- the real cloud -------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _minicloud(state_dir: Path, *args: str, input: bytes | None = None
               ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    # `-m` from the checkout (as the console script does, minus a possibly stale editable
    # install's package list): every top-level package of the tree is importable.
    return subprocess.run([sys.executable, "-m", "minicloud.cli.main", "--state-dir",
                           str(state_dir), *args], input=input, capture_output=True, env=env,
                          cwd=ROOT, timeout=300, check=False)


@dataclass
class Cloud:
    state_dir: Path

    def image(self, *args: str, input: bytes | str | None = None, ok: bool = True) -> Result:
        """``minicloud image ARGS`` through click's CliRunner (in this process)."""
        result = CliRunner().invoke(cli, ["--state-dir", str(self.state_dir), "image", *args],
                                    input=input, env=NO_OS_ENV)
        if ok:
            assert result.exit_code == 0, (result.output, result.exception)
        return result

    def show(self, ref: str) -> dict:
        return json.loads(self.image("show", ref, "-f", "json").stdout)

    def names(self, *args: str) -> list[str]:
        return self.image("list", "-c", "Name", "-f", "value", *args).stdout.split()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """A real cloud (identity + image APIs) on free ports, for this module."""
    pytest.importorskip("images.api", reason="the image service is not written yet")
    state_dir = tmp_path_factory.mktemp("cloud")
    # Every API service on a free port, so parallel clouds never collide; compute (when the
    # tree has it) on its fake driver: these tests need no hypervisor.
    sections = {svc.name: {"port": _free_port()} for svc in services.SERVICES}
    if "compute" in sections:
        sections["compute"]["driver"] = "fake"
    (state_dir / "minicloud.conf").write_text("".join(
        f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items()) + "\n"
        for name, values in sections.items()))
    up = _minicloud(state_dir, "up", "--no-daemons")
    try:
        assert up.returncode == 0, up.stderr.decode()
        yield Cloud(state_dir)
    finally:
        _minicloud(state_dir, "down")


@pytest.fixture(scope="module")
def blob(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "disk.raw"
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    return path


def test_create_from_file_uploads_and_verifies(cloud, blob):
    created = json.loads(cloud.image("create", "cli-file", "--file", str(blob),
                                     "--disk-format", "raw", "--property", "os_distro=cirros",
                                     "--tag", "t1", "--min-ram", "64", "-f", "json").stdout)
    shown = cloud.show(created["id"])
    data = blob.read_bytes()
    assert shown["status"] == "active" and shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    props = shown["properties"]
    assert props["os_hash_value"] == hashlib.new(props["os_hash_algo"], data).hexdigest()
    assert props["os_distro"] == "cirros" and props["os_hidden"] is False
    assert shown["tags"] == ["t1"] and shown["min_ram"] == 64
    assert shown["disk_format"] == "raw" and shown["container_format"] == "bare"


def test_rejected_upload_leaves_no_image_behind(cloud, blob):
    result = cloud.image("create", "cli-rejected", "--file", str(blob), "--disk-format", "qcow2",
                         ok=False)
    assert result.exit_code == 1 and result.stderr.startswith("Error: ")
    assert "qcow2" in result.stderr
    assert "cli-rejected" not in cloud.names() + cloud.names("--hidden")


def test_create_from_stdin(cloud):
    data = os.urandom(200_000)
    cloud.image("create", "cli-stdin", "--file", "-", "--disk-format", "raw", input=data)
    shown = cloud.show("cli-stdin")
    assert shown["status"] == "active" and shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_create_metadata_only_is_queued(cloud):
    table = cloud.image("create", "cli-queued", "--private", "--protected").stdout
    assert "| status           | queued" in table
    shown = cloud.show("cli-queued")
    assert shown["visibility"] == "private" and shown["protected"] is True
    assert "Error: " in cloud.image("delete", "cli-queued", ok=False).stderr
    cloud.image("set", "cli-queued", "--unprotected")
    cloud.image("delete", "cli-queued")


def test_list_long_columns_and_formats(cloud, blob):
    cloud.image("create", "cli-list", "--file", str(blob), "--disk-format", "raw",
                "--tag", "listed")
    assert "cli-list" in cloud.names()
    table = cloud.image("list").stdout
    assert [h.strip() for h in table.splitlines()[1].split("|")[1:-1]] == ["ID", "Name",
                                                                           "Status"]
    long_rows = json.loads(cloud.image("list", "--long", "--tag", "listed", "-f", "json").stdout)
    assert [r["Name"] for r in long_rows] == ["cli-list"]
    row = long_rows[0]
    assert list(row) == list(images.LONG_COLUMNS)
    assert row["Size"] == blob.stat().st_size and row["Tags"] == ["listed"]
    assert row["Disk Format"] == "raw" and row["Protected"] is False and row["Project"]
    value = cloud.image("list", "--name", "cli-list", "-c", "ID", "-c", "Status",
                        "-f", "value").stdout
    assert value == f"{row['ID']} active\n"
    assert cloud.image("list", "-c", "Nope", ok=False).exit_code == 2


def test_list_filters_and_limit(cloud):
    for i in range(3):
        cloud.image("create", f"cli-many-{i}", "--property", "batch=many", "--tag", "many")
    assert sorted(cloud.names("--property", "batch=many")) == [f"cli-many-{i}"
                                                               for i in range(3)]
    assert cloud.names("--property", "batch=other") == []
    assert len(cloud.names("--tag", "many", "--limit", "2")) == 2
    assert cloud.names("--tag", "many", "--sort", "name:desc") == [
        f"cli-many-{i}" for i in (2, 1, 0)]
    assert "cli-many-0" in cloud.names("--status", "queued")
    assert "cli-many-0" not in cloud.names("--status", "active")


def test_list_follows_the_servers_next_links(cloud):
    for i in range(3):
        cloud.image("create", f"cli-page-{i}", "--tag", "paged")
    api = images.ImageApi(Client(find_credentials(cloud.state_dir, environ={})))
    pages = list(api.list({"tag": "paged", "limit": 1, "sort": "name:asc"}))
    assert [i["name"] for i in pages] == ["cli-page-0", "cli-page-1", "cli-page-2"]


def test_set_and_unset(cloud):
    cloud.image("create", "cli-set", "--tag", "a")
    cloud.image("set", "cli-set", "--name", "cli-set2", "--property", "k1=v=1",
                "--property", "k2=v2", "--tag", "b", "--min-disk", "2", "--public")
    shown = cloud.show("cli-set2")
    assert shown["properties"]["k1"] == "v=1" and shown["properties"]["k2"] == "v2"
    assert sorted(shown["tags"]) == ["a", "b"] and shown["min_disk"] == 2
    assert shown["visibility"] == "public"
    out = cloud.image("unset", "cli-set2", "--property", "k1", "--tag", "a",
                      "-f", "json").stdout
    after = json.loads(out)
    assert "k1" not in after["properties"] and after["properties"]["k2"] == "v2"
    assert after["tags"] == ["b"]
    missing = cloud.image("unset", "cli-set2", "--property", "k1", ok=False)
    assert missing.exit_code == 1 and "property 'k1'" in missing.stderr


def test_hidden_images(cloud):
    cloud.image("create", "cli-hidden")
    cloud.image("set", "cli-hidden", "--hidden")
    assert "cli-hidden" not in cloud.names()
    assert "cli-hidden" in cloud.names("--hidden")
    shown = cloud.show("cli-hidden")  # found through the os_hidden lookup
    assert shown["properties"]["os_hidden"] is True
    cloud.image("set", "cli-hidden", "--unhidden")
    assert "cli-hidden" in cloud.names()


def test_deactivate_and_activate(cloud, blob):
    cloud.image("create", "cli-state", "--file", str(blob), "--disk-format", "raw")
    value = cloud.image("set", "cli-state", "--deactivate", "-c", "status", "-f", "value")
    assert value.stdout == "deactivated\n"
    assert cloud.show("cli-state")["status"] == "deactivated"
    cloud.image("set", "cli-state", "--activate")
    assert cloud.show("cli-state")["status"] == "active"


def test_save_to_file_and_stdout(cloud, blob, tmp_path):
    cloud.image("create", "cli-save", "--file", str(blob), "--disk-format", "raw")
    out = tmp_path / "saved.raw"
    cloud.image("save", "cli-save", "--file", str(out))
    assert out.read_bytes() == blob.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["saved.raw"]
    assert cloud.image("save", "cli-save", "--file", "-").stdout_bytes == blob.read_bytes()


def test_delete_by_name_and_partial_failure(cloud):
    for name in ("cli-del-1", "cli-del-2"):
        cloud.image("create", name)
    cloud.image("delete", "cli-del-1")
    assert "cli-del-1" not in cloud.names()
    result = cloud.image("delete", "cli-nope-1", "cli-del-2", "cli-nope-2", ok=False)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: failed to delete image cli-nope-1: No Image found for cli-nope-1",
        "Error: failed to delete image cli-nope-2: No Image found for cli-nope-2"]
    assert "cli-del-2" not in cloud.names()


def test_ambiguous_name(cloud):
    cloud.image("create", "cli-twin")
    cloud.image("create", "cli-twin")
    result = cloud.image("show", "cli-twin", ok=False)
    assert result.stderr == "Error: More than one Image exists with the name 'cli-twin'.\n"


def test_errors_are_one_line_without_traceback(cloud, tmp_path):
    proc = _minicloud(cloud.state_dir, "image", "show", "no-such-image")
    assert proc.returncode == 1
    assert proc.stderr.decode() == "Error: No Image found for no-such-image\n"
    assert proc.stdout == b""
    missing = _minicloud(cloud.state_dir, "image", "create", "x", "--file",
                         str(tmp_path / "absent"))
    assert missing.returncode == 2 and b"Traceback" not in missing.stderr
    bad = _minicloud(cloud.state_dir, "image", "set", "no-such-image", "--property", "oops")
    assert bad.returncode == 2 and b"is not KEY=VALUE" in bad.stderr
    assert b"Traceback" not in bad.stderr


def test_create_with_import(cloud, blob):
    result = cloud.image("create", "cli-import", "--file", str(blob), "--disk-format", "raw",
                         "--import", "-f", "json")
    shown = json.loads(result.stdout)
    assert shown["status"] == "active" and shown["size"] == blob.stat().st_size


def test_members(cloud):
    cloud.image("create", "cli-shared", "--shared")
    member = json.loads(cloud.image("add", "project", "cli-shared", "admin", "-f",
                                    "json").stdout)
    assert member["status"] == "pending"
    rows = json.loads(cloud.image("member", "list", "cli-shared", "-f", "json").stdout)
    assert [r["Member ID"] for r in rows] == [member["member_id"]]
    cloud.image("remove", "project", "cli-shared", "admin")
    assert json.loads(cloud.image("member", "list", "cli-shared", "-f", "json").stdout) == []
