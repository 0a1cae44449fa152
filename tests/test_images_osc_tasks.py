"""``openstack image task list`` / ``image task show`` (the unmodified CLI, admin by
default as Glance's ``tasks_api_access``) against a running cloud: an import's task."""
from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from tests.conftest import OSC_BIN

pytestmark = [pytest.mark.osc, pytest.mark.real]


def _osc(cloud, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(cloud.os_env())
    proc = subprocess.run([str(OSC_BIN), *args], capture_output=True, env=env, timeout=120,
                          check=False, stdin=subprocess.DEVNULL, text=True)
    assert proc.returncode == 0, f"openstack {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def test_image_task_list_and_show(cloud, tmp_path):
    if not OSC_BIN.exists():
        pytest.fail(f"{OSC_BIN} is missing: run `make setup`")
    src = tmp_path / "d.raw"
    src.write_bytes(os.urandom(30_000))
    image = json.loads(_osc(cloud, "image", "create", "--disk-format", "raw",
                            "--container-format", "bare", "--import", "--file", str(src),
                            "osc-task", "-f", "json"))
    for _ in range(100):
        status = json.loads(_osc(cloud, "image", "show", image["id"], "-f", "json"))["status"]
        if status == "active":
            break
        time.sleep(0.2)
    assert status == "active"
    listed = json.loads(_osc(cloud, "image", "task", "list", "-f", "json"))
    assert listed and {"ID", "Type", "Status", "Owner"} <= set(listed[0])
    mine = [t for t in listed if t["Status"] == "success"]
    assert mine, listed
    only = json.loads(_osc(cloud, "image", "task", "list", "--status", "failure",
                           "-f", "json"))
    assert all(t["Status"] == "failure" for t in only)
    shown = json.loads(_osc(cloud, "image", "task", "show", mine[0]["ID"], "-f", "json"))
    assert shown["id"] == mine[0]["ID"] and shown["status"] == "success"
    assert shown["type"] == "api_image_import" and shown["expires_at"]
    assert shown["input"]["import_req"]["method"]["name"] == "glance-direct"
    assert shown["result"] == {"image_id": image["id"]}
