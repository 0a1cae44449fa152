"""Glance's image cache on the image API: caching downloads, the cache API, the prefetcher.

On with ``[image] cache_enabled`` (Glance's ``flavor = keystone+cachemanagement``); the
files live in ``images.cache``. What this module adds:

* **Downloads** (:meth:`CacheService.serve`): an ``active`` image that is cached is served
  from the cache (a *hit*); otherwise from the store (a *miss*), and a whole-image download
  also caches what it streams (verified against the catalog before it becomes an entry).
  Responses are the same either way: headers come from the catalog, ranges are served from
  an entry as from the store.
* **The cache API** (Glance 2.14, admin only by Glance's rules ``cache_list``,
  ``cache_image``, ``cache_delete``): ``GET /v2/cache``, ``PUT`` / ``DELETE
  /v2/cache/{image_id}``, ``DELETE /v2/cache`` (``x-image-cache-clear-target``).
* **Eviction**: a deleted or deactivated image leaves the cache and the queue at once
  (:meth:`CacheService.forget`, called by the routes), and a download being cached for it
  does not become an entry (:meth:`CacheService.still_wanted` is asked before commit).
* **The prefetcher** (:class:`Prefetcher`): every ``cache_prefetcher_interval`` seconds it
  caches the queued images (from the store, verified as downloads are), removes stalled
  incomplete files and prunes. ``0`` turns it off. One per API node: each worker process
  has a prefetcher thread, but only the one holding ``<cache>/prefetcher.lock`` (a
  non-blocking ``flock``, kept for the process's life) runs rounds; the others try the lock
  once per interval, so when the holder dies (the kernel drops its lock) the next worker
  that tries takes over.
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from images import access, states
from images.cache import Expected, ImageCache
from images.data import DataInfo
from images.models import Image
from images.service import Dependencies
from images.store import DataIterator
from minicloud.errors import BadRequest
from minicloud.identity.tokens import AuthContext

LOG = logging.getLogger(__name__)

CLEAR_TARGET_HEADER = "x-image-cache-clear-target"
CLEAR_TARGETS = ("cache", "queue", "both")
#: The lock that makes one process of the node the prefetcher (module docstring).
LEADER_LOCK = "prefetcher.lock"


def expected_of(info: DataInfo) -> Expected | None:
    return Expected.of(info.image_id, info.size, info.os_hash_algo, info.os_hash_value,
                       info.checksum)


class CacheService:
    """Cache policy checks and the catalog lookups the cache needs (``images.cache`` knows
    no catalog)."""

    def __init__(self, deps: Dependencies, cache: ImageCache) -> None:
        self.deps, self.cache = deps, cache

    # -- downloads ---------------------------------------------------------------------
    def serve(self, info: DataInfo, offset: int, length: int | None,
              from_store: Callable[[], DataIterator]) -> DataIterator:
        """The bytes of a download (see the module docstring); never fails because of the
        cache: anything the cache cannot do falls back to the store."""
        expected = expected_of(info)
        if expected is None or info.status != states.ACTIVE:
            return from_store()
        try:
            cached = self.cache.open(expected, offset, length)
        except OSError:
            LOG.exception("image cache unreadable for %s", info.image_id)
            cached = None
        if cached is not None:
            return cached
        source = from_store()
        whole = offset == 0 and (length is None or length == info.size)
        writer = self.cache.writer(expected, self.still_wanted) if whole else None
        return self.cache.caching(source, writer)

    def still_wanted(self, image_id: str) -> bool:
        """Whether the image is still active (a cache entry of anything else is wrong)."""
        with self.deps.db.session() as s:
            status = s.scalar(select(Image.status).where(Image.id == image_id))
        return status == states.ACTIVE

    def forget(self, image_id: str) -> None:
        self.cache.forget(image_id)

    # -- the cache API -----------------------------------------------------------------
    def authorize(self, ctx: AuthContext, rule: str) -> None:
        """The rule alone, before any image is looked up (no existence leaks to non-admins)."""
        self.deps.policy.enforce(rule, ctx.credentials(),
                                 {"project_id": ctx.project_id, "owner": ctx.project_id})

    def list(self, ctx: AuthContext) -> dict[str, Any]:
        self.authorize(ctx, "cache_list")
        return {"cached_images": [e.to_json() for e in self.cache.entries()],
                "queued_images": self.cache.queued()}

    def queue(self, ctx: AuthContext, image_id: str) -> None:
        """Queue an active image for the prefetcher (nothing to do when already cached)."""
        self.authorize(ctx, "cache_image")
        with self.deps.db.session() as s:
            image = access.find_visible(s, ctx, image_id)
            image_id, status = image.id, image.status
        if status != states.ACTIVE:
            raise BadRequest(f"Only images with status active can be targeted for "
                             f"queueing; image {image_id} is {status}.")
        if not self.cache.is_cached(image_id):
            self.cache.enqueue(image_id)

    def delete(self, ctx: AuthContext, image_id: str) -> None:
        """Remove an image from the cache and the queue (204 even if it was in neither)."""
        self.authorize(ctx, "cache_delete")
        with self.deps.db.session() as s:
            image_id = access.find_visible(s, ctx, image_id).id
        self.cache.delete(image_id)
        self.cache.dequeue(image_id)

    def clear(self, ctx: AuthContext, target: str | None) -> dict[str, int]:
        """``DELETE /v2/cache``: ``target`` is the header's value (absent or empty: both)."""
        self.authorize(ctx, "cache_delete")
        target = (target or "both").strip().lower()
        if target not in CLEAR_TARGETS:
            raise BadRequest(f"If provided '{CLEAR_TARGET_HEADER}' must be 'cache', "
                             "'queue' or empty string.")
        out = {"cache_deleted": 0, "queue_deleted": 0}
        if target in ("cache", "both"):
            out["cache_deleted"] = self.cache.clear()
        if target in ("queue", "both"):
            out["queue_deleted"] = self.cache.clear_queue()
        return out

    # -- pre-caching -------------------------------------------------------------------
    def _info(self, image_id: str) -> DataInfo | None:
        with self.deps.db.session() as s:
            image = access.load(s, image_id)
            if image is None or image.status != states.ACTIVE:
                return None
            return DataInfo(image.id, image.size or 0, image.checksum, image.os_hash_algo,
                            image.os_hash_value, image.status)

    def prefetch(self) -> list[str]:
        """Cache every queued image once; returns the ids cached now. An image that is gone
        or not active leaves the queue; one that fails to cache stays queued (logged)."""
        done = []
        for image_id in self.cache.queued():
            info = self._info(image_id)
            expected = None if info is None else expected_of(info)
            if expected is None or expected.size > self.cache.max_size:
                self.cache.dequeue(image_id)
                continue
            if self.cache.is_cached(image_id):
                self.cache.dequeue(image_id)
                continue
            writer = self.cache.writer(expected, self.still_wanted)
            if writer is None:
                continue  # another download is caching it right now
            try:
                source = self.deps.store.get(image_id)
            except Exception:  # noqa: BLE001 - one image's store problem must not stop others
                writer.abort("the store failed")
                LOG.exception("prefetching image %s failed", image_id)
                continue
            for _chunk in self.cache.caching(source, writer):
                pass
            if writer.committed:
                self.cache.dequeue(image_id)
                done.append(image_id)
        return done

    def periodic(self) -> None:
        """One prefetcher round: stalled files out, queued images in, the limit kept."""
        self.cache.clean()
        self.prefetch()
        self.cache.prune()


class Prefetcher:
    """Runs :meth:`CacheService.periodic` every ``interval`` seconds in a daemon thread of
    the process that serves requests (:meth:`ensure_started` is called per request, so a
    process forked after the app was built starts its own), as long as this prefetcher
    holds the node's :data:`LEADER_LOCK`; without it, the thread only tries the lock once
    per interval (module docstring)."""

    def __init__(self, service: CacheService, interval: float) -> None:
        self.service, self.interval = service, float(interval)
        self._pid: int | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._leader_fd: int | None = None
        self.thread: threading.Thread | None = None

    @property
    def leading(self) -> bool:
        """Whether this prefetcher holds the node's lock (it is the one that runs rounds)."""
        return self._leader_fd is not None

    def ensure_started(self) -> None:
        if self.interval <= 0 or self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            if self._leader_fd is not None:
                # Inherited through a fork: the lock is the parent's, not this process's
                # (closing our copy of the descriptor leaves the parent's lock held).
                os.close(self._leader_fd)
                self._leader_fd = None
            self._pid = os.getpid()
            self._stop.clear()
            self.thread = threading.Thread(target=self._run, daemon=True,
                                           name="image-cache-prefetcher")
            self.thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Stop the thread, then give up the lock (another worker's prefetcher takes over
        when it next tries)."""
        self._stop.set()
        if self.thread is not None:
            self.thread.join(timeout)
        self._resign()

    def _lead(self) -> bool:
        """Hold the node's prefetcher lock if nobody does (never waits); kept until
        :meth:`stop` or the process's death."""
        if self._leader_fd is not None:
            return True
        fd = os.open(self.service.cache.root / LEADER_LOCK,
                     os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._leader_fd = fd
        LOG.info("image cache prefetcher runs in process %d", os.getpid())
        return True

    def _resign(self) -> None:
        with self._lock:
            if self._leader_fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._leader_fd)
                self._leader_fd = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if self._lead():
                    self.service.periodic()
            except Exception:  # noqa: BLE001 - a periodic task's last resort: log, go on
                LOG.exception("image cache prefetcher round failed")
