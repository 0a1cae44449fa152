"""The unmodified `openstack` CLI (python-openstackclient 10.5.0 in `.venv-osc`) against the
real running cloud's volume service (the session `cloud`: volume files for real, the iSCSI
target faked, so no tgtd is needed): create blank and from an image, list, show, set, delete."""
from __future__ import annotations

import os
import time

import pytest

from tests.conftest import osc_runner

pytestmark = [pytest.mark.osc, pytest.mark.real]


@pytest.fixture(scope="module")
def osc(cloud):
    return osc_runner(cloud.os_env())


def show(osc, name: str) -> dict:
    return osc("volume", "show", name, as_json=True)


def wait_for(osc, name: str, status: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while (vol := show(osc, name))["status"] != status:
        assert time.monotonic() < deadline, f"{name} is still {vol['status']}"
        time.sleep(0.5)
    return vol


def test_catalog_has_block_storage_and_versions(osc, cloud):
    catalog = {e["Type"]: e for e in osc("catalog", "list", as_json=True)}
    assert {"volumev3", "block-storage"} <= set(catalog)
    assert f":{cloud.ports['volume']}/v3/" in str(catalog["volumev3"]["Endpoints"])
    rows = osc("versions", "show", as_json=True)
    block = [r for r in rows if r["Service Type"] == "block-storage"]
    assert block and block[0]["Max Microversion"] == "3.70"


def test_volume_lifecycle(osc, cloud, tmp_path):
    created = osc("volume", "create", "--size", "1", "osc-v1", as_json=True)
    assert created["name"] == "osc-v1" and created["size"] == 1
    vol = wait_for(osc, "osc-v1", "available")
    assert vol["bootable"] is False and vol["attachments"] == []

    listed = osc("volume", "list", as_json=True)
    row = next(r for r in listed if r["Name"] == "osc-v1")
    assert (row["Status"], row["Size"], row["Attached to"]) == ("available", 1, [])
    long = {r["Name"]: r for r in osc("volume", "list", "--long", as_json=True)}
    assert long["osc-v1"]["Bootable"] in (False, "false")
    assert long["osc-v1"]["Type"] == "__DEFAULT__"

    osc("volume", "set", "--property", "lab=one", "--property", "x=y", "osc-v1")
    osc("volume", "set", "--size", "2", "osc-v1")
    vol = wait_for(osc, "osc-v1", "available")
    assert vol["size"] == 2 and vol["properties"] == {"lab": "one", "x": "y"}
    osc("volume", "unset", "--property", "x", "osc-v1")
    osc("volume", "set", "--name", "osc-v1b", "--description", "renamed", "osc-v1")
    vol = show(osc, "osc-v1b")
    assert (vol["description"], vol["properties"]) == ("renamed", {"lab": "one"})
    files = list((cloud.state_dir / "volumes").glob(f"volume-{vol['id']}"))
    assert len(files) == 1 and files[0].stat().st_size == 2 * 1024 ** 3

    osc("volume", "delete", "osc-v1b")
    deadline = time.monotonic() + 30
    while osc("volume", "show", "osc-v1b", check=False).returncode == 0:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert not files[0].exists()
    missing = osc("volume", "show", "osc-v1b", check=False)
    assert missing.returncode == 1 and "No Volume found for osc-v1b" in missing.stderr


def test_volume_from_image_is_bootable(osc, cloud, tmp_path):
    src = tmp_path / "disk.raw"
    src.write_bytes(b"\xab" * 4096 + os.urandom(4096))
    osc("image", "create", "--disk-format", "raw", "--container-format", "bare", "--file",
        str(src), "--property", "hw_firmware_type=uefi", "osc-vol-image")
    try:
        osc("volume", "create", "--image", "osc-vol-image", "--size", "1", "osc-v2")
        vol = wait_for(osc, "osc-v2", "available")
        assert vol["bootable"] is True
        meta = vol["volume_image_metadata"]
        assert meta["image_name"] == "osc-vol-image" and meta["hw_firmware_type"] == "uefi"
        data = (cloud.state_dir / "volumes" / f"volume-{vol['id']}").read_bytes()[:8192]
        assert data == src.read_bytes()
        osc("volume", "set", "--non-bootable", "osc-v2")
        assert show(osc, "osc-v2")["bootable"] is False
        osc("volume", "delete", "osc-v2")
    finally:
        osc("image", "delete", "osc-vol-image")


def test_volume_errors(osc):
    missing = osc("volume", "show", "no-such-volume", check=False)
    assert missing.returncode == 1
    bad = osc("volume", "create", "--size", "100000", "too-big", check=False)
    assert bad.returncode == 1 and "quota" in bad.stderr
