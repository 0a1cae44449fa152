"""Per-volume-type quotas (Cinder's ``volumes_<type>``, ``gigabytes_<type>``,
``snapshots_<type>``): in every quota set and class, settable like the others, counted and
enforced per type on create, extend, snapshot, retype and delete; answers checked against
Tempest's schemas."""
from __future__ import annotations

import uuid

from tests.test_volumes_api_shapes import conforms, tempest_schema
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err, wait_status

TEMPEST_KEYS = ("gigabytes", "snapshots", "volumes", "backups", "backup_gigabytes",
                "per_volume_gigabytes")


def _type(env, name: str) -> str:
    return env.admin.post("/v3/types", json={"volume_type": {"name": name}}
                          ).json["volume_type"]["id"]


def _quotas(env, project: str, usage: bool = False) -> dict:
    resp = env.admin.get(f"/v3/os-quota-sets/{project}" + ("?usage=True" if usage else ""))
    assert resp.status_code == 200, resp.json
    return resp.json["quota_set"]


def _snapshot(env, vid: str, expect: int = 202):
    resp = env.alice.post("/v3/snapshots", headers=MV, json={"snapshot": {"volume_id": vid}})
    assert resp.status_code == expect, resp.json
    return resp


def test_tempest_update_default_quota_with_per_type_keys(volenv):
    """What Tempest's VolumeQuotaClassesTest.test_update_default_quota does, in-process."""
    s, q = tempest_schema("quota_classes"), tempest_schema("quotas")
    body = volenv.admin.get("/v3/os-quota-class-sets/default").json["quota_class_set"]
    update = {k: body[k] + 1 if body[k] >= 0 else body[k] for k in TEMPEST_KEYS}
    _type(volenv, "tempest-type")
    update.update({"volumes_tempest-type": 3, "snapshots_tempest-type": 5,
                   "gigabytes_tempest-type": 7})
    resp = volenv.admin.put("/v3/os-quota-class-sets/default",
                            json={"quota_class_set": update})
    conforms(s.update_quota_classes, resp)
    assert update.items() <= resp.json["quota_class_set"].items()
    for project in (volenv.admin.project_id, str(uuid.uuid4())):  # also a brand-new project
        defaults = volenv.admin.get(f"/v3/os-quota-sets/{project}/defaults")
        conforms(q.show_quota_set, defaults)
        assert update.items() <= defaults.json["quota_set"].items()
    shown = volenv.admin.get("/v3/os-quota-class-sets/default")
    conforms(s.show_quota_classes, shown)
    assert shown.json["quota_class_set"]["volumes_tempest-type"] == 3


def test_every_type_has_its_keys_and_unknown_ones_are_refused(volenv):
    project = volenv.alice.project_id
    gold = _type(volenv, "gold")
    shown = _quotas(volenv, project)
    assert {shown[f"{r}_gold"] for r in ("volumes", "gigabytes", "snapshots")} == {-1}
    path = f"/v3/os-quota-sets/{project}"
    err(volenv.admin.put(path, json={"quota_set": {"volumes_nosuch": 1}}), 400,
        "Bad key(s) volumes_nosuch in quota_set")
    err(volenv.admin.put(path, json={"quota_set": {"frobs_gold": 1}}), 400, "frobs_gold")
    err(volenv.admin.put(path, json={"quota_set": {"volumes_gold": -2}}), 400, "volumes_gold")
    err(volenv.admin.put(path, json={"quota_set": {"volumes_gold": "x"}}), 400, "volumes_gold")
    err(volenv.admin.put("/v3/os-quota-class-sets/default", json={"quota_class_set": {
        "gigabytes_nosuch": 1}}), 400, "gigabytes_nosuch")
    # A renamed type keeps its limits under its new name; a deleted one drops its keys.
    volenv.admin.put(path, json={"quota_set": {"volumes_gold": 4}})
    assert volenv.admin.put(f"/v3/types/{gold}", json={"volume_type": {
        "name": "platinum"}}).status_code == 200
    shown = _quotas(volenv, project)
    assert shown["volumes_platinum"] == 4 and "volumes_gold" not in shown
    assert volenv.admin.delete(f"/v3/types/{gold}").status_code == 202
    assert not any(k.endswith("_platinum") for k in _quotas(volenv, project))


def test_per_type_limits_are_enforced_and_counted(volenv):
    project = volenv.alice.project_id
    _type(volenv, "gold")
    volenv.admin.put(f"/v3/os-quota-sets/{project}", json={"quota_set": {
        "volumes_gold": 1, "gigabytes_gold": 3, "snapshots_gold": 1}})
    vid = volenv.create(size=1, volume_type="gold")["id"]
    volenv.wait(vid, "available")
    err(volenv.alice.post("/v3/volumes", json={"volume": {"size": 1, "volume_type": "gold"}}),
        413, "Maximum number of volumes allowed (1) exceeded for quota 'volumes_gold'")
    other = volenv.create(size=1)["id"]  # the default type is not limited
    err(volenv.alice.post(f"/v3/volumes/{vid}/action", json={"os-extend": {"new_size": 4}}),
        413, "exceeds allowed gigabytes_gold quota. Requested 3G, quota is 3G and 1G")
    _snapshot(volenv, vid)
    err(_snapshot(volenv, vid, 413), 413,
        "Maximum number of snapshots allowed (1) exceeded for quota 'snapshots_gold'")
    # Nothing of a refused request was counted, per type nor for the project.
    usage = volenv.admin.get(f"/v3/os-quota-sets/{project}?usage=True")
    conforms(tempest_schema("quotas").show_quota_set_usage, usage)
    used = usage.json["quota_set"]
    assert {k: used[f"{k}_gold"]["in_use"] for k in ("volumes", "gigabytes", "snapshots")} \
        == {"volumes": 1, "gigabytes": 2, "snapshots": 1}
    assert (used["volumes"]["in_use"], used["gigabytes"]["in_use"]) == (2, 3)
    assert used["volumes_gold"]["limit"] == 1
    err(volenv.admin.put(f"/v3/os-quota-sets/{project}", json={"quota_set": {
        "gigabytes_gold": 1}}), 400, "Current usage of gigabytes_gold is 2")
    # Deleting gives back to the type.
    volenv.wait(other, "available")
    snap = volenv.alice.get("/v3/snapshots", headers=MV).json["snapshots"][0]["id"]
    wait_status(lambda: volenv.alice.get(f"/v3/snapshots/{snap}").json["snapshot"],
                "available")
    assert volenv.alice.delete(f"/v3/snapshots/{snap}").status_code == 202
    wait_status(lambda: {"status": "gone"} if volenv.alice.get(
        f"/v3/snapshots/{snap}").status_code == 404 else {"status": "there"}, "gone")
    assert volenv.alice.delete(f"/v3/volumes/{vid}").status_code == 202
    wait_status(lambda: {"status": str(_quotas(volenv, project, True)["volumes_gold"][
        "in_use"])}, "0")
    assert _quotas(volenv, project, True)["gigabytes_gold"]["in_use"] == 0
    volenv.wait(volenv.create(size=1, volume_type="gold")["id"], "available")


def test_retype_moves_the_usage_and_respects_the_new_type_s_limits(volenv):
    project = volenv.alice.project_id
    _type(volenv, "gold")
    _type(volenv, "silver")
    volenv.admin.put(f"/v3/os-quota-sets/{project}", json={"quota_set": {
        "gigabytes_silver": 1}})
    vid = volenv.create(size=2, volume_type="gold")["id"]
    volenv.wait(vid, "available")

    def retype(to: str):
        return volenv.alice.post(f"/v3/volumes/{vid}/action", headers=MV,
                                 json={"os-retype": {"new_type": to}})
    err(retype("silver"), 413, "gigabytes_silver")
    assert volenv.show(vid)["volume_type"] == "gold"
    volenv.admin.put(f"/v3/os-quota-sets/{project}", json={"quota_set": {
        "gigabytes_silver": 2}})
    assert retype("silver").status_code == 202
    used = _quotas(volenv, project, True)
    assert (used["volumes_silver"]["in_use"], used["gigabytes_silver"]["in_use"]) == (1, 2)
    assert (used["volumes_gold"]["in_use"], used["gigabytes_gold"]["in_use"]) == (0, 0)
    assert used["volumes"]["in_use"] == 1
