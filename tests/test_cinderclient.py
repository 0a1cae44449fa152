"""The unmodified ``cinder`` CLI (python-cinderclient 9.10 in ``.venv-osc``) against the
session's running cloud (volume files for real, the iSCSI target faked): version
negotiation, list, show, create, extend, metadata, summary and delete, and its errors."""
from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.osc, pytest.mark.real]

CINDER = ROOT / ".venv-osc" / "bin" / "cinder"
ROW = re.compile(r"^\|\s*([^|]*?)\s*\|\s*(.*?)\s*\|$")


@pytest.fixture(scope="module")
def cinder(cloud):
    if not CINDER.exists():
        pytest.fail(f"{CINDER} is missing: run `make setup`")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(cloud.os_env())

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(CINDER), *args], capture_output=True, env=env,
                              timeout=120, check=False, stdin=subprocess.DEVNULL)
        if check:
            assert proc.returncode == 0, f"cinder {' '.join(args)}: {proc.stderr.decode()}"
        return proc

    return run


def table(output: bytes) -> list[list[str]]:
    """The rows of a prettytable (header first)."""
    rows = []
    for line in output.decode().splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def properties(output: bytes) -> dict[str, str]:
    """``cinder show``'s Property | Value table as a dict (a value continued on rows with
    an empty property, as dicts are printed, is joined with newlines)."""
    out: dict[str, str] = {}
    last = None
    for line in output.decode().splitlines():
        if (m := ROW.match(line)) is None or m.group(1) == "Property":
            continue
        if m.group(1):
            last = m.group(1)
            out[last] = m.group(2)
        elif last is not None:
            out[last] += "\n" + m.group(2)
    return out


def wait_for(cinder, name: str, status: str, timeout: float = 60) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while (vol := properties(cinder("show", name).stdout))["status"] != status:
        assert time.monotonic() < deadline, f"{name} is still {vol['status']}"
        time.sleep(0.5)
    return vol


def test_negotiates_the_servers_maximum(cinder):
    versions = table(cinder("version-list").stdout)
    header, rows = versions[0], versions[1:]
    row = dict(zip(header, rows[0], strict=True))
    assert (row["Version"], row["Min Version"], row["Status"]) == ("3.70", "3.0", "CURRENT")
    assert "3.70" in cinder("api-version").stdout.decode()


def test_volume_lifecycle(cinder, cloud):
    created = properties(cinder("create", "--name", "cc-v1", "--metadata", "lab=one",
                                "1").stdout)
    assert (created["name"], created["size"]) == ("cc-v1", "1")
    vol = wait_for(cinder, "cc-v1", "available")
    assert vol["bootable"] == "false" and "lab" in vol["metadata"]
    assert vol["os-vol-tenant-attr:tenant_id"] and vol["volume_type_id"]
    assert re.fullmatch(r".+@.+#.+", vol["os-vol-host-attr:host"])  # admin: host@backend#pool

    listed = table(cinder("list").stdout)
    header = listed[0]
    row = dict(zip(header, next(r for r in listed[1:] if "cc-v1" in r), strict=True))
    assert (row["Status"], row["Size"]) == ("available", "1")
    assert [r for r in table(cinder("list", "--name", "cc-v1").stdout)[1:]]
    assert not table(cinder("list", "--name", "no-such-name").stdout)[1:]
    assert table(cinder("list", "--all-tenants").stdout)[1:]
    summary = properties(cinder("summary").stdout)
    assert int(summary["total_count"]) >= 1

    cinder("extend", "cc-v1", "2")
    vol = wait_for(cinder, "cc-v1", "available")
    assert vol["size"] == "2"
    files = list((cloud.state_dir / "volumes").glob(f"volume-{vol['id']}"))
    assert len(files) == 1 and files[0].stat().st_size == 2 * 1024 ** 3

    cinder("metadata", "cc-v1", "set", "x=y")
    cinder("rename", "cc-v1", "cc-v1b", "--description", "renamed")
    vol = properties(cinder("show", "cc-v1b").stdout)
    assert vol["metadata"].splitlines() == ["lab : one", "x : y"]
    assert vol["description"] == "renamed"
    cinder("metadata", "cc-v1b", "unset", "x")
    assert properties(cinder("show", "cc-v1b").stdout)["metadata"] == "lab : one"

    cinder("delete", "cc-v1b")
    deadline = time.monotonic() + 30
    while cinder("show", "cc-v1b", check=False).returncode == 0:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert not files[0].exists()


def test_older_microversions_and_errors(cinder):
    old = properties(cinder("--os-volume-api-version", "3.0", "create", "--name", "cc-v2",
                            "1").stdout)
    assert "volume_type_id" not in old and "consumes_quota" not in old
    wait_for(cinder, "cc-v2", "available")
    shown = properties(cinder("--os-volume-api-version", "3.62", "show", "cc-v2").stdout)
    assert "volume_type_id" not in shown and "cluster_name" in shown  # admin, 3.61+
    missing = cinder("show", "no-such-volume", check=False)
    assert missing.returncode == 1 and b"No volume with a name or ID of" in missing.stderr
    too_big = cinder("create", "--name", "too-big", "100000", check=False)
    assert too_big.returncode == 1 and b"quota" in too_big.stderr.lower()
    bad = cinder("extend", "cc-v2", "1", check=False)
    assert bad.returncode == 1 and b"must be greater than current size" in bad.stderr
    cinder("delete", "cc-v2")


def test_cinderclient_python_api(cloud, tmp_path: Path):
    """The library as scripts use it: a keystoneauth session, negotiated 3.70."""
    script = tmp_path / "probe.py"
    script.write_text(
        "import os\n"
        "from keystoneauth1 import loading, session\n"
        "from cinderclient import client\n"
        "auth = loading.get_plugin_loader('password').load_from_options(\n"
        "    auth_url=os.environ['OS_AUTH_URL'], username=os.environ['OS_USERNAME'],\n"
        "    password=os.environ['OS_PASSWORD'], project_name=os.environ['OS_PROJECT_NAME'],\n"
        "    user_domain_name='Default', project_domain_name='Default')\n"
        "c = client.Client('3.70', session=session.Session(auth=auth))\n"
        "import time\n"
        "v = c.volumes.create(1, name='cc-py')\n"
        "while c.volumes.get(v.id).status != 'available':\n"
        "    time.sleep(0.3)\n"
        "page = c.volumes.list(limit=1, sort='created_at:desc')\n"
        "print(len(page), page[0].id == v.id, c.volumes.get(v.id).name)\n"
        "print(sorted(c.limits.get().absolute, key=lambda x: x.name)[0].name)\n"
        "c.volumes.delete(v.id)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(cloud.os_env())
    proc = subprocess.run([str(ROOT / ".venv-osc" / "bin" / "python"), str(script)],
                          capture_output=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    first, second = proc.stdout.decode().splitlines()
    assert first == "1 True cc-py"
    assert second == "maxTotalBackupGigabytes"
