"""Volume backups (Cinder's backup API): create full or incremental, list, show, update,
delete, restore into a new or an existing volume, export and import the record, and the
admins' reset-status and force-delete.

The API side records and counts; the volume agent on the volume's host does the work as
durable tasks (:class:`volumes.backup_agent.BackupWorker`), so a backup or restore survives
an API restart and its progress (``object_count``) grows while it runs.

* ``create``: the volume must be ``available``, or ``in-use`` with ``force``; it goes
  ``backing-up`` (compare-and-swap) and comes back to what it was when the agent is done.
  With ``snapshot_id`` (a snapshot of that volume, ``available``) the snapshot's data is
  read instead: the snapshot goes ``backing-up`` and back, the volume is not touched, and
  the backup's ``data_timestamp`` is the snapshot's creation time, as Cinder's.
  ``incremental`` takes the volume's latest available backup as parent (400 when there is
  none). The project's ``backups`` and ``backup_gigabytes`` quotas are counted in the same
  transaction (413 when full).
* ``restore``: the backup goes ``restoring``; the target is a new volume (quota counted, named
  ``restore_backup_<id>`` unless named) or an existing ``available`` volume of the caller's at
  least as large, which goes ``restoring-backup``. The volume gets the backed-up volume's
  metadata and bootable flag back.
* ``delete``: from ``available``/``error`` (an admin's force adds ``creating``,
  ``restoring``, ``error_deleting``), refused while a newer incremental backup depends on it;
  the agent removes the objects unless another backup record (an imported copy) shares them.
* ``export_record``/``import_record`` (admins): the record is base64 of the backup's JSON, as
  Cinder's; an import names a backup id that is not in use and a location the store holds.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from minicloud.db import Database, new_uuid, utcnow
from minicloud.errors import BadRequest
from minicloud.identity.tokens import AuthContext
from volumes import lookup, query, quotas, snapshots, states
from volumes.backup_store import BackupStore, BackupStoreError, safe_name
from volumes.host_status import BACKUP as BACKUP_BINARY
from volumes.models import Volume, VolumeBackup, VolumeHost, VolumeSnapshot
from volumes.service import NO_HOST, VolumeRequest, VolumeService

DEFAULT_CONTAINER = "volumebackups"  # Cinder's default backup container name
BACKUP_SERVICE = "cinder.backup.drivers.posix.PosixBackupDriver"
#: Record fields an import takes (besides id), as export writes them.
RECORD_FIELDS = ("name", "description", "volume_id", "size", "container", "location",
                 "parent_id", "is_incremental", "object_count", "availability_zone",
                 "metadata", "volume_meta", "data_timestamp")

#: The backup lookup (:class:`volumes.lookup.Owned`): a deleted backup keeps its row, marked
#: by ``deleted_at``.
BACKUPS = lookup.Owned(VolumeBackup, "Backup")
#: The columns a backup list sorts on (the API checks the keys); its filters are among them.
SORT_COLUMNS = {key: getattr(VolumeBackup, key) for key in (
    "id", "name", "status", "size", "created_at", "updated_at", "volume_id", "project_id",
    "container", "availability_zone", "data_timestamp", "object_count", "description")}


@dataclass
class BackupRequest:
    volume_id: str
    name: str | None = None
    description: str | None = None
    container: str | None = None
    incremental: bool = False
    force: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    availability_zone: str | None = None
    snapshot_id: str | None = None  # back up this snapshot of the volume instead


def invalid_backup(message: str) -> BadRequest:
    return BadRequest(f"Invalid backup: {message}")


class BackupService:
    def __init__(self, volumes: VolumeService, store: BackupStore) -> None:
        self.volumes, self.store = volumes, store
        self.db: Database = volumes.db

    # -- reading ----------------------------------------------------------------------------------
    @staticmethod
    def visible(s: Session, ctx: AuthContext, backup_id: str) -> VolumeBackup:
        """The backup if the caller may see it, else 404 (other projects' too)."""
        return BACKUPS.visible(s, ctx, backup_id)

    def get(self, ctx: AuthContext, backup_id: str) -> VolumeBackup:
        with self.db.session() as s:
            return self.visible(s, ctx, backup_id)

    def list(self, ctx: AuthContext, all_projects: bool, conditions: list[ColumnElement],
             sort: list[tuple[str, str]]) -> list[VolumeBackup]:
        """Backups the caller lists, matching ``conditions`` (the API's filters) and in
        ``sort`` order (keys of :data:`SORT_COLUMNS`, checked by the API)."""
        with self.db.session() as s:
            stmt = BACKUPS.listing(ctx, all_projects, conditions)
            return list(s.scalars(query.ordered(stmt, sort, SORT_COLUMNS)))

    def dependents(self, backup_ids: list[str]) -> set[str]:
        """Which of ``backup_ids`` a live backup names as its parent."""
        with self.db.session() as s:
            return self._dependents(s, backup_ids)

    @staticmethod
    def _dependents(s: Session, backup_ids: list[str]) -> set[str]:
        return set(s.scalars(select(VolumeBackup.parent_id).where(
            VolumeBackup.parent_id.in_(backup_ids), VolumeBackup.deleted_at.is_(None))))

    def usage(self, project_id: str) -> tuple[int, int]:
        with self.db.session() as s:
            return quotas.backup_usage(s, project_id)

    # -- create -----------------------------------------------------------------------------------
    def _parent(self, s: Session, volume_id: str) -> VolumeBackup:
        parent = s.scalar(select(VolumeBackup).where(
            VolumeBackup.volume_id == volume_id, VolumeBackup.status == states.B_AVAILABLE,
            VolumeBackup.deleted_at.is_(None))
            .order_by(VolumeBackup.data_timestamp.desc(), VolumeBackup.created_at.desc()))
        if parent is None:
            raise invalid_backup("No backups available to do an incremental backup.")
        return parent

    def create(self, ctx: AuthContext, req: BackupRequest) -> VolumeBackup:
        """Record the backup (``creating``), move the volume to ``backing-up`` and queue the
        agent's task, in one transaction (see the module docstring)."""
        container = req.container or DEFAULT_CONTAINER
        try:
            safe_name(container)
        except BackupStoreError as exc:
            raise BadRequest(f"Invalid input received: {exc.message}") from None
        zone = self.volumes.settings.zone
        if req.availability_zone not in (None, zone):
            raise BadRequest(f"Invalid input received: Availability zone "
                             f"'{req.availability_zone}' is invalid.")
        with self.db.session() as s:
            vol = self.volumes.visible(s, ctx, req.volume_id)
            snap = snapshot_source(s, ctx, vol, req.snapshot_id) if req.snapshot_id else None
            if snap is None:
                check_volume_source(vol, req.force)
            if vol.host is None:
                raise BadRequest(f"Invalid volume: {NO_HOST}")
            host = s.get(VolumeHost, vol.host)
            if host is not None and host.reason(BACKUP_BINARY) is not None:
                raise BadRequest(f"Invalid volume: the backup service of host {vol.host} is "
                                 "disabled.")
            parent = self._parent(s, vol.id) if req.incremental else None
            quotas.reserve_backup(s, ctx.project_id, self.volumes.settings.quota, vol.size)
            backup_id = new_uuid()
            backup = VolumeBackup(
                id=backup_id, name=req.name, description=req.description,
                project_id=ctx.project_id, user_id=ctx.user_id, volume_id=vol.id,
                size=snap.size if snap else vol.size, status=states.B_CREATING, host=vol.host,
                availability_zone=zone,
                container=container, location=BackupStore.location(container, backup_id),
                parent_id=parent.id if parent else None, is_incremental=parent is not None,
                metadata_=dict(req.metadata), snapshot_id=snap.id if snap else None,
                data_timestamp=snap.created_at if snap else utcnow(),
                volume_meta={"metadata": dict(vol.metadata_ or {}), "bootable": vol.bootable,
                             "image_metadata": dict(vol.image_metadata or {}),
                             "image_id": vol.image_id})
            s.add(backup)
            previous = vol.status
            if snap is not None:  # the snapshot is read, the volume stays as it is
                states.snapshot_transition(s, snap.id, {states.S_AVAILABLE},
                                           states.S_BACKING_UP, "back it up")
                VolumeService.enqueue(s, vol, "backup", {"backup_id": backup_id,
                                                          "snapshot_id": snap.id})
            else:
                states.transition(s, vol.id, {previous}, states.BACKING_UP, "back it up")
                VolumeService.enqueue(s, vol, "backup", {"backup_id": backup_id,
                                                          "previous_status": previous})
            s.flush()
            s.refresh(backup)
            return backup

    # -- changes ----------------------------------------------------------------------------------
    def update(self, ctx: AuthContext, backup_id: str, changes: dict) -> VolumeBackup:
        with self.db.session() as s:
            b = self.visible(s, ctx, backup_id)
            values = {k: v for k, v in changes.items() if k in ("name", "description")}
            if "metadata" in changes:
                values["metadata_"] = dict(changes["metadata"])
            if values:
                s.execute(update(VolumeBackup).where(VolumeBackup.id == b.id)
                          .values(updated_at=utcnow(), **values))
        return self.get(ctx, backup_id)

    def delete(self, ctx: AuthContext, backup_id: str, force: bool = False) -> None:
        """Queue the removal (``deleting``); see the module docstring for what is refused."""
        with self.db.session() as s:
            b = self.visible(s, ctx, backup_id)
            allowed = states.BACKUP_FORCE_DELETABLE if force else states.BACKUP_DELETABLE
            if b.status not in allowed:
                raise invalid_backup(f"Backup status must be available or error, but the "
                                     f"current status is: {b.status}.")
            if self._dependents(s, [b.id]):
                raise invalid_backup("Incremental backups exist for this backup.")
            states.backup_transition(s, b.id, allowed, states.B_DELETING, "delete it")
            if b.host is None:
                self.finish_delete(s, b)
                return
            VolumeService.enqueue(s, _Subject(b.id, b.host), "backup_delete",
                                  {"backup_id": b.id})

    @staticmethod
    def finish_delete(s: Session, b: VolumeBackup) -> None:
        """The objects are gone (or shared): hide the backup, give its quota back."""
        states.backup_transition(s, b.id, {states.B_DELETING}, states.B_DELETED, "delete it",
                                 deleted_at=utcnow())
        quotas.release_backup(s, b.project_id, b.size)

    @staticmethod
    def shared(s: Session, b: VolumeBackup) -> bool:
        """Whether another live backup record names the same objects (an imported copy)."""
        return bool(s.scalar(select(func.count()).select_from(VolumeBackup).where(
            VolumeBackup.location == b.location, VolumeBackup.id != b.id,
            VolumeBackup.deleted_at.is_(None))))

    def reset_status(self, ctx: AuthContext, backup_id: str, status: str) -> None:
        """Admins: ``available`` or ``error``, without the table (Cinder's list)."""
        if status not in states.BACKUP_RESET:
            raise BadRequest(f"Invalid input received: Backup status {status[:40]!r} is not "
                             f"one of {', '.join(sorted(states.BACKUP_RESET))}.")
        with self.db.session() as s:
            b = self.visible(s, ctx, backup_id)
            s.execute(update(VolumeBackup).where(VolumeBackup.id == b.id)
                      .values(status=status, updated_at=utcnow()))

    # -- restore ----------------------------------------------------------------------------------
    def restore(self, ctx: AuthContext, backup_id: str, volume_id: str | None,
                name: str | None) -> tuple[VolumeBackup, Volume]:
        """Start restoring into ``volume_id`` or a new volume; returns both records."""
        with self.db.session() as s:
            b = self.visible(s, ctx, backup_id)
            if b.status != states.B_AVAILABLE:
                raise invalid_backup(f"Backup status must be available, but the current "
                                     f"status is: {b.status}.")
            if volume_id is None:
                vol = self._new_volume(s, ctx, b, VolumeRequest(
                    size=b.size, name=name or f"restore_backup_{b.id}"))
            else:
                vol = self.volumes.visible(s, ctx, volume_id)
                if vol.size < b.size:
                    raise BadRequest(f"Invalid volume: volume size {vol.size} is too small "
                                     f"to restore backup of size {b.size}.")
                if vol.host is None:
                    raise BadRequest(f"Invalid volume: {NO_HOST}")
                states.transition(s, vol.id, {states.AVAILABLE}, states.RESTORING_BACKUP,
                                  "restore a backup into it")
            self._start_restore(s, b, vol, new=volume_id is None)
            return b, vol

    def create_volume(self, ctx: AuthContext, backup_id: str, req: VolumeRequest) -> Volume:
        """``POST /volumes`` with ``backup_id`` (3.47): a new volume (``req``'s name, type,
        metadata; at least the backup's size) filled by a restore of the backup."""
        with self.db.session() as s:
            b = self.visible(s, ctx, backup_id)
            if b.status != states.B_AVAILABLE:
                raise invalid_backup(f"Backup status must be available, but the current "
                                     f"status is: {b.status}.")
            if req.size is not None and req.size < b.size:
                raise BadRequest(f"Invalid input received: Volume size {req.size}GB cannot "
                                 f"be smaller than the backup size {b.size}GB.")
            vol = self._new_volume(s, ctx, b, req)
            self._start_restore(s, b, vol, new=True)
            return vol

    @staticmethod
    def _start_restore(s: Session, b: VolumeBackup, vol: Volume, new: bool) -> None:
        states.backup_transition(s, b.id, {states.B_AVAILABLE}, states.B_RESTORING,
                                 "restore it")
        VolumeService.enqueue(s, vol, "restore", {"backup_id": b.id, "new": new})
        s.flush()
        s.refresh(vol)
        s.refresh(b)

    def _new_volume(self, s: Session, ctx: AuthContext, b: VolumeBackup,
                    req: VolumeRequest) -> Volume:
        """A volume for a restore (``restoring-backup`` on a live agent's host), counted."""
        settings, size = self.volumes.settings, req.size or b.size
        quotas.reserve(s, ctx.project_id, settings.quota, 1, size, volume_size=size,
                       volume_type_id=req.volume_type_id)
        host = self.volumes._pick_host(s, req.volume_type_id)  # noqa: SLF001
        if host is None:
            raise BadRequest(f"Invalid volume: {NO_HOST}")
        vol = Volume(id=new_uuid(), name=req.name, description=req.description,
                     project_id=ctx.project_id, user_id=ctx.user_id, size=size,
                     status=states.RESTORING_BACKUP, metadata_=dict(req.metadata), host=host,
                     availability_zone=settings.zone, volume_type_id=req.volume_type_id)
        s.add(vol)
        s.flush()
        return vol

    # -- export / import --------------------------------------------------------------------------
    def export_record(self, ctx: AuthContext, backup_id: str) -> dict:
        with self.db.session() as s:
            b = self.visible(s, ctx, backup_id)
            if b.status != states.B_AVAILABLE:
                raise invalid_backup(f"Backup status must be available and not restoring, "
                                     f"but the current status is: {b.status}.")
            record = {"id": b.id, **{k: getattr(b, "metadata_" if k == "metadata" else k)
                                      for k in RECORD_FIELDS}}
        record["data_timestamp"] = record["data_timestamp"].isoformat()
        url = base64.b64encode(json.dumps(record).encode()).decode()
        return {"backup_service": BACKUP_SERVICE, "backup_url": url}

    @staticmethod
    def _decode(backup_url: str) -> dict:
        try:
            record = json.loads(base64.b64decode(backup_url.encode(), validate=True))
        except (binascii.Error, ValueError, UnicodeError):
            record = None
        if not isinstance(record, dict) or not isinstance(record.get("id"), str) or \
                not isinstance(record.get("location"), str) or \
                type(record.get("size")) is not int or not 0 < record["size"] < 2 ** 31:
            raise invalid_backup("Can't parse backup record.")
        return record

    def import_record(self, ctx: AuthContext, backup_service: str,
                      backup_url: str) -> VolumeBackup:
        """Make a backup of the record (in the caller's project), ``available`` when the
        store holds its objects; 400 for another service, a bad record or a used id."""
        if backup_service != BACKUP_SERVICE:
            raise BadRequest(f"Service {backup_service[:100]} could not be found.")
        record = self._decode(backup_url)
        if not self.store.exists(record["location"]):
            raise invalid_backup(f"The backup store holds no backup at "
                                 f"{record['location'][:100]}.")
        try:
            stamp = dt.datetime.fromisoformat(str(record.get("data_timestamp")))
        except ValueError:
            stamp = utcnow()
        with self.db.session() as s:
            if s.get(VolumeBackup, record["id"]) is not None:
                raise invalid_backup("Backup already exists in database.")
            quotas.reserve_backup(s, ctx.project_id, self.volumes.settings.quota,
                                  record["size"])
            b = VolumeBackup(
                id=record["id"], name=_text(record.get("name")),
                description=_text(record.get("description")), project_id=ctx.project_id,
                user_id=ctx.user_id, volume_id=str(record.get("volume_id") or ""),
                size=record["size"], status=states.B_AVAILABLE,
                host=self.volumes._pick_host(s),  # noqa: SLF001
                availability_zone=self.volumes.settings.zone,
                container=str(record.get("container") or DEFAULT_CONTAINER)[:255],
                location=record["location"], parent_id=_text(record.get("parent_id")),
                is_incremental=bool(record.get("is_incremental")),
                object_count=int(record.get("object_count") or 0),
                metadata_=_strings(record.get("metadata")),
                volume_meta=record.get("volume_meta") if isinstance(
                    record.get("volume_meta"), dict) else {},
                data_timestamp=stamp)
            s.add(b)
            s.flush()
            s.refresh(b)
            return b


def check_volume_source(vol: Volume, force: bool) -> None:
    """400 unless the volume may be read into a backup now (``in-use`` needs ``force``)."""
    if vol.status == states.IN_USE and not force:
        raise BadRequest("Invalid volume: Backing up an in-use volume must use the force "
                         "flag.")
    if vol.status not in (states.AVAILABLE, states.IN_USE):
        raise BadRequest(f"Invalid volume: Volume to be backed up must be available or "
                         f"in-use, but the current status is \"{vol.status}\".")


def snapshot_source(s: Session, ctx: AuthContext, vol: Volume, snapshot_id: str
                    ) -> VolumeSnapshot:
    """The snapshot a backup reads instead of its volume, as Cinder checks it: visible
    (else 404), of that volume and ``available`` (else 400)."""
    snap = snapshots.visible(s, ctx, snapshot_id)
    if snap.volume_id != vol.id:
        raise BadRequest(f"Invalid volume: Volume {vol.id} does not match with "
                         f"snapshot.volume_id {snap.volume_id}.")
    if snap.status != states.S_AVAILABLE:
        raise BadRequest(f"Invalid snapshot: Snapshot to be backed up must be available, "
                         f"but the current status is \"{snap.status}\".")
    return snap


@dataclass
class _Subject:
    """What :meth:`VolumeService.enqueue` needs of a task's subject: a backup delete is
    keyed by the backup (its volume may be long gone)."""

    id: str
    host: str


def _text(value: object) -> str | None:
    return str(value)[:255] if value is not None else None


def _strings(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k)[:255]: str(v)[:255] for k, v in value.items()}
