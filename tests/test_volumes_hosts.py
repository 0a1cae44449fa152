"""Cinder's os-hosts (admins): each service of each volume agent's host, and the volume and
snapshot totals of one cinder-volume host; answers checked against Tempest's schemas."""
from __future__ import annotations

from tests.test_volumes_api_shapes import conforms, tempest_schema
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err


def test_hosts_list_the_services_of_each_agent(volenv):
    resp = volenv.admin.get("/v3/os-hosts")
    conforms(tempest_schema("hosts").list_hosts, resp)
    assert [(h["host_name"], h["service"], h["service-status"], h["service-state"])
            for h in resp.json["hosts"]] == [
        ("node1@fake", "cinder-volume", "available", "enabled"),
        ("node1", "cinder-backup", "available", "enabled")]


def test_a_host_shows_its_totals_per_project(volenv):
    for name, size in (("a", 1), ("b", 2)):
        vid = volenv.create(name=name, size=size)["id"]
        volenv.wait(vid, "available")
    resp = volenv.admin.get(f"/v3/{volenv.admin.project_id}/os-hosts/node1@fake")
    conforms(tempest_schema("hosts").show_host, resp)
    rows = [r["resource"] for r in resp.json["host"]]
    assert rows[0] == {"host": "node1", "project": "(total)", "volume_count": "2",
                       "total_volume_gb": "3", "snapshot_count": "0",
                       "total_snapshot_gb": "0"}
    assert [(r["project"], r["volume_count"]) for r in rows[1:]] == [
        (volenv.alice.project_id, "2")]
    err(volenv.admin.get("/v3/os-hosts/node9@fake"), 404, "Host node9@fake could not be found")
    err(volenv.admin.get("/v3/os-hosts/node1@other"), 404, "could not be found")


def test_hosts_are_for_admins(volenv):
    err(volenv.alice.get("/v3/os-hosts", headers=MV), 403, "volume_extension:hosts")
    err(volenv.alice.get("/v3/os-hosts/node1@fake", headers=MV), 403, "volume_extension:hosts")
