"""Cinder's ``os-services`` writes (admins): a volume host's services disabled or enabled,
and the host frozen or thawed.

Each volume agent's host runs two services as Cinder names them: ``cinder-volume``
(``host@backend``) and ``cinder-backup`` (``host``). A disabled ``cinder-volume`` takes no
new volumes (the scheduler skips it; with no other host a create ends ``error``); a
disabled ``cinder-backup`` takes no new backups (400). A frozen host (Cinder's freeze, for
replication) takes no new volumes and refuses to delete or extend the ones it has (400);
thaw undoes it. Nothing already on the host is touched.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from minicloud.db import Database
from minicloud.errors import BadRequest, NotFound
from volumes.models import VolumeHost

VOLUME, BACKUP = "cinder-volume", "cinder-backup"


@dataclass
class ServiceChange:
    host: str
    binary: str
    disabled: bool
    reason: str | None


def split(host: str, binary: str, hosts: dict[str, VolumeHost]) -> VolumeHost:
    """The host row a (host, binary) pair names (404 as Cinder when none)."""
    if binary not in (VOLUME, BACKUP):
        raise NotFound(f"Service {binary[:255]} could not be found.")
    name, _, backend = host.partition("@")
    row = hosts.get(name)
    wanted_backend = binary == VOLUME
    if row is None or bool(backend) != wanted_backend or (backend and backend != row.backend):
        raise NotFound(f"Host {host[:255]} could not be found.")
    return row


class HostStatus:
    def __init__(self, db: Database) -> None:
        self.db = db

    def set_disabled(self, host: str, binary: str, disabled: bool,
                     reason: str | None = None) -> ServiceChange:
        with self.db.session() as s:
            row = split(host, binary, {h.name: h for h in s.scalars(select(VolumeHost))})
            status = dict(row.disabled or {})
            if disabled:
                status[binary] = reason or ""
            else:
                status.pop(binary, None)
            row.disabled = status
        return ServiceChange(host, binary, disabled, reason)

    def set_frozen(self, host: str, frozen: bool) -> None:
        with self.db.session() as s:
            name, _, backend = host.partition("@")
            row = s.get(VolumeHost, name)
            if row is None or (backend and backend != row.backend):
                raise BadRequest(f"Invalid input received: Host {host[:255]} not found.")
            row.frozen = frozen


def check_not_frozen(row: VolumeHost | None, what: str) -> None:
    """400 when the volume's host is frozen (``what``: the refused operation)."""
    if row is not None and row.frozen:
        raise BadRequest(f"Invalid input received: the volume's host {row.name} is frozen: "
                         f"cannot {what}.")
