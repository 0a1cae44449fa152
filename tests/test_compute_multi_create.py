"""Several servers from one request (``min_count``/``max_count``): one reservation id, a
launch index each, Nova's names, the quota holding all of ``min_count`` or nothing made."""
from __future__ import annotations

from sqlalchemy import func, select

from compute.models import InstanceAction
from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import IMAGE_ID, VOLUME_IDS, err, mv


def _post(env, version: str = "2.1", user: str = "alice", **extra):
    body = {"name": "web", "imageRef": IMAGE_ID, "flavorRef": "6", **extra}
    return getattr(env, user).post("/v2.1/servers", json={"server": body},
                                   headers=mv(version))


def _mine(env) -> list[dict]:
    return env.admin.get("/v2.1/servers/detail?all_tenants=1", headers=mv("2.3")
                         ).get_json()["servers"]


def test_three_servers_one_reservation(compute_env):
    env = compute_env
    resp = _post(env, min_count=3)
    assert resp.status_code == 202, resp.get_json()
    first = resp.get_json()["server"]["id"]
    rid = resp.headers["x-openstack-request-id"]
    env.work()
    servers = sorted(_mine(env), key=lambda s: s["OS-EXT-SRV-ATTR:launch_index"])
    assert [(s["name"], s["OS-EXT-SRV-ATTR:launch_index"], s["status"]) for s in servers] == [
        ("web-1", 0, "ACTIVE"), ("web-2", 1, "ACTIVE"), ("web-3", 2, "ACTIVE")]
    assert servers[0]["id"] == first
    (reservation,) = {s["OS-EXT-SRV-ATTR:reservation_id"] for s in servers}
    assert reservation.startswith("r-") and len(reservation) == 10
    listed = env.alice.get(f"/v2.1/servers?reservation_id={reservation}").get_json()
    assert {s["id"] for s in listed["servers"]} == {s["id"] for s in servers}
    assert env.alice.get("/v2.1/servers?reservation_id=r-other").get_json()["servers"] == []
    for server in servers:  # each one's create action carries the one request's id
        (action,) = env.alice.get(f"/v2.1/servers/{server['id']}/os-instance-actions"
                                  ).get_json()["instanceActions"]
        assert (action["action"], action["request_id"]) == ("create", rid)


def test_return_reservation_id(compute_env):
    env = compute_env
    resp = _post(env, min_count=1, max_count=2, return_reservation_id=True)
    assert resp.status_code == 202, resp.get_json()
    (key,) = resp.get_json()
    reservation = resp.get_json()["reservation_id"]
    assert key == "reservation_id" and "Location" not in resp.headers
    assert {s["OS-EXT-SRV-ATTR:reservation_id"] for s in _mine(env)} == {reservation}
    assert len(_mine(env)) == 2
    single = _post(env, return_reservation_id="false")
    assert set(single.get_json()) == {"server"}
    alone = single.get_json()["server"]["id"]
    shown = env.admin.get(f"/v2.1/servers/{alone}", headers=mv("2.3")).get_json()["server"]
    assert (shown["name"], shown["OS-EXT-SRV-ATTR:launch_index"]) == ("web", 0)


def test_quota_must_hold_min_count_and_caps_max_count(compute_env):
    env = compute_env
    project = env.alice.project_id
    assert env.admin.put(f"/v2.1/os-quota-sets/{project}",
                         json={"quota_set": {"instances": 2}}).status_code == 200
    err(_post(env, min_count=3), 403,
        "Quota exceeded for instances: Requested 3, but already used 0 of 2 instances")
    assert _mine(env) == []  # nothing made, nothing logged
    with env.db.session() as s:
        assert s.scalar(select(func.count()).select_from(InstanceAction)) == 0
    resp = _post(env, min_count=1, max_count=5)
    assert resp.status_code == 202
    assert sorted(s["name"] for s in _mine(env)) == ["web-1", "web-2"]
    err(_post(env), 403, "Requested 1, but already used 2 of 2 instances")


def test_refused_counts(compute_env):
    env = compute_env
    for extra in ({"min_count": 0}, {"max_count": 0}, {"min_count": 2.5},
                  {"max_count": 2.5}, {"min_count": "x"}):
        err(_post(env, **extra), 400, "count")
    err(_post(env, min_count=3, max_count=2), 400,
        "min_count 3 must be less than or equal to max_count 2")
    err(_post(env, max_count=2, block_device_mapping_v2=[{
        "source_type": "volume", "destination_type": "volume", "uuid": VOLUME_IDS[0],
        "boot_index": 1}]), 400, "Cannot attach one or more volumes to multiple instances")
    err(_post(env, return_reservation_id="maybe"), 400, "return_reservation_id")
    assert _mine(env) == []
