"""User messages (3.3) and extra-spec scheduling: a volume whose type no backend matches
goes ``error`` with Cinder's "no valid backend" message; failed agent work leaves messages;
list/show/delete per project against Tempest's schema; expiry."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from tests.test_volumes_api_shapes import conforms, tempest_schema
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err, wait_status
from volumes import messages
from volumes.backends import FakeBackend
from volumes.models import VolumeMessage
from volumes.scheduler import match_value, satisfies

CAPS = {"storage_protocol": "iSCSI", "vendor_name": "Open Source",
        "volume_backend_name": "fake", "thin_provisioning_support": True,
        "multiattach": False, "reserved_percentage": 0, "driver_version": "1.0"}
V33 = {"OpenStack-API-Version": "volume 3.3"}


def _type(env, name: str, **specs: str) -> str:
    resp = env.admin.post("/v3/types", json={"volume_type": {"name": name,
                                                             "extra_specs": specs}})
    assert resp.status_code == 200, resp.json
    return resp.json["volume_type"]["id"]


def _messages(who, query: str = "", headers=None) -> list[dict]:
    resp = who.get(f"/v3/messages{query}", headers=headers or MV)
    assert resp.status_code == 200, resp.json
    return resp.json["messages"]


def test_extra_specs_are_matched_as_cinders_capability_filter():
    assert satisfies({"storage_protocol": "iSCSI", "vendor_name": "Open Source"}, CAPS)
    assert satisfies({"capabilities:volume_backend_name": "fake"}, CAPS)
    assert satisfies({"qos:read_iops_sec": "100", "hw:whatever": "x",
                      "RESKEY:availability_zones": "az9"}, CAPS)  # other consumers' specs
    assert not satisfies({"storage_protocol": "FC"}, CAPS)
    assert not satisfies({"replication_enabled": "<is> True"}, CAPS)  # not reported
    assert not satisfies({"multiattach": "<is> True"}, CAPS)
    assert match_value(True, "<is> True") and match_value(False, "<is> False")
    assert match_value("iSCSI", "<or> FC <or> iSCSI") and not match_value("NFS", "<or> FC")
    assert match_value("Open Source", "<in> Source")
    assert match_value("Open Source", "<all-in> Open Source")
    assert match_value(0, "<= 5") and not match_value(0, ">= 5") and match_value(10, "= 5")
    assert match_value("1.0", "== 1") and match_value("1.0", "s== 1.0")
    assert not match_value("unknown", ">= 1")  # not a number: no match, not an error


def test_no_backend_matches_the_type_error_and_message(volenv):
    bogus = _type(volenv, "bogus", storage_protocol="storage_protocol-x",
                  vendor_name="vendor_name-y")
    resp = volenv.alice.post("/v3/volumes", json={"volume": {"size": 1,
                                                             "volume_type": bogus}},
                             headers=MV)
    assert resp.status_code == 202
    vid = resp.json["volume"]["id"]
    assert volenv.show(vid)["status"] == "error"
    assert volenv.agent.backend.sizes == {}  # nothing allocated
    s = tempest_schema("messages")
    listed = volenv.alice.get("/v3/messages", headers=V33)
    conforms(s.list_messages, listed)
    (msg,) = [m for m in listed.json["messages"] if m["resource_uuid"] == vid]
    assert (msg["event_id"], msg["message_level"], msg["resource_type"]) == \
        ("VOLUME_VOLUME_001_003", "ERROR", "VOLUME")
    assert msg["user_message"] == ("schedule allocate volume: Could not find any available "
                                   "weighted backend.")
    assert msg["request_id"] == resp.headers["x-openstack-request-id"]
    created = dt.datetime.fromisoformat(msg["created_at"])
    until = dt.datetime.fromisoformat(msg["guaranteed_until"])
    assert until - created == dt.timedelta(seconds=2592000)
    shown = volenv.alice.get(f"/v3/messages/{msg['id']}", headers=V33)
    conforms(s.show_message, shown)
    assert shown.json["message"] == msg
    # the project's reader reads, but does not delete; another project sees nothing
    assert [m["id"] for m in _messages(volenv.reader)] == [msg["id"]]
    err(volenv.reader.delete(f"/v3/messages/{msg['id']}", headers=MV), 403, "message:delete")
    assert _messages(volenv.bob) == []
    err(volenv.bob.get(f"/v3/messages/{msg['id']}", headers=MV), 404, msg["id"])
    assert [m["id"] for m in _messages(volenv.admin)] == [msg["id"]]  # admins: every project
    conforms(s.delete_message, volenv.alice.delete(f"/v3/messages/{msg['id']}", headers=MV))
    err(volenv.alice.get(f"/v3/messages/{msg['id']}", headers=MV), 404, msg["id"])
    assert _messages(volenv.alice) == []


def test_messages_need_3_3(volenv):
    err(volenv.alice.get("/v3/messages", headers={"OpenStack-API-Version": "volume 3.2"}),
        404, "3.3")


def test_a_type_the_backend_matches_is_scheduled(volenv):
    good = _type(volenv, "good", storage_protocol="iSCSI", vendor_name="Open Source",
                 **{"capabilities:volume_backend_name": "fake",
                    "thin_provisioning_support": "<is> True", "qos:total_iops_sec": "50"})
    vid = volenv.create(volume_type=good)["id"]
    volenv.wait(vid, "available")
    assert _messages(volenv.alice) == []


def test_failed_agent_work_leaves_a_message(make_volenv):
    env = make_volenv(backend=FakeBackend(fail_at="create"))
    resp = env.alice.post("/v3/volumes", json={"volume": {"size": 1}}, headers=MV)
    vid = resp.json["volume"]["id"]
    env.wait(vid, "error")
    (msg,) = _messages(env.alice)
    assert (msg["resource_uuid"], msg["event_id"], msg["user_message"]) == (
        vid, "VOLUME_VOLUME_008_012",
        "create volume from backend storage: Driver failed to create the volume.")
    # the agent's message names the request that queued the work
    assert msg["request_id"] == resp.headers["x-openstack-request-id"]


def test_failed_snapshot_leaves_a_snapshot_message(make_volenv):
    env = make_volenv(backend=FakeBackend(fail_at="create_snapshot"))
    vid = env.create()["id"]
    env.wait(vid, "available")
    snap = env.alice.post("/v3/snapshots", json={"snapshot": {"volume_id": vid}},
                          headers=MV).json["snapshot"]
    wait_status(lambda: env.alice.get(f"/v3/snapshots/{snap['id']}", headers=MV)
                .json["snapshot"], "error")
    (msg,) = _messages(env.alice)
    assert (msg["resource_type"], msg["resource_uuid"], msg["event_id"]) == \
        ("VOLUME_SNAPSHOT", snap["id"], "VOLUME_VOLUME_SNAPSHOT_009_013")


def _record(env, project_id: str, resource: str, ttl: int = 3600) -> str:
    with env.db.session() as s:
        return messages.record(s, project_id, messages.EXTEND_VOLUME,
                               messages.DRIVER_FAILED_EXTEND, resource_uuid=resource,
                               request_id=f"req-{resource}", ttl=ttl).id


def test_filters_sort_and_pages_from_3_5(volenv):
    ids = [_record(volenv, volenv.alice.project_id, f"{i:08d}-0000-0000-0000-000000000000")
           for i in range(3)]
    with volenv.db.session() as s:  # distinct creation times, oldest first
        for i, mid in enumerate(ids):
            s.execute(update(VolumeMessage).where(VolumeMessage.id == mid).values(
                created_at=dt.datetime(2026, 1, 1 + i)))
    assert [m["id"] for m in _messages(volenv.alice)] == ids[::-1]
    asc = _messages(volenv.alice, "?sort=created_at:asc")
    assert [m["id"] for m in asc] == ids
    one = _messages(volenv.alice, f"?resource_uuid={asc[1]['resource_uuid']}")
    assert [m["id"] for m in one] == [ids[1]]
    assert len(_messages(volenv.alice, "?event_id=VOLUME_VOLUME_007_010")) == 3
    first = volenv.alice.get("/v3/messages?limit=2&sort=created_at:asc", headers=MV)
    assert [m["id"] for m in first.json["messages"]] == ids[:2]
    assert "marker=" in first.json["messages_links"][0]["href"]
    rest = _messages(volenv.alice, f"?limit=2&sort=created_at:asc&marker={ids[1]}")
    assert [m["id"] for m in rest] == ids[2:]
    err(volenv.alice.get("/v3/messages?sort=bogus", headers=MV), 400, "sort key")
    err(volenv.alice.get(f"/v3/messages?marker={volenv.alice.project_id}", headers=MV),
        404, "Marker")
    # before 3.5 the query is not read: every message, newest first
    assert len(_messages(volenv.alice, "?resource_uuid=x", headers=V33)) == 3


def test_expired_messages_are_hidden_then_reaped(volenv):
    old = _record(volenv, volenv.alice.project_id, "aaaaaaaa-0000-0000-0000-000000000000")
    fresh = _record(volenv, volenv.alice.project_id, "bbbbbbbb-0000-0000-0000-000000000000")
    with volenv.db.session() as s:
        s.execute(update(VolumeMessage).where(VolumeMessage.id == old).values(
            expires_at=dt.datetime(2000, 1, 1)))
    assert [m["id"] for m in _messages(volenv.alice)] == [fresh]
    err(volenv.alice.get(f"/v3/messages/{old}", headers=MV), 404, old)
    assert messages.reap(volenv.db) == 1
    with volenv.db.session() as s:
        assert list(s.scalars(select(VolumeMessage.id))) == [fresh]
