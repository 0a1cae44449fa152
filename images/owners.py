"""Who owns an image's unfinished upload or import, and what happens when the owner dies.

A plain upload (``saving``) and an import (``importing``) live in one API worker process. When
that worker is killed (an OOM kill, ``kill -9``), gunicorn's master starts a new one at once,
but the master's own start-up recovery (:meth:`images.service.ImageService.recover`) does not
run again: the image would stay ``saving`` with its temporary file in the store.

So the owner holds an exclusive ``flock`` on ``<store>/.owners/<image id>`` from before the
image leaves ``queued`` until it reaches its next state; the kernel drops the lock when the
process dies, however it dies. :func:`reap` (run by every new API worker as it starts, see
:func:`images.api.create_app`) takes the lock of each ``saving``/``importing`` image without
waiting: if it gets it, nobody owns the work any more, so the image goes back to ``queued``
(an import recorded as failed) and that image's temporary files (``.<id>.*.tmp``) are
removed from every file store (``[image] enabled_backends``,
:meth:`images.stores.StoreSet.file_roots`), the staging area and the image directory. An
image whose owner lives is never touched: its lock is held. The owner files themselves stay
in one place, ``<state>/images/.owners``, whatever the stores are.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from images import states
from images.models import Image
from minicloud.errors import Conflict
from minicloud.paths import StatePaths

if TYPE_CHECKING:
    from images.api import ImageAPI

LOG = logging.getLogger(__name__)
OWNED = (states.SAVING, states.IMPORTING)


class Owner:
    """An exclusive lock on one image's owner file (see the module docstring)."""

    def __init__(self, root: Path, image_id: str) -> None:
        # an id from a URL names a file only as its hash (no path tricks)
        self.path = Path(root) / ".owners" / hashlib.sha256(image_id.encode()).hexdigest()
        self.fd: int | None = None
        #: Set when the lock was handed to a thread that releases it (an import).
        self.handed = False

    def acquire(self, wait: bool = True) -> bool:
        """Lock the owner file (created if missing); False when ``wait`` is off and another
        process holds it. The file may be removed by its holder between our open and our
        lock: then we hold a lock nobody else can see, so we open again."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                return False
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return True
            os.close(fd)

    def release(self) -> None:
        """Remove the owner file and drop the lock (in that order: a waiter then retries)."""
        if self.fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self.fd)
        self.fd = None


@contextlib.contextmanager
def owning(root: Path, image_id: str) -> Iterator[Owner]:
    """Hold the owner lock of ``image_id`` for the block."""
    owner = Owner(root, image_id)
    owner.acquire()
    try:
        yield owner
    finally:
        owner.release()


def reap(api: ImageAPI) -> list[str]:
    """Re-queue the ``saving``/``importing`` images whose owner is gone (``api``: the
    :class:`images.api.ImageAPI`); returns their ids. Safe beside live owners. An import's
    task fails; a legacy ``POST /v2/tasks`` import's image is then removed, as when its
    flow fails (:meth:`images.tasks.TaskService.abandon`)."""
    service = api.images
    deps = service.deps
    root = store_root(deps.conf)
    temp_dirs = _temp_dirs(deps, root)
    with deps.db.session() as s:
        rows = s.execute(select(Image.id, Image.status)
                         .where(Image.status.in_(OWNED))).all()
    reaped = []
    for image_id, status in rows:
        owner = Owner(root, image_id)
        if not owner.acquire(wait=False):
            continue  # its owner is alive
        try:
            LOG.warning("image %s was left %s by a process that died", image_id, status)
            try:
                service._requeue(image_id, status, failed_import=status == states.IMPORTING)
            except Conflict:
                continue  # it moved on meanwhile
            for temp_dir in temp_dirs:
                for tmp in temp_dir.glob(f".{image_id}.*.tmp"):
                    tmp.unlink(missing_ok=True)
            if status == states.IMPORTING:
                _settle_tasks(api, image_id)
            reaped.append(image_id)
        finally:
            owner.release()
    return reaped


def _settle_tasks(api: ImageAPI, image_id: str) -> None:
    """The dead import's task fails (a legacy one's image goes with it); an error is logged,
    never raised: the next image still gets its turn, and the worker serves anyway."""
    try:
        api.images.discard_failed(api.imports.tasks.abandon(
            image_id, "The image service worker running the import died."))
    except Exception:  # noqa: BLE001 - see the docstring
        LOG.exception("the task of image %s was not settled", image_id)


def _temp_dirs(deps, image_dir: Path) -> list[Path]:
    """Where an upload or import may have left temporary files: every file store, the
    staging area (a web-download or a conversion writes there) and the image directory
    (the ``file`` store's, written before ``enabled_backends`` named other stores)."""
    dirs = [*deps.store.file_roots(), image_dir]
    staging = getattr(deps.staging, "root", None)
    if staging is not None:
        dirs.append(Path(staging))
    return list(dict.fromkeys(dirs))


def store_root(conf) -> Path:
    """Where owner files live (one place whatever the stores): the image directory, which
    is also the legacy ``file`` store's."""
    return StatePaths(conf.state_dir).image_store
