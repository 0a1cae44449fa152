"""Issue 10's guest-visible volume features on real guests (tgtd, QEMU):

- a qos-limited, read-only volume attached to a running guest: the live libvirt domain
  carries the type's front-end qos-specs as ``<iotune>`` and the read-only flag as
  ``<readonly/>`` (what a student sees with ``virsh blkdeviotune`` and ``virsh dumpxml``);
- volume to image: a volume a guest wrote on becomes a qcow2 image holding that data, and a
  new server boots from the image."""
from __future__ import annotations

import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from compute.virt.host import Host
from tests.test_compute_real import NOVA, _console_report, _image_id, _wait, lab_cloud
from tests.test_volumes_attach_real import CINDER, _delete, _wait_volume

pytestmark = pytest.mark.real
LIMITS = {"total_bytes_sec": "2097152", "read_iops_sec": "100", "write_iops_sec": "50"}


@pytest.fixture(scope="module")
def iscsi_cloud():
    yield from lab_cloud({"compute": {"driver": "libvirt", "shutdown_timeout": 5},
                          "volume": {"driver": "file", "target_helper": "tgtadm"}})


def _limited_readonly_volume(client) -> str:
    qos = client.request("volumev3", "POST", "/qos-specs", headers=CINDER, json={
        "qos_specs": {"name": "lab-slow", "consumer": "front-end", **LIMITS}}
    ).json()["qos_specs"]["id"]
    vtype = client.request("volumev3", "POST", "/types", headers=CINDER, json={
        "volume_type": {"name": "lab-limited"}}).json()["volume_type"]["id"]
    client.request("volumev3", "GET", f"/qos-specs/{qos}/associate",
                   params={"vol_type_id": vtype}, headers=CINDER)
    volume_id = client.request("volumev3", "POST", "/volumes", headers=CINDER, json={
        "volume": {"name": "lab-limited", "size": 1, "volume_type": vtype}}
    ).json()["volume"]["id"]
    _wait_volume(client, volume_id, "available")
    client.request("volumev3", "POST", f"/volumes/{volume_id}/action", headers=CINDER,
                   json={"os-update_readonly_flag": {"readonly": True}})
    return volume_id


@pytest.mark.timeout(600)
def test_qos_limits_and_readonly_reach_the_running_guest(iscsi_cloud):
    cloud, client = iscsi_cloud
    volume_id = _limited_readonly_volume(client)
    server_id = client.request("compute", "POST", "/servers", headers=NOVA, json={"server": {
        "name": "qos-vm", "imageRef": _image_id(client, "tiny"), "flavorRef": "6",
        "networks": "none"}}).json()["server"]["id"]
    _wait(client, server_id, "ACTIVE")
    _console_report(client, server_id)
    client.request("compute", "POST", f"/servers/{server_id}/os-volume_attachments",
                   headers=NOVA, json={"volumeAttachment": {"volumeId": volume_id}})
    vol = _wait_volume(client, volume_id, "in-use")
    assert vol["attachments"][0]["server_id"] == server_id

    with Host("qemu:///system") as host:
        live = host.lookup(server_id).xml()
    disk = next(d for d in ET.fromstring(live).iter("disk")
                if d.find("target").get("dev") == "vdc")
    assert {e.tag: e.text for e in disk.find("iotune")} == LIMITS
    assert disk.find("readonly") is not None
    # What a student types: libvirt reports the limits QEMU applies to the running disk.
    tune = subprocess.run(["virsh", "-c", "qemu:///system", "blkdeviotune",
                           f"minicloud-{server_id}", "vdc"], capture_output=True, text=True,
                          check=True, timeout=30).stdout
    print(tune)
    values = dict(line.split(":", 1) for line in tune.splitlines() if ":" in line)
    assert {k.strip(): v.strip() for k, v in values.items() if k.strip() in LIMITS} == LIMITS

    client.request("compute", "DELETE", f"/servers/{server_id}/os-volume_attachments/"
                   f"{volume_id}", headers=NOVA)
    _wait_volume(client, volume_id, "available")
    _delete(client, server_id)
    client.request("volumev3", "DELETE", f"/volumes/{volume_id}", headers=CINDER)


def _wait_image(client, image_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        image = client.request("image", "GET", f"/v2/images/{image_id}").json()
        if image["status"] == "active":
            return image
        assert image["status"] in ("queued", "saving"), image
        time.sleep(1)
    raise AssertionError(f"image {image_id} is still {image['status']}")


@pytest.mark.timeout(900)
def test_volume_to_image_boots_a_server(iscsi_cloud, tmp_path):
    """A guest booted from a volume leaves a marker on it; the volume becomes a qcow2 image
    that holds the marker, and a new server boots from that image."""
    cloud, client = iscsi_cloud
    volume_id = client.request("volumev3", "POST", "/volumes", headers=CINDER, json={
        "volume": {"name": "lab-boot", "size": 1, "imageRef": _image_id(client, "tiny")}}
    ).json()["volume"]["id"]
    _wait_volume(client, volume_id, "available", 120)
    first = client.request("compute", "POST", "/servers", headers=NOVA, json={"server": {
        "name": "writer", "imageRef": "", "flavorRef": "6", "networks": "none",
        "block_device_mapping_v2": [{"uuid": volume_id, "source_type": "volume",
                                     "destination_type": "volume", "boot_index": 0}]}}
    ).json()["server"]["id"]
    _wait(client, first, "ACTIVE")
    (line,) = _console_report(client, first).volumes
    marker = line.wrote
    assert first in marker and line.sector == 2047
    _delete(client, first)
    _wait_volume(client, volume_id, "available")

    upload = client.request("volumev3", "POST", f"/volumes/{volume_id}/action",
                            headers=CINDER, json={"os-volume_upload_image": {
                                "image_name": "from-volume", "disk_format": "qcow2"}})
    assert upload.status_code == 202, upload.text
    image_id = upload.json()["os-volume_upload_image"]["image_id"]
    image = _wait_image(client, image_id)
    print("image", image["id"], image["disk_format"], image["size"], "bytes")
    _wait_volume(client, volume_id, "available")
    saved, raw = tmp_path / "image.qcow2", tmp_path / "image.raw"
    with client.request("image", "GET", f"/v2/images/{image_id}/file", stream=True) as resp:
        with saved.open("wb") as out:
            for chunk in resp.iter_content(1 << 20):
                out.write(chunk)
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(saved), str(raw)],
                   check=True, timeout=300)
    with raw.open("rb") as fh:
        fh.seek(2047 * 512)
        assert marker.encode() in fh.read(512), "the image holds what the guest wrote"

    second = client.request("compute", "POST", "/servers", headers=NOVA, json={"server": {
        "name": "from-image", "imageRef": image_id, "flavorRef": "6", "networks": "none"}}
    ).json()["server"]["id"]
    _wait(client, second, "ACTIVE")
    report = _console_report(client, second)
    print("booted from the image:", report.uuid, report.firmware,
          [(d.name, d.size) for d in report.disks])
    assert report.ready and report.uuid == second
    _delete(client, second)
    client.request("image", "DELETE", f"/v2/images/{image_id}")
    client.request("volumev3", "DELETE", f"/volumes/{volume_id}", headers=CINDER)
