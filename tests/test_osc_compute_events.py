"""The unmodified `openstack` CLI on the server's event log, tags and several servers per
request, against a running minicloud (fake virt driver): `server event list/show`,
`server set/unset --tag`, `server list --tags`, `server create --min/--max`."""
from __future__ import annotations

import functools
import json
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import osc_runner

pytestmark = [pytest.mark.osc, pytest.mark.real]
Run = Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="module")
def run(cloud) -> Run:
    return osc_runner(cloud.os_env())


@pytest.fixture(scope="module")
def osc(run) -> Callable[..., dict | list]:
    return functools.partial(run, as_json=True)


@pytest.fixture(scope="module")
def image(run, osc, tmp_path_factory) -> Iterator[str]:
    disk = tmp_path_factory.mktemp("osc-events") / "disk.raw"
    with disk.open("wb") as fh:
        fh.truncate(1 << 20)
    created = osc("image", "create", "--disk-format", "raw", "--container-format", "bare",
                  "--file", str(disk), "osc-events-img")
    yield created["id"]
    run("image", "delete", created["id"], check=False)


@pytest.fixture(scope="module")
def server(run, osc, image) -> Iterator[dict]:
    created = osc("server", "create", "--image", image, "--flavor", "lab.nano", "--wait",
                  "osc-events-vm")
    yield created
    run("server", "delete", created["id"], check=False)


def test_server_event_list_and_show(run, osc, server):
    run("server", "stop", server["id"])
    deadline = time.monotonic() + 30
    while osc("server", "show", server["id"])["status"] != "SHUTOFF":
        assert time.monotonic() < deadline
    events = osc("server", "event", "list", server["id"])
    assert [e["Action"] for e in events] == ["stop", "create"]
    assert all(e["Request ID"].startswith("req-") for e in events)
    created = osc("server", "event", "show", server["id"], events[1]["Request ID"])
    assert (created["action"], created["request_id"]) == ("create", events[1]["Request ID"])
    (event,) = created["events"]
    assert (event["event"], event["result"]) == ("compute__do_build_and_run_instance",
                                                 "Success")
    long = osc("server", "event", "list", "--long", server["id"])
    assert {e["Action"] for e in long} == {"stop", "create"}


def test_server_tags(run, osc, server):
    v = ("--os-compute-api-version", "2.26")
    run(*v, "server", "set", "--tag", "blue", "--tag", "green", server["id"])
    assert sorted(osc(*v, "server", "show", server["id"])["tags"]) == ["blue", "green"]
    assert [s["ID"] for s in osc(*v, "server", "list", "--tags", "blue,green")] == [
        server["id"]]
    assert osc(*v, "server", "list", "--tags", "red") == []
    run(*v, "server", "unset", "--tag", "blue", server["id"])
    assert osc(*v, "server", "show", server["id"])["tags"] == ["green"]


def test_server_create_min_max(run, osc, image):
    run("server", "create", "--image", image, "--flavor", "lab.nano", "--min", "2", "--max",
        "2", "osc-events-multi")
    made = osc("server", "list", "--name", "^osc-events-multi")
    try:
        assert sorted(s["Name"] for s in made) == ["osc-events-multi-1", "osc-events-multi-2"]
    finally:
        for row in made:
            run("server", "delete", row["ID"], check=False)


def test_minicloud_server_event_list_and_show(cloud, osc, server):
    listed = json.loads(cloud.minicloud("server", "event", "list", "osc-events-vm", "--long",
                                        "-f", "json").stdout)
    assert [e["Action"] for e in listed][-1] == "create"
    assert {e["Server ID"] for e in listed} == {server["id"]}
    first = listed[-1]["Request ID"]
    shown = json.loads(cloud.minicloud("server", "event", "show", "osc-events-vm", first,
                                       "-f", "json").stdout)
    assert (shown["action"], shown["request_id"]) == ("create", first)
    assert [e["result"] for e in shown["events"]] == ["Success"]
    missing = cloud.minicloud("server", "event", "show", "osc-events-vm", "req-nope",
                              check=False)
    assert missing.returncode == 1
    assert "Action req-nope not found" in missing.stderr.decode()
