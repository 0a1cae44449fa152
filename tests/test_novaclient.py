"""python-novaclient (18.13, in ``.venv-osc``), unmodified, against a running minicloud on the
fake virt driver: flavors and servers listed, shown, created and deleted, at microversion
2.1 and at novaclient's (and minicloud's) maximum, 2.96; and the ``nova`` CLI's lists."""
from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT, osc_runner

pytestmark = [pytest.mark.osc, pytest.mark.real]
OSC_PY = ROOT / ".venv-osc" / "bin" / "python"
NOVA = ROOT / ".venv-osc" / "bin" / "nova"

SCRIPT = textwrap.dedent('''
    import json, os, sys, time
    from keystoneauth1 import loading, session
    from novaclient import client, exceptions

    auth = loading.get_plugin_loader("password").load_from_options(
        auth_url=os.environ["OS_AUTH_URL"], username=os.environ["OS_USERNAME"],
        password=os.environ["OS_PASSWORD"], project_name=os.environ["OS_PROJECT_NAME"],
        user_domain_name="Default", project_domain_name="Default")
    sess = session.Session(auth=auth)
    version, image_id, suffix = sys.argv[1:4]
    nova = client.Client(version, session=sess)
    out = {}

    def until(fetch, done, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = fetch()
            except exceptions.NotFound as exc:
                value = exc
            if done(value):
                return value
            assert time.monotonic() < deadline, f"timed out: {value}"
            time.sleep(0.3)

    # flavors
    out["flavor_names"] = sorted(f.name for f in nova.flavors.list())
    made = nova.flavors.create(f"nc.flavor{suffix}", 128, 1, 1, flavorid="auto")
    made.set_keys({"k": "v"})
    shown = nova.flavors.get(made.id)
    out["flavor"] = {"name": shown.name, "ram": shown.ram, "vcpus": shown.vcpus,
                     "disk": shown.disk, "keys": shown.get_keys()}
    nova.flavors.delete(made.id)
    try:
        nova.flavors.get(made.id)
        out["flavor_deleted"] = False
    except exceptions.NotFound:
        out["flavor_deleted"] = True

    # servers
    kwargs = {"nics": "none"} if version != "2.1" else {}
    names = [f"nc-vm{suffix}-{i}" for i in range(3)]
    created = [nova.servers.create(name, image_id, "6", **kwargs) for name in names]
    for server in created:
        until(lambda: nova.servers.get(server.id), lambda s: s.status == "ACTIVE")
    found = nova.servers.list(search_opts={"name": f"nc-vm{suffix}-"})
    out["listed"] = sorted(s.name for s in found)
    # limit=-1: novaclient pages with the last id as marker until a page is empty
    out["paged"] = len(nova.servers.list(limit=-1, search_opts={"name": f"nc-vm{suffix}-"}))
    out["two"] = len(nova.servers.list(limit=2, search_opts={"name": f"nc-vm{suffix}-"}))
    shown = nova.servers.get(created[0].id)
    out["server"] = {"name": shown.name, "status": shown.status,
                     "flavor": shown.flavor, "image": shown.image["id"]}
    shown.stop()
    until(lambda: nova.servers.get(created[0].id), lambda s: s.status == "SHUTOFF")
    for server in created:
        nova.servers.delete(server.id)
    for server in created:
        until(lambda: nova.servers.get(server.id),
              lambda s: isinstance(s, exceptions.NotFound))
    out["left"] = [s.name for s in nova.servers.list(search_opts={"name": f"nc-vm{suffix}-"})]
    print(json.dumps(out))
''')


@pytest.fixture(scope="module")
def os_env(cloud) -> dict[str, str]:
    if not OSC_PY.exists():
        pytest.fail(f"{OSC_PY} is missing: run `make setup`")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(cloud.os_env())
    return env


@pytest.fixture(scope="module")
def image_id(cloud, tmp_path_factory) -> str:
    disk = tmp_path_factory.mktemp("novaclient") / "disk.raw"
    with disk.open("wb") as fh:
        fh.truncate(1 << 20)
    return osc_runner(cloud.os_env())("image", "create", "--disk-format", "raw",
                                      "--container-format", "bare", "--file", str(disk),
                                      "novaclient-img", as_json=True)["id"]


def _run(os_env: dict, tmp_path: Path, version: str, image: str, suffix: str) -> dict:
    script = tmp_path / "nova_script.py"
    script.write_text(SCRIPT)
    proc = subprocess.run([str(OSC_PY), str(script), version, image, suffix],
                          capture_output=True, text=True, env=os_env, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("version, suffix", [("2.1", "a"), ("2.96", "b")])
def test_novaclient_flavors_and_servers(os_env, image_id, tmp_path, version, suffix):
    out = _run(os_env, tmp_path, version, image_id, suffix)
    assert {"m1.tiny", "lab.nano"} <= set(out["flavor_names"])
    assert out["flavor"] == {"name": f"nc.flavor{suffix}", "ram": 128, "vcpus": 1,
                             "disk": 1, "keys": {"k": "v"}}
    assert out["flavor_deleted"] is True
    assert out["listed"] == [f"nc-vm{suffix}-{i}" for i in range(3)]
    assert (out["paged"], out["two"]) == (3, 2)  # the marker is honoured: paging ends
    server = out["server"]
    assert (server["name"], server["status"], server["image"]) == (
        f"nc-vm{suffix}-0", "ACTIVE", image_id)
    if version == "2.1":
        assert server["flavor"]["id"] == "6"
    else:
        assert server["flavor"]["original_name"] == "lab.nano"
    assert out["left"] == []


def test_nova_cli_lists(os_env):
    if not NOVA.exists():
        pytest.skip("this python-novaclient has no `nova` CLI")
    proc = subprocess.run([str(NOVA), "flavor-list"], capture_output=True, text=True,
                          env=os_env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "lab.nano" in proc.stdout and "m1.tiny" in proc.stdout
    proc = subprocess.run([str(NOVA), "list"], capture_output=True, text=True, env=os_env,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
