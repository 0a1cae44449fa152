"""The unmodified `openstack` CLI against the running cloud's volume groups (the session
`cloud`: volume files for real, the iSCSI target faked): group types and their properties,
a group of a volume type, a volume added to it, a group snapshot, the group deleted with its
volumes."""
from __future__ import annotations

import time

import pytest

from tests.conftest import osc_runner

pytestmark = [pytest.mark.osc, pytest.mark.real]
V314 = {"OS_VOLUME_API_VERSION": "3.14"}


@pytest.fixture(scope="module")
def osc(cloud):
    run = osc_runner(cloud.os_env())

    def at_314(*args: str, **kw):
        out = run(*args, env={**V314, **kw.pop("env", {})}, **kw)
        return _norm(out) if kw.get("as_json") else out
    return at_314


def _norm(value):
    """osc's columns ("Is Public", "ID") as the API's keys (is_public, id)."""
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return {k.lower().replace(" ", "_"): v for k, v in value.items()}


def _until(get, wanted, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while (value := get()) != wanted:
        assert time.monotonic() < deadline, f"still {value}, wanted {wanted}"
        time.sleep(0.5)


def test_group_type_commands(osc):
    created = osc("volume", "group", "type", "create", "--description", "together",
                  "osc-gt", as_json=True)
    assert (created["name"], created["description"], created["is_public"]) == \
        ("osc-gt", "together", True)
    osc("volume", "group", "type", "set", "--property",
        "consistent_group_snapshot_enabled=<is> True", "osc-gt")
    shown = osc("volume", "group", "type", "show", "osc-gt", as_json=True)
    assert "consistent_group_snapshot_enabled" in str(shown["properties"])
    names = {t["name"] for t in osc("volume", "group", "type", "list", as_json=True)}
    assert "osc-gt" in names
    osc("volume", "group", "type", "create", "osc-gt-gone")
    osc("volume", "group", "type", "delete", "osc-gt-gone")
    assert "osc-gt-gone" not in {t["name"] for t in osc("volume", "group", "type", "list",
                                                         as_json=True)}


def test_group_with_a_volume_and_a_group_snapshot(osc):
    osc("volume", "group", "type", "create", "osc-gt2")
    osc("volume", "type", "create", "osc-vt")
    group = osc("volume", "group", "create", "--volume-group-type", "osc-gt2",
                "--volume-type", "osc-vt", "--name", "osc-g1", as_json=True)
    assert group["name"] == "osc-g1"
    osc("volume", "create", "--size", "1", "--type", "osc-vt", "osc-m1")
    _until(lambda: osc("volume", "show", "osc-m1", as_json=True)["status"], "available")
    osc("volume", "group", "add", "volume", "osc-g1", "osc-m1")
    shown = osc("volume", "group", "show", "osc-g1", as_json=True)
    assert (shown["status"], shown["name"]) == ("available", "osc-g1")
    member = osc("volume", "show", "osc-m1", as_json=True)
    assert member["group_id"] == group["id"]

    osc("volume", "group", "snapshot", "create", "--name", "osc-gs1", "osc-g1")
    _until(lambda: osc("volume", "group", "snapshot", "show", "osc-gs1",
                       as_json=True)["status"], "available")
    listed = osc("volume", "group", "snapshot", "list", as_json=True)
    assert [s["name"] for s in listed] == ["osc-gs1"]
    osc("volume", "group", "snapshot", "delete", "osc-gs1")
    _until(lambda: osc("volume", "group", "snapshot", "list", as_json=True), [])

    osc("volume", "group", "delete", "--force", "osc-g1")
    _until(lambda: osc("volume", "group", "list", as_json=True), [])
    assert osc("volume", "show", "osc-m1", check=False).returncode != 0
    osc("volume", "group", "type", "delete", "osc-gt2")
