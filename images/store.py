"""Where image bytes live: a small store interface, the filesystem store and an in-memory fake.

Contract of every store (``tests/test_images_store.py`` runs the same suite on both):

* ``add(image_id, chunks)`` consumes the iterable and stores its bytes under ``image_id``,
  replacing any previous data, and returns the number of bytes. It is atomic: if the iterable
  (or the store) raises, the exception propagates and nothing is stored under ``image_id``.
  So callers put every check (size cap, format inspection) *inside* the iterable.
* ``get(image_id, offset, length)`` returns a closable iterator over the bytes (chunked);
  :class:`~minicloud.errors.NotFound` when there is no data.
* ``delete(image_id)`` removes the data and tolerates "already gone".
* ``size(image_id)`` is the stored size or ``None``.
* ``path(image_id)`` is a local file path when the store has one (else ``None``): used for
  ``direct_url`` and by qemu-img in the conversion step.
* ``cleanup()`` removes leftovers of interrupted writes (called when the service starts).

:func:`store_file` is the other side of ``direct_url``: the compute and volume agents use it
to read an image's file straight from the store when they run on the store's host.
"""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import threading
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from minicloud import faults
from minicloud.errors import NotFound

_TMP_SUFFIX = ".tmp"


class DataIterator(Protocol):
    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...


class Store(Protocol):
    def add(self, image_id: str, chunks: Iterable[bytes]) -> int: ...

    def get(self, image_id: str, offset: int = 0, length: int | None = None
            ) -> DataIterator: ...

    def delete(self, image_id: str) -> None: ...

    def size(self, image_id: str) -> int | None: ...

    def path(self, image_id: str) -> Path | None: ...

    def cleanup(self) -> None: ...


def _checked(image_id: str) -> str:
    """Image ids name files: only canonical UUIDs are accepted (no path tricks)."""
    try:
        if str(uuid.UUID(image_id)) == image_id.lower():
            return image_id
    except (ValueError, AttributeError, TypeError):
        pass
    raise ValueError(f"not an image id: {image_id!r}")


class FileChunks:
    """Reads ``length`` bytes from an open file in chunks; closes the file when done."""

    def __init__(self, fh, length: int, chunk_size: int) -> None:
        self._fh, self._left, self._chunk = fh, length, chunk_size

    def __iter__(self) -> Iterator[bytes]:
        try:
            while self._left > 0:
                chunk = self._fh.read(min(self._chunk, self._left))
                if not chunk:
                    break
                self._left -= len(chunk)
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        self._fh.close()


class FilesystemStore:
    """Files named by image id in one directory; writes go to a temp file and are renamed."""

    def __init__(self, root: Path, chunk_size: int) -> None:
        self.root = Path(root)
        self.chunk_size = max(int(chunk_size), 4096)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _file(self, image_id: str) -> Path:
        return self.root / _checked(image_id)

    def add(self, image_id: str, chunks: Iterable[bytes]) -> int:
        final = self._file(image_id)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{image_id}.", suffix=_TMP_SUFFIX)
        size = 0
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
                    size += len(chunk)
                    if size == len(chunk):  # the first chunk is on its way to the disk
                        faults.point("image.store.writing")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return size

    def get(self, image_id: str, offset: int = 0, length: int | None = None) -> FileChunks:
        try:
            fh = open(self._file(image_id), "rb")  # closed by FileChunks
        except FileNotFoundError:
            raise NotFound(f"No data found for image {image_id}.") from None
        total = os.fstat(fh.fileno()).st_size
        fh.seek(offset)
        left = max(total - offset, 0) if length is None else min(length, total - offset)
        return FileChunks(fh, left, self.chunk_size)

    def delete(self, image_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._file(image_id).unlink()

    def size(self, image_id: str) -> int | None:
        try:
            return self._file(image_id).stat().st_size
        except FileNotFoundError:
            return None

    def path(self, image_id: str) -> Path | None:
        return self._file(image_id)

    def cleanup(self) -> None:
        for leftover in self.root.glob(f".*{_TMP_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


class _BytesChunks:
    def __init__(self, data: bytes, chunk_size: int) -> None:
        self._data, self._chunk = data, chunk_size

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self._data), self._chunk):
            yield self._data[start:start + self._chunk]

    def close(self) -> None:
        pass


class MemoryStore:
    """The in-tree fake: same contract, bytes in a dict (unit tests only)."""

    def __init__(self, chunk_size: int = 65536) -> None:
        self.chunk_size = chunk_size
        self.data: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def add(self, image_id: str, chunks: Iterable[bytes]) -> int:
        _checked(image_id)
        data = b"".join(chunks)
        with self._lock:
            self.data[image_id] = data
        return len(data)

    def get(self, image_id: str, offset: int = 0, length: int | None = None) -> _BytesChunks:
        with self._lock:
            if image_id not in self.data:
                raise NotFound(f"No data found for image {image_id}.")
            data = self.data[image_id]
        end = len(data) if length is None else offset + length
        return _BytesChunks(data[offset:end], self.chunk_size)

    def delete(self, image_id: str) -> None:
        with self._lock:
            self.data.pop(image_id, None)

    def size(self, image_id: str) -> int | None:
        with self._lock:
            data = self.data.get(image_id)
        return None if data is None else len(data)

    def path(self, image_id: str) -> Path | None:
        return None

    def cleanup(self) -> None:
        pass


def store_file(image: dict, store: Path) -> Path | None:
    """The image's own data file in this cloud's image ``store``, if ``direct_url`` names it.

    Accepted only when the URL, with every symlink resolved, is exactly ``<store>/<image id>``
    (``store`` resolved too): a regular file of the catalog's ``size`` that this process may
    read. Anything else is ``None`` (the caller downloads instead): no direct URL, another
    host's store, a path elsewhere on this host, the store's staging area, another image's
    file, or a link out of the store. So the catalog can never make the agent read some
    other file of the host. Not checked here: the format (see :func:`check_format`).
    """
    url = urlsplit(image.get("direct_url") or "")
    if url.scheme != "file" or url.netloc not in ("", "localhost") or not url.path:
        return None
    try:
        root = store.resolve(strict=True)
        path = Path(unquote(url.path)).resolve(strict=True)
        info = path.stat()
    except (OSError, RuntimeError):  # missing, unreadable, a symlink loop
        return None
    if (path.parent != root or path.name != image.get("id")
            or not stat.S_ISREG(info.st_mode) or info.st_size != image.get("size")
            or not os.access(path, os.R_OK)):
        return None
    return path
