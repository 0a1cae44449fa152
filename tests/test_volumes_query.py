"""The list vocabulary the volume service shares (volumes.query): what each list does with
a filter it does not know, and how sort keys are completed, where a list differs."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, SERVER, err, wait_status
from volumes import messages
from volumes.backends import FileBackend
from volumes.models import VolumeMessage

V330 = {"OpenStack-API-Version": "volume 3.30"}


def test_attachment_list_unknown_filters(volenv):
    """A non-admin's unknown filter: ignored before 3.31, a 400 from then on (with_count
    too: attachments do not count); an admin's is ignored."""
    vid = volenv.create()["id"]
    volenv.wait(vid, "available")
    assert volenv.alice.post("/v3/attachments", headers=MV, json={"attachment": {
        "volume_uuid": vid, "instance_uuid": SERVER}}).status_code == 200
    old = volenv.alice.get("/v3/attachments?frobnicate=1", headers=V330).json["attachments"]
    assert [a["volume_id"] for a in old] == [vid]
    err(volenv.alice.get("/v3/attachments?with_count=true", headers=MV), 400,
        "Invalid filters with_count are found in query options.")
    admin = volenv.admin.get("/v3/attachments?all_tenants=1&frobnicate=1", headers=MV).json
    assert [a["volume_id"] for a in admin["attachments"]] == [vid]


def test_backup_list_filters_of_admins_and_others(make_volenv, tmp_path):
    """A non-admin's unknown filter (project_id too) is a 400 even before 3.31; an admin
    filters on project_id, and an admin's unknown filter matches nothing."""
    env = make_volenv(backend=FileBackend(tmp_path / "volumes"))
    vid = env.create()["id"]
    env.wait(vid, "available")
    resp = env.alice.post("/v3/backups", headers=MV, json={"backup": {"volume_id": vid}})
    assert resp.status_code == 202, resp.json
    bid = resp.json["backup"]["id"]
    wait_status(lambda: env.alice.get(f"/v3/backups/{bid}").json["backup"], "available")
    err(env.alice.get(f"/v3/backups?project_id={env.alice.project_id}"), 400,
        "Invalid filters project_id are found in query options.")
    mine = env.admin.get(f"/v3/backups?all_tenants=1&project_id={env.alice.project_id}")
    assert [b["id"] for b in mine.json["backups"]] == [bid]
    assert env.admin.get(f"/v3/backups?all_tenants=1&project_id={env.bob.project_id}"
                         ).json["backups"] == []
    assert env.admin.get("/v3/backups?all_tenants=1&bogus=1").json["backups"] == []


def test_message_sort_is_completed_as_cinder_completes_it(volenv):
    """Ties of the given keys are broken by created_at then id in the first key's
    direction; sort and sort_key together are a 400, as on every other list."""
    with volenv.db.session() as s:
        ids = [messages.record(s, volenv.alice.project_id, messages.EXTEND_VOLUME,
                               messages.DRIVER_FAILED_EXTEND,
                               resource_uuid=f"{i:08d}-0000-0000-0000-000000000000",
                               request_id=f"req-{i}", ttl=3600).id for i in range(3)]
    with volenv.db.session() as s:  # one event, distinct creation times, oldest first
        for i, mid in enumerate(ids):
            s.execute(update(VolumeMessage).where(VolumeMessage.id == mid).values(
                created_at=dt.datetime(2026, 1, 1 + i)))

    def listed(query: str) -> list[str]:
        return [m["id"] for m in volenv.alice.get(f"/v3/messages{query}",
                                                  headers=MV).json["messages"]]

    assert listed("?sort=event_id:asc") == ids
    assert listed("?sort=event_id:desc") == ids[::-1]
    assert listed("") == ids[::-1]
    err(volenv.alice.get("/v3/messages?sort=event_id&sort_key=id", headers=MV), 400,
        "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with "
        "the 'sort' parameter.")
