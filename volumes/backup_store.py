"""The backup target: a filesystem store of chunked, compressed, hashed volume images, as
Cinder's posix backup driver keeps them.

Layout under the store's root (``<state>/backups``; directories 0700, files 0600, whatever
the umask: nothing in it is readable by other local users)::

    <container>/backup-<id>/manifest.json      the chunk list (written last, atomically)
    <container>/backup-<id>/chunk-000042.z     chunk 42, zlib-compressed
    <container>/backup-<id>/chunk-000043.raw   chunk 43, stored as it is (did not compress)

A backup reads the volume in chunks of ``chunk_size`` bytes. A chunk that is all zeros
(a hole of the sparse volume file, found with ``SEEK_DATA`` without reading it, or read and
found zero) is stored as nothing. Every other chunk is hashed (SHA-256 of its raw bytes);
an incremental backup whose parent holds a chunk of the same hash at the same offset points
at the parent's object instead of writing it again, so it stores only what changed. The
manifest lists every chunk: offset, length, hash and the object holding it (relative to the
root, possibly a parent's), or none for zeros.

A restore decompresses every chunk and compares its hash before writing it; a mismatch (a
damaged or replaced object) stops the restore with :class:`BackupCorrupt`, and the caller
marks the target volume ``error``: it is never left looking good with wrong data.

Compression is zlib (level 1): the ``zstandard`` module is not installed in this cloud's
environment and the standard library has no zstd, and level 1 compresses several times
faster than the default level 6 for a few percent of size on disk images, which matters on a
two-core lab machine where the backup shares the CPU with guests. A chunk whose samples
(8 of 8 KiB, spread over it) do not compress to under 90% (random or already compressed data)
is stored raw: deflating it would cost most of the backup's time and save nothing (measured:
benchmarks/backup.py).

Names that reach the filesystem are checked (:data:`SAFE_NAME`), and every object path a
manifest names must resolve inside the root, so an imported backup record cannot make a
restore read other files of the host.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minicloud.errors import MinicloudError

MIB = 1 << 20
FORMAT_VERSION = 1
COMPRESSION = "zlib"
LEVEL = 1
MANIFEST = "manifest.json"
#: Container and backup directory names: no separators, no dot-dot, nothing hidden.
SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")
OBJECT = re.compile(r"^chunk-[0-9]{6,}\.(z|raw)$")
#: A chunk whose SAMPLES pieces of SAMPLE bytes (spread over it) do not compress below
#: RAW_RATIO is stored as it is (``.raw``): random or already-compressed data would cost the
#: CPU and save nothing.
SAMPLES, SAMPLE, RAW_RATIO = 8, 8 * 1024, 0.9


class BackupStoreError(MinicloudError):
    status, kind, title = 500, "backupStoreError", "Backup store error"


class BackupCorrupt(BackupStoreError):
    """A chunk read back does not have the hash the manifest recorded."""


def safe_name(name: str, what: str = "container") -> str:
    """``name`` if it may be a directory of the store, else :class:`BackupStoreError`."""
    if not SAFE_NAME.match(name) or name in (".", ".."):
        raise BackupStoreError(f"invalid {what} name {name[:60]!r}: letters, digits, "
                               f"'_', '.' and '-' only")
    return name


@dataclass(frozen=True)
class Chunk:
    offset: int
    length: int
    sha256: str
    object: str | None  # relative to the store's root; None: all zeros

    def to_json(self) -> dict:
        return {"offset": self.offset, "length": self.length, "sha256": self.sha256,
                "object": self.object}


@dataclass(frozen=True)
class Manifest:
    """What one backup holds: the volume's ``size`` bytes as ``chunks``."""

    location: str
    size: int
    chunk_size: int
    chunks: tuple[Chunk, ...]
    parent: str | None = None

    @property
    def stored(self) -> int:
        """How many objects this backup wrote itself (not its parent's, not zeros)."""
        return sum(1 for c in self.chunks
                   if c.object and c.object.startswith(self.location + "/"))


_ZERO_HASHES: dict[int, str] = {}


def zero_hash(length: int) -> str:
    if length not in _ZERO_HASHES:
        _ZERO_HASHES[length] = hashlib.sha256(bytes(length)).hexdigest()
    return _ZERO_HASHES[length]


def _hole(fd: int, offset: int, length: int) -> bool:
    """Whether ``[offset, offset+length)`` of the file holds no data (a sparse hole)."""
    try:
        return os.lseek(fd, offset, os.SEEK_DATA) >= offset + length
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # no data at or after offset
            return True
        return False  # SEEK_DATA unsupported here: read it


def _pack(index: int, data: bytes) -> tuple[str, bytes]:
    """The object name and bytes of chunk ``index``: zlib, unless a sample says it does not
    compress (then the raw bytes)."""
    step = max(len(data) // SAMPLES, 1)
    sample = b"".join(data[i:i + SAMPLE] for i in range(0, len(data), step))
    if len(zlib.compress(sample, LEVEL)) > RAW_RATIO * len(sample):
        return f"chunk-{index:06d}.raw", data
    return f"chunk-{index:06d}.z", zlib.compress(data, LEVEL)


def _zeros(fd: int, offset: int, length: int) -> bool:
    """Whether the range already reads as zeros (a hole, or written zeros): then a restore
    leaves it alone, and a sparse target stays sparse."""
    return _hole(fd, offset, length) or os.pread(fd, length, offset).count(0) == length


class BackupStore:
    """Backups as files under ``root``; see the module docstring."""

    def __init__(self, root: Path, chunk_size: int = 32 * MIB) -> None:
        self.root = root
        self.chunk_size = chunk_size

    # -- paths ----------------------------------------------------------------------------------
    def _dir(self, path: Path) -> Path:
        """Make ``path`` (under the root) and every directory above it, each 0700."""
        current = self.root
        for part in [None, *path.relative_to(self.root).parts]:
            current = current / part if part else current
            current.mkdir(mode=0o700, parents=part is None, exist_ok=True)
            current.chmod(0o700)
        return path

    def _resolve(self, relative: str) -> Path:
        """``relative`` under the root, refusing anything that would leave it."""
        parts = relative.split("/")
        if len(parts) < 2 or not all(SAFE_NAME.match(p) for p in parts):
            raise BackupStoreError(f"invalid object path {relative[:80]!r}")
        return self.root.joinpath(*parts)

    @staticmethod
    def location(container: str, backup_id: str) -> str:
        return f"{safe_name(container)}/{safe_name(f'backup-{backup_id}', 'backup')}"

    # -- writing --------------------------------------------------------------------------------
    def _write_object(self, path: Path, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb", closefd=False) as fh:
                fh.write(data)
        finally:
            os.close(fd)

    def backup(self, source: Path, location: str, parent: Manifest | None = None,
               progress: Callable[[int], None] | None = None) -> Manifest:
        """Store the file ``source`` at ``location`` (from :meth:`location`), only what
        differs from ``parent`` when given; ``progress(objects written so far)`` is called
        after each object (it may raise to abort: what was written is removed)."""
        target = self._dir(self._resolve(location))
        size = source.stat().st_size
        earlier = {c.offset: c for c in parent.chunks} if parent else {}
        chunks, written = [], 0
        try:
            with source.open("rb") as fh:
                fd = fh.fileno()
                for index, offset in enumerate(range(0, size, self.chunk_size)):
                    length = min(self.chunk_size, size - offset)
                    data = None if _hole(fd, offset, length) else os.pread(fd, length, offset)
                    if data is not None and len(data) != length:
                        raise BackupStoreError(f"short read at offset {offset}")
                    if data is None or data.count(0) == length:
                        chunks.append(Chunk(offset, length, zero_hash(length), None))
                        continue
                    digest = hashlib.sha256(data).hexdigest()
                    before = earlier.get(offset)
                    if before and before.sha256 == digest and before.length == length:
                        chunks.append(Chunk(offset, length, digest, before.object))
                        continue
                    name, packed = _pack(index, data)
                    self._write_object(target / name, packed)
                    chunks.append(Chunk(offset, length, digest, f"{location}/{name}"))
                    written += 1
                    if progress:
                        progress(written)
            manifest = Manifest(location, size, self.chunk_size, tuple(chunks),
                                parent.location if parent else None)
            self._write_manifest(target, manifest)
        except BaseException:
            self.delete(location)
            raise
        return manifest

    def _write_manifest(self, target: Path, manifest: Manifest) -> None:
        body = {"version": FORMAT_VERSION, "compression": COMPRESSION,
                "size": manifest.size, "chunk_size": manifest.chunk_size,
                "parent": manifest.parent, "chunks": [c.to_json() for c in manifest.chunks]}
        tmp = target / f".{MANIFEST}.part"
        self._write_object(tmp, json.dumps(body).encode())
        tmp.rename(target / MANIFEST)

    # -- reading --------------------------------------------------------------------------------
    def manifest(self, location: str) -> Manifest:
        """The manifest at ``location``; :class:`BackupStoreError` when it is missing or
        malformed."""
        path = self._resolve(location) / MANIFEST
        try:
            body: dict[str, Any] = json.loads(path.read_bytes())
            chunks = tuple(Chunk(int(c["offset"]), int(c["length"]), str(c["sha256"]),
                                 c["object"]) for c in body["chunks"])
            manifest = Manifest(location, int(body["size"]), int(body["chunk_size"]),
                                chunks, body.get("parent"))
        except FileNotFoundError:
            raise BackupStoreError(f"no backup at {location}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupStoreError(f"the manifest of {location} is malformed: {exc}") \
                from None
        if body.get("compression") != COMPRESSION:
            raise BackupStoreError(f"{location}: unknown compression "
                                   f"{str(body.get('compression'))[:20]!r}")
        for c in manifest.chunks:
            if c.object is not None:
                self._object_path(c.object)
        return manifest

    def _object_path(self, relative: str) -> Path:
        path = self._resolve(relative)
        if not OBJECT.match(path.name):
            raise BackupStoreError(f"invalid object name {path.name[:60]!r}")
        return path

    def exists(self, location: str) -> bool:
        try:
            return (self._resolve(location) / MANIFEST).is_file()
        except BackupStoreError:
            return False

    def _read_chunk(self, index: int, chunk: Chunk) -> bytes:
        try:
            path = self._object_path(chunk.object)
            packed = path.read_bytes()
            data = packed if path.suffix == ".raw" else \
                zlib.decompressobj().decompress(packed, chunk.length + 1)
        except (OSError, zlib.error) as exc:
            raise BackupCorrupt(f"chunk {index} (offset {chunk.offset}) cannot be read: "
                                f"{exc}") from None
        if len(data) != chunk.length or hashlib.sha256(data).hexdigest() != chunk.sha256:
            raise BackupCorrupt(f"chunk {index} (offset {chunk.offset}) does not match its "
                                f"sha256 {chunk.sha256[:16]}...: the backup is damaged")
        return data

    def restore(self, manifest: Manifest, target: Path, fresh: bool) -> None:
        """Write the backup into the file ``target`` (at least as large), verifying every
        chunk first; ``fresh``: the target reads as zeros already (a new sparse volume), so
        zero chunks are skipped; else they are written where the target is not zeros."""
        if target.stat().st_size < manifest.size:
            raise BackupStoreError(f"the target holds {target.stat().st_size} bytes, the "
                                   f"backup {manifest.size}")
        with target.open("r+b") as fh:
            fd = fh.fileno()
            for index, chunk in enumerate(manifest.chunks):
                if chunk.object is None:
                    if chunk.sha256 != zero_hash(chunk.length):
                        raise BackupCorrupt(f"chunk {index} has no object but is not zeros")
                    if not fresh and not _zeros(fd, chunk.offset, chunk.length):
                        os.pwrite(fd, bytes(chunk.length), chunk.offset)
                    continue
                os.pwrite(fd, self._read_chunk(index, chunk), chunk.offset)
            os.fsync(fd)

    # -- deleting -------------------------------------------------------------------------------
    def delete(self, location: str) -> None:
        """Remove the backup's own objects and manifest; already gone is fine."""
        path = self._resolve(location)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
