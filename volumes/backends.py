"""Volume backends: where a volume's bytes live (separate from how they are exported).

Contract (what the agent relies on; ``tests/test_volumes_drivers.py`` runs it against both):

* ``create(volume_id, size_gb)`` makes a volume of exactly ``size_gb`` GiB reading as zeros.
  The file backend allocates nothing up front: a sparse file ``volume-<uuid>``.
* ``create_from_image(volume_id, size_gb, source, disk_format)`` fills a new volume from a
  verified image file (converted to raw with ``qemu-img convert -f FORMAT -O raw``), then grows
  it to ``size_gb``. Refuses (:class:`BackendError`) an image whose virtual size does not fit.
  On failure nothing of the volume is left behind.
* ``extend(volume_id, size_gb)`` grows a volume; shrinking is refused.
* ``delete(volume_id)`` removes the volume's bytes (the file), so they are never handed to the
  next volume; a volume already gone is fine (interrupted deletes are simply run again).
* ``copy_to_image(volume_id, dest, disk_format)`` writes the volume's bytes to a new file
  ``dest`` as an image of ``disk_format`` (``qemu-img convert -f raw -O FORMAT``); on failure
  ``dest`` does not exist.
* ``path(volume_id)`` is what a target exports; ``list_volumes()`` the volume ids present.
* ``snapshot_path(snapshot_id)`` names a snapshot's bytes; ``list_snapshots()`` the snapshot
  ids present (what ``minicloud audit`` compares with the catalog).
* ``create_snapshot(snapshot_id, volume_id)`` keeps a copy of the volume's bytes as they are
  now; later writes to the volume never reach it. Made while a guest writes, the copy is
  crash-consistent (what a power cut would leave), no more. On failure nothing is left.
* ``delete_snapshot(snapshot_id)`` removes it; already gone is fine.
* ``revert_to_snapshot(volume_id, snapshot_id, size_gb)`` replaces the volume's bytes by the
  snapshot's, the volume keeping ``size_gb`` GiB (the tail beyond the snapshot reading as
  zeros). The file backend stages a complete copy and renames it over the volume's file, so
  a failure leaves the volume as it was.
* ``remove_partials()`` removes what a killed agent left staged (called at its start, when
  nothing of this host can be staging). Every file the file backend stages - a fill, a
  snapshot, a clone, a revert - is written as ``.<final name>.part`` (:data:`PARTIAL`) and
  renamed into place once complete, so that one pattern finds them all; a volume's own file
  (``volume-<uuid>``) never matches it.
* ``create_from_snapshot(volume_id, snapshot_id, size_gb)`` and ``clone(volume_id,
  source_volume_id, size_gb)`` make a new volume of ``size_gb`` GiB holding exactly the
  snapshot's (the source volume's) bytes, the tail beyond them reading as zeros; a size below
  the source's is refused. On failure nothing of the new volume is left.

The file backend copies with ``cp --reflink=auto --sparse=always`` (docs/volumes.md,
"Snapshots and clones"): on XFS or btrfs the copy shares every block with its source and is
instant; elsewhere (ext4) it is a sparse copy, costing the space and time of the data
written, never of the volume's size.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from minicloud import faults, process
from minicloud.config import Config
from minicloud.errors import CommandFailed, MinicloudError

GIB = 1024 ** 3
PREFIX = "volume-"
SNAPSHOT_PREFIX = "snapshot-"
#: The name of every staged file: ``.<the name it will have>.part`` (see ``remove_partials``).
PARTIAL = ".{}.part"
#: What a revert staged before it used :data:`PARTIAL` (removed at agent start too).
LEGACY_REVERT = ".revert-*"
#: Address-space limit of ``qemu-img convert``. Not the 1 GiB of ``qemu-img info``: convert
#: reserves about 72 MiB of address space per I/O worker thread (stack + malloc arena) and
#: measured 0.6-1.05 GiB with 8-14 threads, so 1 GiB aborted it now and then under I/O load
#: ("qemu_thread_create: Resource temporarily unavailable"). It only opens inspected images.
CONVERT_ADDRESS_SPACE = 4 * GIB
#: qemu-img's names of the image disk formats that differ from Glance's.
QEMU_IMG_FORMATS = {"vhd": "vpc"}


class BackendError(MinicloudError):
    status, kind, title = 500, "volumeBackendError", "Volume backend error"


class DataMissing(BackendError):
    """The volume's data is gone from its host (removed outside the cloud)."""


class Backend(Protocol):
    name: str

    def create(self, volume_id: str, size_gb: int) -> None: ...
    def create_from_image(self, volume_id: str, size_gb: int, source: Path,
                          disk_format: str) -> None: ...
    def extend(self, volume_id: str, size_gb: int) -> None: ...
    def delete(self, volume_id: str) -> None: ...
    def copy_to_image(self, volume_id: str, dest: Path, disk_format: str) -> None: ...
    def exists(self, volume_id: str) -> bool: ...
    def size(self, volume_id: str) -> int: ...
    def path(self, volume_id: str) -> str: ...
    def list_volumes(self) -> list[str]: ...
    def create_snapshot(self, snapshot_id: str, volume_id: str) -> None: ...
    def delete_snapshot(self, snapshot_id: str) -> None: ...
    def snapshot_exists(self, snapshot_id: str) -> bool: ...
    def snapshot_path(self, snapshot_id: str) -> str: ...
    def list_snapshots(self) -> list[str]: ...
    def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None: ...
    def clone(self, volume_id: str, source_volume_id: str, size_gb: int) -> None: ...
    def revert_to_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None: ...

    def remove_partials(self) -> list[str]: ...


class FileBackend:
    """A sparse raw file per volume under ``root`` (``<state>/volumes`` by default)."""

    name = "file"

    def __init__(self, root: Path, convert_cpu_seconds: int = 600) -> None:
        self.root = root.resolve()
        self.limits = process.Limits(cpu_seconds=convert_cpu_seconds,
                                     address_space=CONVERT_ADDRESS_SPACE)

    def _file(self, volume_id: str) -> Path:
        return self.root / f"{PREFIX}{volume_id}"

    def _partial(self, final: Path) -> Path:
        """Where ``final`` is staged until it is complete."""
        return final.with_name(PARTIAL.format(final.name))

    def path(self, volume_id: str) -> str:
        return str(self._file(volume_id))

    def _ensure_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)  # volume bytes are nobody's business but tgtd's (root)

    def create(self, volume_id: str, size_gb: int) -> None:
        self._ensure_root()
        path = self._file(volume_id)
        # O_EXCL: an existing file would be some other volume's bytes; never reuse it.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise BackendError(f"volume {volume_id} already exists") from None
        try:
            os.ftruncate(fd, size_gb * GIB)
        except OSError:
            path.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)

    def _virtual_size(self, source: Path, disk_format: str) -> int:
        argv = ["qemu-img", "info", "-f", disk_format, "--output=json", "--force-share",
                source.resolve()]
        try:
            info = json.loads(process.run(argv, timeout=60, limits=process.Limits()).stdout)
        except (CommandFailed, ValueError) as exc:
            raise BackendError(f"qemu-img cannot read the image as {disk_format}") from exc
        if info.get("backing-filename") or (info.get("format-specific") or {}).get(
                "data", {}).get("data-file"):
            raise BackendError("the image has a backing or data file; it is refused")
        return int(info["virtual-size"])

    def create_from_image(self, volume_id: str, size_gb: int, source: Path,
                          disk_format: str) -> None:
        self._ensure_root()
        vsize = self._virtual_size(source, disk_format)
        if vsize > size_gb * GIB:
            raise BackendError(f"Image virtual size is {-(-vsize // GIB)}GB and doesn't fit "
                               f"in a volume of size {size_gb}GB.")
        path = self._file(volume_id)
        tmp = self._partial(path)
        if path.exists():
            raise BackendError(f"volume {volume_id} already exists")
        try:
            # qemu-img's defaults are the fast ones (docs/performance.md, measured): the new
            # raw file starts sparse and zero clusters are skipped, so it stays sparse; `-t none`
            # (O_DIRECT) and `-T none` were 2-6x slower, `-W` and `-n` gained nothing.
            process.run(["qemu-img", "convert", "-q", "-f", disk_format, "-O", "raw",
                         source.resolve(), tmp], timeout=3600, limits=self.limits,
                        die_with_parent=True)
            faults.point("volume.create_from_image.converted")
            tmp.chmod(0o600)
            os.truncate(tmp, size_gb * GIB)  # grows sparsely: the tail reads as zeros
            tmp.rename(path)
        except CommandFailed as exc:
            raise BackendError(f"converting the image to raw failed: {exc.stderr[-200:]}") \
                from None
        finally:
            tmp.unlink(missing_ok=True)

    def copy_to_image(self, volume_id: str, dest: Path, disk_format: str) -> None:
        source = self._file(volume_id)
        if not source.is_file():
            raise BackendError(f"volume {volume_id} has no data on this host")
        try:
            process.run(["qemu-img", "convert", "-q", "-f", "raw", "-O",
                         QEMU_IMG_FORMATS.get(disk_format, disk_format), source, dest.resolve()],
                        timeout=3600, limits=self.limits, die_with_parent=True)
            dest.chmod(0o600)
        except CommandFailed as exc:
            dest.unlink(missing_ok=True)
            raise BackendError(f"converting the volume to {disk_format} failed: "
                               f"{exc.stderr[-200:]}") from None

    def extend(self, volume_id: str, size_gb: int) -> None:
        path = self._file(volume_id)
        if size_gb * GIB < path.stat().st_size:
            raise BackendError(f"volume {volume_id} cannot shrink")
        os.truncate(path, size_gb * GIB)

    def delete(self, volume_id: str) -> None:
        self._file(volume_id).unlink(missing_ok=True)
        self._partial(self._file(volume_id)).unlink(missing_ok=True)

    def remove_partials(self) -> list[str]:
        """Remove the staged files (:data:`PARTIAL`) of fills, snapshots, clones and reverts
        that never finished: called by the agent at start, when nothing of this host can be
        staging; returns their names."""
        if not self.root.is_dir():
            return []
        removed = []
        for pattern in (PARTIAL.format("*"), LEGACY_REVERT):
            for part in self.root.glob(pattern):
                part.unlink(missing_ok=True)
                removed.append(part.name)
        return sorted(removed)

    def exists(self, volume_id: str) -> bool:
        return self._file(volume_id).is_file()

    def size(self, volume_id: str) -> int:
        return self._file(volume_id).stat().st_size

    # -- snapshots and clones -------------------------------------------------------------------
    def _snapshot(self, snapshot_id: str) -> Path:
        return self.root / f"{SNAPSHOT_PREFIX}{snapshot_id}"

    def _copy(self, source: Path, dest: Path, size_gb: int | None = None,
              replace: bool = False) -> None:
        """``source`` copied to ``dest`` (reflinked where the filesystem can, else sparse),
        grown to ``size_gb`` GiB, flushed to disk, then renamed into place: ``dest`` exists
        only complete. An existing ``dest`` is refused unless ``replace``: then it keeps its
        old bytes until the rename gives it the new ones, all at once."""
        self._ensure_root()
        if dest.exists() and not replace:
            raise BackendError(f"{dest.name} already exists")
        if not source.is_file():
            raise BackendError(f"{source.name} does not exist on this host")
        if size_gb is not None and size_gb * GIB < source.stat().st_size:
            raise BackendError(f"a volume of {size_gb}GB cannot hold {source.name} "
                               f"({-(-source.stat().st_size // GIB)}GB)")
        tmp = self._partial(dest)
        tmp.unlink(missing_ok=True)
        try:
            process.run(["cp", "--reflink=auto", "--sparse=always", source, tmp],
                        timeout=3600, die_with_parent=True)
            tmp.chmod(0o600)
            with tmp.open("r+b") as fh:
                if size_gb is not None:
                    os.ftruncate(fh.fileno(), size_gb * GIB)
                os.fsync(fh.fileno())  # a snapshot that a crash could empty is no snapshot
            os.replace(tmp, dest)
        except CommandFailed as exc:
            raise BackendError(f"copying {source.name} failed: {exc.stderr[-200:]}") from None
        finally:
            tmp.unlink(missing_ok=True)

    def create_snapshot(self, snapshot_id: str, volume_id: str) -> None:
        self._copy(self._file(volume_id), self._snapshot(snapshot_id))

    def delete_snapshot(self, snapshot_id: str) -> None:
        self._snapshot(snapshot_id).unlink(missing_ok=True)
        self._partial(self._snapshot(snapshot_id)).unlink(missing_ok=True)

    def snapshot_exists(self, snapshot_id: str) -> bool:
        return self._snapshot(snapshot_id).is_file()

    def snapshot_path(self, snapshot_id: str) -> str:
        return str(self._snapshot(snapshot_id))

    def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None:
        self._copy(self._snapshot(snapshot_id), self._file(volume_id), size_gb)

    def clone(self, volume_id: str, source_volume_id: str, size_gb: int) -> None:
        self._copy(self._file(source_volume_id), self._file(volume_id), size_gb)

    def revert_to_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None:
        if not self._file(volume_id).is_file():
            raise BackendError(f"{PREFIX}{volume_id} does not exist on this host")
        # staged as the volume's .part (what a fill of it would stage: a volume being
        # created is never reverted), renamed over it: the old bytes or the new ones
        self._copy(self._snapshot(snapshot_id), self._file(volume_id), size_gb, replace=True)

    def _listed(self, prefix: str) -> list[str]:
        """The ids of the complete files named ``<prefix><id>`` (never a staged ``.part``)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name[len(prefix):] for p in self.root.iterdir()
                      if p.name.startswith(prefix) and p.is_file())

    def list_volumes(self) -> list[str]:
        return self._listed(PREFIX)

    def list_snapshots(self) -> list[str]:
        return self._listed(SNAPSHOT_PREFIX)


@dataclass
class FakeBackend:
    """Volumes in memory: sizes, and the raw bytes of images they were made from.

    ``fail_at`` names an operation (``create``, ``create_from_image``, ``extend``,
    ``delete``, ``create_snapshot``, ``delete_snapshot``, ``create_from_snapshot``,
    ``clone``, ``revert_to_snapshot``) to fail, for tests of the error paths. Snapshots
    keep the size and the head bytes of their volume as they were.
    """

    name = "fake"
    sizes: dict[str, int] = field(default_factory=dict)        # bytes
    contents: dict[str, bytes] = field(default_factory=dict)   # image bytes at offset 0
    fail_at: str | None = None
    snapshots: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # size, head

    def _maybe_fail(self, op: str) -> None:
        if op == self.fail_at:
            raise BackendError(f"injected failure at {op}")

    def path(self, volume_id: str) -> str:
        return f"/fake/{PREFIX}{volume_id}"

    def create(self, volume_id: str, size_gb: int) -> None:
        self._maybe_fail("create")
        if volume_id in self.sizes:
            raise BackendError(f"volume {volume_id} already exists")
        self.sizes[volume_id] = size_gb * GIB

    def create_from_image(self, volume_id: str, size_gb: int, source: Path,
                          disk_format: str) -> None:
        self._maybe_fail("create_from_image")
        vsize = source.stat().st_size if disk_format == "raw" else 0
        if vsize > size_gb * GIB:
            raise BackendError(f"Image virtual size is {-(-vsize // GIB)}GB and doesn't "
                               f"fit in a volume of size {size_gb}GB.")
        self.create(volume_id, size_gb)
        with source.open("rb") as fh:  # the head is enough for tests to recognise it
            self.contents[volume_id] = fh.read(1 << 20) if disk_format == "raw" else b""

    def copy_to_image(self, volume_id: str, dest: Path, disk_format: str) -> None:
        """The image is the volume's recorded head bytes, whatever the format (tests only
        check that those bytes arrive)."""
        self._maybe_fail("copy_to_image")
        if volume_id not in self.sizes:
            raise BackendError(f"volume {volume_id} has no data on this host")
        dest.write_bytes(self.contents.get(volume_id, b"") or b"\0" * 512)

    def extend(self, volume_id: str, size_gb: int) -> None:
        self._maybe_fail("extend")
        if size_gb * GIB < self.sizes[volume_id]:
            raise BackendError(f"volume {volume_id} cannot shrink")
        self.sizes[volume_id] = size_gb * GIB

    def delete(self, volume_id: str) -> None:
        self._maybe_fail("delete")
        self.sizes.pop(volume_id, None)
        self.contents.pop(volume_id, None)

    def remove_partials(self) -> list[str]:
        return []  # a fake fill is never partial

    def exists(self, volume_id: str) -> bool:
        return volume_id in self.sizes

    def size(self, volume_id: str) -> int:
        return self.sizes[volume_id]

    def create_snapshot(self, snapshot_id: str, volume_id: str) -> None:
        self._maybe_fail("create_snapshot")
        if volume_id not in self.sizes:
            raise BackendError(f"volume-{volume_id} does not exist on this host")
        if snapshot_id in self.snapshots:
            raise BackendError(f"snapshot-{snapshot_id} already exists")
        self.snapshots[snapshot_id] = (self.sizes[volume_id],
                                       self.contents.get(volume_id, b""))

    def delete_snapshot(self, snapshot_id: str) -> None:
        self._maybe_fail("delete_snapshot")
        self.snapshots.pop(snapshot_id, None)

    def snapshot_exists(self, snapshot_id: str) -> bool:
        return snapshot_id in self.snapshots

    def snapshot_path(self, snapshot_id: str) -> str:
        return f"/fake/{SNAPSHOT_PREFIX}{snapshot_id}"  # a name only: nothing is on disk

    def list_snapshots(self) -> list[str]:
        return sorted(self.snapshots)

    def _fill(self, volume_id: str, source: tuple[int, bytes] | None, name: str,
              size_gb: int) -> None:
        if source is None:
            raise BackendError(f"{name} does not exist on this host")
        if size_gb * GIB < source[0]:
            raise BackendError(f"a volume of {size_gb}GB cannot hold {name}")
        self.create(volume_id, size_gb)
        self.contents[volume_id] = source[1]

    def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None:
        self._maybe_fail("create_from_snapshot")
        self._fill(volume_id, self.snapshots.get(snapshot_id), f"snapshot-{snapshot_id}",
                   size_gb)

    def clone(self, volume_id: str, source_volume_id: str, size_gb: int) -> None:
        self._maybe_fail("clone")
        source = (self.sizes[source_volume_id], self.contents.get(source_volume_id, b"")) \
            if source_volume_id in self.sizes else None
        self._fill(volume_id, source, f"volume-{source_volume_id}", size_gb)

    def revert_to_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None:
        self._maybe_fail("revert_to_snapshot")
        if volume_id not in self.sizes:
            raise BackendError(f"volume-{volume_id} does not exist on this host")
        source = self.snapshots.get(snapshot_id)
        if source is None or size_gb * GIB < source[0]:
            raise BackendError(f"snapshot-{snapshot_id} cannot be put back into "
                               f"volume-{volume_id}")
        self.sizes[volume_id], self.contents[volume_id] = size_gb * GIB, source[1]

    def list_volumes(self) -> list[str]:
        return sorted(self.sizes)


def make_backend(conf: Config) -> Backend:
    """The backend ``[volume] driver`` names: ``file`` (default) or ``fake``."""
    if conf.volume.driver == "fake":
        return FakeBackend()
    if conf.volume.driver != "file":
        raise MinicloudError(f"[volume] driver = {conf.volume.driver!r}: 'file' or 'fake'")
    return FileBackend(conf.path(conf.volume.volumes_path), conf.volume.convert_cpu_seconds)
