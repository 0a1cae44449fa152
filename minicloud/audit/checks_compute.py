"""Checks of a compute host: guests, CHAP secrets, instance directories, base images.

Host access goes through the virt driver (``list_instances``/``destroy``: only this cloud's
guests), libvirt's :class:`~compute.virt.host.Host` (secrets) and
:class:`~compute.imagecache.ImageCache` (bases, removed under its per-image lock).
"""
from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from compute.driver import Driver
from compute.imagecache import ImageCache
from compute.virt.driver import secret_usage
from minicloud.audit import catalog
from minicloud.audit.core import MISSING, ORPHAN, Finding, older_than
from minicloud.db import Database

BASE_DIR = "_base"


def is_uuid(name: str) -> bool:
    try:
        return str(uuid.UUID(name)) == name.lower()
    except ValueError:
        return False


@dataclass
class Domains:
    """libvirt domains of this cloud (the driver lists only those) vs live servers here."""

    db: Database
    host: str
    driver: Driver
    instances_path: Path
    name: str = "domain"

    def findings(self) -> list[Finding]:
        present = set(self.driver.list_instances())
        servers, busy = catalog.servers(self.db, self.host), catalog.busy(self.db, self.host)
        found = [Finding(self.name, ORPHAN, guest_id, "a guest of this cloud; no live server",
                         lambda g=guest_id: self.driver.destroy(g, self.instances_path / g))
                 for guest_id in sorted(present - set(servers))]
        found += [Finding(self.name, MISSING, s.id, f"server is {s.vm_state}; no guest")
                  for s in servers.values()
                  if s.expects_guest and s.id not in present and s.id not in busy]
        return found


class Secrets(Protocol):
    def secrets(self) -> list[tuple[str, str]]: ...
    def remove_secret(self, uuid: str) -> None: ...


@dataclass
class ChapSecrets:
    """libvirt secrets named for this cloud (``secret_usage``) vs the attachments of live
    servers here (a secret's uuid is its attachment's id)."""

    db: Database
    host: str
    cloud_id: str
    libvirt: Secrets
    name: str = "secret"

    def findings(self) -> list[Finding]:
        prefix = secret_usage(self.cloud_id, "")
        present = {uuid_ for uuid_, usage in self.libvirt.secrets() if usage.startswith(prefix)}
        servers, busy = catalog.servers(self.db, self.host), catalog.busy(self.db, self.host)
        owned = {b["attachment_id"]: s for s in servers.values() for b in s.block_devices
                 if b.get("attachment_id")}
        found = [Finding(self.name, ORPHAN, secret_id, "CHAP secret of no live attachment",
                         lambda i=secret_id: self.libvirt.remove_secret(i))
                 for secret_id in sorted(present - set(owned))]
        for s in servers.values():
            for bdm in s.block_devices:
                secret_id = bdm.get("attachment_id")
                if (secret_id and bdm.get("status") == "attached" and s.expects_guest
                        and s.id not in busy and secret_id not in present):
                    found.append(Finding(self.name, MISSING, secret_id,
                                         f"volume {bdm.get('volume_id')} of server {s.id}"))
        return found


@dataclass
class InstanceDirs:
    """``instances/<uuid>/`` directories vs live servers here (``_base`` is the cache's)."""

    db: Database
    host: str
    instances_path: Path
    name: str = "instance-dir"

    def findings(self) -> list[Finding]:
        present = {p.name for p in self._dirs()}
        servers, busy = catalog.servers(self.db, self.host), catalog.busy(self.db, self.host)
        found = [Finding(self.name, ORPHAN, str(self.instances_path / name),
                         "no live server of that id",
                         lambda p=self.instances_path / name: shutil.rmtree(p,
                                                                            ignore_errors=True))
                 for name in sorted(present - set(servers))]
        found += [Finding(self.name, MISSING, str(self.instances_path / s.id),
                          f"server is {s.vm_state}")
                  for s in servers.values()
                  if s.expects_guest and s.id not in present and s.id not in busy]
        return found

    def _dirs(self) -> list[Path]:
        if not self.instances_path.is_dir():
            return []
        return [p for p in self.instances_path.iterdir()
                if p.is_dir() and not p.is_symlink() and is_uuid(p.name)]


@dataclass
class BaseImages:
    """Cached bases vs images: a base no live server here uses whose image is deleted,
    killed or unknown is an orphan, so is a download (``.ID.part``) older than
    ``max_age``; a base a live image-booted server here needs is missing when absent."""

    db: Database
    host: str
    cache: ImageCache
    max_age: float
    name: str = "base-image"

    def findings(self) -> list[Finding]:
        base_dir = self.cache.base_dir
        files = sorted(base_dir.iterdir()) if base_dir.is_dir() else []
        bases = {p.name for p in files if p.is_file() and not p.name.startswith(".")}
        partial = [p for p in files if p.name.startswith(".") and p.name.endswith(".part")
                   and older_than(p, self.max_age)]
        servers, busy = catalog.servers(self.db, self.host), catalog.busy(self.db, self.host)
        images = catalog.image_statuses(self.db)
        in_use = {i for s in servers.values() for i in s.images()}
        found = []
        for image_id in sorted(bases - in_use):
            status = images.get(image_id)
            if status is None or status in catalog.IMAGE_GONE:
                found.append(Finding(self.name, ORPHAN, str(base_dir / image_id),
                                     f"image {status or 'unknown'}; no server uses it",
                                     lambda i=image_id, u=in_use: self._remove(i, u)))
        found += [Finding(self.name, ORPHAN, str(p), "unfinished download",
                          lambda p=p: p.unlink(missing_ok=True)) for p in partial]
        for s in servers.values():
            if s.expects_guest and s.id not in busy:
                found += [Finding(self.name, MISSING, str(base_dir / image_id),
                                  f"base of server {s.id}")
                          for image_id in sorted(s.images() - bases)]
        return found

    def _remove(self, image_id: str, in_use: set[str]) -> None:
        # The cache's own manager, asked to drop this one base: it skips a base being
        # fetched (its lock is held) and one a server uses.
        self.cache.manage(in_use, float("inf"), lambda other: other == image_id)
