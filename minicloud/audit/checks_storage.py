"""Checks of stored bytes: volume and snapshot files, iSCSI targets, image files and staged
uploads.

Host access goes through the volume backend (``list_volumes``/``list_snapshots``, ``path``/
``snapshot_path``, ``delete``/``delete_snapshot``), the target (``show``/``remove_export``;
this cloud's targets are those whose LUN file lies in the backend's directory,
:func:`volumes.targets.cloud_targets`) and the image stores.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path

from images.store import Store
from minicloud.audit import catalog
from minicloud.audit.checks_compute import is_uuid
from minicloud.audit.core import MISSING, ORPHAN, Finding, older_than
from minicloud.db import Database
from volumes import states as vol
from volumes.backends import PARTIAL, PREFIX, SNAPSHOT_PREFIX, Backend
from volumes.targets import FakeTarget, TgtTarget, cloud_targets

#: The volume statuses in which the volume agent may be staging the volume's file.
STAGING = frozenset({vol.CREATING, vol.REVERTING})


@dataclass(frozen=True)
class FileKind:
    """One kind of file the volume backend keeps per catalog row: ``<prefix><id>``, staged
    as ``.<prefix><id>.part`` (:data:`volumes.backends.PARTIAL`) until complete."""

    noun: str                   # "volume", "snapshot"
    prefix: str
    staging: frozenset[str]     # row statuses in which its ``.part`` may be being written
    has_file: frozenset[str]    # row statuses in which its file must exist
    staged: str                 # what a ``.part`` is, in a finding's detail
    #: The live rows of a host (records with ``status`` and the ``volume_id`` their tasks
    #: are queued under), and the backend's lister, namer and remover of these files.
    rows: Callable[[Database, str], Mapping[str, catalog.Disk | catalog.Snapshot]]
    listed: Callable[[Backend], Callable[[], list[str]]]
    path: Callable[[Backend], Callable[[str], str]]
    delete: Callable[[Backend], Callable[[str], None]]


VOLUME_FILE = FileKind("volume", PREFIX, STAGING, catalog.HAS_FILE, "unfinished fill",
                       catalog.volumes, attrgetter("list_volumes"), attrgetter("path"),
                       attrgetter("delete"))
#: A snapshot's file is staged only by its copy (``create_snapshot``, while ``creating``).
SNAPSHOT_FILE = FileKind("snapshot", SNAPSHOT_PREFIX, frozenset({vol.S_CREATING}),
                         catalog.SNAPSHOT_HAS_FILE, "unfinished copy", catalog.snapshots,
                         attrgetter("list_snapshots"), attrgetter("snapshot_path"),
                         attrgetter("delete_snapshot"))


def staged(backend: Backend, kind: FileKind) -> list[Path]:
    """The backend's staged files of ``kind``; none for a backend without a directory (the
    fake's are never partial)."""
    root = getattr(backend, "root", None)  # the file backend's directory
    return sorted(root.glob(PARTIAL.format(f"{kind.prefix}*"))) if root and root.is_dir() \
        else []


@dataclass
class BackendFiles:
    """The backend's files of one kind vs the live rows of this host: a file with no live
    row is an orphan (fix: the backend's removal), so is a ``.part`` whose row is not in a
    staging status; a row whose status says its file exists lacks it: missing, unless its
    volume has a task queued (in flux)."""

    db: Database
    host: str
    backend: Backend
    kind: FileKind

    @property
    def name(self) -> str:
        return f"{self.kind.noun}-file"

    def findings(self) -> list[Finding]:
        kind = self.kind
        present = set(kind.listed(self.backend)())
        parts = staged(self.backend, kind)
        rows, busy = kind.rows(self.db, self.host), catalog.busy(self.db, self.host)
        path, delete = kind.path(self.backend), kind.delete(self.backend)
        found = [Finding(self.name, ORPHAN, path(i), f"no live {kind.noun} of that id",
                         lambda i=i: delete(i))
                 for i in sorted(present - set(rows))]
        for part in parts:
            row = rows.get(part.name[len(kind.prefix) + 1:-len(".part")])
            if row is None or row.status not in kind.staging:
                found.append(Finding(self.name, ORPHAN, str(part), kind.staged,
                                     lambda p=part: p.unlink(missing_ok=True)))
        found += [Finding(self.name, MISSING, path(i), f"{kind.noun} is {row.status}")
                  for i, row in sorted(rows.items())
                  if row.status in kind.has_file and i not in present
                  and row.volume_id not in busy]
        return found


@dataclass
class VolumeFiles(BackendFiles):
    """Volume files (``volume-ID``) vs live volumes of this host. A volume's staged file
    (``.volume-ID.part``: a fill, a clone or a revert being written) is an orphan unless its
    volume is still being created or reverted."""

    kind: FileKind = VOLUME_FILE


@dataclass
class SnapshotFiles(BackendFiles):
    """Snapshot files (``snapshot-ID``) vs live snapshots of this host. A staged copy
    (``.snapshot-ID.part``) is an orphan unless its snapshot is still ``creating``; an
    ``available``, ``backing-up`` or ``restoring`` snapshot without its file is missing,
    unless its volume has a task queued (snapshot tasks run under their volume)."""

    kind: FileKind = SNAPSHOT_FILE


@dataclass
class Targets:
    """This cloud's iSCSI targets (and the CHAP accounts bound to them) vs exported volumes:
    a volume has an export while its ``auth_username`` is set."""

    db: Database
    host: str
    backend: Backend
    target: TgtTarget | FakeTarget
    name: str = "target"

    def findings(self) -> list[Finding]:
        root = str(Path(self.backend.path("x")).parent)
        present = cloud_targets(self.target, root)
        volumes, busy = catalog.volumes(self.db, self.host), catalog.busy(self.db, self.host)
        exported = {d.id for d in volumes.values() if d.exported}
        found = []
        for volume_id in sorted(set(present) - exported):
            state = present[volume_id]
            accounts = f"; CHAP account {', '.join(state.accounts)}" if state.accounts else ""
            found.append(Finding(
                self.name, ORPHAN, state.iqn, f"volume {volume_id} is not exported{accounts}",
                lambda v=volume_id, s=state: self._remove(v, s.accounts)))
        found += [Finding(self.name, MISSING, d.id, f"volume {d.id} is attached; no target")
                  for d in volumes.values()
                  if d.exported and d.attached and d.id not in present and d.id not in busy]
        return found

    def _remove(self, volume_id: str, accounts: list[str]) -> None:
        # remove_export deletes the target and every account bound to it
        self.target.remove_export(volume_id, accounts[0] if accounts else None)


#: The user names :meth:`volumes.connection.Chap.generate` makes (20 hex digits).
CHAP_USER = re.compile(r"^[0-9a-f]{20}$")


@dataclass
class ChapAccounts:
    """tgtd CHAP accounts bound to no target (a volume agent killed between creating an
    export's account and binding it). tgtd is shared by every cloud of the host and names
    no owner, so only accounts named as this cloud names them count, and only if still
    unbound a moment later (another cloud's export binds its new account within ms)."""

    target: TgtTarget | FakeTarget
    settle: float = 1.0
    name: str = "chap-account"

    def _loose(self) -> set[str]:
        bound = {u for state in self.target.show().values() for u in state.accounts}
        return {u for u in self.target.accounts() if CHAP_USER.match(u)} - bound

    def findings(self) -> list[Finding]:
        loose = self._loose()
        if loose:
            time.sleep(self.settle)
            loose &= self._loose()
        return [Finding(self.name, ORPHAN, user, "CHAP account bound to no target",
                        lambda u=user: self.target.delete_account(u))
                for user in sorted(loose)]


@dataclass
class ImageFiles:
    """Files of an image store (``images/`` or ``images/staging/``) vs images.

    The store (``images/``): a file whose image is deleted, killed or unknown is an orphan; an
    active or deactivated image without its file is missing. Staging: staged data of an image
    that is neither ``uploading`` nor ``importing`` is an orphan. In both, a write's
    temporary file (``.ID.*.tmp``) older than ``max_age`` is an orphan."""

    db: Database
    store: Store
    root: Path
    staging: bool
    max_age: float
    #: The other stores' directories (several stores, ``images.stores``): an image whose
    #: file is in one of them is not missing.
    others: tuple[Path, ...] = ()

    @property
    def name(self) -> str:
        return "staged-upload" if self.staging else "image-file"

    def findings(self) -> list[Finding]:
        entries = sorted(self.root.iterdir()) if self.root.is_dir() else []
        files = {p.name for p in entries if p.is_file() and is_uuid(p.name)}
        temps = [p for p in entries if p.name.startswith(".") and p.name.endswith(".tmp")
                 and older_than(p, self.max_age)]
        images = catalog.image_statuses(self.db)
        found = []
        for image_id in sorted(files):
            status = images.get(image_id)
            if self._orphan(status):
                found.append(Finding(self.name, ORPHAN, str(self.root / image_id),
                                     f"image {status or 'unknown'}",
                                     lambda i=image_id: self.store.delete(i)))
        found += [Finding(self.name, ORPHAN, str(p), "unfinished write",
                          lambda p=p: p.unlink(missing_ok=True)) for p in temps]
        if not self.staging:
            found += [Finding(self.name, MISSING, str(self.root / image_id),
                              f"image is {status}")
                      for image_id, status in sorted(images.items())
                      if status in ("active", "deactivated") and image_id not in files
                      and not any((o / image_id).is_file() for o in self.others)]
        return found

    def _orphan(self, status: str | None) -> bool:
        if status is None:
            return True
        if self.staging:
            return status not in ("uploading", "importing")
        return status in catalog.IMAGE_GONE
