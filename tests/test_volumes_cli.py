"""``minicloud volume ...`` (a subprocess) against the session's real running cloud."""
from __future__ import annotations

import json
import time

import pytest

pytestmark = pytest.mark.real


def _json(cloud, *args: str):
    return json.loads(cloud.minicloud(*args, "-f", "json").stdout)


def _wait(cloud, name: str, status: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while (vol := _json(cloud, "volume", "show", name))["status"] != status:
        assert time.monotonic() < deadline, vol["status"]
        time.sleep(0.3)
    return vol


def test_volume_commands(cloud):
    vol = _json(cloud, "volume", "create", "cli-v1", "--size", "1", "--description", "d",
                "--property", "a=1", "--wait")
    assert (vol["status"], vol["size"], vol["properties"], vol["description"]) == \
        ("available", 1, {"a": "1"}, "d")
    assert vol["bootable"] == "false" and vol["type"] == "__DEFAULT__"

    rows = _json(cloud, "volume", "list")
    assert {"ID", "Name", "Status", "Size", "Attached to"} == set(rows[0])
    assert "cli-v1" in [r["Name"] for r in rows]
    long = {r["Name"]: r for r in _json(cloud, "volume", "list", "--long")}
    assert long["cli-v1"]["Properties"] == {"a": "1"}
    names = cloud.minicloud("volume", "list", "-f", "value", "-c", "Name").stdout.decode().split()
    assert "cli-v1" in names

    cloud.minicloud("volume", "set", "cli-v1", "--name", "cli-v1b", "--property", "b=2",
                    "--size", "2", "--bootable")
    vol = _wait(cloud, "cli-v1b", "available")
    assert (vol["size"], vol["properties"], vol["bootable"]) == (2, {"a": "1", "b": "2"},
                                                                  "true")
    cloud.minicloud("volume", "unset", "cli-v1b", "--property", "a")
    assert _json(cloud, "volume", "show", "cli-v1b")["properties"] == {"b": "2"}

    bad = cloud.minicloud("volume", "delete", "cli-v1b", "no-such-volume", check=False)
    assert bad.returncode == 1
    assert b"failed to delete volume no-such-volume: No Volume found" in bad.stderr
    missing = cloud.minicloud("volume", "show", "cli-v1b", check=False)
    deadline = time.monotonic() + 20
    while missing.returncode == 0 and time.monotonic() < deadline:
        time.sleep(0.3)
        missing = cloud.minicloud("volume", "show", "cli-v1b", check=False)
    assert missing.returncode == 1 and b"No Volume found for cli-v1b" in missing.stderr


def test_volume_create_from_image_and_usage_errors(cloud, tmp_path):
    src = tmp_path / "disk.raw"
    src.write_bytes(b"\xab" * 8192)
    cloud.minicloud("image", "create", "cli-vol-image", "--file", str(src))
    try:
        vol = _json(cloud, "volume", "create", "cli-v2", "--image", "cli-vol-image", "--wait")
        assert (vol["size"], vol["bootable"]) == (1, "true")
        assert vol["volume_image_metadata"]["image_name"] == "cli-vol-image"
        cloud.minicloud("volume", "delete", "cli-v2")
    finally:
        cloud.minicloud("image", "delete", "cli-vol-image")
    usage = cloud.minicloud("volume", "create", "nosize", check=False)
    assert usage.returncode == 2 and b"--size is required" in usage.stderr
    quota = cloud.minicloud("volume", "create", "huge", "--size", "100000", check=False)
    assert quota.returncode == 1 and b"quota" in quota.stderr
