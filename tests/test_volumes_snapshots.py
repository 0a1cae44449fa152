"""Snapshots and clones through the API, in-process, with the real agent on the fake backend:
every route, every refusal, microversion-true bodies (Tempest 47.0.0's snapshot schemas at
3.0, the later fields at 3.14/3.41/3.65), quota counting, cascade delete, a volume from a
snapshot and a clone holding their origin's bytes."""
from __future__ import annotations

import pytest

from tests.test_volumes_api_shapes import conforms, tempest_schema
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, RAW, err, wait_status

V30 = {"OpenStack-API-Version": "volume 3.0"}
MISSING = "8d7ef0ba-7a8a-4b0a-9f3e-0c6a1a9d4f11"
BASE = {"id", "created_at", "updated_at", "name", "description", "volume_id", "status",
        "size", "metadata"}
EXTENDED = {"os-extended-snapshot-attributes:project_id",
            "os-extended-snapshot-attributes:progress"}


def snap_create(env, volume_id: str, who=None, expect: int = 202, headers=MV, **extra):
    resp = (who or env.alice).post("/v3/snapshots", headers=headers, json={
        "snapshot": {"volume_id": volume_id, **extra}})
    assert resp.status_code == expect, resp.get_data(as_text=True)
    return resp.json.get("snapshot", resp.json)


def snap_wait(env, snapshot_id: str, status: str) -> dict:
    return wait_status(lambda: env.admin.get(f"/v3/snapshots/{snapshot_id}",
                                             headers=MV).json["snapshot"], status)


def gone(env, path: str) -> None:
    def get():
        resp = env.admin.get(path, headers=MV)
        return {"status": "gone"} if resp.status_code == 404 else next(iter(resp.json.values()))
    wait_status(get, "gone")


@pytest.fixture
def ready(volenv):
    """alice's available volume made from the raw image (its bytes are RAW)."""
    vid = volenv.create(name="src", imageRef="raw-img")["id"]
    volenv.wait(vid, "available")
    return vid


def test_create_show_list_update_delete_match_tempest_at_3_0(volenv, ready):
    schemas = tempest_schema("snapshots")
    resp = volenv.alice.post("/v3/snapshots", headers=V30, json={"snapshot": {
        "volume_id": ready, "display_name": "s1", "metadata": {"k": "v"}}})
    conforms(schemas.create_snapshot, resp)
    snap = resp.json["snapshot"]
    assert snap["status"] == "creating" and snap["name"] == "s1" and snap["size"] == 1
    snap_wait(volenv, snap["id"], "available")
    shown = volenv.alice.get(f"/v3/snapshots/{snap['id']}", headers=V30)
    conforms(schemas.show_snapshot, shown)
    assert shown.json["snapshot"]["os-extended-snapshot-attributes:progress"] == "100%"
    assert shown.json["snapshot"]["os-extended-snapshot-attributes:project_id"] == \
        volenv.alice.project_id
    conforms(schemas.list_snapshots_no_detail, volenv.alice.get("/v3/snapshots", headers=V30))
    detail = volenv.alice.get("/v3/snapshots/detail", headers=V30)
    conforms(schemas.list_snapshots_with_detail, detail)
    assert [s["id"] for s in detail.json["snapshots"]] == [snap["id"]]
    upd = volenv.alice.put(f"/v3/snapshots/{snap['id']}", headers=V30, json={
        "snapshot": {"name": "s2", "description": "d"}})
    conforms(schemas.update_snapshot, upd)
    assert upd.json["snapshot"]["name"] == "s2"
    assert volenv.alice.get(f"/v3/snapshots/{snap['id']}", headers=V30).json[
        "snapshot"]["description"] == "d"
    conforms(schemas.delete_snapshot, volenv.alice.delete(f"/v3/snapshots/{snap['id']}"))
    gone(volenv, f"/v3/snapshots/{snap['id']}")
    assert volenv.alice.get("/v3/snapshots", headers=V30).json["snapshots"] == []
    assert not volenv.backend.snapshot_exists(snap["id"])


@pytest.mark.parametrize(("version", "later"), [
    ("3.13", set()), ("3.14", {"group_snapshot_id"}),
    ("3.41", {"group_snapshot_id", "user_id"}),
    ("3.65", {"group_snapshot_id", "user_id", "consumes_quota"})])
def test_later_fields_appear_from_their_microversion(volenv, ready, version, later):
    hdr = {"OpenStack-API-Version": f"volume {version}"}
    snap = snap_create(volenv, ready, headers=hdr)
    assert set(snap) == BASE | later
    snap_wait(volenv, snap["id"], "available")
    shown = volenv.alice.get(f"/v3/snapshots/{snap['id']}", headers=hdr).json["snapshot"]
    assert set(shown) == BASE | later | EXTENDED
    listed = volenv.alice.get("/v3/snapshots", headers=hdr).json["snapshots"][0]
    assert set(listed) == BASE  # Cinder's index list is the summary at every version
    if "user_id" in later:
        assert shown["user_id"] == volenv.alice.get(
            f"/v3/volumes/{ready}", headers=MV).json["volume"]["user_id"]


def test_metadata_routes(volenv, ready):
    sid = snap_create(volenv, ready, metadata={"a": "1"})["id"]
    base = f"/v3/snapshots/{sid}/metadata"
    schemas = tempest_schema("snapshots")
    conforms(schemas.show_snapshot_metadata, volenv.alice.get(base))
    merged = volenv.alice.post(base, json={"metadata": {"b": "2"}})
    conforms(schemas.create_snapshot_metadata, merged)
    assert merged.json["metadata"] == {"a": "1", "b": "2"}
    replaced = volenv.alice.put(base, json={"metadata": {"c": "3"}})
    conforms(schemas.update_snapshot_metadata, replaced)
    assert volenv.alice.get(base).json["metadata"] == {"c": "3"}
    item = volenv.alice.put(f"{base}/c", json={"meta": {"c": "4"}})
    conforms(schemas.update_snapshot_metadata_item, item)
    conforms(schemas.show_snapshot_metadata_item, volenv.alice.get(f"{base}/c"))
    err(volenv.alice.put(f"{base}/c", json={"meta": {"d": "4"}}), 400, "URI mismatch")
    conforms(schemas.delete_snapshot_metadata_item, volenv.alice.delete(f"{base}/c"))
    err(volenv.alice.get(f"{base}/c"), 404, "not found")
    err(volenv.alice.delete(f"{base}/c"), 404, "not found")
    err(volenv.alice.post(base, json={"metadata": {"bad key!": "x"}}), 400, "bad key!")


def test_refusals(volenv, ready):
    err(volenv.alice.post("/v3/snapshots", json={"snapshot": {"volume_id": MISSING}}),
        404, f"Volume {MISSING} could not be found")
    theirs = volenv.create(who=volenv.bob)["id"]
    err(volenv.alice.post("/v3/snapshots", json={"snapshot": {"volume_id": theirs}}),
        404, "could not be found")
    err(volenv.alice.post("/v3/snapshots", json={"snapshot": {"name": "x"}}), 400,
        "volume_id")
    err(volenv.alice.post("/v3/snapshots", json={"snapshot": {"volume_id": None}}), 404,
        "Volume None could not be found")  # Cinder's answer, which Tempest expects
    err(volenv.alice.get("/v3/snapshots?limit=invalid", headers=MV), 400, "limit")
    err(volenv.alice.get("/v3/snapshots?sort_key=invalid", headers=MV), 400, "sort key")
    err(volenv.alice.post("/v3/snapshots", json={"snapshot": {"volume_id": ready,
                                                              "size": 1}}), 400, "")
    err(volenv.alice.get(f"/v3/snapshots/{MISSING}"), 404,
        f"Snapshot {MISSING} could not be found")
    sid = snap_create(volenv, ready)["id"]
    err(volenv.bob.get(f"/v3/snapshots/{sid}"), 404, "could not be found")
    err(volenv.bob.delete(f"/v3/snapshots/{sid}"), 404, "could not be found")
    err(volenv.alice.put(f"/v3/snapshots/{sid}", json={"snapshot": {}}), 400, "")
    err(volenv.alice.post(f"/v3/snapshots/{sid}/action", json={"os-bogus": {}}), 400,
        "There is no such action")
    broken = volenv.create()["id"]  # error: a status the agent never moves on from
    volenv.admin.post(f"/v3/volumes/{broken}/action", json={
        "os-reset_status": {"status": "error"}})
    err(volenv.alice.post("/v3/snapshots", json={"snapshot": {"volume_id": broken}}),
        400, "status must be available, but current status is: error")


def test_in_use_volume_needs_force_before_3_66(volenv, ready):
    volenv.admin.post(f"/v3/volumes/{ready}/action", json={
        "os-reset_status": {"status": "in-use"}})
    err(volenv.alice.post("/v3/snapshots", headers=V30, json={"snapshot": {
        "volume_id": ready}}), 400, "status must be available, but current status is: "
        "in-use")
    forced = snap_create(volenv, ready, headers=V30, force=True)
    snap_wait(volenv, forced["id"], "available")
    v366 = {"OpenStack-API-Version": "volume 3.66"}
    snap_wait(volenv, snap_create(volenv, ready, headers=v366)["id"], "available")
    err(volenv.alice.post("/v3/snapshots", headers=v366, json={"snapshot": {
        "volume_id": ready, "force": False}}), 400, "3.66")


def test_quota_counts_snapshots_and_their_gigabytes(volenv, ready):
    admin, project = volenv.admin, volenv.alice.project_id
    assert admin.put(f"/v3/os-quota-sets/{project}", json={
        "quota_set": {"snapshots": 1}}).status_code == 200
    sid = snap_create(volenv, ready)["id"]
    err(volenv.alice.post("/v3/snapshots", json={"snapshot": {"volume_id": ready}}), 413,
        "SnapshotLimitExceeded")
    usage = admin.get(f"/v3/os-quota-sets/{project}?usage=True").json["quota_set"]
    assert usage["snapshots"]["in_use"] == 1 and usage["gigabytes"]["in_use"] == 2
    limits = volenv.alice.get("/v3/limits").json["limits"]["absolute"]
    assert limits["totalSnapshotsUsed"] == 1 and limits["totalGigabytesUsed"] == 2
    err(admin.put(f"/v3/os-quota-sets/{project}", json={"quota_set": {"snapshots": 0}}),
        400, "Current usage of snapshots is 1")
    snap_wait(volenv, sid, "available")
    volenv.alice.delete(f"/v3/snapshots/{sid}")
    gone(volenv, f"/v3/snapshots/{sid}")
    usage = admin.get(f"/v3/os-quota-sets/{project}?usage=True").json["quota_set"]
    assert usage["snapshots"]["in_use"] == 0 and usage["gigabytes"]["in_use"] == 1
    assert admin.put(f"/v3/os-quota-sets/{project}", json={
        "quota_set": {"snapshots": 5, "gigabytes": 1}}).status_code == 200
    err(volenv.alice.post("/v3/snapshots", json={"snapshot": {"volume_id": ready}}), 413,
        "gigabytes quota")


def test_volume_with_snapshots_is_deleted_only_with_cascade(volenv, ready):
    sids = [snap_create(volenv, ready)["id"] for _ in range(2)]
    for sid in sids:
        snap_wait(volenv, sid, "available")
    err(volenv.alice.delete(f"/v3/volumes/{ready}"), 400, "2 dependent snapshots")
    err(volenv.admin.post(f"/v3/volumes/{ready}/action", json={"os-force_delete": {}}), 400,
        "dependent snapshots")
    assert volenv.alice.delete(f"/v3/volumes/{ready}?cascade=True").status_code == 202
    gone(volenv, f"/v3/volumes/{ready}")
    for sid in sids:
        gone(volenv, f"/v3/snapshots/{sid}")
        assert not volenv.backend.snapshot_exists(sid)
    usage = volenv.admin.get(f"/v3/os-quota-sets/{volenv.alice.project_id}?usage=True"
                             ).json["quota_set"]
    assert (usage["volumes"]["in_use"], usage["snapshots"]["in_use"],
            usage["gigabytes"]["in_use"]) == (0, 0, 0)


def test_volume_from_snapshot_holds_the_snapshot_not_later_writes(volenv, ready):
    sid = snap_create(volenv, ready)["id"]
    snap_wait(volenv, sid, "available")
    volenv.backend.contents[ready] = b"written after the snapshot"
    vol = volenv.create(snapshot_id=sid, size=None, name="restored")
    assert vol["snapshot_id"] == sid and vol["size"] == 1
    restored = volenv.wait(vol["id"], "available")
    assert restored["bootable"] == "true"  # as its origin, made from an image
    assert volenv.backend.contents[vol["id"]] == RAW[:1 << 20]
    bigger = volenv.create(snapshot_id=sid, size=3)
    volenv.wait(bigger["id"], "available")
    assert volenv.backend.size(bigger["id"]) == 3 << 30
    err(volenv.alice.post("/v3/volumes", headers=MV, json={"volume": {
        "snapshot_id": MISSING}}), 404, f"Snapshot {MISSING} could not be found")
    volenv.admin.post(f"/v3/volumes/{bigger['id']}/action", json={"os-extend": {
        "new_size": 4}})
    volenv.wait(bigger["id"], "available")
    big_snap = snap_create(volenv, bigger["id"])["id"]
    snap_wait(volenv, big_snap, "available")
    err(volenv.alice.post("/v3/volumes", headers=MV, json={"volume": {
        "snapshot_id": big_snap, "size": 2}}), 400, "cannot be smaller than the snapshot "
        "size 4GB")
    err(volenv.alice.post("/v3/volumes", headers=MV, json={"volume": {
        "snapshot_id": sid, "source_volid": ready}}), 400, "one source")
    volenv.admin.post(f"/v3/snapshots/{sid}/action", json={"os-reset_status": {
        "status": "error"}})
    err(volenv.alice.post("/v3/volumes", headers=MV, json={"volume": {"snapshot_id": sid}}),
        400, "Originating snapshot status must be one of 'available'")


def test_clone_holds_its_source(volenv, ready):
    clone = volenv.create(source_volid=ready, size=None, name="clone")
    assert clone["source_volid"] == ready and clone["size"] == 1
    volenv.wait(clone["id"], "available")
    assert volenv.backend.contents[clone["id"]] == volenv.backend.contents[ready]
    err(volenv.alice.post("/v3/volumes", headers=MV, json={"volume": {
        "source_volid": MISSING}}), 404, f"Volume {MISSING} could not be found")
    bigger = volenv.create(source_volid=ready, size=2)
    volenv.wait(bigger["id"], "available")
    volenv.admin.post(f"/v3/volumes/{bigger['id']}/action", json={"os-extend": {
        "new_size": 3}})
    volenv.wait(bigger["id"], "available")
    err(volenv.alice.post("/v3/volumes", headers=MV, json={"volume": {
        "source_volid": bigger["id"], "size": 2}}), 400, "original volume size 3GB")


def test_a_source_being_copied_is_not_deleted(make_volenv):
    env = make_volenv(agent=False)  # nothing runs: the clone stays creating
    vid = env.create()["id"]
    env.admin.post(f"/v3/volumes/{vid}/action", json={"os-reset_status": {
        "status": "available"}})
    env.create(source_volid=vid)
    err(env.alice.delete(f"/v3/volumes/{vid}"), 400, "source of a volume being created")
    sid = snap_create(env, vid)["id"]
    env.admin.post(f"/v3/snapshots/{sid}/action", json={"os-reset_status": {
        "status": "available"}})
    env.create(snapshot_id=sid)
    err(env.alice.delete(f"/v3/snapshots/{sid}"), 400, "source of a volume being created")


def test_admin_actions(volenv, ready):
    sid = snap_create(volenv, ready)["id"]
    snap_wait(volenv, sid, "available")
    action = f"/v3/snapshots/{sid}/action"
    err(volenv.alice.post(action, json={"os-reset_status": {"status": "error"}}), 403,
        "volume_extension:snapshot_admin_actions:reset_status")
    err(volenv.admin.post(action, json={"os-reset_status": {"status": "bogus"}}), 400,
        "status must be one of")
    assert volenv.admin.post(action, json={"os-reset_status": {"status": "creating"}}
                             ).status_code == 202
    err(volenv.alice.delete(f"/v3/snapshots/{sid}"), 400, "current status is: creating")
    err(volenv.alice.post(action, json={"os-force_delete": {}}), 403, "force_delete")
    assert volenv.admin.post(action, json={"os-force_delete": {}}).status_code == 202
    gone(volenv, f"/v3/snapshots/{sid}")
    stuck = snap_create(volenv, ready)["id"]  # Tempest: force delete of a deleting one
    snap_wait(volenv, stuck, "available")
    assert volenv.admin.post(f"/v3/snapshots/{stuck}/action", json={"os-reset_status": {
        "status": "deleting"}}).status_code == 202
    err(volenv.alice.delete(f"/v3/snapshots/{stuck}"), 400, "current status is: deleting")
    assert volenv.admin.post(f"/v3/snapshots/{stuck}/action", json={
        "os-force_delete": {}}).status_code == 202
    gone(volenv, f"/v3/snapshots/{stuck}")
    assert not volenv.backend.snapshot_exists(stuck)


def test_update_snapshot_status_follows_the_table(make_volenv):
    env = make_volenv(agent=False)
    vid = env.create()["id"]
    env.admin.post(f"/v3/volumes/{vid}/action", json={"os-reset_status": {
        "status": "available"}})
    sid = snap_create(env, vid)["id"]
    action = f"/v3/snapshots/{sid}/action"
    assert env.alice.post(action, json={"os-update_snapshot_status": {
        "status": "available", "progress": "90%"}}).status_code == 202
    shown = env.alice.get(f"/v3/snapshots/{sid}").json["snapshot"]
    assert shown["status"] == "available"
    assert shown["os-extended-snapshot-attributes:progress"] == "90%"
    err(env.alice.post(action, json={"os-update_snapshot_status": {"status": "creating"}}),
        400, "not allowed to change to creating")
    err(env.reader.post(action, json={"os-update_snapshot_status": {"status": "error"}}),
        403, "update_snapshot_status")


def test_list_filters_sort_paging_and_all_tenants(volenv, ready):
    other = volenv.create(name="other")["id"]
    volenv.wait(other, "available")
    a = snap_create(volenv, ready, name="a", metadata={"k": "1"})["id"]
    b = snap_create(volenv, ready, name="b")["id"]
    c = snap_create(volenv, other, name="c")["id"]
    theirs_vol = volenv.create(who=volenv.bob)["id"]
    volenv.wait(theirs_vol, "available")
    theirs = snap_create(volenv, theirs_vol, who=volenv.bob)["id"]
    for sid in (a, b, c, theirs):
        snap_wait(volenv, sid, "available")

    def ids(query: str, who=None) -> list[str]:
        resp = (who or volenv.alice).get(f"/v3/snapshots/detail{query}", headers=MV)
        assert resp.status_code == 200, resp.json
        return [s["id"] for s in resp.json["snapshots"]]

    assert ids("") == [c, b, a]
    assert ids("?sort=name:asc") == [a, b, c]
    assert ids(f"?volume_id={other}") == [c]
    assert ids("?name=b") == [b]
    assert ids("?metadata={'k': '1'}") == [a]
    assert ids("?status=error") == []
    err(volenv.alice.get("/v3/snapshots?bogus=1", headers=MV), 400, "Invalid filters bogus")
    page = volenv.alice.get("/v3/snapshots?limit=2&sort=name:asc", headers=MV).json
    assert [s["id"] for s in page["snapshots"]] == [a, b]
    assert "marker=" + b in page["snapshots_links"][0]["href"]
    assert ids(f"?sort=name:asc&marker={b}") == [c]
    assert ids("?sort_key=display_name&sort_dir=desc") == [c, b, a]  # Tempest's sort key
    assert ids("?offset=2&limit=3") == [a]  # Tempest's offset test
    assert ids(f"?sort=name:asc&marker={a}&offset=1") == [c]
    err(volenv.alice.get("/v3/snapshots?offset=-1", headers=MV), 400, "offset")
    assert volenv.alice.get("/v3/snapshots?limit=0", headers=MV).json["snapshots"] == []
    err(volenv.alice.get(f"/v3/snapshots?marker={MISSING}", headers=MV), 404,
        f"Marker {MISSING} could not be found")  # Cinder's (and Tempest's) 404
    counted = volenv.alice.get("/v3/snapshots?with_count=true&limit=1", headers=MV).json
    assert counted["count"] == 3 and len(counted["snapshots"]) == 1
    assert theirs not in ids("?all_tenants=1")  # a member's all_tenants is ignored
    assert set(ids("?all_tenants=1", volenv.admin)) == {a, b, c, theirs}


def test_failed_snapshot_copy_is_error_and_deletable(make_volenv):
    from volumes.backends import FakeBackend

    env = make_volenv(backend=FakeBackend(fail_at="create_snapshot"))
    vid = env.create()["id"]
    env.wait(vid, "available")
    sid = snap_create(env, vid)["id"]
    snap_wait(env, sid, "error")
    assert env.alice.delete(f"/v3/snapshots/{sid}").status_code == 202
    gone(env, f"/v3/snapshots/{sid}")


def test_agent_restart_fails_an_interrupted_copy_and_reruns_a_delete(make_volenv):
    from sqlalchemy import update

    from volumes.models import VolumeTask

    env = make_volenv(agent=False)
    vid = env.create()["id"]
    env.admin.post(f"/v3/volumes/{vid}/action", json={"os-reset_status": {
        "status": "available"}})
    env.backend.create(vid, 1)
    copying = snap_create(env, vid)["id"]
    with env.db.session() as s:  # the agent died while copying
        s.execute(update(VolumeTask).where(VolumeTask.action == "create_snapshot")
                  .values(state="running"))
    env.agent.init_host()
    assert env.alice.get(f"/v3/snapshots/{copying}").json["snapshot"]["status"] == "error"
    assert env.alice.delete(f"/v3/snapshots/{copying}").status_code == 202
    with env.db.session() as s:  # ... and again while deleting it
        s.execute(update(VolumeTask).where(VolumeTask.action == "delete_snapshot")
                  .values(state="running"))
    env.agent.init_host()
    while (task := env.agent.queue.take()) is not None:
        env.agent.run_task(task)
    assert env.alice.get(f"/v3/snapshots/{copying}").status_code == 404


def test_file_backend_through_the_agent(make_volenv, tmp_path):
    """The same flow on real files (the iSCSI path: tests/test_volumes_snapshots_real.py)."""
    from volumes.backends import FileBackend

    backend = FileBackend(tmp_path / "volumes")
    env = make_volenv(backend=backend)
    src = env.create(size=1)["id"]
    env.wait(src, "available")

    def write(vid: str, data: bytes) -> None:
        with open(backend.path(vid), "r+b") as fh:
            fh.write(data)

    def read(vid: str) -> bytes:
        with open(backend.path(vid), "rb") as fh:
            return fh.read(6)

    write(src, b"first!")
    sid = snap_create(env, src)["id"]
    snap_wait(env, sid, "available")
    write(src, b"second")
    restored = env.create(snapshot_id=sid, size=2)["id"]
    clone = env.create(source_volid=src, size=None)["id"]
    for vid in (restored, clone):
        env.wait(vid, "available")
    assert (read(restored), read(clone), read(src)) == (b"first!", b"second", b"second")
    assert backend.size(restored) == 2 << 30
    assert env.alice.delete(f"/v3/volumes/{src}?cascade=True").status_code == 202
    gone(env, f"/v3/volumes/{src}")
    assert not backend.snapshot_exists(sid) and not backend.exists(src)
    assert read(restored) == b"first!"  # independent of what it was made from
