"""The image service's operator knobs: allowed disk/container formats (``images.formats``),
formats QEMU cannot use, and the property injection import plugin (``images.inject``)."""
from __future__ import annotations

import pytest

from images.inject import parse_inject
from images.store import FilesystemStore
from minicloud.errors import ConfigError
from tests.images_fixtures import *  # noqa: F403 - the fixtures
from tests.images_fixtures import err

DATA = bytes(range(256)) * 64
pytestmark = pytest.mark.timeout(60)


def _enums(doc: dict) -> tuple[list, list]:
    props = doc["properties"]
    return props["disk_format"]["enum"], props["container_format"]["enum"]


def test_default_formats_are_glances(images_env):
    disk, container = _enums(images_env.alice.get("/v2/schemas/image").json)
    assert disk == [None, "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi",
                    "iso", "ploop"]
    assert container == [None, "ami", "ari", "aki", "bare", "ovf", "ova", "docker",
                         "compressed"]
    images_env.alice.create(disk_format="vhdx", container_format="ova")


def test_configured_formats_refuse_others(make_images_env):
    env = make_images_env(**{"image.disk_formats": "raw, iso",
                             "image.container_formats": "bare"})
    disk, container = _enums(env.alice.get("/v2/schemas/image").json)
    assert (disk, container) == ([None, "raw", "iso"], [None, "bare"])
    items = env.alice.get("/v2/schemas/images").json["properties"]["images"]["items"]
    assert _enums(items) == (disk, container)

    resp = env.alice.post("/v2/images", json={"disk_format": "qcow2",
                                              "container_format": "bare"})
    err(resp, 400, "Provided object does not match schema 'image': 'qcow2' is not one of "
                   "[None, 'raw', 'iso']")
    err(env.alice.post("/v2/images", json={"disk_format": "raw", "container_format": "ovf"}),
        400, "'ovf' is not one of [None, 'bare']")
    img = env.alice.create(disk_format="raw", container_format="bare")
    err(env.alice.patch(f"/v2/images/{img['id']}", [
        {"op": "replace", "path": "/disk_format", "value": "vmdk"}]), 400, "'vmdk' is not one")
    assert env.alice.show(img["id"])["disk_format"] == "raw"
    ok = env.alice.patch(f"/v2/images/{img['id']}", [
        {"op": "replace", "path": "/disk_format", "value": "iso"}])
    assert ok.status_code == 200 and ok.json["disk_format"] == "iso"
    # An image without formats may still be created (Glance: set before the upload).
    assert env.alice.create()["disk_format"] is None
    # The legacy task import (admin by default) names a disk format too.
    task = env.admin.post("/v2/tasks", json={"type": "import", "input": {
        "import_from": "http://example.com/x", "import_from_format": "qcow2",
        "image_properties": {}}})
    err(task, 400, "'qcow2' is not one of")


@pytest.mark.parametrize("option,value", [
    ("image.disk_formats", "raw,qcow3"), ("image.disk_formats", " , "),
    ("image.container_formats", "bare,zip"), ("image.image_import_plugins", "no_such"),
    ("inject_metadata_properties.inject", "novalue"),
    ("inject_metadata_properties.inject", "os_glance_x:1")])
def test_bad_options_stop_the_service(make_images_env, option, value):
    with pytest.raises(ConfigError):
        make_images_env(**{option: value})


def test_ploop_data_is_refused_before_anything_is_stored(images_env):
    env = images_env
    img = env.alice.create(disk_format="ploop", container_format="bare")
    err(env.alice.upload(img["id"], DATA), 400, "QEMU has no driver for Virtuozzo ploop")
    err(env.alice.put(f"/v2/images/{img['id']}/stage", data=DATA,
                      headers={"Content-Type": "application/octet-stream"}), 400, "ploop")
    assert env.alice.show(img["id"])["status"] == "queued"
    assert env.stored_files() == []


def test_parse_inject():
    assert parse_inject('a:1, "b":"x:y" ,') == {"a": "1", "b": "x:y"}
    assert parse_inject("") == {}


def _import(env, user, data: bytes = DATA, **props) -> dict:
    img = user.create(disk_format="raw", container_format="bare", **props)
    assert user.put(f"/v2/images/{img['id']}/stage", data=data,
                    headers={"Content-Type": "application/octet-stream"}).status_code == 204
    resp = user.post(f"/v2/images/{img['id']}/import",
                     json={"method": {"name": "glance-direct"}})
    assert resp.status_code == 202, resp.json
    env.wait_imports()
    return user.show(img["id"])


INJECT = {"image.image_import_plugins": "inject_image_metadata",
          "inject_metadata_properties.inject": "edge_site:edge1,hw_rng_model:virtio"}


def test_injection_at_import_but_not_for_admin_nor_upload(make_images_env):
    env = make_images_env(**INJECT)
    shown = _import(env, env.alice, hw_rng_model="none", mine="kept")
    assert shown["status"] == "active"
    assert (shown["edge_site"], shown["hw_rng_model"], shown["mine"]) == \
        ("edge1", "virtio", "kept")
    # admin is an ignored role by default
    assert "edge_site" not in _import(env, env.admin)
    # a plain upload is not an import: Glance's plugin does not run
    img = env.alice.create(disk_format="raw", container_format="bare")
    assert env.alice.upload(img["id"], DATA).status_code == 204
    assert "edge_site" not in env.alice.show(img["id"])


def test_injection_ignored_roles_configurable(make_images_env):
    env = make_images_env(**INJECT, **{
        "inject_metadata_properties.ignore_user_roles": "nobody, else"})
    assert _import(env, env.admin)["edge_site"] == "edge1"  # admin is not ignored now


def test_injection_off_by_default(images_env):
    assert "edge_site" not in _import(images_env, images_env.alice)


class _FullStore(FilesystemStore):
    """A store whose disk fills up: every add fails after reading its data."""

    def add(self, image_id, chunks):
        for _ in chunks:
            pass
        raise OSError(28, "No space left on device")


def test_failed_import_undoes_injection(make_images_env, tmp_path):
    env = make_images_env(store=_FullStore(tmp_path / "full", 1 << 16), **INJECT)
    shown = _import(env, env.alice, hw_rng_model="none")
    assert shown["status"] == "queued" and shown["os_glance_failed_import"] == "file"
    assert shown["hw_rng_model"] == "none" and "edge_site" not in shown
