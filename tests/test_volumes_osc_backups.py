"""The unmodified `openstack` CLI on volume backups of the running cloud (volume files for
real, the iSCSI target faked): `volume backup create/list/show/set/restore/delete`, full and
incremental, the restored volume holding the data."""
from __future__ import annotations

import time

import pytest

from tests.test_volumes_osc import osc, show, wait_for  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.osc, pytest.mark.real]


def backup_status(osc, name: str, status: str, timeout: float = 60) -> dict:  # noqa: F811
    deadline = time.monotonic() + timeout
    while (b := osc("volume", "backup", "show", name, as_json=True))["status"] != status:
        assert time.monotonic() < deadline, f"backup {name} is still {b['status']}"
        time.sleep(0.5)
    return b


def test_backup_lifecycle(osc, cloud):  # noqa: F811
    osc("volume", "create", "--size", "1", "osc-bk-src")
    vol = wait_for(osc, "osc-bk-src", "available")
    path = cloud.state_dir / "volumes" / f"volume-{vol['id']}"
    with path.open("r+b") as fh:
        fh.seek(5 * 1024 * 1024)
        fh.write(b"osc backup marker")
    created = osc("volume", "backup", "create", "--name", "osc-bk1",
                  "--description", "first", "osc-bk-src", as_json=True)
    assert created["name"] == "osc-bk1"
    full = backup_status(osc, "osc-bk1", "available")
    assert (full["size"], full["is_incremental"], full["object_count"]) == (1, False, 1)
    inc = osc("volume", "backup", "create", "--incremental", "--name", "osc-bk2",
              "osc-bk-src", as_json=True)
    assert backup_status(osc, inc["id"], "available")["is_incremental"] is True
    rows = {r["Name"]: r for r in osc("volume", "backup", "list", as_json=True)}
    assert {"osc-bk1", "osc-bk2"} <= set(rows) and rows["osc-bk1"]["Status"] == "available"
    osc("volume", "backup", "set", "--name", "osc-bk1b", "--description", "renamed",
        "osc-bk1")
    assert osc("volume", "backup", "show", "osc-bk1b", as_json=True)["description"] == "renamed"
    denied = osc("volume", "backup", "delete", "osc-bk1b", check=False)
    assert denied.returncode != 0 and "Incremental backups exist" in denied.stderr

    osc("volume", "delete", "osc-bk-src")
    restored = osc("volume", "backup", "restore", "osc-bk2", "osc-bk-restored", as_json=True)
    new = wait_for(osc, restored["volume_id"], "available")
    data = (cloud.state_dir / "volumes" / f"volume-{new['id']}").read_bytes()
    assert data[5 * 1024 * 1024:][:17] == b"osc backup marker"
    osc("volume", "backup", "delete", "osc-bk2")
    deadline = time.monotonic() + 30
    while osc("volume", "backup", "show", "osc-bk2", check=False).returncode == 0:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    osc("volume", "backup", "delete", "osc-bk1b")
    osc("volume", "delete", new["id"])
