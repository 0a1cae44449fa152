"""The unmodified `openstack` CLI against a running minicloud (fake virt driver): server
groups (`server group create --policy`, `server create --hint group=`), host aggregates and
their zones, and `openstack aggregate cache image` filling the host's base cache."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.test_osc_compute import osc, run  # noqa: F401 - fixtures

pytestmark = [pytest.mark.osc, pytest.mark.real]

IMAGE = "osc-sched-img"


@pytest.fixture(scope="module")
def image(run, osc, tmp_path_factory) -> Iterator[dict]:  # noqa: F811
    disk = tmp_path_factory.mktemp("osc-sched") / "disk.raw"
    with disk.open("wb") as fh:
        fh.truncate(1 << 20)
    created = osc("image", "create", "--disk-format", "raw", "--container-format", "bare",
                  "--file", str(disk), IMAGE)
    yield created
    run("image", "delete", created["id"], check=False)


@pytest.fixture(scope="module")
def host(osc) -> str:  # noqa: F811
    (service,) = osc("compute", "service", "list")
    return service["Host"]


def test_server_group_with_the_group_hint(run, osc, image):  # noqa: F811
    group = osc("server", "group", "create", "--policy", "anti-affinity", "osc-group")
    assert group["policy"] == "anti-affinity"
    soft = osc("--os-compute-api-version", "2.64", "server", "group", "create", "--policy",
               "soft-affinity", "osc-soft")
    assert (soft["policy"], soft["rules"]) == ("soft-affinity", {})
    first = osc("server", "create", "--image", IMAGE, "--flavor", "lab.nano", "--hint",
                f"group={group['id']}", "--wait", "osc-grouped-1")
    assert first["status"] == "ACTIVE"
    # One host only: the second member of an anti-affinity group cannot be placed.
    second = osc("server", "create", "--image", IMAGE, "--flavor", "lab.nano", "--hint",
                 f"group={group['id']}", "osc-grouped-2")
    deadline = time.monotonic() + 30
    while (shown := osc("server", "show", second["id"]))["status"] != "ERROR":
        assert time.monotonic() < deadline, shown
    assert shown["fault"]["message"].startswith("No valid host was found.")
    assert "anti-affinity" in shown["fault"]["message"]
    members = osc("server", "group", "show", "osc-group")["members"]
    assert sorted(members.split(", ") if isinstance(members, str) else members) == sorted(
        [first["id"], second["id"]])
    listed = {g["Name"] for g in osc("server", "group", "list")}
    assert {"osc-group", "osc-soft"} <= listed
    for server in (first, second):
        run("server", "delete", "--wait", server["id"])
    run("server", "group", "delete", "osc-group", "osc-soft")


def test_aggregate_zone_and_image_cache(cloud, run, osc, host, tmp_path):  # noqa: F811
    disk = tmp_path / "cached.raw"
    with disk.open("wb") as fh:
        fh.truncate(2 << 20)
    image = osc("image", "create", "--disk-format", "raw", "--container-format", "bare",
                "--file", str(disk), "osc-sched-cached")  # no server has used it yet
    agg = osc("aggregate", "create", "--zone", "osc-az", "osc-agg")
    assert (agg["name"], agg["availability_zone"]) == ("osc-agg", "osc-az")
    osc("aggregate", "add", "host", "osc-agg", host)
    run("aggregate", "set", "--property", "ssd=true", "osc-agg")
    shown = osc("aggregate", "show", "osc-agg")
    assert shown["hosts"] == [host] and shown["properties"] == {"ssd": "true"}
    zones = {z["Zone Name"] for z in osc("availability", "zone", "list", "--compute")}
    assert "osc-az" in zones
    base = cloud.state_dir / "instances" / "_base" / image["id"]
    assert not base.exists()
    run("--os-compute-api-version", "2.81", "aggregate", "cache", "image", "osc-agg",
        "osc-sched-cached")
    deadline = time.monotonic() + 30
    while not base.exists():
        assert time.monotonic() < deadline, "the image was not pre-cached"
        time.sleep(0.2)
    cached = base.stat()
    server = osc("server", "create", "--image", "osc-sched-cached", "--flavor", "lab.nano",
                 "--availability-zone", "osc-az", "--wait", "osc-zoned")
    assert server["OS-EXT-AZ:availability_zone"] == "osc-az"
    assert (base.stat().st_ino, base.stat().st_mtime_ns) == (cached.st_ino,
                                                             cached.st_mtime_ns)
    run("server", "delete", "--wait", server["id"])
    run("image", "delete", image["id"])
    osc("aggregate", "remove", "host", "osc-agg", host)
    run("aggregate", "delete", "osc-agg")
