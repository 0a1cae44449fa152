"""The unmodified `openstack` CLI drives the server actions against a running minicloud
(fake virt driver, deletes soft for an hour): lock with a reason, pause, suspend, rescue,
rebuild, backups with rotation, soft delete, restore and a forced delete.

The tests share one server and run in file order.
"""
from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import osc_runner, start_cloud

pytestmark = [pytest.mark.osc, pytest.mark.real]

IMAGE, SERVER = "osc-actions-img", "osc-actions-vm"
Run = Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Iterator[Run]:
    cloud = start_cloud(tmp_path_factory.mktemp("osc-actions"),
                        {"compute": {"reclaim_instance_interval": 3600}}, daemons=True)
    try:
        yield osc_runner({**cloud.os_env(), "OS_COMPUTE_API_VERSION": "2.96"})
    finally:
        cloud.minicloud("down", check=False)


@pytest.fixture(scope="module")
def osc(run) -> Callable[..., dict | list]:
    # --wait prints its progress and "Complete" (on stdout) before the command's output
    return lambda *args: json.loads(run(*args, "-f", "json").stdout.split("Complete\n")[-1])


@pytest.fixture(scope="module")
def server(run, osc, tmp_path_factory) -> dict:
    disk = tmp_path_factory.mktemp("osc-actions-img") / "disk.raw"
    with disk.open("wb") as fh:
        fh.truncate(1 << 20)
    osc("image", "create", "--disk-format", "raw", "--container-format", "bare", "--file",
        str(disk), IMAGE)
    return osc("server", "create", "--image", IMAGE, "--flavor", "lab.nano", "--nic",
               "none", "--wait", SERVER)


def _status(osc, status: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while (shown := osc("server", "show", SERVER))["status"] != status:
        assert time.monotonic() < deadline, f"not {status}: {shown['status']}"
    return shown


def test_lock_with_a_reason_and_unlock(run, osc, server):
    run("server", "lock", "--reason", "maintenance", SERVER)
    shown = osc("server", "show", SERVER)
    assert (shown["locked"], shown["locked_reason"]) == (True, "maintenance")
    listed = osc("server", "list", "--locked")
    assert [s["ID"] for s in listed] == [server["id"]]
    run("server", "unlock", SERVER)
    assert osc("server", "show", SERVER)["locked"] is False


def test_pause_suspend_and_rescue(run, osc, server):
    for action, status, undo in (("pause", "PAUSED", "unpause"),
                                 ("suspend", "SUSPENDED", "resume"),
                                 ("rescue", "RESCUE", "unrescue")):
        run("server", action, SERVER)
        _status(osc, status)
        run("server", undo, SERVER)
        _status(osc, "ACTIVE")


def test_rebuild_with_wait(run, osc, server):
    out = osc("server", "rebuild", "--image", IMAGE, "--name", SERVER, "--property", "r=1",
              "--wait", SERVER)
    assert out["id"] == server["id"]
    shown = _status(osc, "ACTIVE")
    assert shown["properties"] == {"r": "1"}


def test_backups_rotate(run, osc, server):
    for name in ("b1", "b2", "b3"):
        osc("server", "backup", "create", "--name", name, "--type", "daily", "--rotate", "2",
            "--wait", SERVER)
        _status(osc, "ACTIVE")
    images = osc("image", "list", "--property", "image_type=backup")
    assert sorted(i["Name"] for i in images) == ["b2", "b3"]


def test_soft_delete_restore_and_force_delete(run, osc, server):
    run("server", "delete", SERVER)
    _status(osc, "SOFT_DELETED")
    run("server", "restore", SERVER)
    _status(osc, "ACTIVE")
    run("server", "delete", SERVER)
    _status(osc, "SOFT_DELETED")
    run("server", "delete", "--force", "--wait", server["id"])
    proc = run("server", "show", server["id"], check=False)
    assert proc.returncode == 1 and "No Server found" in proc.stderr
