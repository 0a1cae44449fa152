"""Real proof of snapshots and clones: a volume on the file backend is exported by the host's
tgtd with CHAP; a first marker is written into it through QEMU's iSCSI initiator (as a guest
writes, the volume ``in-use``), a snapshot is taken (``force``: crash-consistent), a second
marker overwrites the first; a volume made from the snapshot, exported and read through
iSCSI in turn, holds the first marker and not the second, and a clone of the source holds
the second."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, iscsi_export, qemu_io, wait_status
from volumes.backends import FileBackend
from volumes.connection import ConnectionInfo
from volumes.targets import TgtTarget

pytestmark = pytest.mark.real
FIRST, SECOND = 0xA1, 0xB2


def holds(info: ConnectionInfo, pattern: int, tmp_path: Path) -> bool:
    """Whether the first 512 bytes of the LUN are all ``pattern``."""
    out = qemu_io(info, f"read -P {pattern:#x} 0 512", tmp_path)
    return "Pattern verification failed" not in out and "read 512/512 bytes" in out


def test_snapshot_of_an_in_use_volume_and_a_clone_through_iscsi(make_volenv, tgtd, tmp_path):
    backend = FileBackend(tmp_path / "volumes")
    env = make_volenv(backend=backend, target=TgtTarget(), **{"volume.bind_initiator": True})
    src = env.create(name="src", size=1)["id"]
    env.wait(src, "available")
    attachments = []
    try:
        att, info = iscsi_export(env, src)
        attachments.append(att)
        env.wait(src, "in-use")
        assert "wrote 512/512 bytes" in qemu_io(info, f"write -P {FIRST:#x} 0 512", tmp_path)
        snap = env.alice.post("/v3/snapshots", headers=MV, json={"snapshot": {
            "volume_id": src, "force": True, "name": "before"}}).json["snapshot"]
        wait_status(lambda: env.alice.get(f"/v3/snapshots/{snap['id']}").json["snapshot"],
                    "available")
        assert "wrote 512/512 bytes" in qemu_io(info, f"write -P {SECOND:#x} 0 512",
                                                tmp_path)
        assert holds(info, SECOND, tmp_path)

        restored = env.create(snapshot_id=snap["id"], size=None, name="restored")["id"]
        clone = env.create(source_volid=src, size=None, name="clone")["id"]
        for vid in (restored, clone):
            env.wait(vid, "available")
        att, restored_info = iscsi_export(env, restored)
        attachments.append(att)
        assert holds(restored_info, FIRST, tmp_path)
        assert not holds(restored_info, SECOND, tmp_path)
        att, clone_info = iscsi_export(env, clone)
        attachments.append(att)
        assert holds(clone_info, SECOND, tmp_path)
        print(f"snapshot volume reads {FIRST:#x}, clone reads {SECOND:#x} over iSCSI")
    finally:
        for att in attachments:
            env.service.delete(f"/v3/attachments/{att}", headers=MV)
    assert env.alice.delete(f"/v3/volumes/{src}?cascade=True").status_code == 202
    wait_status(lambda: {"status": "gone" if not backend.exists(src) else "still"}, "gone")
    assert not backend.snapshot_exists(snap["id"])
