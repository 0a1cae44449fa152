"""A second compute host joins a running cloud, as a second machine would (docs/architecture.md,
"Growing to several hosts"): its own state directory, the cloud's catalog and Fernet key, the
API services reached over HTTP. Here both "machines" are this one (fake virt driver), so the
test sees the scheduler, the task routing and each host's own instance directory."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from minicloud.client import Client, Credentials

pytestmark = pytest.mark.real
NOVA = {"OpenStack-API-Version": "compute 2.96", "X-OpenStack-Nova-API-Version": "2.96"}


def _until(check, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.2)
    return value


@pytest.fixture(scope="module")
def admin(cloud) -> Client:
    c = cloud.credentials
    return Client(Credentials(c["auth_url"], c["username"], c["password"], c["project_name"]))


@pytest.fixture(scope="module")
def node2(cloud, admin, tmp_path_factory) -> Iterator[Path]:
    """A compute agent for host ``node2``: state dir of its own, the cloud's catalog + key."""
    state = tmp_path_factory.mktemp("node2")
    (state / "keys").mkdir(mode=0o700)
    shutil.copy2(cloud.state_dir / "keys" / "fernet.key", state / "keys" / "fernet.key")
    ports = cloud.ports
    (state / "minicloud.conf").write_text(
        f"[database]\nconnection = sqlite:///{cloud.state_dir / 'minicloud.db'}\n"
        f"[identity]\nport = {ports['identity']}\n[image]\nport = {ports['image']}\n"
        f"[volume]\nport = {ports['volume']}\n"
        f"[compute]\nport = {ports['compute']}\nhost = node2\ndriver = fake\n"
        "periodic_interval = 1\n")
    log = (state / "agent.log").open("wb")
    agent = subprocess.Popen([sys.executable, "-m", "compute.agent"], stdout=log,
                             stderr=subprocess.STDOUT,
                             env=dict(os.environ, MINICLOUD_STATE_DIR=str(state)))
    try:
        _until(lambda: any(s["host"] == "node2" and s["state"] == "up" for s in admin.request(
            "compute", "GET", "/os-services", headers=NOVA).json()["services"]))
        yield state
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(30)
        log.close()
        services = admin.request("compute", "GET", "/os-services", params={"host": "node2"},
                                 headers=NOVA).json()["services"]
        for svc in services:  # leave the shared cloud with its one host
            admin.request("compute", "DELETE", f"/os-services/{svc['id']}", headers=NOVA)


def _create(admin: Client, name: str, image_id: str, zone: str | None = None) -> dict:
    body = {"name": name, "imageRef": image_id, "flavorRef": "6", "networks": "none"}
    if zone:
        body["availability_zone"] = zone
    server_id = admin.request("compute", "POST", "/servers", headers=NOVA,
                              json={"server": body}).json()["server"]["id"]
    return _until(lambda: (s := _show(admin, server_id))["status"] in ("ACTIVE", "ERROR")
                  and s)


def _show(admin: Client, server_id: str) -> dict:
    return admin.request("compute", "GET", f"/servers/{server_id}",
                         headers=NOVA).json()["server"]


@pytest.fixture(scope="module")
def image_id(cloud, tmp_path_factory) -> str:
    disk = tmp_path_factory.mktemp("mh") / "disk.raw"
    with disk.open("wb") as fh:
        fh.truncate(1 << 20)
    return cloud.minicloud("image", "create", "mh-img", "--file", str(disk), "--disk-format",
                           "raw", "-f", "value", "-c", "id").stdout.decode().strip()


def test_a_second_host_runs_the_servers_scheduled_to_it(cloud, admin, node2, image_id):
    services = admin.request("compute", "GET", "/os-services", headers=NOVA).json()["services"]
    up = [s["host"] for s in services if s["state"] == "up"]
    assert len(up) == 2 and "node2" in up
    first_host = next(s for s in services if s["host"] != "node2")

    forced = _create(admin, "mh-forced", image_id, zone="nova:node2")
    assert (forced["status"], forced["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", "node2")
    assert (node2 / "instances" / forced["id"]).is_dir()     # built on node2...
    assert not (cloud.state_dir / "instances" / forced["id"]).exists()  # ...not on the first

    # With the first host disabled, the scheduler can only pick node2.
    admin.request("compute", "PUT", f"/os-services/{first_host['id']}", headers=NOVA,
                  json={"status": "disabled", "disabled_reason": "drain"})
    try:
        placed = _create(admin, "mh-placed", image_id)
        assert (placed["status"], placed["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", "node2")
    finally:
        admin.request("compute", "PUT", f"/os-services/{first_host['id']}", headers=NOVA,
                      json={"status": "enabled"})

    node2_id = next(s["id"] for s in services if s["host"] == "node2")
    busy = admin.session.delete(
        admin.endpoint("compute") + f"/os-services/{node2_id}",
        headers=dict(NOVA, **{"X-Auth-Token": admin.token}))
    assert busy.status_code == 409 and "hosting instances" in busy.text

    # the resource figures are Nova's until 2.87 (2.88 dropped them)
    hypervisors = admin.request("compute", "GET", "/os-hypervisors/detail", headers={
        "OpenStack-API-Version": "compute 2.87"}).json()["hypervisors"]
    on_node2 = next(h for h in hypervisors if h["hypervisor_hostname"] == "node2")
    assert on_node2["running_vms"] == 2 and on_node2["memory_mb_used"] == 2 * 256

    for server in (forced, placed):  # each host deletes its own
        admin.request("compute", "DELETE", f"/servers/{server['id']}", headers=NOVA)
    _until(lambda: not (node2 / "instances" / forced["id"]).exists()
           and not (node2 / "instances" / placed["id"]).exists())
