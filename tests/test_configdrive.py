"""Config drives: what the API keeps (user_data, config_drive), what the agent hands the
driver, the image built in OpenStack's layout (read back with pycdlib and mtools), and how
the designer attaches it."""
from __future__ import annotations

import base64
import io
import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pycdlib
import pytest

from compute import configdrive
from compute.agent import Agent
from compute.virt.designer import design_domain
from minicloud.config import Config
from minicloud.errors import MinicloudError
from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import IMAGE_ID, mv

USER_DATA = b"#!/bin/sh\necho hello from user data\n"
LINE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx6Y4pYdHZKZtT6x2XrWbqgZl0Z4XnGfX4bNxE3p1qM a@b"


def drive(fmt: str = "iso9660", **kw) -> configdrive.ConfigDrive:
    args = dict(uuid="6f1c3a52-5b0e-4d8a-9a57-0c2f1e7d9b11", name="web 1", hostname="web-1",
                project_id="p1", availability_zone="nova", metadata={"role": "web"},
                key_name="mine", key_data=LINE,
                user_data=base64.b64encode(USER_DATA).decode(), fmt=fmt)
    return configdrive.contents(**{**args, **kw})


def test_contents_follow_openstacks_layout():
    files = drive().files
    meta = json.loads(files["openstack/latest/meta_data.json"])
    assert meta == {"uuid": "6f1c3a52-5b0e-4d8a-9a57-0c2f1e7d9b11", "name": "web 1",
                    "hostname": "web-1", "launch_index": 0, "availability_zone": "nova",
                    "project_id": "p1", "public_keys": {"mine": LINE},
                    "keys": [{"name": "mine", "type": "ssh", "data": LINE}],
                    "meta": {"role": "web"}, "devices": []}
    assert files["openstack/latest/user_data"] == USER_DATA
    assert files["openstack/2012-08-10/meta_data.json"] == \
        files["openstack/latest/meta_data.json"]
    bare = drive(key_name=None, key_data=None, user_data=None).files
    assert set(bare) == {"openstack/latest/meta_data.json",
                         "openstack/2012-08-10/meta_data.json"}
    assert json.loads(bare["openstack/latest/meta_data.json"])["keys"] == []
    with pytest.raises(MinicloudError, match="config_drive_format"):
        drive(fmt="ext4")


def test_iso9660_image_reads_back(tmp_path: Path):
    dest = tmp_path / "disk.config"
    configdrive.build(drive(), dest)
    assert dest.stat().st_mode & 0o777 == 0o600
    iso = pycdlib.PyCdlib()
    iso.open(str(dest))
    try:
        assert iso.pvd.volume_identifier.decode().strip() == "config-2"
        out = {}
        for path in drive().files:
            buf = io.BytesIO()
            iso.get_file_from_iso_fp(buf, rr_path=f"/{path}")
            out[path] = buf.getvalue()
            buf = io.BytesIO()
            iso.get_file_from_iso_fp(buf, joliet_path=f"/{path}")
            assert buf.getvalue() == out[path]
    finally:
        iso.close()
    assert out == dict(drive().files)


def test_vfat_image_reads_back(tmp_path: Path):
    dest = tmp_path / "disk.config"
    configdrive.build(drive("vfat"), dest)
    assert dest.stat().st_mode & 0o777 == 0o600
    label = subprocess.run(["mlabel", "-s", "-i", str(dest), "::"], capture_output=True,
                           text=True, check=True).stdout
    assert "config-2" in label.lower()
    for path, data in drive("vfat").files.items():
        copy = tmp_path / "out"
        subprocess.run(["mcopy", "-o", "-i", str(dest), f"::{path}", str(copy)], check=True)
        assert copy.read_bytes() == data


def test_a_failed_build_leaves_no_file(tmp_path: Path):
    dest = tmp_path / "disk.config"
    with pytest.raises(MinicloudError):
        configdrive.build(configdrive.ConfigDrive({"a": b"x"}, "ext4"), dest)
    assert not dest.exists()


# -- the designer ----------------------------------------------------------------------------
def _design(fmt: str, **props: str) -> ET.Element:
    config = design_domain(
        instance_uuid="6f1c3a52-5b0e-4d8a-9a57-0c2f1e7d9b11", name="vm", cloud_id="c",
        vcpus=1, memory_mib=128, image_properties=props, instance_dir="/inst",
        root_disk="/inst/disk", ephemeral_disk="/inst/disk.eph0",
        config_drive="/inst/disk.config", config_drive_format=fmt)
    return ET.fromstring(config.to_xml())


def test_iso_config_drive_is_a_read_only_sata_cdrom():
    disks = _design("iso9660").findall("devices/disk")
    assert [d.find("target").get("dev") for d in disks] == ["vda", "vdb", "sda"]
    cdrom = disks[-1]
    assert (cdrom.get("device"), cdrom.find("target").get("bus")) == ("cdrom", "sata")
    assert cdrom.find("readonly") is not None
    assert cdrom.find("source").get("file") == "/inst/disk.config"
    assert cdrom.find("driver").get("type") == "raw"


def test_vfat_config_drive_is_a_sata_disk():
    disk = _design("vfat", hw_firmware_type="uefi").findall("devices/disk")[-1]
    assert (disk.get("device"), disk.find("target").get("bus")) == ("disk", "sata")
    assert disk.find("readonly") is None  # QEMU's SATA disks cannot be read-only


def test_config_drive_keeps_clear_of_scsi_names():
    disks = _design("iso9660", hw_disk_bus="scsi").findall("devices/disk")
    assert [d.find("target").get("dev") for d in disks] == ["sda", "sdb", "sdc"]


# -- through the API and the agent -----------------------------------------------------------
def _body(**extra) -> dict:
    return {"server": {"name": "vm", "imageRef": IMAGE_ID, "flavorRef": "6", **extra}}


def test_config_drive_and_user_data_reach_the_driver(compute_env):
    env = compute_env
    resp = env.alice.post("/v2.1/servers", json=_body(
        config_drive="true", metadata={"role": "web"},
        user_data=base64.b64encode(USER_DATA).decode()))
    assert resp.status_code == 202, resp.get_json()
    sid = resp.get_json()["server"]["id"]
    env.work()
    files = env.driver.config_drives[sid].files
    meta = json.loads(files["openstack/latest/meta_data.json"])
    assert (meta["uuid"], meta["name"], meta["meta"], meta["keys"]) == (
        sid, "vm", {"role": "web"}, [])
    assert meta["project_id"] == env.alice.project_id
    assert files["openstack/latest/user_data"] == USER_DATA
    shown = env.alice.get(f"/v2.1/servers/{sid}").get_json()["server"]
    assert shown["config_drive"] == "True"
    assert "OS-EXT-SRV-ATTR:user_data" not in shown
    admin = env.admin.get(f"/v2.1/servers/{sid}", headers=mv("2.3")).get_json()["server"]
    assert admin["OS-EXT-SRV-ATTR:user_data"] == base64.b64encode(USER_DATA).decode()
    assert "OS-EXT-SRV-ATTR:user_data" not in env.admin.get(
        f"/v2.1/servers/{sid}", headers=mv("2.1")).get_json()["server"]
    instance_dir = env.conf.path(env.conf.compute.instances_path) / sid
    assert (instance_dir / "disk.config").exists()
    env.alice.delete(f"/v2.1/servers/{sid}")
    env.work()
    assert not instance_dir.exists() and sid not in env.driver.config_drives


def test_no_config_drive_unless_asked(compute_env):
    env = compute_env
    sid = env.create_server(user_data=base64.b64encode(b"x").decode())
    assert sid not in env.driver.config_drives
    assert env.alice.get(f"/v2.1/servers/{sid}").get_json()["server"]["config_drive"] == ""
    resp = env.alice.post("/v2.1/servers", json=_body(config_drive="maybe"))
    assert resp.status_code == 400


def test_force_config_drive(compute_env):
    env = compute_env
    conf_file = env.conf.state_dir / "minicloud.conf"
    conf_file.write_text(conf_file.read_text() + "force_config_drive = true\n"
                         "config_drive_format = vfat\n")
    agent = Agent(Config.load(env.conf.state_dir, environ={}), env.db, env.driver,
                  lambda: env.images, lambda: env.volumes)
    env.agent = agent
    sid = env.create_server()
    assert env.driver.config_drives[sid].format == "vfat"
    assert env.alice.get(f"/v2.1/servers/{sid}").get_json()["server"]["config_drive"] == "True"
