"""Hostile bodies (``tests.hostile``) on every compute route that reads one, at the lowest and
the highest microversion: always a 4xx in Nova's error shape, never a 500."""
from __future__ import annotations

import pytest

from compute.hosts import service_id
from tests.compute_fixtures import *  # noqa: F403
from tests.compute_fixtures import IMAGE_ID, VOLUME_IDS, mv
from tests.hostile import assert_never_5xx, json_routes


@pytest.mark.parametrize("version", ["2.1", "2.96"])
def test_no_hostile_body_gets_a_5xx(compute_env, version):
    env = compute_env
    sid = env.create_server(metadata={"k": "v"})
    env.alice.post(f"/v2.1/servers/{sid}/os-volume_attachments",
                   json={"volumeAttachment": {"volumeId": VOLUME_IDS[0]}})
    env.work()
    agg = env.admin.post("/v2.1/os-aggregates", json={"aggregate": {"name": "a"}})
    ids = {"server_id": sid, "flavor_id": "6", "key": "k", "volume_id": VOLUME_IDS[0],
           "project_id": env.alice.project_id, "service_id_": service_id("node1"),
           "host_name": "node1", "class_name": "default",
           "aggregate_id": str(agg.get_json()["aggregate"]["id"]), "image_id": IMAGE_ID}
    routes = json_routes(env.app)
    assert len(routes) == 30  # every route that reads a body

    def send(method: str, path: str, data: bytes):
        return env.admin.client.open(path, method=method, data=data, headers={
            "X-Auth-Token": env.admin.token, "Content-Type": "application/json",
            **mv(version)})

    assert sum(assert_never_5xx(send, route, ids) for route in routes) > 400
