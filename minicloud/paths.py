"""Where everything lives inside the state directory, and who may read it.

Secrecy on the host (docs/architecture.md, "What stays private on the host"): every file the
cloud writes is readable by root only, except the disks QEMU opens, which libvirt hands to its
QEMU user (it chowns them when a guest starts). Directories on the way to those disks are
0711 (libvirt-qemu traverses them, nobody lists them); every other directory is 0700.
:meth:`StatePaths.secure` applies this to an existing tree at ``minicloud up``.
"""
from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: Directories the QEMU user must traverse (never list) to reach instance disks and bases.
TRAVERSABLE = 0o711
#: Everything else the cloud keeps is root's alone.
PRIVATE_DIR = 0o700


def tighten(path: Path, dir_mode: int = PRIVATE_DIR, file_mask: int = 0o700,
            depth: int = 0) -> None:
    """Give ``path`` (a directory: ``dir_mode``) and, ``depth`` levels down, its directories
    ``dir_mode`` and its files their owner's bits only (``mode & file_mask``). Symbolic links
    are left alone (never followed); a missing path is fine."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        return
    if stat.S_ISDIR(info.st_mode):
        if stat.S_IMODE(info.st_mode) != dir_mode:
            path.chmod(dir_mode)
        if depth > 0:
            for child in path.iterdir():
                tighten(child, dir_mode, file_mask, depth - 1)
    elif stat.S_IMODE(info.st_mode) & ~file_mask:
        os.chmod(path, stat.S_IMODE(info.st_mode) & file_mask, follow_symlinks=False)


def private_file(path: Path, mode: int = 0o600) -> None:
    """Create ``path`` empty with ``mode`` (never a moment readable by others) so that a tool
    that then writes it (qemu-img create/convert truncate and keep the mode) cannot widen it.
    An existing file is tightened to ``mode``."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
    except FileExistsError:
        os.chmod(path, mode)


@dataclass(frozen=True)
class StatePaths:
    root: Path

    def ensure(self) -> None:
        # 0711: libvirt's qemu user must traverse to instance disks (PLATFORM.md); logs and
        # pid files are nobody else's business.
        for path in (self.root, self.run, self.logs):
            path.mkdir(parents=True, exist_ok=True)
        self.root.chmod(TRAVERSABLE)
        self.run.chmod(PRIVATE_DIR)
        self.logs.chmod(PRIVATE_DIR)

    def secure(self, instances: Path, volumes: Path, extra: Iterable[Path] = ()) -> None:
        """Tighten an existing cloud's state (``minicloud up``): secrets and credentials
        0600, logs, keys, image store, staging and volumes root's only, instance and base
        directories 0711 with their files 0600 (bases 0400). The catalog's own files are
        tightened whenever it is opened (:func:`minicloud.db.private_sqlite`)."""
        self.ensure()
        for name in ("clouds.yaml", "openrc", "minicloud.conf"):
            tighten(self.root / name)
        for tree in (self.run, self.logs, self.keys, self.image_store, volumes, *extra):
            tighten(tree, PRIVATE_DIR, depth=8)
        # instances/<id>/<files> and instances/_base/<files>: QEMU reaches the disks.
        tighten(instances, TRAVERSABLE, depth=2)
        tighten(instances / "_base" / ".locks", PRIVATE_DIR, depth=1)

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.root / "log"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    def pidfile(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    @property
    def image_store(self) -> Path:
        """The image service's file store: one file per image, named by its id. The volume
        agent converts from it directly when ``direct_url`` names a file in it."""
        return self.root / "images"

    @property
    def clouds_yaml(self) -> Path:
        return self.root / "clouds.yaml"

    @property
    def openrc(self) -> Path:
        return self.root / "openrc"

    def cloud_id(self) -> str:
        """This cloud's id, made once: it marks the host-wide things the cloud owns (guests,
        iSCSI targets) so that clouds sharing a host never touch each other's."""
        path = self.root / "cloud-id"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_text(uuid.uuid4().hex[:12] + "\n")
            tmp.replace(path)
        return path.read_text().strip()
