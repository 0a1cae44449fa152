"""The unmodified `openstack` CLI and `minicloud keypair` against a running minicloud's
keypairs (fake virt driver): create (generated and imported), list, show, delete, and a
server created with `--key-name K --config-drive True --user-data F`."""
from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.test_osc_compute import image, osc, run  # noqa: F401 - fixtures

pytestmark = [pytest.mark.osc, pytest.mark.real]


def _md5_colon(line: str) -> str:
    digest = hashlib.md5(base64.b64decode(line.split()[1])).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def test_openstack_keypair_lifecycle(run, osc, image, tmp_path: Path):  # noqa: F811
    private = tmp_path / "id_osc"
    created = osc("keypair", "create", "--private-key", str(private), "osc-gen")
    assert private.exists()
    # the CLI generates the pair itself at 2.92+ (OpenSSH's private key format)
    key = serialization.load_ssh_private_key(private.read_bytes(), None)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    assert created["fingerprint"] == _md5_colon(public)
    pub_file = tmp_path / "imported.pub"
    line = public + " imported@test"
    run("keypair", "delete", "osc-gen")
    pub_file.write_text(line + "\n")
    imported = osc("keypair", "create", "--public-key", str(pub_file), "osc-imp")
    assert imported["fingerprint"] == _md5_colon(line)
    listed = osc("keypair", "list")
    assert [k["Name"] for k in listed] == ["osc-imp"]
    shown = osc("keypair", "show", "osc-imp")
    assert (shown["name"], shown["fingerprint"], shown["type"]) == (
        "osc-imp", _md5_colon(line), "ssh")
    assert run("keypair", "show", "--public-key", "osc-imp").stdout.strip() == line
    # a server with the key, a config drive and user data
    user_data = tmp_path / "user-data"
    user_data.write_bytes(b"#!/bin/sh\necho hi\n")
    server = osc("server", "create", "--image", image["id"], "--flavor", "lab.nano",
                 "--key-name", "osc-imp", "--config-drive", "True", "--user-data",
                 str(user_data), "--wait", "osc-kp-vm")
    assert (server["key_name"], server["config_drive"]) == ("osc-imp", "True")
    run("server", "delete", "--wait", server["id"])
    failed = run("server", "create", "--image", image["id"], "--flavor", "lab.nano",
                 "--key-name", "nope", "osc-kp-bad", check=False)
    assert failed.returncode == 1 and "Invalid key_name provided" in failed.stderr
    run("keypair", "delete", "osc-imp")
    assert osc("keypair", "list") == []


def test_minicloud_keypair_commands(cloud, image, tmp_path: Path):  # noqa: F811
    def mc(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = cloud.minicloud(*args, check=False)
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc

    printed = mc("keypair", "create", "mc-gen").stdout.decode()
    assert printed.startswith("-----BEGIN RSA PRIVATE KEY-----")
    private = tmp_path / "id_mc"
    created = json.loads(mc("keypair", "create", "mc-file", "--private-key", str(private),
                            "-f", "json").stdout)
    assert private.stat().st_mode & 0o777 == 0o600
    key = serialization.load_pem_private_key(private.read_bytes(), None)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    assert created["fingerprint"] == _md5_colon(public)
    names = mc("keypair", "list", "-f", "value", "-c", "Name").stdout.decode().split()
    assert names[-2:] == ["mc-gen", "mc-file"]
    shown = json.loads(mc("keypair", "show", "mc-file", "-f", "json").stdout)
    assert shown["fingerprint"] == created["fingerprint"]
    user_data = tmp_path / "user-data"
    user_data.write_bytes(b"#!/bin/sh\n")
    server = json.loads(mc("server", "create", "mc-kp-vm", "--image", image["id"],
                           "--flavor", "lab.nano", "--key-name", "mc-file", "--user-data",
                           str(user_data), "--config-drive", "--wait", "-f", "json").stdout)
    assert (server["key_name"], server["config_drive"]) == ("mc-file", "True")
    mc("server", "delete", "--wait", server["id"])
    mc("keypair", "delete", "mc-gen", "mc-file")
    failed = mc("keypair", "show", "mc-file", check=False)
    assert failed.returncode == 1 and b"not found" in failed.stderr
