"""The image API's local image cache (Glance's ``image_cache_dir``): files, queue, pruner.

Layout of ``[image] image_cache_dir`` (0700, created on start):

* ``<image id>``: a cached entry, the image's whole data, verified. Only
  :meth:`ImageCache.writer` creates entries, and only by renaming a complete incomplete file
  whose size and checksum (``os_hash_value``, else the md5 ``checksum``) matched the catalog.
* ``incomplete/<image id>``: the data while it is being cached (one writer per image: the
  file is claimed with ``O_EXCL``). A writer that fails, is abandoned by its client or reads
  bytes that do not verify removes it; one older than ``image_cache_stall_time`` seconds (a
  crashed process) is removed by :meth:`ImageCache.clean`.
* ``queue/<image id>``: empty files, images an admin asked to pre-cache
  (``PUT /v2/cache/{id}``); the prefetcher (``images.cache_service``) empties it.
* ``index.json``: per image ``hits``, ``misses`` and ``last_accessed`` (epoch seconds).

Why files and a small index and no catalog table (Glance's default cache driver keeps a
SQLite file in the cache directory for the same reason): the cache belongs to the API node,
not to the cloud; everything that matters (which entries exist, their size, when they were
cached) is the files themselves, and the index holds only counters that may be lost (a
missing or unreadable index starts again at zero). The index is rewritten under an
``flock`` so the threads and worker processes of one node never lose each other's updates.

Size limit: after every new entry the pruner removes the least recently used *other*
entries until the entries together are at most ``image_cache_max_size`` bytes; an image
larger than the limit is never cached. Files still being written are not counted (they are
bounded by the number of concurrent downloads).
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from images.store import DataIterator, FileChunks

LOG = logging.getLogger(__name__)

INDEX = "index.json"
_LOCK = ".lock"


def _is_image_id(name: str) -> bool:
    # Entry names are canonical lower-case UUIDs (what images.store accepts as well).
    parts = name.split("-")
    return (len(name) == 36 and [len(p) for p in parts] == [8, 4, 4, 4, 12]
            and all(c in "0123456789abcdef" for p in parts for c in p))


@dataclass(frozen=True)
class Expected:
    """What cached bytes must be: the catalog's size and digest of the image."""

    image_id: str
    size: int
    algo: str      # hashlib name: "sha512" (os_hash_algo) or "md5" (checksum)
    digest: str

    @classmethod
    def of(cls, image_id: str, size: int | None, os_hash_algo: str | None,
           os_hash_value: str | None, checksum: str | None) -> Expected | None:
        """None when the catalog gives nothing to verify against (never cached then)."""
        if size is None or not _is_image_id(image_id):
            return None
        if os_hash_algo and os_hash_value and os_hash_algo in hashlib.algorithms_available:
            return cls(image_id, size, os_hash_algo, os_hash_value.lower())
        if checksum:
            return cls(image_id, size, "md5", checksum.lower())
        return None


@dataclass(frozen=True)
class CachedEntry:
    """One row of ``GET /v2/cache``'s ``cached_images`` (plus minicloud's ``misses``)."""

    image_id: str
    size: int
    hits: int
    misses: int
    last_accessed: float
    last_modified: float

    def to_json(self) -> dict:
        return {"image_id": self.image_id, "size": self.size, "hits": self.hits,
                "misses": self.misses, "last_accessed": self.last_accessed,
                "last_modified": self.last_modified}


class ImageCache:
    """The cache directory of one API node. Thread- and process-safe; see the module doc."""

    def __init__(self, root: Path, max_size: int, stall_time: float,
                 chunk_size: int = 1 << 20, clock: Callable[[], float] = time.time) -> None:
        self.root = Path(root)
        self.max_size = int(max_size)
        self.stall_time = float(stall_time)
        self.chunk_size = max(int(chunk_size), 4096)
        self.clock = clock
        self.incomplete = self.root / "incomplete"
        self.queue_dir = self.root / "queue"
        for path in (self.root, self.incomplete, self.queue_dir):
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.chmod(0o700)

    # -- the index (counters only) ---------------------------------------------------
    @contextlib.contextmanager
    def _index(self, write: bool = True) -> Iterator[dict]:
        """The index under the node-wide lock; written back (atomically) when ``write``."""
        fd = os.open(self.root / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                data = json.loads((self.root / INDEX).read_text())
                if not isinstance(data, dict):
                    raise ValueError("not an object")
            except (OSError, ValueError):
                data = {}
            yield data
            if write:
                tmp = self.root / f".{INDEX}.tmp"
                with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                          "w") as fh:
                    fh.write(json.dumps(data))
                os.replace(tmp, self.root / INDEX)
        finally:
            os.close(fd)

    def _count(self, image_id: str, key: str) -> None:
        try:
            with self._index() as index:
                stats = index.setdefault(image_id, {})
                stats[key] = int(stats.get(key, 0)) + 1
                if key == "hits":
                    stats["last_accessed"] = self.clock()
        except OSError:
            LOG.warning("could not update the image cache index for %s", image_id)

    def _made(self, image_id: str) -> None:
        """A new entry: its hits start again and it counts as just used (else counters of
        an evicted earlier entry would make it the first one pruned)."""
        try:
            with self._index() as index:
                stats = index.setdefault(image_id, {})
                stats.update(hits=0, last_accessed=self.clock())
        except OSError:
            LOG.warning("could not update the image cache index for %s", image_id)

    # -- entries -----------------------------------------------------------------------
    def _entry(self, image_id: str) -> Path:
        if not _is_image_id(image_id):
            raise ValueError(f"not an image id: {image_id!r}")
        return self.root / image_id

    def is_cached(self, image_id: str) -> bool:
        return _is_image_id(image_id) and self._entry(image_id).is_file()

    def open(self, expected: Expected, offset: int = 0, length: int | None = None
             ) -> DataIterator | None:
        """The cached bytes ``[offset, offset+length)`` counted as a hit, or None (a miss,
        counted): not cached, or an entry whose size is not the catalog's (removed)."""
        try:
            fh = open(self._entry(expected.image_id), "rb")  # closed by FileChunks
        except (FileNotFoundError, ValueError):
            self._count(expected.image_id, "misses")
            return None
        size = os.fstat(fh.fileno()).st_size
        if size != expected.size:
            fh.close()
            LOG.warning("cached image %s has %d bytes, not %d: removed", expected.image_id,
                        size, expected.size)
            self.delete(expected.image_id)
            self._count(expected.image_id, "misses")
            return None
        self._count(expected.image_id, "hits")
        fh.seek(offset)
        left = max(size - offset, 0) if length is None else min(length, size - offset)
        return FileChunks(fh, left, self.chunk_size)

    def entries(self) -> list[CachedEntry]:
        """Every cached image, oldest first."""
        with self._index(write=False) as index:
            stats = dict(index)
        out = []
        for path in self.root.iterdir():
            if not _is_image_id(path.name):
                continue
            try:
                info = path.stat()
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            row = stats.get(path.name) or {}
            out.append(CachedEntry(path.name, info.st_size, int(row.get("hits", 0)),
                                   int(row.get("misses", 0)),
                                   float(row.get("last_accessed", info.st_mtime)),
                                   info.st_mtime))
        return sorted(out, key=lambda e: e.last_modified)

    def delete(self, image_id: str) -> None:
        """Drop the entry and any caching in progress (the writer then fails to commit);
        tolerates "already gone". The image stays queued if it was."""
        if not _is_image_id(image_id):
            return
        for path in (self.root / image_id, self.incomplete / image_id):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def forget(self, image_id: str) -> None:
        """The image is gone or deactivated: entry, caching in progress, queue, counters."""
        self.delete(image_id)
        self.dequeue(image_id)
        with contextlib.suppress(OSError), self._index() as index:
            index.pop(image_id, None)

    def clear(self) -> int:
        """Remove every entry; returns how many there were."""
        gone = 0
        for entry in self.entries():
            self.delete(entry.image_id)
            gone += 1
        return gone

    def prune(self, keep: str | None = None) -> list[str]:
        """Remove least recently used entries (never ``keep``) until the total is at most
        ``max_size``; returns the removed ids."""
        entries = self.entries()
        total = sum(e.size for e in entries)
        removed: list[str] = []
        for entry in sorted(entries, key=lambda e: e.last_accessed):
            if total <= self.max_size:
                break
            if entry.image_id == keep:
                continue
            self.delete(entry.image_id)
            total -= entry.size
            removed.append(entry.image_id)
        if removed:
            LOG.info("image cache pruned %d entries: %s", len(removed), ", ".join(removed))
        return removed

    def clean(self) -> list[str]:
        """Remove incomplete files older than ``image_cache_stall_time`` (their writer died)."""
        removed = []
        limit = self.clock() - self.stall_time
        for path in self.incomplete.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < limit:
                    path.unlink()
                    removed.append(path.name)
        return removed

    # -- the queue ---------------------------------------------------------------------
    def enqueue(self, image_id: str) -> None:
        (self.queue_dir / self._entry(image_id).name).touch(mode=0o600)

    def dequeue(self, image_id: str) -> None:
        if _is_image_id(image_id):
            with contextlib.suppress(FileNotFoundError):
                (self.queue_dir / image_id).unlink()

    def queued(self) -> list[str]:
        """Queued image ids, oldest first."""
        paths = [p for p in self.queue_dir.iterdir() if _is_image_id(p.name)]
        return [p.name for p in sorted(paths, key=_mtime)]

    def clear_queue(self) -> int:
        ids = self.queued()
        for image_id in ids:
            self.dequeue(image_id)
        return len(ids)

    # -- caching -----------------------------------------------------------------------
    def writer(self, expected: Expected,
               still_wanted: Callable[[str], bool] = lambda _id: True) -> EntryWriter | None:
        """A writer for a new entry, or None: already cached, being cached by another
        download, or larger than the cache. ``still_wanted(image_id)`` is asked just before
        the entry is made (the image may have been deleted or deactivated meanwhile)."""
        if expected.size > self.max_size or self.is_cached(expected.image_id):
            return None
        path = self.incomplete / expected.image_id
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return None
        except OSError:
            LOG.warning("cannot cache image %s in %s", expected.image_id, self.incomplete)
            return None
        return EntryWriter(self, expected, path, fd, still_wanted)

    def caching(self, source: DataIterator, writer: EntryWriter | None) -> DataIterator:
        """``source``, unchanged, while ``writer`` (if any) caches what passes through."""
        return source if writer is None else _Tee(source, writer)


class EntryWriter:
    """Bytes into ``incomplete/<id>``; :meth:`finish` verifies them and makes the entry."""

    def __init__(self, cache: ImageCache, expected: Expected, path: Path, fd: int,
                 still_wanted: Callable[[str], bool]) -> None:
        self.cache, self.expected, self.path = cache, expected, path
        self._fd: int | None = fd
        self._hash = hashlib.new(expected.algo)
        self._size = 0
        self._still_wanted = still_wanted
        self.committed = False

    def write(self, chunk: bytes) -> None:
        """Never raises: a cache that cannot write gives up, the download goes on."""
        if self._fd is None:
            return
        self._size += len(chunk)
        if self._size > self.expected.size:
            self.abort("more bytes than the catalog's size")
            return
        try:
            view = memoryview(chunk)
            while view:
                view = view[os.write(self._fd, view):]
        except OSError as exc:
            self.abort(f"write failed: {exc}")
            return
        self._hash.update(chunk)

    def finish(self) -> bool:
        """Verify and commit; True when the entry was made. Never raises."""
        if self._fd is None:
            return False
        exp = self.expected
        if self._size != exp.size:
            return self.abort(f"{self._size} bytes read, the catalog says {exp.size}")
        if self._hash.hexdigest() != exp.digest:
            return self.abort(f"{exp.algo} does not match the catalog")
        try:
            os.fsync(self._fd)
            ours = os.fstat(self._fd).st_ino == self.path.stat().st_ino
            if not ours or not self._still_wanted(exp.image_id):
                return self.abort("evicted while it was being cached")
            os.replace(self.path, self.cache.root / exp.image_id)
        except Exception as exc:  # noqa: BLE001 - caching must never fail a download
            return self.abort(f"commit failed: {exc}")
        os.close(self._fd)
        self._fd = None
        self.committed = True
        self.cache._made(exp.image_id)
        LOG.info("image %s cached (%d bytes)", exp.image_id, exp.size)
        self.cache.prune(keep=exp.image_id)
        return True

    def abort(self, why: str = "abandoned") -> bool:
        """Remove the incomplete file (if still ours); returns False. Idempotent."""
        if self._fd is None:
            return False
        with contextlib.suppress(OSError):
            if os.fstat(self._fd).st_ino == self.path.stat().st_ino:
                self.path.unlink()
        os.close(self._fd)
        self._fd = None
        LOG.info("image %s not cached: %s", self.expected.image_id, why)
        return False


class _Tee:
    """Yields the source's chunks while the writer caches them; commits at the end, aborts
    when closed early (the client went away) or when the source fails."""

    def __init__(self, source: DataIterator, writer: EntryWriter) -> None:
        self._source, self._writer = source, writer

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._source:
                self._writer.write(chunk)
                yield chunk
            self._writer.finish()
        finally:
            self.close()

    def close(self) -> None:
        self._writer.abort()
        self._source.close()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0
