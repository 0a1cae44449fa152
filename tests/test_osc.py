"""The unmodified `openstack` CLI (python-openstackclient 10.5.0, openstacksdk 4.22.0, in
`.venv-osc`) against a real running minicloud: the commands the issue lists, output checked."""
from __future__ import annotations

import hashlib
import os

import pytest
import requests

from tests.conftest import osc_runner

pytestmark = [pytest.mark.osc, pytest.mark.real]


@pytest.fixture(scope="module")
def osc(cloud):
    return osc_runner(cloud.os_env())


def test_token_issue(osc, cloud):
    token = osc("token", "issue", as_json=True)
    assert token["id"].startswith("gAAAA") and len(token["project_id"]) == 32
    assert token["expires"]


def test_token_revoke(osc, cloud):
    """`openstack token revoke`: the token stops working for every service."""
    token = osc("token", "issue", as_json=True)["id"]
    image_url = f"http://127.0.0.1:{cloud.ports['image']}/v2/images"
    assert requests.get(image_url, headers={"X-Auth-Token": token}, timeout=30).ok
    osc("token", "revoke", token)
    refused = requests.get(image_url, headers={"X-Auth-Token": token}, timeout=30)
    assert refused.status_code == 401 and "revoked" in refused.text
    again = osc("token", "revoke", token, check=False)
    assert again.returncode == 1


def test_catalog_list(osc, cloud):
    catalog = {e["Type"]: e for e in osc("catalog", "list", as_json=True)}
    assert set(catalog) >= {"identity", "image"}
    assert f"http://127.0.0.1:{cloud.ports['image']}" in str(catalog["image"]["Endpoints"])


def test_versions_show(osc):
    rows = osc("versions", "show", as_json=True)
    services = {(r["Service Type"], r["Version"]) for r in rows}
    assert ("identity", "3.14") in services
    assert any(t == "image" and v.startswith("2.") for t, v in services)


def test_image_lifecycle(osc, tmp_path):
    data = os.urandom(3 << 20)
    src = tmp_path / "disk.raw"
    src.write_bytes(data)
    created = osc("image", "create", "--disk-format", "raw", "--container-format",
                  "bare", "--file", str(src), "--property", "lab=one",
                  "osc-image", as_json=True)
    assert created["status"] == "active"
    assert created["checksum"] == hashlib.md5(data).hexdigest()
    shown = osc("image", "show", "osc-image", as_json=True)
    assert shown["size"] == len(data) and shown["properties"]["lab"] == "one"
    assert shown["properties"]["os_hash_value"] == hashlib.sha512(data).hexdigest()

    listed = osc("image", "list", as_json=True)
    assert "osc-image" in [i["Name"] for i in listed]
    long = {i["Name"]: i for i in osc("image", "list", "--long", as_json=True)}
    assert long["osc-image"]["Disk Format"] == "raw"

    osc("image", "set", "--property", "lab=two", "--property", "extra=x", "osc-image")
    props = osc("image", "show", "osc-image", as_json=True)["properties"]
    assert (props["lab"], props["extra"]) == ("two", "x")

    out = tmp_path / "out.raw"
    osc("image", "save", "--file", str(out), "osc-image")
    assert out.read_bytes() == data

    osc("image", "set", "--deactivate", "osc-image")
    assert osc("image", "show", "osc-image", as_json=True)["status"] == "deactivated"
    osc("image", "set", "--activate", "osc-image")
    assert osc("image", "show", "osc-image", as_json=True)["status"] == "active"

    osc("image", "set", "--hidden", "osc-image")
    assert "osc-image" not in osc("image", "list", "-f", "value", "-c", "Name").stdout.split()
    shown = osc("image", "show", "osc-image", as_json=True)
    assert shown["properties"]["os_hidden"] is True
    osc("image", "set", "--unhidden", "osc-image")

    osc("image", "delete", "osc-image")
    assert "osc-image" not in osc("image", "list", "-f", "value", "-c", "Name").stdout.split()
    missing = osc("image", "show", "osc-image", check=False)
    assert missing.returncode == 1 and "No Image found" in missing.stderr


def test_image_create_from_stdin(osc):
    data = os.urandom(200_000)
    created = osc("image", "create", "--disk-format", "raw", "--container-format",
                  "bare", "stdin-image", as_json=True, stdin=data)
    assert created["status"] == "active" and created["size"] == len(data)
    empty = osc("image", "create", "--disk-format", "raw", "--container-format",
                "bare", "empty-image", as_json=True, stdin=b"")
    assert empty["status"] == "active" and empty["size"] == 0
    osc("image", "delete", "stdin-image", "empty-image")
