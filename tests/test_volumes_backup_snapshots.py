"""Backups of snapshots (``snapshot_id`` in the create body): the backup reads the
snapshot's data, not the volume's; the snapshot goes ``backing-up`` and back while the
volume is untouched; Cinder's refusals; the body carries ``snapshot_id``."""
from __future__ import annotations

import pytest

from tests.test_volumes_api_shapes import conforms, tempest_schema
from tests.test_volumes_backups import MIB, _read, _restored, _volume, _write
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err, wait_status
from volumes.backends import FileBackend


@pytest.fixture
def env(make_volenv, tmp_path):
    return make_volenv(backend=FileBackend(tmp_path / "volumes"),
                       **{"volume.backup_chunk_size": MIB})


def _snapshot(env, vid: str) -> dict:
    resp = env.alice.post("/v3/snapshots", json={"snapshot": {"volume_id": vid}}, headers=MV)
    assert resp.status_code == 202, resp.json
    return _wait_snap(env, resp.json["snapshot"]["id"], "available")


def _wait_snap(env, sid: str, status: str) -> dict:
    return wait_status(lambda: env.alice.get(f"/v3/snapshots/{sid}", headers=MV)
                       .json["snapshot"], status)


def test_a_backup_of_a_snapshot_holds_the_snapshot_s_data(env):
    vid = _volume(env)
    _write(env, vid, 5 * MIB, b"marker A")
    snap = _snapshot(env, vid)
    _write(env, vid, 5 * MIB, b"marker B")
    resp = env.alice.post("/v3/backups", headers=MV, json={"backup": {
        "volume_id": vid, "snapshot_id": snap["id"], "name": "of-snap"}})
    assert resp.status_code == 202, resp.json
    bid = resp.json["backup"]["id"]
    backup = wait_status(lambda: env.alice.get(f"/v3/backups/{bid}", headers=MV)
                         .json["backup"], "available")
    shown = env.alice.get(f"/v3/backups/{bid}", headers=MV)
    conforms(tempest_schema("v3_64.backups").show_backup, shown)
    assert backup["snapshot_id"] == snap["id"]
    assert backup["data_timestamp"] == snap["created_at"]
    assert env.show(vid)["status"] == "available"
    assert _wait_snap(env, snap["id"], "available")["status"] == "available"
    new = _restored(env, bid)
    env.wait(new["volume_id"], "available")
    assert _read(env, new["volume_id"], 5 * MIB, 8) == b"marker A"
    # a backup without snapshot_id reads the volume as it is now
    plain = env.alice.post("/v3/backups", headers=MV, json={"backup": {"volume_id": vid}})
    wait_status(lambda: env.alice.get(f"/v3/backups/{plain.json['backup']['id']}",
                                      headers=MV).json["backup"], "available")
    again = _restored(env, plain.json["backup"]["id"])
    env.wait(again["volume_id"], "available")
    assert _read(env, again["volume_id"], 5 * MIB, 8) == b"marker B"


def test_backup_of_a_snapshot_refusals(env):
    vid = _volume(env)
    other = _volume(env)
    snap = _snapshot(env, vid)
    missing = "00000000-0000-4000-8000-000000000000"
    err(env.alice.post("/v3/backups", json={"backup": {"volume_id": vid,
                                                       "snapshot_id": missing}}), 404, missing)
    err(env.alice.post("/v3/backups", json={"backup": {"volume_id": other,
                                                       "snapshot_id": snap["id"]}}),
        400, "does not match")
    err(env.bob.post("/v3/backups", json={"backup": {"volume_id": vid,
                                                     "snapshot_id": snap["id"]}}), 404, vid)
    assert env.admin.post(f"/v3/snapshots/{snap['id']}/action", json={
        "os-reset_status": {"status": "error"}}).status_code == 202
    err(env.alice.post("/v3/backups", json={"backup": {"volume_id": vid,
                                                       "snapshot_id": snap["id"]}}),
        400, "Snapshot to be backed up must be available")
