"""What the connection info tells compute besides the target: ``access_mode`` (read-only
volumes and ``ro`` attachments) and ``qos_specs`` (the type's front-end qos-specs), through
the attachments API with a real agent thread on the fake target."""
from __future__ import annotations

import pytest

from minicloud.errors import BadRequest
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err
from volumes.connection import ConnectionInfo
from volumes.frontend import resolve_per_gb

SERVER = "0b3b4f4e-2222-4c1e-9d7a-3a3a3a3a3a3a"
CONNECTOR = {"host": "node1", "initiator": "iqn.2008-11.org.linux-kvm:node1",
             "mountpoint": "/dev/vdc"}


def _available(env, **volume) -> str:
    vid = env.create(**volume)["id"]
    env.wait(vid, "available")
    return vid


def _attach(env, vid: str, **extra) -> tuple[dict, dict]:
    """Reserve (alice) and connect (the compute service user): (attachment, its data)."""
    resp = env.alice.post("/v3/attachments", headers=MV, json={"attachment": {
        "volume_uuid": vid, "instance_uuid": SERVER, **extra}})
    assert resp.status_code == 200, resp.json
    att = resp.json["attachment"]
    resp = env.service.put(f"/v3/attachments/{att['id']}", headers=MV,
                           json={"attachment": {"connector": CONNECTOR}})
    assert resp.status_code == 200, resp.json
    info = resp.json["attachment"]["connection_info"]
    ConnectionInfo.from_dict(info)  # what compute parses
    return resp.json["attachment"], info["data"]


def _qos_type(env, name: str, consumer: str, **specs: str) -> str:
    tid = env.admin.post("/v3/types", json={"volume_type": {"name": name}}).json[
        "volume_type"]["id"]
    qid = env.admin.post("/v3/qos-specs", json={"qos_specs": {
        "name": f"{name}-qos", "consumer": consumer, **specs}}).json["qos_specs"]["id"]
    assert env.admin.get(f"/v3/qos-specs/{qid}/associate?vol_type_id={tid}"
                         ).status_code == 202
    return tid


def test_plain_volume_is_rw_without_qos(volenv):
    att, data = _attach(volenv, _available(volenv))
    assert (att["attach_mode"], data["access_mode"], data["qos_specs"]) == ("rw", "rw", None)


def test_readonly_volume_is_attached_ro(volenv):
    vid = _available(volenv)
    assert volenv.alice.post(f"/v3/volumes/{vid}/action", headers=MV, json={
        "os-update_readonly_flag": {"readonly": True}}).status_code == 202
    att, data = _attach(volenv, vid)
    assert (att["attach_mode"], data["access_mode"]) == ("ro", "ro")


def test_rw_attachment_of_a_readonly_volume_is_refused(volenv):
    vid = _available(volenv)
    volenv.alice.post(f"/v3/volumes/{vid}/action", headers=MV,
                      json={"os-update_readonly_flag": {"readonly": "true"}})
    err(volenv.alice.post("/v3/attachments", headers=MV, json={"attachment": {
        "volume_uuid": vid, "instance_uuid": SERVER, "mode": "rw"}}), 400, "read-only")
    assert volenv.show(vid)["status"] == "available"  # nothing reserved


def test_ro_attachment_mode_of_a_writable_volume(volenv):
    att, data = _attach(volenv, _available(volenv), mode="ro")
    assert (att["attach_mode"], data["access_mode"]) == ("ro", "ro")


@pytest.mark.parametrize("consumer, expected", [
    ("front-end", {"total_bytes_sec": "1048576", "read_iops_sec": "200"}),
    ("both", {"total_bytes_sec": "1048576", "read_iops_sec": "200"}),
    ("back-end", None),
])
def test_front_end_qos_is_in_the_connection_info(volenv, consumer, expected):
    tid = _qos_type(volenv, "limited", consumer, total_bytes_sec="1048576",
                    read_iops_sec="200")
    _, data = _attach(volenv, _available(volenv, volume_type=tid))
    assert data["qos_specs"] == expected


def test_per_gb_qos_is_resolved_for_the_volume_size(volenv):
    tid = _qos_type(volenv, "pergb", "front-end", read_iops_sec_per_gb="30",
                    write_iops_sec_per_gb="10", write_iops_sec_per_gb_min="50",
                    total_bytes_sec_per_gb="1000", total_bytes_sec_max="1500")
    _, data = _attach(volenv, _available(volenv, volume_type=tid, size=2))
    assert data["qos_specs"] == {"read_iops_sec": "60", "write_iops_sec": "50",
                                 "total_bytes_sec": "1500"}


def test_resolve_per_gb_refuses_non_integers():
    with pytest.raises(BadRequest, match="read_iops_sec_per_gb"):
        resolve_per_gb({"read_iops_sec_per_gb": "lots"}, 1)
    assert resolve_per_gb({"read_iops_sec": "5", "other": "x"}, 3) == \
        {"read_iops_sec": "5", "other": "x"}


@pytest.mark.parametrize("data, message", [
    ({"access_mode": "rx"}, "access_mode"),
    ({"qos_specs": ["read_iops_sec"]}, "qos_specs"),
    ({"qos_specs": {"read_iops_sec": True}}, "qos_specs"),
])
def test_compute_refuses_bad_access_mode_or_qos(data, message):
    body = {"driver_volume_type": "iscsi", "data": {
        "target_iqn": "iqn.x", "target_portal": "127.0.0.1:3260", "target_lun": 1,
        "volume_id": "v", "auth_username": "u", "auth_password": "p", **data}}
    with pytest.raises(BadRequest, match=message):
        ConnectionInfo.from_dict(body)
