"""The unmodified `openstack` CLI (python-openstackclient 10.5.0, openstacksdk 4.22.0, in
`.venv-osc`) against a real running minicloud: the commands the issue lists, output checked."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pytest
import requests

from tests.conftest import OSC_BIN

pytestmark = [pytest.mark.osc, pytest.mark.real]


@pytest.fixture(scope="module")
def osc(cloud):
    if not OSC_BIN.exists():
        pytest.fail(f"{OSC_BIN} is missing: run `make setup`")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(cloud.os_env())

    def run(*args: str, stdin: bytes | None = None, check: bool = True) -> str:
        proc = subprocess.run([str(OSC_BIN), *args], input=stdin, capture_output=True,
                              env=env, timeout=120, check=False,
                              stdin=None if stdin is not None else subprocess.DEVNULL)
        if check:
            assert proc.returncode == 0, f"openstack {' '.join(args)}: {proc.stderr.decode()}"
        return proc.stdout.decode() if check else proc

    return run


def test_token_issue(osc, cloud):
    token = json.loads(osc("token", "issue", "-f", "json"))
    assert token["id"].startswith("gAAAA") and len(token["project_id"]) == 32
    assert token["expires"]


def test_token_revoke(osc, cloud):
    """`openstack token revoke`: the token stops working for every service."""
    token = json.loads(osc("token", "issue", "-f", "json"))["id"]
    image_url = f"http://127.0.0.1:{cloud.ports['image']}/v2/images"
    assert requests.get(image_url, headers={"X-Auth-Token": token}, timeout=30).ok
    osc("token", "revoke", token)
    refused = requests.get(image_url, headers={"X-Auth-Token": token}, timeout=30)
    assert refused.status_code == 401 and "revoked" in refused.text
    again = osc("token", "revoke", token, check=False)
    assert again.returncode == 1


def test_catalog_list(osc, cloud):
    catalog = {e["Type"]: e for e in json.loads(osc("catalog", "list", "-f", "json"))}
    assert set(catalog) >= {"identity", "image"}
    assert f"http://127.0.0.1:{cloud.ports['image']}" in str(catalog["image"]["Endpoints"])


def test_versions_show(osc):
    rows = json.loads(osc("versions", "show", "-f", "json"))
    services = {(r["Service Type"], r["Version"]) for r in rows}
    assert ("identity", "3.14") in services
    assert any(t == "image" and v.startswith("2.") for t, v in services)


def test_image_lifecycle(osc, tmp_path):
    data = os.urandom(3 << 20)
    src = tmp_path / "disk.raw"
    src.write_bytes(data)
    created = json.loads(osc("image", "create", "--disk-format", "raw", "--container-format",
                             "bare", "--file", str(src), "--property", "lab=one",
                             "osc-image", "-f", "json"))
    assert created["status"] == "active"
    assert created["checksum"] == hashlib.md5(data).hexdigest()
    shown = json.loads(osc("image", "show", "osc-image", "-f", "json"))
    assert shown["size"] == len(data) and shown["properties"]["lab"] == "one"
    assert shown["properties"]["os_hash_value"] == hashlib.sha512(data).hexdigest()

    listed = json.loads(osc("image", "list", "-f", "json"))
    assert "osc-image" in [i["Name"] for i in listed]
    long = {i["Name"]: i for i in json.loads(osc("image", "list", "--long", "-f", "json"))}
    assert long["osc-image"]["Disk Format"] == "raw"

    osc("image", "set", "--property", "lab=two", "--property", "extra=x", "osc-image")
    props = json.loads(osc("image", "show", "osc-image", "-f", "json"))["properties"]
    assert (props["lab"], props["extra"]) == ("two", "x")

    out = tmp_path / "out.raw"
    osc("image", "save", "--file", str(out), "osc-image")
    assert out.read_bytes() == data

    osc("image", "set", "--deactivate", "osc-image")
    assert json.loads(osc("image", "show", "osc-image", "-f", "json"))["status"] == \
        "deactivated"
    osc("image", "set", "--activate", "osc-image")
    assert json.loads(osc("image", "show", "osc-image", "-f", "json"))["status"] == "active"

    osc("image", "set", "--hidden", "osc-image")
    assert "osc-image" not in osc("image", "list", "-f", "value", "-c", "Name").split()
    shown = json.loads(osc("image", "show", "osc-image", "-f", "json"))
    assert shown["properties"]["os_hidden"] is True
    osc("image", "set", "--unhidden", "osc-image")

    osc("image", "delete", "osc-image")
    assert "osc-image" not in osc("image", "list", "-f", "value", "-c", "Name").split()
    missing = osc("image", "show", "osc-image", check=False)
    assert missing.returncode == 1 and b"No Image found" in missing.stderr


def test_image_create_from_stdin(osc):
    data = os.urandom(200_000)
    created = json.loads(osc("image", "create", "--disk-format", "raw", "--container-format",
                             "bare", "stdin-image", "-f", "json", stdin=data))
    assert created["status"] == "active" and created["size"] == len(data)
    empty = json.loads(osc("image", "create", "--disk-format", "raw", "--container-format",
                           "bare", "empty-image", "-f", "json", stdin=b""))
    assert empty["status"] == "active" and empty["size"] == 0
    osc("image", "delete", "stdin-image", "empty-image")
