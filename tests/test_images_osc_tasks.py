"""``openstack image task list`` / ``image task show`` (the unmodified CLI, admin by
default as Glance's ``tasks_api_access``) against a running cloud: an import's task."""
from __future__ import annotations

import os
import time

import pytest

from tests.conftest import osc_runner

pytestmark = [pytest.mark.osc, pytest.mark.real]


def test_image_task_list_and_show(cloud, tmp_path):
    osc = osc_runner(cloud.os_env())
    src = tmp_path / "d.raw"
    src.write_bytes(os.urandom(30_000))
    image = osc("image", "create", "--disk-format", "raw", "--container-format", "bare",
                "--import", "--file", str(src), "osc-task", as_json=True)
    for _ in range(100):
        status = osc("image", "show", image["id"], as_json=True)["status"]
        if status == "active":
            break
        time.sleep(0.2)
    assert status == "active"
    listed = osc("image", "task", "list", as_json=True)
    assert listed and {"ID", "Type", "Status", "Owner"} <= set(listed[0])
    mine = [t for t in listed if t["Status"] == "success"]
    assert mine, listed
    only = osc("image", "task", "list", "--status", "failure", as_json=True)
    assert all(t["Status"] == "failure" for t in only)
    shown = osc("image", "task", "show", mine[0]["ID"], as_json=True)
    assert shown["id"] == mine[0]["ID"] and shown["status"] == "success"
    assert shown["type"] == "api_image_import" and shown["expires_at"]
    assert shown["input"]["import_req"]["method"]["name"] == "glance-direct"
    assert shown["result"] == {"image_id": image["id"]}
