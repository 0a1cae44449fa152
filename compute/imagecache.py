"""The per-host base image cache (``_base/``), as the seeds describe Nova's.

A base image is fetched once per host: streamed over the image API (or copied straight from
the image store when it is on this host and direct URLs are enabled), written to a temporary
file, hash-verified, inspected (format must match the catalog's ``disk_format``, the safety
check must pass: hardening.md 1.6), made read-only, then renamed into place. Every use
re-checks the cached file. The manager removes bases no instance uses after an age, and at
once when their image is deleted, under the same per-image lock the fetcher holds, so it never
removes a base being downloaded.

A base's last use is its access time, set at every fetch: its modification time stays the
moment it was verified and renamed into place, so a boot from a pre-cached base (Nova's image
pre-caching, :meth:`ImageCache.precache`) leaves the file exactly as it was (same inode, same
mtime, no byte copied).

Secrecy: a base may be another project's private image. ``_base/`` is 0711 (QEMU traverses
it to open the backing file; nobody lists it), each base is 0400 and its download 0600 from
the first byte; libvirt hands bases to its QEMU user when a guest using them starts (they stay
0400). ``.locks/`` is 0700.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from oslo_utils.imageutils import format_inspector

from compute.glance import ImageClient
from images.inspection import BOOT_FILE_FORMATS
from images.store import store_file
from images.stores import store_dir
from minicloud.errors import MinicloudError
from minicloud.paths import PRIVATE_DIR, TRAVERSABLE

CHUNK = 1 << 20
#: A verified base: read-only, for its owner (root, then libvirt's QEMU user) alone.
BASE_MODE = 0o400


class ImageCacheError(MinicloudError):
    status, kind, title = 500, "computeFault", "Image cache error"


def check_format(path: Path, disk_format: str) -> None:
    """Refuse a file whose detected format differs from ``disk_format`` or that is unsafe."""
    try:
        inspector = format_inspector.detect_file_format(str(path))
    except format_inspector.ImageFormatError as exc:
        raise ImageCacheError(f"base image {path.name} is not a valid image: {exc}") from None
    detected = str(inspector) if inspector else "raw"
    family = "raw" if detected == "gpt" else detected  # a raw disk with a partition table
    # Kernels, ramdisks and AMI roots are plain bytes.
    expected = "raw" if disk_format in ("aki", "ari", "ami") else disk_format
    if family != expected:
        raise ImageCacheError(f"base image {path.name} is {detected}, but the catalog says "
                              f"{disk_format}")
    if disk_format in BOOT_FILE_FORMATS:
        return  # loaded by QEMU as a kernel or initrd, never opened as a disk
    try:
        if inspector is not None:
            inspector.safety_check()
    except format_inspector.SafetyCheckFailed as exc:
        raise ImageCacheError(f"base image {path.name} failed the safety check: {exc}") \
            from None


class ImageCache:
    def __init__(self, base_dir: Path, images: Callable[[], ImageClient],
                 image_store: Path | None = None, local_store: str | None = None) -> None:
        """``image_store``: the image service's store on this host, read directly when an
        image's ``direct_url`` names its file there (None: always download);
        ``local_store``: the id of this host's own store (``[compute] image_store``), read
        first when the image lists it in ``stores``."""
        self.base_dir, self.images, self.image_store = base_dir, images, image_store
        self.local_store = local_store

    def path(self, image_id: str) -> Path:
        return self.base_dir / image_id

    @contextlib.contextmanager
    def lock(self, image_id: str, blocking: bool = True) -> Iterator[bool]:
        locks = self.base_dir / ".locks"
        locks.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        with open(locks / image_id, "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def fetch(self, image: dict) -> Path:
        """The verified cached base of ``image`` (downloaded now if missing)."""
        image_id, disk_format = image["id"], image.get("disk_format") or "raw"
        path = self.path(image_id)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.base_dir.chmod(TRAVERSABLE)  # QEMU (libvirt-qemu) opens bases through overlays
        with self.lock(image_id):
            if not path.exists():
                self._download(image, path)
            check_format(path, disk_format)
            # Last use, for the cache manager: the access time only (the mtime says when the
            # base was verified and stays).
            os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns))
        return path

    def precache(self, images: Callable[[], ImageClient], image_ids: list[str],
                 log: logging.Logger) -> list[str]:
        """Fetch each image into the cache ahead of its first boot (Nova's image
        pre-caching); returns the ids that could not be fetched (each logged)."""
        failed = []
        for image_id in image_ids:
            try:
                path = self.fetch(images().get(image_id))
            except (MinicloudError, OSError) as exc:
                log.error("could not pre-cache image %s: %s", image_id,
                          getattr(exc, "message", None) or exc)
                failed.append(image_id)
            else:
                log.info("pre-cached image %s in %s", image_id, path)
        return failed

    def _download(self, image: dict, path: Path) -> None:
        tmp = path.with_name(f".{path.name}.part")
        md5, sha = hashlib.md5(), hashlib.new(image.get("os_hash_algo") or "sha512")
        tmp.unlink(missing_ok=True)  # a leftover of a crash would keep its own mode
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                for chunk in self._source(image):
                    md5.update(chunk)
                    sha.update(chunk)
                    out.write(chunk)
            if image.get("os_hash_value") and sha.hexdigest() != image["os_hash_value"]:
                raise ImageCacheError(f"image {image['id']} failed hash verification")
            if image.get("checksum") and md5.hexdigest() != image["checksum"]:
                raise ImageCacheError(f"image {image['id']} failed checksum verification")
            check_format(tmp, image.get("disk_format") or "raw")
            tmp.chmod(BASE_MODE)
            tmp.rename(path)
        finally:
            tmp.unlink(missing_ok=True)

    def _source(self, image: dict) -> Iterator[bytes]:
        local = store_file(image, self.image_store) if self.image_store else None
        if self.image_store and self.local_store in (image.get("stores") or "").split(","):
            # This host's own store (an edge site's) holds a copy: read that one first.
            mine = store_dir(self.image_store, self.local_store) / image["id"]
            local = store_file({**image, "direct_url": f"file://{mine}"},
                               self.image_store) or local
        if local is not None:
            with local.open("rb") as src:
                while chunk := src.read(CHUNK):
                    yield chunk
            return
        yield from self.images().download(image["id"], CHUNK)

    def manage(self, in_use: set[str], max_age: float,
               deleted: Callable[[str], bool] = lambda _image_id: False) -> list[str]:
        """Remove bases no instance uses whose last use is older than ``max_age`` seconds, or
        whose image is gone (``deleted(image_id)``: asked only for unused bases)."""
        removed = []
        if not self.base_dir.exists():
            return removed
        now = time.time()
        for path in self.base_dir.iterdir():
            if path.name.startswith(".") or path.name in in_use:
                continue
            with self.lock(path.name, blocking=False) as locked:
                if not locked:
                    continue  # a fetch is in progress
                try:
                    st = path.stat()
                    last_use = max(st.st_atime, st.st_mtime)
                    if now - last_use < max_age and not deleted(path.name):
                        continue
                    path.unlink()
                except FileNotFoundError:
                    continue
                removed.append(path.name)
        return removed
