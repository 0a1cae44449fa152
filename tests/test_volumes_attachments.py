"""The attachments flow compute will use (Cinder v3.27+), through the API with a real agent
thread on the fake target: reserve, connect (export + connection info), complete, detach;
the policy of CVE-2023-2088; export failures; delete of an in-use volume."""
from __future__ import annotations

import pytest

from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err
from volumes.connection import ConnectionInfo
from volumes.targets import FakeTarget

SERVER = "0b3b4f4e-1111-4c1e-9d7a-3a3a3a3a3a3a"
CONNECTOR = {"host": "node1", "initiator": "iqn.2008-11.org.linux-kvm:node1",
             "mountpoint": "/dev/vdc"}


def _available(env, name="att") -> str:
    vid = env.create(name=name)["id"]
    env.wait(vid, "available")
    return vid


def _reserve(env, vid: str, who=None) -> dict:
    resp = (who or env.alice).post("/v3/attachments", headers=MV, json={"attachment": {
        "volume_uuid": vid, "instance_uuid": SERVER, "connector": None}})
    assert resp.status_code == 200, resp.json
    return resp.json["attachment"]


def _connect(env, att_id: str, who=None, connector=None):
    return (who or env.service).put(f"/v3/attachments/{att_id}", headers=MV, json={
        "attachment": {"connector": connector or CONNECTOR}})


def test_full_attach_detach_flow(volenv):
    vid = _available(volenv)
    att = _reserve(volenv, vid)
    assert (att["status"], att["instance"], att["connection_info"]) == \
        ("reserved", SERVER, None)
    assert volenv.show(vid)["status"] == "reserved"

    resp = _connect(volenv, att["id"])
    assert resp.status_code == 200, resp.json
    info = resp.json["attachment"]["connection_info"]
    assert info["driver_volume_type"] == "iscsi"
    data = info["data"]
    assert data["target_iqn"] == f"iqn.2010-10.org.openstack:volume-{vid}"
    assert (data["target_portal"], data["target_lun"], data["auth_method"]) == \
        ("127.0.0.1:3260", 1, "CHAP")
    assert data["volume_id"] == vid and len(data["auth_password"]) >= 16
    parsed = ConnectionInfo.from_dict(info)
    assert parsed.data.auth_password not in repr(parsed)
    export = volenv.target.exports[vid]
    assert (export.chap.username, export.chap.password) == \
        (data["auth_username"], data["auth_password"])
    assert export.initiator == "127.0.0.1"  # this host: compute connects from here
    assert export.path == volenv.backend.path(vid)
    assert volenv.show(vid)["status"] == "attaching"

    resp = volenv.service.post(f"/v3/attachments/{att['id']}/action", headers=MV,
                               json={"os-complete": None})
    assert resp.status_code == 204
    vol = volenv.show(vid)
    assert vol["status"] == "in-use"
    [shown] = vol["attachments"]
    assert (shown["server_id"], shown["device"], shown["attachment_id"], shown["host_name"]) \
        == (SERVER, "/dev/vdc", att["id"], None)  # host_name: admins and services only
    assert volenv.show(vid, volenv.admin)["attachments"][0]["host_name"] == "node1"
    assert data["auth_password"] not in str(volenv.show(vid, volenv.admin))
    listed = volenv.alice.get(f"/v3/attachments?volume_id={vid}", headers=MV).json
    assert [a["status"] for a in listed["attachments"]] == ["attached"]

    resp = volenv.service.delete(f"/v3/attachments/{att['id']}", headers=MV)
    assert resp.status_code == 200
    vol = volenv.show(vid)
    assert (vol["status"], vol["attachments"]) == ("available", [])
    assert vid not in volenv.target.exports
    err(volenv.alice.get(f"/v3/attachments/{att['id']}", headers=MV), 404, "")


def test_credentials_are_fresh_per_export(volenv):
    vid = _available(volenv)
    passwords = []
    for _ in range(2):
        att = _reserve(volenv, vid)
        info = _connect(volenv, att["id"]).json["attachment"]["connection_info"]
        passwords.append(info["data"]["auth_password"])
        assert volenv.service.delete(f"/v3/attachments/{att['id']}",
                                     headers=MV).status_code == 200
    assert passwords[0] != passwords[1]


def test_reserved_attachment_may_be_deleted_by_its_user(volenv):
    vid = _available(volenv)
    att = _reserve(volenv, vid)
    assert volenv.alice.delete(f"/v3/attachments/{att['id']}", headers=MV).status_code == 200
    assert volenv.show(vid)["status"] == "available"


def test_user_cannot_delete_a_connected_attachment_cve_2023_2088(volenv):
    vid = _available(volenv)
    att = _reserve(volenv, vid)
    _connect(volenv, att["id"])
    volenv.service.post(f"/v3/attachments/{att['id']}/action", headers=MV,
                        json={"os-complete": None})
    err(volenv.alice.delete(f"/v3/attachments/{att['id']}", headers=MV), 403,
        "CVE-2023-2088")
    assert volenv.show(vid)["status"] == "in-use" and vid in volenv.target.exports
    # Nova's way: the user's token plus the service user's as X-Service-Token.
    resp = volenv.alice.delete(f"/v3/attachments/{att['id']}", headers={
        **MV, "X-Service-Token": volenv.service.token})
    assert resp.status_code == 200 and volenv.show(vid)["status"] == "available"


def test_only_privileged_callers_get_connection_info(volenv):
    vid = _available(volenv)
    att = _reserve(volenv, vid)
    err(_connect(volenv, att["id"], who=volenv.alice), 403, "CHAP")
    err(volenv.alice.post("/v3/attachments", headers=MV, json={"attachment": {
        "volume_uuid": vid, "instance_uuid": SERVER, "connector": CONNECTOR}}), 403, "")
    assert _connect(volenv, att["id"], who=volenv.admin).status_code == 200
    shown = volenv.service.get(f"/v3/attachments/{att['id']}", headers=MV).json
    assert shown["attachment"]["connection_info"] is None  # only ever in the PUT answer


def test_create_with_connector_exports_at_once(volenv):
    vid = _available(volenv)
    resp = volenv.service.post("/v3/attachments", headers=MV, json={"attachment": {
        "volume_uuid": vid, "instance_uuid": SERVER, "connector": CONNECTOR}})
    assert resp.status_code == 200, resp.json
    assert resp.json["attachment"]["status"] == "attaching"
    assert resp.json["attachment"]["connection_info"]["data"]["volume_id"] == vid


def test_delete_of_an_in_use_volume_is_refused(volenv):
    vid = _available(volenv)
    att = _reserve(volenv, vid)
    _connect(volenv, att["id"])
    volenv.service.post(f"/v3/attachments/{att['id']}/action", headers=MV,
                        json={"os-complete": None})
    err(volenv.alice.delete(f"/v3/volumes/{vid}"), 400,
        "Invalid volume: Volume status must be available or error")
    err(volenv.admin.delete(f"/v3/volumes/{vid}?force=True"), 400, "attached")
    err(volenv.alice.post(f"/v3/volumes/{vid}/action", json={"os-extend": {"new_size": 5}}),
        400, "in-use")


def test_second_reserve_of_one_volume_is_refused(volenv):
    vid = _available(volenv)
    _reserve(volenv, vid)
    resp = volenv.alice.post("/v3/attachments", headers=MV, json={"attachment": {
        "volume_uuid": vid, "instance_uuid": SERVER}})
    err(resp, 400, "must be available to reserve it for an attachment, but the current "
                   "status is: reserved")


def test_export_failure_goes_back_to_reserved(make_volenv):
    env = make_volenv(target=FakeTarget(fail_at="ensure_export"))
    vid = _available(env)
    att = _reserve(env, vid)
    resp = _connect(env, att["id"])
    assert resp.status_code == 500 and "injected failure" in str(resp.json)
    assert env.show(vid)["status"] == "reserved"
    shown = env.alice.get(f"/v3/attachments/{att['id']}", headers=MV).json["attachment"]
    assert shown["status"] == "reserved"
    env.target.fail_at = None
    assert _connect(env, att["id"]).status_code == 200


def test_unexport_failure_leaves_error_and_a_retry_succeeds(make_volenv):
    env = make_volenv()
    vid = _available(env)
    att = _reserve(env, vid)
    _connect(env, att["id"])
    env.target.fail_at = "remove_export"
    resp = env.service.delete(f"/v3/attachments/{att['id']}", headers=MV)
    assert resp.status_code == 500
    assert env.show(vid)["status"] == "error"
    env.target.fail_at = None
    assert env.service.delete(f"/v3/attachments/{att['id']}", headers=MV).status_code == 200
    assert env.show(vid)["status"] == "available" and vid not in env.target.exports


@pytest.mark.parametrize("connector, message", [
    ("nope", "is not of type 'object'"),
    ({"initiator": "x"}, "'host' is required"),
    ({"host": 3}, "'host' must be a string"), ({"host": "h", "mountpoint": "vdc"}, "/dev/")])
def test_bad_connectors_are_400(volenv, connector, message):
    vid = _available(volenv)
    att = _reserve(volenv, vid)
    err(_connect(volenv, att["id"], connector=connector), 400, message)


def test_attachments_need_microversion_3_27(volenv):
    err(volenv.alice.get("/v3/attachments", headers={"OpenStack-API-Version": "volume 3.26"}),
        404, "3.27")
    err(volenv.alice.post("/v3/attachments/x/action", json={"os-complete": None},
                          headers={"OpenStack-API-Version": "volume 3.43"}), 404, "3.44")


def test_other_projects_cannot_reserve_or_see_attachments(volenv):
    vid = _available(volenv)
    att = _reserve(volenv, vid)
    err(volenv.bob.post("/v3/attachments", headers=MV, json={"attachment": {
        "volume_uuid": vid, "instance_uuid": SERVER}}), 404, "could not be found")
    err(volenv.bob.get(f"/v3/attachments/{att['id']}", headers=MV), 404, "")
    err(volenv.bob.delete(f"/v3/attachments/{att['id']}", headers=MV), 404, "")
    assert volenv.bob.get("/v3/attachments", headers=MV).json["attachments"] == []


def test_complete_before_connect_is_refused(volenv):
    vid = _available(volenv)
    att = _reserve(volenv, vid)
    err(volenv.service.post(f"/v3/attachments/{att['id']}/action", headers=MV,
                            json={"os-complete": None}), 400, "attaching")


def test_bind_initiator_admits_only_the_connectors_initiator(make_volenv):
    env = make_volenv(**{"volume.bind_initiator": True})
    vid = _available(env)
    att = _reserve(env, vid)
    assert _connect(env, att["id"]).status_code == 200
    assert env.target.exports[vid].initiator == CONNECTOR["initiator"]
