"""``minicloud server ...`` / ``minicloud flavor ...``: unit pieces against a fake Nova behind
``Client.request``, then the real CLI (a subprocess) against a real running cloud on the fake
virt driver, which boots instantly but goes through the real API, scheduler and agent."""
from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable

import pytest
import requests

from minicloud import errors
from minicloud.cli import compute, poll
from minicloud.cli.images import ImageApi
from tests.conftest import HOST_MEMORY_MIB

# --- unit: a fake Nova (and Glance) behind Client.request ------------------------------------


def _response(body: dict | None, status: int = 200, headers: dict | None = None
              ) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp.raw = io.BytesIO(json.dumps(body).encode() if body is not None else b"")
    resp.headers.update(headers or {})
    return resp


def _server(sid: str, name: str, status: str = "ACTIVE", **extra) -> dict:
    return {"id": sid, "name": name, "status": status, "OS-EXT-STS:task_state": None,
            "OS-EXT-STS:power_state": 1, "image": {"id": "img-1"},
            "flavor": {"original_name": "lab.nano", "vcpus": 1, "ram": 256, "disk": 1,
                       "ephemeral": 1}, **extra}


class FakeCloud:
    """Answers the compute and image calls from in-memory data; records every request."""

    def __init__(self) -> None:
        self.servers = [_server("s-1", "web1"), _server("s-2", "web10"),
                        _server("s-3", "twin"), _server("s-4", "twin")]
        self.flavors = [{"id": "1", "name": "m1.tiny"}, {"id": "6", "name": "lab.nano"}]
        self.images = [{"id": "img-1", "name": "cirros", "status": "active"}]
        self.calls: list[tuple[str, str, str, dict, dict]] = []
        # a script of GET /servers/{id} answers for the waits: each call takes the next one
        self.polls: list[dict | Exception] = []

    def endpoint(self, service_type: str) -> str:
        return f"http://{service_type}.test"

    def request(self, service_type: str, method: str, path: str, **kw) -> requests.Response:
        self.calls.append((service_type, method, path, dict(kw.get("params") or {}),
                           dict(kw.get("headers") or {})))
        if service_type == "image":
            return self._image(path, kw.get("params") or {})
        if path.startswith("/servers/") and path != "/servers/detail" and method == "GET":
            if self.polls:
                answer = self.polls.pop(0)
                if isinstance(answer, Exception):
                    raise answer
                return _response({"server": answer})
            return self._one("server", self.servers, path.removeprefix("/servers/"))
        if path == "/servers/detail":
            name = (kw.get("params") or {}).get("name", "")
            return _response({"servers": [s for s in self.servers if name in s["name"]]})
        if path == "/flavors/detail":
            return _response({"flavors": self.flavors})
        if path.startswith("/flavors/"):
            return self._one("flavor", self.flavors, path.removeprefix("/flavors/"))
        raise AssertionError(f"unexpected {method} {path}")

    @staticmethod
    def _one(kind: str, rows: list[dict], ref: str) -> requests.Response:
        for row in rows:
            if row["id"] == ref:
                return _response({kind: row})
        raise errors.NotFound(f"{kind} {ref} could not be found.")

    def _image(self, path: str, params: dict) -> requests.Response:
        if path == "/v2/images":
            wanted = params.get("id", "in:").removeprefix("in:").split(",")
            return _response({"images": [i for i in self.images if i["id"] in wanted]})
        image_id = path.removeprefix("/v2/images/")
        for img in self.images:
            if img["id"] == image_id:
                return _response(img)  # Glance answers with the bare image
        raise errors.NotFound(f"No image found with ID {image_id}")


@pytest.fixture
def fake() -> FakeCloud:
    return FakeCloud()


@pytest.fixture
def api(fake) -> compute.ComputeApi:
    return compute.ComputeApi(fake)


@pytest.fixture
def no_sleep(mocker):
    return mocker.patch.object(poll.time, "sleep")


def test_every_compute_call_carries_both_microversion_headers(api, fake):
    api.find_server("web1")
    api.find_flavor("lab.nano")
    assert fake.calls
    for service, _method, _path, _params, headers in fake.calls:
        assert service == "compute"
        assert headers["OpenStack-API-Version"] == "compute 2.96"
        assert headers["X-OpenStack-Nova-API-Version"] == "2.96"


def test_find_server_by_id_asks_for_it_directly(api, fake):
    assert api.find_server("s-2")["name"] == "web10"
    assert [c[2] for c in fake.calls] == ["/servers/s-2"]


def test_find_server_by_name_matches_exactly(api, fake):
    # the server's name filter is a regex: "web1" also returns web10
    assert api.find_server("web1")["id"] == "s-1"
    assert fake.calls[-1][2:4] == ("/servers/detail", {"name": "web1"})


def test_find_server_missing_and_ambiguous(api):
    with pytest.raises(errors.NotFound,
                       match=r"^No server with a name or ID of 'nope' exists\.$"):
        api.find_server("nope")
    with pytest.raises(errors.Conflict,
                       match=r"^More than one server exists with the name 'twin'\.$"):
        api.find_server("twin")


def test_names_are_percent_encoded_in_the_path(api, fake):
    with pytest.raises(errors.NotFound):
        api.find_server("my vm/1")
    assert fake.calls[0][2] == "/servers/my%20vm%2F1"


def test_find_flavor_by_id_then_by_name_over_every_flavor(api, fake):
    assert api.find_flavor("6")["name"] == "lab.nano"
    assert api.find_flavor("m1.tiny")["id"] == "1"
    assert fake.calls[-1][2:4] == ("/flavors/detail", {"is_public": "None"})
    with pytest.raises(errors.NotFound, match="^No Flavor found for m1.huge$"):
        api.find_flavor("m1.huge")


def test_wait_for_server_ends_at_active(api, fake, no_sleep):
    fake.polls = [_server("s-1", "web1", "BUILD", **{"OS-EXT-STS:task_state": "spawning"}),
                  _server("s-1", "web1", "ACTIVE")]
    assert compute.wait_for_server(api, {"id": "s-1", "name": "web1"}, 10)["status"] == "ACTIVE"
    assert no_sleep.call_count == 1


def test_wait_for_server_fails_at_error_with_the_fault(api, fake, no_sleep):
    fake.polls = [_server("s-1", "web1", "ERROR",
                          fault={"code": 500, "message": "No valid host was found. RAM"})]
    with pytest.raises(errors.MinicloudError,
                       match="^server web1 went to ERROR: No valid host was found. RAM$"):
        compute.wait_for_server(api, {"id": "s-1", "name": "web1"}, 10)


def test_wait_for_server_gives_up_after_the_timeout(api, fake, mocker):
    mocker.patch.object(poll.time, "sleep")
    clock = iter(range(0, 1000, 5))
    mocker.patch.object(poll.time, "monotonic", lambda: next(clock))
    fake.polls = [_server("s-1", "web1", "BUILD", **{"OS-EXT-STS:task_state": "spawning"})] * 50
    with pytest.raises(errors.ServiceUnavailable,
                       match=r"^server web1 is still BUILD \(spawning\) after 12s$"):
        compute.wait_for_server(api, {"id": "s-1", "name": "web1"}, 12)


def test_wait_for_delete_ends_at_404(api, fake, no_sleep):
    fake.polls = [_server("s-1", "web1", "ACTIVE", **{"OS-EXT-STS:task_state": "deleting"}),
                  errors.NotFound("gone")]
    compute.wait_for_delete(api, {"id": "s-1", "name": "web1"}, 10)
    assert no_sleep.call_count == 1


def test_progress_goes_to_stderr_only_on_a_terminal(api, fake, no_sleep, mocker, capsys):
    def run() -> None:
        fake.polls = [_server("s-1", "web1", "BUILD", **{"OS-EXT-STS:task_state": "spawning"}),
                      _server("s-1", "web1", "BUILD", **{"OS-EXT-STS:task_state": "spawning"}),
                      _server("s-1", "web1", "ACTIVE")]
        compute.wait_for_server(api, {"id": "s-1", "name": "web1"}, 10)

    mocker.patch.object(poll.sys.stderr, "isatty", return_value=False)
    run()
    assert capsys.readouterr().err == ""
    mocker.patch.object(poll.sys.stderr, "isatty", return_value=True)
    run()
    # each new state once, with the time waited so far
    assert re.fullmatch(r"server web1: BUILD \(spawning\) \[\d+\.\ds\]\n"
                        r"server web1: ACTIVE \[\d+\.\ds\]\n", capsys.readouterr().err)


def test_server_list_asks_glance_once_for_image_names(fake):
    fake.servers.append(_server("s-5", "orphan", image={"id": "img-gone"}))
    fake.servers.append(_server("s-6", "bfv", image=""))
    servers = compute.ComputeApi(fake).list_servers()
    names = compute.image_names(ImageApi(fake), servers)
    image_calls = [c for c in fake.calls if c[0] == "image"]
    assert [(c[2], c[3]) for c in image_calls] == [("/v2/images", {"id": "in:img-1,img-gone"})]
    rows = {r["Name"]: r for r in (compute.server_row(s, names) for s in servers)}
    assert rows["web1"]["Image"] == "cirros" and rows["web1"]["Flavor"] == "lab.nano"
    assert rows["orphan"]["Image"] == "img-gone"
    assert rows["bfv"]["Image"] == "N/A (booted from volume)"
    assert rows["web1"]["Power State"] == "Running"


def test_server_record_flattens_like_openstack(fake):
    srv = _server("s-1", "web1", "ERROR", metadata={"k": "v"}, tenant_id="p",
                  security_groups=[{"name": "default"}], links=[],
                  fault={"code": 500, "message": "boom"},
                  **{"OS-EXT-STS:power_state": 4,
                     "os-extended-volumes:volumes_attached": [{"id": "v-1"}]})
    record = compute.server_record(srv, compute.image_label(ImageApi(fake), srv))
    assert record["flavor"] == "lab.nano (1 vCPU, 256 MiB RAM, 1 GB disk, 1 GB ephemeral)"
    assert record["image"] == "cirros (img-1)"
    assert record["properties"] == {"k": "v"} and record["project_id"] == "p"
    assert record["OS-EXT-STS:power_state"] == "Shutdown"
    assert record["volumes_attached"] == ["id='v-1'"]
    assert record["security_groups"] == ["default"]
    assert record["fault"]["message"] == "boom"
    assert "links" not in record and "metadata" not in record


# --- the real cloud -------------------------------------------------------------------------

def _json(proc) -> dict | list:
    return json.loads(proc.stdout)


def _until(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.2)


def _fails(cloud, *args: str) -> str:
    """Run a command that must fail; return its one-line error."""
    proc = cloud.minicloud(*args, check=False)
    err = proc.stderr.decode()
    assert proc.returncode == 1, (proc.returncode, err)
    assert "Traceback" not in err
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    return err.strip()


@pytest.fixture(scope="module")
def image(cloud, tmp_path_factory) -> str:
    """The id of a small raw image, uploaded through the image CLI."""
    disk = tmp_path_factory.mktemp("img") / "disk.raw"
    with disk.open("wb") as fh:
        fh.truncate(1 << 20)
    return _json(cloud.minicloud("image", "create", "cli-compute-img", "--file", str(disk),
                                 "--disk-format", "raw", "-f", "json"))["id"]


@pytest.mark.real
def test_flavor_list_shows_the_defaults(cloud):
    rows = {r["Name"]: r for r in _json(cloud.minicloud("flavor", "list", "-f", "json"))}
    assert {"m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge", "lab.nano"} <= set(rows)
    assert rows["lab.nano"] == {"ID": "6", "Name": "lab.nano", "RAM": 256, "Disk": 1,
                                "Ephemeral": 1, "VCPUs": 1, "Is Public": True}
    long_rows = _json(cloud.minicloud("flavor", "list", "--long", "-f", "json"))
    assert {"Swap", "RXTX Factor", "Properties"} <= set(long_rows[0])


@pytest.mark.real
def test_flavor_create_show_delete_with_a_property(cloud):
    created = _json(cloud.minicloud("flavor", "create", "cli.flavor", "--vcpus", "2", "--ram",
                                    "512", "--disk", "2", "--ephemeral", "1", "--id", "cli-1",
                                    "--private", "--property", "hw:cpu_policy=shared",
                                    "-f", "json"))
    assert created["id"] == "cli-1" and created["os-flavor-access:is_public"] is False
    shown = _json(cloud.minicloud("flavor", "show", "cli.flavor", "-f", "json"))
    assert shown["properties"] == {"hw:cpu_policy": "shared"}
    assert (shown["vcpus"], shown["ram"], shown["disk"]) == (2, 512, 2)
    assert shown["OS-FLV-EXT-DATA:ephemeral"] == 1
    names = cloud.minicloud("flavor", "list", "-f", "value", "-c", "Name").stdout.split()
    assert b"cli.flavor" not in names  # private: only with --all
    assert b"cli.flavor" in cloud.minicloud("flavor", "list", "--all", "-f", "value", "-c",
                                           "Name").stdout.split()
    cloud.minicloud("flavor", "delete", "cli-1")
    assert _fails(cloud, "flavor", "show", "cli.flavor") == \
        "Error: No Flavor found for cli.flavor"


@pytest.mark.real
def test_server_lifecycle(cloud, image):
    mc = cloud.minicloud
    created = _json(mc("server", "create", "cli-vm", "--image", "cli-compute-img",
                       "--flavor", "lab.nano", "--property", "role=test", "--wait",
                       "--timeout", "120", "-f", "json"))
    assert created["status"] == "ACTIVE" and created["name"] == "cli-vm"
    sid = created["id"]
    assert created["image"] == f"cli-compute-img ({image})"
    assert created["properties"] == {"role": "test"}

    rows = _json(mc("server", "list", "--long", "-f", "json"))
    row = next(r for r in rows if r["ID"] == sid)
    assert (row["Name"], row["Status"], row["Image"], row["Flavor"]) == \
        ("cli-vm", "ACTIVE", "cli-compute-img", "lab.nano")
    assert row["Power State"] == "Running"

    shown = _json(mc("server", "show", "cli-vm", "-f", "json"))
    assert shown["status"] == "ACTIVE" and shown["id"] == sid
    assert shown["flavor"].startswith("lab.nano (1 vCPU, 256 MiB RAM, 1 GB disk, 1 GB eph")

    def status() -> str:
        return mc("server", "show", sid, "-f", "value", "-c", "status").stdout.decode().strip()

    mc("server", "stop", "cli-vm")
    _until(lambda: status() == "SHUTOFF")
    shutoff = _json(mc("server", "list", "--status", "shutoff", "-f", "json"))
    assert sid in [r["ID"] for r in shutoff]
    mc("server", "start", sid)
    _until(lambda: status() == "ACTIVE")
    mc("server", "reboot", "--hard", "--wait", "--timeout", "60", "cli-vm")
    assert status() == "ACTIVE"
    assert mc("server", "console", "cli-vm", "--lines", "10").returncode == 0

    snap = _json(mc("server", "image", "create", "cli-vm", "--name", "cli-snap", "--property",
                    "purpose=test", "--wait", "--timeout", "120", "-f", "json"))
    assert snap["status"] == "active"
    shown_img = _json(mc("image", "show", snap["id"], "-f", "json"))
    assert shown_img["status"] == "active"
    assert shown_img["properties"]["image_type"] == "snapshot"
    assert shown_img["properties"]["purpose"] == "test"
    mc("image", "delete", snap["id"])

    mc("server", "set", "cli-vm", "--name", "cli-vm2", "--description", "a lab",
       "--property", "seat=4")
    shown = _json(mc("server", "show", "cli-vm2", "-f", "json"))
    assert (shown["id"], shown["description"]) == (sid, "a lab")
    assert shown["properties"] == {"role": "test", "seat": "4"}
    mc("server", "unset", "cli-vm2", "--property", "role", "--description")
    shown = _json(mc("server", "show", sid, "-f", "json"))
    assert (shown["properties"], shown["description"]) == ({"seat": "4"}, None)
    assert _fails(cloud, "server", "unset", sid, "--property", "role") == \
        "Error: Metadata item was not found: role"
    assert _fails(cloud, "server", "set", sid, "--name", " ") == (
        "Error: Invalid input for field/attribute server/name. Value: ' '. It must not be "
        "blank, start or end with whitespace, or contain control characters.")
    mc("server", "set", sid, "--name", "cli-vm")

    mc("server", "delete", "--wait", "--timeout", "60", "cli-vm")
    ids = mc("server", "list", "-f", "value", "-c", "ID").stdout.decode().split()
    assert sid not in ids
    assert _fails(cloud, "server", "show", sid) == \
        f"Error: No server with a name or ID of '{sid}' exists."


@pytest.mark.real
def test_show_of_a_missing_server(cloud):
    assert _fails(cloud, "server", "show", "no-such-vm") == \
        "Error: No server with a name or ID of 'no-such-vm' exists."


@pytest.mark.real
def test_create_with_a_missing_image_or_flavor(cloud, image):
    assert _fails(cloud, "server", "create", "x", "--image", "no-such-image", "--flavor",
                  "lab.nano") == "Error: No Image found for no-such-image"
    assert _fails(cloud, "server", "create", "x", "--image", "cli-compute-img", "--flavor",
                  "no-such-flavor") == "Error: No Flavor found for no-such-flavor"
    ids = cloud.minicloud("server", "list", "-f", "value", "-c", "Name").stdout.split()
    assert b"x" not in ids


@pytest.mark.real
def test_wait_on_a_server_that_goes_to_error(cloud, image):
    # More RAM than the test host offers (less than the quota), so the scheduler finds no
    # host and the server goes to ERROR with that fault.
    cloud.minicloud("flavor", "create", "cli.huge", "--vcpus", "1",
                    "--ram", str(2 * HOST_MEMORY_MIB),
                    "--disk", "1")
    try:
        err = _fails(cloud, "server", "create", "cli-doomed", "--image", "cli-compute-img",
                     "--flavor", "cli.huge", "--wait", "--timeout", "60")
        assert err.startswith("Error: server cli-doomed went to ERROR: No valid host was found")
        shown = _json(cloud.minicloud("server", "show", "cli-doomed", "-f", "json"))
        assert shown["status"] == "ERROR"
        assert shown["fault"]["message"].startswith("No valid host was found")
        cloud.minicloud("server", "delete", "--wait", "cli-doomed")
    finally:
        cloud.minicloud("flavor", "delete", "cli.huge", check=False)


@pytest.mark.real
def test_create_boots_from_an_image_or_a_volume_never_both(cloud, image):
    for args, message in [
            ((), "Give either --image or --volume."),
            (("--image", "cli-compute-img", "--volume", "v"), "Give either --image or --volume."),
            (("--volume", "v", "--boot-from-volume", "1"), "--boot-from-volume needs --image")]:
        proc = cloud.minicloud("server", "create", "x", "--flavor", "lab.nano", *args,
                               check=False)
        assert proc.returncode == 2 and message in proc.stderr.decode()
    assert _fails(cloud, "server", "create", "x", "--volume", "no-such-volume", "--flavor",
                  "lab.nano") == "Error: No Volume found for no-such-volume"
    blank = _json(cloud.minicloud("volume", "create", "cli-blank", "--size", "1", "-f",
                                  "json"))
    _until(lambda: _json(cloud.minicloud("volume", "show", blank["id"], "-f", "json"))[
        "status"] == "available")
    assert _fails(cloud, "server", "create", "x", "--volume", "cli-blank", "--flavor",
                  "lab.nano") == f"Error: Block Device {blank['id']} is not bootable."
    assert _json(cloud.minicloud("volume", "show", blank["id"], "-f", "json"))[
        "status"] == "available"
    cloud.minicloud("volume", "delete", "cli-blank")
    ids = cloud.minicloud("server", "list", "-f", "value", "-c", "Name").stdout.split()
    assert b"x" not in ids
