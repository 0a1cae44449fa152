"""Roles on the image API (Glance's secure defaults, ``images/policies.py``): a *reader* of the
owning project reads but changes nothing, a *member* writes in its project, and what Glance
keeps for admins (publicize, copy-image, another owner) is refused to members. The tables
cover every write route of the app (``tests.roles.assert_covers``): a route added later
without a row fails here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from minicloud.identity.service import IdentityService
from minicloud.identity.tokens import TokenProvider, ensure_key
from tests.images_fixtures import *  # noqa: F403 - the fixtures
from tests.images_fixtures import PATCH_TYPE, Env, UserClient, err
from tests.roles import assert_covers

DATA = bytes(range(250)) * 40
OCTETS = {"Content-Type": "application/octet-stream"}
METHODS = "glance-direct,web-download,copy-image"


@dataclass(frozen=True)
class Row:
    """One request: the route (method + Flask rule) and how to send it."""

    method: str
    rule: str
    path: str                  # with {shared}, {queued}, {off} and {member} filled in
    json: Any = None
    data: bytes | None = None
    content_type: str | None = None
    text: str = ""             # expected in the 403 message (the policy rule)

    def send(self, user: UserClient, world: dict[str, str]):
        headers = {"Content-Type": self.content_type} if self.content_type else {}
        kw: dict[str, Any] = {"headers": headers}
        if self.json is not None:
            kw["json"] = self.json
        if self.data is not None:
            kw["data"] = self.data
        return user._call(self.method, self.path.format(**world), **kw)


IMAGE = "/v2/images/<image_id>"
MEMBER = "/v2/images/<image_id>/members/<member_id>"

#: The task API is admin-only (``tasks_api_access``), for readers and members alike.
TASK_ROWS = [
    Row("POST", "/v2/tasks", "/v2/tasks", json={"type": "import", "input": {
        "import_from": "http://example.com/d.raw", "import_from_format": "raw",
        "image_properties": {"name": "t"}}}, text="tasks_api_access"),
    Row("DELETE", "/v2/tasks/<task_id>", "/v2/tasks/00000000-0000-4000-8000-000000000000",
        text="tasks_api_access"),
]

#: Glance's cache API is admin-only (cache_image, cache_delete), for readers and members alike.
CACHE_ROWS = [
    Row("PUT", "/v2/cache/<image_id>", "/v2/cache/{shared}", text="cache_image"),
    Row("DELETE", "/v2/cache/<image_id>", "/v2/cache/{shared}", text="cache_delete"),
    Row("DELETE", "/v2/cache", "/v2/cache", text="cache_delete"),
]

#: Every write route, sent by a reader of the project owning the images: 403 each time.
READER_ROWS = [
    *TASK_ROWS,
    *CACHE_ROWS,
    Row("POST", "/v2/images", "/v2/images", json={"name": "nope"}, text="add_image"),
    Row("PATCH", IMAGE, "/v2/images/{shared}", content_type=PATCH_TYPE,
        json=[{"op": "add", "path": "/k", "value": "v"}], text="modify_image"),
    Row("DELETE", IMAGE, "/v2/images/{shared}", text="delete_image"),
    Row("PUT", f"{IMAGE}/tags/<tag>", "/v2/images/{shared}/tags/new", text="modify_image"),
    Row("DELETE", f"{IMAGE}/tags/<tag>", "/v2/images/{shared}/tags/t", text="modify_image"),
    Row("POST", f"{IMAGE}/actions/deactivate", "/v2/images/{shared}/actions/deactivate",
        text="deactivate"),
    Row("POST", f"{IMAGE}/actions/reactivate", "/v2/images/{off}/actions/reactivate",
        text="reactivate"),
    Row("PUT", f"{IMAGE}/file", "/v2/images/{queued}/file", data=DATA,
        content_type="application/octet-stream", text="upload_image"),
    Row("PUT", f"{IMAGE}/stage", "/v2/images/{queued}/stage", data=DATA,
        content_type="application/octet-stream", text="modify_image"),
    Row("POST", f"{IMAGE}/import", "/v2/images/{queued}/import",
        json={"method": {"name": "web-download", "uri": "http://127.0.0.1:9/x"}},
        text="modify_image"),
    Row("POST", f"{IMAGE}/members", "/v2/images/{shared}/members", json={"member": "p"},
        text="add_member"),
    Row("PUT", MEMBER, "/v2/images/{shared}/members/{member}",
        json={"status": "accepted"}, text="modify_member"),
    Row("DELETE", MEMBER, "/v2/images/{shared}/members/{member}", text="delete_member"),
]

#: What Glance keeps for admins, sent by a member of the owning project: 403 each time.
ADMIN_ROWS = [
    Row("POST", "/v2/images", "/v2/images", json={"name": "pub", "visibility": "public"},
        text="publicize_image"),
    Row("PATCH", IMAGE, "/v2/images/{shared}", content_type=PATCH_TYPE,
        json=[{"op": "replace", "path": "/visibility", "value": "public"}],
        text="publicize_image"),
    Row("PATCH", IMAGE, "/v2/images/{shared}", content_type=PATCH_TYPE,
        json=[{"op": "replace", "path": "/owner", "value": "another-project"}],
        text="administrator"),
    Row("POST", "/v2/images", "/v2/images", json={"name": "theirs", "owner": "another"},
        text="owned by 'another'"),
    Row("POST", f"{IMAGE}/import", "/v2/images/{shared}/import",
        json={"method": {"name": "copy-image"}}, text="copy_image"),
    *TASK_ROWS,
    *CACHE_ROWS,
]


MD = "/v2/metadefs/namespaces/<namespace>"
MDNS = "/v2/metadefs/namespaces/{ns}"
_PROP = {"name": "p2", "title": "P", "type": "string"}
#: Every metadef write (admin-only, the seed's secure defaults), on a public namespace owned
#: by alice's project: a reader of that project and a member (alice) both get 403.
METADEF_ROWS = [
    Row("POST", "/v2/metadefs/namespaces", "/v2/metadefs/namespaces",
        json={"namespace": "mine"}, text="add_metadef_namespace"),
    Row("PUT", MD, MDNS, json={"namespace": "demo-ns"}, text="modify_metadef_namespace"),
    Row("DELETE", MD, MDNS, text="delete_metadef_namespace"),
    Row("POST", f"{MD}/objects", f"{MDNS}/objects", json={"name": "o2"},
        text="add_metadef_object"),
    Row("PUT", f"{MD}/objects/<object_name>", f"{MDNS}/objects/o", json={"name": "o3"},
        text="modify_metadef_object"),
    Row("DELETE", f"{MD}/objects/<object_name>", f"{MDNS}/objects/o",
        text="delete_metadef_object"),
    Row("DELETE", f"{MD}/objects", f"{MDNS}/objects", text="delete_metadef_namespace"),
    Row("POST", f"{MD}/properties", f"{MDNS}/properties", json=_PROP,
        text="add_metadef_property"),
    Row("PUT", f"{MD}/properties/<property_name>", f"{MDNS}/properties/p", json=_PROP,
        text="modify_metadef_property"),
    Row("DELETE", f"{MD}/properties/<property_name>", f"{MDNS}/properties/p",
        text="remove_metadef_property"),
    Row("DELETE", f"{MD}/properties", f"{MDNS}/properties", text="delete_metadef_namespace"),
    Row("POST", f"{MD}/tags/<tag_name>", f"{MDNS}/tags/t2", text="add_metadef_tag"),
    Row("PUT", f"{MD}/tags/<tag_name>", f"{MDNS}/tags/t", json={"name": "t3"},
        text="modify_metadef_tag"),
    Row("DELETE", f"{MD}/tags/<tag_name>", f"{MDNS}/tags/t", text="delete_metadef_tag"),
    Row("POST", f"{MD}/tags", f"{MDNS}/tags", json={"tags": [{"name": "t4"}]},
        text="add_metadef_tags"),
    Row("DELETE", f"{MD}/tags", f"{MDNS}/tags", text="delete_metadef_namespace"),
    Row("POST", f"{MD}/resource_types", f"{MDNS}/resource_types",
        json={"name": "OS::Nova::Flavor"}, text="add_metadef_resource_type_association"),
    Row("DELETE", f"{MD}/resource_types/<resource_type>",
        f"{MDNS}/resource_types/OS::Glance::Image",
        text="remove_metadef_resource_type_association"),
]


def _world(env: Env) -> dict[str, str]:
    """alice's images: a shared active one (tag ``t``, bob's project a member), a queued
    one and a deactivated one."""
    alice = env.alice
    shared = alice.create(name="shared", disk_format="raw", container_format="bare",
                          tags=["t"])
    assert alice.upload(shared["id"], DATA).status_code == 204
    resp = alice.post(f"/v2/images/{shared['id']}/members", json={"member": env.bob.project_id})
    assert resp.status_code == 200, resp.json
    queued = alice.create(name="queued", disk_format="raw", container_format="bare")
    off = alice.create(name="off", disk_format="raw", container_format="bare")
    assert alice.upload(off["id"], DATA).status_code == 204
    assert alice.post(f"/v2/images/{off['id']}/actions/deactivate").status_code == 204
    return {"shared": shared["id"], "queued": queued["id"], "off": off["id"],
            "member": env.bob.project_id}


def _snapshot(env: Env, world: dict[str, str]) -> dict:
    images = {k: env.admin.show(world[k]) for k in ("shared", "queued", "off")}
    members = env.admin.get(f"/v2/images/{world['shared']}/members").json
    listed = sorted(i["id"] for i in env.admin.get("/v2/images").json["images"])
    return {"images": images, "members": members, "listed": listed,
            "files": env.stored_files()}


def _user(env: Env, name: str, project: str, role: str) -> UserClient:
    ident = IdentityService(env.db)
    user = ident.create_user(name, f"{name}-pw", project, role)
    project_id = ident.get_project(project).id
    token = TokenProvider(env.db, ensure_key(env.state_dir)).issue(user.id, project_id)
    return UserClient(env.alice.client, token.token, project_id)


@pytest.fixture
def roles_env(make_images_env) -> Env:
    # The image cache on, so that its admin API is covered too (no prefetcher thread).
    return make_images_env(**{"image.enabled_import_methods": METHODS,
                              "image.cache_enabled": True,
                              "image.cache_prefetcher_interval": 0})


def test_the_tables_cover_every_write_route(roles_env):
    assert_covers(roles_env.app, {(r.method, r.rule)
                                  for r in READER_ROWS + ADMIN_ROWS + METADEF_ROWS})


@pytest.mark.parametrize("row", READER_ROWS, ids=lambda r: f"{r.method} {r.rule}")
def test_a_reader_of_the_owner_changes_nothing(roles_env, row):
    env = roles_env
    world = _world(env)
    before = _snapshot(env, world)
    err(row.send(env.reader, world), 403, row.text)
    env.wait_imports()
    assert _snapshot(env, world) == before


@pytest.mark.parametrize("row", ADMIN_ROWS, ids=lambda r: f"{r.method} {r.rule} {r.text}")
def test_a_member_is_refused_what_glance_keeps_for_admins(roles_env, row):
    env = roles_env
    world = _world(env)
    before = _snapshot(env, world)
    err(row.send(env.alice, world), 403, row.text)
    assert _snapshot(env, world) == before


def test_an_admin_passes_the_admin_only_rules(roles_env):
    env = roles_env
    world = _world(env)
    pub = env.admin.create(name="pub", visibility="public")
    assert pub["visibility"] == "public"
    resp = env.admin.patch(f"/v2/images/{world['shared']}",
                           [{"op": "replace", "path": "/visibility", "value": "public"}])
    assert resp.status_code == 200 and resp.json["visibility"] == "public"
    # copy-image passes its policy, then needs a second store this cloud does not have
    err(env.admin.post(f"/v2/images/{world['shared']}/import",
                       json={"method": {"name": "copy-image"}}), 400, "several stores")


def test_a_reader_still_reads(roles_env):
    env = roles_env
    world = _world(env)
    reader, shared = env.reader, world["shared"]
    listed = {i["id"] for i in reader.get("/v2/images").json["images"]}
    assert {world["shared"], world["queued"], world["off"]} <= listed
    assert reader.show(shared)["tags"] == ["t"]
    members = reader.get(f"/v2/images/{shared}/members")
    assert [m["member_id"] for m in members.json["members"]] == [world["member"]]
    assert reader.get(f"/v2/images/{shared}/members/{world['member']}").status_code == 200
    for path in ("/v2/schemas/image", "/v2/info/import", "/v2/info/stores"):
        assert reader.get(path).status_code == 200, path
    # Downloading is a member's right in Glance (download_image), not a reader's.
    err(reader.get(f"/v2/images/{shared}/file"), 403, "download_image")
    assert env.alice.get(f"/v2/images/{shared}/file").data == DATA


def test_member_status_belongs_to_the_member_projects_members(roles_env):
    """modify_member: a member (role) of a project the image is shared with; a reader of
    that project, the owner project and unrelated projects are refused."""
    env = roles_env
    world = _world(env)
    url = f"/v2/images/{world['shared']}/members/{world['member']}"
    other_reader = _user(env, "other-reader", "other", "reader")
    assert other_reader.show(world["shared"])["id"] == world["shared"]  # it may read
    err(other_reader.put(url, json={"status": "accepted"}), 403, "modify_member")
    err(env.alice.put(url, json={"status": "accepted"}), 403, "modify_member")
    resp = env.bob.put(url, json={"status": "accepted"})
    assert resp.status_code == 200 and resp.json["status"] == "accepted"


def test_a_denied_rule_is_a_404_for_who_cannot_see_the_image(roles_env):
    env = roles_env
    world = _world(env)
    private = env.alice.create(name="mine", visibility="private")
    for resp in (env.bob.delete(f"/v2/images/{private['id']}"),
                 env.bob.post(f"/v2/images/{private['id']}/actions/deactivate")):
        err(resp, 404, "No image found")
    # bob's project is a member of the shared image: it sees it, so a refusal is a 403
    err(env.bob.delete(f"/v2/images/{world['shared']}"), 403, "delete_image")


def test_operators_override_rules_by_glance_name(make_images_env, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text('"deactivate": "rule:context_is_admin"\n'
                      '"download_image": "rule:get_image"\n')
    env = make_images_env(**{"policy.file": str(policy)})
    img = env.alice.create(name="x", disk_format="raw", container_format="bare")
    assert env.alice.upload(img["id"], DATA).status_code == 204
    assert env.reader.get(f"/v2/images/{img['id']}/file").data == DATA
    err(env.alice.post(f"/v2/images/{img['id']}/actions/deactivate"), 403, "deactivate")
    assert env.admin.post(f"/v2/images/{img['id']}/actions/deactivate").status_code == 204


def _metadef_world(env: Env) -> dict[str, str]:
    """A public namespace owned by alice's project, with one of everything."""
    resp = env.admin.post("/v2/metadefs/namespaces", json={
        "namespace": "demo-ns", "visibility": "public", "owner": env.alice.project_id,
        "properties": {"p": {"title": "P", "type": "string"}}, "objects": [{"name": "o"}],
        "tags": [{"name": "t"}], "resource_type_associations": [{"name": "OS::Glance::Image"}]})
    assert resp.status_code == 201, resp.json
    return {"ns": "demo-ns"}


@pytest.mark.parametrize("row", METADEF_ROWS, ids=lambda r: f"{r.method} {r.rule}")
def test_metadef_writes_are_for_admins_only(roles_env, row):
    env = roles_env
    world = _metadef_world(env)
    before = env.admin.get("/v2/metadefs/namespaces/demo-ns").json
    for user in (env.reader, env.alice):
        err(row.send(user, world), 403, row.text)
    assert env.admin.get("/v2/metadefs/namespaces/demo-ns").json == before
    # reads stay open to a reader of any project
    assert env.reader.get("/v2/metadefs/namespaces/demo-ns/properties/p").status_code == 200
    assert env.bob.get("/v2/metadefs/namespaces/demo-ns/objects/o").status_code == 200
