"""Real proof: a volume on the file backend exported by the host's tgtd with CHAP, read back
through QEMU's own iSCSI initiator (libiscsi, as compute will use it) with the connection
info the API hands out; wrong credentials or another initiator are refused; after the detach
tgtd no longer lists the target."""
from __future__ import annotations

import subprocess

import pytest

from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import INITIATOR, MV, qemu_io_run, wait_status
from volumes.backends import FileBackend
from volumes.connection import ConnectionInfo
from volumes.targets import TgtTarget

pytestmark = pytest.mark.real


def iqns() -> str:
    return subprocess.run(["tgtadm", "--lld", "iscsi", "--op", "show", "--mode", "target"],
                          capture_output=True, text=True, check=True).stdout


def test_chap_export_read_through_qemu_then_unexport(make_volenv, tgtd, tmp_path):
    backend = FileBackend(tmp_path / "volumes")
    env = make_volenv(backend=backend, target=TgtTarget(),
                      **{"volume.bind_initiator": True})
    vid = env.create(name="real", size=1)["id"]
    env.wait(vid, "available")
    with open(backend.path(vid), "r+b") as fh:
        fh.write(b"\xab" * 512)

    att = env.alice.post("/v3/attachments", headers=MV, json={"attachment": {
        "volume_uuid": vid, "instance_uuid": "8f0e6c1e-2a51-4d1b-9f9e-5a7c3b2d1e0f"}}
    ).json["attachment"]
    resp = env.service.put(f"/v3/attachments/{att['id']}", headers=MV, json={"attachment": {
        "connector": {"host": "node1", "initiator": INITIATOR, "mountpoint": "/dev/vdc"}}})
    assert resp.status_code == 200, resp.json
    info = ConnectionInfo.from_dict(resp.json["attachment"]["connection_info"])
    try:
        assert info.data.target_iqn in iqns()
        read = "read -P 0xab 0 512"
        ok = qemu_io_run(info, read, tmp_path)
        assert ok.returncode == 0 and "read 512/512 bytes" in ok.stdout, ok.stderr
        wrong = qemu_io_run(info, read, tmp_path, password="not-the-password")
        assert wrong.returncode != 0 and "Authentication failure" in wrong.stderr
        stranger = qemu_io_run(info, read, tmp_path, initiator="iqn.2024-01.evil:host")
        assert stranger.returncode != 0
        assert info.data.auth_password not in iqns()  # tgtadm never shows the secret
    finally:
        resp = env.service.delete(f"/v3/attachments/{att['id']}", headers=MV)
    assert resp.status_code == 200
    assert info.data.target_iqn not in iqns()
    accounts = subprocess.run(["tgtadm", "--lld", "iscsi", "--op", "show", "--mode",
                               "account"], capture_output=True, text=True, check=True).stdout
    assert info.data.auth_username not in accounts
    assert env.show(vid)["status"] == "available"
    assert env.alice.delete(f"/v3/volumes/{vid}").status_code == 202
    wait_status(lambda: {"status": "gone" if not backend.exists(vid) else "still"}, "gone")
