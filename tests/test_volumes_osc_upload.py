"""``openstack image create --volume`` (the unmodified CLI) against the running session
cloud: the volume's bytes become a qcow2 image owned by the caller's project, carrying the
volume's image properties; the volume is available again afterwards."""
from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.test_volumes_osc import osc, wait_for  # noqa: F401 - the fixture

pytestmark = [pytest.mark.osc, pytest.mark.real]


def _wait_image(osc, name: str, timeout: float = 60) -> dict:  # noqa: F811
    deadline = time.monotonic() + timeout
    while (image := osc("image", "show", name, as_json=True))["status"] != \
            "active":
        assert image["status"] in ("queued", "saving"), image
        assert time.monotonic() < deadline, f"{name} is still {image['status']}"
        time.sleep(0.5)
    return image


def test_image_create_from_a_volume(osc, cloud, tmp_path):  # noqa: F811
    src = tmp_path / "disk.raw"
    src.write_bytes(b"\xcd" * 4096 + os.urandom(4096))
    osc("image", "create", "--disk-format", "raw", "--container-format", "bare", "--file",
        str(src), "--property", "hw_firmware_type=uefi", "osc-up-src")
    try:
        osc("volume", "create", "--image", "osc-up-src", "--size", "1", "osc-up-vol")
        vol = wait_for(osc, "osc-up-vol", "available")
        made = osc("image", "create", "--volume", "osc-up-vol", "--disk-format",
                   "qcow2", "osc-from-vol", as_json=True)
        assert (made["status"], made["disk_format"], made["image_name"]) == \
            ("uploading", "qcow2", "osc-from-vol")
        image = _wait_image(osc, "osc-from-vol")
        assert image["owner"] == vol["os-vol-tenant-attr:tenant_id"]  # the caller's project
        assert image["properties"]["hw_firmware_type"] == "uefi"
        assert image["visibility"] == "private"
        assert wait_for(osc, "osc-up-vol", "available")["status"] == "available"
        saved, raw = tmp_path / "saved.qcow2", tmp_path / "saved.raw"
        osc("image", "save", "--file", str(saved), "osc-from-vol")
        assert saved.read_bytes()[:4] == b"QFI\xfb"
        subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(saved),
                        str(raw)], check=True, timeout=120)
        assert raw.stat().st_size == 1024 ** 3
        with raw.open("rb") as fh:
            assert fh.read(8192) == src.read_bytes()
        osc("image", "delete", "osc-from-vol")
        osc("volume", "delete", "osc-up-vol")
    finally:
        osc("image", "delete", "osc-up-src", check=False)


def test_retype_and_pools(osc):  # noqa: F811
    osc("volume", "type", "create", "osc-gold")
    try:
        osc("volume", "create", "--size", "1", "osc-rt")
        wait_for(osc, "osc-rt", "available")
        osc("volume", "set", "--type", "osc-gold", "--retype-policy", "never", "osc-rt")
        vol = osc("volume", "show", "osc-rt", as_json=True)
        assert vol["type"] == "osc-gold"
        pools = osc("volume", "backend", "pool", "list", "--long", as_json=True)
        assert [p["Name"] for p in pools] == [vol["os-vol-host-attr:host"]]
        host = vol["os-vol-host-attr:host"].split("#")[0]
        caps = osc("volume", "backend", "capability", "show", host, "-f", "json").stdout
        assert "thin_provisioning" in caps
        osc("volume", "delete", "osc-rt")
        wait_gone = time.monotonic() + 60
        while osc("volume", "show", "osc-rt", check=False).returncode == 0:
            assert time.monotonic() < wait_gone
            time.sleep(0.5)
    finally:
        osc("volume", "type", "delete", "osc-gold", check=False)
