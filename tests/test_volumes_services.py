"""Cinder's os-services writes (admins): disabling a host's cinder-volume stops new volumes
there, disabling its cinder-backup stops new backups, freezing it also refuses deletes and
extends of its volumes; answers checked against Tempest's schemas."""
from __future__ import annotations

from tests.test_volumes_api_shapes import conforms, tempest_schema
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import err

VOL = {"host": "node1@fake", "binary": "cinder-volume"}


def services(env) -> dict[str, dict]:
    return {s["binary"]: s for s in env.admin.get("/v3/os-services").json["services"]}


def test_disable_and_enable_the_volume_service(volenv):
    s = tempest_schema("services")
    kept = volenv.create(name="kept")["id"]
    volenv.wait(kept, "available")
    resp = volenv.admin.put("/v3/os-services/disable-log-reason",
                            json={**VOL, "disabled_reason": "disk swap"})
    conforms(s.disable_log_reason, resp)
    assert (resp.json["status"], resp.json["disabled_reason"]) == ("disabled", "disk swap")
    shown = services(volenv)["cinder-volume"]
    assert (shown["status"], shown["disabled_reason"]) == ("disabled", "disk swap")
    assert services(volenv)["cinder-backup"]["status"] == "enabled"
    new = volenv.create(name="nowhere")
    assert new["status"] == "error"  # the only host takes no new volume
    assert volenv.show(kept)["status"] == "available"
    resp = volenv.admin.put("/v3/os-services/enable", json=VOL)
    conforms(s.enable_service, resp)
    assert services(volenv)["cinder-volume"]["status"] == "enabled"
    again = volenv.create(name="again")["id"]
    volenv.wait(again, "available")
    conforms(s.disable_service, volenv.admin.put("/v3/os-services/disable", json=VOL))
    assert services(volenv)["cinder-volume"]["disabled_reason"] is None


def test_a_disabled_backup_service_takes_no_backup(volenv):
    vid = volenv.create(name="b")["id"]
    volenv.wait(vid, "available")
    volenv.admin.put("/v3/os-services/disable",
                     json={"host": "node1", "binary": "cinder-backup"})
    err(volenv.alice.post("/v3/backups", json={"backup": {"volume_id": vid}}), 400,
        "backup service of host node1 is disabled")


def test_a_frozen_host_keeps_its_volumes_as_they_are(volenv):
    vid = volenv.create(name="f")["id"]
    volenv.wait(vid, "available")
    assert volenv.admin.put("/v3/os-services/freeze", json={"host": "node1@fake"}
                            ).status_code == 200
    assert services(volenv)["cinder-volume"]["frozen"] is True
    err(volenv.alice.delete(f"/v3/volumes/{vid}"), 400, "is frozen: cannot delete it")
    err(volenv.alice.post(f"/v3/volumes/{vid}/action", json={"os-extend": {"new_size": 2}}),
        400, "is frozen: cannot extend it")
    assert volenv.create(name="cold")["status"] == "error"
    assert volenv.admin.put("/v3/os-services/thaw", json={"host": "node1@fake"}
                            ).status_code == 200
    assert volenv.alice.delete(f"/v3/volumes/{vid}").status_code == 202


def test_refusals_as_tempest_expects_them(volenv):
    err(volenv.admin.put("/v3/os-services/enable",
                         json={"host": "invalid_host", "binary": "cinder-volume"}), 404,
        "Host invalid_host could not be found")
    err(volenv.admin.put("/v3/os-services/disable",
                         json={"host": "node1@fake", "binary": "invalid_binary"}), 404,
        "Service invalid_binary could not be found")
    err(volenv.admin.put("/v3/os-services/disable-log-reason",
                         json={**VOL, "disabled_reason": None}), 400, "disabled_reason")
    for action in ("freeze", "thaw"):
        err(volenv.admin.put(f"/v3/os-services/{action}", json={"host": "invalid_host"}),
            400, "Host invalid_host not found")
    assert services(volenv)["cinder-volume"]["status"] == "enabled"
