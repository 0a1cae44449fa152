"""The config drive reaches a real guest: the tiny lab guest (BIOS on i440fx, UEFI on q35)
boots with a keypair, user data and ``config_drive``, finds the ``config-2`` CD-ROM on the
SATA bus, and prints ``MINICLOUD-METADATA`` with the server's uuid, the key's fingerprint
(as the API showed it) and the sha256 of the user data. Its vd* disks are as without a
config drive; delete removes ``disk.config`` with the instance."""
from __future__ import annotations

import base64
import hashlib
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.test_compute_real import (
    NOVA,
    _console_report,
    _image_id,
    _wait,
    lab_cloud,
)

pytestmark = pytest.mark.real
USER_DATA = b"#cloud-config\n# minicloud config drive test\n"


@pytest.fixture(scope="module")
def real_cloud():
    yield from lab_cloud({"compute": {"driver": "libvirt", "shutdown_timeout": 5}})


@pytest.mark.timeout(500)
@pytest.mark.parametrize(("image_name", "flavor"), [("tiny", "6"), ("tiny-uefi", "7")])
def test_guest_reads_its_config_drive(real_cloud, image_name, flavor):
    cloud, client = real_cloud
    public = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    key_name = f"key-{image_name}"
    key = client.request("compute", "POST", "/os-keypairs", headers=NOVA, json={
        "keypair": {"name": key_name, "public_key": public}}).json()["keypair"]
    body = {"server": {"name": f"cd-{image_name}", "imageRef": _image_id(client, image_name),
                       "flavorRef": flavor, "networks": "none", "key_name": key_name,
                       "config_drive": True,
                       "user_data": base64.b64encode(USER_DATA).decode()}}
    server_id = client.request("compute", "POST", "/servers", headers=NOVA,
                               json=body).json()["server"]["id"]
    server = _wait(client, server_id, "ACTIVE", timeout=180)
    assert (server["config_drive"], server["key_name"]) == ("True", key_name)
    drive = cloud.state_dir / "instances" / server_id / "disk.config"
    assert drive.stat().st_mode & 0o777 == 0o600
    report = _console_report(client, server_id, timeout=240)
    print(f"{image_name}: MINICLOUD-METADATA {report.metadata}")
    assert report.uuid == server_id
    assert report.metadata is not None, "the guest found no config drive"
    assert report.metadata.uuid == server_id
    assert report.metadata.key == key["fingerprint"]
    assert report.metadata.user_data == hashlib.sha256(USER_DATA).hexdigest()
    assert [d.name for d in report.disks] == ["vda", "vdb"]

    client.request("compute", "DELETE", f"/servers/{server_id}", headers=NOVA)
    client.request("compute", "DELETE", f"/os-keypairs/{key_name}", headers=NOVA)
    deadline = time.monotonic() + 60
    while drive.parent.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not drive.exists() and not drive.parent.exists()
