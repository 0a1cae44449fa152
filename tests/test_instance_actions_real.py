"""The event log and several servers per request with real guests (QEMU): two lab guests
from one request each report their own uuid on their console, and each server's log shows
the request that made it and what the real compute host did (``Success``, the host)."""
from __future__ import annotations

import time

import pytest

from tests import test_compute_real
from tests.test_compute_real import NOVA, _console_report, _image_id, _wait

pytestmark = pytest.mark.real
real_cloud = test_compute_real.real_cloud  # the real compute tests' cloud fixture


@pytest.mark.timeout(400)
def test_two_guests_from_one_request_and_their_event_log(real_cloud):
    cloud, client = real_cloud
    body = {"server": {"name": "vm-evt", "imageRef": _image_id(client, "tiny"),
                       "flavorRef": "6", "networks": "none", "min_count": 2}}
    resp = client.request("compute", "POST", "/servers", headers=NOVA, json=body)
    request_id = resp.headers["x-openstack-request-id"]
    listed = client.request("compute", "GET", "/servers/detail", headers=NOVA,
                            params={"name": "^vm-evt-"}).json()["servers"]
    ids = {s["name"]: s["id"] for s in listed}
    assert sorted(ids) == ["vm-evt-1", "vm-evt-2"]
    try:
        for name, server_id in sorted(ids.items()):
            _wait(client, server_id, "ACTIVE")
            report = _console_report(client, server_id)
            print(f"{name}: MINICLOUD-GUEST uuid={report.uuid} firmware={report.firmware}")
            assert report.uuid == server_id
        first = ids["vm-evt-1"]
        reboot = client.request("compute", "POST", f"/servers/{first}/action", headers=NOVA,
                                json={"reboot": {"type": "HARD"}})
        time.sleep(0.5)
        _wait(client, first, "ACTIVE")
        log = f"/servers/{first}/os-instance-actions"
        actions = client.request("compute", "GET", log, headers=NOVA).json()[
            "instanceActions"]
        assert [(a["action"], a["request_id"]) for a in actions] == [
            ("reboot", reboot.headers["x-openstack-request-id"]), ("create", request_id)]
        for action in actions:
            shown = client.request("compute", "GET", f"{log}/{action['request_id']}",
                                   headers=NOVA).json()["instanceAction"]
            (event,) = shown["events"]
            print(f"{action['action']} {action['request_id']}: {event['event']} "
                  f"{event['result']} on {event['host']} "
                  f"{event['start_time']} -> {event['finish_time']}")
            assert event["result"] == "Success" and event["host"]
    finally:
        for server_id in ids.values():
            client.request("compute", "DELETE", f"/servers/{server_id}", headers=NOVA)
