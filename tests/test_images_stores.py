"""Several image stores (issue 11 item 2, seed chapter 2): ``enabled_backends``, the stores
API, uploads to a chosen store, imports to several stores with their progress and failure
modes, copy-image, deleting one store's copy, and images stored before the stores existed."""
from __future__ import annotations

from pathlib import Path

import pytest

from images.api import create_app
from images.store import store_file
from images.stores import StoreSet
from minicloud.config import Config
from minicloud.errors import ConfigError
from tests.images_fixtures import *  # noqa: F403 - the fixtures
from tests.images_fixtures import Env, UserClient, err

DATA = bytes(range(256)) * 64
OCTETS = {"Content-Type": "application/octet-stream"}
THREE = {"image.enabled_backends": "central:file, edge1:file, edge2:file",
         "image.store_descriptions": "central: Hub site; edge1: Edge site 1"}


@pytest.fixture
def env(make_images_env) -> Env:
    return make_images_env(**THREE, **{
        "image.enabled_import_methods": "glance-direct,web-download,copy-image"})


def _queued(user: UserClient) -> dict:
    return user.create(name="img", disk_format="raw", container_format="bare")


def _stage(env: Env, user: UserClient) -> str:
    image_id = _queued(user)["id"]
    resp = user.put(f"/v2/images/{image_id}/stage", data=DATA, headers=OCTETS)
    assert resp.status_code == 204, resp.json
    return image_id


def _import(user: UserClient, image_id: str, method: str = "glance-direct", **body):
    return user.post(f"/v2/images/{image_id}/import",
                     json={"method": {"name": method}, **body})


def _files(env: Env, store: str) -> list[str]:
    root = env.store_dir / "stores" / store
    return sorted(p.name for p in root.iterdir() if p.is_file())


def _active(env: Env, stores: str = "central") -> str:
    """An active image uploaded into ``stores`` (one store) by alice."""
    image_id = _queued(env.alice)["id"]
    resp = env.alice.put(f"/v2/images/{image_id}/file", data=DATA,
                         headers={**OCTETS, "X-Image-Meta-Store": stores})
    assert resp.status_code == 204, resp.json
    return image_id


def test_stores_info_and_detail(make_images_env):
    env = make_images_env(**THREE, **{"image.default_backend": "edge1",
                                      "image.read_only_stores": "edge2"})
    stores = env.alice.get("/v2/info/stores").json["stores"]
    assert stores == [{"id": "central", "description": "Hub site"},
                      {"id": "edge1", "description": "Edge site 1", "default": "true"},
                      {"id": "edge2", "read-only": "true"}]
    err(env.alice.get("/v2/info/stores/detail"), 403, "stores_info_detail")
    detail = env.admin.get("/v2/info/stores/detail").json["stores"]
    assert [d["type"] for d in detail] == ["file"] * 3
    assert detail[0]["properties"]["data_dir"] == str(env.store_dir / "stores" / "central")
    assert detail[1]["weight"] == 0 and detail[1]["default"] == "true"
    for store in ("central", "edge1", "edge2"):
        assert (env.store_dir / "stores" / store).stat().st_mode & 0o777 == 0o700
    created = env.alice.post("/v2/images", json={"name": "x"})
    assert created.headers["OpenStack-image-store-ids"] == "central,edge1"


def test_upload_to_a_chosen_store(env):
    image_id = _active(env, "edge1")
    shown = env.alice.show(image_id)
    assert shown["stores"] == "edge1" and shown["status"] == "active"
    assert _files(env, "edge1") == [image_id] and _files(env, "central") == []
    assert env.alice.get(f"/v2/images/{image_id}/file").data == DATA
    assert "direct_url" not in shown  # admins only
    admin_view = env.admin.show(image_id)
    assert admin_view["direct_url"] == f"file://{env.store_dir}/stores/edge1/{image_id}"
    # no header: the default store (the first one)
    other = _queued(env.alice)["id"]
    assert env.alice.put(f"/v2/images/{other}/file", data=DATA,
                         headers=OCTETS).status_code == 204
    assert env.alice.show(other)["stores"] == "central"


def test_upload_to_an_unknown_or_read_only_store(make_images_env):
    env = make_images_env(**THREE, **{"image.read_only_stores": "edge2"})
    image_id = _queued(env.alice)["id"]
    err(env.alice.put(f"/v2/images/{image_id}/file", data=DATA,
                      headers={**OCTETS, "X-Image-Meta-Store": "nowhere"}), 400, "nowhere")
    err(env.alice.put(f"/v2/images/{image_id}/file", data=DATA,
                      headers={**OCTETS, "X-Image-Meta-Store": "edge2"}), 410, "disabled")
    assert env.alice.show(image_id)["status"] == "queued"
    assert env.stored_files() == []


def test_glance_direct_to_all_stores(env):
    image_id = _stage(env, env.alice)
    assert _import(env.alice, image_id, all_stores=True).status_code == 202
    env.wait_imports()
    shown = env.alice.show(image_id)
    assert shown["status"] == "active" and shown["stores"] == "central,edge1,edge2"
    assert shown["os_glance_importing_to_stores"] == ""
    assert shown["os_glance_failed_import"] == ""
    assert "os_glance_import_task" not in shown
    for store in ("central", "edge1", "edge2"):
        assert _files(env, store) == [image_id]
    task = env.admin.get(f"/v2/images/{image_id}/tasks").json["tasks"][0]
    assert task["input"]["backend"] == ["central", "edge1", "edge2"]


def test_import_to_named_stores_and_the_header(env):
    image_id = _stage(env, env.alice)
    assert _import(env.alice, image_id, stores=["edge2", "edge1"]).status_code == 202
    env.wait_imports()
    assert env.alice.show(image_id)["stores"] == "edge1,edge2"
    other = _stage(env, env.alice)
    resp = env.alice.post(f"/v2/images/{other}/import", headers={"X-Image-Meta-Store": "edge2"},
                          json={"method": {"name": "glance-direct"}})
    assert resp.status_code == 202
    env.wait_imports()
    assert env.alice.show(other)["stores"] == "edge2"


@pytest.mark.parametrize("body, headers, status, text", [
    ({"stores": ["nowhere"]}, {}, 409, "nowhere"),
    ({"all_stores": True, "stores": ["edge1"]}, {}, 400, "All_stores"),
    ({"all_stores": True}, {"X-Image-Meta-Store": "edge1"}, 400, "All_stores"),
    ({"stores": ["edge1"]}, {"X-Image-Meta-Store": "edge1"}, 400, "both"),
])
def test_bad_store_requests(env, body, headers, status, text):
    image_id = _stage(env, env.alice)
    err(env.alice.post(f"/v2/images/{image_id}/import", headers=headers,
                       json={"method": {"name": "glance-direct"}, **body}), status, text)
    assert env.alice.show(image_id)["status"] == "uploading"


def test_allow_failure_goes_on_without_the_failing_store(make_images_env):
    env = make_images_env(**THREE, **{"image.failing_stores": "edge1"})
    image_id = _stage(env, env.alice)
    assert _import(env.alice, image_id, all_stores=True,
                   all_stores_must_succeed=False).status_code == 202
    env.wait_imports()
    shown = env.alice.show(image_id)
    assert shown["status"] == "active" and shown["stores"] == "central,edge2"
    assert shown["os_glance_failed_import"] == "edge1"
    assert shown["os_glance_importing_to_stores"] == ""
    assert _files(env, "edge1") == []  # no temp file left either
    assert env.alice.get(f"/v2/images/{image_id}/file").data == DATA


def test_disallow_failure_leaves_no_data_anywhere(make_images_env):
    env = make_images_env(**THREE, **{"image.failing_stores": "edge2"})
    image_id = _stage(env, env.alice)
    assert _import(env.alice, image_id, all_stores=True,
                   all_stores_must_succeed=True).status_code == 202
    env.wait_imports()
    shown = env.alice.show(image_id)
    assert shown["status"] == "queued" and "stores" not in shown
    assert shown["os_glance_failed_import"] == "edge2"
    assert shown["os_glance_importing_to_stores"] == ""
    assert env.stored_files() == []  # central and edge1 had it: removed; staging too
    task = env.admin.get(f"/v2/images/{image_id}/tasks").json["tasks"][0]
    assert task["status"] == "failure" and "edge2" in task["message"]


def test_every_store_failing_requeues_even_with_allow_failure(make_images_env):
    env = make_images_env(**THREE, **{"image.failing_stores": "central,edge1,edge2"})
    image_id = _stage(env, env.alice)
    assert _import(env.alice, image_id, all_stores=True,
                   all_stores_must_succeed=False).status_code == 202
    env.wait_imports()
    shown = env.alice.show(image_id)
    assert shown["status"] == "queued"
    assert shown["os_glance_failed_import"] == "central,edge1,edge2"
    assert env.stored_files() == []


def test_copy_image(env):
    image_id = _active(env, "central")
    err(_import(env.alice, image_id, "copy-image", stores=["edge1"]), 403, "copy_image")
    assert _import(env.admin, image_id, "copy-image", stores=["edge1"]).status_code == 202
    env.wait_imports()
    shown = env.alice.show(image_id)
    assert shown["stores"] == "central,edge1" and shown["status"] == "active"
    assert shown["os_glance_importing_to_stores"] == ""
    assert shown["os_glance_failed_import"] == "" and "os_glance_import_task" not in shown
    assert (env.store_dir / "stores" / "edge1" / image_id).read_bytes() == DATA
    err(_import(env.admin, image_id, "copy-image", stores=["edge1"]), 400, "already present")
    assert _import(env.admin, image_id, "copy-image", all_stores=True,
                   all_stores_must_succeed=False).status_code == 202
    env.wait_imports()
    assert env.alice.show(image_id)["stores"] == "central,edge1,edge2"
    # already everywhere: accepted, nothing to do
    assert _import(env.admin, image_id, "copy-image", all_stores=True).status_code == 202
    queued = _queued(env.alice)["id"]
    err(_import(env.admin, queued, "copy-image", all_stores=True), 409, "active")


def test_a_failed_copy_keeps_the_image_and_its_stores(make_images_env):
    env = make_images_env(**THREE, **{
        "image.enabled_import_methods": "glance-direct,copy-image",
        "image.failing_stores": "edge2"})
    image_id = _active(env, "central")
    assert _import(env.admin, image_id, "copy-image", stores=["edge1", "edge2"],
                   all_stores_must_succeed=True).status_code == 202
    env.wait_imports()
    shown = env.alice.show(image_id)
    assert shown["status"] == "active" and shown["stores"] == "central"
    assert shown["os_glance_failed_import"] == "edge2"
    assert _files(env, "edge1") == [] and _files(env, "edge2") == []
    assert env.alice.get(f"/v2/images/{image_id}/file").data == DATA


def test_delete_from_store(env):
    image_id = _stage(env, env.alice)
    _import(env.alice, image_id, stores=["central", "edge1"])
    env.wait_imports()
    err(env.admin.delete(f"/v2/stores/nowhere/{image_id}"), 409, "not available")
    err(env.admin.delete(f"/v2/stores/edge2/{image_id}"), 404, "not stored in store edge2")
    err(env.alice.delete(f"/v2/stores/edge1/{image_id}"), 403, "delete_image_location")
    err(env.bob.delete(f"/v2/stores/edge1/{image_id}"), 404, "")
    assert env.admin.delete(f"/v2/stores/central/{image_id}").status_code == 204
    shown = env.alice.show(image_id)
    assert shown["stores"] == "edge1" and _files(env, "central") == []
    assert env.alice.get(f"/v2/images/{image_id}/file").data == DATA  # from edge1
    err(env.admin.delete(f"/v2/stores/edge1/{image_id}"), 403, "only store")
    queued = _queued(env.alice)["id"]
    err(env.admin.delete(f"/v2/stores/edge1/{queued}"), 409, "not 'active'")


def test_deleting_the_image_removes_every_copy(env):
    image_id = _stage(env, env.alice)
    _import(env.alice, image_id, all_stores=True)
    env.wait_imports()
    assert env.alice.delete(f"/v2/images/{image_id}").status_code == 204
    assert env.stored_files() == []


def test_images_stored_before_the_stores_stay_readable(make_images_env):
    env = make_images_env()  # one store, `file`, in images/
    image_id = env.alice.create(name="old", disk_format="raw", container_format="bare")["id"]
    assert env.alice.upload(image_id, DATA).status_code == 204
    assert env.alice.show(image_id)["stores"] == "file"
    assert env.stored_files() == [image_id]
    conf = Config.load(env.state_dir, overrides={**THREE, "image.web_download_allowed_ports": ""},
                       environ={})
    app = create_app(conf, env.db)  # the operator configured three stores and restarted
    user = UserClient(app.test_client(), env.alice.token, env.alice.project_id)
    shown = user.show(image_id)
    assert shown["stores"] == "central" and shown["status"] == "active"
    assert user.get(f"/v2/images/{image_id}/file").data == DATA
    assert (env.store_dir / "stores" / "central" / image_id).is_file()
    assert not (env.store_dir / image_id).exists()


def test_the_environment_variable_and_bad_options(tmp_path: Path):
    conf = Config.load(tmp_path, environ={
        "MINICLOUD_IMAGE_ENABLED_BACKENDS": "central:file,edge1:file"})
    stores = StoreSet.from_config(conf.image, tmp_path / "images")
    assert stores.ids == ["central", "edge1"] and stores.default_id == "central"
    for overrides, text in [
            ({"image.enabled_backends": "central:rbd"}, "id:file"),
            ({"image.enabled_backends": "a:file,a:file"}, "twice"),
            ({"image.enabled_backends": "../x:file"}, "bad store id"),
            ({"image.enabled_backends": ""}, "no store"),
            ({"image.default_backend": "nowhere"}, "not a store"),
            ({"image.read_only_stores": "file"}, "read-only"),
            ({"image.store_descriptions": "no colon"}, "id: text")]:
        conf = Config.load(tmp_path, overrides=overrides, environ={})
        with pytest.raises(ConfigError, match=text):
            StoreSet.from_config(conf.image, tmp_path / "images")


def test_agents_read_any_store_directly(tmp_path: Path):
    root = tmp_path / "images"
    image_id = "3f1c8a46-1a7e-4b8e-9a51-2a4c1f0d1e11"
    for where in (root, root / "stores" / "edge1", root / "staging"):
        where.mkdir(parents=True, exist_ok=True)
        (where / image_id).write_bytes(DATA)
    image = {"id": image_id, "size": len(DATA)}
    for where, ok in ((root, True), (root / "stores" / "edge1", True),
                      (root / "staging", False)):
        found = store_file({**image, "direct_url": f"file://{where / image_id}"}, root)
        assert (found is not None) is ok, where


def test_a_copy_that_does_not_match_the_image_is_refused(env):
    image_id = _active(env, "central")
    stored = env.store_dir / "stores" / "central" / image_id
    stored.write_bytes(b"\0" * len(DATA))  # the store's copy went bad
    assert _import(env.admin, image_id, "copy-image", stores=["edge1"]).status_code == 202
    env.wait_imports()
    shown = env.alice.show(image_id)
    assert shown["stores"] == "central" and shown["os_glance_failed_import"] == "edge1"
    assert _files(env, "edge1") == []
    task = env.admin.get(f"/v2/images/{image_id}/tasks").json["tasks"][0]
    assert "os_hash_value" in task["message"]
