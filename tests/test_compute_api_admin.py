"""Nova's admin APIs over the compute API in-process: flavor access lists, ``os-hosts``,
hypervisor uptime, simple tenant usage, the usage audit log, server diagnostics and quota
classes; every refusal; and the bodies through Tempest 47's own response validator."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import update

from compute.hosts import hypervisor_id
from compute.models import ComputeHost, FlavorProject, Instance
from compute.usage import Window, audit_period
from minicloud.db import utcnow
from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import IMAGE_ID, VOLUME_IDS, err, mv
from tests.tempest_schemas import COMPUTE_CLIENTS, COMPUTE_SCHEMAS, assert_valid

HID = hypervisor_id("node1")


def _private_flavor(env, flavor_id: str = "p1") -> str:
    resp = env.admin.post("/v2.1/flavors", json={"flavor": {
        "id": flavor_id, "name": f"private-{flavor_id}", "ram": 256, "vcpus": 1, "disk": 1,
        "os-flavor-access:is_public": False}})
    assert resp.status_code == 200, resp.get_json()
    return flavor_id


def _listed(client, flavor_id: str) -> bool:
    return flavor_id in [f["id"] for f in client.get("/v2.1/flavors/detail").get_json()[
        "flavors"]]


def _boot(client, flavor_id: str):
    return client.post("/v2.1/servers", json={"server": {
        "name": "on-private", "imageRef": IMAGE_ID, "flavorRef": flavor_id}})


# -- flavor access ------------------------------------------------------------------------------
def test_a_private_flavor_is_seen_by_the_projects_on_its_access_list(compute_env):
    env = compute_env
    fid = _private_flavor(env)
    access = f"/v2.1/flavors/{fid}/os-flavor-access"
    assert env.admin.get(access).get_json() == {"flavor_access": []}
    assert not _listed(env.alice, fid) and _listed(env.admin, fid) is False  # admin: public
    assert fid in [f["id"] for f in env.admin.get("/v2.1/flavors?is_public=false")
                   .get_json()["flavors"]]
    err(env.alice.get(f"/v2.1/flavors/{fid}"), 404, f"Flavor {fid} could not be found")
    err(_boot(env.alice, fid), 400, f"Flavor {fid} could not be found")

    demo = env.alice.project_id
    added = env.admin.post(f"/v2.1/flavors/{fid}/action",
                           json={"addTenantAccess": {"tenant": demo}})
    assert added.get_json() == {"flavor_access": [{"flavor_id": fid, "tenant_id": demo}]}
    assert env.admin.get(access).get_json() == added.get_json()
    for who in (env.alice, env.reader):  # the whole project, readers included
        assert _listed(who, fid)
        assert who.get(f"/v2.1/flavors/{fid}").status_code == 200
    assert fid in [f["id"] for f in env.alice.get("/v2.1/flavors").get_json()["flavors"]]
    assert not _listed(env.bob, fid)
    err(env.bob.get(f"/v2.1/flavors/{fid}"), 404, "could not be found")
    assert _boot(env.alice, fid).status_code == 202
    err(_boot(env.bob, fid), 400, "could not be found")

    err(env.admin.post(f"/v2.1/flavors/{fid}/action",
                       json={"addTenantAccess": {"tenant": demo}}), 409,
        f"Flavor access already exists for flavor {fid} and project {demo} combination.")
    removed = env.admin.post(f"/v2.1/flavors/{fid}/action",
                             json={"removeTenantAccess": {"tenant": demo}})
    assert removed.get_json() == {"flavor_access": []}
    assert not _listed(env.alice, fid)
    err(env.admin.post(f"/v2.1/flavors/{fid}/action",
                        json={"removeTenantAccess": {"tenant": demo}}), 404,
        f"Flavor access not found for {fid} / {demo} combination.")


def test_flavor_access_refusals(compute_env):
    env = compute_env
    fid = _private_flavor(env)
    err(env.admin.get("/v2.1/flavors/1/os-flavor-access"), 404,
        "Access list not available for public flavors.")
    err(env.admin.get("/v2.1/flavors/nope/os-flavor-access"), 404, "Flavor nope")
    for who in (env.alice, env.reader):
        err(who.get(f"/v2.1/flavors/{fid}/os-flavor-access"), 403, "os-flavor-access")
        err(who.post(f"/v2.1/flavors/{fid}/action",
                     json={"addTenantAccess": {"tenant": who.project_id}}), 403,
            "add_tenant_access")
        err(who.post(f"/v2.1/flavors/{fid}/action",
                     json={"removeTenantAccess": {"tenant": who.project_id}}), 403,
            "remove_tenant_access")
    assert not _listed(env.alice, fid)
    err(env.admin.post("/v2.1/flavors/nope/action", json={"addTenantAccess": {"tenant": "x"}}),
        404, "Flavor nope could not be found")
    err(env.admin.post("/v2.1/flavors/1/action", headers=mv("2.7"),
                       json={"addTenantAccess": {"tenant": "x"}}), 409,
        "Can not add access to a public flavor.")
    for body, field in (({"addTenantAccess": {}}, "tenant"),
                        ({"addTenantAccess": {"tenant": ""}}, "tenant"),
                        ({"bogus": {"tenant": "x"}}, "bogus"),
                        ({"addTenantAccess": {"tenant": "x"},
                          "removeTenantAccess": {"tenant": "x"}}, "")):
        err(env.admin.post(f"/v2.1/flavors/{fid}/action", json=body), 400, field)
    assert env.admin.get(f"/v2.1/flavors/{fid}/os-flavor-access").get_json() == {
        "flavor_access": []}


def test_deleting_a_flavor_drops_its_access_list(compute_env):
    env = compute_env
    fid = _private_flavor(env)
    env.admin.post(f"/v2.1/flavors/{fid}/action",
                   json={"addTenantAccess": {"tenant": env.alice.project_id}})
    assert env.admin.delete(f"/v2.1/flavors/{fid}").status_code == 202
    with env.db.session() as s:
        assert s.query(FlavorProject).count() == 0


# -- os-hosts ------------------------------------------------------------------------------------
def test_hosts_list_and_zones(compute_env):
    admin = compute_env.admin
    hosts = admin.get("/v2.1/os-hosts").get_json()["hosts"]
    assert hosts == [{"host_name": "node1", "service": "scheduler", "zone": "internal"},
                     {"host_name": "node1", "service": "compute", "zone": "nova"}]
    assert admin.get("/v2.1/os-hosts?zone=nova").get_json()["hosts"] == hosts[1:]
    assert admin.get("/v2.1/os-hosts?zone=").get_json()["hosts"] == hosts
    assert admin.get("/v2.1/os-hosts?zone=xxx").get_json() == {"hosts": []}
    err(admin.get("/v2.1/os-hosts", headers=mv("2.43")), 404, "")
    err(compute_env.alice.get("/v2.1/os-hosts"), 403, "os-hosts:list")


def test_host_show_adds_up_its_servers(compute_env):
    env = compute_env
    env.create_server()
    env.create_server(user="bob", name="bobs")
    rows = [r["resource"] for r in env.admin.get("/v2.1/os-hosts/node1").get_json()["host"]]
    assert [r["project"] for r in rows[:3]] == ["(total)", "(used_now)", "(used_max)"]
    assert all(r["host"] == "node1" for r in rows)
    assert (rows[0]["cpu"], rows[0]["memory_mb"], rows[0]["disk_gb"]) == (64, 65536, 1000)
    # two lab.nano servers: 1 vCPU, 256 MiB, 1 GB root + 1 GB ephemeral each
    assert (rows[1]["cpu"], rows[1]["memory_mb"], rows[1]["disk_gb"]) == (2, 512, 4)
    assert (rows[2]["cpu"], rows[2]["memory_mb"], rows[2]["disk_gb"]) == (2, 512, 4)
    per_project = {r["project"]: (r["cpu"], r["memory_mb"], r["disk_gb"]) for r in rows[3:]}
    assert per_project == {env.alice.project_id: (1, 256, 2), env.bob.project_id: (1, 256, 2)}
    err(env.admin.get("/v2.1/os-hosts/nonexistent_hostname"), 404,
        "Compute host nonexistent_hostname could not be found.")
    err(env.alice.get("/v2.1/os-hosts/node1"), 403, "os-hosts:show")


def test_host_update_enables_and_disables_its_service(compute_env):
    admin = compute_env.admin
    resp = admin.put("/v2.1/os-hosts/node1", json={"status": "Disable"})
    assert resp.get_json() == {"host": "node1", "status": "disabled"}
    (svc,) = admin.get("/v2.1/os-services").get_json()["services"]
    assert svc["status"] == "disabled"
    assert [h["service"] for h in admin.get("/v2.1/os-hosts").get_json()["hosts"]] == [
        "scheduler"]  # Nova lists enabled services only
    assert admin.put("/v2.1/os-hosts/node1", json={"status": "enable"}).get_json()[
        "status"] == "enabled"
    err(admin.put("/v2.1/os-hosts/node1", json={"status": "disable",
                                                "maintenance_mode": "enable"}),
        501, "not supported")
    (svc,) = admin.get("/v2.1/os-services").get_json()["services"]
    assert svc["status"] == "enabled"  # nothing half-applied
    err(admin.put("/v2.1/os-hosts/node1", json={"status": "invalid"}), 400, "status")
    err(admin.put("/v2.1/os-hosts/node1", json={"status": "enable",
                                                "maintenance_mode": "invalid"}), 400,
        "maintenance_mode")
    err(admin.put("/v2.1/os-hosts/node1", json={}), 400, "")
    err(admin.put("/v2.1/os-hosts/nonexistent_hostname", json={"status": "enable"}), 404,
        "could not be found")
    err(admin.put("/v2.1/os-hosts/node1", json={"status": "enable"}, headers=mv("2.43")),
        404, "")
    err(compute_env.alice.put("/v2.1/os-hosts/node1", json={"status": "disable"}), 403,
        "os-hosts:update")


@pytest.mark.parametrize("action, rule", [("reboot", "reboot"), ("shutdown", "shutdown"),
                                          ("startup", "start")])
def test_host_power_actions_are_not_implemented(compute_env, action, rule):
    admin = compute_env.admin
    resp = admin.get(f"/v2.1/os-hosts/node1/{action}")
    assert resp.status_code == 501
    assert resp.get_json()["notImplemented"]["message"] == (
        "The requested functionality is not supported.")
    err(admin.get(f"/v2.1/os-hosts/nonexistent_hostname/{action}"), 404, "could not be found")
    err(compute_env.alice.get(f"/v2.1/os-hosts/node1/{action}"), 403, f"os-hosts:{rule}")
    err(admin.get(f"/v2.1/os-hosts/node1/{action}", headers=mv("2.43")), 404, "")


# -- hypervisor uptime ----------------------------------------------------------------------------
def test_hypervisor_uptime_is_the_hosts_uptime_line(compute_env):
    admin = compute_env.admin
    legacy = admin.get("/v2.1/os-hypervisors").get_json()["hypervisors"][0]["id"]
    shown = admin.get(f"/v2.1/os-hypervisors/{legacy}/uptime").get_json()["hypervisor"]
    assert set(shown) == {"id", "hypervisor_hostname", "state", "status", "uptime"}
    assert " up " in shown["uptime"] and "load average" in shown["uptime"]
    at_253 = admin.get(f"/v2.1/os-hypervisors/{HID}/uptime", headers=mv("2.53")).get_json()
    assert at_253["hypervisor"]["id"] == HID
    err(admin.get("/v2.1/os-hypervisors/node1/uptime", headers=mv("2.53")), 400,
        "Invalid uuid")
    err(admin.get("/v2.1/os-hypervisors/123456/uptime"), 404,
        "Hypervisor with ID '123456' could not be found.")
    err(admin.get(f"/v2.1/os-hypervisors/{HID}/uptime", headers=mv("2.88")), 404, "")
    new = admin.get(f"/v2.1/os-hypervisors/{HID}", headers=mv("2.88")).get_json()
    assert " up " in new["hypervisor"]["uptime"]
    err(compute_env.alice.get(f"/v2.1/os-hypervisors/{HID}/uptime", headers=mv("2.53")),
        403, "os-hypervisors:uptime")


def test_a_down_host_has_no_uptime(compute_env):
    with compute_env.db.session() as s:
        s.execute(update(ComputeHost).values(heartbeat_at=utcnow() - dt.timedelta(hours=1)))
    admin = compute_env.admin
    err(admin.get(f"/v2.1/os-hypervisors/{HID}/uptime", headers=mv("2.53")), 400,
        "Compute service of node1 is unavailable at this time.")
    assert admin.get(f"/v2.1/os-hypervisors/{HID}", headers=mv("2.88")).get_json()[
        "hypervisor"]["uptime"] is None


def test_each_heartbeat_records_the_uptime_line(compute_env, monkeypatch):
    with compute_env.db.session() as s:
        s.execute(update(ComputeHost).values(uptime=None))
    compute_env.agent.heartbeat()
    with compute_env.db.session() as s:
        assert " up " in s.get(ComputeHost, "node1").uptime
    monkeypatch.setenv("PATH", "/nonexistent")  # no `uptime` command: nothing to report
    compute_env.agent.heartbeat()
    with compute_env.db.session() as s:
        assert s.get(ComputeHost, "node1").uptime is None


# -- simple tenant usage --------------------------------------------------------------------------
T0 = dt.datetime(2026, 1, 10)


@pytest.mark.parametrize("launched, terminated, hours", [
    (None, None, 0.0),                                   # never launched
    (T0 - dt.timedelta(days=2), None, 24.0),             # ran through the whole window
    (T0 + dt.timedelta(hours=6), None, 18.0),            # launched inside it
    (T0 + dt.timedelta(days=2), None, 0.0),              # launched after it
    (T0 - dt.timedelta(days=2), T0 + dt.timedelta(hours=3), 3.0),  # deleted inside it
    (T0 - dt.timedelta(days=2), T0 - dt.timedelta(hours=1), 0.0),  # deleted before it
])
def test_hours_charged_in_a_window(launched, terminated, hours):
    window = Window(T0, T0 + dt.timedelta(days=1))
    inst = Instance(launched_at=launched, terminated_at=terminated)
    assert window.hours(inst) == pytest.approx(hours)
def _window(days: int = 1) -> str:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    fmt = "%Y-%m-%dT%H:%M:%S.%f"
    return (f"start={(now - dt.timedelta(days=days)).strftime(fmt)}"
            f"&end={(now + dt.timedelta(days=days)).strftime(fmt)}")


USAGE_KEYS = {"tenant_id", "start", "stop", "total_hours", "total_local_gb_usage",
              "total_memory_mb_usage", "total_vcpus_usage", "server_usages"}
SERVER_USAGE_KEYS = {"instance_id", "name", "tenant_id", "hours", "flavor", "memory_mb",
                     "vcpus", "local_gb", "started_at", "ended_at", "state", "uptime"}


def test_tenant_usage_of_every_project_and_of_one(compute_env):
    env = compute_env
    sid = env.create_server()
    gone = env.create_server(name="gone")
    env.create_server(user="bob", name="bobs")
    env.alice.delete(f"/v2.1/servers/{gone}")
    env.work()
    env.create_server(name="never-launched", active=False)
    usages = env.admin.get(f"/v2.1/os-simple-tenant-usage?{_window()}&detailed=1"
                           ).get_json()["tenant_usages"]
    assert {u["tenant_id"] for u in usages} == {env.alice.project_id, env.bob.project_id}
    assert all(set(u) == USAGE_KEYS for u in usages)
    summary = env.admin.get(f"/v2.1/os-simple-tenant-usage?{_window()}").get_json()[
        "tenant_usages"][0]
    assert "server_usages" not in summary
    for who in (env.admin, env.alice, env.reader):
        mine = who.get(f"/v2.1/os-simple-tenant-usage/{env.alice.project_id}?{_window()}"
                       ).get_json()["tenant_usage"]
        assert set(mine) == USAGE_KEYS
    by_id = {u["instance_id"]: u for u in mine["server_usages"]}
    assert set(by_id) == {sid, gone}  # never launched: not charged, not listed
    running, ended = by_id[sid], by_id[gone]
    assert set(running) == SERVER_USAGE_KEYS
    assert (running["state"], running["ended_at"], running["flavor"]) == (
        "active", None, "lab.nano")
    assert (running["vcpus"], running["memory_mb"], running["local_gb"]) == (1, 256, 2)
    assert ended["state"] == "terminated" and ended["ended_at"]
    assert 0 <= running["hours"] < 0.1 and running["uptime"] >= 0
    assert mine["total_hours"] == pytest.approx(running["hours"] + ended["hours"])
    assert mine["total_memory_mb_usage"] == pytest.approx(256 * mine["total_hours"])
    # a window before anything ran: an empty usage
    old = "start=2020-01-01T00:00:00&end=2020-01-02T00:00:00"
    assert env.alice.get(f"/v2.1/os-simple-tenant-usage/{env.alice.project_id}?{old}"
                         ).get_json() == {"tenant_usage": {}}


def test_tenant_usage_pages_from_2_40(compute_env):
    env = compute_env
    first, second = sorted(env.create_server(name=n) for n in ("a", "b"))
    path = f"/v2.1/os-simple-tenant-usage/{env.alice.project_id}?{_window()}&limit=1"
    page = env.alice.get(path, headers=mv("2.40")).get_json()
    assert [u["instance_id"] for u in page["tenant_usage"]["server_usages"]] == [first]
    (link,) = page["tenant_usage_links"]
    assert link["rel"] == "next" and f"marker={first}" in link["href"]
    rest = env.alice.get(f"{path}&marker={first}", headers=mv("2.40")).get_json()
    assert [u["instance_id"] for u in rest["tenant_usage"]["server_usages"]] == [second]
    assert len(env.alice.get(path).get_json()["tenant_usage"]["server_usages"]) == 2
    listed = env.admin.get(f"/v2.1/os-simple-tenant-usage?{_window()}&limit=1",
                           headers=mv("2.40")).get_json()
    assert "tenant_usages_links" in listed
    err(env.alice.get(f"{path}&marker=nope", headers=mv("2.40")), 400, "marker")


def test_tenant_usage_refusals(compute_env):
    env = compute_env
    project = env.alice.project_id
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    later = (now + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    earlier = (now - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    err(env.admin.get(f"/v2.1/os-simple-tenant-usage/{project}?start={later}&end={earlier}"),
        400, "The start time cannot occur after the end time.")
    err(env.admin.get(f"/v2.1/os-simple-tenant-usage/{project}?start=yesterday"), 400,
        "Datetime is in invalid format")
    err(env.admin.get(f"/v2.1/os-simple-tenant-usage/?{_window()}"), 404, "")
    err(env.alice.get(f"/v2.1/os-simple-tenant-usage?{_window()}&detailed=1"), 403,
        "os-simple-tenant-usage:list")
    err(env.bob.get(f"/v2.1/os-simple-tenant-usage/{project}?{_window()}"), 403,
        "os-simple-tenant-usage:show")
    assert env.alice.get(f"/v2.1/os-simple-tenant-usage/{project}").status_code == 200


# -- usage audit log ------------------------------------------------------------------------------
def test_audit_log_reports_no_audit_run(compute_env):
    admin = compute_env.admin
    log = admin.get("/v2.1/os-instance_usage_audit_log").get_json()[
        "instance_usage_audit_logs"]
    begin, end = audit_period()
    assert log == {"period_beginning": str(begin), "period_ending": str(end),
                   "num_hosts": 1, "num_hosts_done": 0, "num_hosts_running": 0,
                   "num_hosts_not_run": 1, "hosts_not_run": ["node1"],
                   "total_instances": 0, "total_errors": 0,
                   "overall_status": "0 of 1 hosts done. 0 errors.", "log": {}}
    shown = admin.get("/v2.1/os-instance_usage_audit_log/2026-03-15%2010:00:00").get_json()[
        "instance_usage_audit_log"]
    assert (shown["period_beginning"], shown["period_ending"]) == (
        "2026-02-01 00:00:00", "2026-03-01 00:00:00")
    assert admin.get("/v2.1/os-instance_usage_audit_log/2026-03-15 10:00:00.5").status_code \
        == 200
    err(admin.get("/v2.1/os-instance_usage_audit_log/invalid_time"), 400,
        "Invalid timestamp for date invalid_time")
    err(compute_env.alice.get("/v2.1/os-instance_usage_audit_log"), 403,
        "os-instance-usage-audit-log:list")
    err(compute_env.alice.get("/v2.1/os-instance_usage_audit_log/2026-03-15%2010:00:00"),
        403, "os-instance-usage-audit-log:show")


@pytest.mark.parametrize("before, period", [
    (dt.datetime(2026, 1, 10), (dt.datetime(2025, 12, 1), dt.datetime(2026, 1, 1))),
    (dt.datetime(2026, 3, 1), (dt.datetime(2026, 1, 1), dt.datetime(2026, 2, 1))),
    (dt.datetime(2026, 3, 1, 0, 0, 1), (dt.datetime(2026, 2, 1), dt.datetime(2026, 3, 1))),
])
def test_audit_period_is_the_last_completed_month(before, period):
    assert audit_period(before) == period


# -- server diagnostics ---------------------------------------------------------------------------
def test_server_diagnostics(compute_env):
    env = compute_env
    sid = env.create_server()
    env.alice.post(f"/v2.1/servers/{sid}/os-volume_attachments",
                   json={"volumeAttachment": {"volumeId": VOLUME_IDS[0]}})
    env.work()
    diag = env.admin.get(f"/v2.1/servers/{sid}/diagnostics", headers=mv("2.48")).get_json()
    assert (diag["state"], diag["driver"], diag["hypervisor"], diag["hypervisor_os"]) == (
        "running", "libvirt", "qemu", "linux")
    assert (diag["num_cpus"], diag["num_disks"], diag["num_nics"]) == (1, 3, 0)  # vda vdb vdc
    assert diag["memory_details"] == {"maximum": 256, "used": None}
    assert len(diag["disk_details"]) == 3 and diag["nic_details"] == []
    assert diag["cpu_details"] == [{"id": 0, "time": None, "utilisation": None}]
    assert diag["uptime"] >= 0 and diag["config_drive"] is False
    assert env.admin.get(f"/v2.1/servers/{sid}/diagnostics").get_json() == {
        "memory": 256 * 1024}
    env.alice.post(f"/v2.1/servers/{sid}/action", json={"os-stop": None})
    env.work()
    assert env.admin.get(f"/v2.1/servers/{sid}/diagnostics", headers=mv("2.48")).get_json()[
        "state"] == "shutdown"
    err(env.alice.get(f"/v2.1/servers/{sid}/diagnostics"), 403, "os-server-diagnostics")
    err(env.admin.get("/v2.1/servers/nope/diagnostics"), 404, "could not be found")


def test_diagnostics_of_a_server_without_a_host_is_a_conflict(compute_env):
    env = compute_env
    env.admin.put(f"/v2.1/os-services/{env.agent.host}", headers=mv("2.53"),
                  json={"status": "disabled"})
    sid = env.create_server(active=False)  # no host could take it: ERROR, never scheduled
    err(env.admin.get(f"/v2.1/servers/{sid}/diagnostics", headers=mv("2.48")), 409,
        "is not ready")


# -- quota classes --------------------------------------------------------------------------------
QUOTA_CLASS_257 = {"id", "instances", "cores", "ram", "metadata_items", "key_pairs",
                   "server_groups", "server_group_members"}


def test_quota_class_keys_per_microversion(compute_env):
    keys = {v: set(compute_env.admin.get("/v2.1/os-quota-class-sets/default", headers=mv(v))
                   .get_json()["quota_class_set"]) for v in ("2.1", "2.50", "2.57")}
    assert keys["2.57"] == QUOTA_CLASS_257
    assert keys["2.50"] - keys["2.57"] == {"injected_files", "injected_file_content_bytes",
                                           "injected_file_path_bytes"}
    assert keys["2.1"] ^ keys["2.50"] == {
        "server_groups", "server_group_members", "floating_ips", "fixed_ips",
        "security_groups", "security_group_rules"}


def test_the_default_class_sets_every_projects_defaults(compute_env):
    env = compute_env
    admin, alice = env.admin, env.alice
    env.create_server()
    assert admin.put(f"/v2.1/os-quota-sets/{env.bob.project_id}",
                     json={"quota_set": {"instances": 5}}).status_code == 200
    resp = admin.put("/v2.1/os-quota-class-sets/default",
                     json={"quota_class_set": {"instances": 1, "cores": "30"}})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()["quota_class_set"]
    assert "id" not in body and (body["instances"], body["cores"], body["ram"]) == (
        1, 30, 51200)
    shown = admin.get("/v2.1/os-quota-class-sets/default").get_json()["quota_class_set"]
    assert (shown["id"], shown["instances"]) == ("default", 1)
    demo = f"/v2.1/os-quota-sets/{alice.project_id}"
    assert alice.get(demo).get_json()["quota_set"]["instances"] == 1
    assert alice.get(f"{demo}/defaults").get_json()["quota_set"]["cores"] == 30
    assert alice.get("/v2.1/limits").get_json()["limits"]["absolute"][
        "maxTotalInstances"] == 1
    err(_boot(alice, "6"), 403, "Quota exceeded for instances")
    assert env.bob.get(f"/v2.1/os-quota-sets/{env.bob.project_id}").get_json()[
        "quota_set"]["instances"] == 5  # its own limit wins
    other = admin.get("/v2.1/os-quota-class-sets/gold").get_json()["quota_class_set"]
    assert (other["id"], other["instances"]) == ("gold", 10)  # only default is used


def test_quota_class_refusals(compute_env):
    admin, path = compute_env.admin, "/v2.1/os-quota-class-sets/default"
    for body, version, field in (({"instances": -2}, "2.1", "instances"),
                                 ({"bogus": 1}, "2.1", "bogus"),
                                 ({"floating_ips": 1}, "2.50", "floating_ips"),
                                 ({"injected_files": 1}, "2.57", "injected_files"),
                                 ({"force": True}, "2.1", "force")):
        err(admin.put(path, json={"quota_class_set": body}, headers=mv(version)), 400, field)
    err(admin.put(path, json={"instances": 1}), 400, "quota_class_set")
    err(admin.put("/v2.1/os-quota-class-sets/" + "c" * 256,
                  json={"quota_class_set": {"instances": 1}}), 400, "255")
    for who in (compute_env.alice, compute_env.reader):
        err(who.get(path), 403, "os-quota-class-sets:show")
        err(who.put(path, json={"quota_class_set": {"instances": 1}}), 403,
            "os-quota-class-sets:update")
    assert admin.get(path).get_json()["quota_class_set"]["instances"] == 10


# -- against Tempest's own validator ---------------------------------------------------------------
SCHEMAS, CLIENTS = COMPUTE_SCHEMAS, COMPUTE_CLIENTS


def _cases(env, server_id: str, flavor_id: str, version: str) -> list[dict]:
    minor, out = int(version.split(".")[1]), []

    def add(where: dict, op: str, method: str, path: str, who=None, **kw) -> None:
        who = who or env.admin
        resp = who.client.open(path, method=method, headers={
            "X-Auth-Token": who.token, **mv(version)}, **kw)
        assert resp.status_code < 300, (path, version, resp.get_json())
        out.append({**where, "op": op, "version": version, "status": resp.status_code,
                    "body": resp.get_json()})

    access = {"module": f"{SCHEMAS}.flavors_access"}
    op = "add_remove_list_flavor_access"
    add(access, op, "GET", f"/v2.1/flavors/{flavor_id}/os-flavor-access")
    for action in ("addTenantAccess", "removeTenantAccess"):
        add(access, op, "POST", f"/v2.1/flavors/{flavor_id}/action",
            json={action: {"tenant": env.bob.project_id}})
    if minor < 43:
        hosts = {"module": f"{SCHEMAS}.hosts"}
        add(hosts, "list_hosts", "GET", "/v2.1/os-hosts")
        add(hosts, "get_host_detail", "GET", "/v2.1/os-hosts/node1")
        add(hosts, "update_host", "PUT", "/v2.1/os-hosts/node1", json={"status": "enable"})
    if minor < 88:
        hypervisor = env.admin.get("/v2.1/os-hypervisors", headers=mv(version)).get_json()[
            "hypervisors"][0]["id"]
        add({"client": f"{CLIENTS}.hypervisor_client.HypervisorClient"},
            "get_hypervisor_uptime", "GET", f"/v2.1/os-hypervisors/{hypervisor}/uptime")
    usages = {"module": f"{SCHEMAS}.tenant_usages"}
    window = _window()
    add(usages, "list_tenant_usage", "GET", f"/v2.1/os-simple-tenant-usage?{window}"
                                            "&detailed=1")
    add(usages, "list_tenant_usage", "GET", f"/v2.1/os-simple-tenant-usage?{window}")
    add(usages, "get_tenant_usage", "GET",
        f"/v2.1/os-simple-tenant-usage/{env.alice.project_id}?{window}", who=env.reader)
    audit = {"module": f"{SCHEMAS}.instance_usage_audit_logs"}
    add(audit, "list_instance_usage_audit_log", "GET", "/v2.1/os-instance_usage_audit_log")
    add(audit, "get_instance_usage_audit_log", "GET",
        "/v2.1/os-instance_usage_audit_log/2026-03-15%2010:00:00")
    add({"client": f"{CLIENTS}.servers_client.ServersClient"}, "show_server_diagnostics",
        "GET", f"/v2.1/servers/{server_id}/diagnostics")
    classes = {"client": f"{CLIENTS}.quota_classes_client.QuotaClassesClient"}
    shown = env.admin.get("/v2.1/os-quota-class-sets/default", headers=mv(version)
                          ).get_json()["quota_class_set"]
    add(classes, "get_quota_class_set", "GET", "/v2.1/os-quota-class-sets/default")
    add(classes, "update_quota_class_set", "PUT", "/v2.1/os-quota-class-sets/default",
        json={"quota_class_set": {k: v for k, v in shown.items() if k != "id"}})
    return out


def test_bodies_pass_tempest_schemas(compute_env, tmp_path: Path):
    env = compute_env
    server_id = env.create_server()
    env.alice.delete(f"/v2.1/servers/{env.create_server(name='gone')}")
    env.work()
    flavor_id = _private_flavor(env)
    cases = [c for v in ("2.1", "2.7", "2.40", "2.43", "2.48", "2.50", "2.53", "2.57", "2.87",
                         "2.96") for c in _cases(env, server_id, flavor_id, v)]
    assert_valid(cases, tmp_path)
