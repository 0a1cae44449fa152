"""An upload or import whose API worker died (``kill -9``, an OOM kill) is re-queued by the
next worker that starts, without a master restart; one whose owner lives is left alone
(:mod:`images.owners`). A dead owner is a closed lock descriptor: the kernel drops a flock
with the process's last descriptor, however it dies."""
from __future__ import annotations

import os

from images import owners, states
from images.models import Image, ImageTask
from minicloud.db import new_uuid
from tests.images_fixtures import *  # noqa: F403
from tests.test_images_states import _image, _status


def _orphan(env, status: str) -> tuple[str, owners.Owner]:
    """An image in ``status`` whose owner holds its lock, with a store temp file."""
    image_id = _image(env.db, status)
    owner = owners.Owner(owners.store_root(env.conf), image_id)
    assert owner.acquire(wait=False)
    (env.store_dir / f".{image_id}.abc123.tmp").write_bytes(b"x" * 4096)
    return image_id, owner


def _die(owner: owners.Owner) -> None:
    os.close(owner.fd)  # what the kernel does at the process's death: no unlink


def test_a_saving_image_whose_owner_died_is_requeued_and_its_temp_file_removed(images_env):
    image_id, owner = _orphan(images_env, states.SAVING)
    _die(owner)
    images_env.app.extensions["on_worker_start"]()  # what a respawned worker runs
    assert _status(images_env.db, image_id) == states.QUEUED
    assert not any(image_id in f for f in images_env.stored_files())


def test_an_import_whose_owner_died_is_requeued_as_failed(images_env):
    image_id, owner = _orphan(images_env, states.IMPORTING)
    _die(owner)
    assert owners.reap(images_env.app.extensions["images"]) == [image_id]
    assert _status(images_env.db, image_id) == states.QUEUED
    image = images_env.admin.show(image_id)
    assert image["os_glance_failed_import"] == "file"


def _task(env, image_id: str, type_: str) -> str:
    """An unfinished task of ``type_`` for ``image_id``, as the dead import left it."""
    task_id = new_uuid()
    with env.db.session() as s:
        s.add(ImageTask(id=task_id, type=type_, status="processing", owner="p",
                        image_id=image_id, input={}, message=""))
    return task_id


def test_a_dead_imports_task_fails_and_a_legacy_tasks_image_goes(images_env):
    """The task of an import whose worker died fails at once (not at the next master
    start); the image of a legacy ``POST /v2/tasks`` import goes with its failed task, as
    when its flow fails; an interoperable import's image is re-queued."""
    env = images_env
    legacy, legacy_owner = _orphan(env, states.IMPORTING)
    interop, interop_owner = _orphan(env, states.IMPORTING)
    tasks = {legacy: _task(env, legacy, "import"),
             interop: _task(env, interop, "api_image_import")}
    _die(legacy_owner)
    _die(interop_owner)
    assert sorted(owners.reap(env.app.extensions["images"])) == sorted([legacy, interop])
    for task_id in tasks.values():
        task = env.admin.get(f"/v2/tasks/{task_id}").json
        assert task["status"] == "failure" and "died" in task["message"], task
    assert _status(env.db, legacy) == states.DELETED
    assert _status(env.db, interop) == states.QUEUED
    assert not any(legacy in f or interop in f for f in env.stored_files())


def test_a_legacy_tasks_image_stays_when_it_is_protected(images_env):
    env = images_env
    image_id, owner = _orphan(env, states.IMPORTING)
    with env.db.session() as s:
        s.get(Image, image_id).protected = True
    task_id = _task(env, image_id, "import")
    _die(owner)
    assert owners.reap(env.app.extensions["images"]) == [image_id]
    assert _status(env.db, image_id) == states.QUEUED  # logged, kept: never forced
    assert env.admin.get(f"/v2/tasks/{task_id}").json["status"] == "failure"


def test_a_live_legacy_import_keeps_its_task_and_image(images_env):
    env = images_env
    image_id, owner = _orphan(env, states.IMPORTING)
    task_id = _task(env, image_id, "import")
    try:
        assert owners.reap(env.app.extensions["images"]) == []
        assert _status(env.db, image_id) == states.IMPORTING
        assert env.admin.get(f"/v2/tasks/{task_id}").json["status"] == "processing"
    finally:
        owner.release()


def test_a_live_owner_keeps_its_upload(images_env):
    image_id, owner = _orphan(images_env, states.SAVING)
    try:
        assert owners.reap(images_env.app.extensions["images"]) == []
        assert _status(images_env.db, image_id) == states.SAVING
        assert f".{image_id}.abc123.tmp" in images_env.stored_files()
    finally:
        owner.release()


def test_an_upload_and_an_import_leave_no_owner_file(images_env):
    alice = images_env.alice
    image = alice.create(name="up", disk_format="raw", container_format="bare")
    assert alice.upload(image["id"], b"a" * 1000).status_code == 204
    staged = alice.create(name="imp", disk_format="raw", container_format="bare")
    assert alice.put(f"/v2/images/{staged['id']}/stage", data=b"b" * 1000, headers={
        "Content-Type": "application/octet-stream"}).status_code == 204
    resp = alice.post(f"/v2/images/{staged['id']}/import",
                      json={"method": {"name": "glance-direct"}})
    assert resp.status_code == 202, resp.json
    images_env.wait_imports()
    assert alice.show(staged["id"])["status"] == "active"
    assert alice.show(image["id"])["status"] == "active"
    assert not [f for f in images_env.stored_files() if f.startswith(".owners")]


def test_a_dead_owner_leaves_no_temp_file_in_any_store(make_images_env):
    """With several stores (``enabled_backends``) an upload or import may have been writing
    to any of them: the dead owner's temp files go from every store and the staging area,
    a live owner's stay; the owner files stay in one place (``images/.owners``)."""
    env = make_images_env(**{"image.enabled_backends": "central:file, edge1:file"})
    stores = env.app.extensions["images"].images.deps.store
    roots = [env.store_dir / "stores" / "central", env.store_dir / "stores" / "edge1"]
    assert stores.file_roots() == roots
    dirs = [*roots, env.store_dir / "staging"]
    dead, dead_owner = _orphan(env, states.IMPORTING)
    live, live_owner = _orphan(env, states.SAVING)
    for image_id in (dead, live):
        for where in dirs:
            (where / f".{image_id}.{where.name}.tmp").write_bytes(b"x" * 4096)
    _die(dead_owner)
    try:
        assert owners.reap(env.app.extensions["images"]) == [dead]
        assert not [p for p in env.store_dir.rglob(f".{dead}.*.tmp")]
        assert sorted(p.parent for p in env.store_dir.rglob(f".{live}.*.tmp")) == sorted(
            [*dirs, env.store_dir])
        assert _status(env.db, dead) == states.QUEUED
        assert _status(env.db, live) == states.SAVING
        assert [p.parent for p in env.store_dir.rglob("*")
                if p.parent.name == ".owners"] == [env.store_dir / ".owners"]
    finally:
        live_owner.release()
