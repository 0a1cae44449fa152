"""Real guests with ``hw_*`` image properties (``compute.virt.hardware``) and an ``iso`` image.

The lab guest's disk, uploaded again with ``hw_disk_bus=sata``, ``hw_rng_model=virtio`` and
``hw_video_model=virtio``, boots (SeaBIOS reads its root disk over AHCI, the guest reports on
its console) and libvirt's live definition has the SATA disk, the virtio RNG fed from
/dev/urandom and the virtio video adapter. An ``iso`` image is attached as a read-only
CD-ROM booted first, before an empty root disk of the flavor's size.
"""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pycdlib
import pytest

from compute.disks import virtual_size
from compute.virt.host import Host
from minicloud.client import Client
from tests.test_compute_real import (
    NOVA,
    _console_report,
    _image_id,
    _upload,
    _wait,
    lab_cloud,
)

pytestmark = pytest.mark.real
GIB = 1024 ** 3


@pytest.fixture(scope="module")
def real_cloud():
    yield from lab_cloud({"compute": {"driver": "libvirt", "shutdown_timeout": 5}})


def _boot(client: Client, image_id: str, name: str) -> str:
    body = {"server": {"name": name, "imageRef": image_id, "flavorRef": "6",
                       "networks": "none"}}
    resp = client.request("compute", "POST", "/servers", headers=NOVA, json=body)
    return resp.json()["server"]["id"]


def _live_xml(server_id: str) -> ET.Element:
    with Host("qemu:///system") as host:
        guest = host.lookup(server_id)
        assert guest is not None
        return ET.fromstring(guest.xml())


@pytest.mark.timeout(400)
def test_sata_disk_virtio_rng_and_video(real_cloud, tmp_path):
    cloud, client = real_cloud
    tiny = _image_id(client, "tiny")
    source = client.request("image", "GET", f"/v2/images/{tiny}").json()
    data = tmp_path / "tiny.img"
    data.write_bytes(client.request("image", "GET", f"/v2/images/{tiny}/file").content)
    image_id = _upload(client, data, name="tiny-hw", disk_format=source["disk_format"],
                       container_format="bare", hw_disk_bus="sata",
                       hw_rng_model="virtio", hw_video_model="virtio")
    server_id = _boot(client, image_id, "vm-hw")
    _wait(client, server_id, "ACTIVE")
    report = _console_report(client, server_id)
    assert report.uuid == server_id
    assert report.disks == [] or all(not d.name.startswith("vd") for d in report.disks)

    dom = _live_xml(server_id)
    disk = dom.find("devices/disk[@device='disk']/target")
    assert disk is not None and (disk.get("dev"), disk.get("bus")) == ("sda", "sata")
    rng = dom.find("devices/rng")
    assert rng is not None and rng.get("model") == "virtio"
    assert rng.findtext("backend") == "/dev/urandom"
    assert [m.get("type") for m in dom.findall("devices/video/model")] == ["virtio"]
    print("live XML:", ET.tostring(dom.find("devices"), encoding="unicode")[:3000])
    print("console:", client.request("compute", "POST", f"/servers/{server_id}/action",
                                     headers=NOVA, json={"os-getConsoleOutput": {}}
                                     ).json()["output"][-1500:])
    client.request("compute", "DELETE", f"/servers/{server_id}", headers=NOVA)


def _data_iso(path: Path) -> None:
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, joliet=3, vol_ident="INSTALLER")
    payload = b"minicloud installer\n"
    iso.add_fp(io.BytesIO(payload), len(payload), "/README.;1",
               joliet_path="/README")
    iso.write(str(path))
    iso.close()


@pytest.mark.timeout(400)
def test_iso_image_is_a_cdrom_before_an_empty_root(real_cloud, tmp_path):
    cloud, client = real_cloud
    path = tmp_path / "installer.iso"
    _data_iso(path)
    image_id = _upload(client, path, name="installer", disk_format="iso",
                       container_format="bare")
    assert client.request("image", "GET", f"/v2/images/{image_id}").json()["status"] == \
        "active"
    server_id = _boot(client, image_id, "vm-iso")
    _wait(client, server_id, "ACTIVE")
    dom = _live_xml(server_id)
    assert [b.get("dev") for b in dom.findall("os/boot")] == ["cdrom", "hd"]
    disks = dom.findall("devices/disk")
    buses = [(d.get("device"), d.find("target").get("bus")) for d in disks]  # type: ignore
    # root (vda) and lab.nano's ephemeral disk (vdb), then the CD-ROM (ide on i440fx)
    assert buses == [("disk", "virtio"), ("disk", "virtio"), ("cdrom", "ide")]
    cdrom = disks[2]
    assert cdrom.find("readonly") is not None
    assert cdrom.find("source").get("file").endswith(f"_base/{image_id}")  # type: ignore
    root = cloud.state_dir / "instances" / server_id / "disk"
    assert virtual_size(root, "qcow2") == 1 * GIB  # lab.nano's root disk, empty
    print("live XML:", ET.tostring(dom.find("devices"), encoding="unicode")[:3000])
    client.request("compute", "DELETE", f"/servers/{server_id}", headers=NOVA)
