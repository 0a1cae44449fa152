"""The volume and attachment status machines, as data, and the compare-and-swap that moves them.

Volume statuses follow Cinder (hardening.md section 3):

* ``creating`` -> ``available`` (the agent allocated or filled the backing file) or ``error``.
* ``available`` -> ``reserved`` (an attachment was created for an instance) -> ``attaching``
  (compute handed in its connector and the agent exported the target) -> ``in-use``
  (compute completed the attach). ``in-use`` -> ``detaching`` (the attachment is being
  deleted, the agent removes the export) -> ``available``.
* ``available``/``error``/``error_extending`` -> ``deleting`` -> ``deleted`` (the row stays,
  hidden) or ``error_deleting``; ``available`` -> ``extending`` -> ``available`` or
  ``error_extending``.
* ``available`` -> ``awaiting-transfer`` (a transfer is offered) -> ``available`` (accepted,
  in the new project, or withdrawn).
* ``available``/``in-use`` -> ``backing-up`` (the agent reads it into a backup) -> back to
  what it was; ``available`` -> ``restoring-backup`` (a backup is written into it; a volume
  made for a restore starts there) -> ``available`` or ``error``.
* ``available`` -> ``reverting`` (3.40 ``revert``: the latest snapshot, ``restoring``
  meanwhile, is copied back) -> ``available``, or ``error`` when the copy failed.
* Cinder's older actions: ``os-reserve`` ``available -> attaching``, ``os-unreserve`` back;
  ``os-attach`` (bookkeeping only, no export) ``available``/``attaching -> in-use``,
  ``os-detach`` back to ``available`` with the last attachment; ``os-begin_detaching``
  ``in-use -> detaching``, ``os-roll_detaching`` back. An admin's force delete also takes
  ``creating``, ``attaching`` and ``maintenance`` volumes (the last set only by
  ``os-reset_status``).

The volume's status follows from its attachments (:func:`status_for_attachments`): only one
attachment may exist (no multiattach). ``os-reset_status`` (admins) is the one escape hatch
that sets any status without the table, as in Cinder.

Every change is :func:`transition`: ``UPDATE volumes SET status=:new WHERE id=:id AND status IN
(:expected)``; the row count tells who won, so two concurrent reserves of one volume end with
exactly one winner and an ``Invalid volume`` (400) for the other.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from minicloud.db import utcnow
from minicloud.errors import BadRequest
from volumes.models import Volume, VolumeAttachment, VolumeBackup, VolumeSnapshot

CREATING, AVAILABLE, RESERVED, ATTACHING = "creating", "available", "reserved", "attaching"
IN_USE, DETACHING, DELETING, EXTENDING = "in-use", "detaching", "deleting", "extending"
ERROR, ERROR_DELETING, ERROR_EXTENDING = "error", "error_deleting", "error_extending"
AWAITING_TRANSFER, MAINTENANCE = "awaiting-transfer", "maintenance"
BACKING_UP, RESTORING_BACKUP = "backing-up", "restoring-backup"
UPLOADING = "uploading"  # os-volume_upload_image: the agent copies it into an image
REVERTING = "reverting"  # revert (3.40): the agent puts the latest snapshot's bytes back
DELETED = "deleted"  # internal: never shown by the API

#: Every allowed move of a volume: ``TRANSITIONS[old]`` is the set ``old`` may change to.
TRANSITIONS: dict[str, frozenset[str]] = {
    # CREATING, ATTACHING, MAINTENANCE -> DELETING: an admin's force delete only.
    CREATING: frozenset({AVAILABLE, ERROR, DELETING}),
    # -> ATTACHING: os-reserve; -> IN_USE: os-attach (legacy bookkeeping)
    AVAILABLE: frozenset({RESERVED, DELETING, EXTENDING, AWAITING_TRANSFER, ATTACHING,
                          IN_USE, BACKING_UP, RESTORING_BACKUP, UPLOADING, REVERTING}),
    RESERVED: frozenset({ATTACHING, AVAILABLE}),
    # -> AVAILABLE: os-unreserve
    # -> ERROR: the export found the volume's data missing from its host
    ATTACHING: frozenset({IN_USE, RESERVED, DETACHING, AVAILABLE, DELETING, ERROR}),
    # -> AVAILABLE: os-detach of the last legacy attachment
    # -> UPLOADING: os-volume_upload_image with force
    IN_USE: frozenset({DETACHING, AVAILABLE, BACKING_UP, UPLOADING}),
    # -> IN_USE: os-roll_detaching
    DETACHING: frozenset({AVAILABLE, ERROR, IN_USE}),
    DELETING: frozenset({DELETED, ERROR_DELETING}),
    EXTENDING: frozenset({AVAILABLE, ERROR_EXTENDING}),
    # -> AVAILABLE: os-force_detach of the last legacy attachment
    ERROR: frozenset({DELETING, DETACHING, AVAILABLE}),
    ERROR_DELETING: frozenset({DELETING}),
    ERROR_EXTENDING: frozenset({DELETING}),
    AWAITING_TRANSFER: frozenset({AVAILABLE}),
    MAINTENANCE: frozenset({DELETING}),
    # A backup reads the volume, then it goes back to what it was (available or in-use).
    BACKING_UP: frozenset({AVAILABLE, IN_USE}),
    # A restore writes it (an existing available volume, or a new one made for it).
    RESTORING_BACKUP: frozenset({AVAILABLE, ERROR}),
    # back to where it was: in-use while it has attachments (volumes.upload)
    UPLOADING: frozenset({AVAILABLE, IN_USE}),
    # revert to a snapshot (volumes.revert): done, or failed part-way (Cinder's error)
    REVERTING: frozenset({AVAILABLE, ERROR}),
    DELETED: frozenset(),
}

#: The statuses the API may show or ``os-reset_status`` may set.
STATUSES: frozenset[str] = frozenset(TRANSITIONS) - {DELETED}
#: Where a user may delete from (Cinder's list, less the states minicloud has no use for).
DELETABLE: frozenset[str] = frozenset({AVAILABLE, ERROR, ERROR_EXTENDING})
#: What an admin's ``force`` delete adds (Cinder's force skips the status check, less
#: attached, transferring and already-deleting volumes).
FORCE_DELETABLE: frozenset[str] = DELETABLE | {ERROR_DELETING, CREATING, ATTACHING,
                                               MAINTENANCE}

# Attachment statuses (Cinder's attach_status).
A_RESERVED, A_ATTACHING, A_ATTACHED = "reserved", "attaching", "attached"
A_DETACHING, A_ERROR = "detaching", "error"

ATTACHMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    A_RESERVED: frozenset({A_ATTACHING}),
    A_ATTACHING: frozenset({A_ATTACHED, A_RESERVED, A_DETACHING}),
    A_ATTACHED: frozenset({A_DETACHING}),
    A_DETACHING: frozenset({A_ERROR}),   # success deletes the row
    A_ERROR: frozenset({A_DETACHING}),
}
#: Attachments with an export behind them: only compute (or an admin) may delete these.
CONNECTED: frozenset[str] = frozenset({A_ATTACHING, A_ATTACHED, A_DETACHING, A_ERROR})


def allowed(old: str, new: str) -> bool:
    return new in TRANSITIONS.get(old, frozenset())


def status_for_attachments(statuses: Iterable[str]) -> str:
    """The volume status that its attachments' statuses imply."""
    present = set(statuses)
    for attach_status, volume_status in ((A_ERROR, ERROR), (A_DETACHING, DETACHING),
                                         (A_ATTACHED, IN_USE), (A_ATTACHING, ATTACHING),
                                         (A_RESERVED, RESERVED)):
        if attach_status in present:
            return volume_status
    return AVAILABLE


def invalid(volume_id: str, status: str, wanted: Iterable[str], doing: str) -> BadRequest:
    """Cinder's ``InvalidVolume`` (400), naming the statuses the action needs."""
    need = " or ".join(sorted(wanted))
    return BadRequest(f"Invalid volume: Volume {volume_id} status must be {need} to {doing}, "
                      f"but the current status is: {status}.")


def transition(session: Session, volume_id: str, expected: Iterable[str], new: str,
               doing: str = "change status", **values: Any) -> None:
    """Move ``volume_id`` from any of ``expected`` to ``new`` (and set ``values``) atomically.

    Every ``expected -> new`` move must be in :data:`TRANSITIONS` (a programming error
    otherwise). Raises :class:`BadRequest` (Cinder's ``InvalidVolume``) when the volume is not
    in one of ``expected`` any more, i.e. another request won the race.
    """
    expected = frozenset(expected)
    for old in expected:
        if not allowed(old, new):
            raise ValueError(f"volume transition {old} -> {new} is not in the table")
    stmt = (update(Volume).where(Volume.id == volume_id, Volume.status.in_(expected))
            .values(status=new, updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False))
    if session.execute(stmt).rowcount != 1:
        current = session.scalar(
            Volume.__table__.select().with_only_columns(Volume.status)
            .where(Volume.id == volume_id)) or "unknown"
        raise invalid(volume_id, current, expected, doing)


def attachment_transition(session: Session, attachment_id: str, expected: Iterable[str],
                          new: str, **values: Any) -> None:
    """The same compare-and-swap for an attachment's status (400 when it lost the race)."""
    expected = frozenset(expected)
    for old in expected:
        if new not in ATTACHMENT_TRANSITIONS.get(old, frozenset()):
            raise ValueError(f"attachment transition {old} -> {new} is not in the table")
    stmt = (update(VolumeAttachment)
            .where(VolumeAttachment.id == attachment_id, VolumeAttachment.status.in_(expected))
            .values(status=new, updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False))
    if session.execute(stmt).rowcount != 1:
        raise BadRequest(f"Invalid attachment: attachment {attachment_id} must be "
                         f"{' or '.join(sorted(expected))} to become {new}.")


# Backup statuses (Cinder's): creating -> available | error; available -> restoring ->
# available; available/error -> deleting -> deleted | error_deleting.
B_CREATING, B_AVAILABLE, B_RESTORING, B_DELETING = "creating", "available", "restoring", "deleting"
B_ERROR, B_ERROR_DELETING, B_DELETED = "error", "error_deleting", "deleted"

BACKUP_TRANSITIONS: dict[str, frozenset[str]] = {
    # -> DELETING from creating/restoring: an admin's force delete only.
    B_CREATING: frozenset({B_AVAILABLE, B_ERROR, B_DELETING}),
    B_AVAILABLE: frozenset({B_RESTORING, B_DELETING}),
    B_RESTORING: frozenset({B_AVAILABLE, B_DELETING}),
    B_ERROR: frozenset({B_DELETING}),
    B_DELETING: frozenset({B_DELETED, B_ERROR_DELETING}),
    B_ERROR_DELETING: frozenset({B_DELETING}),
    B_DELETED: frozenset(),
}
#: Where a user may delete a backup from; an admin's force adds the rest but ``deleting``.
BACKUP_DELETABLE: frozenset[str] = frozenset({B_AVAILABLE, B_ERROR})
BACKUP_FORCE_DELETABLE: frozenset[str] = BACKUP_DELETABLE | {B_CREATING, B_RESTORING,
                                                             B_ERROR_DELETING}
#: What ``os-reset_status`` may set on a backup (Cinder's list).
BACKUP_RESET: frozenset[str] = frozenset({B_AVAILABLE, B_ERROR})


def backup_transition(session: Session, backup_id: str, expected: Iterable[str], new: str,
                      doing: str = "change status", **values: Any) -> None:
    """The compare-and-swap of a backup's status; 400 (Cinder's ``InvalidBackup``) when the
    backup is not in one of ``expected`` any more."""
    expected = frozenset(expected)
    for old in expected:
        if new not in BACKUP_TRANSITIONS.get(old, frozenset()):
            raise ValueError(f"backup transition {old} -> {new} is not in the table")
    stmt = (update(VolumeBackup)
            .where(VolumeBackup.id == backup_id, VolumeBackup.status.in_(expected))
            .values(status=new, updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False))
    if session.execute(stmt).rowcount != 1:
        current = session.scalar(
            VolumeBackup.__table__.select().with_only_columns(VolumeBackup.status)
            .where(VolumeBackup.id == backup_id)) or "unknown"
        raise BadRequest(f"Invalid backup: Backup status must be "
                         f"{' or '.join(sorted(expected))} to {doing}, but the current "
                         f"status is: {current}.")


# -- snapshots (Cinder's SnapshotStatus) ------------------------------------------------------
# ``creating`` -> ``available`` (the agent copied the volume's bytes) or ``error``;
# ``available``/``error`` -> ``deleting`` -> ``deleted`` (row kept, hidden) or
# ``error_deleting``, which a retried delete moves to ``deleting`` again. ``os-reset_status``
# (admins) sets any of :data:`SNAPSHOT_STATUSES` without the table, as for volumes;
# ``os-update_snapshot_status`` only makes the moves the table allows.
S_CREATING, S_AVAILABLE, S_DELETING, S_ERROR = "creating", "available", "deleting", "error"
S_ERROR_DELETING, S_DELETED = "error_deleting", "deleted"
S_RESTORING = "restoring"  # its volume is being reverted to it (volumes.revert)
S_BACKING_UP = "backing-up"  # a backup reads it (volumes.backups, snapshot_id)

SNAPSHOT_TRANSITIONS: dict[str, frozenset[str]] = {
    S_CREATING: frozenset({S_AVAILABLE, S_ERROR, S_DELETING}),  # -> deleting: force only
    S_AVAILABLE: frozenset({S_DELETING, S_RESTORING, S_BACKING_UP}),
    S_BACKING_UP: frozenset({S_AVAILABLE}),
    S_RESTORING: frozenset({S_AVAILABLE, S_ERROR}),
    S_ERROR: frozenset({S_DELETING}),
    S_DELETING: frozenset({S_DELETED, S_ERROR_DELETING}),
    S_ERROR_DELETING: frozenset({S_DELETING}),
    S_DELETED: frozenset(),
}
SNAPSHOT_STATUSES: frozenset[str] = frozenset(SNAPSHOT_TRANSITIONS) - {S_DELETED}
#: Where a user may delete a snapshot from (Cinder: available or error, and error_deleting
#: to retry); an admin's force delete adds ``creating``.
SNAPSHOT_DELETABLE: frozenset[str] = frozenset({S_AVAILABLE, S_ERROR, S_ERROR_DELETING})
SNAPSHOT_FORCE_DELETABLE: frozenset[str] = SNAPSHOT_DELETABLE | {S_CREATING}
#: Volume statuses a snapshot may be taken in: ``available``, and with ``force`` (or from
#: 3.66 without it) ``in-use`` (crash-consistent: the guest keeps writing meanwhile).
SNAPSHOT_SOURCE, SNAPSHOT_SOURCE_FORCED = frozenset({AVAILABLE}), frozenset({AVAILABLE,
                                                                             IN_USE})


def snapshot_transition(session: Session, snapshot_id: str, expected: Iterable[str],
                        new: str, doing: str = "change status", **values: Any) -> None:
    """:func:`transition` for a snapshot: ``UPDATE volume_snapshots SET status=:new WHERE
    id=:id AND status IN (:expected)``; a lost race is Cinder's ``InvalidSnapshot`` (400)."""
    expected = frozenset(expected)
    for old in expected:
        if new not in SNAPSHOT_TRANSITIONS.get(old, frozenset()):
            raise ValueError(f"snapshot transition {old} -> {new} is not in the table")
    stmt = (update(VolumeSnapshot)
            .where(VolumeSnapshot.id == snapshot_id, VolumeSnapshot.status.in_(expected))
            .values(status=new, updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False))
    if session.execute(stmt).rowcount != 1:
        current = session.scalar(
            VolumeSnapshot.__table__.select().with_only_columns(VolumeSnapshot.status)
            .where(VolumeSnapshot.id == snapshot_id)) or "unknown"
        raise BadRequest(f"Invalid snapshot: Snapshot {snapshot_id} status must be "
                         f"{' or '.join(sorted(expected))} to {doing}, but the current "
                         f"status is: {current}.")
