"""Roles restrict the compute API: a reader of the owning project reads but every write
route refuses it (403); a member writes in its project but every admin-only route refuses
it (403). The table covers every write route of the app (``tests.roles.assert_covers``), so a
route added without a row fails here."""
from __future__ import annotations

import pytest

from compute.hosts import hypervisor_id, service_id
from minicloud.errors import Forbidden
from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import IMAGE_ID, VOLUME_IDS, err, mv
from tests.roles import assert_covers

S = "/v2.1/servers/<server_id>"
ATT = f"{S}/os-volume_attachments"
# (method, rule): (path with {server}/{project}/{service}, body, microversion)
MEMBER_ROUTES = {
    ("POST", "/v2.1/servers"): ("/v2.1/servers", {"server": {
        "name": "r", "imageRef": IMAGE_ID, "flavorRef": "6"}}, "2.1"),
    ("PUT", S): ("/v2.1/servers/{server}", {"server": {"name": "renamed"}}, "2.1"),
    ("DELETE", S): ("/v2.1/servers/{server}", None, "2.1"),
    ("POST", f"{S}/action"): ("/v2.1/servers/{server}/action", {"os-stop": None}, "2.1"),
    ("POST", f"{S}/metadata"): ("/v2.1/servers/{server}/metadata",
                                {"metadata": {"a": "b"}}, "2.1"),
    ("PUT", f"{S}/metadata"): ("/v2.1/servers/{server}/metadata",
                               {"metadata": {"a": "b"}}, "2.1"),
    ("PUT", f"{S}/metadata/<key>"): ("/v2.1/servers/{server}/metadata/k",
                                     {"meta": {"k": "v"}}, "2.1"),
    ("DELETE", f"{S}/metadata/<key>"): ("/v2.1/servers/{server}/metadata/k", None, "2.1"),
    ("POST", ATT): ("/v2.1/servers/{server}/os-volume_attachments",
                    {"volumeAttachment": {"volumeId": VOLUME_IDS[1]}}, "2.1"),
    ("PUT", f"{ATT}/<volume_id>"): (
        "/v2.1/servers/{server}/os-volume_attachments/" + VOLUME_IDS[0],
        {"volumeAttachment": {"volumeId": VOLUME_IDS[0], "delete_on_termination": True}},
        "2.85"),
    ("DELETE", f"{ATT}/<volume_id>"): (
        "/v2.1/servers/{server}/os-volume_attachments/" + VOLUME_IDS[0], None, "2.1"),
    ("DELETE", f"{S}/os-server-password"): ("/v2.1/servers/{server}/os-server-password",
                                            None, "2.1"),
    ("PUT", f"{S}/tags"): ("/v2.1/servers/{server}/tags", {"tags": ["a"]}, "2.26"),
    ("DELETE", f"{S}/tags"): ("/v2.1/servers/{server}/tags", None, "2.26"),
    ("PUT", f"{S}/tags/<tag>"): ("/v2.1/servers/{server}/tags/a", None, "2.26"),
    ("DELETE", f"{S}/tags/<tag>"): ("/v2.1/servers/{server}/tags/a", None, "2.26"),
    ("POST", "/v2.1/os-server-groups"): ("/v2.1/os-server-groups", {"server_group": {
        "name": "g", "policies": ["anti-affinity"]}}, "2.1"),
    ("DELETE", "/v2.1/os-server-groups/<group_id>"): ("/v2.1/os-server-groups/{group}", None,
                                                      "2.1"),
    ("POST", "/v2.1/os-volumes"): ("/v2.1/os-volumes", {"volume": {"size": 1}}, "2.1"),
    ("DELETE", "/v2.1/os-volumes/<volume_id>"): ("/v2.1/os-volumes/" + VOLUME_IDS[1], None,
                                                 "2.1"),
    ("POST", "/v2.1/os-snapshots"): ("/v2.1/os-snapshots",
                                     {"snapshot": {"volume_id": VOLUME_IDS[1]}}, "2.1"),
    ("DELETE", "/v2.1/os-snapshots/<snapshot_id>"): ("/v2.1/os-snapshots/{snapshot}", None,
                                                     "2.1"),
}
IMG = "/v2.1/images/<image_id>"
#: Nova's image proxy has no policy of its own: the image API refuses, as the caller.
IMAGE_ROUTES = {
    ("DELETE", IMG): (f"/v2.1/images/{IMAGE_ID}", None),
    ("POST", f"{IMG}/metadata"): (f"/v2.1/images/{IMAGE_ID}/metadata",
                                  {"metadata": {"a": "b"}}),
    ("PUT", f"{IMG}/metadata"): (f"/v2.1/images/{IMAGE_ID}/metadata",
                                 {"metadata": {"a": "b"}}),
    ("PUT", f"{IMG}/metadata/<key>"): (f"/v2.1/images/{IMAGE_ID}/metadata/a",
                                       {"meta": {"a": "b"}}),
    ("DELETE", f"{IMG}/metadata/<key>"): (f"/v2.1/images/{IMAGE_ID}/metadata/a", None),
}
ADMIN_ROUTES = {
    ("POST", "/v2.1/flavors"): ("/v2.1/flavors", {"flavor": {
        "name": "r", "ram": 64, "vcpus": 1, "disk": 0}}, "2.1"),
    ("PUT", "/v2.1/flavors/<flavor_id>"): ("/v2.1/flavors/6",
                                          {"flavor": {"description": "d"}}, "2.55"),
    ("DELETE", "/v2.1/flavors/<flavor_id>"): ("/v2.1/flavors/6", None, "2.1"),
    ("POST", "/v2.1/flavors/<flavor_id>/os-extra_specs"): (
        "/v2.1/flavors/6/os-extra_specs", {"extra_specs": {"k": "v"}}, "2.1"),
    ("PUT", "/v2.1/flavors/<flavor_id>/os-extra_specs/<key>"): (
        "/v2.1/flavors/6/os-extra_specs/k", {"k": "v"}, "2.1"),
    ("DELETE", "/v2.1/flavors/<flavor_id>/os-extra_specs/<key>"): (
        "/v2.1/flavors/6/os-extra_specs/k", None, "2.1"),
    ("PUT", "/v2.1/os-quota-sets/<project_id>"): (
        "/v2.1/os-quota-sets/{project}", {"quota_set": {"instances": 50}}, "2.1"),
    ("DELETE", "/v2.1/os-quota-sets/<project_id>"): ("/v2.1/os-quota-sets/{project}", None,
                                                     "2.1"),
    ("POST", "/v2.1/flavors/<flavor_id>/action"): (
        "/v2.1/flavors/6/action", {"addTenantAccess": {"tenant": "p"}}, "2.1"),
    ("PUT", "/v2.1/os-quota-class-sets/<class_name>"): (
        "/v2.1/os-quota-class-sets/default", {"quota_class_set": {"instances": 50}}, "2.1"),
    ("PUT", "/v2.1/os-hosts/<host_name>"): ("/v2.1/os-hosts/node1", {"status": "disable"},
                                            "2.1"),
    ("PUT", "/v2.1/os-services/<service_id_>"): ("/v2.1/os-services/{service}",
                                                 {"status": "disabled"}, "2.53"),
    ("DELETE", "/v2.1/os-services/<service_id_>"): ("/v2.1/os-services/{service}", None,
                                                    "2.53"),
    # services only (role:service): an admin without it is refused too (test_compute_server_ops)
    ("POST", "/v2.1/os-server-external-events"): ("/v2.1/os-server-external-events", {
        "events": [{"name": "network-changed", "server_uuid": IMAGE_ID}]}, "2.1"),
    ("POST", "/v2.1/os-aggregates"): ("/v2.1/os-aggregates", {"aggregate": {"name": "a2"}},
                                      "2.1"),
    ("PUT", "/v2.1/os-aggregates/<aggregate_id>"): (
        "/v2.1/os-aggregates/{aggregate}", {"aggregate": {"name": "renamed"}}, "2.1"),
    ("DELETE", "/v2.1/os-aggregates/<aggregate_id>"): ("/v2.1/os-aggregates/{aggregate}",
                                                       None, "2.1"),
    ("POST", "/v2.1/os-aggregates/<aggregate_id>/action"): (
        "/v2.1/os-aggregates/{aggregate}/action", {"add_host": {"host": "node1"}}, "2.1"),
    ("POST", "/v2.1/os-aggregates/<aggregate_id>/images"): (
        "/v2.1/os-aggregates/{aggregate}/images", {"cache": [{"id": IMAGE_ID}]}, "2.81"),
    # Keypairs are the user's own (a reader creates and deletes its own, as in Nova): the
    # write only an admin may do is acting for another user (2.10+).
    ("POST", "/v2.1/os-keypairs"): ("/v2.1/os-keypairs", {"keypair": {
        "name": "r", "user_id": "another-user"}}, "2.10"),
    ("DELETE", "/v2.1/os-keypairs/<keypair_name>"): (
        "/v2.1/os-keypairs/k?user_id=another-user", None, "2.10"),
}
ACTIONS = ({"os-start": None}, {"os-stop": None}, {"reboot": {"type": "SOFT"}},
           {"createImage": {"name": "snap"}}, {"os-getConsoleOutput": {"length": 1}},
           {"lock": None}, {"unlock": None}, {"pause": None}, {"unpause": None},
           {"suspend": None}, {"resume": None}, {"restore": None}, {"forceDelete": None},
           {"rebuild": {"imageRef": IMAGE_ID}}, {"rescue": None}, {"unrescue": None},
           {"createBackup": {"name": "b", "backup_type": "daily", "rotation": 1}},
           {"os-resetState": {"state": "error"}}, {"migrate": None},
           {"addSecurityGroup": {"name": "default"}},
           {"removeSecurityGroup": {"name": "default"}})
#: The actions only an admin may take (a member of the server's project gets 403).
ADMIN_ACTIONS = ({"os-resetState": {"state": "error"}}, {"migrate": None})
ADMIN_READS = ("/v2.1/os-services", "/v2.1/os-hypervisors", "/v2.1/os-hypervisors/detail",
               "/v2.1/os-availability-zone/detail", "/v2.1/os-aggregates",
               "/v2.1/servers?all_tenants=1", "/v2.1/os-aggregates/1", "/v2.1/os-hosts",
               "/v2.1/os-hosts/node1",
               "/v2.1/os-hosts/node1/reboot", "/v2.1/os-hosts/node1/shutdown",
               "/v2.1/os-hosts/node1/startup", "/v2.1/os-simple-tenant-usage",
               "/v2.1/os-instance_usage_audit_log",
               "/v2.1/os-instance_usage_audit_log/2026-01-01%2000:00:00",
               "/v2.1/os-quota-class-sets/default", "/v2.1/flavors/6/os-flavor-access",
               f"/v2.1/os-hypervisors/{hypervisor_id('node1')}/uptime", "/v2.1/os-migrations")


#: The server group (alice's), aggregate and volume snapshot the routes' paths name, made
#: by ``server_id``.
REFS: dict[str, str] = {}


def test_the_tables_cover_every_write_route(compute_env):
    assert_covers(compute_env.app, set(MEMBER_ROUTES) | set(ADMIN_ROUTES) | set(IMAGE_ROUTES))


@pytest.fixture
def server_id(compute_env) -> str:
    sid = compute_env.create_server(metadata={"k": "v"})
    compute_env.alice.put(f"/v2.1/servers/{sid}/tags/t", headers=mv("2.26"))
    resp = compute_env.alice.post(f"/v2.1/servers/{sid}/os-volume_attachments",
                                  json={"volumeAttachment": {"volumeId": VOLUME_IDS[0]}})
    assert resp.status_code == 200, resp.get_json()
    compute_env.work()
    group = compute_env.alice.post("/v2.1/os-server-groups", json={"server_group": {
        "name": "mine", "policies": ["affinity"]}}).get_json()["server_group"]
    agg = compute_env.admin.post("/v2.1/os-aggregates", json={"aggregate": {"name": "a1"}})
    snapshot = compute_env.volumes.create_snapshot(VOLUME_IDS[1], "mine", force=False)
    REFS.update(group=group["id"], aggregate=agg.get_json()["aggregate"]["id"],
                snapshot=snapshot["id"])
    return sid


def _send(client, key: tuple[str, str], server: str, project: str):
    path, body, version = {**MEMBER_ROUTES, **ADMIN_ROUTES}[key]
    path = path.format(server=server, project=project, service=service_id("node1"), **REFS)
    kwargs = {"json": body} if body is not None else {}
    return client._call(key[0], path, headers=mv(version), **kwargs)


def test_reader_is_refused_every_write_route(compute_env, server_id):
    project = compute_env.reader.project_id
    for key in {**MEMBER_ROUTES, **ADMIN_ROUTES}:
        resp = _send(compute_env.reader, key, server_id, project)
        assert resp.status_code == 403, (key, resp.get_json())
        err(resp, 403, "doesn't allow")
    for action in ACTIONS:
        err(compute_env.reader.post(f"/v2.1/servers/{server_id}/action", json=action), 403,
            "doesn't allow")
    shown = compute_env.alice.get(f"/v2.1/servers/{server_id}").get_json()["server"]
    assert (shown["name"], shown["status"], shown["metadata"]) == ("vm", "ACTIVE",
                                                                   {"k": "v"})


def test_member_is_refused_every_admin_route(compute_env, server_id):
    project = compute_env.alice.project_id
    for key in ADMIN_ROUTES:
        resp = _send(compute_env.alice, key, server_id, project)
        assert resp.status_code == 403, (key, resp.get_json())
    for path in ADMIN_READS:
        assert compute_env.alice.get(path).status_code == 403, path
    for action in ADMIN_ACTIONS:
        err(compute_env.alice.post(f"/v2.1/servers/{server_id}/action", json=action), 403,
            "doesn't allow")
    assert compute_env.alice.get("/v2.1/flavors/6/os-extra_specs/k").status_code == 404


def test_member_writes_its_own_project(compute_env, server_id):
    project = compute_env.alice.project_id
    for key in (("PUT", S), ("POST", f"{S}/metadata"), ("PUT", f"{ATT}/<volume_id>"),
                ("PUT", f"{S}/tags/<tag>")):
        resp = _send(compute_env.alice, key, server_id, project)
        assert resp.status_code < 300, (key, resp.get_json())
    err(compute_env.bob.put(f"/v2.1/servers/{server_id}", json={"server": {"name": "x"}}),
        404, "could not be found")


def test_reader_reads(compute_env, server_id):
    reader, project = compute_env.reader, compute_env.reader.project_id
    for path in (f"/v2.1/servers/{server_id}", "/v2.1/servers", "/v2.1/servers/detail",
                 f"/v2.1/servers/{server_id}/metadata", f"/v2.1/servers/{server_id}/metadata/k",
                 f"/v2.1/servers/{server_id}/os-volume_attachments",
                 f"/v2.1/servers/{server_id}/os-volume_attachments/{VOLUME_IDS[0]}",
                 "/v2.1/flavors/detail", "/v2.1/flavors/6/os-extra_specs", "/v2.1/limits",
                 f"/v2.1/os-quota-sets/{project}", f"/v2.1/os-quota-sets/{project}/detail",
                 "/v2.1/os-availability-zone", f"/v2.1/os-simple-tenant-usage/{project}",
                 f"/v2.1/servers/{server_id}/ips", "/v2.1/os-snapshots",
                 "/v2.1/os-snapshots/detail", f"/v2.1/os-snapshots/{REFS['snapshot']}",
                 f"/v2.1/servers/{server_id}/os-server-password"):
        assert reader.get(path).status_code == 200, path
    for path in (f"/v2.1/servers/{server_id}/tags", f"/v2.1/servers/{server_id}/tags/t",
                 f"/v2.1/servers/{server_id}/os-instance-actions"):
        assert reader.get(path, headers=mv("2.96")).status_code in (200, 204), path
    (listed,) = reader.get("/v2.1/servers").get_json()["servers"]
    assert listed["id"] == server_id


def test_image_proxy_writes_are_refused_by_the_image_api(compute_env):
    """The reader's token goes to the image API, whose 403 (a reader may not change images)
    comes back unchanged; the image is untouched."""
    images, tokens = compute_env.images, []
    images.images[IMAGE_ID]["a"] = "b"

    class ReaderView:
        def __getattr__(self, name):
            return getattr(images, name)

        def update(self, image_id, changes):
            raise Forbidden("You are not authorized to complete modify_image action.")

        def delete(self, image_id):
            raise Forbidden("You are not authorized to complete delete_image action.")

    def client(token):
        tokens.append(token)
        return ReaderView() if token == compute_env.reader.token else images

    compute_env.app.extensions["compute"].service.image_client = client
    before = dict(images.images[IMAGE_ID])
    for (method, _rule), (path, body) in IMAGE_ROUTES.items():
        kwargs = {"json": body} if body is not None else {}
        resp = compute_env.reader._call(method, path, **kwargs)
        assert resp.status_code == 403, (method, path, resp.get_json())
    assert images.images[IMAGE_ID] == before
    assert set(tokens) == {compute_env.reader.token}


def test_unlocking_another_sides_lock_needs_the_override(compute_env, server_id):
    """An admin's lock: the owner may not lift it (403, unlock_override is admin-only) nor
    act on the server (409); the admin may. The owner's own lock it lifts itself."""
    env = compute_env
    action = f"/v2.1/servers/{server_id}/action"
    assert env.admin.post(action, json={"lock": None}).status_code == 202
    err(env.alice.post(action, json={"unlock": None}), 403, "unlock_override")
    err(env.alice.post(action, json={"os-stop": None}), 409,
        f"Instance {server_id} is locked")
    assert env.admin.post(action, json={"unlock": None}).status_code == 202
    assert env.alice.post(action, json={"lock": None}).status_code == 202
    assert env.alice.post(action, json={"unlock": None}).status_code == 202
    shown = env.alice.get(f"/v2.1/servers/{server_id}", headers=mv("2.73")).get_json()
    assert (shown["server"]["locked"], shown["server"]["locked_reason"]) == (False, None)
