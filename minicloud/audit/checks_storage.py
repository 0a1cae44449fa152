"""Checks of stored bytes: volume files, iSCSI targets, image files and staged uploads.

Host access goes through the volume backend (``list_volumes``/``exists``/``delete``), the
target (``show``/``remove_export``; this cloud's targets are those whose LUN file lies in
the backend's directory, :func:`volumes.targets.cloud_targets`) and the image stores.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from images.store import Store
from minicloud.audit import catalog
from minicloud.audit.checks_compute import is_uuid
from minicloud.audit.core import MISSING, ORPHAN, Finding, older_than
from minicloud.db import Database
from volumes import states as vol
from volumes.backends import PARTIAL, PREFIX, Backend
from volumes.targets import FakeTarget, TgtTarget, cloud_targets

#: The volume statuses in which the volume agent may be staging the volume's file.
STAGING = frozenset({vol.CREATING, vol.REVERTING})


@dataclass
class VolumeFiles:
    """Volume files vs live volumes of this host. A volume's staged file
    (``.volume-ID.part``: a fill, a clone or a revert being written) is an orphan unless its
    volume is still being created or reverted."""

    db: Database
    host: str
    backend: Backend
    name: str = "volume-file"

    def findings(self) -> list[Finding]:
        present = set(self.backend.list_volumes())
        root = getattr(self.backend, "root", None)  # the file backend's directory
        parts = (sorted(root.glob(PARTIAL.format(f"{PREFIX}*"))) if root and root.is_dir()
                 else [])
        volumes, busy = catalog.volumes(self.db, self.host), catalog.busy(self.db, self.host)
        found = [Finding(self.name, ORPHAN, self.backend.path(v), "no live volume of that id",
                         lambda v=v: self.backend.delete(v))
                 for v in sorted(present - set(volumes))]
        for part in parts:
            owner = volumes.get(part.name[len(PREFIX) + 1:-len(".part")])
            if owner is None or owner.status not in STAGING:
                found.append(Finding(self.name, ORPHAN, str(part), "unfinished fill",
                                     lambda p=part: p.unlink(missing_ok=True)))
        found += [Finding(self.name, MISSING, self.backend.path(d.id), f"volume is {d.status}")
                  for d in volumes.values()
                  if d.status in catalog.HAS_FILE and d.id not in present and d.id not in busy]
        return found


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
