"""Real guests under QEMU (software emulation) through the whole cloud: BIOS and UEFI.

Each test boots the tiny lab guest and reads its console report: the SMBIOS uuid is the
server id, the firmware is as asked, vda has the flavor's root size and vdb its ephemeral
size. Delete must leave no domain, no instance files, no claims, and the base image intact.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from compute.guest_image import parse_report
from compute.models import Allocation
from compute.virt.host import Host
from minicloud import process
from minicloud.client import Client, Credentials
from minicloud.config import Config
from minicloud.db import Database
from tests.conftest import start_cloud

pytestmark = pytest.mark.real
NOVA = {"OpenStack-API-Version": "compute 2.96", "X-OpenStack-Nova-API-Version": "2.96"}
GIB = 1024 ** 3


def lab_cloud(options: dict[str, dict[str, object]]) -> Iterator[tuple]:
    """A real cloud (daemons, the lab images) with ``options``, and an admin client of it;
    afterwards its guests and state are removed (the state is kept with
    ``MINICLOUD_KEEP_TEST_STATE=1``, to read the logs). Module fixtures ``yield from`` it."""
    # libvirt runs QEMU as libvirt-qemu: every directory on the path must be traversable.
    root = Path(tempfile.mkdtemp(prefix="minicloud-test-", dir="/var/tmp"))
    root.chmod(0o711)
    cloud = start_cloud(root / "state", options, daemons=True)
    try:
        cloud.minicloud("lab", "images")
        c = cloud.credentials
        client = Client(Credentials(c["auth_url"], c["username"], c["password"],
                                    c["project_name"]))
        yield cloud, client
    finally:
        cloud.minicloud("down", check=False)
        remove_domains(cloud)
        if not os.environ.get("MINICLOUD_KEEP_TEST_STATE"):
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def real_cloud():
    yield from lab_cloud({"compute": {"driver": "libvirt", "shutdown_timeout": 5}})


def _domains(cloud) -> list[str]:
    """The libvirt domains of THIS cloud (other clouds may share the host's libvirtd)."""
    cloud_id = (cloud.state_dir / "cloud-id").read_text().strip()
    with Host("qemu:///system") as host:
        return [guest.name for guest in host.guests(cloud_id)]


def remove_domains(cloud) -> None:
    cloud_id = (cloud.state_dir / "cloud-id").read_text().strip()
    with Host("qemu:///system") as host:
        for guest in host.guests(cloud_id):
            guest.destroy()
            guest.undefine()


def _image_id(client: Client, name: str) -> str:
    images = client.request("image", "GET", "/v2/images", params={"name": name}).json()
    return images["images"][0]["id"]


def _wait(client: Client, server_id: str, status: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server = client.request("compute", "GET", f"/servers/{server_id}",
                                headers=NOVA).json()["server"]
        if server["status"] == status:
            return server
        assert server["status"] != "ERROR", server.get("fault")
        time.sleep(0.5)
    raise AssertionError(f"server {server_id} did not reach {status}")


def _console_report(client: Client, server_id: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = client.request("compute", "POST", f"/servers/{server_id}/action", headers=NOVA,
                             json={"os-getConsoleOutput": {}}).json()["output"]
        report = parse_report(out)
        if report.ready:
            return report
        time.sleep(1)
    raise AssertionError(f"no MINICLOUD-READY on the console of {server_id}:\n{out[-2000:]}")


def _sha512(path: Path) -> str:
    return hashlib.sha512(path.read_bytes()).hexdigest()


@pytest.mark.timeout(400)
@pytest.mark.parametrize("image_name, firmware, flavor", [
    ("tiny", "bios", ("6", "lab.nano")), ("tiny-uefi", "uefi", ("7", "lab.micro"))])
def test_boot_report_and_reclaim(real_cloud, image_name, firmware, flavor):
    cloud, client = real_cloud
    image_id = _image_id(client, image_name)
    image = client.request("image", "GET", f"/v2/images/{image_id}").json()
    body = {"server": {"name": f"vm-{firmware}", "imageRef": image_id, "flavorRef": flavor[0],
                       "networks": "none"}}
    server_id = client.request("compute", "POST", "/servers", headers=NOVA,
                               json=body).json()["server"]["id"]
    server = _wait(client, server_id, "ACTIVE")
    assert server["flavor"]["original_name"] == flavor[1]
    report = _console_report(client, server_id)
    assert report.uuid == server_id
    assert report.firmware == firmware
    sizes = {d.name: d.size for d in report.disks}
    assert sizes == {"vda": 1 * GIB, "vdb": 1 * GIB}

    instances = cloud.state_dir / "instances"
    base = instances / "_base" / image_id
    assert _sha512(base) == image["os_hash_value"]
    assert f"minicloud-{server_id}" in _domains(cloud)
    assert (instances / server_id / "disk").exists()

    client.request("compute", "DELETE", f"/servers/{server_id}", headers=NOVA)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        resp = client.session.get(client.endpoint("compute") + f"/servers/{server_id}",
                                  headers=dict(NOVA, **{"X-Auth-Token": client.token}))
        if resp.status_code == 404:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("server not deleted")
    assert f"minicloud-{server_id}" not in _domains(cloud)
    assert not (instances / server_id).exists()
    assert _sha512(base) == image["os_hash_value"], "the base image never changes"
    hosts = client.request("compute", "GET", "/servers/detail", headers=NOVA).json()
    assert server_id not in [s["id"] for s in hosts["servers"]]
    db = Database(Config.load(cloud.state_dir).database_url)
    with db.session() as session:
        assert session.get(Allocation, server_id) is None, "the claim is released"
    db.dispose()


@pytest.mark.timeout(400)
def test_stop_start_and_snapshot_of_a_real_guest(real_cloud):
    cloud, client = real_cloud
    image_id = _image_id(client, "tiny")
    source = client.request("image", "GET", f"/v2/images/{image_id}").json()
    body = {"server": {"name": "vm-snap", "imageRef": image_id, "flavorRef": "6",
                       "networks": "none"}}
    server_id = client.request("compute", "POST", "/servers", headers=NOVA,
                               json=body).json()["server"]["id"]
    _wait(client, server_id, "ACTIVE")
    _console_report(client, server_id)
    action = f"/servers/{server_id}/action"
    client.request("compute", "POST", action, headers=NOVA, json={"os-stop": None})
    server = _wait(client, server_id, "SHUTOFF")
    assert server["OS-EXT-STS:power_state"] == 4
    client.request("compute", "POST", action, headers=NOVA, json={"os-start": None})
    _wait(client, server_id, "ACTIVE")

    snap = client.request("compute", "POST", action, headers=NOVA,
                          json={"createImage": {"name": "vm-snap-image"}}).json()["image_id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        image = client.request("image", "GET", f"/v2/images/{snap}").json()
        if image["status"] == "active":
            break
        time.sleep(1)
    assert image["status"] == "active" and image["disk_format"] == "qcow2"
    assert (image["image_type"], image["instance_uuid"], image["base_image_ref"]) == \
        ("snapshot", server_id, image_id)
    assert image["virtual_size"] == GIB  # the flavor's root disk, flattened
    after = client.request("image", "GET", f"/v2/images/{image_id}").json()
    assert after["os_hash_value"] == source["os_hash_value"], "the source image is untouched"
    client.request("compute", "DELETE", f"/servers/{server_id}", headers=NOVA)
    client.request("image", "DELETE", f"/v2/images/{snap}")


def _upload(client: Client, path: Path, **body) -> str:
    image_id = client.request("image", "POST", "/v2/images", json=body).json()["id"]
    with path.open("rb") as data:
        client.request("image", "PUT", f"/v2/images/{image_id}/file", data=data,
                       headers={"Content-Type": "application/octet-stream"})
    return image_id


@pytest.mark.timeout(400)
def test_ami_image_boots_its_kernel_and_ramdisk(real_cloud, tmp_path):
    """An AMI-style image: the kernel (aki) and ramdisk (ari) are images of their own, named
    by the machine image's kernel_id and ramdisk_id; QEMU boots them directly (no boot
    loader on the disk) and the disk is still vda."""
    cloud, client = real_cloud
    tiny = next((cloud.state_dir / "lab").glob("guest-*/tiny.qcow2"))
    raw = tmp_path / "tiny.raw"
    process.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", tiny, raw])
    initrd, kernel = tmp_path / "initrd.img", tmp_path / "vmlinuz"
    for src, dest in (("::/initrd.img", initrd), ("::/vmlinuz", kernel)):  # from the FAT
        process.run(["mcopy", "-n", "-i", f"{raw}@@1M", src, dest])
    disk = tmp_path / "root.img"
    with disk.open("wb") as fh:
        fh.truncate(1 << 20)  # the root disk: nothing on it needs to boot
    kernel_id = _upload(client, kernel, name="ami-kernel", disk_format="aki",
                        container_format="aki")
    ramdisk_id = _upload(client, initrd, name="ami-ramdisk", disk_format="ari",
                         container_format="ari")
    image_id = _upload(client, disk, name="ami-root", disk_format="ami",
                       container_format="ami", kernel_id=kernel_id, ramdisk_id=ramdisk_id,
                       os_command_line="console=ttyS0 quiet panic=-1")
    server_id = client.request("compute", "POST", "/servers", headers=NOVA, json={"server": {
        "name": "vm-ami", "imageRef": image_id, "flavorRef": "6", "networks": "none"}}
    ).json()["server"]["id"]
    _wait(client, server_id, "ACTIVE")
    report = _console_report(client, server_id)
    assert report.uuid == server_id
    assert {d.name: d.size for d in report.disks} == {"vda": 1 * GIB, "vdb": 1 * GIB}
    base = cloud.state_dir / "instances" / "_base"
    assert (base / kernel_id).is_file() and (base / ramdisk_id).is_file()
    with Host("qemu:///system") as host:
        xml = host.lookup(server_id).xml()
    assert f"<kernel>{base / kernel_id}</kernel>" in xml
    assert "<cmdline>console=ttyS0 quiet panic=-1</cmdline>" in xml
    client.request("compute", "DELETE", f"/servers/{server_id}", headers=NOVA)
