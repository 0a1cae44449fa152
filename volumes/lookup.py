"""The one lookup of a project's own volume resources, and the list shape they share.

Volumes, snapshots, backups, groups and group snapshots are found the same way: the row by
id, unless it is deleted (its deleted status, or ``deleted_at`` set where a kind has no
such status in use), and only for the caller's project or an admin; anything else is
Cinder's 404 ``itemNotFound`` "<Noun> <id> could not be found." — another project's row
answers as one that does not exist. An :class:`Owned` describes one such kind; its
``visible`` and ``not_found`` are what the modules of each kind export.

Their lists share a shape too: the rows not deleted, the caller's project unless every
project is asked (:meth:`Owned.listing`); their query parameters (sort keys, a caller's
filters) are read and turned into SQL by :mod:`volumes.query`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.orm import Session

from minicloud.db import utcnow
from minicloud.errors import BadRequest, NotFound
from minicloud.identity.tokens import AuthContext

T = TypeVar("T")


@dataclass(frozen=True)
class Owned(Generic[T]):
    """A kind of row a project owns: ``model`` (with ``id``, ``project_id``, ``status``),
    the ``noun`` of its 404 message, and ``deleted_status``, the status a deleted row keeps
    (None: a row is deleted once its ``deleted_at`` is set)."""

    model: type[T]
    noun: str
    deleted_status: str | None = None

    def gone(self, row: T) -> bool:
        """Whether ``row`` is deleted (kept, but never shown)."""
        if self.deleted_status is None:
            return row.deleted_at is not None  # type: ignore[attr-defined]
        return row.status == self.deleted_status  # type: ignore[attr-defined]

    def live(self) -> ColumnElement:
        """The SQL condition of :meth:`gone`'s opposite."""
        if self.deleted_status is None:
            return self.model.deleted_at.is_(None)  # type: ignore[attr-defined]
        return self.model.status != self.deleted_status  # type: ignore[attr-defined]

    def not_found(self, row_id: str) -> NotFound:
        return NotFound(f"{self.noun} {row_id} could not be found.")

    def visible(self, s: Session, ctx: AuthContext, row_id: str) -> T:
        """The row if the caller may see it, else 404 (other projects' rows too)."""
        row = s.get(self.model, row_id)
        if row is None or self.gone(row) or (
                row.project_id != ctx.project_id and not ctx.is_admin):  # type: ignore[attr-defined]
            raise self.not_found(row_id)
        return row

    def write(self, s: Session, row_id: str, **values: Any) -> None:
        """Set ``values`` on the row, and its ``updated_at``."""
        s.execute(update(self.model).where(self.model.id == row_id)  # type: ignore[attr-defined]
                  .values(updated_at=utcnow(), **values))

    def reset_status(self, s: Session, ctx: AuthContext, row_id: str, status: str,
                     statuses: frozenset[str]) -> None:
        """Admins' escape hatch, as Cinder's: any of ``statuses``, without the state
        table; another status is a 400 (before the lookup's 404)."""
        if status not in statuses:
            raise BadRequest(f"Invalid input received: status must be one of "
                             f"{', '.join(sorted(statuses))}.")
        self.write(s, self.visible(s, ctx, row_id).id, status=status)

    def listing(self, ctx: AuthContext, all_projects: bool,
                conditions: Iterable[ColumnElement] = ()) -> Select:
        """``SELECT`` of the rows a caller lists: not deleted, of the caller's project
        unless ``all_projects`` (which the API grants only to whom it may), and
        ``conditions``."""
        stmt = select(self.model).where(self.live(), *conditions)
        if not all_projects:
            stmt = stmt.where(self.model.project_id == ctx.project_id)  # type: ignore[attr-defined]
        return stmt

    def settled(self, s: Session, stmt: Select, settle: Callable[[Session, T], T]) -> list[T]:
        """The rows of ``stmt``, each passed through ``settle`` (which may finish a pending
        delete), without those that are deleted now."""
        found = [settle(s, row) for row in s.scalars(stmt)]
        return [row for row in found if not self.gone(row)]
