"""What Nova answers that a cloud without networking or migration still answers as Nova:
the guest's hostname (2.90/2.94), a server's security groups, the ``migrate`` refusal,
``os-server-external-events``; and rebuild/rescue fetching only the images the API checked
as the caller. In-process, on the fake driver."""
from __future__ import annotations

import threading

from compute.models import ComputeTask, Instance
from compute.security_groups import SecurityGroups
from minicloud.errors import BadRequest
from minicloud.identity.service import IdentityService
from minicloud.identity.tokens import TokenProvider, ensure_key
from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import IMAGE_ID, err, mv
from tests.images_fixtures import UserClient
from tests.multihost_fixtures import with_hosts
from tests.tempest_schemas import COMPUTE_SCHEMAS, assert_valid
from tests.test_compute_aggregates import AMI, KERNEL, PRIVATE, RAMDISK, _ami
from tests.test_compute_aggregates import scoped as _scoped

scoped = _scoped  # the images as each caller sees them (a fixture)

EVENTS = "/v2.1/os-server-external-events"


def act(client, sid: str, body: dict, version: str = "2.1"):
    return client.post(f"/v2.1/servers/{sid}/action", json=body, headers=mv(version))


def show(env, sid: str, version: str = "2.1", who: str = "alice") -> dict:
    return getattr(env, who).get(f"/v2.1/servers/{sid}", headers=mv(version)).get_json()[
        "server"]


def create(env, version: str, **extra):
    body = {"name": "web 1", "imageRef": IMAGE_ID, "flavorRef": "6", "networks": "none",
            **extra}
    return env.alice.post("/v2.1/servers", json={"server": body}, headers=mv(version))


# -- hostname (2.90, FQDN 2.94) ----------------------------------------------------------------
def test_hostname_is_set_at_create_and_kept_across_a_rename(compute_env):
    env = compute_env
    resp = create(env, "2.90", hostname="db-primary")
    assert resp.status_code == 202, resp.get_json()
    sid = resp.get_json()["server"]["id"]
    env.work()
    assert show(env, sid, "2.90")["OS-EXT-SRV-ATTR:hostname"] == "db-primary"
    assert "OS-EXT-SRV-ATTR:hostname" not in show(env, sid, "2.89")
    env.alice.put(f"/v2.1/servers/{sid}", json={"server": {"name": "renamed"}})
    assert show(env, sid, "2.90")["OS-EXT-SRV-ATTR:hostname"] == "db-primary"
    resp = env.alice.put(f"/v2.1/servers/{sid}", json={"server": {"hostname": "db-two"}},
                         headers=mv("2.90"))
    assert resp.status_code == 200, resp.get_json()
    assert show(env, sid, "2.90")["OS-EXT-SRV-ATTR:hostname"] == "db-two"
    resp = act(env.alice, sid, {"rebuild": {"imageRef": IMAGE_ID, "hostname": "db-three"}},
               "2.90")
    assert resp.status_code == 202, resp.get_json()
    env.work()
    assert show(env, sid, "2.90")["OS-EXT-SRV-ATTR:hostname"] == "db-three"


def test_without_a_hostname_it_comes_from_the_name_at_create(compute_env):
    env = compute_env
    sid = env.create_server(name="Web Server_1")
    env.alice.put(f"/v2.1/servers/{sid}", json={"server": {"name": "other"}})
    assert show(env, sid, "2.90")["OS-EXT-SRV-ATTR:hostname"] == "web-server-1"


def test_hostname_refusals(compute_env):
    env = compute_env
    err(create(env, "2.89", hostname="db"), 400, "Additional properties are not allowed")
    for bad in ("a", "-db", "db_1", "x" * 64, "db.example.com"):
        err(create(env, "2.90", hostname=bad), 400, "hostname")
    err(create(env, "2.90", hostname="db", max_count=2), 400,
        "Cannot set the hostname of several servers")
    fqdn = "x" * 52 + "-guest-test.domaintest.com"
    resp = create(env, "2.94", hostname=fqdn)
    assert resp.status_code == 202, resp.get_json()
    env.work()
    assert show(env, resp.get_json()["server"]["id"], "2.94")[
        "OS-EXT-SRV-ATTR:hostname"] == fqdn
    err(create(env, "2.94", hostname="x" * 256), 400, "hostname")
    assert len(env.alice.get("/v2.1/servers").get_json()["servers"]) == 1


# -- security groups ---------------------------------------------------------------------------
def test_remove_and_add_the_default_group(compute_env):
    env = compute_env
    sid = env.create_server()
    assert show(env, sid)["security_groups"] == [{"name": "default"}]
    assert act(env.alice, sid, {"removeSecurityGroup": {"name": "default"}}).status_code == 202
    assert "security_groups" not in show(env, sid)
    assert "security_groups" not in env.alice.get("/v2.1/servers/detail").get_json()[
        "servers"][0]
    err(act(env.alice, sid, {"removeSecurityGroup": {"name": "default"}}), 400,
        "Security group default not associated with the instance")
    assert act(env.alice, sid, {"addSecurityGroup": {"name": "default"}}).status_code == 202
    assert show(env, sid)["security_groups"] == [{"name": "default"}]
    err(act(env.alice, sid, {"addSecurityGroup": {"name": "default"}}), 400,
        "already associated")
    err(act(env.alice, sid, {"addSecurityGroup": {"name": "web"}}), 404,
        "Security group web not found")
    err(act(env.alice, sid, {"addSecurityGroup": {}}), 400, "'name' is a required property")
    err(act(env.bob, sid, {"removeSecurityGroup": {"name": "default"}}), 404, "")
    assert show(env, sid)["security_groups"] == [{"name": "default"}]


def test_concurrent_group_changes_do_not_lose_an_update(compute_env):
    """Eight threads add ``default`` to a server in no group at once: exactly one wins and
    the others get Nova's 400, never a second copy nor a lost change."""
    env = compute_env
    sid = env.create_server()
    groups = SecurityGroups(env.db)
    groups.remove(sid, "default")
    start, outcomes = threading.Barrier(8), []

    def add() -> None:
        start.wait()
        try:
            groups.add(sid, "default")
            outcomes.append("added")
        except BadRequest:
            outcomes.append("refused")

    threads = [threading.Thread(target=add) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["added"] + ["refused"] * 7
    assert show(env, sid)["security_groups"] == [{"name": "default"}]


# -- migrate -------------------------------------------------------------------------------------
def test_migrate_is_refused_with_a_reason(compute_env):
    env = compute_env
    sid = env.create_server()
    missing = "5e7c8a46-6f4f-4b8e-9d4c-7d0b1b1effff"
    err(act(env.admin, missing, {"migrate": None}), 404, "could not be found")
    err(act(env.alice, sid, {"migrate": None}), 403, "doesn't allow")
    err(act(env.admin, sid, {"migrate": None}), 400,
        "No valid host was found. No valid host found for cold migrate")
    with_hosts(env, "node2")
    err(act(env.admin, sid, {"migrate": None}), 400, "Cold migration is not offered")
    err(act(env.admin, sid, {"migrate": {"host": "node9"}}, "2.56"), 400,
        "Compute host node9 could not be found")
    assert show(env, sid)["status"] == "ACTIVE"


# -- os-server-external-events -------------------------------------------------------------------
def service_user(env) -> UserClient:
    """A user with the ``service`` role (what Neutron or Cinder use)."""
    ident = IdentityService(env.db)
    # the bootstrap made the ``service`` project
    ident.create_user("neutron", "neutron-pw", "service", "service")
    user, project = ident.get_user("neutron").id, ident.get_project("service").id
    token = TokenProvider(env.db, ensure_key(env.conf.state_dir)).issue(user, project).token
    return UserClient(env.admin.client, token, project)


def test_external_events_answer_per_server(compute_env):
    env = compute_env
    sid = env.create_server()
    waiting = env.create_server(name="unplaced", active=False)
    with env.db.session() as s:
        s.get(Instance, waiting).host = None
    svc = service_user(env)
    missing = "5e7c8a46-6f4f-4b8e-9d4c-7d0b1b1effff"
    resp = svc.post(EVENTS, json={"events": [{"name": "network-changed", "server_uuid": sid}]})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"events": [{"name": "network-changed", "server_uuid": sid,
                                           "code": 200, "status": "completed"}]}
    resp = svc.post(EVENTS, json={"events": [
        {"name": "network-vif-plugged", "server_uuid": sid, "tag": "port-1"},
        {"name": "network-changed", "server_uuid": missing},
        {"name": "network-changed", "server_uuid": waiting, "status": "failed"}]})
    assert resp.status_code == 207
    assert [(e["code"], e["status"], e.get("tag")) for e in resp.get_json()["events"]] == [
        (200, "completed", "port-1"), (404, "failed", None), (422, "failed", None)]
    resp = svc.post(EVENTS, json={"events": [{"name": "network-changed",
                                              "server_uuid": missing}]})
    assert resp.status_code == 404 and resp.get_json()["events"][0]["code"] == 404


def test_external_events_refusals(compute_env):
    env = compute_env
    sid = env.create_server()
    svc = service_user(env)
    body = {"events": [{"name": "volume-extended", "server_uuid": sid, "tag": "v"}]}
    err(svc.post(EVENTS, json=body, headers=mv("2.50")), 400, "volume-extended")
    assert svc.post(EVENTS, json=body, headers=mv("2.51")).status_code == 200
    err(svc.post(EVENTS, json={"events": []}), 400, "")
    for user in (env.admin, env.alice):  # the service role only, as Nova's 2023 default
        err(user.post(EVENTS, json={"events": [{"name": "network-changed",
                                                "server_uuid": sid}]}), 403, "doesn't allow")


# -- rebuild and rescue fetch only what the API checked as the caller ---------------------------
def test_rebuild_and_rescue_carry_the_checked_images(compute_env, scoped):
    env = compute_env
    owners, downloads = scoped
    _ami(env, env.alice.token, owners)  # alice's own private kernel
    sid = env.create_server(name="ami", imageRef=AMI)
    assert act(env.alice, sid, {"rebuild": {"imageRef": AMI}}).status_code == 202
    with env.db.session() as s:
        task = s.query(ComputeTask).filter_by(instance_id=sid, action="rebuild").one()
        assert task.params["images"] == [AMI, KERNEL, RAMDISK]
    env.work()
    assert show(env, sid)["status"] == "ACTIVE"
    # a rescue whose kernel changed after the API's check is not fetched
    assert act(env.alice, sid, {"rescue": None}).status_code == 200
    with env.db.session() as s:
        inst = s.get(Instance, sid)
        inst.image_meta = dict(inst.image_meta, kernel_id=PRIVATE)
    env.work()
    shown = show(env, sid)
    assert shown["status"] == "ERROR"
    assert f"Image {PRIVATE} was not checked" in shown["fault"]["message"]
    assert PRIVATE not in downloads and not env.agent.cache.path(PRIVATE).exists()



def test_event_answers_pass_tempest_schema(compute_env, tmp_path):
    env = compute_env
    sid = env.create_server()
    resp = service_user(env).post(EVENTS, json={"events": [
        {"name": "network-changed", "server_uuid": sid, "tag": "t"}]})
    assert_valid([{"module": f"{COMPUTE_SCHEMAS}.server_external_events", "op": "create",
                   "version": "2.1", "status": resp.status_code, "body": resp.get_json()}],
                 tmp_path)
