"""Real proof of a backup's round trip: data written into a volume over iSCSI (the host's
tgtd with CHAP, through QEMU's own initiator, as a guest's disk is written), backed up by the
agent, the volume deleted, the backup restored into a new volume, and the data read back
over iSCSI from the new volume."""
from __future__ import annotations

import pytest

from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, iscsi_export, qemu_io, wait_status
from volumes.backends import FileBackend
from volumes.targets import TgtTarget

pytestmark = pytest.mark.real
OFFSET = 300 * 1024 * 1024 + 4096  # well inside the volume, not in its first chunk


def test_backup_delete_restore_keeps_the_data(make_volenv, tgtd, tmp_path):
    backend = FileBackend(tmp_path / "volumes")
    env = make_volenv(backend=backend, target=TgtTarget())
    vid = env.create(name="precious", size=1)["id"]
    env.wait(vid, "available")

    att_id, info = iscsi_export(env, vid)
    try:
        wrote = qemu_io(info, f"write -P 0x5a {OFFSET} 65536", tmp_path)
        assert "wrote 65536/65536 bytes" in wrote, wrote
        print("qemu-io (write over iSCSI):", wrote.strip().splitlines()[0])
    finally:
        assert env.service.delete(f"/v3/attachments/{att_id}",
                                  headers=MV).status_code == 200
    env.wait(vid, "available")

    backup = env.alice.post("/v3/backups", json={"backup": {"volume_id": vid,
                                                            "name": "b"}}).json["backup"]
    backup = wait_status(lambda: env.alice.get(f"/v3/backups/{backup['id']}", headers=MV)
                         .json["backup"], "available", timeout=120)
    print("backup:", {k: backup[k] for k in ("status", "size", "object_count")})
    assert backup["object_count"] == 1  # one 32 MiB chunk holds the data; the rest is holes
    assert env.alice.delete(f"/v3/volumes/{vid}").status_code == 202
    wait_status(lambda: {"status": "gone" if not backend.exists(vid) else "still"}, "gone")

    restore = env.alice.post(f"/v3/backups/{backup['id']}/restore",
                             json={"restore": {"name": "again"}}).json["restore"]
    new = restore["volume_id"]
    assert new != vid and restore["volume_name"] == "again"
    env.wait(new, "available", timeout=120)
    att_id, info = iscsi_export(env, new)
    try:
        read = qemu_io(info, f"read -P 0x5a {OFFSET} 65536", tmp_path)
        assert "read 65536/65536 bytes" in read and "verification failed" not in read, read
        print("qemu-io (read over iSCSI from the restored volume):",
              read.strip().splitlines()[0])
        zeros = qemu_io(info, "read -P 0 0 65536", tmp_path)
        assert "Pattern verification failed" not in zeros, zeros
    finally:
        env.service.delete(f"/v3/attachments/{att_id}", headers=MV)
