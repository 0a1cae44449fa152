"""The unmodified `openstack` CLI against the running cloud's volume service: volume types
(create, list, show, set, unset, access, delete), a volume of a type, volume quotas, and a
volume transfer from the admin's project to another one."""
from __future__ import annotations

import pytest

from tests.conftest import osc_runner
from tests.test_volumes_osc import wait_for

pytestmark = [pytest.mark.osc, pytest.mark.real]


@pytest.fixture(scope="module")
def clients(cloud):
    """(admin, receiver): the admin, and a member of a fresh project ``osc-recv``."""
    admin = osc_runner(cloud.os_env())
    admin("project", "create", "osc-recv")
    admin("user", "create", "--project", "osc-recv", "--password", "recv-pw", "osc-recv")
    admin("role", "add", "--user", "osc-recv", "--project", "osc-recv", "member")
    receiver = osc_runner({**cloud.os_env(), "OS_USERNAME": "osc-recv",
                           "OS_PASSWORD": "recv-pw", "OS_PROJECT_NAME": "osc-recv"})
    return admin, receiver


def test_volume_type_commands(clients):
    osc, _ = clients
    created = osc("volume", "type", "create", "--description", "fast disks",
                  "--property", "tier=gold", "osc-gold", as_json=True)
    assert (created["name"], created["description"], created["is_public"]) == \
        ("osc-gold", "fast disks", True)
    names = {t["Name"] for t in osc("volume", "type", "list", as_json=True)}
    assert {"__DEFAULT__", "osc-gold"} <= names
    # a scoped key: the scheduler matches unscoped extra specs against the backend's
    # capabilities (as Cinder's capability filter), and no backend has a "speed"
    osc("volume", "type", "set", "--property", "lab:speed=10", "--description", "faster",
        "osc-gold")
    osc("volume", "type", "unset", "--property", "tier", "osc-gold")
    shown = osc("volume", "type", "show", "osc-gold", as_json=True)
    assert shown["description"] == "faster" and shown["properties"] == {"lab:speed": "10"}

    osc("volume", "type", "create", "--private", "--project", "osc-recv", "osc-secret")
    secret = osc("volume", "type", "show", "osc-secret", as_json=True)
    assert secret["is_public"] is False
    assert len(secret["access_project_ids"]) == 1
    osc("volume", "type", "unset", "--project", "osc-recv", "osc-secret")
    secret = osc("volume", "type", "show", "osc-secret", as_json=True)
    assert not secret["access_project_ids"]

    osc("volume", "create", "--type", "osc-gold", "--size", "1", "osc-typed")
    vol = wait_for(osc, "osc-typed", "available")
    assert vol["type"] == "osc-gold"
    refused = osc("volume", "type", "delete", "osc-gold", check=False)
    assert refused.returncode != 0 and "in use" in refused.stderr
    osc("volume", "delete", "osc-typed")
    osc("volume", "type", "set", "--name", "osc-gold2", "osc-gold")
    osc("volume", "type", "delete", "osc-secret")
    names = {t["Name"] for t in osc("volume", "type", "list", "--long", as_json=True)}
    assert "osc-secret" not in names and "osc-gold2" in names


def test_volume_quota_commands(clients):
    osc, _ = clients
    osc("quota", "set", "--volumes", "7", "--gigabytes", "70", "--per-volume-gigabytes", "5",
        "osc-recv")
    shown = osc("quota", "show", "--volume", "osc-recv", as_json=True)
    values = {row["Resource"]: row["Limit"] for row in shown}
    assert (values["volumes"], values["gigabytes"], values["per-volume-gigabytes"]) == \
        (7, 70, 5), shown
    defaults = osc("quota", "show", "--volume", "--default", "osc-recv", as_json=True)
    assert {row["Resource"]: row["Limit"] for row in defaults}["volumes"] == 10, defaults


def test_volume_transfer_commands(clients):
    osc, receiver = clients
    osc("volume", "create", "--size", "1", "osc-gift")
    vol = wait_for(osc, "osc-gift", "available")
    request = osc("volume", "transfer", "request", "create", "--name", "to-recv",
                  "osc-gift", as_json=True)
    assert request["volume_id"] == vol["id"] and len(request["auth_key"]) == 16
    assert wait_for(osc, "osc-gift", "awaiting-transfer")["id"] == vol["id"]
    listed = osc("volume", "transfer", "request", "list", as_json=True)
    assert [r["ID"] for r in listed if r["Volume"] == vol["id"]] == [request["id"]]
    shown = osc("volume", "transfer", "request", "show", request["id"], as_json=True)
    assert shown["name"] == "to-recv" and "auth_key" not in shown

    refused = receiver("volume", "transfer", "request", "accept", "--auth-key",
                       "0" * 16, request["id"], check=False)
    assert refused.returncode != 0
    receiver("volume", "transfer", "request", "accept", "--auth-key", request["auth_key"],
             request["id"])
    mine = receiver("volume", "show", vol["id"], as_json=True)
    assert (mine["name"], mine["status"]) == ("osc-gift", "available")
    assert osc("volume", "transfer", "request", "show", request["id"], check=False
               ).returncode != 0

    # A withdrawn request gives the volume back.
    osc("volume", "create", "--size", "1", "osc-kept")
    wait_for(osc, "osc-kept", "available")
    kept = osc("volume", "transfer", "request", "create", "osc-kept", as_json=True)
    osc("volume", "transfer", "request", "delete", kept["id"])
    assert wait_for(osc, "osc-kept", "available")["name"] == "osc-kept"
    osc("volume", "delete", "osc-kept")


def test_volume_qos_commands(clients):
    osc, _ = clients
    osc("volume", "type", "create", "osc-qos-type")
    created = osc("volume", "qos", "create", "--consumer", "front-end",
                  "--property", "read_iops_sec=200", "osc-slow", as_json=True)
    assert (created["name"], created["consumer"]) == ("osc-slow", "front-end")
    osc("volume", "qos", "associate", "osc-slow", "osc-qos-type")
    osc("volume", "qos", "set", "--property", "write_iops_sec=100", "osc-slow")
    shown = osc("volume", "qos", "show", "osc-slow", as_json=True)
    assert shown["properties"] == {"read_iops_sec": "200", "write_iops_sec": "100"}
    assert "osc-qos-type" in str(shown["associations"])
    assert any(q["Name"] == "osc-slow" for q in osc("volume", "qos", "list", as_json=True))
    osc("volume", "qos", "disassociate", "--volume-type", "osc-qos-type", "osc-slow")
    osc("volume", "qos", "delete", "osc-slow")
    osc("volume", "type", "delete", "osc-qos-type")
