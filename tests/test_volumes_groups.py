"""Generic volume groups through the API, in-process, with the real agent on the fake
backend: group types and their specs (3.11), groups (3.13), group snapshots and groups made
from a source (3.14), reset status (3.19/3.20); every answer checked against Tempest
47.0.0's group schemas, every refusal, project isolation, the groups quota."""
from __future__ import annotations

import pytest

from tests.test_volumes_api_shapes import conforms, tempest_schema
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err, wait_status


def mv(minor: int) -> dict:
    return {"OpenStack-API-Version": f"volume 3.{minor}"}


V311, V313, V314, V319, V320 = mv(11), mv(13), mv(14), mv(19), mv(20)
MISSING = "8d7ef0ba-7a8a-4b0a-9f3e-0c6a1a9d4f11"


def _schemas(name: str):
    return tempest_schema(name)


def gtype_create(env, name: str = "gt", **extra) -> dict:
    resp = env.admin.post("/v3/group_types", headers=V311, json={"group_type": {
        "name": name, **extra}})
    conforms(_schemas("group_types").create_group_type, resp)
    return resp.json["group_type"]


def vtype_create(env, name: str = "vt") -> dict:
    resp = env.admin.post("/v3/types", json={"volume_type": {"name": name}})
    assert resp.status_code == 200, resp.json
    return resp.json["volume_type"]


def group_show(env, group_id: str, who=None, headers=V313) -> dict:
    resp = (who or env.alice).get(f"/v3/groups/{group_id}", headers=headers)
    conforms(_schemas("groups").show_group, resp)
    return resp.json["group"]


def group_gone(env, group_id: str) -> None:
    def get():
        resp = env.admin.get(f"/v3/groups/{group_id}", headers=V313)
        return {"status": "gone"} if resp.status_code == 404 else resp.json["group"]
    wait_status(get, "gone")


@pytest.fixture
def grouped(volenv):
    """A group type, a volume type, alice's group of that type holding one available
    volume."""
    gtype = gtype_create(volenv, "gt", group_specs={"consistent_group_snapshot_enabled":
                                                    "<is> False"})
    vtype = vtype_create(volenv)
    resp = volenv.alice.post("/v3/groups", headers=V313, json={"group": {
        "name": "g1", "description": "d", "group_type": gtype["id"],
        "volume_types": [vtype["id"]]}})
    conforms(_schemas("groups").create_group, resp)
    group = resp.json["group"]
    vol = volenv.create(name="member", volume_type=vtype["id"], group_id=group["id"])
    assert vol["group_id"] == group["id"]
    volenv.wait(vol["id"], "available")
    return {"gtype": gtype, "vtype": vtype, "group": group, "vol": vol}


# -- group types ----------------------------------------------------------------------------------
def test_group_type_create_list_update_show_delete(volenv):
    s = _schemas("group_types")
    created = gtype_create(volenv, "gold", description="fast", is_public=True,
                           group_specs={"k": "v"})
    assert (created["name"], created["description"], created["group_specs"]) == \
        ("gold", "fast", {"k": "v"})
    private = gtype_create(volenv, "b-private", is_public=False)
    listed = volenv.admin.get("/v3/group_types?is_public=None&sort=name:asc", headers=V311)
    conforms(s.list_group_types, listed)
    assert [t["name"] for t in listed.json["group_types"]] == ["b-private", "gold"]
    desc = volenv.admin.get("/v3/group_types?is_public=None&sort=name:desc", headers=V311)
    assert [t["name"] for t in desc.json["group_types"]] == ["gold", "b-private"]
    only_private = volenv.admin.get("/v3/group_types?is_public=False", headers=V311)
    assert [t["name"] for t in only_private.json["group_types"]] == ["b-private"]
    # a member sees public types only, without their specs; a private one is a 404
    member = volenv.alice.get("/v3/group_types?is_public=None", headers=V311)
    conforms(s.list_group_types, member)
    assert [(t["name"], "group_specs" in t) for t in member.json["group_types"]] == \
        [("gold", False)]
    err(volenv.alice.get(f"/v3/group_types/{private['id']}", headers=V311), 404,
        private["id"])

    updated = volenv.admin.put(f"/v3/group_types/{created['id']}", headers=V311, json={
        "group_type": {"name": "platinum", "description": "updated"}})
    conforms(s.update_group_type, updated)
    shown = volenv.admin.get(f"/v3/group_types/{created['id']}", headers=V311)
    conforms(s.show_group_type, shown)
    assert {k: shown.json["group_type"][k] for k in ("name", "description", "is_public",
                                                      "group_specs")} == \
        {"name": "platinum", "description": "updated", "is_public": True,
         "group_specs": {"k": "v"}}
    assert volenv.admin.get("/v3/group_types/platinum", headers=V311).json[
        "group_type"]["id"] == created["id"]
    conforms(s.delete_group_type, volenv.admin.delete(f"/v3/group_types/{created['id']}",
                                                      headers=V311))
    err(volenv.admin.get(f"/v3/group_types/{created['id']}", headers=V311), 404,
        "could not be found")


def test_group_type_refusals(volenv):
    gtype_create(volenv, "gold")
    err(volenv.admin.post("/v3/group_types", headers=V311, json={"group_type": {
        "name": "gold"}}), 409, "already exists")
    err(volenv.admin.post("/v3/group_types", headers=V311, json={"group_type": {
        "name": "  "}}), 400, "blank")
    err(volenv.admin.post("/v3/group_types", headers=V311, json={"group_type": {
        "name": "x", "bogus": 1}}), 400, "bogus")
    err(volenv.admin.put(f"/v3/group_types/{MISSING}", headers=V311, json={"group_type": {
        "name": "y"}}), 404, MISSING)
    silver = gtype_create(volenv, "silver")
    err(volenv.admin.put(f"/v3/group_types/{silver['id']}", headers=V311, json={
        "group_type": {}}), 400, "name, description")
    err(volenv.alice.post("/v3/group_types", headers=V311, json={"group_type": {
        "name": "mine"}}), 403, "group:group_types:create")
    err(volenv.admin.get("/v3/group_types", headers=mv(10)), 404, "3.11")


def test_group_type_specs(volenv):
    s = _schemas("group_types")
    gtype = gtype_create(volenv)
    base = f"/v3/group_types/{gtype['id']}/group_specs"
    created = volenv.admin.post(base, headers=V311, json={"group_specs": {
        "key1": "value1", "key2": "value2"}})
    conforms(s.create_or_update_group_type_specs, created)
    assert created.json["group_specs"] == {"key1": "value1", "key2": "value2"}
    updated = volenv.admin.post(base, headers=V311, json={"group_specs": {
        "key2": "value2-updated", "key3": "value3"}})
    assert updated.json["group_specs"] == {"key2": "value2-updated", "key3": "value3"}
    item = volenv.admin.get(f"{base}/key2", headers=V311)
    conforms(s.show_group_type_specs_item, item)
    assert item.json == {"key2": "value2-updated"}
    put = volenv.admin.put(f"{base}/key3", headers=V311, json={"key3": "value3-updated"})
    conforms(s.update_group_type_specs_item, put)
    err(volenv.admin.put(f"{base}/key3", headers=V311, json={"other": "x"}), 400, "mismatch")
    listed = volenv.admin.get(base, headers=V311)
    conforms(s.list_group_type_specs, listed)
    assert listed.json["group_specs"] == {"key1": "value1", "key2": "value2-updated",
                                          "key3": "value3-updated"}
    for key in ("key1", "key2", "key3"):
        conforms(s.delete_group_type_specs_item,
                 volenv.admin.delete(f"{base}/{key}", headers=V311))
        err(volenv.admin.get(f"{base}/{key}", headers=V311), 404, f"no specs with key {key}")
    err(volenv.admin.delete(f"{base}/key1", headers=V311), 404, "key1")
    err(volenv.alice.get(base, headers=V311), 403, "group:group_types_specs:get_all")


def test_default_group_type(make_volenv):
    env = make_volenv(**{"volume.default_group_type": "standard"})
    err(env.alice.get("/v3/group_types/default", headers=V311), 404, "Default group type")
    gtype = gtype_create(env, "standard")
    shown = env.alice.get("/v3/group_types/default", headers=V311)
    conforms(_schemas("group_types").show_default_group_type, shown)
    assert shown.json["group_type"]["id"] == gtype["id"]


def test_no_default_group_type_unless_configured(volenv):
    gtype_create(volenv, "standard")
    err(volenv.alice.get("/v3/group_types/default", headers=V311), 404, "Default group type")


# -- groups ------------------------------------------------------------------------------------
def test_group_create_show_list_and_volume_fields(volenv, grouped):
    s = _schemas("groups")
    group, vol = grouped["group"], grouped["vol"]
    shown = group_show(volenv, group["id"])
    assert (shown["name"], shown["status"], shown["group_type"], shown["volume_types"],
            shown["availability_zone"]) == ("g1", "available", grouped["gtype"]["id"],
                                            [grouped["vtype"]["id"]], "nova")
    assert "group_snapshot_id" not in shown and "volumes" not in shown  # 3.14, 3.25
    at314 = group_show(volenv, group["id"], headers=V314)
    assert (at314["group_snapshot_id"], at314["source_group_id"]) == (None, None)
    with_volumes = volenv.alice.get(f"/v3/groups/{group['id']}?list_volume=True",
                                    headers=mv(25))
    conforms(s.show_group, with_volumes)
    assert with_volumes.json["group"]["volumes"] == [vol["id"]]
    listed = volenv.alice.get("/v3/groups", headers=V313)
    conforms(s.list_groups_no_detail, listed)
    assert listed.json["groups"] == [{"id": group["id"], "name": "g1"}]
    detail = volenv.alice.get("/v3/groups/detail", headers=V313)
    conforms(s.list_groups_with_detail, detail)
    assert volenv.admin.get(f"/v3/groups/{group['id']}", headers=MV).json["group"][
        "project_id"] == volenv.alice.project_id
    assert "project_id" not in volenv.alice.get(f"/v3/groups/{group['id']}", headers=MV
                                                ).json["group"]
    # the volume's group_id, from 3.13, and the 3.10 filter
    assert volenv.show(vol["id"])["group_id"] == group["id"]
    assert "group_id" not in volenv.alice.get(f"/v3/volumes/{vol['id']}", headers=mv(12)
                                              ).json["volume"]
    by_group = volenv.alice.get(f"/v3/volumes?group_id={group['id']}", headers=MV)
    assert [v["id"] for v in by_group.json["volumes"]] == [vol["id"]]
    assert volenv.alice.get(f"/v3/volumes?group_id={MISSING}", headers=MV
                            ).json["volumes"] == []
    # another project sees nothing of it
    err(volenv.bob.get(f"/v3/groups/{group['id']}", headers=V313), 404, group["id"])
    assert volenv.bob.get("/v3/groups", headers=V313).json["groups"] == []
    err(volenv.alice.get("/v3/groups", headers=mv(12)), 404, "3.13")
    err(volenv.alice.get("/v3/groups?name=g1", headers=mv(31)), 400, "Invalid filters")


def test_group_create_refusals(volenv, grouped):
    gtype, vtype = grouped["gtype"], grouped["vtype"]

    def create(body, who=None):
        return (who or volenv.alice).post("/v3/groups", headers=V313, json={"group": body})
    err(create({"group_type": MISSING, "volume_types": [vtype["id"]]}), 404, MISSING)
    err(create({"group_type": gtype["id"], "volume_types": [MISSING]}), 404, MISSING)
    err(create({"group_type": gtype["id"]}), 400, "volume_types")
    err(create({"group_type": gtype["id"], "volume_types": []}), 400, "volume_types")
    err(create({"group_type": gtype["id"], "volume_types": [vtype["id"]],
                "availability_zone": "elsewhere"}), 400, "Availability zone")
    err(create({"group_type": gtype["id"], "volume_types": [vtype["id"]]}, volenv.reader),
        403, "group:create")
    # a volume in a group must be of one of its types, in a group the caller sees
    err(volenv.alice.post("/v3/volumes", headers=MV, json={"volume": {
        "size": 1, "group_id": grouped["group"]["id"]}}), 400, "not supported by group")
    err(volenv.bob.post("/v3/volumes", headers=MV, json={"volume": {
        "size": 1, "volume_type": vtype["id"], "group_id": grouped["group"]["id"]}}), 404,
        "Group")


def test_groups_quota(volenv, grouped):
    assert volenv.admin.put(f"/v3/os-quota-sets/{volenv.alice.project_id}", json={
        "quota_set": {"groups": 1}}).status_code == 200
    err(volenv.alice.post("/v3/groups", headers=V313, json={"group": {
        "group_type": grouped["gtype"]["id"], "volume_types": [grouped["vtype"]["id"]]}}),
        413, "GroupLimitExceeded")
    usage = volenv.admin.get(f"/v3/os-quota-sets/{volenv.alice.project_id}?usage=True"
                             ).json["quota_set"]["groups"]
    assert (usage["limit"], usage["in_use"]) == (1, 1)


def test_group_update_members(volenv, grouped):
    group, vtype = grouped["group"], grouped["vtype"]
    second = volenv.create(name="second", volume_type=vtype["id"], group_id=group["id"])
    volenv.wait(second["id"], "available")
    path = f"/v3/groups/{group['id']}"
    resp = volenv.alice.put(path, headers=V313, json={"group": {
        "name": "new_group", "description": "This is a new group",
        "remove_volumes": second["id"]}})
    conforms(_schemas("groups").update_group, resp)
    shown = group_show(volenv, group["id"])
    assert (shown["name"], shown["description"], shown["status"]) == \
        ("new_group", "This is a new group", "available")
    assert volenv.show(second["id"])["group_id"] is None
    assert volenv.alice.put(path, headers=V313, json={"group": {
        "add_volumes": second["id"]}}).status_code == 202
    assert volenv.show(second["id"])["group_id"] == group["id"]

    plain = volenv.create(name="plain")  # the default type: not one of the group's
    volenv.wait(plain["id"], "available")
    err(volenv.alice.put(path, headers=V313, json={"group": {"add_volumes": plain["id"]}}),
        400, "not supported by the group")
    err(volenv.alice.put(path, headers=V313, json={"group": {"add_volumes": MISSING}}),
        400, "cannot be found")
    err(volenv.alice.put(path, headers=V313, json={"group": {"remove_volumes": plain["id"]}}),
        400, "not in the group")
    err(volenv.alice.put(path, headers=V313, json={"group": {}}), 400, "can not be all empty")
    err(volenv.reader.put(path, headers=V313, json={"group": {"name": "r"}}), 403,
        "group:update")
    # a member cannot be deleted on its own
    err(volenv.alice.delete(f"/v3/volumes/{second['id']}", headers=MV), 400, "group")
    bobs = volenv.create(who=volenv.bob, name="bobs", volume_type=vtype["id"])
    volenv.wait(bobs["id"], "available", who=volenv.bob)
    err(volenv.alice.put(path, headers=V313, json={"group": {"add_volumes": bobs["id"]}}),
        400, "cannot be found")


def test_group_delete(volenv, grouped):
    group, vol = grouped["group"], grouped["vol"]
    action = f"/v3/groups/{group['id']}/action"
    err(volenv.alice.post(action, headers=V313, json={"delete": {"delete-volumes": False}}),
        400, "delete-volumes flag is required")
    err(volenv.reader.post(action, headers=V313, json={"delete": {"delete-volumes": True}}),
        403, "group:delete")
    resp = volenv.alice.post(action, headers=V313, json={"delete": {"delete-volumes": True}})
    conforms(_schemas("groups").delete_group, resp)
    group_gone(volenv, group["id"])
    assert volenv.alice.get(f"/v3/volumes/{vol['id']}", headers=MV).status_code == 404
    assert volenv.alice.get("/v3/groups/detail", headers=V313).json["groups"] == []
    usage = volenv.admin.get(f"/v3/os-quota-sets/{volenv.alice.project_id}?usage=True"
                             ).json["quota_set"]["groups"]
    assert usage["in_use"] == 0
    # now nothing holds the types
    assert volenv.admin.delete(f"/v3/group_types/{grouped['gtype']['id']}",
                               headers=V311).status_code == 202


def test_group_type_and_volume_type_in_use(volenv, grouped):
    err(volenv.admin.delete(f"/v3/group_types/{grouped['gtype']['id']}", headers=V311), 400,
        "not allowed with groups present")


def test_group_reset_status(volenv, grouped):
    action = f"/v3/groups/{grouped['group']['id']}/action"
    err(volenv.admin.post(action, headers=V319, json={"reset_status": {"status": "error"}}),
        404, "3.20")
    err(volenv.alice.post(action, headers=V320, json={"reset_status": {"status": "error"}}),
        403, "group:reset_status")
    err(volenv.admin.post(action, headers=V320, json={"reset_status": {"status": "bogus"}}),
        400, "status must be one of")
    for status in ("creating", "available", "error"):
        resp = volenv.admin.post(action, headers=V320, json={"reset_status": {
            "status": status}})
        conforms(_schemas("groups").reset_group_status, resp)
        assert group_show(volenv, grouped["group"]["id"])["status"] == status


# -- group snapshots ---------------------------------------------------------------------------
def gsnap_create(env, group_id: str, name: str = "gs", who=None) -> dict:
    resp = (who or env.alice).post("/v3/group_snapshots", headers=V314, json={
        "group_snapshot": {"group_id": group_id, "name": name}})
    conforms(_schemas("group_snapshots").create_group_snapshot, resp)
    return resp.json["group_snapshot"]


def gsnap_wait(env, gsnap_id: str, status: str) -> dict:
    def get():
        resp = env.alice.get(f"/v3/group_snapshots/{gsnap_id}", headers=V314)
        if resp.status_code == 404:
            return {"status": "gone"}
        conforms(_schemas("group_snapshots").show_group_snapshot, resp)
        return resp.json["group_snapshot"]
    return wait_status(get, status)


def test_group_snapshot_create_show_list_delete(volenv, grouped):
    s = _schemas("group_snapshots")
    group, vol = grouped["group"], grouped["vol"]
    gsnap = gsnap_create(volenv, group["id"], "group_snapshot")
    assert gsnap["group_type_id"] == grouped["gtype"]["id"]
    shown = gsnap_wait(volenv, gsnap["id"], "available")
    assert (shown["name"], shown["group_id"]) == ("group_snapshot", group["id"])
    snaps = volenv.alice.get("/v3/snapshots/detail", headers=V314).json["snapshots"]
    assert [(x["volume_id"], x["group_snapshot_id"], x["name"], x["status"]) for x in snaps] \
        == [(vol["id"], gsnap["id"], "group_snapshot", "available")]
    assert "group_snapshot_id" not in volenv.alice.get(
        f"/v3/snapshots/{snaps[0]['id']}", headers=mv(13)).json["snapshot"]
    listed = volenv.alice.get("/v3/group_snapshots", headers=V314)
    conforms(s.list_group_snapshots_no_detail, listed)
    detail = volenv.alice.get(f"/v3/group_snapshots/detail?group_id={group['id']}",
                              headers=V314)
    conforms(s.list_group_snapshots_with_detail, detail)
    assert [x["id"] for x in detail.json["group_snapshots"]] == [gsnap["id"]]
    err(volenv.bob.get(f"/v3/group_snapshots/{gsnap['id']}", headers=V314), 404, "GroupSnapshot")
    err(volenv.alice.get("/v3/group_snapshots", headers=V313), 404, "3.14")
    # a member snapshot is deleted with its group snapshot only; the group waits for it
    err(volenv.alice.delete(f"/v3/snapshots/{snaps[0]['id']}"), 400, "part of a group")
    err(volenv.alice.post(f"/v3/groups/{group['id']}/action", headers=V313, json={
        "delete": {"delete-volumes": True}}), 400, "dependent group snapshots")
    err(volenv.reader.delete(f"/v3/group_snapshots/{gsnap['id']}", headers=V314), 403,
        "group:delete_group_snapshot")
    resp = volenv.alice.delete(f"/v3/group_snapshots/{gsnap['id']}", headers=V314)
    conforms(s.delete_group_snapshot, resp)
    gsnap_wait(volenv, gsnap["id"], "gone")
    assert volenv.alice.get("/v3/snapshots", headers=MV).json["snapshots"] == []
    assert volenv.alice.post(f"/v3/groups/{group['id']}/action", headers=V313, json={
        "delete": {"delete-volumes": True}}).status_code == 202
    group_gone(volenv, group["id"])


def test_group_snapshot_refusals_and_reset(volenv, grouped):
    group = grouped["group"]
    err(volenv.alice.post("/v3/group_snapshots", headers=V314, json={"group_snapshot": {
        "group_id": MISSING}}), 404, MISSING)
    err(volenv.reader.post("/v3/group_snapshots", headers=V314, json={"group_snapshot": {
        "group_id": group["id"]}}), 403, "group:create_group_snapshot")
    assert volenv.admin.put(f"/v3/os-quota-sets/{volenv.alice.project_id}", json={
        "quota_set": {"snapshots": 0}}).status_code == 200
    err(volenv.alice.post("/v3/group_snapshots", headers=V314, json={"group_snapshot": {
        "group_id": group["id"]}}), 413, "SnapshotLimitExceeded")
    assert volenv.alice.get("/v3/group_snapshots", headers=V314).json["group_snapshots"] == []
    assert volenv.admin.put(f"/v3/os-quota-sets/{volenv.alice.project_id}", json={
        "quota_set": {"snapshots": 10}}).status_code == 200
    gsnap = gsnap_create(volenv, group["id"])
    gsnap_wait(volenv, gsnap["id"], "available")
    action = f"/v3/group_snapshots/{gsnap['id']}/action"
    err(volenv.admin.post(action, headers=V314, json={"reset_status": {"status": "error"}}),
        404, "3.19")
    err(volenv.alice.post(action, headers=V319, json={"reset_status": {"status": "error"}}),
        403, "group:reset_group_snapshot_status")
    for status in ("creating", "available", "error"):
        resp = volenv.admin.post(action, headers=V319, json={"reset_status": {
            "status": status}})
        conforms(_schemas("group_snapshots").reset_group_snapshot_status, resp)
        gsnap_wait(volenv, gsnap["id"], status)  # a reset status stays as set


@pytest.mark.parametrize("source", ["group_snapshot_id", "source_group_id"])
def test_create_group_from_source(volenv, grouped, source):
    group, vol = grouped["group"], grouped["vol"]
    source_id = group["id"]
    if source == "group_snapshot_id":
        source_id = gsnap_create(volenv, group["id"])["id"]
        gsnap_wait(volenv, source_id, "available")
    resp = volenv.alice.post("/v3/groups/action", headers=V314, json={"create-from-src": {
        source: source_id, "name": "copy"}})
    conforms(_schemas("groups").create_group_from_source, resp)
    copy = resp.json["group"]
    assert copy["name"] == "copy"
    wait_status(lambda: group_show(volenv, copy["id"], headers=V314), "available")
    shown = group_show(volenv, copy["id"], headers=V314)
    assert (shown[source], shown["group_type"], shown["volume_types"]) == \
        (source_id, grouped["gtype"]["id"], [grouped["vtype"]["id"]])
    made = [v for v in volenv.alice.get("/v3/volumes/detail", headers=MV).json["volumes"]
            if v["group_id"] == copy["id"]]
    assert len(made) == 1 and made[0]["status"] == "available"
    if source == "group_snapshot_id":
        member = [x for x in volenv.alice.get("/v3/snapshots/detail", headers=MV).json[
            "snapshots"] if x["group_snapshot_id"] == source_id]
        assert made[0]["snapshot_id"] == member[0]["id"] and member[0]["volume_id"] == vol["id"]
    else:
        assert made[0]["source_volid"] == vol["id"]
    err(volenv.alice.post("/v3/groups/action", headers=V314, json={"create-from-src": {
        "name": "x"}}), 400, "Either")
    err(volenv.alice.post("/v3/groups/action", headers=V313, json={"create-from-src": {
        source: source_id}}), 404, "3.14")
