"""Fault injection on the compute side (``make test-faults``): the compute agent killed with
SIGKILL during each step of spawn, delete, attach, detach and snapshot; a compute API worker
killed in the middle of ``POST /servers``; a guest destroyed or undefined behind the cloud's
back. Each case ends in a final state with a readable fault, ``minicloud audit`` clean, and
a volume's marker intact (tests/faults_fixtures.py)."""
from __future__ import annotations

import subprocess
import threading
import time

import pytest

from tests.faults_fixtures import *  # noqa: F403
from tests.faults_fixtures import (
    NOVA,
    _image_id,
    _wait_volume,
    arm,
    audit_clean,
    boot,
    delete_server,
    delete_volume,
    gone,
    has_marker,
    kill_at,
    new_volume,
    restart,
    server,
    wait_server,
    write_marker,
)

pytestmark = [pytest.mark.real, pytest.mark.faults, pytest.mark.timeout(600)]
AGENT = "compute-agent"


@pytest.mark.parametrize("point", ["compute.spawn.spawning", "compute.spawn.started"])
def test_agent_killed_during_spawn(faults_cloud, point):
    cloud, client = faults_cloud
    arm(cloud, AGENT, point)
    server_id = client.request("compute", "POST", "/servers", headers=NOVA, json={"server": {
        "name": "f-spawn", "imageRef": _image_id(client, "tiny"), "flavorRef": "6",
        "networks": "none"}}).json()["server"]["id"]
    kill_at(cloud, point)
    restart(cloud)
    failed = wait_server(client, server_id, "ERROR")
    assert "interrupted" in failed["fault"]["message"]
    assert "/" not in failed["fault"]["message"]  # no host path
    audit_clean(cloud)
    delete_server(client, server_id)
    audit_clean(cloud)


def test_agent_killed_during_delete(faults_cloud):
    cloud, client = faults_cloud
    volume_id = new_volume(client, "f-del-vol")
    write_marker(cloud, volume_id)
    server_id = boot(client, "f-del", volume_id)
    arm(cloud, AGENT, "compute.delete.destroyed")
    client.request("compute", "DELETE", f"/servers/{server_id}", headers=NOVA)
    kill_at(cloud, "compute.delete.destroyed")
    restart(cloud)
    gone(client, "compute", f"/servers/{server_id}")  # the delete ran again
    _wait_volume(client, volume_id, "available")
    assert has_marker(cloud, volume_id)
    audit_clean(cloud)
    delete_volume(client, volume_id)


@pytest.mark.parametrize("point", ["compute.attach.connected", "compute.attach.plugged"])
def test_agent_killed_during_attach(faults_cloud, point):
    cloud, client = faults_cloud
    server_id = boot(client, "f-att")
    volume_id = new_volume(client, "f-att-vol")
    write_marker(cloud, volume_id)
    arm(cloud, AGENT, point)
    client.request("compute", "POST", f"/servers/{server_id}/os-volume_attachments",
                   headers=NOVA, json={"volumeAttachment": {"volumeId": volume_id}})
    kill_at(cloud, point)
    restart(cloud)
    # an interrupted attach is rolled back: the server as it was, the volume usable
    wait_server(client, server_id, "ACTIVE")
    _wait_volume(client, volume_id, "available", timeout=120)
    assert has_marker(cloud, volume_id)
    audit_clean(cloud)
    delete_server(client, server_id)
    delete_volume(client, volume_id)
    audit_clean(cloud)


def test_agent_killed_during_detach(faults_cloud):
    cloud, client = faults_cloud
    volume_id = new_volume(client, "f-det-vol")
    write_marker(cloud, volume_id)
    server_id = boot(client, "f-det", volume_id)
    arm(cloud, AGENT, "compute.release.unplugged")
    client.request("compute", "DELETE",
                   f"/servers/{server_id}/os-volume_attachments/{volume_id}", headers=NOVA)
    kill_at(cloud, "compute.release.unplugged")
    restart(cloud)
    _wait_volume(client, volume_id, "available", timeout=120)  # the detach ran again
    wait_server(client, server_id, "ACTIVE")
    assert has_marker(cloud, volume_id)
    audit_clean(cloud)
    delete_server(client, server_id)
    delete_volume(client, volume_id)


def test_agent_killed_during_snapshot(faults_cloud):
    cloud, client = faults_cloud
    server_id = boot(client, "f-snap")
    arm(cloud, AGENT, "compute.snapshot.taken")
    resp = client.request("compute", "POST", f"/servers/{server_id}/action", headers=NOVA,
                          json={"createImage": {"name": "f-snap-image"}})
    image_id = resp.json()["image_id"]
    kill_at(cloud, "compute.snapshot.taken")
    restart(cloud)
    wait_server(client, server_id, "ACTIVE")
    gone(client, "image", f"/v2/images/{image_id}")  # no image stays queued
    assert not list((cloud.state_dir / "instances" / server_id).glob("snapshot-*"))
    audit_clean(cloud)
    delete_server(client, server_id)


def test_compute_api_worker_killed_mid_create(faults_cloud):
    cloud, client = faults_cloud
    volume_id = new_volume(client, "f-api-vol")
    arm(cloud, "compute", "compute-api.create.placed")
    body = {"server": {"name": "f-api", "imageRef": _image_id(client, "tiny"),
                       "flavorRef": "6", "networks": "none", "block_device_mapping_v2": [{
                           "uuid": volume_id, "source_type": "volume",
                           "destination_type": "volume", "boot_index": -1}]}}
    answers: list = []
    worker = threading.Thread(target=lambda: answers.append(_post_quietly(client, body)))
    worker.start()
    kill_at(cloud, "compute-api.create.placed")
    worker.join(60)
    restart(cloud, "compute")
    servers = client.request("compute", "GET", "/servers?name=f-api", headers=NOVA).json()
    [server_id] = [s["id"] for s in servers["servers"]]
    # a build no host took: lost after LOST_BUILD_AFTER, ERROR with a fault, volume freed
    failed = wait_server(client, server_id, "ERROR", timeout=300)
    assert "lost" in failed["fault"]["message"]
    _wait_volume(client, volume_id, "available")
    delete_server(client, server_id)
    delete_volume(client, volume_id)
    audit_clean(cloud)


def _post_quietly(client, body: dict):
    try:
        return client.session.post(client.endpoint("compute") + "/servers", json=body,
                                   headers=dict(NOVA, **{"X-Auth-Token": client.token}),
                                   timeout=120)
    except Exception as exc:  # noqa: BLE001 - the worker died under this request
        return exc


def _virsh(*args: str) -> None:
    subprocess.run(["virsh", "-c", "qemu:///system", *args], check=True,
                   capture_output=True, timeout=60)


def test_guest_destroyed_behind_the_clouds_back_is_seen_shut_off(faults_cloud):
    cloud, client = faults_cloud
    server_id = boot(client, "f-virsh-destroy")
    _virsh("destroy", f"minicloud-{server_id}")
    wait_server(client, server_id, "SHUTOFF", timeout=60)  # the power-state sync saw it
    client.request("compute", "POST", f"/servers/{server_id}/action", headers=NOVA,
                   json={"os-start": None})
    wait_server(client, server_id, "ACTIVE")
    audit_clean(cloud)
    delete_server(client, server_id)


def test_guest_undefined_behind_the_clouds_back_ends_in_error_with_a_fault(faults_cloud):
    cloud, client = faults_cloud
    server_id = boot(client, "f-virsh-undefine")
    _virsh("destroy", f"minicloud-{server_id}")
    _virsh("undefine", "--nvram", f"minicloud-{server_id}")
    deadline = time.monotonic() + 60
    while server(client, server_id)["status"] != "SHUTOFF":
        assert time.monotonic() < deadline
        time.sleep(1)
    client.request("compute", "POST", f"/servers/{server_id}/action", headers=NOVA,
                   json={"os-start": None})
    failed = wait_server(client, server_id, "ERROR", timeout=60)
    assert "missing from its hypervisor" in failed["fault"]["message"]
    delete_server(client, server_id)
    audit_clean(cloud)
