"""A persistent volume over real iSCSI (tgtd) attached to real guests as vdc.

Server A gets the volume hot-plugged, is power-cycled so its guest reports the disk, and
writes a marker on it; A is deleted and only the volume survives (no domain, no instance
files, no iSCSI target); server B gets the same volume and finds A's marker.
"""
from __future__ import annotations

import json
import time

import pytest

from compute.guest_image import parse_report
from minicloud import process
from minicloud.client import Client
from tests.test_compute_real import (
    NOVA,
    _console_report,
    _domains,
    _image_id,
    _wait,
    lab_cloud,
)

pytestmark = pytest.mark.real
CINDER = {"OpenStack-API-Version": "volume 3.70"}
GIB = 1024 ** 3


@pytest.fixture(scope="module")
def iscsi_cloud():
    yield from lab_cloud({"compute": {"driver": "libvirt", "shutdown_timeout": 5},
                          "volume": {"driver": "file", "target_helper": "tgtadm"}})


def _targets() -> str:
    return process.run(["tgtadm", "--lld", "iscsi", "--op", "show", "--mode", "target"]
                       ).stdout.decode()


def _volume(client: Client, volume_id: str) -> dict:
    return client.request("volumev3", "GET", f"/volumes/{volume_id}",
                          headers=CINDER).json()["volume"]


def _wait_volume(client: Client, volume_id: str, status: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        vol = _volume(client, volume_id)
        if vol["status"] == status:
            return vol
        time.sleep(0.5)
    raise AssertionError(f"volume {volume_id} is {vol['status']}, not {status}")


def _boot_with_volume(client: Client, name: str, image_id: str, volume_id: str):
    body = {"server": {"name": name, "imageRef": image_id, "flavorRef": "6",
                       "networks": "none"}}
    server_id = client.request("compute", "POST", "/servers", headers=NOVA,
                               json=body).json()["server"]["id"]
    _wait(client, server_id, "ACTIVE")
    _console_report(client, server_id)
    attach = client.request("compute", "POST", f"/servers/{server_id}/os-volume_attachments",
                            headers=NOVA, json={"volumeAttachment": {"volumeId": volume_id}})
    assert attach.json()["volumeAttachment"]["device"] == "/dev/vdc"
    vol = _wait_volume(client, volume_id, "in-use")
    assert vol["attachments"][0]["server_id"] == server_id
    assert vol["attachments"][0]["device"] == "/dev/vdc"
    server = _wait(client, server_id, "ACTIVE")
    assert server["os-extended-volumes:volumes_attached"] == [
        {"id": volume_id, "delete_on_termination": False}]
    # Power-cycle so the guest's init runs again and reports the disk it now has.
    client.request("compute", "POST", f"/servers/{server_id}/action", headers=NOVA,
                   json={"reboot": {"type": "HARD"}})
    _wait(client, server_id, "ACTIVE")
    return server_id, _second_boot_report(client, server_id)


def _second_boot_report(client: Client, server_id: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = client.request("compute", "POST", f"/servers/{server_id}/action", headers=NOVA,
                             json={"os-getConsoleOutput": {}}).json()["output"]
        if out.count("MINICLOUD-READY") >= 2:
            return parse_report(out)  # the last boot's report
        time.sleep(1)
    raise AssertionError(f"no second boot report:\n{out[-2000:]}")


def _delete(client: Client, server_id: str) -> None:
    client.request("compute", "DELETE", f"/servers/{server_id}", headers=NOVA)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        resp = client.session.get(client.endpoint("compute") + f"/servers/{server_id}",
                                  headers=dict(NOVA, **{"X-Auth-Token": client.token}))
        if resp.status_code == 404:
            return
        time.sleep(0.5)
    raise AssertionError("server not deleted")


@pytest.mark.timeout(600)
def test_volume_persists_across_servers(iscsi_cloud):
    cloud, client = iscsi_cloud
    image_id = _image_id(client, "tiny")
    volume_id = client.request("volumev3", "POST", "/volumes", headers=CINDER, json={
        "volume": {"name": "lab-vol", "size": 1}}).json()["volume"]["id"]
    _wait_volume(client, volume_id, "available")

    first, report = _boot_with_volume(client, "vol-a", image_id, volume_id)
    disks = {d.name: (d.size, d.serial) for d in report.disks}
    # virtio-blk serials hold 20 bytes: the guest sees the volume id's first 20 characters.
    assert disks["vdc"] == (GIB, volume_id[:20])
    (vol_line,) = report.volumes
    assert (vol_line.name, vol_line.serial, vol_line.found) == ("vdc", volume_id[:20], "")
    marker = vol_line.wrote
    assert first in marker
    assert volume_id in _targets()

    _delete(client, first)
    _wait_volume(client, volume_id, "available")
    assert volume_id not in _targets(), "no iSCSI target left for the deleted server"
    assert f"minicloud-{first}" not in _domains(cloud)
    assert not (cloud.state_dir / "instances" / first).exists()

    # Server B gets the volume at create time (a block device mapping): vdc from its first boot.
    body = {"server": {"name": "vol-b", "imageRef": image_id, "flavorRef": "6",
                       "networks": "none", "block_device_mapping_v2": [
                           {"uuid": volume_id, "source_type": "volume",
                            "destination_type": "volume", "boot_index": -1}]}}
    second = client.request("compute", "POST", "/servers", headers=NOVA,
                            json=body).json()["server"]["id"]
    _wait(client, second, "ACTIVE")
    assert _wait_volume(client, volume_id, "in-use")["attachments"][0]["server_id"] == second
    report = _console_report(client, second)
    (vol_line,) = report.volumes
    assert vol_line.found == marker, "the second server reads what the first one wrote"

    client.request("compute", "DELETE", f"/servers/{second}/os-volume_attachments/{volume_id}",
                   headers=NOVA)
    _wait_volume(client, volume_id, "available")
    assert volume_id not in _targets()
    _delete(client, second)
    client.request("volumev3", "DELETE", f"/volumes/{volume_id}", headers=CINDER)


@pytest.mark.timeout(600)
def test_boot_from_a_volume_keeps_what_the_guest_wrote(iscsi_cloud):
    """The seeds' "more traditional, persistent system": the OS lives on a volume (vda over
    iSCSI); server A writes on it, is deleted; server B boots the same volume and reads it."""
    cloud, client = iscsi_cloud
    made = cloud.minicloud("volume", "create", "bootvol", "--size", "1", "--image", "tiny",
                           "-f", "value", "-c", "id")
    volume_id = made.stdout.decode().strip()
    assert _wait_volume(client, volume_id, "available")["bootable"] == "true"

    def boot(name: str) -> tuple[str, object]:
        out = cloud.minicloud("server", "create", name, "--volume", "bootvol", "--flavor",
                              "lab.nano", "--wait", "-f", "json").stdout
        server = json.loads(out)
        assert server["image"] == "N/A (booted from volume)"
        report = _console_report(client, server["id"])
        disks = {d.name: (d.size, d.serial) for d in report.disks}
        assert disks["vda"] == (GIB, volume_id[:20])  # the volume, not a local copy
        assert disks["vdb"][1] == ""                   # the flavor's ephemeral disk
        (line,) = report.volumes
        assert (line.name, line.sector) == ("vda", 2047)  # after the partition table
        return server["id"], line

    first, line = boot("bfv-a")
    assert line.found == "" and first in line.wrote
    marker = line.wrote
    view = client.request("compute", "GET", f"/servers/{first}", headers=NOVA).json()["server"]
    assert view["image"] == ""
    assert view["os-extended-volumes:volumes_attached"] == [
        {"id": volume_id, "delete_on_termination": False}]
    assert _volume(client, volume_id)["attachments"][0]["device"] == "/dev/vda"
    assert not (cloud.state_dir / "instances" / first / "disk").exists()

    _delete(client, first)
    _wait_volume(client, volume_id, "available")
    assert volume_id not in _targets()
    assert f"minicloud-{first}" not in _domains(cloud)

    second, line = boot("bfv-b")
    assert line.found == marker, "the second server boots what the first one left"
    assert second in line.wrote
    _delete(client, second)
    _wait_volume(client, volume_id, "available")
    client.request("volumev3", "DELETE", f"/volumes/{volume_id}", headers=CINDER)


@pytest.mark.timeout(600)
def test_boot_from_an_image_onto_a_new_volume_deleted_with_the_server(iscsi_cloud):
    cloud, client = iscsi_cloud
    image_id = _image_id(client, "tiny")
    body = {"server": {"name": "bfv-image", "imageRef": "", "flavorRef": "6",
                       "networks": "none", "block_device_mapping_v2": [
                           {"uuid": image_id, "source_type": "image",
                            "destination_type": "volume", "volume_size": 1, "boot_index": 0,
                            "delete_on_termination": True}]}}
    server_id = client.request("compute", "POST", "/servers", headers=NOVA,
                               json=body).json()["server"]["id"]
    _wait(client, server_id, "ACTIVE")
    (attached,) = client.request("compute", "GET", f"/servers/{server_id}",
                                 headers=NOVA).json()["server"][
        "os-extended-volumes:volumes_attached"]
    assert attached["delete_on_termination"] is True
    volume = _volume(client, attached["id"])
    assert volume["bootable"] == "true" and volume["size"] == 1
    assert volume["volume_image_metadata"]["image_id"] == image_id
    report = _console_report(client, server_id)
    assert {d.name: d.serial for d in report.disks}["vda"] == attached["id"][:20]
    _delete(client, server_id)
    deadline = time.monotonic() + 60
    while client.session.get(
            client.endpoint("volumev3") + f"/volumes/{attached['id']}",
            headers=dict(CINDER, **{"X-Auth-Token": client.token})).status_code != 404:
        assert time.monotonic() < deadline, "the volume was not deleted with the server"
        time.sleep(0.5)
    assert attached["id"] not in _targets()
