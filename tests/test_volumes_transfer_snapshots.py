"""Transfers of a volume with snapshots: the snapshots move with it (project, owner and
quota) unless ``no_snapshots`` (3.55), as Cinder's; without it every snapshot must be
``available`` to offer the volume."""
from __future__ import annotations

from sqlalchemy import update

from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err, wait_status
from volumes.models import VolumeSnapshot

V355 = {"OpenStack-API-Version": "volume 3.55"}


def _snapshot(env, vid: str) -> str:
    sid = env.alice.post("/v3/snapshots", json={"snapshot": {"volume_id": vid}},
                         headers=MV).json["snapshot"]["id"]
    wait_status(lambda: env.alice.get(f"/v3/snapshots/{sid}", headers=MV).json["snapshot"],
                "available")
    return sid


def _usage(env, who) -> dict:
    quota = env.admin.get(f"/v3/os-quota-sets/{who.project_id}?usage=True").json["quota_set"]
    return {k: quota[k]["in_use"] for k in ("volumes", "snapshots", "gigabytes")}


def _offer(env, vid: str, **extra) -> dict:
    resp = env.alice.post("/v3/volume-transfers", headers=V355,
                          json={"transfer": {"volume_id": vid, **extra}})
    assert resp.status_code == 202, resp.json
    return resp.json["transfer"]


def _accept(env, tr: dict) -> None:
    resp = env.bob.post(f"/v3/volume-transfers/{tr['id']}/accept", headers=V355,
                        json={"accept": {"auth_key": tr["auth_key"]}})
    assert resp.status_code == 202, resp.json


def test_snapshots_move_with_the_volume(volenv):
    vid = volenv.create(size=2)["id"]
    volenv.wait(vid, "available")
    sids = {_snapshot(volenv, vid), _snapshot(volenv, vid)}
    tr = _offer(volenv, vid)
    assert tr["no_snapshots"] is False
    _accept(volenv, tr)
    mine = volenv.bob.get("/v3/snapshots/detail", headers=MV).json["snapshots"]
    assert {x["id"] for x in mine} == sids
    assert {x["user_id"] for x in mine} == {volenv.bob.get(
        f"/v3/volumes/{vid}", headers=MV).json["volume"]["user_id"]}
    assert volenv.alice.get("/v3/snapshots", headers=MV).json["snapshots"] == []
    assert _usage(volenv, volenv.alice) == {"volumes": 0, "snapshots": 0, "gigabytes": 0}
    assert _usage(volenv, volenv.bob) == {"volumes": 1, "snapshots": 2, "gigabytes": 6}
    # the new owner can revert to and delete them
    sid = sorted(mine, key=lambda x: x["created_at"])[-1]["id"]
    assert volenv.bob.post(f"/v3/volumes/{vid}/action", headers=MV,
                           json={"revert": {"snapshot_id": sid}}).status_code == 202
    volenv.wait(vid, "available")
    assert volenv.bob.delete(f"/v3/volumes/{vid}?cascade=True").status_code == 202


def test_no_snapshots_leaves_them_with_the_giver(volenv):
    vid = volenv.create()["id"]
    volenv.wait(vid, "available")
    sid = _snapshot(volenv, vid)
    tr = _offer(volenv, vid, no_snapshots=True)
    assert tr["no_snapshots"] is True
    _accept(volenv, tr)
    assert [x["id"] for x in volenv.alice.get("/v3/snapshots", headers=MV)
            .json["snapshots"]] == [sid]
    assert volenv.bob.get("/v3/snapshots", headers=MV).json["snapshots"] == []
    assert _usage(volenv, volenv.alice) == {"volumes": 0, "snapshots": 1, "gigabytes": 1}
    assert _usage(volenv, volenv.bob) == {"volumes": 1, "snapshots": 0, "gigabytes": 1}


def test_a_snapshot_not_available_refuses_the_offer(volenv):
    vid = volenv.create()["id"]
    volenv.wait(vid, "available")
    sid = _snapshot(volenv, vid)
    with volenv.db.session() as s:
        s.execute(update(VolumeSnapshot).where(VolumeSnapshot.id == sid)
                  .values(status="error"))
    err(volenv.alice.post("/v3/volume-transfers", headers=V355,
                          json={"transfer": {"volume_id": vid}}), 400, "must be available")
    assert volenv.show(vid)["status"] == "available"
    _offer(volenv, vid, no_snapshots=True)  # they stay behind: their status does not matter


def test_the_receiver_s_snapshot_quota_is_counted(volenv):
    vid = volenv.create()["id"]
    volenv.wait(vid, "available")
    _snapshot(volenv, vid)
    assert volenv.admin.put(f"/v3/os-quota-sets/{volenv.bob.project_id}",
                            json={"quota_set": {"snapshots": 0}}).status_code == 200
    tr = _offer(volenv, vid)
    err(volenv.bob.post(f"/v3/volume-transfers/{tr['id']}/accept", headers=V355,
                        json={"accept": {"auth_key": tr["auth_key"]}}), 413, "snapshots")
    assert volenv.show(vid)["status"] == "awaiting-transfer"  # nothing changed
    assert _usage(volenv, volenv.alice) == {"volumes": 1, "snapshots": 1, "gigabytes": 2}
    assert _usage(volenv, volenv.bob) == {"volumes": 0, "snapshots": 0, "gigabytes": 0}
