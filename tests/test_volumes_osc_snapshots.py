"""The unmodified `openstack` CLI against the running cloud's volume service: volume snapshots
(create, list, show, set, unset, delete), a volume from a snapshot (`volume create
--snapshot`) and a clone (`volume create --source`), each holding its origin's bytes in its
volume file."""
from __future__ import annotations

import time

import pytest

from tests.test_volumes_osc import osc, show, wait_for  # noqa: F401 - osc is a fixture

pytestmark = [pytest.mark.osc, pytest.mark.real]


def snap_wait(osc, name: str, status: str, timeout: float = 60) -> dict:  # noqa: F811
    deadline = time.monotonic() + timeout
    while (snap := osc("volume", "snapshot", "show", name, as_json=True))["status"] != status:
        assert time.monotonic() < deadline, f"{name} is still {snap['status']}"
        time.sleep(0.5)
    return snap


def test_snapshot_lifecycle_and_volumes_from_it(osc, cloud):  # noqa: F811
    vol = osc("volume", "create", "--size", "1", "osc-snapsrc", as_json=True)
    wait_for(osc, "osc-snapsrc", "available")
    src_file = cloud.state_dir / "volumes" / f"volume-{vol['id']}"
    with src_file.open("r+b") as fh:
        fh.write(b"before the snapshot")

    created = osc("volume", "snapshot", "create", "--volume", "osc-snapsrc",
                  "--description", "first", "--property", "a=1", "osc-snap", as_json=True)
    assert created["name"] == "osc-snap" and created["volume_id"] == vol["id"]
    snap = snap_wait(osc, "osc-snap", "available")
    assert snap["size"] == 1 and snap["properties"] == {"a": "1"}
    with src_file.open("r+b") as fh:
        fh.write(b"AFTER")

    rows = osc("volume", "snapshot", "list", "--long", as_json=True)
    row = next(r for r in rows if r["Name"] == "osc-snap")
    # (the table shows the volume's name; `-f json` the machine-readable id)
    assert (row["Status"], row["Size"], row["Volume"]) == ("available", 1, vol["id"])
    assert "osc-snapsrc" in osc("volume", "snapshot", "list", "--long").stdout
    osc("volume", "snapshot", "set", "--name", "osc-snap2", "--property", "b=2", "osc-snap")
    osc("volume", "snapshot", "unset", "--property", "a", "osc-snap2")
    snap = snap_wait(osc, "osc-snap2", "available")
    assert snap["properties"] == {"b": "2"} and snap["description"] == "first"

    restored = osc("volume", "create", "--snapshot", "osc-snap2", "--size", "2",
                   "osc-restored", as_json=True)
    clone = osc("volume", "create", "--source", "osc-snapsrc", "osc-clone", as_json=True)
    for name, origin in (("osc-restored", b"before the snapshot"),
                         ("osc-clone", b"AFTERe the snapshot")):
        made = wait_for(osc, name, "available")
        data = (cloud.state_dir / "volumes" / f"volume-{made['id']}").read_bytes()[:19]
        assert data == origin, name
    assert show(osc, "osc-restored")["snapshot_id"] == restored["snapshot_id"] == snap["id"]
    assert show(osc, "osc-clone")["source_volid"] == clone["source_volid"] == vol["id"]
    assert show(osc, "osc-restored")["size"] == 2

    refused = osc("volume", "delete", "osc-snapsrc", check=False)
    assert refused.returncode != 0 and "dependent snapshots" in refused.stderr
    osc("volume", "snapshot", "delete", "osc-snap2")
    deadline = time.monotonic() + 60
    while "osc-snap2" in osc("volume", "snapshot", "list").stdout:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    osc("volume", "delete", "osc-snapsrc", "osc-restored", "osc-clone")
