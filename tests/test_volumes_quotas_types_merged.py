"""Per-volume-type quotas on the paths main added: a group snapshot's member snapshots count
``snapshots_<type>`` as a plain snapshot does, a transfer moves the per-type usage of the
volume's snapshots with them, and the ``groups`` quota is counted by the same counter."""
from __future__ import annotations

from tests.test_volumes_groups import V313, V314, grouped  # noqa: F401 (the fixture)
from tests.test_volumes_transfer_snapshots import V355, _accept, _offer, _snapshot
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import err, wait_status


def _in_use(env, who, name: str) -> dict:
    quota = env.admin.get(f"/v3/os-quota-sets/{who.project_id}?usage=True").json["quota_set"]
    return {r: quota[f"{r}_{name}"]["in_use"] for r in ("volumes", "gigabytes", "snapshots")}


def test_group_snapshot_counts_and_respects_the_type_s_snapshots(volenv, grouped):  # noqa: F811
    project, name = volenv.alice.project_id, grouped["vtype"]["name"]
    assert _in_use(volenv, volenv.alice, name) == {"volumes": 1, "gigabytes": 1,
                                                   "snapshots": 0}
    assert volenv.admin.put(f"/v3/os-quota-sets/{project}", json={"quota_set": {
        f"snapshots_{name}": 1}}).status_code == 200
    resp = volenv.alice.post("/v3/group_snapshots", headers=V314, json={"group_snapshot": {
        "group_id": grouped["group"]["id"]}})
    assert resp.status_code == 202, resp.json
    gsid = resp.json["group_snapshot"]["id"]
    wait_status(lambda: volenv.alice.get(f"/v3/group_snapshots/{gsid}", headers=V314)
                .json["group_snapshot"], "available")
    assert _in_use(volenv, volenv.alice, name) == {"volumes": 1, "gigabytes": 2,
                                                   "snapshots": 1}
    # the type's one snapshot is taken: a second group snapshot is refused, nothing recorded
    again = volenv.alice.post("/v3/group_snapshots", headers=V314, json={"group_snapshot": {
        "group_id": grouped["group"]["id"]}})
    err(again, 413, f"snapshots_{name}")
    listed = volenv.alice.get("/v3/group_snapshots", headers=V314).json["group_snapshots"]
    assert [g["id"] for g in listed] == [gsid]
    # deleting it gives the type's usage back
    assert volenv.alice.delete(f"/v3/group_snapshots/{gsid}", headers=V314
                               ).status_code == 202

    def gone():
        resp = volenv.alice.get(f"/v3/group_snapshots/{gsid}", headers=V314)
        return {"status": "gone"} if resp.status_code == 404 else resp.json["group_snapshot"]
    wait_status(gone, "gone")
    assert _in_use(volenv, volenv.alice, name) == {"volumes": 1, "gigabytes": 1,
                                                   "snapshots": 0}


def test_transfer_moves_the_snapshots_per_type_usage(volenv):
    gold = volenv.admin.post("/v3/types", json={"volume_type": {"name": "gold"}}
                             ).json["volume_type"]["id"]
    vid = volenv.create(size=2, volume_type=gold)["id"]
    volenv.wait(vid, "available")
    _snapshot(volenv, vid)
    assert _in_use(volenv, volenv.alice, "gold") == {"volumes": 1, "gigabytes": 4,
                                                     "snapshots": 1}
    # the receiver's per-type snapshot limit is checked as the accept moves them
    bob = volenv.bob.project_id
    assert volenv.admin.put(f"/v3/os-quota-sets/{bob}", json={"quota_set": {
        "snapshots_gold": 0}}).status_code == 200
    tr = _offer(volenv, vid)
    refused = volenv.bob.post(f"/v3/volume-transfers/{tr['id']}/accept", headers=V355,
                              json={"accept": {"auth_key": tr["auth_key"]}})
    err(refused, 413, "snapshots_gold")
    assert _in_use(volenv, volenv.bob, "gold") == {"volumes": 0, "gigabytes": 0,
                                                   "snapshots": 0}
    assert volenv.admin.put(f"/v3/os-quota-sets/{bob}", json={"quota_set": {
        "snapshots_gold": -1}}).status_code == 200
    _accept(volenv, tr)
    assert _in_use(volenv, volenv.alice, "gold") == {"volumes": 0, "gigabytes": 0,
                                                     "snapshots": 0}
    assert _in_use(volenv, volenv.bob, "gold") == {"volumes": 1, "gigabytes": 4,
                                                   "snapshots": 1}


def test_groups_quota_is_counted_and_enforced(volenv):
    project = volenv.alice.project_id
    gtype = volenv.admin.post("/v3/group_types", headers=V313, json={"group_type": {
        "name": "gq"}}).json["group_type"]["id"]
    vtype = volenv.admin.post("/v3/types", json={"volume_type": {"name": "vq"}}
                              ).json["volume_type"]["id"]
    assert volenv.admin.put(f"/v3/os-quota-sets/{project}", json={"quota_set": {
        "groups": 1}}).status_code == 200
    body = {"group": {"group_type": gtype, "volume_types": [vtype]}}
    assert volenv.alice.post("/v3/groups", headers=V313, json=body).status_code == 202
    err(volenv.alice.post("/v3/groups", headers=V313, json=body), 413, "'groups'")
    quota = volenv.admin.get(f"/v3/os-quota-sets/{project}?usage=True").json["quota_set"]
    assert quota["groups"] == {"limit": 1, "in_use": 1, "reserved": 0, "allocated": 0}
    err(volenv.admin.put(f"/v3/os-quota-sets/{project}", json={"quota_set": {"groups": 0}}),
        400, "Current usage of groups is 1.")
