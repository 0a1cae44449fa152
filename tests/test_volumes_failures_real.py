"""Attach failures and volume agent restarts with the real volume service, tgtd and guests.

One cloud (libvirt guests under QEMU, volumes on files exported by the host's tgtd) serves the
whole module. Faults are real ones, caused from outside the cloud as an operator or a crash
would: the volume's backing file disappears (tgtd refuses the LUN), the guest's domain is
undefined behind the cloud's back (libvirt refuses the disk), the volume agent is killed, and
tgtd loses our target. Every test reads the outcome where it lives: the volume API, tgtd
(``tgtadm --op show``), libvirt (domain XML, ``virsh secret-list``) and the guest's console.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from compute.virt.host import Host
from minicloud import errors, process
from minicloud.client import Client, Credentials
from tests.conftest import RunningCloud, start_cloud
from tests.test_compute_real import NOVA, _console_report, _image_id, _wait, remove_domains
from tests.test_volumes_attach_real import (
    CINDER,
    _delete,
    _second_boot_report,
    _targets,
    _volume,
    _wait_volume,
)
from volumes.connection import LUN, iqn_for
from volumes.targets import TargetState, TgtTarget, parse_show

pytestmark = pytest.mark.real
LIBVIRT = "qemu:///system"
#: How long the volume API waits for its agent: short, so an agent that is down shows fast.
TASK_TIMEOUT = 8


@dataclass
class Lab:
    cloud: RunningCloud
    client: Client
    image_id: str
    volumes: list[str] = field(default_factory=list)      # to clean tgtd up after us
    attachments: list[str] = field(default_factory=list)  # = libvirt secret uuids

    def volume(self, name: str) -> str:
        vid = self.client.request("volumev3", "POST", "/volumes", headers=CINDER, json={
            "volume": {"name": name, "size": 1}}).json()["volume"]["id"]
        self.volumes.append(vid)
        _wait_volume(self.client, vid, "available")
        return vid

    def attach(self, server_id: str, volume_id: str) -> tuple[dict, set[str]]:
        """Nova's attach answer, and the libvirt secrets there were before it (the answer
        names no attachment id, as Nova's; the attach's own secret is the new one)."""
        before = _secrets()
        att = self.client.request(
            "compute", "POST", f"/servers/{server_id}/os-volume_attachments", headers=NOVA,
            json={"volumeAttachment": {"volumeId": volume_id}}).json()["volumeAttachment"]
        return att, before

    def backing_file(self, volume_id: str) -> Path:
        return self.cloud.state_dir / "volumes" / f"volume-{volume_id}"

    def pidfile(self, name: str) -> Path:
        return self.cloud.state_dir / "run" / f"{name}.pid"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    root = Path(tempfile.mkdtemp(prefix="minicloud-test-", dir="/var/tmp"))
    root.chmod(0o711)  # libvirt's qemu user traverses to the instance disks
    cloud = start_cloud(root / "state", {
        "compute": {"driver": "libvirt", "shutdown_timeout": 5},
        "volume": {"driver": "file", "target_helper": "tgtadm",
                   "task_timeout": TASK_TIMEOUT}}, daemons=True)
    lab = None
    try:
        cloud.minicloud("lab", "images")
        c = cloud.credentials
        client = Client(Credentials(c["auth_url"], c["username"], c["password"],
                                    c["project_name"]))
        lab = Lab(cloud, client, _image_id(client, "tiny"))
        yield lab
    finally:
        cloud.minicloud("down", check=False)
        remove_domains(cloud)
        if lab is not None:  # whatever a failed test left: tgtd and libvirt are host-wide
            target = TgtTarget()
            for vid in lab.volumes:
                target.remove_export(vid)
            with Host(LIBVIRT) as host:
                for secret in lab.attachments:
                    host.remove_secret(secret)
        if not os.environ.get("MINICLOUD_KEEP_TEST_STATE"):  # keep it to read the logs
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def servers(lab: Lab) -> tuple[str, str]:
    """Two running lab guests (booted together), reused by the attach tests."""
    ids = tuple(lab.client.request("compute", "POST", "/servers", headers=NOVA, json={
        "server": {"name": name, "imageRef": lab.image_id, "flavorRef": "6",
                   "networks": "none"}}).json()["server"]["id"] for name in ("vm-a", "vm-b"))
    for server_id in ids:
        _wait(lab.client, server_id, "ACTIVE")
        _console_report(lab.client, server_id)
    return ids


# -- observing the host -----------------------------------------------------------------------
def _target(volume_id: str) -> TargetState | None:
    return parse_show(_targets()).get(iqn_for(volume_id))


def _secrets() -> set[str]:
    """The uuids of libvirt's secrets (compute names each after its attachment)."""
    out = process.run(["virsh", "-c", LIBVIRT, "secret-list"]).stdout.decode()
    return set(re.findall(r"^\s*([0-9a-f]{8}-[0-9a-f-]{27})\s", out, re.MULTILINE))


def _guest_has(server_id: str, dev: str) -> bool:
    with Host(LIBVIRT) as host:
        return host.lookup(server_id).has_disk(dev)


def _virsh(*args: str) -> str:
    return process.run(["virsh", "-c", LIBVIRT, *args]).stdout.decode()


def _attachments(lab: Lab, volume_id: str) -> list[dict]:
    return lab.client.request("volumev3", "GET", "/attachments", headers=CINDER,
                              params={"volume_id": volume_id}).json()["attachments"]


def _server(lab: Lab, server_id: str) -> dict:
    return lab.client.request("compute", "GET", f"/servers/{server_id}",
                              headers=NOVA).json()["server"]


def _wait_idle(lab: Lab, server_id: str, timeout: float = 90) -> dict:
    """The server once no task runs on it (it must be ACTIVE then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server = _server(lab, server_id)
        if server["OS-EXT-STS:task_state"] is None:
            assert server["status"] == "ACTIVE", server
            return server
        time.sleep(0.5)
    raise AssertionError(f"server {server_id} still has task {server['OS-EXT-STS:task_state']}")


def _assert_released(lab: Lab, server_id: str, volume_id: str, secrets: set[str]) -> None:
    """The volume is usable again and nothing of the attach is left anywhere."""
    vol = _volume(lab.client, volume_id)
    assert (vol["status"], vol["attachments"]) == ("available", [])
    assert _attachments(lab, volume_id) == []
    assert _target(volume_id) is None, f"no iSCSI target left for {volume_id}"
    assert _secrets() == secrets, "no CHAP secret left in libvirt"
    server = _wait_idle(lab, server_id)
    assert server["os-extended-volumes:volumes_attached"] == []
    assert not _guest_has(server_id, "vdc")


def _attach_then_detach(lab: Lab, server_id: str, volume_id: str) -> None:
    """A full attach (export, hot-plug, in-use) and detach, checked on tgtd and libvirt."""
    _att, before = lab.attach(server_id, volume_id)
    vol = _wait_volume(lab.client, volume_id, "in-use")
    assert vol["attachments"][0]["server_id"] == server_id
    server = _wait_idle(lab, server_id)
    assert server["os-extended-volumes:volumes_attached"] == [
        {"id": volume_id, "delete_on_termination": False}]
    target = _target(volume_id)
    assert target is not None and target.luns[LUN] == str(lab.backing_file(volume_id))
    assert _secrets() - before == {vol["attachments"][0]["attachment_id"]}
    lab.attachments.append(vol["attachments"][0]["attachment_id"])
    assert _guest_has(server_id, "vdc")
    lab.client.request("compute", "DELETE",
                       f"/servers/{server_id}/os-volume_attachments/{volume_id}", headers=NOVA)
    _wait_volume(lab.client, volume_id, "available")
    _assert_released(lab, server_id, volume_id, before)


# -- faults -----------------------------------------------------------------------------------
@contextlib.contextmanager
def _domain_undefined(lab: Lab, server_id: str, volume_id: str) -> Iterator[None]:
    """Someone ran ``virsh undefine`` on the running guest: it keeps running as a transient
    domain, and libvirt refuses to add a disk to its (now missing) persistent definition."""
    name = f"minicloud-{server_id}"
    xml = lab.cloud.state_dir / f"{name}.xml"
    xml.write_text(_virsh("dumpxml", "--inactive", "--security-info", name))
    _virsh("undefine", name)
    try:
        yield
    finally:
        _virsh("define", str(xml))
        xml.unlink()


@pytest.mark.timeout(300)
# A volume whose file is gone (an export that fails) now ends in `error` with a readable
# fault instead of a silent rollback: tests/test_faults_storage.py and
# tests/test_volumes_data_missing.py prove that case.
@pytest.mark.parametrize("fault", [_domain_undefined], ids=["libvirt-attach-fails"])
def test_failed_attach_leaves_the_volume_available_and_nothing_behind(lab, servers, fault):
    server_id = servers[0]
    volume_id = lab.volume(f"fail-{fault.__name__}")
    with fault(lab, server_id, volume_id):
        att, before = lab.attach(server_id, volume_id)
        assert att["device"] == "/dev/vdc"
        _wait_idle(lab, server_id)
        _assert_released(lab, server_id, volume_id, before)
    # Repaired: the same volume attaches to the same server (and detaches cleanly).
    _attach_then_detach(lab, server_id, volume_id)
    lab.client.request("volumev3", "DELETE", f"/volumes/{volume_id}", headers=CINDER)


@pytest.mark.timeout(300)
def test_concurrent_attach_of_one_volume_has_one_winner_and_in_use_delete_is_refused(
        lab, servers):
    volume_id = lab.volume("contended")
    barrier = threading.Barrier(len(servers))
    answers: dict[str, requests.Response] = {}

    def attach(server_id: str) -> None:
        url = lab.client.endpoint("compute") + f"/servers/{server_id}/os-volume_attachments"
        headers = dict(NOVA, **{"X-Auth-Token": lab.client.token})
        barrier.wait()
        answers[server_id] = requests.post(url, headers=headers, timeout=60, json={
            "volumeAttachment": {"volumeId": volume_id}})

    threads = [threading.Thread(target=attach, args=(s,)) for s in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = {s: r.status_code for s, r in answers.items()}
    assert sorted(codes.values()) == [200, 400], codes
    (winner,) = (s for s, code in codes.items() if code == 200)
    (loser,) = (s for s, code in codes.items() if code == 400)
    assert "Invalid volume" in answers[loser].json()["badRequest"]["message"]
    vol = _wait_volume(lab.client, volume_id, "in-use")
    lab.attachments.append(vol["attachments"][0]["attachment_id"])
    assert [a["server_id"] for a in vol["attachments"]] == [winner]
    assert [a["instance"] for a in _attachments(lab, volume_id)] == [winner]
    assert _wait_idle(lab, winner)["os-extended-volumes:volumes_attached"] == [
        {"id": volume_id, "delete_on_termination": False}]
    assert _wait_idle(lab, loser)["os-extended-volumes:volumes_attached"] == []
    assert _guest_has(winner, "vdc") and not _guest_has(loser, "vdc")

    # An in-use volume cannot be deleted, not even by an admin's force delete.
    for params in ({}, {"force": "true"}):
        with pytest.raises(errors.BadRequest, match="current status is: in-use"):
            lab.client.request("volumev3", "DELETE", f"/volumes/{volume_id}",
                               headers=CINDER, params=params)
    assert _volume(lab.client, volume_id)["status"] == "in-use"
    assert lab.backing_file(volume_id).exists()
    assert _target(volume_id).luns[LUN] == str(lab.backing_file(volume_id))
    assert _guest_has(winner, "vdc")

    lab.client.request("compute", "DELETE",
                       f"/servers/{winner}/os-volume_attachments/{volume_id}", headers=NOVA)
    _wait_volume(lab.client, volume_id, "available")
    assert _target(volume_id) is None
    lab.client.request("volumev3", "DELETE", f"/volumes/{volume_id}", headers=CINDER)
    deadline = time.monotonic() + 30
    while lab.backing_file(volume_id).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not lab.backing_file(volume_id).exists()


# -- volume agent restarts ----------------------------------------------------------------------
def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a killed process nobody reaped is a zombie: not running)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _kill_volume_agent(lab: Lab) -> None:
    """The volume agent crashes (SIGKILL: no chance to tidy anything up)."""
    pid = int(lab.pidfile("volume-agent").read_text())
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(pid):
        assert time.monotonic() < deadline, f"volume agent {pid} survived SIGKILL"
        time.sleep(0.1)


def _start_volume_agent(lab: Lab) -> None:
    """``minicloud up`` on the running cloud: it starts what is missing, the volume agent."""
    lab.cloud.minicloud("up")
    assert _alive(int(lab.pidfile("volume-agent").read_text()))


def _wait_for(what: str, probe: Callable[[], object], timeout: float = 20) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(300)
def test_agent_restart_re_exports_an_in_use_volume_and_the_guest_keeps_working(lab):
    client = lab.client
    volume_id = lab.volume("survivor")
    server_id = client.request("compute", "POST", "/servers", headers=NOVA, json={"server": {
        "name": "vm-restart", "imageRef": lab.image_id, "flavorRef": "6", "networks": "none",
        "block_device_mapping_v2": [{"uuid": volume_id, "source_type": "volume",
                                     "destination_type": "volume", "boot_index": -1}]}}
                            ).json()["server"]["id"]
    _wait(client, server_id, "ACTIVE")
    lab.attachments.append(_wait_volume(client, volume_id, "in-use")["attachments"][0]
                           ["attachment_id"])
    (first,) = _console_report(client, server_id).volumes
    assert (first.name, first.serial, first.found) == ("vdc", volume_id[:20], "")
    assert server_id in first.wrote
    before = _target(volume_id)
    assert before is not None and len(before.accounts) == 1

    # The agent dies, and tgtd loses our export (as a tgtd restart would; tgtd is shared by
    # every cloud on the host, so only this volume's target and CHAP account go).
    _kill_volume_agent(lab)
    try:
        tgtadm = ["tgtadm", "--lld", "iscsi", "--op", "delete"]
        process.run([*tgtadm, "--force", "--mode", "target", "--tid", str(before.tid)])
        process.run([*tgtadm, "--mode", "account", "--user", before.accounts[0]])
        assert _target(volume_id) is None
    finally:
        _start_volume_agent(lab)

    after = _wait_for("the re-export", lambda: _target(volume_id))
    assert after.luns[LUN] == str(lab.backing_file(volume_id))
    assert after.luns == before.luns
    assert after.accounts == before.accounts, "the guest's CHAP credentials still work"
    assert after.acls == before.acls
    assert _volume(client, volume_id)["status"] == "in-use"

    # A hard reboot starts a new QEMU, which logs in to the re-created target afresh.
    client.request("compute", "POST", f"/servers/{server_id}/action", headers=NOVA,
                   json={"reboot": {"type": "HARD"}})
    _wait(client, server_id, "ACTIVE")
    report = _second_boot_report(client, server_id)
    assert {d.name: d.serial for d in report.disks}["vdc"] == volume_id[:20]
    (second,) = report.volumes
    assert (second.name, second.found) == ("vdc", first.wrote), \
        "the guest reads what it wrote before the export was lost"
    assert second.wrote and second.wrote != first.wrote

    _delete(client, server_id)
    _wait_volume(client, volume_id, "available")
    assert _target(volume_id) is None
    client.request("volumev3", "DELETE", f"/volumes/{volume_id}", headers=CINDER)


@pytest.mark.timeout(300)
def test_attach_while_the_volume_agent_is_down_rolls_back(lab, servers):
    server_id = servers[0]
    volume_id = lab.volume("agent-down")
    _kill_volume_agent(lab)
    try:
        _att, secrets_before = lab.attach(server_id, volume_id)
        # The export never happens: connect times out, then the rollback's detach does too;
        # the rollback ends by dropping the volume from the server.
        _wait_for("the rollback", lambda: _server(lab, server_id)[
            "os-extended-volumes:volumes_attached"] == [], timeout=4 * TASK_TIMEOUT + 30)
    finally:
        _start_volume_agent(lab)
    # The agent back, the queued export (now moot) and unexport run: the volume is free.
    _wait_volume(lab.client, volume_id, "available")
    vol = _volume(lab.client, volume_id)
    assert vol["attachments"] == [] and _attachments(lab, volume_id) == []
    assert _target(volume_id) is None
    assert _secrets() == secrets_before
    assert not _guest_has(server_id, "vdc")
    server = _server(lab, server_id)
    assert server["os-extended-volumes:volumes_attached"] == []
    assert (server["status"], server["OS-EXT-STS:task_state"]) == ("ACTIVE", None), \
        "the failed attach must not leave the server locked in its task"
