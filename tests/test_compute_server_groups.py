"""Server groups over the compute API in-process, and the scheduler keeping their rules on
several fake hosts: anti-affinity spreads, affinity packs, a hard rule that cannot be met is
an ERROR with Nova's fault, soft rules weigh and never fail, concurrent claims keep the
rule; quotas, shapes per microversion (checked with Tempest's own schemas), refusals."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from compute import scheduler, server_groups
from compute.models import Instance
from minicloud.db import new_uuid
from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import IMAGE_ID, err, mv
from tests.multihost_fixtures import with_hosts
from tests.tempest_schemas import COMPUTE_CLIENTS as CLIENTS
from tests.tempest_schemas import assert_valid

GROUPS = "/v2.1/os-server-groups"


def make_group(client, policy: str, version: str = "2.64", rules: dict | None = None,
               name: str = "g") -> dict:
    minor = int(version.split(".")[1])
    body = {"name": name, "policy": policy} if minor >= 64 else {
        "name": name, "policies": [policy]}
    if rules is not None:
        body["rules"] = rules
    resp = client.post(GROUPS, json={"server_group": body}, headers=mv(version))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["server_group"]


def boot(env, group_id: str | None, user: str = "alice", name: str = "vm") -> dict:
    """A server created with the ``group`` hint (not built yet); its catalog row."""
    body = {"server": {"name": name, "imageRef": IMAGE_ID, "flavorRef": "6"}}
    if group_id:
        body["os:scheduler_hints"] = {"group": group_id}
    resp = getattr(env, user).post("/v2.1/servers", json=body)
    assert resp.status_code == 202, resp.get_json()
    sid = resp.get_json()["server"]["id"]
    with env.db.session() as s:
        inst = s.get(Instance, sid)
        return {"id": sid, "host": inst.host, "vm_state": inst.vm_state,
                "fault": inst.fault}


# -- the API ------------------------------------------------------------------------------------
@pytest.mark.parametrize("version,keys", [
    ("2.1", {"id", "name", "policies", "members", "metadata"}),
    ("2.13", {"id", "name", "policies", "members", "metadata", "project_id", "user_id"}),
    ("2.64", {"id", "name", "policy", "rules", "members", "project_id", "user_id"}),
])
def test_shapes_per_microversion(compute_env, version, keys):
    group = make_group(compute_env.alice, "anti-affinity", version)
    assert set(group) == keys
    shown = compute_env.alice.get(f"{GROUPS}/{group['id']}", headers=mv(version)).get_json()
    assert shown["server_group"] == group
    listed = compute_env.alice.get(GROUPS, headers=mv(version)).get_json()["server_groups"]
    assert listed == [group]
    if version == "2.1":
        assert (group["policies"], group["metadata"]) == (["anti-affinity"], {})
    if version == "2.64":
        assert (group["policy"], group["rules"]) == ("anti-affinity", {})


def test_create_refusals(compute_env):
    alice = compute_env.alice

    def post(body, version):
        return alice.post(GROUPS, json={"server_group": body}, headers=mv(version))

    err(post({"name": "g", "policies": ["soft-affinity"]}, "2.14"), 400, "policies")
    assert post({"name": "g", "policies": ["soft-affinity"]}, "2.15").status_code == 200
    err(post({"name": "g", "policies": ["affinity", "anti-affinity"]}, "2.15"), 400,
        "policies")
    err(post({"name": "g", "policies": ["affinity"]}, "2.64"), 400, "policies")
    err(post({"name": "g", "policy": "affinity", "rules": {"max_server_per_host": 2}},
             "2.64"), 400, "Only anti-affinity policy supports rules")
    err(post({"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 0}},
             "2.64"), 400, "max_server_per_host")
    err(post({"name": "g", "policy": "anti-affinity", "rules": {"other": 1}}, "2.64"), 400,
        "other")
    err(post({"name": " g", "policy": "affinity"}, "2.64"), 400, "name")
    group = make_group(alice, "anti-affinity", rules={"max_server_per_host": "3"})
    assert group["rules"] == {"max_server_per_host": 3}


def test_projects_see_their_own_groups_admins_all(compute_env):
    env = compute_env
    mine = make_group(env.alice, "affinity", name="alice's")
    theirs = make_group(env.bob, "affinity", name="bob's")
    assert [g["id"] for g in env.alice.get(GROUPS).get_json()["server_groups"]] == [mine["id"]]
    # Nova: a non-admin asking all_projects gets its own project's, not a 403.
    assert [g["id"] for g in env.alice.get(f"{GROUPS}?all_projects=True").get_json()[
        "server_groups"]] == [mine["id"]]
    every = env.admin.get(f"{GROUPS}?all_projects=True").get_json()["server_groups"]
    assert {g["id"] for g in every} == {mine["id"], theirs["id"]}
    assert env.admin.get(GROUPS).get_json()["server_groups"] == []
    assert env.reader.get(f"{GROUPS}/{mine['id']}").status_code == 200
    err(env.bob.get(f"{GROUPS}/{mine['id']}"), 403, "doesn't allow")
    err(env.bob.delete(f"{GROUPS}/{mine['id']}"), 403, "doesn't allow")
    err(env.reader.delete(f"{GROUPS}/{mine['id']}"), 403, "doesn't allow")
    err(env.alice.get(f"{GROUPS}/{new_uuid()}"), 404, "could not be found")
    assert env.admin.delete(f"{GROUPS}/{theirs['id']}").status_code == 204
    err(env.bob.get(f"{GROUPS}/{theirs['id']}"), 404, "could not be found")


def test_list_pages_with_limit_and_offset(compute_env):
    ids = [make_group(compute_env.alice, "affinity", name=f"g{i}")["id"] for i in range(4)]

    def page(query: str, version: str = "2.64") -> list[str]:
        resp = compute_env.alice.get(f"{GROUPS}?{query}", headers=mv(version))
        assert resp.status_code == 200, resp.get_json()
        return [g["id"] for g in resp.get_json()["server_groups"]]

    assert page("limit=2") == ids[:2]
    assert page("limit=2&offset=2") == ids[2:]
    assert page("offset=3") == ids[3:]
    assert page("limit=0") == []
    err(compute_env.alice.get(f"{GROUPS}?limit=-1"), 400, "limit")
    err(compute_env.alice.get(f"{GROUPS}?offset=x"), 400, "offset")
    assert page("unknown=1", "2.74") == ids
    err(compute_env.alice.get(f"{GROUPS}?unknown=1", headers=mv("2.75")), 400, "unknown")


def test_quota_of_server_groups(compute_env):
    env = compute_env
    project = env.alice.project_id
    env.admin.put(f"/v2.1/os-quota-sets/{project}", json={"quota_set": {"server_groups": 2}})
    make_group(env.alice, "affinity")
    make_group(env.alice, "affinity")
    resp = env.alice.post(GROUPS, json={"server_group": {"name": "g", "policy": "affinity"}},
                          headers=mv("2.64"))
    err(resp, 403, "Quota exceeded, too many server groups")
    assert len(env.alice.get(GROUPS).get_json()["server_groups"]) == 2
    detail = env.alice.get(f"/v2.1/os-quota-sets/{project}/detail").get_json()["quota_set"]
    assert detail["server_groups"] == {"limit": 2, "in_use": 2, "reserved": 0}
    limits = env.alice.get("/v2.1/limits").get_json()["limits"]["absolute"]
    assert (limits["maxServerGroups"], limits["totalServerGroupsUsed"]) == (2, 2)
    err(env.admin.put(f"/v2.1/os-quota-sets/{project}",
                      json={"quota_set": {"server_groups": 1}}), 400, "server_groups")


def test_quota_of_members_and_the_group_must_be_the_callers(compute_env):
    env = compute_env
    project = env.alice.project_id
    env.admin.put(f"/v2.1/os-quota-sets/{project}",
                  json={"quota_set": {"server_group_members": 2}})
    group = make_group(env.alice, "soft-anti-affinity")
    boot(env, group["id"], name="a")
    boot(env, group["id"], name="b")
    before = len(env.alice.get("/v2.1/servers").get_json()["servers"])
    body = {"server": {"name": "c", "imageRef": IMAGE_ID, "flavorRef": "6"},
            "os:scheduler_hints": {"group": group["id"]}}
    err(env.alice.post("/v2.1/servers", json=body), 403, "too many servers in group")
    assert len(env.alice.get("/v2.1/servers").get_json()["servers"]) == before
    err(env.bob.post("/v2.1/servers", json=body), 400, "Invalid server group")
    body["os:scheduler_hints"] = {"group": new_uuid()}
    err(env.alice.post("/v2.1/servers", json=body), 400, "Invalid server group")
    body["os:scheduler_hints"] = {"group": "not-a-uuid"}
    err(env.alice.post("/v2.1/servers", json=body), 400, "group")
    body["os:scheduler_hints"] = {"query": "[]"}  # a hint minicloud does not honour
    err(env.alice.post("/v2.1/servers", json=body), 400, "query")
    body["os:scheduler_hints"] = {"same_host": "x"}
    err(env.alice.post("/v2.1/servers", json=body), 400, "same_host")
    assert len(env.alice.get("/v2.1/servers").get_json()["servers"]) == before


def test_members_are_shown_and_leave_when_deleted(compute_env):
    env = compute_env
    group = make_group(env.alice, "affinity")
    first = boot(env, group["id"], name="a")
    second = boot(env, group["id"], name="b", user="alice")
    env.work()
    shown = env.alice.get(f"{GROUPS}/{group['id']}").get_json()["server_group"]
    assert shown["members"] == [first["id"], second["id"]]
    server = env.alice.get(f"/v2.1/servers/{first['id']}", headers=mv("2.71")).get_json()
    assert server["server"]["server_groups"] == [group["id"]]
    assert "server_groups" not in env.alice.get(
        f"/v2.1/servers/{first['id']}", headers=mv("2.70")).get_json()["server"]
    detail = env.alice.get("/v2.1/servers/detail", headers=mv("2.71")).get_json()
    assert all("server_groups" not in s for s in detail["servers"])
    env.alice.delete(f"/v2.1/servers/{first['id']}")
    env.work()
    shown = env.alice.get(f"{GROUPS}/{group['id']}").get_json()["server_group"]
    assert shown["members"] == [second["id"]]
    # Deleting the group leaves its servers where they are.
    assert env.alice.delete(f"{GROUPS}/{group['id']}").status_code == 204
    server = env.alice.get(f"/v2.1/servers/{second['id']}", headers=mv("2.71")).get_json()
    assert (server["server"]["status"], server["server"]["server_groups"]) == ("ACTIVE", [])


def test_the_group_hint_also_under_its_legacy_name(compute_env):
    group = make_group(compute_env.alice, "affinity")
    resp = compute_env.alice.post("/v2.1/servers", json={
        "server": {"name": "vm", "imageRef": IMAGE_ID, "flavorRef": "6"},
        "OS-SCH-HNT:scheduler_hints": {"group": group["id"]}})
    assert resp.status_code == 202, resp.get_json()
    members = compute_env.alice.get(f"{GROUPS}/{group['id']}").get_json()
    assert members["server_group"]["members"] == [resp.get_json()["server"]["id"]]


# -- the scheduler ------------------------------------------------------------------------------
def test_anti_affinity_spreads_then_fails_with_a_fault(compute_env):
    env = compute_env
    hosts = with_hosts(env, "node2", "node3")
    group = make_group(env.alice, "anti-affinity")
    placed = [boot(env, group["id"], name=f"vm{i}") for i in range(3)]
    assert sorted(p["host"] for p in placed) == ["node1", "node2", "node3"]
    hosts.work()
    doomed = boot(env, group["id"], name="vm4")
    assert doomed["vm_state"] == "error" and doomed["host"] is None
    message = doomed["fault"]["message"]
    assert message.startswith("No valid host was found.")
    assert f"server group {group['id']} is anti-affinity" in message
    shown = env.alice.get(f"/v2.1/servers/{doomed['id']}").get_json()["server"]
    assert shown["status"] == "ERROR" and shown["fault"]["message"] == message
    # A member deleted frees its host for the rule.
    env.alice.delete(f"/v2.1/servers/{placed[1]['id']}")
    hosts.work()
    again = boot(env, group["id"], name="vm5")
    assert again["host"] == placed[1]["host"]


def test_anti_affinity_with_max_server_per_host(compute_env):
    env = compute_env
    with_hosts(env, "node2")
    group = make_group(env.alice, "anti-affinity", rules={"max_server_per_host": 2})
    placed = [boot(env, group["id"], name=f"vm{i}")["host"] for i in range(4)]
    assert sorted(placed) == ["node1", "node1", "node2", "node2"]
    assert boot(env, group["id"], name="vm5")["vm_state"] == "error"


def test_affinity_packs_on_the_first_members_host(compute_env):
    env = compute_env
    with_hosts(env, "node2", "node3", memory_mib=131072)  # more free RAM: preferred alone
    group = make_group(env.alice, "affinity")
    first = boot(env, group["id"], name="vm0")
    assert first["host"] in ("node2", "node3")
    others = [boot(env, group["id"], name=f"vm{i}")["host"] for i in range(1, 4)]
    assert others == [first["host"]] * 3
    # Without a group the same request goes elsewhere (the most free RAM first).
    other = ({"node2", "node3"} - {first["host"]}).pop()
    assert boot(env, None, name="free")["host"] == other


def test_affinity_fails_when_the_members_host_is_full_or_gone(compute_env):
    env = compute_env
    with_hosts(env, "node2")
    group = make_group(env.alice, "affinity")
    first = boot(env, group["id"], name="vm0")
    env.admin.put(f"/v2.1/os-services/{_service(first['host'])}", headers=mv("2.53"),
                  json={"status": "disabled"})
    doomed = boot(env, group["id"], name="vm1")
    assert doomed["vm_state"] == "error"
    assert doomed["fault"]["message"].startswith("No valid host was found.")
    assert f"is affinity and its servers run on {first['host']}" in doomed["fault"]["message"]


def _service(host: str) -> str:
    from compute.hosts import service_id

    return service_id(host)


def test_soft_rules_weigh_and_never_fail(compute_env):
    env = compute_env
    with_hosts(env, "node2")
    spread = make_group(env.alice, "soft-anti-affinity", name="spread")
    hosts = [boot(env, spread["id"], name=f"s{i}")["host"] for i in range(4)]
    assert sorted(hosts[:2]) == ["node1", "node2"]   # spread while it can
    assert sorted(hosts) == ["node1", "node1", "node2", "node2"]  # then still placed
    pack = make_group(env.alice, "soft-affinity", name="pack")
    first = boot(env, pack["id"], name="p0")["host"]
    assert [boot(env, pack["id"], name=f"p{i}")["host"] for i in (1, 2)] == [first] * 2
    env.admin.put(f"/v2.1/os-services/{_service(first)}", headers=mv("2.53"),
                  json={"status": "disabled"})
    moved = boot(env, pack["id"], name="p3")
    assert moved["vm_state"] == "building" and moved["host"] not in (None, first)


def test_same_host_and_different_host_hints(compute_env):
    env = compute_env
    with_hosts(env, "node2", "node3")
    first = boot(env, None, name="first")
    other = boot(env, None, name="other")
    assert first["host"] != other["host"]

    def hinted(name: str, **hints) -> dict:
        resp = env.alice.post("/v2.1/servers", json={
            "server": {"name": name, "imageRef": IMAGE_ID, "flavorRef": "6"},
            "os:scheduler_hints": hints})
        assert resp.status_code == 202, resp.get_json()
        with env.db.session() as s:
            inst = s.get(Instance, resp.get_json()["server"]["id"])
            return {"host": inst.host, "fault": inst.fault}

    assert hinted("near", same_host=first["id"])["host"] == first["host"]
    assert hinted("near2", same_host=[first["id"]])["host"] == first["host"]
    apart = hinted("apart", different_host=[first["id"], other["id"]])["host"]
    assert apart not in (first["host"], other["host"], None)
    doomed = hinted("nowhere", same_host=first["id"], different_host=first["id"])
    assert doomed["host"] is None
    assert "different_host" in doomed["fault"]["message"]
    # Another project's servers are not there for bob's hints.
    resp = env.bob.post("/v2.1/servers", json={
        "server": {"name": "spy", "imageRef": IMAGE_ID, "flavorRef": "6"},
        "os:scheduler_hints": {"same_host": first["id"]}})
    assert resp.status_code == 202
    with env.db.session() as s:
        assert s.get(Instance, resp.get_json()["server"]["id"]).host is None


def test_concurrent_claims_keep_anti_affinity(compute_env):
    """Eight creates race for an anti-affinity group on three hosts: exactly three land,
    each on its own host; the others are ERROR with the rule's fault."""
    env = compute_env
    with_hosts(env, "node2", "node3")
    group = make_group(env.alice, "anti-affinity")
    results, barrier = [], threading.Barrier(8)

    def create(i: int) -> None:
        client = env.app.test_client()
        barrier.wait()
        resp = client.post("/v2.1/servers", headers={"X-Auth-Token": env.alice.token},
                           json={"server": {"name": f"r{i}", "imageRef": IMAGE_ID,
                                            "flavorRef": "6"},
                                 "os:scheduler_hints": {"group": group["id"]}})
        results.append(resp.status_code)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [202] * 8
    with env.db.session() as s:
        rows = [(i.host, i.vm_state) for i in s.query(Instance).all()]
    placed = [h for h, state in rows if h is not None]
    assert sorted(placed) == ["node1", "node2", "node3"]
    assert sum(state == "error" for _, state in rows) == 5


def test_claim_refuses_a_forced_host_that_breaks_the_rule(compute_env):
    env = compute_env
    with_hosts(env, "node2")
    group = make_group(env.alice, "anti-affinity")
    first = boot(env, group["id"], name="vm0")
    grp = server_groups.ServerGroups(env.db, None).get(group["id"])
    with env.db.session() as s:
        members = server_groups.member_hosts(s, group["id"], "none")
        with pytest.raises(scheduler.NoValidHost, match="anti-affinity"):
            scheduler.claim(s, new_uuid(), {"vcpus": 1, "ram": 64, "disk": 1},
                            forced_host=first["host"], group=grp)
    assert members == {first["host"]: 1}


# -- Tempest's schemas --------------------------------------------------------------------------
def test_bodies_pass_tempest_schemas(compute_env, tmp_path: Path):
    env, cases = compute_env, []

    def add(client: str, op: str, version: str, method: str, path: str) -> None:
        resp = env.alice.client.open(path, method=method, headers={
            "X-Auth-Token": env.alice.token, **mv(version)})
        assert resp.status_code < 300, resp.get_json()
        cases.append({"client": f"{CLIENTS}.{client}", "op": op, "version": version,
                      "status": resp.status_code, "body": resp.get_json()})

    groups = "server_groups_client.ServerGroupsClient"
    kept = make_group(env.alice, "affinity", name="kept")
    server = boot(env, kept["id"], name="member")
    env.work()
    for version in ("2.1", "2.13", "2.15", "2.64", "2.96"):
        group = make_group(env.alice, "anti-affinity", version, name=f"g{version}")
        add(groups, "create_show_server_group", version, "GET", f"{GROUPS}/{group['id']}")
        add(groups, "list_server_groups", version, "GET", GROUPS)
        add(groups, "delete_server_group", version, "DELETE", f"{GROUPS}/{group['id']}")
    for version in ("2.71", "2.96"):
        add("servers_client.ServersClient", "get_server", version, "GET",
            f"/v2.1/servers/{server['id']}")
    assert cases[-1]["body"]["server"]["server_groups"] == [kept["id"]]
    assert_valid(cases, tmp_path)


def test_several_servers_of_one_request_keep_the_rule(compute_env):
    env = compute_env
    with_hosts(env, "node2")
    group = make_group(env.alice, "anti-affinity")
    resp = env.alice.post("/v2.1/servers", json={
        "server": {"name": "many", "imageRef": IMAGE_ID, "flavorRef": "6", "min_count": 3,
                   "max_count": 3},
        "os:scheduler_hints": {"group": group["id"]}})
    assert resp.status_code == 202, resp.get_json()
    with env.db.session() as s:
        rows = sorted((i.host or "", i.vm_state) for i in s.query(Instance).all())
    assert rows == [("", "error"), ("node1", "building"), ("node2", "building")]
    members = env.alice.get(f"{GROUPS}/{group['id']}").get_json()["server_group"]["members"]
    assert len(members) == 3
