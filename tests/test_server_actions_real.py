"""The server actions on a real guest (QEMU through libvirt): pause and suspend keep the
running guest (no new boot on its console), rebuild boots it again from a new vda with its
vdb file kept, rescue boots a copy of the image with the server's vda as vdb,
a soft delete keeps the powered-off domain and its disks until restore
brings it back, and forceDelete removes everything.

The guest's console log is appended across boots (``<log append='on'>``): the number of
``MINICLOUD-READY`` lines counts its boots.
"""
from __future__ import annotations

import time

import pytest

from compute import states
from compute.guest_image import parse_report
from compute.virt.host import Host
from minicloud.client import Client
from tests.test_compute_real import NOVA, _image_id, _wait, lab_cloud

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def real_cloud():
    yield from lab_cloud({"compute": {"driver": "libvirt", "shutdown_timeout": 5,
                                      "reclaim_instance_interval": 3600}})


def _console(client: Client, server_id: str) -> str:
    return client.request("compute", "POST", f"/servers/{server_id}/action", headers=NOVA,
                          json={"os-getConsoleOutput": {}}).json()["output"]


def _boots(client: Client, server_id: str, count: int, timeout: float = 180) -> str:
    """Wait until the console shows ``count`` completed boots; the console text."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = _console(client, server_id)
        if out.count("MINICLOUD-READY") >= count:
            return out
        time.sleep(1)
    raise AssertionError(f"{server_id} did not boot {count} times:\n{out[-2000:]}")


def _domain(cloud, server_id: str):
    """(libvirt power state, has a managed save image) of the server's domain."""
    with Host("qemu:///system") as host:
        guest = host.lookup(server_id)
        assert guest is not None, f"no domain for {server_id}"
        return guest.power_state(), guest.has_saved_state()


def _act(client: Client, server_id: str, body: dict) -> None:
    resp = client.request("compute", "POST", f"/servers/{server_id}/action", headers=NOVA,
                          json=body)
    assert resp.status_code in (200, 202), resp.text


@pytest.mark.timeout(900)
def test_actions_of_a_real_guest(real_cloud):
    cloud, client = real_cloud
    image_id = _image_id(client, "tiny")
    body = {"server": {"name": "vm-actions", "imageRef": image_id, "flavorRef": "6",
                       "networks": "none"}}
    server_id = client.request("compute", "POST", "/servers", headers=NOVA,
                               json=body).json()["server"]["id"]
    _wait(client, server_id, "ACTIVE")
    _boots(client, server_id, 1)
    inst_dir = cloud.state_dir / "instances" / server_id

    # pause / unpause: frozen in memory, then carries on (no new boot)
    _act(client, server_id, {"pause": None})
    assert _wait(client, server_id, "PAUSED")["OS-EXT-STS:power_state"] == states.PAUSED
    assert _domain(cloud, server_id) == (states.PAUSED, False)
    _act(client, server_id, {"unpause": None})
    _wait(client, server_id, "ACTIVE")
    assert _domain(cloud, server_id) == (states.RUNNING, False)

    # suspend / resume: the memory goes to libvirt's save image and comes back
    _act(client, server_id, {"suspend": None})
    _wait(client, server_id, "SUSPENDED", timeout=180)
    assert _domain(cloud, server_id) == (states.SHUTDOWN, True)
    _act(client, server_id, {"resume": None})
    _wait(client, server_id, "ACTIVE", timeout=180)
    assert _domain(cloud, server_id) == (states.RUNNING, False)
    time.sleep(3)
    assert _console(client, server_id).count("MINICLOUD-READY") == 1, "resumed, not booted"

    # rebuild: a new vda, the same vdb file; the guest boots again
    eph_inode = (inst_dir / "disk.eph0").stat().st_ino
    root_inode = (inst_dir / "disk").stat().st_ino
    resp = client.request("compute", "POST", f"/servers/{server_id}/action", headers=NOVA,
                          json={"rebuild": {"imageRef": image_id, "name": "vm-rebuilt"}})
    assert resp.status_code == 202 and resp.json()["server"]["status"] == "REBUILD"
    _wait(client, server_id, "ACTIVE", timeout=180)
    out = _boots(client, server_id, 2)
    report = parse_report(out)
    assert report.uuid == server_id and [d.name for d in report.disks] == ["vda", "vdb"]
    assert (inst_dir / "disk.eph0").stat().st_ino == eph_inode, "vdb is kept"
    assert (inst_dir / "disk").stat().st_ino != root_inode, "vda is new"

    # rescue: the image's copy is vda, the server's own vda is vdb; unrescue boots it back
    resp = client.request("compute", "POST", f"/servers/{server_id}/action", headers=NOVA,
                          json={"rescue": None})
    assert resp.status_code == 200 and resp.json() == {"adminPass": ""}
    _wait(client, server_id, "RESCUE", timeout=180)
    report = parse_report(_boots(client, server_id, 3))
    assert [d.name for d in report.disks] == ["vda", "vdb"]
    assert {d.name: d.size for d in report.disks}["vdb"] == 1024 ** 3  # the server's vda
    assert (inst_dir / "disk.rescue").exists()
    _act(client, server_id, {"unrescue": None})
    _wait(client, server_id, "ACTIVE", timeout=180)
    report = parse_report(_boots(client, server_id, 4))
    assert {d.name: d.size for d in report.disks} == {"vda": 1024 ** 3, "vdb": 1024 ** 3}
    assert not (inst_dir / "disk.rescue").exists()

    # soft delete: powered off, everything kept; restore boots it again
    client.request("compute", "DELETE", f"/servers/{server_id}", headers=NOVA)
    server = _wait(client, server_id, "SOFT_DELETED", timeout=120)
    assert server["OS-EXT-STS:power_state"] == states.SHUTDOWN
    assert _domain(cloud, server_id)[0] == states.SHUTDOWN
    assert (inst_dir / "disk").exists() and (inst_dir / "disk.eph0").exists()
    _act(client, server_id, {"restore": None})
    _wait(client, server_id, "ACTIVE")
    out = _boots(client, server_id, 5)
    # what the guest said over its five boots (shown with pytest -s)
    print("\n".join(line for line in out.splitlines() if "MINICLOUD-" in line))

    # forceDelete: gone at once, whatever the reclaim interval
    client.request("compute", "DELETE", f"/servers/{server_id}", headers=NOVA)
    _wait(client, server_id, "SOFT_DELETED", timeout=120)
    _act(client, server_id, {"forceDelete": None})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        resp = client.session.get(client.endpoint("compute") + f"/servers/{server_id}",
                                  headers=dict(NOVA, **{"X-Auth-Token": client.token}))
        if resp.status_code == 404:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("server not deleted")
    with Host("qemu:///system") as host:
        assert host.lookup(server_id) is None
    assert not inst_dir.exists()
