"""Real proof of revert (3.40): a volume on the file backend is exported by the host's tgtd
with CHAP; marker A is written through QEMU's iSCSI initiator, a snapshot is taken
(``force``, in-use), marker B overwrites A; after the attachment is removed the volume is
reverted to the snapshot, exported again and read over iSCSI: it holds A, not B."""
from __future__ import annotations

import pytest

from tests.test_volumes_snapshots_real import holds
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, iscsi_export, qemu_io, wait_status
from volumes.backends import FileBackend
from volumes.targets import TgtTarget

pytestmark = pytest.mark.real
MARKER_A, MARKER_B = 0xA1, 0xB2


def test_revert_to_a_snapshot_through_iscsi(make_volenv, tgtd, tmp_path):
    backend = FileBackend(tmp_path / "volumes")
    env = make_volenv(backend=backend, target=TgtTarget(), **{"volume.bind_initiator": True})
    vid = env.create(name="rev", size=1)["id"]
    env.wait(vid, "available")
    att, info = iscsi_export(env, vid)
    try:
        env.wait(vid, "in-use")
        assert "wrote 512/512 bytes" in qemu_io(info, f"write -P {MARKER_A:#x} 0 512",
                                                tmp_path)
        snap = env.alice.post("/v3/snapshots", headers=MV, json={"snapshot": {
            "volume_id": vid, "force": True, "name": "A"}}).json["snapshot"]
        wait_status(lambda: env.alice.get(f"/v3/snapshots/{snap['id']}").json["snapshot"],
                    "available")
        assert "wrote 512/512 bytes" in qemu_io(info, f"write -P {MARKER_B:#x} 0 512",
                                                tmp_path)
        assert holds(info, MARKER_B, tmp_path)
    finally:
        env.service.delete(f"/v3/attachments/{att}", headers=MV)
    env.wait(vid, "available")
    resp = env.alice.post(f"/v3/volumes/{vid}/action", headers=MV,
                          json={"revert": {"snapshot_id": snap["id"]}})
    assert resp.status_code == 202, resp.json
    env.wait(vid, "available")
    att, info = iscsi_export(env, vid)
    try:
        assert holds(info, MARKER_A, tmp_path)
        assert not holds(info, MARKER_B, tmp_path)
        print(f"after the revert the volume reads {MARKER_A:#x} over iSCSI, not {MARKER_B:#x}")
    finally:
        env.service.delete(f"/v3/attachments/{att}", headers=MV)
    env.wait(vid, "available")
    assert env.alice.delete(f"/v3/volumes/{vid}?cascade=True").status_code == 202
    wait_status(lambda: {"status": "gone" if not backend.exists(vid) else "still"}, "gone")
