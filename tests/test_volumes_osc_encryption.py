"""The unmodified `openstack` CLI against the running cloud: a volume type with an
encryption spec (create, show, refused changes while in use, unset) and a per-type volume
quota (``quota set --volume-type``)."""
from __future__ import annotations

import time

import pytest

from tests.conftest import osc_runner

pytestmark = [pytest.mark.osc, pytest.mark.real]


@pytest.fixture(scope="module")
def osc(cloud):
    return osc_runner(cloud.os_env())


def _available(osc, name: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while (vol := osc("volume", "show", name, as_json=True))["status"] != "available":
        assert time.monotonic() < deadline, f"{name} is still {vol['status']}"
        time.sleep(0.5)
    return vol


def test_encrypted_type_and_per_type_quota(osc):
    osc("volume", "type", "create", "--encryption-provider", "luks", "--encryption-cipher",
        "aes-xts-plain64", "--encryption-key-size", "256", "--encryption-control-location",
        "front-end", "osc-luks")
    shown = osc("volume", "type", "show", "--encryption-type", "osc-luks", as_json=True)
    assert "luks" in str(shown["encryption"]) and "aes-xts-plain64" in str(shown["encryption"])
    project = osc("token", "issue", as_json=True)["project_id"]
    osc("quota", "set", "--volume-type", "osc-luks", "--volumes", "1", project)
    quota = osc("quota", "show", "--volume", project, as_json=True)
    assert "volumes_osc-luks" in str(quota)

    osc("volume", "create", "--type", "osc-luks", "--size", "1", "osc-enc")
    assert _available(osc, "osc-enc")["encrypted"] is True
    second = osc("volume", "create", "--type", "osc-luks", "--size", "1", "osc-enc2",
                 check=False)
    assert second.returncode != 0 and "volumes_osc-luks" in second.stderr
    refused = osc("volume", "type", "unset", "--encryption-type", "osc-luks", check=False)
    assert refused.returncode != 0 and "in use" in refused.stderr

    osc("volume", "delete", "osc-enc")
    deadline = time.monotonic() + 60
    while osc("volume", "show", "osc-enc", check=False).returncode == 0:
        assert time.monotonic() < deadline, "osc-enc is not gone"
        time.sleep(0.5)
    osc("volume", "type", "unset", "--encryption-type", "osc-luks")
    shown = osc("volume", "type", "show", "--encryption-type", "osc-luks", as_json=True)
    assert not shown.get("encryption")
    osc("quota", "set", "--volume-type", "osc-luks", "--volumes", "-1", project)
    osc("volume", "type", "delete", "osc-luks")
