"""Scheduler stats and backend capabilities (admins): one pool per volume agent's host,
named as volumes show their host; answers checked against Tempest's schemas."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from tests.test_volumes_api_shapes import conforms, tempest_schema
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err
from volumes.models import VolumeHost


def test_pools_are_named_as_volume_hosts(volenv):
    s = tempest_schema("scheduler_stats")
    plain = volenv.admin.get("/v3/scheduler-stats/get_pools")
    conforms(s.get_pools_no_detail, plain)
    assert plain.json == {"pools": [{"name": "node1@fake#fake"}]}
    vid = volenv.create(name="p")["id"]
    volenv.wait(vid, "available")
    assert volenv.show(vid, volenv.admin)["os-vol-host-attr:host"] == "node1@fake#fake"
    detail = volenv.admin.get(f"/v3/{volenv.admin.project_id}/scheduler-stats/get_pools"
                              "?detail=True")
    conforms(s.get_pools_with_detail, detail)
    caps = detail.json["pools"][0]["capabilities"]
    assert (caps["volume_backend_name"], caps["vendor_name"], caps["storage_protocol"]) == \
        ("fake", "Open Source", "iSCSI")


def test_capabilities_of_a_backend(volenv):
    s = tempest_schema("capabilities")
    for host in ("node1@fake", "node1@fake#fake"):
        resp = volenv.admin.get(f"/v3/capabilities/{host}")
        conforms(s.show_backend_capabilities, resp)
        assert resp.json["namespace"] == "OS::Storage::Capabilities::node1@fake"
    pool = volenv.admin.get("/v3/scheduler-stats/get_pools?detail=true").json["pools"][0]
    shown = volenv.admin.get("/v3/capabilities/node1@fake").json
    assert [shown[k] for k in ("vendor_name", "volume_backend_name", "storage_protocol")] == \
        [pool["capabilities"][k] for k in ("vendor_name", "volume_backend_name",
                                           "storage_protocol")]
    err(volenv.admin.get("/v3/capabilities/elsewhere@fake"), 404, "could not be found")


def test_pools_and_capabilities_are_for_admins(volenv):
    err(volenv.alice.get("/v3/scheduler-stats/get_pools", headers=MV), 403, "get_pools")
    err(volenv.alice.get("/v3/capabilities/node1@fake", headers=MV), 403, "capabilities")


def test_a_host_whose_agent_is_down_has_no_pool(volenv):
    volenv.stop.set()
    volenv.thread.join(10)
    with volenv.db.session() as s:
        s.execute(update(VolumeHost).values(heartbeat_at=dt.datetime(2000, 1, 1)))
    assert volenv.admin.get("/v3/scheduler-stats/get_pools").json == {"pools": []}
