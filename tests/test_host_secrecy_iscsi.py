"""iSCSI exports admit only the compute host, on the portal address only (issue 12).

A private tgtd (its own management channel ``-C`` and its own port, started listening on the
wildcard address as a plain ``tgtd`` does) so that nothing here touches the host's shared
tgtd. QEMU's own initiator (``qemu-img`` with libiscsi, as guests connect) logs in with the
export's CHAP credentials: admitted from the address the ACL names, refused otherwise.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from volumes.connection import Chap, iqn_for
from volumes.targets import FakeTarget, TargetError, TgtTarget

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def private_tgtd() -> Iterator[tuple[int, int]]:
    """(control port, iSCSI port) of a tgtd of our own, listening on 0.0.0.0 and [::]."""
    if shutil.which("tgtd") is None:
        pytest.fail("tgtd is missing: run `make setup` (Debian package tgt)")
    control = next(n for n in range(4100, 4200)
                   if not os.path.exists(f"/var/run/tgtd/socket.{n}"))
    port = free_port()
    daemon = subprocess.Popen(["tgtd", "-f", "-C", str(control), "--iscsi",
                               f"portal=0.0.0.0:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tgtadm = ["tgtadm", "-C", str(control), "--lld", "iscsi"]
    try:
        for _ in range(100):
            probe = subprocess.run([*tgtadm, "--op", "show", "--mode", "portal"],
                                   capture_output=True, check=False)
            if probe.returncode == 0 and str(port).encode() in probe.stdout:
                break
            time.sleep(0.1)
        subprocess.run([*tgtadm, "--op", "new", "--mode", "portal", "--param",
                        f"portal=[::]:{port}"], check=True, capture_output=True)
        yield control, port
    finally:
        subprocess.run(["tgtadm", "-C", str(control), "--op", "delete", "--mode", "system"],
                       capture_output=True, check=False, timeout=30)
        try:
            daemon.wait(10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(10)
        for leftover in (f"socket.{control}", f"socket.{control}.lock"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"/var/run/tgtd/{leftover}")


@pytest.fixture
def target(private_tgtd) -> Iterator[TgtTarget]:
    control, port = private_tgtd
    tgt = TgtTarget(portal_ip="127.0.0.1", portal_port=port, control_port=control)
    yield tgt
    for vid in tgt.exported():
        tgt.remove_export(vid)


def _volume(tmp_path: Path) -> tuple[str, str]:
    vid = str(uuid.uuid4())
    path = tmp_path / f"volume-{vid}"
    with path.open("wb") as fh:
        fh.truncate(8 * 1024 * 1024)
    return vid, str(path)


def _login(port: int, vid: str, chap: Chap) -> subprocess.CompletedProcess:
    """QEMU's initiator reading the LUN's size: a login with the export's credentials."""
    url = f"iscsi://{chap.username}%{chap.password}@127.0.0.1:{port}/{iqn_for(vid)}/1"
    return subprocess.run(["qemu-img", "info", "-f", "raw", "--output=json", url],
                          capture_output=True, timeout=60, check=False)


def test_tgtd_leaves_the_wildcard_for_the_portal_address(target, private_tgtd):
    _, port = private_tgtd
    assert sorted(target.portals()) == [f"0.0.0.0:{port}", f"[::]:{port}"]  # plain tgtd
    target.ensure_portal()
    assert target.portals() == [f"127.0.0.1:{port}"]
    target.ensure_portal()  # idempotent
    assert target.portals() == [f"127.0.0.1:{port}"]
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass


def test_export_admits_only_the_address_of_the_compute_host(target, private_tgtd, tmp_path):
    control, port = private_tgtd
    vid, path = _volume(tmp_path)
    chap = Chap.generate()
    target.ensure_export(vid, path, chap)  # compute on this host: 127.0.0.1
    assert target.show()[iqn_for(vid)].acls == ["127.0.0.1"]
    assert target.portals() == [f"127.0.0.1:{port}"]  # every export keeps the portal bound
    assert _login(port, vid, chap).returncode == 0

    target.ensure_export(vid, path, chap, address="192.0.2.77")  # compute elsewhere
    assert target.show()[iqn_for(vid)].acls == ["192.0.2.77"]
    refused = _login(port, vid, chap)
    assert refused.returncode != 0 and b"log in" in refused.stderr

    target.ensure_export(vid, path, chap)
    assert _login(port, vid, chap).returncode == 0
    wrong = Chap(chap.username, "not-the-password-0000")
    assert b"Authentication failure" in _login(port, vid, wrong).stderr


def test_an_older_export_open_to_all_is_narrowed(target, private_tgtd, tmp_path):
    control, _ = private_tgtd
    vid, path = _volume(tmp_path)
    chap = Chap.generate()
    target.ensure_export(vid, path, chap)
    tid = target.show()[iqn_for(vid)].tid
    subprocess.run(["tgtadm", "-C", str(control), "--lld", "iscsi", "--op", "bind", "--mode",
                    "target", "--tid", str(tid), "-I", "ALL"], check=True, capture_output=True)
    assert sorted(target.show()[iqn_for(vid)].acls) == ["127.0.0.1", "ALL"]
    target.ensure_export(vid, path, chap)  # what the volume agent's periodic sync does
    assert target.show()[iqn_for(vid)].acls == ["127.0.0.1"]


@pytest.mark.parametrize("address", ["ALL", "10.0.0.0/8", "iqn.2008-11.org.linux-kvm", ""])
def test_a_connector_ip_that_is_no_single_address_is_refused(target, tmp_path, address):
    vid, path = _volume(tmp_path)
    for impl in (target, FakeTarget()):
        with pytest.raises(TargetError, match="is not an address"):
            impl.ensure_export(vid, path, Chap.generate(), address=address)
    assert vid not in target.exported()


def test_the_fake_records_the_same_acl(tmp_path):
    fake = FakeTarget()
    fake.ensure_export("v1", "/x", Chap.generate())
    fake.ensure_export("v2", "/x", Chap.generate(), address="192.0.2.5")
    fake.ensure_export("v3", "/x", Chap.generate(), "iqn.x:node1", "192.0.2.5")
    assert [fake.exports[v].initiator for v in ("v1", "v2", "v3")] == \
        ["127.0.0.1", "192.0.2.5", "iqn.x:node1"]


def test_runner_starts_tgtd_on_the_portal_address(tmp_path):
    from minicloud.config import Config
    from minicloud.runner import DAEMONS, Runner

    (tmp_path / "minicloud.conf").write_text("[volume]\niscsi_ip_address = 192.0.2.9\n"
                                             "iscsi_port = 3270\n")
    runner = Runner(Config.load(tmp_path, environ={}), say=lambda _line: None)
    tgtd = next(d for d in DAEMONS if d.name == "tgtd")
    assert runner._daemon_argv(tgtd) == ("tgtd", "--iscsi", "portal=192.0.2.9:3270")
    with contextlib.suppress(StopIteration):
        other = next(d for d in DAEMONS if d.name != "tgtd")
        assert runner._daemon_argv(other) == other.argv
