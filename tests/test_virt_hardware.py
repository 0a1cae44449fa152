"""The ``hw_*`` image properties (``compute.virt.hardware``): each accepted value's domain XML,
as libvirt's test driver takes it back, every refusal with its reason, a 400 at server create,
``vhd`` handed to QEMU as ``vpc`` and an ``iso`` booted as a CD-ROM onto an empty root."""
from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import pytest

from compute.virt import hardware
from compute.virt.designer import design_domain
from compute.virt.hardware import HARDWARE, qemu_format, resolve
from compute.virt.host import Host
from minicloud.errors import BadRequest
from tests.compute_fixtures import *  # noqa: F403 - the fixtures
from tests.compute_fixtures import IMAGE_ID
from tests.test_virt_host import TEST_URI


def design(props: dict, **kw: object):
    args: dict = dict(instance_uuid=str(uuid.uuid4()), name="hw", cloud_id="cloud-a",
                      vcpus=1, memory_mib=256, image_properties=props,
                      instance_dir="/var/tmp/inst", root_disk="/var/tmp/inst/disk")
    args.update(kw)
    return design_domain(**args)


def devices(xml: str) -> ET.Element:
    found = ET.fromstring(xml).find("devices")
    assert found is not None
    return found


def defined_xml(config) -> str:
    """The XML libvirt (test driver) keeps after defining ``config``: what it accepted."""
    with Host(TEST_URI) as host:
        guest = host.define(config)
        try:
            return guest.xml()
        finally:
            guest.undefine()


@pytest.mark.parametrize("model", sorted(HARDWARE["hw_video_model"]))
def test_video_models(model: str) -> None:
    config = design({"hw_video_model": model})
    for xml in (config.to_xml(), defined_xml(config)):
        videos = devices(xml).findall("video/model")
        assert [v.get("type") for v in videos] == [model]


def test_rng_virtio_reads_urandom() -> None:
    config = design({"hw_rng_model": "virtio"})
    for xml in (config.to_xml(), defined_xml(config)):
        rng = devices(xml).find("rng")
        assert rng is not None and rng.get("model") == "virtio"
        backend = rng.find("backend")
        assert backend is not None
        assert (backend.get("model"), backend.text) == ("random", "/dev/urandom")


def test_no_hw_properties_no_extra_devices() -> None:
    xml = design({}).to_xml()
    assert devices(xml).find("video") is None and devices(xml).find("rng") is None


@pytest.mark.parametrize(("bus", "machine", "dev", "controller"), [
    ("virtio", None, "vda", None), ("scsi", None, "sda", "virtio-scsi"),
    ("sata", "q35", "sda", None), ("sata", "pc", "sda", None), ("ide", "pc", "hda", None)])
def test_disk_buses(bus: str, machine: str | None, dev: str, controller: str | None) -> None:
    props = {"hw_disk_bus": bus, **({"hw_machine_type": machine} if machine else {})}
    config = design(props)
    for xml in (config.to_xml(), defined_xml(config)):
        root = devices(xml).find("disk/target")
        assert root is not None and (root.get("dev"), root.get("bus")) == (dev, bus)
        models = [c.get("model") for c in devices(xml).findall("controller[@type='scsi']")]
        assert models == ([controller] if controller else [])
        os_type = ET.fromstring(xml).find("os/type")
        assert os_type is not None and os_type.get("machine") == machine


@pytest.mark.parametrize("machine", ["pc", "q35", "pc-i440fx-7.2", "pc-q35-7.2"])
def test_machine_types(machine: str) -> None:
    assert design({"hw_machine_type": machine}).machine == machine


@pytest.mark.parametrize(("machine", "cdrom_bus"), [
    (None, "ide"), ("pc", "ide"), ("q35", "sata"), ("pc-q35-7.2", "sata")])
def test_iso_is_a_cdrom_booted_first(machine: str | None, cdrom_bus: str) -> None:
    props = {"hw_machine_type": machine} if machine else {}
    config = design(props, cdrom="/var/tmp/inst/base.iso")
    xml = config.to_xml()
    assert [b.get("dev") for b in ET.fromstring(xml).findall("os/boot")] == ["cdrom", "hd"]
    disks = devices(xml).findall("disk")
    assert [(d.get("device"), d.find("target").get("bus")) for d in disks] == [  # type: ignore
        ("disk", "virtio"), ("cdrom", cdrom_bus)]
    assert disks[1].find("readonly") is not None
    assert disks[1].find("source").get("file") == "/var/tmp/inst/base.iso"  # type: ignore
    defined_xml(config)


def test_cdrom_bus_scsi_adds_the_controller() -> None:
    config = design({"hw_cdrom_bus": "scsi"}, cdrom="/x.iso")
    assert [c.model for c in config.controllers] == ["virtio-scsi"]
    assert config.disks[1].target_dev == "sda"


@pytest.mark.parametrize(("props", "reason"), [
    ({"hw_disk_bus": "usb"}, "USB disks are not offered"),
    ({"hw_disk_bus": "floppy"}, "accepted values: virtio, scsi, sata, ide"),
    ({"hw_disk_bus": "ide", "hw_machine_type": "q35"}, "q35 machine type has no IDE"),
    ({"hw_cdrom_bus": "ide", "hw_firmware_type": "uefi"}, "q35 machine type has no IDE"),
    ({"hw_cdrom_bus": "virtio"}, "QEMU has no virtio CD-ROM"),
    ({"hw_video_model": "vmvga"}, "VMware SVGA"),
    ({"hw_video_model": "xen"}, "not Xen"),
    ({"hw_video_model": "matrox"}, "accepted values: virtio, vga"),
    ({"hw_rng_model": "egd"}, "accepted values: virtio"),
    ({"hw_machine_type": "pc-q35-1.0"}, "does not list that machine"),
    ({"hw_machine_type": "virt"}, "accepted values: pc, q35"),
])
def test_refusals_name_property_value_and_reason(props: dict, reason: str) -> None:
    with pytest.raises(BadRequest) as exc:
        hardware.check_image(props)
    prop = next(k for k in props if k != "hw_firmware_type" and k != "hw_machine_type"
                or len(props) == 1)
    assert f"{prop}=" in exc.value.message and reason in exc.value.message


def test_resolve_defaults() -> None:
    assert resolve({}) == hardware.Hardware(None, "virtio", "ide", None, None)
    assert resolve({}, uefi=True).machine == "q35"
    assert resolve({"hw_disk_bus": ""}).disk_bus == "virtio"


def test_qemu_formats() -> None:
    assert [qemu_format(f) for f in ("vhd", "qcow2", "ami", "aki", "iso", None, "vmdk")] == [
        "vpc", "qcow2", "raw", "raw", "iso", "raw", "vmdk"]


def test_server_create_refuses_unsupported_hardware(compute_env) -> None:
    compute_env.images.images[IMAGE_ID]["hw_video_model"] = "vmvga"
    resp = compute_env.alice.post("/v2.1/servers", json={"server": {
        "name": "vm", "imageRef": IMAGE_ID, "flavorRef": "6"}})
    assert resp.status_code == 400
    assert "hw_video_model='vmvga' is not supported" in resp.get_json()["badRequest"]["message"]
    assert compute_env.alice.get("/v2.1/servers").get_json()["servers"] == []


def test_server_create_passes_hardware_to_the_driver(compute_env, monkeypatch) -> None:
    props = {"hw_rng_model": "virtio", "hw_disk_bus": "sata", "hw_video_model": "virtio"}
    compute_env.images.images[IMAGE_ID].update(props)
    specs = []
    spawn = compute_env.driver.spawn
    monkeypatch.setattr(compute_env.driver, "spawn", lambda spec: (specs.append(spec),
                                                                   spawn(spec)))
    server_id = compute_env.create_server()
    shown = compute_env.alice.get(f"/v2.1/servers/{server_id}").get_json()["server"]
    assert shown["status"] == "ACTIVE"
    assert [{k: s.image_meta[k] for k in props} for s in specs] == [props]
    assert specs[0].base_format == "raw"


def test_iso_needs_a_flavor_with_a_root_disk(compute_env) -> None:
    compute_env.images.images[IMAGE_ID]["disk_format"] = "iso"
    resp = compute_env.admin.post("/v2.1/flavors", json={"flavor": {
        "name": "diskless", "ram": 256, "vcpus": 1, "disk": 0, "id": "diskless"}})
    assert resp.status_code == 200, resp.get_json()
    resp = compute_env.alice.post("/v2.1/servers", json={"server": {
        "name": "vm", "imageRef": IMAGE_ID, "flavorRef": "diskless"}})
    assert resp.status_code == 400 and "no root disk" in resp.get_json()["badRequest"]["message"]


def test_rebuild_or_rescue_from_an_iso_is_refused(compute_env) -> None:
    server_id = compute_env.create_server()
    iso = compute_env.images.add("installer", disk_format="iso")
    for action in ({"rebuild": {"imageRef": iso["id"]}},
                   {"rescue": {"rescue_image_ref": iso["id"]}}):
        resp = compute_env.alice.post(f"/v2.1/servers/{server_id}/action", json=action)
        assert resp.status_code == 400, resp.get_json()
        assert "is an iso" in resp.get_json()["badRequest"]["message"]
