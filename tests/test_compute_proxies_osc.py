"""Real clients on Nova's proxy APIs of a running minicloud (fake virt driver): openstacksdk
4.22's compute proxy (``conn.compute.images()``, the image metadata calls, ``delete_image``,
``extensions()``, and its raw calls of the volume and snapshot proxies) and ``openstack
extension list --compute`` (python-openstackclient 10.5).
novaclient 18 no longer calls the image or volume proxies, so it is not used here.

The proxy calls the real image API with the caller's token: another project's member does not
see the admin's private image through it, and cannot delete it.
"""
from __future__ import annotations

import json
import os
import subprocess
import textwrap

import pytest

from tests.conftest import ROOT, osc_runner

pytestmark = [pytest.mark.osc, pytest.mark.real]
OSC_PY = ROOT / ".venv-osc" / "bin" / "python"
SDK = textwrap.dedent('''
    import json, sys, warnings
    import openstack
    from openstack import exceptions

    warnings.simplefilter("ignore")
    conn = openstack.connect()
    image_id, out = sys.argv[1], {}
    out["listed"] = [i.id for i in conn.compute.images()]
    if sys.argv[2] == "owner":
        image = conn.compute.get_image(image_id)
        out["filtered"] = [i.id for i in conn.compute.images(name="proxy-img", status="ACTIVE",
                                                             min_ram=64)]
        out["too_big"] = [i.id for i in conn.compute.images(min_ram=65)]
        out["shown"] = {"status": image.status, "size": image.size, "min_ram": image.min_ram,
                        "metadata": image.metadata}
        conn.compute.set_image_metadata(image_id, note="first", os_distro="debian")
        out["metadata"] = conn.compute.fetch_image_metadata(image_id).metadata
        conn.compute.delete_image_metadata(image_id, ["note"])
        out["after"] = conn.compute.fetch_image_metadata(image_id).metadata
        out["extensions"] = sorted(e.alias for e in conn.compute.extensions())
        conn.compute.delete_image(image_id, ignore_missing=False)
        out["gone"] = image_id not in [i.id for i in conn.compute.images()]
    else:
        try:
            conn.compute.delete_image(image_id, ignore_missing=False)
            out["delete"] = "deleted"
        except exceptions.SDKException as exc:
            out["delete"] = getattr(exc, "status_code", None)
    print(json.dumps(out))
''')


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("OS_")}, **extra}


def _sdk(tmp_path, env: dict[str, str], image_id: str, role: str) -> dict:
    script = tmp_path / "sdk.py"
    script.write_text(SDK)
    proc = subprocess.run([str(OSC_PY), str(script), image_id, role], capture_output=True,
                          text=True, env=_clean_env(env), timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_openstacksdk_uses_the_image_proxy_as_the_caller(cloud, tmp_path):
    if not OSC_PY.exists():
        pytest.fail(f"{OSC_PY} is missing: run `make setup`")
    disk = tmp_path / "disk.raw"
    disk.write_bytes(b"\0" * 4096)
    osc = osc_runner(cloud.os_env())
    image = osc("image", "create", "--disk-format", "raw", "--container-format", "bare",
                "--private", "--min-ram", "64", "--property", "os_distro=alpine", "--file",
                str(disk), "proxy-img", as_json=True)
    osc("project", "create", "proxy-other")
    osc("user", "create", "--project", "proxy-other", "--password", "pw", "proxy-user")
    osc("role", "add", "--user", "proxy-user", "--project", "proxy-other", "member")
    other = {**cloud.os_env(), "OS_USERNAME": "proxy-user", "OS_PASSWORD": "pw",
             "OS_PROJECT_NAME": "proxy-other"}

    outsider = _sdk(tmp_path, other, image["id"], "other")
    assert image["id"] not in outsider["listed"]
    assert outsider["delete"] == 404

    owner = _sdk(tmp_path, cloud.os_env(), image["id"], "owner")
    assert image["id"] in owner["listed"]
    assert owner["filtered"] == [image["id"]]
    assert image["id"] not in owner["too_big"]
    shown = owner["shown"]
    assert (shown["status"], shown["size"], shown["min_ram"]) == ("ACTIVE", 4096, 64)
    # the custom properties, the CLI's own owner_specified.* ones included (as in Nova)
    assert shown["metadata"]["os_distro"] == "alpine"
    assert "owner_specified.openstack.object" in shown["metadata"]
    assert not {"disk_format", "min_ram", "owner", "visibility"} & set(shown["metadata"])
    assert owner["metadata"] == {**shown["metadata"], "os_distro": "debian", "note": "first"}
    assert owner["after"] == {**shown["metadata"], "os_distro": "debian"}
    assert {"os-volumes", "OS-EXT-IMG-SIZE", "os-flavor-manage"} <= set(owner["extensions"])
    assert "os-consoles" not in owner["extensions"]
    assert owner["gone"]


def test_openstack_extension_list(cloud):
    listed = osc_runner(cloud.os_env())("extension", "list", "--compute", as_json=True)
    aliases = {e["Alias"] for e in listed}
    assert {"os-volumes", "os-networks", "os-server-start-stop"} <= aliases
    assert "os-consoles" not in aliases


VOLUMES = textwrap.dedent('''
    import json, time, warnings
    import openstack

    warnings.simplefilter("ignore")
    compute = openstack.connect().compute
    h = {"OpenStack-API-Version": "compute 2.35"}
    made = compute.post("/os-volumes", headers=h, json={"volume": {
        "size": 1, "display_name": "proxy-vol", "metadata": {"Type": "work"}}})
    out = {"create": made.status_code, "volume": made.json()["volume"]}
    vid = out["volume"]["id"]
    deadline = time.monotonic() + 60
    while compute.get(f"/os-volumes/{vid}", headers=h).json()["volume"]["status"] != "available":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    out["shown"] = compute.get(f"/os-volumes/{vid}", headers=h).json()["volume"]
    out["listed"] = compute.get("/os-volumes/detail", headers=h).json()["volumes"]
    out["snapshots"] = []
    for force in (False, True):
        made = compute.post("/os-snapshots", headers=h, json={"snapshot": {
            "volume_id": vid, "display_name": f"snap-{force}", "force": force}})
        assert made.status_code == 200, made.text
        sid = made.json()["snapshot"]["id"]
        deadline = time.monotonic() + 60
        while (snap := compute.get(f"/os-snapshots/{sid}", headers=h).json()["snapshot"]
               )["status"] != "available":
            assert time.monotonic() < deadline
            time.sleep(0.5)
        listed = compute.get("/os-snapshots/detail", headers=h).json()["snapshots"]
        gone = compute.delete(f"/os-snapshots/{sid}", headers=h).status_code
        while (code := compute.get(f"/os-snapshots/{sid}", headers=h).status_code) == 200:
            assert time.monotonic() < deadline
            time.sleep(0.5)
        out["snapshots"].append({"snapshot": snap, "listed": snap in listed,
                                 "delete": gone, "after": code})
    out["zero"] = compute.post("/os-volumes", headers=h,
                               json={"volume": {"size": "0"}}).status_code
    out["delete"] = compute.delete(f"/os-volumes/{vid}", headers=h).status_code
    deadline = time.monotonic() + 60
    while (code := compute.get(f"/os-volumes/{vid}", headers=h).status_code) == 200:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    out["after"] = code
    out["new"] = compute.get("/os-volumes", headers={
        "OpenStack-API-Version": "compute 2.36"}).status_code
    print(json.dumps(out))
''')


def test_the_volume_proxy_reaches_the_volume_api(cloud, tmp_path):
    script = tmp_path / "volumes.py"
    script.write_text(VOLUMES)
    proc = subprocess.run([str(OSC_PY), str(script)], capture_output=True, text=True,
                          env=_clean_env(cloud.os_env()), timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["create"], out["volume"]["displayName"], out["volume"]["size"]) == (
        200, "proxy-vol", 1)
    shown = out["shown"]
    assert (shown["status"], shown["metadata"], shown["attachments"]) == (
        "available", {"Type": "work"}, [{}])
    assert shown in out["listed"]
    assert (out["zero"], out["delete"], out["after"], out["new"]) == (400, 202, 404, 404)
    # the snapshot proxy, without and with force (each through the volume API's own
    # microversion rules: a false force is refused there from 3.66)
    for force, made in zip((False, True), out["snapshots"], strict=True):
        snap = made["snapshot"]
        assert (snap["volumeId"], snap["displayName"], snap["size"]) == (
            out["volume"]["id"], f"snap-{force}", 1)
        assert (made["listed"], made["delete"], made["after"]) == (True, 202, 404)
