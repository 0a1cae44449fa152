"""Cinder's older volume actions: reserve/unreserve, attach/detach bookkeeping, begin/roll
detaching, force detach, the readonly flag, ``maintenance`` and force deletes from the
statuses Tempest uses; each answer's status code as Tempest's schema has it."""
from __future__ import annotations

import time

from tests.test_volumes_api_shapes import conforms, tempest_schema
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err

SERVER = "0b3b4f4e-1111-4c1e-9d7a-3a3a3a3a3a3a"


def _act(env, vid: str, body: dict, who=None):
    return (who or env.alice).post(f"/v3/volumes/{vid}/action", json=body, headers=MV)


def _available(env) -> str:
    vid = env.create(name="v")["id"]
    env.wait(vid, "available")
    return vid


def _wait_gone(env, vid: str) -> None:
    deadline = time.monotonic() + 20
    while env.admin.get(f"/v3/volumes/{vid}").status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_reserve_unreserve(volenv):
    s = tempest_schema("volumes")
    vid = _available(volenv)
    conforms(s.reserve_volume, _act(volenv, vid, {"os-reserve": {}}))
    assert volenv.show(vid)["status"] == "attaching"
    err(_act(volenv, vid, {"os-reserve": {}}), 400, "status must be available")
    conforms(s.unreserve_volume, _act(volenv, vid, {"os-unreserve": {}}))
    assert volenv.show(vid)["status"] == "available"
    err(_act(volenv, vid, {"os-unreserve": {}}), 400, "attaching")


def test_attach_detach_bookkeeping(volenv):
    s = tempest_schema("volumes")
    vid = _available(volenv)
    attached = _act(volenv, vid, {"os-attach": {"instance_uuid": SERVER,
                                                "mountpoint": "/dev/vdb"}})
    conforms(s.attach_volume, attached)
    vol = volenv.show(vid)
    [att] = vol["attachments"]
    assert (vol["status"], att["server_id"], att["device"], att["id"], att["volume_id"]) == \
        ("in-use", SERVER, "/dev/vdb", vid, vid)
    assert vid not in volenv.target.exported()  # bookkeeping only: no export
    err(_act(volenv, vid, {"os-attach": {"instance_uuid": SERVER, "mountpoint": "/dev/vdc"}}),
        400, "attached already")
    err(volenv.alice.delete(f"/v3/volumes/{vid}"), 400, "in-use")
    err(_act(volenv, vid, {"os-detach": {"attachment_id": SERVER}}), 404, SERVER)
    conforms(s.detach_volume, _act(volenv, vid, {"os-detach": {}}))
    vol = volenv.show(vid)
    assert (vol["status"], vol["attachments"]) == ("available", [])
    err(_act(volenv, vid, {"os-detach": {}}), 400, "not attached")
    # After os-reserve, as Nova's old flow did.
    _act(volenv, vid, {"os-reserve": {}})
    assert _act(volenv, vid, {"os-attach": {"instance_uuid": SERVER, "mountpoint": "/dev/vdb",
                                            "mode": "rw"}}).status_code == 202
    assert volenv.show(vid)["status"] == "in-use"
    err(_act(volenv, vid, {"os-attach": {"mountpoint": "/dev/vdb"}}), 400, "instance_uuid")
    err(_act(volenv, vid, {"os-attach": {"instance_uuid": SERVER}}), 400, "mountpoint")


def test_begin_and_roll_detaching(volenv):
    vid = _available(volenv)
    _act(volenv, vid, {"os-attach": {"instance_uuid": SERVER, "mountpoint": "/dev/vdb"}})
    assert _act(volenv, vid, {"os-begin_detaching": {}}).status_code == 202
    assert volenv.show(vid)["status"] == "detaching"
    assert _act(volenv, vid, {"os-roll_detaching": {}}).status_code == 202
    assert volenv.show(vid)["status"] == "in-use"
    assert _act(volenv, vid, {"os-begin_detaching": {}}).status_code == 202
    assert _act(volenv, vid, {"os-detach": {}}).status_code == 202
    assert volenv.show(vid)["status"] == "available"


def test_detach_leaves_attachments_api_attachments_alone(volenv):
    vid = _available(volenv)
    att = volenv.alice.post("/v3/attachments", headers=MV, json={"attachment": {
        "volume_uuid": vid, "instance_uuid": SERVER}}).json["attachment"]["id"]
    volenv.service.put(f"/v3/attachments/{att}", headers=MV, json={"attachment": {
        "connector": {"host": "node1", "initiator": "iqn.x"}}})
    assert volenv.show(vid)["status"] == "attaching"
    err(_act(volenv, vid, {"os-detach": {"attachment_id": att}}), 400, "DELETE /attachments")
    err(_act(volenv, vid, {"os-force_detach": {"attachment_id": att}}, volenv.admin), 400,
        "DELETE /attachments")
    err(_act(volenv, vid, {"os-unreserve": {}}), 400, "attachments")
    assert volenv.show(vid)["status"] == "attaching"


def test_force_detach_from_error(volenv):
    s = tempest_schema("volumes")
    vid = _available(volenv)
    _act(volenv, vid, {"os-attach": {"instance_uuid": SERVER, "mountpoint": "/dev/vdb"}})
    att = volenv.show(vid)["attachments"][0]["attachment_id"]
    _act(volenv, vid, {"os-reset_status": {"status": "error"}}, volenv.admin)
    err(_act(volenv, vid, {"os-force_detach": {"attachment_id": att}}), 403, "policy")
    conforms(s.force_detach_volume, _act(volenv, vid, {"os-force_detach": {
        "connector": None, "attachment_id": att}}, volenv.admin))
    vol = volenv.show(vid)
    assert (vol["status"], vol["attachments"]) == ("available", [])


def test_readonly_flag(volenv):
    s = tempest_schema("volumes")
    vid = _available(volenv)
    for flag in (True, False, "true"):
        conforms(s.update_volume_readonly,
                 _act(volenv, vid, {"os-update_readonly_flag": {"readonly": flag}}))
        assert volenv.show(vid, volenv.reader)["metadata"]["readonly"] == \
            ("True" if flag in (True, "true") else "False")
    err(_act(volenv, vid, {"os-update_readonly_flag": {"readonly": "maybe"}}), 400, "readonly")
    err(_act(volenv, vid, {"os-update_readonly_flag": {}}), 400, "readonly")
    err(_act(volenv, vid, {"os-attach": {"instance_uuid": SERVER, "mountpoint": "/dev/vdb"}}),
        400, "read-only")
    assert _act(volenv, vid, {"os-attach": {"instance_uuid": SERVER, "mountpoint": "/dev/vdb",
                                            "mode": "ro"}}).status_code == 202
    err(_act(volenv, vid, {"os-update_readonly_flag": {"readonly": False}}), 400, "in-use")


def test_maintenance_and_force_deletes(make_volenv):
    s = tempest_schema("volumes")
    env = make_volenv()
    vid = _available(env)
    for status in ("error", "available", "maintenance"):
        conforms(s.reset_volume_status, _act(env, vid, {"os-reset_status": {"status": status}},
                                             env.admin))
        assert env.show(vid)["status"] == status
    err(env.alice.delete(f"/v3/volumes/{vid}"), 400, "maintenance")
    conforms(s.force_delete_volume, _act(env, vid, {"os-force_delete": {}}, env.admin))
    _wait_gone(env, vid)
    attaching = _available(env)
    _act(env, attaching, {"os-reserve": {}})
    assert _act(env, attaching, {"os-force_delete": {}}, env.admin).status_code == 202
    _wait_gone(env, attaching)
    stuck = make_volenv(agent=False)  # no agent runs: the volume stays creating
    creating = stuck.create(name="c")["id"]
    assert stuck.show(creating)["status"] == "creating"
    assert _act(stuck, creating, {"os-force_delete": {}}, stuck.admin).status_code == 202
    assert stuck.show(creating, stuck.admin)["status"] == "deleting"
