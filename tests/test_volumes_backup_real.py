"""Real proof of a backup's round trip: data written into a volume over iSCSI (the host's
tgtd with CHAP, through QEMU's own initiator, as a guest's disk is written), backed up by the
agent, the volume deleted, the backup restored into a new volume, and the data read back
over iSCSI from the new volume."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, wait_status
from volumes.backends import FileBackend
from volumes.connection import ConnectionInfo
from volumes.targets import TgtTarget

pytestmark = pytest.mark.real
INITIATOR = "iqn.2008-11.org.linux-kvm:minicloud-backup-test"
SERVER = "8f0e6c1e-2a51-4d1b-9f9e-5a7c3b2d1e0f"
OFFSET = 300 * 1024 * 1024 + 4096  # well inside the volume, not in its first chunk


def qemu_io(info: ConnectionInfo, command: str, tmp_path: Path,
            write: bool = False) -> subprocess.CompletedProcess:
    """``qemu-io -c COMMAND`` on the exported volume (CHAP password in a secret file)."""
    d = info.data
    secret = tmp_path / "chap.secret"
    secret.write_text(d.auth_password)
    secret.chmod(0o600)
    opts = ",".join([
        "driver=raw", "file.driver=iscsi", "file.transport=tcp",
        f"file.portal={d.target_portal}", f"file.target={d.target_iqn}",
        f"file.lun={d.target_lun}", f"file.user={d.auth_username}",
        "file.password-secret=chap", f"file.initiator-name={INITIATOR}"])
    return subprocess.run(
        ["qemu-io", "--object", f"secret,id=chap,file={secret}", "--image-opts",
         *([] if write else ["-r"]), "-c", command, opts],
        capture_output=True, text=True, timeout=120, check=False)


def attached(env, vid: str):
    """Attach ``vid`` for a made-up server; yields its connection info, then detaches."""
    att = env.alice.post("/v3/attachments", headers=MV, json={"attachment": {
        "volume_uuid": vid, "instance_uuid": SERVER}}).json["attachment"]
    resp = env.service.put(f"/v3/attachments/{att['id']}", headers=MV, json={"attachment": {
        "connector": {"host": "node1", "initiator": INITIATOR, "mountpoint": "/dev/vdc"}}})
    assert resp.status_code == 200, resp.json
    return att["id"], ConnectionInfo.from_dict(resp.json["attachment"]["connection_info"])


def test_backup_delete_restore_keeps_the_data(make_volenv, tgtd, tmp_path):
    backend = FileBackend(tmp_path / "volumes")
    env = make_volenv(backend=backend, target=TgtTarget())
    vid = env.create(name="precious", size=1)["id"]
    env.wait(vid, "available")

    att_id, info = attached(env, vid)
    try:
        wrote = qemu_io(info, f"write -P 0x5a {OFFSET} 65536", tmp_path, write=True)
        assert wrote.returncode == 0 and "wrote 65536/65536 bytes" in wrote.stdout, \
            wrote.stderr
        print("qemu-io (write over iSCSI):", wrote.stdout.strip().splitlines()[0])
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
    att_id, info = attached(env, new)
    try:
        read = qemu_io(info, f"read -P 0x5a {OFFSET} 65536", tmp_path)
        assert read.returncode == 0 and "read 65536/65536 bytes" in read.stdout, \
            (read.stdout, read.stderr)
        print("qemu-io (read over iSCSI from the restored volume):",
              read.stdout.strip().splitlines()[0])
        zeros = qemu_io(info, "read -P 0 0 65536", tmp_path)
        assert zeros.returncode == 0 and "Pattern verification failed" not in zeros.stdout
    finally:
        env.service.delete(f"/v3/attachments/{att_id}", headers=MV)
