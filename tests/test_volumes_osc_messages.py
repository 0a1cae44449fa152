"""The unmodified `openstack` CLI against the running cloud: a volume type no backend
matches leaves the volume `error` and a user message (`volume message list/show/delete`);
`volume revert` puts the latest snapshot's bytes back into the volume file."""
from __future__ import annotations

import time

import pytest

from tests.conftest import osc_runner

pytestmark = [pytest.mark.osc, pytest.mark.real]
V3 = {"OS_VOLUME_API_VERSION": "3.40"}


def _wait(run, kind: list[str], name: str, status: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while (row := run(*kind, "show", name, as_json=True, env=V3))["status"] != status:
        assert time.monotonic() < deadline, f"{name} is still {row['status']}"
        time.sleep(0.5)
    return row


def test_no_valid_backend_message_list_show_delete(cloud):
    run = osc_runner(cloud.os_env())
    run("volume", "type", "create", "--property", "storage_protocol=carrier-pigeon",
        "osc-nowhere")
    vol = run("volume", "create", "--type", "osc-nowhere", "--size", "1", "osc-nohost",
              as_json=True, env=V3)
    _wait(run, ["volume"], "osc-nohost", "error")
    rows = run("volume", "message", "list", as_json=True, env=V3)
    (row,) = [r for r in rows if r["Resource UUID"] == vol["id"]]
    assert (row["Event ID"], row["Resource Type"], row["Message Level"]) == \
        ("VOLUME_VOLUME_001_003", "VOLUME", "ERROR")
    assert row["User Message"].startswith("schedule allocate volume: ")
    # `show` answers Cinder's {"message": {...}}; openstacksdk's Message has resource_key
    # "messages" and so shows empty fields, against Cinder as here: it must just succeed.
    run("volume", "message", "show", row["ID"], env=V3)
    run("volume", "message", "delete", row["ID"], env=V3)
    assert all(r["ID"] != row["ID"]
               for r in run("volume", "message", "list", as_json=True, env=V3))
    assert run("volume", "message", "list", check=False,
               env={"OS_VOLUME_API_VERSION": "3.2"}).returncode != 0  # needs 3.3
    run("volume", "delete", "osc-nohost")


def test_volume_revert_to_the_latest_snapshot(cloud):
    run = osc_runner(cloud.os_env())
    vol = run("volume", "create", "--size", "1", "osc-revert", as_json=True, env=V3)
    _wait(run, ["volume"], "osc-revert", "available")
    path = cloud.state_dir / "volumes" / f"volume-{vol['id']}"
    with path.open("r+b") as fh:
        fh.write(b"marker A")
    run("volume", "snapshot", "create", "--volume", "osc-revert", "osc-revert-snap", env=V3)
    _wait(run, ["volume", "snapshot"], "osc-revert-snap", "available")
    with path.open("r+b") as fh:
        fh.write(b"marker B")
    run("volume", "revert", "osc-revert-snap", env=V3)
    _wait(run, ["volume"], "osc-revert", "available")
    with (cloud.state_dir / "volumes" / f"volume-{vol['id']}").open("rb") as fh:
        assert fh.read(8) == b"marker A"
    run("volume", "delete", "--purge", "osc-revert", env=V3)
