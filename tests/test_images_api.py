"""The Glance v2 API through HTTP (Flask test client, real catalog): metadata, listing,
tags, members, deactivation, project isolation and Tempest's negative cases."""
from __future__ import annotations

import re
import uuid

import pytest

from tests.images_fixtures import *  # noqa: F403 - the fixtures
from tests.images_fixtures import err

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
DATA = bytes(range(250)) * 40  # deterministic: never looks like an MBR or any format


def active(user, **body) -> dict:
    img = user.create(disk_format="raw", container_format="bare", **body)
    assert user.upload(img["id"], DATA).status_code == 204
    return user.show(img["id"])


# -- discovery and authentication --------------------------------------------------------
def test_versions_document_is_public(images_env):
    """Glance's list for one store and no image cache, in Glance's order."""
    expected = ["v2.15", "v2.13", "v2.12", "v2.11", "v2.10", "v2.9", "v2.8", "v2.17",
                "v2.7", "v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0"]
    for path, status in (("/", 300), ("/v2", 300), ("/v2/", 300), ("/versions", 200)):
        resp = images_env.anonymous.get(path)
        assert resp.status_code == status, path
        versions = resp.json["versions"]
        assert [v["id"] for v in versions] == expected
        assert [v["id"] for v in versions if v["status"] == "CURRENT"] == ["v2.17"]
        assert {v["status"] for v in versions} == {"CURRENT", "SUPPORTED"}
        assert all(v["links"] == [{"rel": "self", "href": "http://localhost/v2/"}]
                   for v in versions)


def test_api_needs_a_token(images_env):
    err(images_env.anonymous.get("/v2/images"), 401, "authentication")
    err(images_env.anonymous.get("/v2/images", headers={"X-Auth-Token": "nope"}), 401,
        "authentication")


# -- create / show -----------------------------------------------------------------------
def test_create_and_show(images_env):
    env = images_env
    resp = env.alice.post("/v2/images", json={
        "name": "cirros", "disk_format": "qcow2", "container_format": "bare", "k": "v",
        "owner_specified.openstack.md5": "", "owner_specified.openstack.object": "images/c",
        "min_ram": 64, "protected": False, "tags": ["t1", "t1", "t2"]})
    assert resp.status_code == 201, resp.json
    assert resp.headers["OpenStack-image-import-methods"] == "glance-direct,web-download"
    img = resp.json
    assert resp.headers["Location"] == f"/v2/images/{img['id']}"
    uuid.UUID(img["id"])
    assert img["status"] == "queued" and img["visibility"] == "shared"
    assert img["owner"] == env.alice.project_id
    assert img["protected"] is False and img["os_hidden"] is False
    assert (img["min_ram"], img["min_disk"], img["tags"]) == (64, 0, ["t1", "t2"])
    assert img["k"] == "v" and img["owner_specified.openstack.object"] == "images/c"
    assert img["owner_specified.openstack.md5"] == ""
    for key in ("checksum", "os_hash_algo", "os_hash_value", "size", "virtual_size"):
        assert img[key] is None
    assert img["self"] == f"/v2/images/{img['id']}"
    assert img["file"] == f"/v2/images/{img['id']}/file"
    assert img["schema"] == "/v2/schemas/image"
    assert TS.match(img["created_at"]) and TS.match(img["updated_at"])
    assert "direct_url" not in img
    assert env.alice.show(img["id"]) == img
    assert env.alice.show(img["id"].upper())["id"] == img["id"]


def test_client_chosen_id(images_env):
    env, image_id = images_env, str(uuid.uuid4())
    assert env.alice.create(id=image_id, name="x")["id"] == image_id
    err(env.alice.post("/v2/images", json={"id": image_id}), 409, "already exists")
    err(env.bob.post("/v2/images", json={"id": image_id}), 409, "already exists")
    assert env.alice.delete(f"/v2/images/{image_id}").status_code == 204
    err(env.alice.post("/v2/images", json={"id": image_id}), 409, "already exists")
    err(env.alice.post("/v2/images", json={"id": "not-a-uuid"}), 400, "field/attribute id")


@pytest.mark.parametrize(("body", "status", "text"), [
    ({"disk_format": "bogus"}, 400, "disk_format"),
    ({"container_format": "bogus"}, 400, "container_format"),
    ({"visibility": "everyone"}, 400, "visibility"),
    ({"min_ram": -1}, 400, "min_ram"),
    ({"min_disk": "10"}, 400, "min_disk"),
    ({"min_disk": True}, 400, "min_disk"),
    ({"protected": "true"}, 400, "boolean"),
    ({"os_hidden": 1}, 400, "boolean"),
    ({"name": 5}, 400, "name"),
    ({"name": "n" * 256}, 400, "is too long"),
    ({"tags": "a"}, 400, "tags"),
    ({"tags": [1]}, 400, "tag"),
    ({"k": {"nested": 1}}, 400, "field/attribute k. Value: {'nested': 1}"),
    ({"k": 5}, 400, "5 is not of type 'string'"),
    ({"k": None}, 400, "None is not of type 'string'"),
    ({"k": "v" * 65536}, 400, "field/attribute k. Value: 'vvvv"),
    ({"kernel_id": "not-an-id"}, 400, "field/attribute kernel_id"),
    ({"kernel_id": None}, 400, "must be a string"),
    ({"min_ram": 2 ** 31}, 400, "maximum"),
    ({"min_disk": 2 ** 63 - 1}, 400, "maximum"),
    ({"self": "x"}, 403, "read-only"),
    ({"locations": []}, 403, "read-only"),
    ({"status": "active"}, 403, "read-only"),
    ({"size": 5}, 403, "read-only"),
    ({"checksum": "x"}, 403, "read-only"),
    ({"os_glance_importing_to_stores": "x"}, 403, "reserved"),
    ({"os_glance_x": "x"}, 403, "reserved"),
    ({"owner": "somebody-else"}, 403, "owned by"),
])
def test_create_refuses_bad_attributes(images_env, body, status, text):
    err(images_env.alice.post("/v2/images", json=body), status, text)


def test_create_refuses_malformed_bodies(images_env):
    err(images_env.alice.post("/v2/images", data=b"{nope", content_type="application/json"),
        400, "not valid JSON")
    err(images_env.alice.post("/v2/images", json=["a"]), 400, "JSON object")
    err(images_env.alice.post("/v2/images", json="x"), 400, "JSON object")


# -- patch -------------------------------------------------------------------------------
def test_patch_as_the_cli_sends_it(images_env):
    env = images_env
    img = env.alice.create(name="p", disk_format="raw", container_format="bare", k="v")
    ops = [{"op": "add", "path": "/k", "value": "v2"}, {"op": "add", "path": "/foo",
                                                          "value": "bar"},
           {"op": "add", "path": "/min_ram", "value": 64},
           {"op": "add", "path": "/protected", "value": True},
           {"op": "add", "path": "/tags", "value": ["t0", "t1"]},
           {"op": "add", "path": "/os_hidden", "value": True},
           {"op": "add", "path": "/name", "value": "renamed"},
           {"op": "add", "path": "/visibility", "value": "private"},
           {"op": "add", "path": "/owner_specified.openstack.sha256", "value": "abc"}]
    resp = env.alice.patch(f"/v2/images/{img['id']}", ops, headers={"Accept": ""})
    assert resp.status_code == 200, resp.json
    new = resp.json
    assert (new["k"], new["foo"], new["min_ram"], new["protected"]) == ("v2", "bar", 64, True)
    assert (new["tags"], new["os_hidden"], new["name"]) == (["t0", "t1"], True, "renamed")
    assert new["visibility"] == "private" and new["owner_specified.openstack.sha256"] == "abc"
    resp = env.alice.patch(f"/v2/images/{img['id']}", [
        {"op": "replace", "path": "/foo", "value": "baz"}, {"op": "remove", "path": "/k"},
        {"op": "add", "path": "/tags/-", "value": "t2"},
        {"op": "remove", "path": "/tags/0"},
        {"op": "replace", "path": "/protected", "value": False},
        {"op": "add", "path": "/a~1b", "value": "slash"}])
    assert resp.status_code == 200, resp.json
    assert resp.json["foo"] == "baz" and "k" not in resp.json
    assert resp.json["tags"] == ["t1", "t2"] and resp.json["protected"] is False
    assert resp.json["a/b"] == "slash"
    assert env.alice.show(img["id"]) == resp.json


@pytest.mark.parametrize(("ops", "status", "text"), [
    ({"op": "add"}, 400, "expected a JSON array"),
    ([{"path": "/x", "value": "1"}], 400, "Unable to find `op`"),
    ([{"op": "add", "value": "1"}], 400, "Unable to find 'path'"),
    ([{"op": "move", "path": "/x", "from": "/y"}], 400, "Invalid operation: `move`"),
    ([{"op": "test", "path": "/x", "value": "1"}], 400, "Invalid operation: `test`"),
    ([{"op": "add", "path": "x", "value": "1"}], 400, 'does not start with "/"'),
    ([{"op": "add", "path": "/", "value": "1"}], 400, "empty attribute"),
    ([{"op": "add", "path": "/a//b", "value": "1"}], 400, "adjacent"),
    ([{"op": "add", "path": "/a~2", "value": "1"}], 400, "escape sequence"),
    ([{"op": "add", "path": "/a/b", "value": "1"}], 400, "Invalid JSON pointer"),
    ([{"op": "add", "path": "/x"}], 400, 'requires a member named "value"'),
    ([{"op": 5, "path": "/x", "value": "1"}], 400, "field/attribute 0/op"),
    ([{"op": "add", "path": ["/x"], "value": "1"}], 400, "field/attribute 0/path"),
    (["add"], 400, "is not of type 'object'"),
    ([{"op": "add", "path": "/tags/0", "value": 5}], 400, "field/attribute tags/0"),
    ([{"op": "replace", "path": "/tags/-", "value": "t"}], 400, "only valid with 'add'"),
    ([{"op": "add", "path": "/min_ram", "value": "64"}], 400, "min_ram"),
    ([{"op": "add", "path": "/visibility", "value": "world"}], 400, "visibility"),
    ([{"op": "add", "path": "/x", "value": ["list"]}], 400, "is not of type 'string'"),
    ([{"op": "add", "path": "/kernel_id", "value": "nope"}], 400, "does not match"),
    ([{"op": "add", "path": "/min_ram", "value": -1}], 400, "minimum"),
    ([{"op": "remove", "path": "/tags/7"}], 400, "does not exist"),
    ([{"op": "add", "path": "/status", "value": "active"}], 403, "read-only"),
    ([{"op": "replace", "path": "/id", "value": str(uuid.uuid4())}], 403, "read-only"),
    ([{"op": "add", "path": "/checksum", "value": "x"}], 403, "read-only"),
    ([{"op": "add", "path": "/size", "value": 1}], 403, "read-only"),
    ([{"op": "add", "path": "/created_at", "value": "x"}], 403, "read-only"),
    ([{"op": "add", "path": "/os_glance_import_task", "value": "x"}], 403, "reserved"),
    ([{"op": "add", "path": "/owner", "value": "other"}], 403, "administrator"),
    ([{"op": "remove", "path": "/name"}], 403, "may not be removed"),
    ([{"op": "add", "path": "/visibility", "value": "public"}], 403, "publicize_image"),
    ([{"op": "replace", "path": "/missing", "value": "1"}], 409, "does not exist"),
    ([{"op": "remove", "path": "/missing"}], 409, "does not exist"),
])
def test_patch_errors(images_env, ops, status, text):
    img = images_env.alice.create(name="p")
    err(images_env.alice.patch(f"/v2/images/{img['id']}", ops), status, text)
    assert images_env.alice.show(img["id"]) == img  # all or nothing


def test_patch_content_types(images_env):
    env = images_env
    img = env.alice.create(name="p", k="v")
    ops = [{"op": "add", "path": "/k", "value": "w"}]
    err(env.alice.patch(f"/v2/images/{img['id']}", ops, content_type="application/json"),
        415, "json-patch")
    resp = env.alice.patch(f"/v2/images/{img['id']}", ops, content_type="application/json")
    assert "application/openstack-images-v2.1-json-patch" in resp.headers["Accept-Patch"]
    # v2.0: the draft-4 form ({"<op>": "<path>"}), where add of an existing key is a 409
    old = "application/openstack-images-v2.0-json-patch"
    err(env.alice.patch(f"/v2/images/{img['id']}", ops, content_type=old), 400,
        'exactly one member named "add", "remove", or "replace"')
    err(env.alice.patch(f"/v2/images/{img['id']}", [{"add": "/k", "value": "w"}],
                        content_type=old), 409, "already present")
    err(env.alice.patch(f"/v2/images/{img['id']}", [{"add": "/k", "remove": "/k"}],
                        content_type=old), 400, "exactly one member")
    resp = env.alice.patch(f"/v2/images/{img['id']}", [
        {"add": "/new", "value": "w"}, {"replace": "/protected", "value": True},
        {"remove": "/k"}], content_type=old)
    assert resp.status_code == 200, resp.json
    assert resp.json["new"] == "w" and resp.json["protected"] is True and "k" not in resp.json


def test_formats_can_only_change_while_queued(images_env):
    img = active(images_env.alice)
    err(images_env.alice.patch(f"/v2/images/{img['id']}", [
        {"op": "replace", "path": "/disk_format", "value": "qcow2"}]), 403, "queued image")
    same = images_env.alice.patch(f"/v2/images/{img['id']}", [
        {"op": "replace", "path": "/disk_format", "value": "raw"}])
    assert same.status_code == 200


# -- delete ------------------------------------------------------------------------------
def test_delete_removes_row_data_and_files(images_env):
    env = images_env
    img = active(env.alice)
    assert env.stored_files() == [img["id"]]
    assert env.alice.delete(f"/v2/images/{img['id']}").status_code == 204
    assert env.stored_files() == []
    err(env.alice.get(f"/v2/images/{img['id']}"), 404, "No image found")
    err(env.alice.delete(f"/v2/images/{img['id']}"), 404, "No image found")
    err(env.alice.get(f"/v2/images/{img['id']}/file"), 404, "No image found")
    assert img["id"] not in [i["id"] for i in env.admin.get("/v2/images").json["images"]]


def test_protected_image_cannot_be_deleted(images_env):
    env = images_env
    img = env.alice.create(name="keep", protected=True)
    err(env.alice.delete(f"/v2/images/{img['id']}"), 403, "protected")
    err(env.admin.delete(f"/v2/images/{img['id']}"), 403, "protected")
    env.alice.patch(f"/v2/images/{img['id']}",
                    [{"op": "replace", "path": "/protected", "value": False}])
    assert env.alice.delete(f"/v2/images/{img['id']}").status_code == 204


# -- listing -----------------------------------------------------------------------------
def _ids(resp) -> set[str]:
    assert resp.status_code == 200, resp.json
    return {i["id"] for i in resp.json["images"]}


def test_list_filters(images_env):
    env = images_env
    a = env.alice.create(name="a", disk_format="qcow2", container_format="bare",
                         tags=["x", "y"], arch="x86_64")
    b = env.alice.create(name="b", disk_format="raw", container_format="ovf", tags=["x"],
                         visibility="private")
    c = active(env.alice, name="c")
    h = env.alice.create(name="h", os_hidden=True)
    get = env.alice.get
    assert _ids(get("/v2/images")) == {a["id"], b["id"], c["id"]}
    assert _ids(get("/v2/images?name=a")) == {a["id"]}
    assert _ids(get("/v2/images?name=in:a,b")) == {a["id"], b["id"]}
    assert _ids(get("/v2/images?status=active")) == {c["id"]}
    assert _ids(get("/v2/images?status=in:queued,active")) == {a["id"], b["id"], c["id"]}
    assert _ids(get("/v2/images?visibility=private")) == {b["id"]}
    assert _ids(get("/v2/images?visibility=shared")) == {a["id"], c["id"]}
    assert _ids(get(f"/v2/images?owner={env.alice.project_id}")) == {a["id"], b["id"], c["id"]}
    assert _ids(get("/v2/images?disk_format=qcow2")) == {a["id"]}
    assert _ids(get("/v2/images?container_format=ovf")) == {b["id"]}
    assert _ids(get("/v2/images?tag=x")) == {a["id"], b["id"]}
    assert _ids(get("/v2/images?tag=x&tag=y")) == {a["id"]}
    assert _ids(get("/v2/images?arch=x86_64")) == {a["id"]}
    assert _ids(get(f"/v2/images?id=in%3A{a['id']},{c['id']}")) == {a["id"], c["id"]}
    assert _ids(get(f"/v2/images?id={b['id']}")) == {b["id"]}
    assert _ids(get(f"/v2/images?size_min={len(DATA)}&size_max={len(DATA)}")) == {c["id"]}
    assert _ids(get(f"/v2/images?size_min={len(DATA) + 1}")) == set()
    assert _ids(get("/v2/images?os_hidden=True")) == {h["id"]}
    assert _ids(get("/v2/images?os_hidden=TRUE&name=h")) == {h["id"]}
    assert _ids(get("/v2/images?os_hidden=false")) == {a["id"], b["id"], c["id"]}
    assert _ids(get("/v2/images?protected=false&name=a")) == {a["id"]}


@pytest.mark.parametrize(("query", "text"), [
    ("os_hidden=maybe", "os_hidden"), ("visibility=world", "visibility"),
    ("member_status=maybe", "member_status"), ("status=nope", "status"),
    ("size_min=-1", "size_min"), ("size_max=big", "size_max"), ("limit=ten", "limit"),
    ("limit=-1", "limit"), ("sort_key=color", "sort key"), ("sort_dir=sideways", "direction"),
    ("sort=name:up", "direction"), ("sort=name&sort_key=name", "cannot be combined"),
    ("sort_key=name&sort_key=size&sort_dir=asc&sort_dir=desc&sort_dir=asc", "sort_dir"),
    ("created_at=gte:2020-01-01T00:00:00Z", "not supported"),
    (f"marker={uuid.uuid4()}", "marker"), ("marker=nope", "marker"),
])
def test_list_refuses_bad_queries(images_env, query, text):
    err(images_env.alice.get(f"/v2/images?{query}"), 400, text)


def test_sorting(images_env):
    env = images_env
    for name in ("b", "c", "a"):
        env.alice.create(name=name, min_disk={"a": 3, "b": 1, "c": 2}[name])

    def names(query: str) -> list[str]:
        return [i["name"] for i in env.alice.get(f"/v2/images?{query}").json["images"]]

    assert names("") == ["a", "c", "b"]  # default: created_at descending
    assert names("sort_key=name&sort_dir=asc") == ["a", "b", "c"]
    assert names("sort_key=name") == ["c", "b", "a"]
    assert names("sort=name:asc") == ["a", "b", "c"]
    assert names("sort=min_disk:desc,name") == ["a", "c", "b"]
    assert names("sort_key=min_disk&sort_key=name&sort_dir=asc&sort_dir=desc") == \
        ["b", "c", "a"]


def test_pagination_follows_next_to_the_end(images_env):
    env = images_env
    created = {env.alice.create(name=f"img-{n:02d}")["id"] for n in range(30)}
    pages, seen, url = [], [], "/v2/images?limit=25"
    while url:
        resp = env.alice.get(url)
        assert resp.status_code == 200, resp.json
        body = resp.json
        assert body["first"] == "/v2/images" and body["schema"] == "/v2/schemas/images"
        pages.append(len(body["images"]))
        seen += [i["id"] for i in body["images"]]
        url = body.get("next")
        if url:
            assert re.match(r"^/v2/images\?marker=[0-9a-f-]{36}&limit=25$", url), url
    assert pages == [25, 5] and len(seen) == 30 and set(seen) == created
    default = env.alice.get("/v2/images").json
    assert len(default["images"]) == 25 and "limit=25" in default["next"]
    big = env.alice.get("/v2/images?limit=5000").json
    assert len(big["images"]) == 30 and "next" not in big
    filtered = env.alice.get("/v2/images?limit=2&sort=name:asc&name=in:img-00,img-01,img-02")
    assert "name=in" in filtered.json["next"]
    rest = env.alice.get(filtered.json["next"]).json
    assert [i["name"] for i in rest["images"]] == ["img-02"] and "next" not in rest


# -- tags --------------------------------------------------------------------------------
def test_tags(images_env):
    env = images_env
    img = env.alice.create(name="t", tags=["keep"])
    base = f"/v2/images/{img['id']}/tags"
    assert env.alice.put(f"{base}/new%20tag").status_code == 204
    assert env.alice.put(f"{base}/new%20tag").status_code == 204  # idempotent
    assert env.alice.show(img["id"])["tags"] == ["keep", "new tag"]
    assert env.alice.delete(f"{base}/keep").status_code == 204
    assert env.alice.show(img["id"])["tags"] == ["new tag"]
    err(env.alice.delete(f"{base}/keep"), 404, "Tag keep not found")
    missing = f"/v2/images/{uuid.uuid4()}/tags/x"
    err(env.alice.put(missing), 404, "No image found")
    err(env.alice.delete(missing), 404, "No image found")
    err(env.alice.put(f"{base}/{'t' * 256}"), 400, "tag")


# -- members -----------------------------------------------------------------------------
def test_members_flow(images_env):
    env = images_env
    img = active(env.alice, name="shared-one")
    members = f"/v2/images/{img['id']}/members"
    bob = env.bob.project_id
    err(env.bob.get(f"/v2/images/{img['id']}"), 404, "No image found")
    resp = env.alice.post(members, json={"member": bob})
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "pending" and resp.json["member_id"] == bob
    assert resp.json["schema"] == "/v2/schemas/member" and TS.match(resp.json["created_at"])
    err(env.alice.post(members, json={"member": bob}), 409, "already a member")
    err(env.alice.post(members, json={}), 400, "member")
    # a pending member sees the image but does not list it by default
    assert env.bob.show(img["id"])["id"] == img["id"]
    assert img["id"] not in _ids(env.bob.get("/v2/images"))
    assert img["id"] in _ids(env.bob.get("/v2/images?member_status=pending"))
    assert img["id"] in _ids(env.bob.get("/v2/images?member_status=all"))
    assert env.bob.get(f"/v2/images/{img['id']}/file").data == DATA
    # only the member changes its status, only to a known one
    err(env.bob.put(f"{members}/{bob}", json={"status": "maybe"}), 400, "status")
    err(env.bob.put(f"{members}/{bob}", json={}), 400, "'status' is a required property")
    err(env.alice.put(f"{members}/{bob}", json={"status": "accepted"}), 403, "modify_member")
    err(env.bob.post(members, json={"member": env.admin.project_id}), 403, "add_member")
    resp = env.bob.put(f"{members}/{bob}", json={"status": "accepted"})
    assert resp.status_code == 200 and resp.json["status"] == "accepted"
    assert img["id"] in _ids(env.bob.get("/v2/images"))
    assert img["id"] not in _ids(env.bob.get("/v2/images?member_status=rejected"))
    # listing members: the owner sees all, a member only itself
    env.alice.post(members, json={"member": env.admin.project_id})
    assert len(env.alice.get(members).json["members"]) == 2
    assert [m["member_id"] for m in env.bob.get(members).json["members"]] == [bob]
    assert env.bob.get(f"{members}/{bob}").json["status"] == "accepted"
    err(env.bob.get(f"{members}/{env.admin.project_id}"), 404, "not a member")
    # only the owner removes; then the image is gone for bob
    err(env.bob.delete(f"{members}/{bob}"), 403, "delete_member")
    assert env.alice.delete(f"{members}/{bob}").status_code == 204
    err(env.alice.delete(f"{members}/{bob}"), 404, "not a member")
    err(env.bob.get(f"/v2/images/{img['id']}"), 404, "No image found")


def test_members_only_on_shared_images(images_env):
    env = images_env
    img = env.alice.create(name="private-one", visibility="private")
    members = f"/v2/images/{img['id']}/members"
    err(env.alice.post(members, json={"member": "p"}), 403, "Only shared images")
    err(env.alice.get(f"/v2/images/{uuid.uuid4()}/members"), 404, "No image found")
    # an image made private again keeps its members hidden, as Glance
    shared = env.alice.create(name="was-shared")
    members = f"/v2/images/{shared['id']}/members"
    assert env.alice.post(members, json={"member": env.bob.project_id}).status_code == 200
    env.alice.patch(f"/v2/images/{shared['id']}",
                    [{"op": "replace", "path": "/visibility", "value": "private"}])
    err(env.alice.get(members), 403, "Only shared images")
    err(env.alice.get(f"{members}/{env.bob.project_id}"), 404, "Only shared images")
    err(env.alice.delete(f"{members}/{env.bob.project_id}"), 403, "Only shared images")
    err(env.bob.get(members), 404, "No image found")


def test_member_limit(images_env, monkeypatch):
    monkeypatch.setattr("images.members.MAX_MEMBERS", 2)
    env = images_env
    members = f"/v2/images/{env.alice.create(name='s')['id']}/members"
    for project in ("p1", "p2"):
        assert env.alice.post(members, json={"member": project}).status_code == 200
    err(env.alice.post(members, json={"member": "p3"}), 413, "member limit")


# -- deactivate / reactivate -------------------------------------------------------------
def test_deactivate_and_reactivate(images_env):
    """Glance's defaults: members of the owner project (and admins) deactivate and
    reactivate; a reader of that project may not; another project does not see it."""
    env = images_env
    img = active(env.alice)
    url = f"/v2/images/{img['id']}"
    err(env.reader.post(f"{url}/actions/deactivate"), 403, "deactivate")
    err(env.bob.post(f"{url}/actions/deactivate"), 404, "No image found")
    assert env.alice.post(f"{url}/actions/deactivate").status_code == 204
    assert env.alice.post(f"{url}/actions/deactivate").status_code == 204  # idempotent
    assert env.alice.show(img["id"])["status"] == "deactivated"
    err(env.alice.get(f"{url}/file"), 403, "deactivated")
    assert env.admin.get(f"{url}/file").data == DATA
    err(env.reader.post(f"{url}/actions/reactivate"), 403, "reactivate")
    assert env.alice.post(f"{url}/actions/reactivate").status_code == 204
    assert env.alice.show(img["id"])["status"] == "active"
    assert env.alice.get(f"{url}/file").data == DATA
    assert env.admin.post(f"{url}/actions/deactivate").status_code == 204
    assert env.admin.post(f"{url}/actions/reactivate").status_code == 204
    queued = env.alice.create(name="q")
    err(env.admin.post(f"/v2/images/{queued['id']}/actions/deactivate"), 403, "queued")
    err(env.admin.post(f"/v2/images/{uuid.uuid4()}/actions/reactivate"), 404, "No image")


# -- isolation and visibility ------------------------------------------------------------
def test_project_isolation(images_env):
    env = images_env
    img = active(env.alice, visibility="private")
    url = f"/v2/images/{img['id']}"
    for resp in (env.bob.get(url), env.bob.delete(url), env.bob.get(f"{url}/file"),
                 env.bob.patch(url, [{"op": "add", "path": "/x", "value": "1"}]),
                 env.bob.put(f"{url}/tags/x"), env.bob.get(f"{url}/members")):
        err(resp, 404, "No image found")
    assert img["id"] not in _ids(env.bob.get("/v2/images"))
    assert img["id"] not in _ids(env.bob.get("/v2/images?visibility=all"))
    assert env.admin.show(img["id"])["owner"] == env.alice.project_id
    assert img["id"] in _ids(env.admin.get("/v2/images"))


def test_public_and_community_images(images_env):
    env = images_env
    err(env.alice.post("/v2/images", json={"visibility": "public"}), 403, "publicize_image")
    pub = env.admin.create(name="pub", visibility="public", disk_format="raw",
                           container_format="bare")
    assert env.admin.upload(pub["id"], DATA).status_code == 204
    url = f"/v2/images/{pub['id']}"
    assert env.bob.show(pub["id"])["visibility"] == "public"
    assert pub["id"] in _ids(env.bob.get("/v2/images"))
    assert env.bob.get(f"{url}/file").data == DATA
    err(env.bob.patch(url, [{"op": "add", "path": "/x", "value": "1"}]), 403, "modify_image")
    err(env.bob.delete(url), 403, "delete_image")
    err(env.bob.put(f"{url}/tags/x"), 403, "modify_image")
    err(env.bob.post(f"{url}/actions/deactivate"), 403, "deactivate")
    err(env.bob.put(f"{url}/file", data=b"x",
                    headers={"Content-Type": "application/octet-stream"}), 403,
        "upload_image")
    com = env.bob.create(name="com", visibility="community")
    assert env.alice.show(com["id"])["visibility"] == "community"
    assert com["id"] not in _ids(env.alice.get("/v2/images"))
    assert com["id"] in _ids(env.alice.get("/v2/images?visibility=community"))
    assert com["id"] in _ids(env.bob.get("/v2/images"))  # the owner lists its own


def test_hide_and_unhide(images_env):
    env = images_env
    img = env.alice.create(name="hidden-one")
    url = f"/v2/images/{img['id']}"
    assert env.alice.patch(url, [{"op": "add", "path": "/os_hidden", "value": True}]
                           ).json["os_hidden"] is True
    assert img["id"] not in _ids(env.alice.get("/v2/images"))
    assert img["id"] not in _ids(env.alice.get("/v2/images?name=hidden-one"))
    assert img["id"] in _ids(env.alice.get("/v2/images?os_hidden=True"))
    env.alice.patch(url, [{"op": "add", "path": "/os_hidden", "value": False}])
    assert img["id"] in _ids(env.alice.get("/v2/images"))


def test_direct_url_only_for_admins_unless_disabled(make_images_env):
    env = make_images_env()
    img = active(env.alice)
    assert "direct_url" not in img
    assert env.admin.show(img["id"])["direct_url"] == f"file://{env.store_dir / img['id']}"
    queued = env.alice.create(name="q")
    assert "direct_url" not in env.admin.show(queued["id"])
    hidden = make_images_env(**{"image.show_direct_url": "false"})
    img = active(hidden.alice)
    assert "direct_url" not in hidden.admin.show(img["id"])


# -- Tempest's negative list (hardening.md section 2) ------------------------------------
def test_tempest_negatives(images_env):
    env = images_env
    missing = str(uuid.uuid4())
    err(env.alice.get(f"/v2/images/{missing}"), 404, "No image found")
    err(env.alice.delete(f"/v2/images/{missing}"), 404, "No image found")
    err(env.alice.get("/v2/images/"), 404, "could not be found")
    err(env.alice.delete("/v2/images/"), 404, "could not be found")
    err(env.alice.get("/v2/images/my%20image"), 404, "No image found")  # CLI name lookup
    err(env.alice.get("/v2/images/cirros"), 404, "No image found")
    gone = env.alice.create(name="gone")
    env.alice.delete(f"/v2/images/{gone['id']}")
    err(env.alice.get(f"/v2/images/{gone['id']}"), 404, "No image found")
    err(env.alice.delete(f"/v2/images/{gone['id']}"), 404, "No image found")
    err(env.alice.post("/v2/images", json={"container_format": "wrong"}), 400,
        "container_format")
    err(env.alice.post("/v2/images", json={"disk_format": "wrong"}), 400, "disk_format")
    prot = env.alice.create(name="p", protected=True)
    err(env.alice.delete(f"/v2/images/{prot['id']}"), 403, "protected")
    err(env.alice.post("/v2/images", json={"os_glance_foo": "x"}), 403, "reserved")
    err(env.alice.patch(f"/v2/images/{prot['id']}",
                        [{"op": "add", "path": "/os_glance_foo", "value": "x"}]), 403,
        "reserved")
    err(env.alice.put(f"/v2/images/{missing}/tags/t"), 404, "No image found")
    err(env.alice.delete(f"/v2/images/{prot['id']}/tags/nope"), 404, "Tag nope not found")
    err(env.alice.post(f"/v2/images/{missing}"), 405, "not allowed")
