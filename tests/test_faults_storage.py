"""Fault injection on the storage side (``make test-faults``): the volume agent killed with
SIGKILL during create, create-from-image, export, unexport and delete; the image API's worker
killed during an upload and an import (gunicorn's master respawns it); a volume file removed
and a target removed from tgtd behind the cloud's back. Each case ends in a final state,
``minicloud audit`` clean, and a volume's marker intact (tests/faults_fixtures.py)."""
from __future__ import annotations

import subprocess
import threading
import time

import pytest

from minicloud import process
from tests.faults_fixtures import *  # noqa: F403
from tests.faults_fixtures import (
    CINDER,
    NOVA,
    _image_id,
    _volume,
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
    wait_server,
    write_marker,
)
from volumes.connection import iqn_for

pytestmark = [pytest.mark.real, pytest.mark.faults, pytest.mark.timeout(600)]
AGENT = "volume-agent"


def _converts() -> list[str]:
    out = subprocess.run(["pgrep", "-af", "qemu-img convert"], capture_output=True,
                         text=True, check=False).stdout
    return [line for line in out.splitlines() if "pgrep" not in line]


@pytest.mark.parametrize("point, from_image", [
    ("volume.create.start", False), ("volume.create_from_image.converted", True)])
def test_agent_killed_during_create(faults_cloud, point, from_image):
    cloud, client = faults_cloud
    arm(cloud, AGENT, point)
    extra = {"imageRef": _image_id(client, "tiny")} if from_image else {}
    volume_id = client.request("volumev3", "POST", "/volumes", headers=CINDER, json={
        "volume": {"name": "f-create", "size": 1, **extra}}).json()["volume"]["id"]
    kill_at(cloud, point)
    restart(cloud)
    _wait_volume(client, volume_id, "error")  # an interrupted create is not trusted
    assert not list((cloud.state_dir / "volumes").glob(".*.part"))
    assert not [c for c in _converts() if volume_id in c]
    delete_volume(client, volume_id)
    audit_clean(cloud)


def test_agent_killed_during_export(faults_cloud):
    cloud, client = faults_cloud
    server_id = boot(client, "f-export")
    volume_id = new_volume(client, "f-export-vol")
    write_marker(cloud, volume_id)
    arm(cloud, AGENT, "volume.export.account")
    client.request("compute", "POST", f"/servers/{server_id}/os-volume_attachments",
                   headers=NOVA, json={"volumeAttachment": {"volumeId": volume_id}})
    kill_at(cloud, "volume.export.account")
    restart(cloud)
    _wait_volume(client, volume_id, "available", timeout=120)  # the attach rolled back
    wait_server(client, server_id, "ACTIVE")
    assert has_marker(cloud, volume_id)
    audit_clean(cloud)  # no CHAP account left bound to nothing
    delete_server(client, server_id)
    delete_volume(client, volume_id)


@pytest.mark.parametrize("point, action", [
    ("volume.unexport.start", "detach"), ("volume.delete.unexported", "delete")])
def test_agent_killed_during_unexport_or_delete(faults_cloud, point, action):
    cloud, client = faults_cloud
    volume_id = new_volume(client, f"f-{action}-vol")
    write_marker(cloud, volume_id)
    server_id = boot(client, f"f-{action}", volume_id)
    arm(cloud, AGENT, point)
    if action == "detach":
        client.request("compute", "DELETE",
                       f"/servers/{server_id}/os-volume_attachments/{volume_id}",
                       headers=NOVA)
    else:
        delete_server(client, server_id)
        client.request("volumev3", "DELETE", f"/volumes/{volume_id}", headers=CINDER)
    kill_at(cloud, point)
    restart(cloud)
    if action == "detach":  # the unexport ran again; the data is there
        _wait_volume(client, volume_id, "available", timeout=180)
        wait_server(client, server_id, "ACTIVE")
        assert has_marker(cloud, volume_id)
        delete_server(client, server_id)
        delete_volume(client, volume_id)
    else:  # the delete ran again: nothing of the volume is left
        gone(client, "volumev3", f"/volumes/{volume_id}")
    assert iqn_for(volume_id) not in _targets()
    audit_clean(cloud)


def _targets() -> str:
    return process.run(["tgtadm", "--lld", "iscsi", "--op", "show", "--mode", "target"]
                       ).stdout.decode()


def test_image_worker_killed_during_upload(faults_cloud):
    cloud, client = faults_cloud
    arm(cloud, "image", "image.store.writing")
    image_id = client.request("image", "POST", "/v2/images", json={
        "name": "f-upload", "disk_format": "raw", "container_format": "bare"}).json()["id"]
    data = b"\x5a" * (8 << 20)
    sender = threading.Thread(target=_put_quietly, args=(client, image_id, data))
    sender.start()
    kill_at(cloud, "image.store.writing")
    sender.join(60)
    client.session.close()  # its kept-alive connections died with the worker
    # the new worker gunicorn starts re-queues the orphaned upload: no master restart
    image = _wait_image(client, image_id, "queued")
    assert image["status"] == "queued"
    assert not list((cloud.state_dir / "images").glob(f".{image_id}.*"))
    restart(cloud, "image")  # without the knob
    assert client.request("image", "PUT", f"/v2/images/{image_id}/file", data=data, headers={
        "Content-Type": "application/octet-stream"}).status_code == 204
    audit_clean(cloud)
    client.request("image", "DELETE", f"/v2/images/{image_id}")


def test_image_worker_killed_during_import(faults_cloud):
    cloud, client = faults_cloud
    image_id = client.request("image", "POST", "/v2/images", json={
        "name": "f-import", "disk_format": "raw", "container_format": "bare"}).json()["id"]
    client.request("image", "PUT", f"/v2/images/{image_id}/stage", data=b"\x33" * (1 << 20),
                   headers={"Content-Type": "application/octet-stream"})
    arm(cloud, "image", "image.import.running")
    starter = threading.Thread(target=lambda: _quietly(
        client.session.post, client.endpoint("image") + f"/v2/images/{image_id}/import",
        json={"method": {"name": "glance-direct"}}, timeout=60,
        headers={"X-Auth-Token": client.token}))
    starter.start()
    kill_at(cloud, "image.import.running")
    starter.join(60)
    client.session.close()  # its kept-alive connections died with the worker
    image = _wait_image(client, image_id, "queued")
    assert image["os_glance_failed_import"] == "file"
    restart(cloud, "image")
    audit_clean(cloud)
    client.request("image", "DELETE", f"/v2/images/{image_id}")


def _quietly(call, *args, **kw) -> None:
    try:
        call(*args, **kw)
    except Exception:  # noqa: BLE001 - the worker died under this request
        pass


def _put_quietly(client, image_id: str, data: bytes) -> None:
    def body():
        yield data[:1 << 20]
        yield data[1 << 20:]
    _quietly(client.session.put, client.endpoint("image") + f"/v2/images/{image_id}/file",
             data=body(), timeout=60, headers={"X-Auth-Token": client.token,
                                               "Content-Type": "application/octet-stream"})


def _wait_image(client, image_id: str, status: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        image = client.request("image", "GET", f"/v2/images/{image_id}").json()
        if image["status"] == status:
            return image
        assert time.monotonic() < deadline, f"image {image_id} is {image['status']}"
        time.sleep(0.5)


def test_volume_file_removed_behind_the_clouds_back(faults_cloud):
    cloud, client = faults_cloud
    server_id = boot(client, "f-nofile")
    volume_id = new_volume(client, "f-nofile-vol")
    (cloud.state_dir / "volumes" / f"volume-{volume_id}").unlink()
    client.request("compute", "POST", f"/servers/{server_id}/os-volume_attachments",
                   headers=NOVA, json={"volumeAttachment": {"volumeId": volume_id}})
    _wait_volume(client, volume_id, "error", timeout=120)  # not silently available
    wait_server(client, server_id, "ACTIVE")
    events = client.request("compute", "GET", f"/servers/{server_id}/os-instance-actions",
                            headers=NOVA).json()["instanceActions"]
    assert any(a["action"] == "attach_volume" for a in events)
    delete_volume(client, volume_id)
    delete_server(client, server_id)
    audit_clean(cloud)


def test_target_removed_from_tgtd_behind_the_clouds_back(faults_cloud):
    cloud, client = faults_cloud
    volume_id = new_volume(client, "f-notarget-vol")
    write_marker(cloud, volume_id)
    server_id = boot(client, "f-notarget", volume_id)
    tid = next(line.split()[1].rstrip(":") for line in _targets().splitlines()
               if line.startswith("Target ") and line.endswith(iqn_for(volume_id)))
    process.run(["tgtadm", "--lld", "iscsi", "--op", "delete", "--mode", "target",
                 "--force", "--tid", tid])
    # the volume agent's periodic sync puts the export back (same credentials)
    deadline = time.monotonic() + 60
    while iqn_for(volume_id) not in _targets():
        assert time.monotonic() < deadline, "the export was not put back"
        time.sleep(1)
    assert _volume(client, volume_id)["status"] == "in-use"
    assert has_marker(cloud, volume_id)
    audit_clean(cloud)
    delete_server(client, server_id)
    _wait_volume(client, volume_id, "available")
    delete_volume(client, volume_id)
