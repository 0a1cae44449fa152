"""The status machines of groups and group snapshots, as data, and their compare-and-swaps.

Groups (Cinder's ``GroupStatus``)::

    creating ──> available ──> deleting ──> deleted (row kept, hidden) | error_deleting
        │            ^  │
        v            │  └── (update: name, description, members; no status change)
      error ─────────┴────> deleting

A group made from a source is ``creating`` until its new volumes are made
(:func:`volumes.groups.settle`). Group snapshots (``GroupSnapshotStatus``) move the same
way: ``creating -> available | error``, ``available``/``error`` -> ``deleting`` ->
``deleted`` | ``error_deleting``, and ``error_deleting -> deleting`` to retry. ``reset_status``
(admins) sets any known status without the table, as Cinder's.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from minicloud.db import utcnow
from minicloud.errors import BadRequest
from volumes import states
from volumes.models import GroupSnapshot, VolumeGroup

CREATING, AVAILABLE, ERROR = "creating", "available", "error"
DELETING, DELETED, ERROR_DELETING = "deleting", "deleted", "error_deleting"
UPDATING, IN_USE = "updating", "in-use"

GROUP_TRANSITIONS: dict[str, frozenset[str]] = {
    CREATING: frozenset({AVAILABLE, ERROR, DELETING}),
    AVAILABLE: frozenset({DELETING}),
    ERROR: frozenset({DELETING}),
    UPDATING: frozenset({DELETING}),
    IN_USE: frozenset({DELETING}),
    DELETING: frozenset({DELETED, ERROR_DELETING}),
    ERROR_DELETING: frozenset({DELETING}),
    DELETED: frozenset(),
}
#: What ``reset_status`` may set (every status but the internal ``deleted``).
GROUP_STATUSES: frozenset[str] = frozenset(GROUP_TRANSITIONS) - {DELETED}
#: Where a group may be deleted from (Cinder: available or error; error_deleting retries).
GROUP_DELETABLE: frozenset[str] = frozenset({AVAILABLE, ERROR, ERROR_DELETING})

SNAPSHOT_TRANSITIONS: dict[str, frozenset[str]] = {
    CREATING: frozenset({AVAILABLE, ERROR}),
    AVAILABLE: frozenset({DELETING}),
    ERROR: frozenset({DELETING}),
    UPDATING: frozenset({DELETING}),
    DELETING: frozenset({DELETED, ERROR_DELETING}),
    ERROR_DELETING: frozenset({DELETING}),
    DELETED: frozenset(),
}
SNAPSHOT_STATUSES: frozenset[str] = frozenset(SNAPSHOT_TRANSITIONS) - {DELETED}
SNAPSHOT_DELETABLE: frozenset[str] = frozenset({AVAILABLE, ERROR, ERROR_DELETING})


def settled(status: str, members: set[str]) -> str | None:
    """Where a ``creating`` or ``deleting`` group (or group snapshot) goes, given the
    statuses of its members not deleted (volumes, or snapshots: the words are the same):
    ``creating`` -> ``error`` when one failed, ``available`` once all are; ``deleting`` ->
    ``error_deleting`` when one failed to go, ``deleted`` once none is left; None: it waits
    (as does any other status)."""
    if status == CREATING:
        if states.ERROR in members:
            return ERROR
        return AVAILABLE if members <= {states.AVAILABLE} else None
    if status == DELETING:
        if states.ERROR_DELETING in members:
            return ERROR_DELETING
        return DELETED if not members else None
    return None


def _swap(session: Session, model: type, table: dict[str, frozenset[str]], kind: str,
          row_id: str, expected: Iterable[str], new: str, doing: str, values: dict) -> None:
    expected = frozenset(expected)
    for old in expected:
        if new not in table.get(old, frozenset()):
            raise ValueError(f"{kind} transition {old} -> {new} is not in the table")
    done = session.execute(update(model).where(model.id == row_id,
                                               model.status.in_(expected))
                           .values(status=new, updated_at=utcnow(), **values)
                           .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        current = session.scalar(model.__table__.select().with_only_columns(model.status)
                                 .where(model.id == row_id)) or "unknown"
        raise BadRequest(f"Invalid {kind}: {kind.capitalize()} {row_id} status must be "
                         f"{' or '.join(sorted(expected))} to {doing}, but the current "
                         f"status is: {current}.")


def group_transition(session: Session, group_id: str, expected: Iterable[str], new: str,
                     doing: str = "change status", **values: Any) -> None:
    """``UPDATE volume_groups SET status=:new WHERE id=:id AND status IN (:expected)``; a
    lost race (or a status not in ``expected``) is Cinder's ``InvalidGroup`` (400)."""
    _swap(session, VolumeGroup, GROUP_TRANSITIONS, "group", group_id, expected, new, doing,
          values)


def group_snapshot_transition(session: Session, group_snapshot_id: str,
                              expected: Iterable[str], new: str, doing: str = "change status",
                              **values: Any) -> None:
    """The same compare-and-swap for a group snapshot (``InvalidGroupSnapshot``)."""
    _swap(session, GroupSnapshot, SNAPSHOT_TRANSITIONS, "group snapshot", group_snapshot_id,
          expected, new, doing, values)
