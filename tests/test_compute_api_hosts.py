"""Hosts (os-services, os-hypervisors, zones), quotas and limits, and volume attachments over
the compute API in-process."""
from __future__ import annotations

import pytest

from compute.hosts import hypervisor_id, service_id
from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import IMAGE_ID, VOLUME_IDS, err, mv

SERVICE = service_id("node1")


def test_services_list_and_update(compute_env):
    admin = compute_env.admin
    (svc,) = admin.get("/v2.1/os-services", headers=mv("2.53")).get_json()["services"]
    assert (svc["id"], svc["host"], svc["binary"], svc["state"]) == (
        SERVICE, "node1", "nova-compute", "up")
    assert isinstance(admin.get("/v2.1/os-services").get_json()["services"][0]["id"], int)
    assert admin.get("/v2.1/os-services?binary=nova-scheduler").get_json() == {
        "services": []}
    resp = admin.put(f"/v2.1/os-services/{SERVICE}", headers=mv("2.53"),
                     json={"status": "disabled", "disabled_reason": "maintenance"})
    assert resp.get_json()["service"]["status"] == "disabled"
    doomed = compute_env.create_server(name="doomed", active=False)
    fault = compute_env.alice.get(f"/v2.1/servers/{doomed}").get_json()["server"]["fault"]
    assert fault["message"].startswith("No valid host was found")
    err(admin.put(f"/v2.1/os-services/{SERVICE}", headers=mv("2.53"),
                  json={"status": "enabled", "disabled_reason": "x"}), 400, "disabled_reason")
    legacy = admin.put("/v2.1/os-services/enable", json={"host": "node1",
                                                          "binary": "nova-compute"})
    assert legacy.get_json() == {"service": {"host": "node1", "binary": "nova-compute",
                                             "status": "enabled"}}
    err(admin.put("/v2.1/os-services/disable-log-reason",
                  json={"host": "node1", "binary": "nova-compute"}), 400, "reason")
    err(admin.put(f"/v2.1/os-services/{SERVICE}", headers=mv("2.53"),
                  json={"forced_down": True}), 400, "forced_down")
    err(admin.put(f"/v2.1/os-services/{SERVICE}", headers=mv("2.53"),
                  json={"status": "asleep"}), 400, "status")
    err(admin.put(f"/v2.1/os-services/{SERVICE}", headers=mv("2.53"),
                  json={"host": "node1"}), 400, "host")


def test_service_delete_refused_while_it_hosts_servers(compute_env):
    sid = compute_env.create_server()
    err(compute_env.admin.delete(f"/v2.1/os-services/{SERVICE}"), 409, "hosting instances")
    compute_env.alice.delete(f"/v2.1/servers/{sid}")
    compute_env.work()
    assert compute_env.admin.delete(f"/v2.1/os-services/{SERVICE}").status_code == 204
    err(compute_env.admin.delete(f"/v2.1/os-services/{SERVICE}"), 404, "could not be found")


def test_hypervisors(compute_env):
    admin, hid = compute_env.admin, hypervisor_id("node1")
    sid = compute_env.create_server(name="on-node1")
    listed = admin.get("/v2.1/os-hypervisors?with_servers=true", headers=mv("2.53")
                       ).get_json()["hypervisors"]
    assert listed == [{"id": hid, "hypervisor_hostname": "node1", "state": "up",
                       "status": "enabled", "servers": [{"uuid": sid, "name": "on-node1"}]}]
    shown = admin.get(f"/v2.1/os-hypervisors/{hid}", headers=mv("2.53")).get_json()
    assert (shown["hypervisor"]["running_vms"], shown["hypervisor"]["vcpus_used"]) == (1, 1)
    err(admin.get("/v2.1/os-hypervisors/node1", headers=mv("2.53")), 400, "Invalid uuid")
    err(admin.get("/v2.1/os-hypervisors?hypervisor_hostname_pattern=zzz",
                  headers=mv("2.53")), 404, "No hypervisor matching 'zzz'")
    assert admin.get("/v2.1/os-hypervisors/node/search").get_json()["hypervisors"][0][
        "hypervisor_hostname"] == "node1"
    err(admin.get("/v2.1/os-hypervisors/node/search", headers=mv("2.53")), 404, "")
    stats = admin.get("/v2.1/os-hypervisors/statistics").get_json()["hypervisor_statistics"]
    assert (stats["count"], stats["running_vms"]) == (1, 1)
    err(admin.get("/v2.1/os-hypervisors/statistics", headers=mv("2.88")), 404, "")
    err(admin.get("/v2.1/os-hypervisors?marker=nope", headers=mv("2.33")), 400, "marker")


def test_availability_zones(compute_env):
    zones = compute_env.alice.get("/v2.1/os-availability-zone").get_json()
    assert zones == {"availabilityZoneInfo": [
        {"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]}
    (detail,) = compute_env.admin.get("/v2.1/os-availability-zone/detail").get_json()[
        "availabilityZoneInfo"]
    assert detail["hosts"]["node1"]["nova-compute"]["available"] is True


def test_quotas_show_update_reset(compute_env):
    admin, alice = compute_env.admin, compute_env.alice
    path = f"/v2.1/os-quota-sets/{alice.project_id}"
    compute_env.create_server()
    detail = alice.get(f"{path}/detail").get_json()["quota_set"]
    assert detail["instances"] == {"limit": 10, "in_use": 1, "reserved": 0}
    assert alice.get(f"{path}/defaults").get_json()["quota_set"]["instances"] == 10
    updated = admin.put(path, json={"quota_set": {"instances": "2", "cores": 4}})
    assert updated.status_code == 200, updated.get_json()
    assert "id" not in updated.get_json()["quota_set"]
    assert alice.get(path).get_json()["quota_set"]["instances"] == 2
    compute_env.create_server(name="second")
    err(alice.post("/v2.1/servers", json={"server": {"name": "third", "imageRef": IMAGE_ID,
                                                     "flavorRef": "6"}}),
        403, "Quota exceeded for instances")
    err(admin.put(path, json={"quota_set": {"instances": 1}}), 400,
        "must be greater than or equal to already used and reserved 2")
    assert admin.put(path, json={"quota_set": {"instances": 1, "force": True}}
                     ).status_code == 200
    assert admin.delete(path).status_code == 202
    assert alice.get(path).get_json()["quota_set"]["instances"] == 10
    limits = alice.get("/v2.1/limits").get_json()["limits"]["absolute"]
    assert (limits["maxTotalInstances"], limits["totalInstancesUsed"]) == (10, 2)


@pytest.mark.parametrize("quota_set, version, message", [
    ({"instances": -2}, "2.1", "instances"), ({"instances": "many"}, "2.1", "instances"),
    ({"cores": 2 ** 31}, "2.1", "cores"), ({"floating_ips": 1}, "2.36", "floating_ips"),
    ({"injected_files": 1}, "2.57", "injected_files"), ({"bogus": 1}, "2.1", "bogus"),
])
def test_quota_update_refusals(compute_env, quota_set, version, message):
    err(compute_env.admin.put(f"/v2.1/os-quota-sets/{compute_env.alice.project_id}",
                              json={"quota_set": quota_set}, headers=mv(version)),
        400, message)


def test_quotas_of_other_projects_and_limits(compute_env):
    err(compute_env.alice.get(f"/v2.1/os-quota-sets/{compute_env.bob.project_id}"), 403,
        "os-quota-sets:show")
    err(compute_env.alice.get(f"/v2.1/limits?tenant_id={compute_env.bob.project_id}"), 403,
        "limits:other_project")
    other = compute_env.admin.get(f"/v2.1/limits?tenant_id={compute_env.alice.project_id}")
    assert other.status_code == 200


def test_volume_attachments(compute_env):
    env = compute_env
    sid = env.create_server()
    base = f"/v2.1/servers/{sid}/os-volume_attachments"
    made = env.alice.post(base, headers=mv("2.79"), json={"volumeAttachment": {
        "volumeId": VOLUME_IDS[0], "tag": "data", "delete_on_termination": True}})
    assert made.get_json()["volumeAttachment"] == {
        "id": VOLUME_IDS[0], "serverId": sid, "volumeId": VOLUME_IDS[0],
        "device": "/dev/vdc", "tag": "data", "delete_on_termination": True}
    env.work()
    assert env.volumes.status[VOLUME_IDS[0]] == "in-use"
    item = f"{base}/{VOLUME_IDS[0]}"
    assert env.alice.put(item, headers=mv("2.85"), json={"volumeAttachment": {
        "volumeId": VOLUME_IDS[0], "delete_on_termination": False}}).status_code == 202
    shown = env.alice.get(item, headers=mv("2.89")).get_json()["volumeAttachment"]
    assert shown["delete_on_termination"] is False and shown["attachment_id"]
    err(env.alice.put(item, headers=mv("2.85"), json={"volumeAttachment": {
        "volumeId": VOLUME_IDS[1]}}), 400, "Swapping")
    err(env.alice.put(item, json={"volumeAttachment": {"volumeId": VOLUME_IDS[0]}}), 400,
        "2.85")
    err(env.alice.post(base, json={"volumeAttachment": {"volumeId": "nope"}}), 400,
        "volumeId")
    err(env.alice.post(base, json={"volumeAttachment": {"volumeId": VOLUME_IDS[1],
                                                        "tag": "t"}}), 400, "tag")
    err(env.alice.post(base, json={"volumeAttachment": {"volumeId": VOLUME_IDS[1],
                                                        "device": "vdz"}}), 400, "device")
    assert [a["volumeId"] for a in env.alice.get(base).get_json()["volumeAttachments"]] == [
        VOLUME_IDS[0]]
    assert env.alice.delete(item).status_code == 202
    env.work()
    assert env.volumes.status[VOLUME_IDS[0]] == "available"
    err(env.alice.get(item), 404, "is not attached")
