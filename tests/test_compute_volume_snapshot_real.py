"""createImage of a volume-backed server on real guests (tgtd, QEMU): the image holds only
Nova's mapping, its volume snapshot holds what the guest wrote, and a new server booted
from the image finds the first guest's marker on its new root volume."""
from __future__ import annotations

import json
import time

import pytest

from tests.test_compute_real import NOVA, _console_report, _image_id, _wait, lab_cloud
from tests.test_volumes_attach_real import CINDER, _delete

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def iscsi_cloud():
    yield from lab_cloud({"compute": {"driver": "libvirt", "shutdown_timeout": 5},
                          "volume": {"driver": "file", "target_helper": "tgtadm"}})


@pytest.mark.timeout(900)
def test_snapshot_of_a_volume_backed_server_boots_a_server(iscsi_cloud):
    _cloud, client = iscsi_cloud
    first = client.request("compute", "POST", "/servers", headers=NOVA, json={"server": {
        "name": "writer", "imageRef": "", "flavorRef": "6", "networks": "none",
        "block_device_mapping_v2": [{"uuid": _image_id(client, "tiny"), "boot_index": 0,
                                     "source_type": "image", "destination_type": "volume",
                                     "volume_size": 1, "delete_on_termination": True}]}}
    ).json()["server"]["id"]
    _wait(client, first, "ACTIVE", 300)
    (line,) = _console_report(client, first).volumes
    marker = line.wrote
    # SHUTOFF: the guest's writes are all on the volume (ACTIVE works too: crash-consistent)
    client.request("compute", "POST", f"/servers/{first}/action", headers=NOVA,
                   json={"os-stop": None})
    _wait(client, first, "SHUTOFF")
    resp = client.request("compute", "POST", f"/servers/{first}/action", headers=NOVA,
                          json={"createImage": {"name": "bfv-snap"}})
    assert resp.status_code == 202, resp.text
    image = client.request("image", "GET", f"/v2/images/{resp.json()['image_id']}").json()
    assert image["status"] == "active" and image["size"] == 0 and image["bdm_v2"] == "True"
    (bdm,) = json.loads(image["block_device_mapping"])
    snapshot = client.request("volumev3", "GET", f"/snapshots/{bdm['snapshot_id']}",
                              headers=CINDER).json()["snapshot"]
    print("image", image["id"], "mapping", bdm, "snapshot", snapshot["status"])
    assert snapshot["status"] == "available" and bdm["boot_index"] == 0

    second = client.request("compute", "POST", "/servers", headers=NOVA, json={"server": {
        "name": "from-snapshot", "imageRef": image["id"], "flavorRef": "6",
        "networks": "none"}}).json()["server"]["id"]
    _wait(client, second, "ACTIVE", 300)
    report = _console_report(client, second)
    (vol,) = report.volumes
    print("booted from the snapshot image:", report.uuid, vol)
    assert report.ready and vol.found == marker
    _delete(client, second)
    client.request("image", "DELETE", f"/v2/images/{image['id']}")
    # the snapshot goes first: a volume with snapshots is not deleted (Cinder's rule)
    client.request("volumev3", "DELETE", f"/snapshots/{bdm['snapshot_id']}", headers=CINDER)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and client.request(
            "volumev3", "GET", "/snapshots", headers=CINDER).json()["snapshots"]:
        time.sleep(1)
    _delete(client, first)
