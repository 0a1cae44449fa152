"""Helpers of the fault-injection suite (tests/test_faults_*.py, ``make test-faults``).

A real cloud (QEMU guests, file volumes exported by tgtd) with short periodic intervals; a
process is restarted with ``MINICLOUD_FAULT_AT=<point>`` (:mod:`minicloud.faults`), stops
itself at that step, is killed with SIGKILL there, and ``minicloud up`` starts it again
without the knob. Each case then checks that the work ended in a final state, that
``minicloud audit`` is clean, and (where a volume is involved) that a marker written into the
volume before the kill is still there.
"""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from minicloud import faults
from minicloud.runner import _alive
from tests.test_compute_real import NOVA, _image_id, lab_cloud
from tests.test_volumes_attach_real import CINDER, _volume, _wait_volume

__all__ = ["faults_cloud", "arm", "kill_at", "restart", "audit_clean", "server",
           "wait_server", "new_volume", "write_marker", "has_marker", "boot", "gone",
           "delete_server", "delete_volume", "CINDER", "NOVA", "_image_id", "_volume",
           "_wait_volume"]

MARKER = b"MINICLOUD-FAULT-MARKER\n" * 16


@pytest.fixture(scope="module")
def faults_cloud():
    yield from lab_cloud({
        "compute": {"driver": "libvirt", "shutdown_timeout": 5, "periodic_interval": 2},
        "volume": {"driver": "file", "target_helper": "tgtadm", "periodic_interval": 2}})


def _pid(cloud, name: str) -> int | None:
    try:
        pid = int((cloud.state_dir / "run" / f"{name}.pid").read_text())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _stop(cloud, name: str) -> None:
    pid = _pid(cloud, name)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while _alive(pid):
        assert time.monotonic() < deadline, f"{name} did not stop"
        time.sleep(0.1)


def arm(cloud, name: str, point: str) -> None:
    """Restart ``name`` (an agent or an API service) so that it stops at ``point``."""
    _stop(cloud, name)
    cloud.minicloud("up", env={"MINICLOUD_FAULT_AT": point})


def kill_at(cloud, point: str, timeout: float = 180) -> int:
    """Wait until a process stopped at ``point``, SIGKILL it there; its pid."""
    marker = faults.marker(cloud.state_dir, point)
    deadline = time.monotonic() + timeout
    while not (marker.exists() and marker.read_text().strip()):
        assert time.monotonic() < deadline, f"nothing reached {point}"
        time.sleep(0.1)
    pid = int(marker.read_text())
    os.kill(pid, signal.SIGKILL)
    marker.unlink()
    while _alive(pid):
        time.sleep(0.05)
    return pid


def restart(cloud, name: str | None = None) -> None:
    """``minicloud up`` without the knob (``name``: also stop that process first, for a
    service whose master survived its killed worker)."""
    if name is not None:
        _stop(cloud, name)
    cloud.minicloud("up")


def audit_clean(cloud, timeout: float = 60) -> None:
    """``minicloud audit`` finds nothing (retried a while: periodic recovery may still be
    finishing when a case reaches its final state)."""
    deadline = time.monotonic() + timeout
    while True:
        proc = cloud.minicloud("audit", "-f", "json", check=False)
        found = json.loads(proc.stdout or b"[]")
        if proc.returncode == 0 and not found:
            return
        assert time.monotonic() < deadline, f"audit is not clean: {found}"
        time.sleep(2)


def server(client, server_id: str) -> dict | None:
    resp = client.session.get(client.endpoint("compute") + f"/servers/{server_id}",
                              headers=dict(NOVA, **{"X-Auth-Token": client.token}))
    return None if resp.status_code == 404 else resp.json()["server"]


def wait_server(client, server_id: str, status: str | None, timeout: float = 180,
                task: bool = True) -> dict | None:
    """Wait for ``status`` (``None``: gone) with no task running (when ``task``)."""
    deadline = time.monotonic() + timeout
    while True:
        current = server(client, server_id)
        if current is None and status is None:
            return None
        if current is not None and current["status"] == status and (
                not task or current.get("OS-EXT-STS:task_state") is None):
            return current
        assert time.monotonic() < deadline, (
            f"server {server_id} is {current and current['status']} "
            f"({current and current.get('OS-EXT-STS:task_state')}), not {status}")
        time.sleep(1)


def gone(client, service: str, path: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        resp = client.session.get(client.endpoint(service) + path, headers={
            "X-Auth-Token": client.token, **CINDER, **NOVA})
        if resp.status_code == 404:
            return
        assert time.monotonic() < deadline, f"{path} still exists: {resp.text[:300]}"
        time.sleep(1)


def delete_server(client, server_id: str) -> None:
    """DELETE the server and wait until it is gone."""
    client.request("compute", "DELETE", f"/servers/{server_id}", headers=NOVA)
    gone(client, "compute", f"/servers/{server_id}")


def delete_volume(client, volume_id: str) -> None:
    """DELETE the volume and wait until it is gone."""
    client.request("volumev3", "DELETE", f"/volumes/{volume_id}", headers=CINDER)
    gone(client, "volumev3", f"/volumes/{volume_id}")


def new_volume(client, name: str, **extra) -> str:
    volume_id = client.request("volumev3", "POST", "/volumes", headers=CINDER, json={
        "volume": {"name": name, "size": 1, **extra}}).json()["volume"]["id"]
    _wait_volume(client, volume_id, "available", timeout=180)
    return volume_id


def _volume_file(cloud, volume_id: str) -> Path:
    return cloud.state_dir / "volumes" / f"volume-{volume_id}"


def write_marker(cloud, volume_id: str) -> None:
    """Data a tenant wrote before the fault (at 1 MiB into the volume's file)."""
    with _volume_file(cloud, volume_id).open("r+b") as fh:
        fh.seek(1 << 20)
        fh.write(MARKER)
        fh.flush()
        os.fsync(fh.fileno())


def has_marker(cloud, volume_id: str) -> bool:
    with _volume_file(cloud, volume_id).open("rb") as fh:
        fh.seek(1 << 20)
        return fh.read(len(MARKER)) == MARKER


def boot(client, name: str, volume_id: str | None = None) -> str:
    """An ACTIVE server of the tiny lab image (with ``volume_id`` attached at create)."""
    body: dict = {"name": name, "imageRef": _image_id(client, "tiny"), "flavorRef": "6",
                  "networks": "none"}
    if volume_id:
        body["block_device_mapping_v2"] = [{
            "uuid": volume_id, "source_type": "volume", "destination_type": "volume",
            "boot_index": -1, "delete_on_termination": False}]
    server_id = client.request("compute", "POST", "/servers", headers=NOVA,
                               json={"server": body}).json()["server"]["id"]
    wait_server(client, server_id, "ACTIVE")
    return server_id
