"""``minicloud audit`` on a real cloud (QEMU guest, tgtd iSCSI): a server with an attached
volume audits clean; a stray domain, CHAP secret, iSCSI target, volume file, snapshot file
and instance directory planted beside it are found, and ``--fix`` removes exactly those."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from compute.virt.designer import design_domain
from compute.virt.driver import secret_usage
from compute.virt.host import Host
from tests.test_compute_real import NOVA, _console_report, _image_id, _wait, lab_cloud
from tests.test_volumes_attach_real import CINDER, _delete, _targets, _wait_volume
from volumes.backends import FileBackend
from volumes.connection import Chap, iqn_for
from volumes.targets import TgtTarget

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def iscsi_cloud():
    yield from lab_cloud({"compute": {"driver": "libvirt", "shutdown_timeout": 5},
                          "volume": {"driver": "file", "target_helper": "tgtadm"}})


def audit(cloud, *args: str) -> tuple[int, list[dict]]:
    proc = cloud.minicloud("audit", "-f", "json", *args, check=False)
    return proc.returncode, json.loads(proc.stdout)


def plant(state: Path, cloud_id: str) -> dict[str, str]:
    """One stray of each host-wide kind, made the way the cloud would have made it."""
    stray_server, stray_volume, stray_secret, stray_snapshot = (str(uuid.uuid4())
                                                                for _ in range(4))
    with Host("qemu:///system") as host:
        host.define(design_domain(
            instance_uuid=stray_server, name="stray", cloud_id=cloud_id, vcpus=1,
            memory_mib=64, image_properties={}, instance_dir=str(state / "nowhere"),
            root_disk=str(state / "nowhere" / "disk")))
        host.define_secret(stray_secret, secret_usage(cloud_id, stray_secret), "pw")
    backend = FileBackend(state / "volumes")
    backend.create(stray_volume, 1)
    TgtTarget().ensure_export(stray_volume, backend.path(stray_volume), Chap.generate())
    backend.create_snapshot(stray_snapshot, stray_volume)
    stray_dir = state / "instances" / str(uuid.uuid4())
    stray_dir.mkdir()
    (stray_dir / "console.log").write_text("left behind\n")
    return {"domain": stray_server, "secret": stray_secret, "target": iqn_for(stray_volume),
            "volume-file": backend.path(stray_volume), "instance-dir": str(stray_dir),
            "snapshot-file": backend.snapshot_path(stray_snapshot)}


@pytest.mark.timeout(600)
def test_audit_finds_and_fixes_exactly_the_strays(iscsi_cloud):
    cloud, client = iscsi_cloud
    volume_id = client.request("volumev3", "POST", "/volumes", headers=CINDER, json={
        "volume": {"name": "audit-vol", "size": 1}}).json()["volume"]["id"]
    _wait_volume(client, volume_id, "available")
    body = {"server": {"name": "audit-vm", "imageRef": _image_id(client, "tiny"),
                       "flavorRef": "6", "networks": "none"}}
    server_id = client.request("compute", "POST", "/servers", headers=NOVA,
                               json=body).json()["server"]["id"]
    _wait(client, server_id, "ACTIVE")
    report = _console_report(client, server_id)
    print("guest report:", report)
    client.request("compute", "POST", f"/servers/{server_id}/os-volume_attachments",
                   headers=NOVA, json={"volumeAttachment": {"volumeId": volume_id}})
    _wait_volume(client, volume_id, "in-use")
    _wait(client, server_id, "ACTIVE")
    assert audit(cloud) == (0, [])

    state = cloud.state_dir
    planted = plant(state, (state / "cloud-id").read_text().strip())
    code, found = audit(cloud)
    assert code == 1
    assert {(f["Check"], f["Item"]) for f in found} == set(planted.items())
    assert {f["Kind"] for f in found} == {"orphan"}

    code, fixed = audit(cloud, "--fix")
    assert code == 0, fixed
    assert {(f["Check"], f["Item"], f["Fixed"]) for f in fixed} == {
        (check, item, "removed") for check, item in planted.items()}
    assert audit(cloud) == (0, [])
    # What the catalog owns is untouched: the guest runs, its volume is still exported.
    with Host("qemu:///system") as host:
        assert host.lookup(server_id) is not None
        assert host.lookup(planted["domain"]) is None
    targets = _targets()
    assert iqn_for(volume_id) in targets and planted["target"] not in targets
    assert (state / "instances" / server_id).is_dir()
    assert (state / "volumes" / f"volume-{volume_id}").is_file()

    _delete(client, server_id)
    client.request("volumev3", "DELETE", f"/volumes/{volume_id}", headers=CINDER)
    _wait_gone(client, volume_id)
    assert audit(cloud) == (0, [])   # deletes leave nothing behind


def _wait_gone(client, volume_id: str) -> None:
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        resp = client.session.get(client.endpoint("volumev3") + f"/volumes/{volume_id}",
                                  headers=dict(CINDER, **{"X-Auth-Token": client.token}))
        if resp.status_code == 404:
            return
        time.sleep(0.5)
    raise AssertionError(f"volume {volume_id} not deleted")
