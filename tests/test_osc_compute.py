"""The unmodified `openstack` CLI (python-openstackclient 10.5.0, openstacksdk 4.22.0, in
`.venv-osc`) against a real running minicloud's compute API: flavors, the server lifecycle,
snapshots, error paths and microversions, output checked.

The cloud runs the fake virt driver, so servers go through the real API, scheduler, agent and
image cache but "boot" instantly. The tests below share one server and run in file order:
create, inspect, power actions, snapshot, delete. Every CLI run costs about a second of
start-up, so each test runs only the commands it checks.
"""
from __future__ import annotations

import functools
import json
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import HOST_MEMORY_MIB, osc_runner

pytestmark = [pytest.mark.osc, pytest.mark.real]

IMAGE, SNAPSHOT = "osc-compute-img", "osc-compute-snap"
# Nova's `name` filter is a regular expression and this name, as one, does not match itself:
# every `openstack server show/stop/... SERVER` below finds it only because the server also
# matches names exactly (openstacksdk's find lists with ?name=SERVER, then matches exactly).
SERVER = "osc-compute-vm(1)+"
Run = Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="module")
def run(cloud) -> Run:
    """Run `openstack ARGS` as the admin; ``env`` adds variables (OS_COMPUTE_API_VERSION)."""
    return osc_runner(cloud.os_env())


@pytest.fixture(scope="module")
def osc(run) -> Callable[..., dict | list]:
    """Run a command with ``-f json`` and parse its output."""
    return functools.partial(run, as_json=True)


def _until(fetch: Callable[[], dict], done: Callable[[dict], bool], timeout: float = 30
           ) -> dict:
    """Call ``fetch`` (a CLI run: about a second each, so no sleep) until ``done`` holds for
    what it returns; return that."""
    deadline = time.monotonic() + timeout
    while not done(result := fetch()):
        assert time.monotonic() < deadline, f"not reached in {timeout}s: {result}"
    return result


@pytest.fixture(scope="module")
def image(run, osc, tmp_path_factory) -> Iterator[dict]:
    """A small raw image, uploaded with `openstack image create --file`."""
    disk = tmp_path_factory.mktemp("osc-compute") / "disk.raw"
    with disk.open("wb") as fh:
        fh.truncate(1 << 20)
    created = osc("image", "create", "--disk-format", "raw", "--container-format", "bare",
                  "--file", str(disk), IMAGE)
    assert created["status"] == "active"
    yield created
    run("image", "delete", created["id"], check=False)


@pytest.fixture(scope="module")
def server(run, osc, image) -> Iterator[dict]:
    """`openstack server create --wait`'s output for the shared server."""
    created = osc("server", "create", "--image", IMAGE, "--flavor", "lab.nano", "--wait",
                  SERVER)
    yield created
    if not created.get("deleted"):  # test_server_delete_with_wait did not get to it
        run("server", "delete", created["id"], check=False)


# --- flavors -----------------------------------------------------------------------------------

DEFAULT_FLAVORS = {  # name: (id, vcpus, ram MiB, disk GB, ephemeral GB)
    "m1.tiny": ("1", 1, 512, 1, 0), "m1.small": ("2", 1, 2048, 20, 0),
    "m1.medium": ("3", 2, 4096, 40, 0), "m1.large": ("4", 4, 8192, 80, 0),
    "m1.xlarge": ("5", 8, 16384, 160, 0), "lab.nano": ("6", 1, 256, 1, 1),
    "lab.micro": ("7", 1, 512, 1, 1)}


def test_flavor_list_shows_the_defaults(osc):
    rows = {r["Name"]: r for r in osc("flavor", "list")}
    for name, (fid, vcpus, ram, disk, eph) in DEFAULT_FLAVORS.items():
        assert rows[name] == {"ID": fid, "Name": name, "RAM": ram, "Disk": disk,
                              "Ephemeral": eph, "VCPUs": vcpus, "Is Public": True}


def test_flavor_show(osc):
    shown = osc("flavor", "show", "lab.nano")
    assert (shown["id"], shown["name"], shown["vcpus"], shown["ram"], shown["disk"]) == \
        ("6", "lab.nano", 1, 256, 1)
    assert shown["OS-FLV-EXT-DATA:ephemeral"] == 1 and shown["swap"] == 0
    assert shown["os-flavor-access:is_public"] is True
    assert shown["OS-FLV-DISABLED:disabled"] is False
    assert shown["properties"] == {}  # from GET /flavors/6/os-extra_specs


def test_flavor_create_show_list_long_delete(run, osc):
    created = osc("flavor", "create", "--ram", "300", "--disk", "1", "--vcpus", "1",
                  "--ephemeral", "1", "--property", "k=v", "osc.flavor")
    try:
        assert created["id"]  # the CLI sends "id": null: the server generates one
        assert created["properties"] == {"k": "v"}
        shown = osc("flavor", "show", "osc.flavor")
        assert (shown["id"], shown["ram"], shown["disk"], shown["vcpus"]) == \
            (created["id"], 300, 1, 1)
        assert shown["OS-FLV-EXT-DATA:ephemeral"] == 1 and shown["properties"] == {"k": "v"}

        long = {r["Name"]: r for r in osc("flavor", "list", "--long")}
        assert long["osc.flavor"]["Properties"] == {"k": "v"}
        assert long["osc.flavor"]["RAM"] == 300 and long["osc.flavor"]["Ephemeral"] == 1
        assert {k: long["lab.nano"][k] for k in ("Swap", "RXTX Factor", "Properties")} == \
            {"Swap": 0, "RXTX Factor": 1.0, "Properties": {}}
        assert set(DEFAULT_FLAVORS) <= set(long)
    finally:
        run("flavor", "delete", "osc.flavor")
    missing = run("flavor", "show", "osc.flavor", check=False)
    assert missing.returncode == 1 and missing.stderr == "No Flavor found for osc.flavor\n"


# --- the server lifecycle ----------------------------------------------------------------------

def test_server_create_waits_for_active(server, image):
    assert server["name"] == SERVER and server["status"] == "ACTIVE"
    assert server["OS-EXT-STS:vm_state"] == "active" and server["OS-EXT-STS:power_state"] == 1
    assert server["image"] == f"{IMAGE} ({image['id']})"
    flavor = server["flavor"]  # embedded at 2.96: original_name is the name
    assert (flavor["original_name"], flavor["vcpus"], flavor["ram"], flavor["disk"],
            flavor["ephemeral"]) == ("lab.nano", 1, 256, 1, 1)
    assert server["OS-EXT-AZ:availability_zone"] == "nova"
    assert server["OS-EXT-SRV-ATTR:host"] and server["progress"] == 100


def test_server_list_names_image_and_flavor(osc, server):
    rows = {r["ID"]: r for r in osc("server", "list")}
    assert rows[server["id"]] == {"ID": server["id"], "Name": SERVER, "Status": "ACTIVE",
                                  "Networks": {}, "Image": IMAGE, "Flavor": "lab.nano"}


def test_server_list_long(osc, server, image):
    row = {r["ID"]: r for r in osc("server", "list", "--long")}[server["id"]]
    assert (row["Image Name"], row["Image ID"], row["Flavor"]) == \
        (IMAGE, image["id"], "lab.nano")
    assert (row["Status"], row["Task State"], row["Power State"]) == ("ACTIVE", None, 1)
    assert row["Availability Zone"] == "nova" and row["Host"] == server["OS-EXT-SRV-ATTR:host"]
    assert row["Host Status"] == "UP" and row["Properties"] == {}


def test_server_show(osc, server, image):
    shown = osc("server", "show", SERVER)
    assert shown["id"] == server["id"] and shown["status"] == "ACTIVE"
    assert shown["image"] == f"{IMAGE} ({image['id']})"
    assert shown["flavor"]["original_name"] == "lab.nano"
    assert shown["security_groups"] == [{"name": "default"}]
    assert shown["volumes_attached"] == [] and shown["locked"] is False
    assert "fault" not in shown


def _show_until(osc, status: str) -> dict:
    return _until(lambda: osc("server", "show", SERVER), lambda s: s["status"] == status)


def test_server_stop_and_start(run, osc, server):
    assert run("server", "stop", SERVER).stdout == ""  # finds through GET /servers?name=
    shown = _show_until(osc, "SHUTOFF")
    assert shown["OS-EXT-STS:power_state"] == 4 and shown["OS-EXT-STS:vm_state"] == "stopped"
    run("server", "start", SERVER)
    assert _show_until(osc, "ACTIVE")["OS-EXT-STS:power_state"] == 1


def test_server_reboot_soft_then_hard_with_wait(run, osc, server):
    run("server", "reboot", SERVER)
    _show_until(osc, "ACTIVE")  # REBOOT until the agent is done
    # --wait polls until ACTIVE (HARD_REBOOT before): success is its "Complete"
    assert run("server", "reboot", "--hard", "--wait", SERVER).stdout.endswith("Complete\n")


def test_console_log_show_is_empty_on_the_fake_driver(run, server):
    assert run("console", "log", "show", SERVER).stdout == ""


def test_compute_api_version_2_1(run, osc, server, image):
    """At 2.1 the flavor is {id, links}: the CLI looks it up by id for both commands; below
    2.45 createImage has no body and the CLI takes the image id from the Location header."""
    v21 = {"OS_COMPUTE_API_VERSION": "2.1"}
    rows = {r["ID"]: r for r in osc("server", "list", env=v21)}
    assert (rows[server["id"]]["Image"], rows[server["id"]]["Flavor"]) == (IMAGE, "lab.nano")

    proc = run("server", "show", SERVER, "-f", "json", "--debug", env=v21)
    assert "OpenStack-API-Version: compute 2.1" in proc.stderr
    assert "compute 2.96" not in proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["flavor"] == "lab.nano (6)" and shown["image"] == f"{IMAGE} ({image['id']})"

    snap = osc("server", "image", "create", "--name", f"{SNAPSHOT}-21", SERVER, env=v21)
    try:
        assert snap["name"] == f"{SNAPSHOT}-21"
        # the agent clears the task after the upload: the image is active by then
        _until(lambda: osc("server", "show", SERVER),
               lambda s: s["OS-EXT-STS:task_state"] is None)
        assert osc("image", "show", snap["id"])["status"] == "active"
    finally:
        run("image", "delete", snap["id"])


def test_server_image_create_with_wait(run, osc, server, image):
    created = osc("server", "image", "create", "--name", SNAPSHOT, "--wait", SERVER)
    try:
        assert created["name"] == SNAPSHOT and created["status"] == "active"
        shown = osc("image", "show", SNAPSHOT)
        assert shown["id"] == created["id"] and shown["status"] == "active"
        props = shown["properties"]
        assert props["image_type"] == "snapshot" and props["instance_uuid"] == server["id"]
        assert props["base_image_ref"] == image["id"]
    finally:
        run("image", "delete", created["id"])


# --- error paths -------------------------------------------------------------------------------

def test_show_of_a_missing_server(run):
    proc = run("server", "show", "nope", check=False)
    # openstacksdk's find wording (osc-lib's "No server with a name or ID of ..." is the older,
    # novaclient-based path, which OSC 10 no longer takes for servers)
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", "No Server found for nope\n")
    # not a regular expression: ?name=nope( must be an empty list, never a 400
    proc = run("server", "show", "nope(", check=False)
    assert (proc.returncode, proc.stderr) == (1, "No Server found for nope(\n")


def test_server_too_big_for_the_host_goes_to_error(run, osc, image):
    # More RAM than the test host offers, less than the project's quota.
    osc("flavor", "create", "--ram", str(2 * HOST_MEMORY_MIB), "--disk", "1", "--vcpus", "1",
        "osc.huge")
    try:
        proc = run("server", "create", "--image", IMAGE, "--flavor", "osc.huge", "--wait",
                   "osc-doomed", check=False)
        assert proc.returncode == 1
        assert proc.stderr == "Error creating server: osc-doomed\n"
        shown = osc("server", "show", "osc-doomed")
        assert shown["status"] == "ERROR" and shown["OS-EXT-STS:vm_state"] == "error"
        assert shown["fault"]["message"].startswith("No valid host was found")
        assert shown["fault"]["code"] == 500
        run("server", "delete", "--wait", "osc-doomed")
    finally:
        run("flavor", "delete", "osc.huge")


# --- last: delete the shared server ------------------------------------------------------------

def test_server_set_and_unset(run, osc, server):
    """`server set --name/--description/--property` and `server unset` (PUT /servers/{id},
    the metadata API); a bad property is refused with the reason."""
    run("server", "set", "--name", "osc-renamed", "--description", "lab one", "--property",
        "course=os101", "--property", "seat=7", SERVER)
    shown = osc("server", "show", "osc-renamed")
    assert (shown["id"], shown["description"]) == (server["id"], "lab one")
    assert shown["properties"] == {"course": "os101", "seat": "7"}
    run("server", "unset", "--property", "seat", "--description", "osc-renamed")
    shown = osc("server", "show", "osc-renamed")
    assert shown["properties"] == {"course": "os101"} and shown["description"] == ""
    missing = run("server", "unset", "--property", "nope", "osc-renamed", check=False)
    assert missing.returncode == 1 and "nope" in missing.stderr
    too_long = run("server", "set", "--property", f"k={'v' * 256}", "osc-renamed",
                   check=False)
    assert too_long.returncode == 1 and "is too long" in too_long.stderr  # Nova's words
    run("server", "set", "--name", SERVER, "osc-renamed")
    assert osc("server", "show", SERVER)["id"] == server["id"]


def test_server_add_and_remove_volume(run, osc, server):
    """`server add volume` shows in both APIs (Nova's volumes_attached, Cinder's
    attachments), as vdc after vda and the ephemeral vdb; `server remove volume` undoes it."""
    volume = osc("volume", "create", "--size", "1", "osc-attach-vol")
    _until(lambda: osc("volume", "show", volume["id"]), lambda v: v["status"] == "available")
    run("server", "add", "volume", SERVER, "osc-attach-vol")
    shown = _until(lambda: osc("volume", "show", volume["id"]),
                   lambda v: v["status"] == "in-use")
    (attachment,) = shown["attachments"]
    assert (attachment["server_id"], attachment["device"]) == (server["id"], "/dev/vdc")
    table = run("volume", "list").stdout  # the table renders the server's name
    assert f"Attached to {SERVER} on /dev/vdc" in table
    srv = _until(lambda: osc("server", "show", SERVER),
                 lambda s: s["OS-EXT-STS:task_state"] is None)
    assert volume["id"] in str(srv["volumes_attached"])
    refused = run("volume", "delete", "osc-attach-vol", check=False)
    assert refused.returncode == 1
    run("server", "remove", "volume", SERVER, "osc-attach-vol")
    _until(lambda: osc("volume", "show", volume["id"]), lambda v: v["status"] == "available")
    run("volume", "delete", "osc-attach-vol")


def test_server_create_from_a_volume(run, osc, image):
    """`server create --volume` boots from a bootable volume: vda is the volume, the server
    shows no image, the volume survives the server. `--boot-from-volume N` first makes the
    volume from the image."""
    osc("volume", "create", "--image", IMAGE, "--size", "1", "osc-boot-vol")
    _until(lambda: osc("volume", "show", "osc-boot-vol"), lambda v: v["status"] == "available")
    created = osc("server", "create", "--volume", "osc-boot-vol", "--flavor", "lab.nano",
                  "--wait", "osc-bfv")
    assert created["status"] == "ACTIVE"
    assert created["image"] == "N/A (booted from volume)"
    table = run("volume", "list").stdout
    assert "Attached to osc-bfv on /dev/vda" in table
    row = next(r for r in osc("server", "list") if r["Name"] == "osc-bfv")
    assert row["Image"] == "N/A (booted from volume)"
    refused = run("server", "remove", "volume", "osc-bfv", "osc-boot-vol", check=False)
    assert refused.returncode == 1 and "root disk" in refused.stderr
    run("server", "delete", "--wait", "osc-bfv")
    _until(lambda: osc("volume", "show", "osc-boot-vol"), lambda v: v["status"] == "available")
    run("volume", "delete", "osc-boot-vol")

    created = osc("server", "create", "--image", IMAGE, "--boot-from-volume", "1",
                  "--flavor", "lab.nano", "--wait", "osc-bfv2")
    (attached,) = created["volumes_attached"]
    made = osc("volume", "show", attached["id"])
    assert (made["name"], made["bootable"], made["size"]) == ("osc-bfv2-root", True, 1)
    run("server", "delete", "--wait", "osc-bfv2")
    _until(lambda: osc("volume", "show", attached["id"]), lambda v: v["status"] == "available")
    run("volume", "delete", attached["id"])


def test_server_delete_with_wait(run, osc, server):
    run("server", "delete", "--wait", SERVER)  # waits for GET /servers/{id} to 404
    server["deleted"] = True
    assert server["id"] not in {r["ID"] for r in osc("server", "list")}


# --- hosts (admin) ------------------------------------------------------------------------------

def test_compute_service_list_and_disable_a_host(run, osc, image):
    """`compute service list` shows each compute agent's host; `compute service set --disable`
    keeps the scheduler away from it (a new server finds no host), `--enable` undoes it."""
    (svc,) = osc("compute", "service", "list")
    assert (svc["Binary"], svc["Zone"], svc["Status"], svc["State"]) == (
        "nova-compute", "nova", "enabled", "up")
    host = svc["Host"]
    (hyp,) = osc("hypervisor", "list")
    assert (hyp["Hypervisor Hostname"], hyp["Hypervisor Type"], hyp["State"]) == (
        host, "QEMU", "up")
    run("compute", "service", "set", "--disable", "--disable-reason", "maintenance", host,
        "nova-compute")
    try:
        (svc,) = osc("compute", "service", "list", "--long")
        assert (svc["Status"], svc["Disabled Reason"]) == ("disabled", "maintenance")
        doomed = osc("server", "create", "--image", IMAGE, "--flavor", "lab.nano",
                     "osc-no-host")
        shown = _until(lambda: osc("server", "show", doomed["id"]),
                       lambda s: s["status"] == "ERROR")
        assert "No valid host" in shown["fault"]["message"]
        run("server", "delete", doomed["id"])
    finally:
        run("compute", "service", "set", "--enable", host, "nova-compute")
    (svc,) = osc("compute", "service", "list", "--long")
    assert (svc["Status"], svc["Disabled Reason"]) == ("enabled", None)
    zones = osc("availability", "zone", "list", "--compute")
    assert [(z["Zone Name"], z["Zone Status"]) for z in zones] == [("nova", "available")]


def test_hosts_are_for_admins_only(run, cloud):
    cloud.minicloud("project", "create", "osc-hosts-p")
    cloud.minicloud("user", "create", "osc-hosts-u", "--password", "pw-hosts", "--project",
                    "osc-hosts-p", "--role", "member")
    member = {"OS_USERNAME": "osc-hosts-u", "OS_PASSWORD": "pw-hosts",
              "OS_PROJECT_NAME": "osc-hosts-p"}
    for args in (("compute", "service", "list"), ("hypervisor", "list"),
                 ("volume", "service", "list")):
        refused = run(*args, env=member, check=False)
        assert refused.returncode == 1 and "403" in refused.stderr, refused.stderr


def test_quota_and_limits_show(osc):
    """`quota show` reads both services' os-quota-sets; `limits show` their /limits."""
    rows = {r["Resource"]: r for r in osc("quota", "show", "--usage")}
    assert (rows["instances"]["Limit"], rows["cores"]["Limit"], rows["ram"]["Limit"]) == (
        10, 20, 51200)
    assert (rows["volumes"]["Limit"], rows["gigabytes"]["Limit"]) == (10, 100)
    servers = len(osc("server", "list"))
    assert rows["instances"]["In Use"] == servers
    limits = {r["Name"]: r["Value"] for r in osc("limits", "show", "--absolute")}
    assert (limits["max_total_instances"], limits["total_instances_used"]) == (10, servers)
    assert limits["max_total_volumes"] == 10


def test_volume_service_list(osc):
    """Each volume agent runs Cinder's two services: cinder-volume (host@backend) and
    cinder-backup (host)."""
    volume, backup = osc("volume", "service", "list")
    for svc, binary in ((volume, "cinder-volume"), (backup, "cinder-backup")):
        assert (svc["Binary"], svc["Zone"], svc["Status"], svc["State"]) == (
            binary, "nova", "enabled", "up")
    assert volume["Host"] == backup["Host"] + "@file"
