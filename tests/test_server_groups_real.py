"""Where real guests run, across two compute hosts on this machine (as tests/test_multihost.py
runs them, here with the libvirt driver on both): anti-affinity puts two guests on different
hosts, affinity on the same; and image pre-caching (2.81) fills the second host's base cache
before its first boot, which then copies no byte of the base (same inode, same mtime).

Each guest proves it booted: its console (read on the host that runs it) carries the lab
guest's report with the server's id as its SMBIOS uuid.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from compute.guest_image import parse_report
from minicloud.client import Client, Credentials
from tests.conftest import start_cloud
from tests.test_compute_real import remove_domains

pytestmark = pytest.mark.real
NOVA = {"OpenStack-API-Version": "compute 2.96", "X-OpenStack-Nova-API-Version": "2.96"}


def _until(check, timeout: float = 180, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"{what} not reached in {timeout}s"
        time.sleep(0.5)
    return value


class TwoHosts:
    def __init__(self, cloud, client: Client, node2: Path, first: str) -> None:
        self.cloud, self.client, self.node2, self.first = cloud, client, node2, first

    def call(self, method: str, path: str, **kw):
        return self.client.request("compute", method, path, headers=NOVA, **kw)

    def instances(self, host: str) -> Path:
        state = self.node2 if host == "node2" else self.cloud.state_dir
        return state / "instances"

    def boot(self, name: str, image_id: str, hints: dict | None = None,
             zone: str | None = None, flavor: str = "6") -> dict:
        body: dict = {"server": {"name": name, "imageRef": image_id, "flavorRef": flavor,
                                 "networks": "none"}}
        if zone:
            body["server"]["availability_zone"] = zone
        if hints:
            body["os:scheduler_hints"] = hints
        return self.call("POST", "/servers", json=body).json()["server"]

    def active(self, server_id: str) -> dict:
        def done():
            server = self.call("GET", f"/servers/{server_id}").json()["server"]
            assert server["status"] != "ERROR", server.get("fault")
            return server if server["status"] == "ACTIVE" else None
        return _until(done, what=f"ACTIVE of {server_id}")

    def report(self, server: dict):
        """The lab guest's console report, read on the host that runs it."""
        log = self.instances(server["OS-EXT-SRV-ATTR:host"]) / server["id"] / "console.log"

        def ready():
            report = parse_report(log.read_text(errors="replace")) if log.exists() else None
            return report if report and report.ready else None
        return _until(ready, what=f"MINICLOUD-READY of {server['id']}")

    def delete(self, *servers: dict) -> None:
        for server in servers:
            self.call("DELETE", f"/servers/{server['id']}")
        for server in servers:
            host = server["OS-EXT-SRV-ATTR:host"]
            _until(lambda s=server, h=host: not (self.instances(h) / s["id"]).exists(),
                   what=f"delete of {server['id']}")


@pytest.fixture(scope="module")
def hosts() -> Iterator[TwoHosts]:
    # libvirt runs QEMU as libvirt-qemu: every directory on the path must be traversable.
    root = Path(tempfile.mkdtemp(prefix="minicloud-sched-", dir="/var/tmp"))
    root.chmod(0o711)
    cloud = start_cloud(root / "state", {"compute": {"driver": "libvirt",
                                                     "shutdown_timeout": 5}}, daemons=True)
    node2 = root / "node2"
    agent = log = None
    try:
        cloud.minicloud("lab", "images")
        c = cloud.credentials
        client = Client(Credentials(c["auth_url"], c["username"], c["password"],
                                    c["project_name"]))
        (first,) = [s["host"] for s in client.request(
            "compute", "GET", "/os-services", headers=NOVA).json()["services"]]
        node2.mkdir(mode=0o711)
        (node2 / "keys").mkdir(mode=0o700)
        shutil.copy2(cloud.state_dir / "keys" / "fernet.key", node2 / "keys" / "fernet.key")
        ports = cloud.ports
        (node2 / "minicloud.conf").write_text(
            f"[database]\nconnection = sqlite:///{cloud.state_dir / 'minicloud.db'}\n"
            f"[identity]\nport = {ports['identity']}\n[image]\nport = {ports['image']}\n"
            f"[volume]\nport = {ports['volume']}\n[compute]\nport = {ports['compute']}\n"
            "host = node2\ndriver = libvirt\nshutdown_timeout = 5\nperiodic_interval = 2\n")
        log = (root / "node2-agent.log").open("wb")
        agent = subprocess.Popen([sys.executable, "-m", "compute.agent"], stdout=log,
                                 stderr=subprocess.STDOUT,
                                 env=dict(os.environ, MINICLOUD_STATE_DIR=str(node2)))
        _until(lambda: any(s["host"] == "node2" and s["state"] == "up" for s in client.request(
            "compute", "GET", "/os-services", headers=NOVA).json()["services"]), 60,
            "node2 up")
        yield TwoHosts(cloud, client, node2, first)
    finally:
        if agent is not None:
            agent.send_signal(signal.SIGTERM)
            agent.wait(60)
        if log is not None:
            log.close()
        cloud.minicloud("down", check=False)
        remove_domains(cloud)
        if (node2 / "cloud-id").exists():
            remove_domains(type("Node2", (), {"state_dir": node2})())
        shutil.rmtree(root, ignore_errors=True)


def _image(hosts: TwoHosts, name: str = "tiny") -> dict:
    return hosts.client.request("image", "GET", "/v2/images",
                                params={"name": name}).json()["images"][0]


def _group(hosts: TwoHosts, policy: str) -> str:
    return hosts.call("POST", "/os-server-groups", json={"server_group": {
        "name": f"real-{policy}", "policy": policy}}).json()["server_group"]["id"]


@pytest.mark.timeout(600)
def test_anti_affinity_puts_two_guests_on_different_hosts(hosts):
    image = _image(hosts)
    group = _group(hosts, "anti-affinity")
    made = [hosts.boot(f"anti-{i}", image["id"], {"group": group}) for i in range(2)]
    servers = [hosts.active(s["id"]) for s in made]
    placed = {s["OS-EXT-SRV-ATTR:host"] for s in servers}
    assert placed == {hosts.first, "node2"}
    for server in servers:
        report = hosts.report(server)
        assert report.uuid == server["id"]
        print(f"{server['id']} on {server['OS-EXT-SRV-ATTR:host']}: "
              f"MINICLOUD-GUEST uuid={report.uuid} firmware={report.firmware}")
        assert server["server_groups"] == [group]
    hosts.delete(*servers)


@pytest.mark.timeout(600)
def test_affinity_puts_two_guests_on_the_same_host(hosts):
    image = _image(hosts)
    group = _group(hosts, "affinity")
    first = hosts.active(hosts.boot("aff-0", image["id"], {"group": group})["id"])
    second = hosts.active(hosts.boot("aff-1", image["id"], {"group": group})["id"])
    assert first["OS-EXT-SRV-ATTR:host"] == second["OS-EXT-SRV-ATTR:host"]
    for server in (first, second):
        report = hosts.report(server)
        assert report.uuid == server["id"]
        print(f"{server['id']} on {server['OS-EXT-SRV-ATTR:host']}: "
              f"MINICLOUD-GUEST uuid={report.uuid} firmware={report.firmware}")
    hosts.delete(first, second)


@pytest.mark.timeout(600)
def test_pre_caching_fills_the_base_before_the_first_boot(hosts):
    image = _image(hosts, "tiny-uefi")  # a base no earlier test left on node2
    base = hosts.node2 / "instances" / "_base" / image["id"]
    assert not base.exists()
    agg = hosts.call("POST", "/os-aggregates", json={"aggregate": {
        "name": "precache"}}).json()["aggregate"]
    hosts.call("POST", f"/os-aggregates/{agg['id']}/action",
               json={"add_host": {"host": "node2"}})
    resp = hosts.client.session.post(
        hosts.client.endpoint("compute") + f"/os-aggregates/{agg['id']}/images",
        headers={"X-Auth-Token": hosts.client.token, "OpenStack-API-Version": "compute 2.81"},
        json={"cache": [{"id": image["id"]}]})
    assert resp.status_code == 202, resp.text
    _until(base.exists, 120, "the pre-cached base")
    before = base.stat()
    print(f"pre-cached {base.name}: {before.st_size} bytes, inode {before.st_ino}")
    # tiny-uefi needs lab.micro (7): its min_ram is above lab.nano's
    server = hosts.active(hosts.boot("warm", image["id"], zone="nova:node2",
                                     flavor="7")["id"])
    assert server["OS-EXT-SRV-ATTR:host"] == "node2"
    report = hosts.report(server)
    assert (report.uuid, report.firmware) == (server["id"], "uefi")
    after = base.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (
        before.st_ino, before.st_mtime_ns, before.st_size)
    print(f"booted {server['id']} on node2 from the pre-cached base: inode and mtime "
          f"unchanged; MINICLOUD-GUEST uuid={report.uuid} firmware={report.firmware}")
    hosts.delete(server)
    hosts.call("POST", f"/os-aggregates/{agg['id']}/action",
               json={"remove_host": {"host": "node2"}})
    hosts.call("DELETE", f"/os-aggregates/{agg['id']}")
