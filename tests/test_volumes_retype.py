"""``os-retype``: the type changes in place when the volume's backend can hold the new
type, and is refused (Cinder's messages) when it cannot or may not."""
from __future__ import annotations

import pytest

from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err


def _type(env, name: str, **extra_specs: str) -> str:
    body = {"name": name, **({"extra_specs": extra_specs} if extra_specs else {})}
    return env.admin.post("/v3/types", json={"volume_type": body}).json["volume_type"]["id"]


def _retype(env, vid: str, new_type: str, who=None, **params):
    return (who or env.alice).post(f"/v3/volumes/{vid}/action", headers=MV, json={
        "os-retype": {"new_type": new_type, **params}})


def _volume(env, **body) -> str:
    vid = env.create(name="r", **body)["id"]
    env.wait(vid, "available")
    return vid


def _attach(env, vid: str) -> None:
    assert env.alice.post(f"/v3/volumes/{vid}/action", headers=MV, json={"os-attach": {
        "instance_uuid": "0b3b4f4e-4444-4c1e-9d7a-3a3a3a3a3a3a",
        "mountpoint": "/dev/vdc"}}).status_code == 202


@pytest.mark.parametrize("by", ["name", "id"])
def test_retype_changes_the_type_in_place(volenv, by):
    gold = _type(volenv, "gold", volume_backend_name="fake")
    vid = _volume(volenv)
    before = volenv.show(vid, volenv.admin)
    resp = _retype(volenv, vid, "gold" if by == "name" else gold, migration_policy="never")
    assert resp.status_code == 202, resp.json
    after = volenv.show(vid, volenv.admin)
    assert (after["volume_type"], after["status"], after["size"]) == ("gold", "available", 1)
    assert after["os-vol-host-attr:host"] == before["os-vol-host-attr:host"]
    # what Tempest's VolumeRetypeWithoutMigrationTest checks: nothing migrated
    assert after["migration_status"] is None and after["os-vol-mig-status-attr:migstat"] is None
    assert {k: after[k] for k in ("id", "size", "name", "user_id")} == \
        {k: before[k] for k in ("id", "size", "name", "user_id")}
    usage = volenv.alice.get(f"/v3/{volenv.alice.project_id}/limits").json
    assert usage["limits"]["absolute"]["totalVolumesUsed"] == 1


def test_in_use_volume_may_be_retyped(volenv):
    _type(volenv, "silver")
    vid = _volume(volenv)
    _attach(volenv, vid)
    assert _retype(volenv, vid, "silver").status_code == 202
    assert (volenv.show(vid)["volume_type"], volenv.show(vid)["status"]) == ("silver",
                                                                             "in-use")


def test_in_use_volume_keeps_its_front_end_qos(volenv):
    tid = _type(volenv, "limited")
    qid = volenv.admin.post("/v3/qos-specs", json={"qos_specs": {
        "name": "q", "consumer": "front-end", "read_iops_sec": "10"}}).json["qos_specs"]["id"]
    volenv.admin.get(f"/v3/qos-specs/{qid}/associate?vol_type_id={tid}")
    vid = _volume(volenv)
    _attach(volenv, vid)
    err(_retype(volenv, vid, "limited"), 400, "front-end qos specs for in-use volume")
    assert volenv.show(vid)["volume_type"] == "__DEFAULT__"


@pytest.mark.parametrize("specs, policy, message", [
    ({"volume_backend_name": "lvm"}, "never", "Retype requires migration but is not allowed"),
    ({"volume_backend_name": "lvm"}, "on-demand", "'on-demand' is not offered"),
    ({"RESKEY:availability_zones": "az2, az3"}, "never", "availability zones"),
])
def test_retype_that_needs_migration_is_refused(volenv, specs, policy, message):
    _type(volenv, "elsewhere", **specs)
    vid = _volume(volenv)
    err(_retype(volenv, vid, "elsewhere", migration_policy=policy), 400, message)
    assert volenv.show(vid)["volume_type"] == "__DEFAULT__"


def test_retype_refusals(volenv):
    _type(volenv, "gold")
    vid = _volume(volenv)
    err(_retype(volenv, vid, "__DEFAULT__"), 400, "New volume_type same as original")
    err(_retype(volenv, vid, "no-such-type"), 404, "no-such-type could not be found")
    err(_retype(volenv, vid, "gold", migration_policy="sometimes"), 400, "migration_policy")
    err(_retype(volenv, vid, "gold", who=volenv.bob), 404, "could not be found")
    err(_retype(volenv, vid, "gold", who=volenv.reader), 403, "volume:retype")
    volenv.admin.post(f"/v3/volumes/{vid}/action", json={"os-reset_status": {
        "status": "error"}})
    err(_retype(volenv, vid, "gold"), 400, "Unable to update type due to incorrect status")


def test_private_type_of_another_project_is_404(volenv):
    volenv.admin.post("/v3/types", json={"volume_type": {
        "name": "secret", "os-volume-type-access:is_public": False}})
    vid = _volume(volenv)
    err(_retype(volenv, vid, "secret"), 404, "could not be found")
