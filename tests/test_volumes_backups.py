"""Volume backups through the API, on the file backend (sparse volume files in the test's
directory) and a real agent: create full and incremental, list, show, update, restore into a
new and an existing volume, delete (refused while an incremental depends on it), export and
import the record, reset-status and force-delete; answers against Tempest's schemas; quotas;
every refusal."""
from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from tests.test_volumes_api_shapes import conforms, tempest_schema
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, err, wait_status
from volumes.backends import FileBackend

MIB = 1 << 20
OLD = {"OpenStack-API-Version": "volume 3.0"}


@pytest.fixture
def env(make_volenv, tmp_path):
    # 1 MiB chunks: a 1 GiB volume is 1024 chunks, most of them holes.
    return make_volenv(backend=FileBackend(tmp_path / "volumes"),
                       **{"volume.backup_chunk_size": MIB})


def _volume(env, who=None, **kw) -> str:
    vid = env.create(who=who, **kw)["id"]
    env.wait(vid, "available")
    return vid


def _write(env, vid: str, offset: int, data: bytes) -> None:
    with open(env.backend.path(vid), "r+b") as fh:
        fh.seek(offset)
        fh.write(data)


def _read(env, vid: str, offset: int, length: int) -> bytes:
    with open(env.backend.path(vid), "rb") as fh:
        fh.seek(offset)
        return fh.read(length)


def _backup(env, vid: str, who=None, expect: str = "available", headers=MV, **kw) -> dict:
    who = who or env.alice
    resp = who.post("/v3/backups", headers=headers, json={"backup": {"volume_id": vid, **kw}})
    assert resp.status_code == 202, resp.json
    return wait_status(lambda: who.get(f"/v3/backups/{resp.json['backup']['id']}",
                                       headers=MV).json["backup"], expect)


def _restored(env, backup_id: str, who=None, **restore) -> dict:
    who = who or env.alice
    resp = who.post(f"/v3/backups/{backup_id}/restore", json={"restore": restore or None})
    assert resp.status_code == 202, resp.json
    return resp.json["restore"]


def test_backup_restore_roundtrip_with_schemas(env):
    s, s64 = tempest_schema("backups"), tempest_schema("v3_64.backups")
    vid = _volume(env, name="src", metadata={"vol-meta1": "value1"})
    _write(env, vid, 0, b"first marker")
    _write(env, vid, 700 * MIB + 5, b"far marker")
    created = env.alice.post("/v3/backups", headers=MV, json={"backup": {
        "volume_id": vid, "name": "b1", "description": "d", "metadata": {"k": "v"}}})
    conforms(s.create_backup, created)
    bid = created.json["backup"]["id"]
    assert env.show(vid)["status"] in ("backing-up", "available")
    backup = wait_status(lambda: env.alice.get(f"/v3/backups/{bid}", headers=MV)
                         .json["backup"], "available")
    assert env.wait(vid, "available")
    shown = env.reader.get(f"/v3/backups/{bid}", headers=MV)
    conforms(s64.show_backup, shown)
    conforms(s.show_backup, env.alice.get(f"/v3/backups/{bid}", headers=OLD))
    assert "metadata" not in env.alice.get(f"/v3/backups/{bid}", headers=OLD).json["backup"]
    assert (backup["name"], backup["description"], backup["size"], backup["metadata"],
            backup["object_count"], backup["is_incremental"], backup["container"]) == \
        ("b1", "d", 1, {"k": "v"}, 2, False, "volumebackups")
    assert "os-backup-project-attr:project_id" not in backup
    admin_view = env.admin.get(f"/v3/backups/{bid}", headers=MV).json["backup"]
    assert admin_view["os-backup-project-attr:project_id"] == env.alice.project_id
    conforms(s64.list_backups_with_detail, env.alice.get("/v3/backups/detail", headers=MV))
    conforms(s.list_backups_no_detail, env.alice.get("/v3/backups", headers=MV))

    restore = env.alice.post(f"/v3/backups/{bid}/restore", json={"restore": None})
    conforms(s.restore_backup, restore)
    new = restore.json["restore"]
    assert (new["backup_id"], new["volume_name"]) == (bid, f"restore_backup_{bid}")
    vol = env.wait(new["volume_id"], "available")
    assert vol["metadata"] == {"vol-meta1": "value1"} and vol["size"] == 1
    assert _read(env, new["volume_id"], 0, 12) == b"first marker"
    assert _read(env, new["volume_id"], 700 * MIB + 5, 10) == b"far marker"
    assert env.alice.get(f"/v3/backups/{bid}").json["backup"]["status"] == "available"
    conforms(s.delete_backup, env.alice.delete(f"/v3/backups/{bid}"))
    wait_status(lambda: env.alice.get(f"/v3/backups/{bid}").json.get("itemNotFound") and
                {"status": "gone"} or {"status": "there"}, "gone")
    location = env.conf.path("backups") / "volumebackups" / f"backup-{bid}"
    assert not location.exists()


def test_store_files_are_private(env):
    vid = _volume(env)
    _write(env, vid, 0, b"secret")
    bid = _backup(env, vid)["id"]
    root = env.conf.path("backups")
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    assert (root / "volumebackups" / f"backup-{bid}" / "manifest.json").is_file()


def test_incremental_and_dependents(env):
    vid = _volume(env)
    _write(env, vid, 0, b"a" * MIB)
    _write(env, vid, 3 * MIB, b"b" * 10)
    full = _backup(env, vid)
    err(env.alice.post("/v3/backups", json={"backup": {"volume_id": _volume(env),
                                                       "incremental": True}}),
        400, "No backups available to do an incremental backup")
    _write(env, vid, 3 * MIB, b"c" * 10)
    inc = _backup(env, vid, incremental=True)
    assert (inc["is_incremental"], inc["object_count"]) == (True, 1)  # only the changed one
    shown = env.alice.get(f"/v3/backups/{full['id']}").json["backup"]
    assert shown["has_dependent_backups"] is True
    err(env.alice.delete(f"/v3/backups/{full['id']}"), 400, "Incremental backups exist")
    new = _restored(env, inc["id"])
    env.wait(new["volume_id"], "available")
    assert _read(env, new["volume_id"], 0, MIB) == b"a" * MIB  # from the parent's object
    assert _read(env, new["volume_id"], 3 * MIB, 10) == b"c" * 10
    assert env.alice.delete(f"/v3/backups/{inc['id']}").status_code == 202
    wait_status(lambda: {"status": env.alice.get(f"/v3/backups/{inc['id']}").status_code},
                404)
    assert env.alice.delete(f"/v3/backups/{full['id']}").status_code == 202


def test_restore_into_existing_volume(env):
    src = _volume(env, size=1)
    _write(env, src, 0, b"from the backup")
    bid = _backup(env, src)["id"]
    small_target = _volume(env, size=1)
    _write(env, small_target, 2 * MIB, b"old data that must go")
    restore = _restored(env, bid, volume_id=small_target)
    assert restore["volume_id"] == small_target
    env.wait(small_target, "available")
    assert _read(env, small_target, 0, 15) == b"from the backup"
    assert _read(env, small_target, 2 * MIB, 21) == bytes(21)  # zero chunks are written
    other = _volume(env, who=env.bob)
    err(env.alice.post(f"/v3/backups/{bid}/restore", json={"restore": {"volume_id": other}}),
        404, other)
    bigger = _backup(env, _volume(env, size=2))["id"]
    err(env.alice.post(f"/v3/backups/{bigger}/restore",
                       json={"restore": {"volume_id": small_target}}), 400, "too small")


def test_in_use_needs_force_and_comes_back(env):
    vid = _volume(env)
    env.admin.post(f"/v3/volumes/{vid}/action", json={"os-reset_status": {"status": "in-use"}})
    err(env.alice.post("/v3/backups", json={"backup": {"volume_id": vid}}), 400,
        "must use the force flag")
    _backup(env, vid, force=True)
    assert env.wait(vid, "in-use")["status"] == "in-use"


def test_refusals(env):
    vid = _volume(env)
    missing = "00000000-0000-4000-8000-000000000000"
    err(env.alice.post("/v3/backups", json={"backup": {"volume_id": missing}}), 404, missing)
    err(env.bob.post("/v3/backups", json={"backup": {"volume_id": vid}}), 404, vid)
    err(env.alice.post("/v3/backups", json={"backup": {"volume_id": vid,
                                                       "container": "../etc"}}), 400,
        "container")
    err(env.alice.post("/v3/backups", headers=OLD, json={"backup": {
        "volume_id": vid, "metadata": {"k": "v"}}}), 400, "metadata")
    err(env.alice.post("/v3/backups", headers=MV, json={"backup": {
        "volume_id": vid, "availability_zone": "elsewhere"}}), 400, "elsewhere")
    err(env.alice.post("/v3/backups", json={"backup": {"volume_id": vid,
                                                       "snapshot_id": missing}}), 404,
        missing)
    bid = _backup(env, vid)["id"]
    err(env.bob.get(f"/v3/backups/{bid}"), 404, bid)
    err(env.bob.delete(f"/v3/backups/{bid}"), 404, bid)
    err(env.alice.put(f"/v3/backups/{bid}", headers=OLD, json={"backup": {"name": "x"}}),
        404, "3.9")
    updated = env.alice.put(f"/v3/backups/{bid}", headers=MV, json={"backup": {
        "name": "new", "description": "nd", "metadata": {"a": "b"}}})
    conforms(tempest_schema("backups").update_backup, updated)
    shown = env.alice.get(f"/v3/backups/{bid}", headers=MV).json["backup"]
    assert (shown["name"], shown["description"], shown["metadata"]) == ("new", "nd",
                                                                         {"a": "b"})
    env.admin.post(f"/v3/volumes/{vid}/action", json={"os-reset_status": {"status": "error"}})
    err(env.alice.post("/v3/backups", json={"backup": {"volume_id": vid}}), 400,
        "must be available or in-use")
    err(env.alice.post(f"/v3/backups/{bid}/action", json={"os-reset_status": {
        "status": "error"}}), 403, "policy")
    err(env.admin.post(f"/v3/backups/{bid}/action", json={"os-reset_status": {
        "status": "creating"}}), 400, "creating")
    assert env.admin.post(f"/v3/backups/{bid}/action", json={"os-reset_status": {
        "status": "error"}}).status_code == 202
    err(env.alice.post(f"/v3/backups/{bid}/restore", json={"restore": {}}), 400,
        "must be available")


def test_export_import_and_force_delete(env):
    s = tempest_schema("backups")
    vid = _volume(env)
    _write(env, vid, 0, b"exported")
    bid = _backup(env, vid, name="exp")["id"]
    err(env.alice.get(f"/v3/backups/{bid}/export_record"), 403, "policy")
    exported = env.admin.get(f"/v3/backups/{bid}/export_record")
    conforms(s.export_backup, exported)
    record = exported.json["backup-record"]
    assert record["backup_service"].startswith("cinder.backup.drivers")
    data = json.loads(base64.b64decode(record["backup_url"]))
    new_id = "11111111-2222-4333-8444-555555555555"
    url = base64.b64encode(json.dumps({**data, "id": new_id}).encode()).decode()
    imported = env.admin.post("/v3/backups/import_record", json={"backup-record": {
        "backup_service": record["backup_service"], "backup_url": url}})
    conforms(s.import_backup, imported)
    assert imported.json["backup"]["id"] == new_id
    assert new_id in [b["id"] for b in env.admin.get("/v3/backups").json["backups"]]
    again = env.admin.post("/v3/backups/import_record", json={"backup-record": {
        "backup_service": record["backup_service"], "backup_url": url}})
    err(again, 400, "already exists")
    evil = base64.b64encode(json.dumps({**data, "id": "x", "location": "../../etc"})
                            .encode()).decode()
    err(env.admin.post("/v3/backups/import_record", json={"backup-record": {
        "backup_service": record["backup_service"], "backup_url": evil}}), 400, "no backup")
    err(env.admin.post("/v3/backups/import_record", json={"backup-record": {
        "backup_service": record["backup_service"], "backup_url": "not base64!"}}), 400,
        "parse")
    err(env.admin.post("/v3/backups/import_record", json={"backup-record": {
        "backup_service": "cinder.backup.drivers.swift", "backup_url": url}}), 400,
        "could not be found")
    # The imported copy restores, and deleting it leaves the shared objects to the original.
    new = _restored(env, new_id, who=env.admin)
    env.wait(new["volume_id"], "available")
    assert _read(env, new["volume_id"], 0, 8) == b"exported"
    wait_status(lambda: env.admin.get(f"/v3/backups/{new_id}").json["backup"], "available")
    assert env.admin.post(f"/v3/backups/{new_id}/action",
                          json={"os-force_delete": {}}).status_code == 202
    wait_status(lambda: {"status": env.admin.get(f"/v3/backups/{new_id}").status_code}, 404)
    assert (env.conf.path("backups") / "volumebackups" / f"backup-{bid}").is_dir()
    restored = _restored(env, bid)
    env.wait(restored["volume_id"], "available")


def test_corrupted_chunk_fails_the_restore(env):
    vid = _volume(env)
    _write(env, vid, 0, b"x" * MIB)
    bid = _backup(env, vid)["id"]
    chunk = env.conf.path("backups") / "volumebackups" / f"backup-{bid}" / "chunk-000000.z"
    import zlib
    chunk.write_bytes(zlib.compress(b"y" * MIB))
    new = _restored(env, bid)
    vol = env.wait(new["volume_id"], "error")
    assert vol["status"] == "error"
    backup = wait_status(lambda: env.alice.get(f"/v3/backups/{bid}").json["backup"],
                         "available")
    assert "sha256" in backup["fail_reason"]


def test_lists_filters_paging_and_quotas(env):
    env.admin.put(f"/v3/os-quota-sets/{env.alice.project_id}",
                  json={"quota_set": {"backups": 3}})
    vid = _volume(env)
    ids = [_backup(env, vid, name=f"b{i}")["id"] for i in range(3)]
    err(env.alice.post("/v3/backups", json={"backup": {"volume_id": vid}}), 413, "backups")
    usage = env.admin.get(f"/v3/os-quota-sets/{env.alice.project_id}?usage=True").json
    assert usage["quota_set"]["backups"]["in_use"] == 3
    assert usage["quota_set"]["backup_gigabytes"]["in_use"] == 3
    limits = env.alice.get("/v3/limits").json["limits"]["absolute"]
    assert (limits["totalBackupsUsed"], limits["totalBackupGigabytesUsed"]) == (3, 3)
    named = env.alice.get("/v3/backups?name=b1").json["backups"]
    assert [b["id"] for b in named] == [ids[1]]
    err(env.alice.get("/v3/backups?bogus=1"), 400, "bogus")
    page = env.alice.get("/v3/backups/detail?limit=2&sort=name:asc", headers=MV).json
    assert [b["name"] for b in page["backups"]] == ["b0", "b1"]
    assert "marker=" in page["backups_links"][0]["href"]
    rest = env.alice.get(f"/v3/backups/detail?limit=2&sort=name:asc&marker={ids[1]}").json
    assert [b["name"] for b in rest["backups"]] == ["b2"]
    counted = env.alice.get("/v3/backups?with_count=true", headers=MV).json
    assert counted["count"] == 3
    assert env.bob.get("/v3/backups").json["backups"] == []
    everyone = env.admin.get("/v3/backups?all_tenants=1").json["backups"]
    assert set(ids) <= {b["id"] for b in everyone}
    env.alice.delete(f"/v3/backups/{ids[0]}")
    wait_status(lambda: {"status": env.alice.get(f"/v3/backups/{ids[0]}").status_code}, 404)
    usage = env.admin.get(f"/v3/os-quota-sets/{env.alice.project_id}?usage=True").json
    assert usage["quota_set"]["backups"]["in_use"] == 2


def test_progress_grows_while_the_agent_works(env, monkeypatch):
    """object_count is written per chunk, so a poller sees it grow before the end."""
    seen: list[int] = []
    from volumes import backup_agent

    real = backup_agent.BackupWorker.do_backup

    def watching(self, task):
        store_backup = self.store.backup

        def backup(source, location, parent=None, progress=None):
            def spy(count):
                progress(count)
                with self.db.session() as s:
                    from volumes.models import VolumeBackup
                    seen.append(s.get(VolumeBackup, task.params["backup_id"]).object_count)
            return store_backup(source, location, parent, spy)
        monkeypatch.setattr(self.store, "backup", backup)
        return real(self, task)

    monkeypatch.setattr(backup_agent.BackupWorker, "do_backup", watching)
    vid = _volume(env)
    for i in range(3):
        _write(env, vid, i * 2 * MIB, os.urandom(100))
    assert _backup(env, vid)["object_count"] == 3
    assert seen == [1, 2, 3]


def test_volume_created_from_a_backup(env):
    """``POST /volumes`` with ``backup_id`` (3.47): a new volume, as large as asked (at least
    the backup), holding the backup's data; below 3.47 the key is ignored."""
    vid = _volume(env, metadata={"from": "source"})
    _write(env, vid, MIB + 3, b"from backup")
    bid = _backup(env, vid)["id"]
    made = env.create(name="fromb", size=2, backup_id=bid, metadata={"own": "1"})
    vol = env.wait(made["id"], "available")
    assert (vol["name"], vol["size"], vol["metadata"]) == (
        "fromb", 2, {"own": "1", "from": "source"})
    assert _read(env, made["id"], MIB + 3, 11) == b"from backup"
    sized = env.create(backup_id=bid, size=None)
    assert env.wait(sized["id"], "available")["size"] == 1
    err(env.bob.post("/v3/volumes", headers=MV, json={"volume": {"size": 1, "backup_id": bid}}),
        404, bid)
    err(env.alice.post("/v3/volumes", headers=MV, json={"volume": {"size": 1,
                                                                   "backup_id": _backup(
        env, _volume(env, size=2))["id"]}}), 400, "smaller than the backup")
    old = env.alice.post("/v3/volumes", headers={"OpenStack-API-Version": "volume 3.46"},
                         json={"volume": {"size": 1, "backup_id": bid}})
    assert old.status_code == 202
    assert env.wait(old.json["volume"]["id"], "available")
    assert _read(env, old.json["volume"]["id"], MIB + 3, 11) == bytes(11)


def _work(agent) -> int:
    count = 0
    while (task := agent.queue.take()) is not None:
        agent.run_task(task)
        count += 1
    return count


def test_an_agent_restart_fails_interrupted_backups_and_restores(make_volenv, tmp_path):
    """A backup or restore the agent was running when it stopped is failed at its start
    (backup error, volume back; restore: volume error, backup available); an interrupted
    backup delete runs again."""
    env = make_volenv(backend=FileBackend(tmp_path / "vols"), agent=False)
    vid = env.create(name="src")["id"]
    _work(env.agent)
    env.admin.post(f"/v3/volumes/{vid}/action", json={"os-reset_status": {"status": "in-use"}})
    bid = env.alice.post("/v3/backups", json={"backup": {"volume_id": vid, "force": True}}
                         ).json["backup"]["id"]
    assert env.agent.queue.take() is not None  # "running", as if the agent died in it
    env.agent.init_host()
    backup = env.alice.get(f"/v3/backups/{bid}").json["backup"]
    assert (backup["status"], env.show(vid)["status"]) == ("error", "in-use")
    assert "restart" in backup["fail_reason"]

    env.admin.post(f"/v3/volumes/{vid}/action", json={"os-reset_status": {
        "status": "available"}})
    good = env.alice.post("/v3/backups", json={"backup": {"volume_id": vid}}).json["backup"]
    _work(env.agent)
    restore = _restored(env, good["id"])
    assert env.agent.queue.take() is not None
    env.agent.init_host()
    assert env.show(restore["volume_id"])["status"] == "error"
    assert env.alice.get(f"/v3/backups/{good['id']}").json["backup"]["status"] == "available"

    assert env.alice.delete(f"/v3/backups/{good['id']}").status_code == 202
    assert env.agent.queue.take() is not None
    env.agent.init_host()
    assert _work(env.agent) == 1
    err(env.alice.get(f"/v3/backups/{good['id']}"), 404, good["id"])
    assert not (env.conf.path("backups") / "volumebackups" / f"backup-{good['id']}").exists()
