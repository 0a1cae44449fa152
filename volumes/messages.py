"""User messages (Cinder's messages API, 3.3): why an asynchronous request failed.

A request that is accepted (202) and fails later leaves nothing but an ``error`` status; the
message says what went wrong in words a user can act on, without the operator's detail
(the volume's ``error`` column keeps that). :func:`record` is the one way to make one; the
API's scheduling (no backend matches the volume type) and the volume agent's failed tasks
(:func:`task_failed`) call it.

An event is Cinder's: ``VOLUME_<resource type>_<action id>_<detail id>`` with the user
message ``"<action>: <detail>"``, e.g. ``VOLUME_VOLUME_001_003`` "schedule allocate volume:
Could not find any available weighted backend.". Messages live ``[volume] message_ttl``
seconds (``guaranteed_until``); the volume agents' periodic task removes expired ones
(:func:`reap`), and the API never shows an expired one meanwhile.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from minicloud.db import Database, new_uuid, utcnow
from minicloud.errors import NotFound
from minicloud.identity.tokens import AuthContext
from minicloud.wsgi import request_id as current_request_id
from volumes import query
from volumes.models import Volume, VolumeBackup, VolumeMessage, VolumeSnapshot, VolumeTask

DEFAULT_TTL = 2592000  # [volume] message_ttl's default: 30 days, as Cinder's
ERROR = "ERROR"        # the only level Cinder records

# Resource types (Cinder's message_field.Resource).
VOLUME, SNAPSHOT, BACKUP = "VOLUME", "VOLUME_SNAPSHOT", "VOLUME_BACKUP"


@dataclass(frozen=True)
class Field:
    """An action or a detail: Cinder's three-digit id and its words."""

    id: str
    text: str


# Actions (Cinder's message_field.Action, the ones minicloud can fail at).
SCHEDULE_ALLOCATE_VOLUME = Field("001", "schedule allocate volume")
ATTACH_VOLUME = Field("002", "attach volume")
COPY_VOLUME_TO_IMAGE = Field("003", "copy volume to image")
UPDATE_ATTACHMENT = Field("004", "update attachment")
COPY_IMAGE_TO_VOLUME = Field("005", "copy image to volume")
EXTEND_VOLUME = Field("007", "extend volume")
CREATE_VOLUME_FROM_BACKEND = Field("008", "create volume from backend storage")
SNAPSHOT_CREATE = Field("009", "create snapshot")
SNAPSHOT_DELETE = Field("010", "delete snapshot")
BACKUP_CREATE = Field("013", "create backup")
BACKUP_DELETE = Field("014", "delete backup")
BACKUP_RESTORE = Field("015", "restore backup")

# Details (Cinder's message_field.Detail).
UNKNOWN_ERROR = Field("001", "An unknown error occurred.")
NO_BACKEND_AVAILABLE = Field("003", "Could not find any available weighted backend.")
FAILED_TO_UPLOAD_VOLUME = Field("004", "Failed to upload volume to image at backend.")
DRIVER_FAILED_EXTEND = Field("010", "Volume Driver failed to extend volume.")
DRIVER_FAILED_CREATE = Field("012", "Driver failed to create the volume.")
SNAPSHOT_CREATE_ERROR = Field("013", "Snapshot failed to create.")
SNAPSHOT_DELETE_ERROR = Field("016", "Snapshot failed to delete.")
BACKUP_CREATE_DRIVER_ERROR = Field("020", "Backup driver failed to create backup.")
ATTACH_ERROR = Field("021", "Failed to attach volume.")
DETACH_ERROR = Field("022", "Failed to detach volume.")
BACKUP_DELETE_DRIVER_ERROR = Field("025", "Backup driver failed to delete backup.")
BACKUP_RESTORE_ERROR = Field("026", "Backup driver failed to restore backup.")


def event_id(resource_type: str, action: Field, detail: Field) -> str:
    return f"VOLUME_{resource_type}_{action.id}_{detail.id}"


def record(s: Session, project_id: str, action: Field, detail: Field = UNKNOWN_ERROR, *,
           resource_type: str = VOLUME, resource_uuid: str | None = None,
           request_id: str | None = None, ttl: int = DEFAULT_TTL) -> VolumeMessage:
    """Add a user message for ``project_id`` in the caller's transaction. ``request_id``:
    the request that failed (default: the current HTTP request's, else a new id, as an
    agent's work outlives the request that queued it)."""
    now = utcnow()
    msg = VolumeMessage(
        id=new_uuid(), project_id=project_id,
        request_id=request_id or current_request_id() or f"req-{new_uuid()}",
        resource_type=resource_type, resource_uuid=resource_uuid,
        event_id=event_id(resource_type, action, detail), message_level=ERROR,
        detail=f"{action.text}: {detail.text}", created_at=now,
        expires_at=now + dt.timedelta(seconds=ttl))
    s.add(msg)
    return msg


#: A failed agent task -> (resource type, action, detail); ``create`` is decided by
#: :func:`_create_event` (from an image or not).
TASK_EVENTS: dict[str, tuple[str, Field, Field]] = {
    "extend": (VOLUME, EXTEND_VOLUME, DRIVER_FAILED_EXTEND),
    "export": (VOLUME, UPDATE_ATTACHMENT, ATTACH_ERROR),
    "unexport": (VOLUME, UPDATE_ATTACHMENT, DETACH_ERROR),
    "upload": (VOLUME, COPY_VOLUME_TO_IMAGE, FAILED_TO_UPLOAD_VOLUME),
    "create_snapshot": (SNAPSHOT, SNAPSHOT_CREATE, SNAPSHOT_CREATE_ERROR),
    "delete_snapshot": (SNAPSHOT, SNAPSHOT_DELETE, SNAPSHOT_DELETE_ERROR),
    "backup": (BACKUP, BACKUP_CREATE, BACKUP_CREATE_DRIVER_ERROR),
    "backup_delete": (BACKUP, BACKUP_DELETE, BACKUP_DELETE_DRIVER_ERROR),
    "restore": (BACKUP, BACKUP_RESTORE, BACKUP_RESTORE_ERROR),
}


def _subject(s: Session, task: VolumeTask, resource_type: str) -> tuple[str, str] | None:
    """(resource id, owning project) of what ``task`` worked on, or None when it is gone."""
    if resource_type == SNAPSHOT:
        row = s.get(VolumeSnapshot, task.params.get("snapshot_id") or "")
    elif resource_type == BACKUP:
        row = s.get(VolumeBackup, task.params.get("backup_id") or "")
    else:
        row = s.get(Volume, task.volume_id)
    return (row.id, row.project_id) if row is not None else None


def task_failed(s: Session, task: VolumeTask, ttl: int = DEFAULT_TTL) -> VolumeMessage | None:
    """Record the user message for a failed agent task (None for work nobody asked for,
    such as a re-run delete, or when the resource is gone)."""
    if task.action == "create":
        vol = s.get(Volume, task.volume_id)
        event = (VOLUME, COPY_IMAGE_TO_VOLUME if vol is not None and vol.image_id
                 else CREATE_VOLUME_FROM_BACKEND, DRIVER_FAILED_CREATE)
    else:
        event = TASK_EVENTS.get(task.action)
    if event is None:
        return None
    resource_type, action, detail = event
    found = _subject(s, task, resource_type)
    if found is None:
        return None
    return record(s, found[1], action, detail, resource_type=resource_type,
                  resource_uuid=found[0], request_id=task.params.get("request_id"), ttl=ttl)


def reap(db: Database) -> int:
    """Remove expired messages; returns how many."""
    with db.session() as s:
        return s.execute(delete(VolumeMessage).where(VolumeMessage.expires_at <= utcnow())
                         ).rowcount or 0


# -- the API's side ------------------------------------------------------------------------------
#: Filters of ``GET /messages`` (Cinder's, 3.5) and the sort keys.
FILTERS = ("resource_uuid", "resource_type", "event_id", "request_id", "message_level")
#: The sort keys of a message list and their columns (``guaranteed_until`` is ``expires_at``).
SORT_COLUMNS = {**{key: getattr(VolumeMessage, key) for key in (
    "id", "created_at", "event_id", "resource_type", "resource_uuid", "message_level",
    "request_id")}, "guaranteed_until": VolumeMessage.expires_at}


class MessageService:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _visible(s: Session, ctx: AuthContext, message_id: str) -> VolumeMessage:
        msg = s.get(VolumeMessage, message_id)
        if msg is None or msg.expires_at <= utcnow() or (
                msg.project_id != ctx.project_id and not ctx.is_admin):
            raise NotFound(f"Message {message_id} could not be found.")
        return msg

    def get(self, ctx: AuthContext, message_id: str) -> VolumeMessage:
        with self.db.session() as s:
            return self._visible(s, ctx, message_id)

    def delete(self, ctx: AuthContext, message_id: str) -> None:
        with self.db.session() as s:
            msg = self._visible(s, ctx, message_id)
            s.delete(msg)

    def list(self, ctx: AuthContext, filters: Mapping[str, str],
             sort: list[tuple[str, str]]) -> list[VolumeMessage]:
        """The caller's project's unexpired messages (an admin's: every project's) that
        match ``filters``, in ``sort`` order (keys of :data:`SORT_COLUMNS`, as
        :func:`volumes.query.sort_params` completes them)."""
        stmt = select(VolumeMessage).where(VolumeMessage.expires_at > utcnow())
        if not ctx.is_admin:
            stmt = stmt.where(VolumeMessage.project_id == ctx.project_id)
        for key, value in filters.items():
            stmt = stmt.where(getattr(VolumeMessage, key) == value)
        with self.db.session() as s:
            return list(s.scalars(query.ordered(stmt, sort, SORT_COLUMNS)))
