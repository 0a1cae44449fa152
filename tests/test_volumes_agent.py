"""The volume agent driven by hand (no thread): restart reconciliation (hardening.md 3),
exports after a tgtd restart, ownership of targets, and volumes made from images for real
(file backend, qemu-img, inspection of the downloaded data)."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, update

from images.store import store_file
from minicloud import process
from minicloud.paths import StatePaths
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV, RAW
from volumes.backends import GIB, FileBackend
from volumes.connection import Chap
from volumes.models import Volume, VolumeTask

CONNECTOR = {"host": "node1", "initiator": "iqn.2008-11.org.linux-kvm:vm"}


def work(agent) -> int:
    """Run every pending task now; return how many ran."""
    count = 0
    while (task := agent.queue.take()) is not None:
        agent.run_task(task)
        count += 1
    return count


def _status(env, vid: str) -> str:
    with env.db.session() as s:
        return s.get(Volume, vid).status


def _take(env) -> VolumeTask:
    task = env.agent.queue.take()
    assert task is not None
    return task  # now "running", as if the agent died while doing it


def test_interrupted_create_becomes_error(make_volenv):
    env = make_volenv(agent=False)
    vid = env.create(name="c")["id"]
    _take(env)
    env.agent.init_host()
    assert _status(env, vid) == "error" and not env.backend.exists(vid)
    with env.db.session() as s:
        assert s.scalar(select(VolumeTask.state).where(VolumeTask.volume_id == vid)) == "failed"
    assert work(env.agent) == 0


def test_create_lost_without_a_task_becomes_error(make_volenv):
    env = make_volenv(agent=False)
    vid = env.create(name="c")["id"]
    with env.db.session() as s:
        s.execute(update(VolumeTask).values(state="cancelled"))
    env.agent.init_host()
    assert _status(env, vid) == "error"


def test_interrupted_delete_is_finished(make_volenv):
    env = make_volenv(agent=False)
    vid = env.create(name="d")["id"]
    work(env.agent)
    assert env.alice.delete(f"/v3/volumes/{vid}").status_code == 202
    _take(env)
    env.agent.init_host()
    assert work(env.agent) == 1
    assert _status(env, vid) == "deleted" and not env.backend.exists(vid)


def test_deleting_volume_without_a_task_gets_one(make_volenv):
    env = make_volenv(agent=False)
    vid = env.create(name="d")["id"]
    work(env.agent)
    env.alice.delete(f"/v3/volumes/{vid}")
    with env.db.session() as s:
        s.execute(update(VolumeTask).where(VolumeTask.state == "pending")
                  .values(state="cancelled"))
    env.agent.init_host()
    work(env.agent)
    assert _status(env, vid) == "deleted"


def _in_use(env) -> tuple[str, dict]:
    vid = env.create(name="u")["id"]
    env.wait(vid, "available")
    att = env.alice.post("/v3/attachments", headers=MV, json={"attachment": {
        "volume_uuid": vid, "instance_uuid": "0b3b4f4e-1111-4c1e-9d7a-3a3a3a3a3a3a"}}
    ).json["attachment"]
    info = env.service.put(f"/v3/attachments/{att['id']}", headers=MV, json={
        "attachment": {"connector": CONNECTOR}}).json["attachment"]["connection_info"]
    env.service.post(f"/v3/attachments/{att['id']}/action", headers=MV,
                     json={"os-complete": None})
    return vid, info["data"]


def test_restart_re_exports_in_use_volumes_with_the_same_credentials(make_volenv):
    env = make_volenv(**{"volume.bind_initiator": True})
    vid, data = _in_use(env)
    env.target.restart()  # tgtd keeps nothing across its own restart
    env.agent.init_host()
    export = env.target.exports[vid]
    assert (export.chap.username, export.chap.password) == \
        (data["auth_username"], data["auth_password"])
    assert export.initiator == CONNECTOR["initiator"]
    env.target.restart()
    env.agent.periodic()  # and the periodic task repairs it too
    assert vid in env.target.exports


def test_only_our_own_stale_targets_are_removed(make_volenv):
    env = make_volenv()
    vid, _ = _in_use(env)
    gone = env.create(name="gone")["id"]
    env.wait(gone, "available")
    # The agent writes "available" before it marks the create task done; a volume with a
    # task still running is that task's business, so wait for the task too.
    deadline = time.monotonic() + 10
    while True:
        with env.db.session() as s:
            states = set(s.scalars(select(VolumeTask.state).where(
                VolumeTask.volume_id == gone)))
        if states <= {"done"}:
            break
        assert time.monotonic() < deadline, states
        time.sleep(0.01)
    foreign = "5f1c1e0e-0000-4000-8000-00000000f00d"  # another cloud's volume
    for other in (gone, foreign):
        env.target.ensure_export(other, f"/elsewhere/{other}", Chap.generate())
    env.agent.sync_exports()
    assert set(env.target.exports) == {vid, foreign}


def test_interrupted_unexport_is_run_again(make_volenv):
    env = make_volenv(agent=False)
    vid = env.create(name="u")["id"]
    work(env.agent)
    atts = env.agent.attachments
    ctx = env.app.extensions["minicloud"].tokens.validate(env.alice.token)
    att_id = atts.create(ctx, vid, "srv")
    with env.db.session() as s:  # what update() records before it waits for the export
        from volumes import states

        states.attachment_transition(s, att_id, {"reserved"}, "attaching",
                                     connector=CONNECTOR, host="node1")
        states.transition(s, vid, {"reserved"}, "attaching")
        vol = s.get(Volume, vid)
        env.agent.volumes.enqueue(s, vol, "export", {"attachment_id": att_id})
    work(env.agent)
    assert vid in env.target.exports
    with env.db.session() as s:
        states.attachment_transition(s, att_id, {"attaching"}, "detaching")
        states.transition(s, vid, {"attaching"}, "detaching")
        env.agent.volumes.enqueue(s, s.get(Volume, vid), "unexport",
                                  {"attachment_id": att_id})
    _take(env)
    env.agent.init_host()
    work(env.agent)
    assert _status(env, vid) == "available" and vid not in env.target.exports


def test_a_retried_detach_queued_twice_ends_clean(make_volenv):
    """A detach retried while the first unexport still waited (its agent down) queues a
    second unexport: the first finishes the detach, the second finds nothing to do."""
    env = make_volenv(agent=False)
    vid = env.create(name="twice")["id"]
    work(env.agent)
    ctx = env.app.extensions["minicloud"].tokens.validate(env.alice.token)
    att_id = env.agent.attachments.create(ctx, vid, "srv")
    with env.db.session() as s:
        from volumes import states

        states.attachment_transition(s, att_id, {"reserved"}, "attaching",
                                     connector=CONNECTOR, host="node1")
        states.transition(s, vid, {"reserved"}, "attaching")
        env.agent.volumes.enqueue(s, s.get(Volume, vid), "export", {"attachment_id": att_id})
    work(env.agent)
    with env.db.session() as s:
        states.attachment_transition(s, att_id, {"attaching"}, "detaching")
        states.transition(s, vid, {"attaching"}, "detaching")
        for _ in range(2):
            env.agent.volumes.enqueue(s, s.get(Volume, vid), "unexport",
                                      {"attachment_id": att_id})
    work(env.agent)
    with env.db.session() as s:
        ends = list(s.scalars(select(VolumeTask.state).where(
            VolumeTask.volume_id == vid, VolumeTask.action == "unexport")))
    assert ends == ["done", "done"]
    assert _status(env, vid) == "available"


def test_volume_from_qcow2_image_for_real(make_volenv, tmp_path, qemu_img):
    raw, qcow = tmp_path / "src.raw", tmp_path / "src.qcow2"
    raw.write_bytes(RAW + b"\0" * (65536 - len(RAW)))
    qemu_img("convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow))
    backend = FileBackend(tmp_path / "vols")
    env = make_volenv(backend=backend, agent=False)
    env.images.add("q", qcow.read_bytes(), "qcow2", virtual_size=65536)
    vid = env.create(name="fromq", imageRef="q")["id"]
    work(env.agent)
    assert _status(env, vid) == "available"
    with open(backend.path(vid), "rb") as fh:
        assert fh.read(len(RAW)) == RAW
    assert not list(env.agent.work_dir.iterdir())  # the download is gone


def test_image_data_that_lies_about_its_format_is_refused(make_volenv, tmp_path, qemu_img):
    qcow = tmp_path / "liar.qcow2"
    qemu_img("create", "-f", "qcow2", str(qcow), "1M")
    env = make_volenv(backend=FileBackend(tmp_path / "vols"), agent=False)
    env.images.add("liar", qcow.read_bytes(), "raw")  # says raw, is qcow2
    env.images.add("tampered", RAW, "raw")
    env.images.data["tampered"] = RAW[:-1] + b"!"  # hash no longer matches
    liar = env.create(name="l", imageRef="liar")["id"]
    tampered = env.create(name="t", imageRef="tampered")["id"]
    work(env.agent)
    for vid, reason in ((liar, "is qcow2"), (tampered, "hash")):
        assert _status(env, vid) == "error"
        with env.db.session() as s:
            assert reason in s.get(Volume, vid).error
        assert not env.backend.exists(vid)


# -- volumes from the image store's own file (direct_url) ---------------------------------------
def _store_env(make_volenv, tmp_path, data: bytes, disk_format: str = "raw",
               direct_url: str | None = None, **overrides):
    """An env whose image ``img`` is in this cloud's store (``<state>/images/<id>``) and
    downloadable; returns (env, backend, image id, store file, list of downloads, argvs)."""
    backend = FileBackend(tmp_path / "vols")
    env = make_volenv(backend=backend, agent=False, **overrides)
    image_id = str(uuid.uuid4())
    store = StatePaths(env.conf.state_dir).image_store
    store.mkdir(exist_ok=True)
    (store / image_id).write_bytes(data)
    env.images.add(image_id, data, disk_format,
                   direct_url=direct_url or f"file://{store / image_id}")
    downloads: list[str] = []
    download = env.images.download
    env.images.download = lambda iid, *a: downloads.append(iid) or download(iid, *a)
    argvs: list[list[str]] = []
    process.recorder.append(argvs.append)
    return env, backend, image_id, store / image_id, downloads, argvs


@pytest.fixture
def store_env(make_volenv, tmp_path):
    made = []

    def make(*args, **kw):
        made.append(_store_env(make_volenv, tmp_path, *args, **kw))
        return made[-1]

    yield make
    for *_, argvs in made:
        process.recorder.remove(argvs.append)


def _converted_from(argvs: list[list[str]]) -> str:
    convert = next(a for a in argvs if a[:2] == ["qemu-img", "convert"])
    return convert[-2]


def test_volume_is_converted_straight_from_the_store_file(store_env, tmp_path, qemu_img):
    raw, qcow = tmp_path / "src.raw", tmp_path / "src.qcow2"
    raw.write_bytes(RAW + b"\0" * (65536 - len(RAW)))
    qemu_img("convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow))
    env, backend, image_id, local, downloads, argvs = store_env(qcow.read_bytes(), "qcow2")
    vid = env.create(name="direct", imageRef=image_id)["id"]
    work(env.agent)
    assert _status(env, vid) == "available"
    assert downloads == [] and _converted_from(argvs) == str(local.resolve())
    with open(backend.path(vid), "rb") as fh:
        assert fh.read(len(RAW)) == RAW
    assert backend.size(vid) == GIB
    assert not env.agent.work_dir.exists() or not list(env.agent.work_dir.iterdir())


def test_use_direct_url_off_downloads(store_env):
    env, backend, image_id, local, downloads, argvs = store_env(
        RAW, **{"volume.use_direct_url": False})
    vid = env.create(name="dl", imageRef=image_id)["id"]
    work(env.agent)
    assert _status(env, vid) == "available" and downloads == [image_id]
    assert _converted_from(argvs) != str(local.resolve())


@pytest.mark.parametrize("where", ["outside", "symlink", "staging", "other-image", "dotdot",
                                   "other-host", "wrong-size"])
def test_direct_url_not_naming_the_store_file_is_never_read(store_env, tmp_path, where):
    """Whatever the catalog says, the agent reads no file but ``<store>/<image id>``: a
    secret of the same size elsewhere is never converted; the image is downloaded."""
    secret = b"host secret!" * (len(RAW) // 12) + b"!" * (len(RAW) % 12)
    assert len(secret) == len(RAW)
    outside = tmp_path / "etc" / "shadow"
    outside.parent.mkdir()
    outside.write_bytes(secret)
    env, backend, image_id, local, downloads, argvs = store_env(RAW)
    store = local.parent
    url = {"outside": f"file://{outside}",
           "staging": f"file://{store / 'staging' / image_id}",
           "other-image": f"file://{store / str(uuid.uuid4())}",
           "dotdot": f"file://{store}/../../{outside.relative_to(tmp_path)}",
           "other-host": f"file://elsewhere{local}",
           "symlink": f"file://{local}", "wrong-size": f"file://{local}"}[where]
    if where == "symlink":  # the store's file of the image is a link out of the store
        local.unlink()
        local.symlink_to(outside)
    elif where == "wrong-size":
        local.write_bytes(secret + b"x")
    elif where in ("staging", "other-image"):
        target = Path(url.removeprefix("file://"))
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(secret)
    env.images.images[image_id]["direct_url"] = url
    vid = env.create(name="x", imageRef=image_id)["id"]
    work(env.agent)
    assert _status(env, vid) == "available" and downloads == [image_id]
    with open(backend.path(vid), "rb") as fh:
        assert fh.read(len(RAW)) == RAW
    assert str(env.agent.work_dir) in _converted_from(argvs)


def test_store_file_that_lies_about_its_format_puts_the_volume_in_error(store_env, tmp_path,
                                                                        qemu_img):
    qcow = tmp_path / "liar.qcow2"
    qemu_img("create", "-f", "qcow2", str(qcow), "1M")
    env, backend, image_id, local, downloads, argvs = store_env(qcow.read_bytes(), "raw")
    vid = env.create(name="liar", imageRef=image_id)["id"]
    work(env.agent)
    assert _status(env, vid) == "error"
    with env.db.session() as s:
        assert "is qcow2, but the image says raw" in s.get(Volume, vid).error
    assert not backend.exists(vid) and downloads == []
    assert not any(a[:2] == ["qemu-img", "convert"] for a in argvs)


def test_store_file_accepts_only_the_image_own_file(tmp_path):
    store = tmp_path / "state" / "images"
    store.mkdir(parents=True)
    image_id = str(uuid.uuid4())
    (store / image_id).write_bytes(RAW)
    linked = tmp_path / "linked-state"
    linked.symlink_to(tmp_path / "state")  # a store reached through a link is still the store
    image = {"id": image_id, "size": len(RAW)}
    for url, expected in [
            (f"file://{store / image_id}", store / image_id),
            (f"file://localhost{store / image_id}", store / image_id),
            (f"file://{linked / 'images' / image_id}", store / image_id),
            (None, None), ("", None), (f"http://x{store / image_id}", None),
            (f"file://{store}", None), (f"file://{store}/%2e%2e/images/{image_id}",
                                        store / image_id)]:
        assert store_file({**image, "direct_url": url}, store) == \
            (expected.resolve() if expected else None), url
    assert store_file({**image, "direct_url": f"file://{store / image_id}"},
                      tmp_path / "missing") is None
