"""The image status machine, as data, and the one function that moves an image along it.

Statuses follow Glance v2 (the allowed moves are :data:`TRANSITIONS`):

* ``queued``: the id is reserved, there is no data.
* ``saving``: a plain upload (``PUT .../file``) is receiving data.
* ``uploading``: data is being (or has been) staged for an import (``PUT .../stage``).
* ``importing``: an import task is running in the background.
* ``active`` / ``deactivated``: data is available (to admins only when deactivated).
* ``killed``: the data is in an unknown state (a failed upload could not be cleaned up);
  the image can only be deleted.
* ``deleted``: the row stays (the id may never be reused) and everything else is gone.

A failed upload, stage or import goes back to ``queued``, as modern Glance does, so the client
can simply retry; ``killed`` is kept for the one case where the service cannot promise that no
partial data remains. Any status may be deleted: an upload or import that loses the race finds
the image gone at its final compare-and-swap and removes what it wrote.

Every status change goes through :func:`transition`, a compare-and-swap in the database: the
``UPDATE`` only matches while the row still has the expected old status, and a lost race is a
409 Conflict.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from images.models import Image
from minicloud.db import utcnow
from minicloud.errors import Conflict

QUEUED = "queued"
SAVING = "saving"
UPLOADING = "uploading"
IMPORTING = "importing"
ACTIVE = "active"
DEACTIVATED = "deactivated"
KILLED = "killed"
DELETED = "deleted"

#: Every allowed move: ``TRANSITIONS[old]`` is the set of statuses ``old`` may change to.
TRANSITIONS: dict[str, frozenset[str]] = {
    QUEUED: frozenset({SAVING, UPLOADING, IMPORTING, DELETED}),
    SAVING: frozenset({ACTIVE, QUEUED, KILLED, DELETED}),
    UPLOADING: frozenset({IMPORTING, QUEUED, KILLED, DELETED}),
    IMPORTING: frozenset({ACTIVE, QUEUED, KILLED, DELETED}),
    ACTIVE: frozenset({DEACTIVATED, DELETED}),
    DEACTIVATED: frozenset({ACTIVE, DELETED}),
    KILLED: frozenset({DELETED}),
    DELETED: frozenset(),
}

STATUSES: frozenset[str] = frozenset(TRANSITIONS)

#: Statuses in which the store holds the image's data.
WITH_DATA: frozenset[str] = frozenset({ACTIVE, DEACTIVATED})


def allowed(old: str, new: str) -> bool:
    return new in TRANSITIONS.get(old, frozenset())


def check(old: str, new: str) -> None:
    """Raise :class:`Conflict` unless ``old -> new`` is in the table."""
    if not allowed(old, new):
        raise Conflict(f"Image status transition from '{old}' to '{new}' is not allowed.")


def transition(session: Session, image_id: str, old: str, new: str, **values: Any) -> None:
    """Move ``image_id`` from ``old`` to ``new`` (setting ``values`` in the same UPDATE).

    Raises :class:`Conflict` when the move is not in the table, or when the image is no
    longer in ``old`` (another request changed it first).
    """
    check(old, new)
    stmt = (update(Image).where(Image.id == image_id, Image.status == old)
            .values(status=new, updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False))
    if session.execute(stmt).rowcount != 1:
        raise Conflict(f"Image {image_id} is no longer '{old}'; it was changed by another "
                       "request.")
