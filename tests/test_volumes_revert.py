"""Revert a volume to its latest snapshot (3.40 ``revert``): the data equals the snapshot's,
``reverting`` then ``available``; Cinder's refusals; a failure leaves the volume ``error``
and the snapshot ``available``. The file backend's revert is a staged copy renamed over the
volume file."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err, wait_status
from volumes.backends import GIB, BackendError, FakeBackend, FileBackend

V339 = {"OpenStack-API-Version": "volume 3.39"}


def _snapshot(env, vid: str, name: str = "s") -> str:
    resp = env.alice.post("/v3/snapshots", json={"snapshot": {"volume_id": vid, "name": name}},
                          headers=MV)
    assert resp.status_code == 202, resp.json
    sid = resp.json["snapshot"]["id"]
    _wait_snap(env, sid, "available")
    return sid


def _wait_snap(env, sid: str, status: str) -> dict:
    return wait_status(lambda: env.alice.get(f"/v3/snapshots/{sid}", headers=MV)
                       .json["snapshot"], status)


def _revert(env, vid: str, sid: str, headers=MV, who=None):
    return (who or env.alice).post(f"/v3/volumes/{vid}/action",
                                   json={"revert": {"snapshot_id": sid}}, headers=headers)


def test_revert_puts_the_snapshot_bytes_back(volenv):
    backend: FakeBackend = volenv.backend
    vid = volenv.create(name="r")["id"]
    volenv.wait(vid, "available")
    backend.contents[vid] = b"marker A"
    sid = _snapshot(volenv, vid)
    backend.contents[vid] = b"marker B"
    resp = _revert(volenv, vid, sid)
    assert resp.status_code == 202, resp.json
    volenv.wait(vid, "available")
    assert backend.contents[vid] == b"marker A"
    assert _wait_snap(volenv, sid, "available")["status"] == "available"
    # an extended volume keeps its size
    assert volenv.alice.post(f"/v3/volumes/{vid}/action", json={"os-extend": {"new_size": 2}},
                             headers=MV).status_code == 202
    volenv.wait(vid, "available")
    assert _revert(volenv, vid, sid).status_code == 202
    volenv.wait(vid, "available")
    assert backend.sizes[vid] == 2 * GIB and volenv.show(vid)["size"] == 2


def test_revert_refusals_as_cinders(volenv):
    vid = volenv.create(name="r")["id"]
    volenv.wait(vid, "available")
    other = volenv.create(name="o")["id"]
    volenv.wait(other, "available")
    err(_revert(volenv, vid, "00000000-0000-0000-0000-000000000000"), 404, "could not be found")
    theirs = _snapshot(volenv, other)
    err(_revert(volenv, vid, theirs), 404, f"No snapshots found for volume {vid}")
    older = _snapshot(volenv, vid, "older")
    newer = _snapshot(volenv, vid, "newer")
    err(_revert(volenv, vid, older), 400, "is not the latest one")
    err(_revert(volenv, vid, theirs), 400, "is not the latest one")
    err(_revert(volenv, vid, newer, headers=V339), 404, "3.40")
    err(volenv.alice.post(f"/v3/volumes/{vid}/action", json={"revert": {}}, headers=MV),
        400, "snapshot_id")
    assert volenv.admin.post(f"/v3/volumes/{vid}/action", headers=MV, json={
        "os-reset_status": {"status": "error"}}).status_code == 202
    err(_revert(volenv, vid, newer), 400, "must be available")
    err(_revert(volenv, vid, newer, who=volenv.bob), 404, vid)
    err(_revert(volenv, vid, newer, who=volenv.reader), 403, "volume:revert_to_snapshot")


def test_a_failed_revert_leaves_the_volume_error(make_volenv):
    env = make_volenv()
    vid = env.create(name="r")["id"]
    env.wait(vid, "available")
    sid = _snapshot(env, vid)
    env.backend.fail_at = "revert_to_snapshot"
    assert _revert(env, vid, sid).status_code == 202
    vol = env.wait(vid, "error")
    assert vol["status"] == "error"
    assert _wait_snap(env, sid, "available")["status"] == "available"


@pytest.fixture
def files(tmp_path: Path) -> FileBackend:
    return FileBackend(tmp_path / "volumes")


def test_file_backend_revert_is_a_complete_copy_renamed_over_the_volume(files):
    files.create("v", 1)
    with open(files.path("v"), "r+b") as fh:
        fh.write(b"marker A")
    files.create_snapshot("s", "v")
    with open(files.path("v"), "r+b") as fh:
        fh.seek(4096)
        fh.write(b"marker B")
    files.extend("v", 2)
    files.revert_to_snapshot("v", "s", 2)
    with open(files.path("v"), "rb") as fh:
        head = fh.read(8192)
    assert head[:8] == b"marker A" and b"marker B" not in head
    assert Path(files.path("v")).stat().st_size == 2 * GIB
    assert files.list_volumes() == ["v"]  # nothing staged is left or listed
    assert files.snapshot_exists("s")
    with pytest.raises(BackendError):
        files.revert_to_snapshot("v", "missing", 2)
    with open(files.path("v"), "rb") as fh:
        assert fh.read(8) == b"marker A"  # untouched by the failure
    with pytest.raises(BackendError):
        files.revert_to_snapshot("gone", "s", 1)
