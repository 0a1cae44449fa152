"""Group types (Cinder's generic volume groups, 3.11): create, list, show, update, delete and
their ``group_specs``.

As Cinder's: names are unique (a second one is a 409); a private type (``is_public``
false) is seen and used by admins only (Cinder has no access-list API for group types), so
for anybody else it is a 404, as one that does not exist; a type some group still has
cannot be deleted (400). ``GET /group_types/default`` answers the type named by
``[volume] default_group_type`` (Cinder's ``default_group_type``), a 404 when that is unset
or names no type. The API checks the policies; this module checks visibility and the rules
above.
"""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minicloud.db import Database, new_uuid, utcnow
from minicloud.errors import BadRequest, Conflict, NotFound
from volumes.models import GroupType, VolumeGroup
from volumes.query import ordered

#: Group statuses that no longer hold a type (volumes.groups).
GONE = ("deleted",)
#: The columns a group type list sorts on (the API checks the keys).
SORT_COLUMNS = {key: getattr(GroupType, key) for key in
                ("id", "name", "description", "is_public", "created_at", "updated_at")}


def not_found(type_id: str) -> NotFound:
    return NotFound(f"Group type {type_id} could not be found.")


def visible(s: Session, admin: bool, type_id: str) -> GroupType:
    """The group type with this id (or name) if the caller may see it, else 404."""
    gtype = s.get(GroupType, type_id) or s.scalar(
        select(GroupType).where(GroupType.name == type_id))
    if gtype is None or not (gtype.is_public or admin):
        raise not_found(type_id)
    return gtype


class GroupTypeService:
    """Group types, each call its own transaction; ``default_name`` is
    ``[volume] default_group_type``."""

    def __init__(self, db: Database, default_name: str = "") -> None:
        self.db, self.default_name = db, default_name

    def get(self, admin: bool, type_id: str) -> GroupType:
        with self.db.session() as s:
            return visible(s, admin, type_id)

    def default(self, admin: bool) -> GroupType:
        missing = NotFound("Default group type can not be found.")
        if not self.default_name:
            raise missing
        with self.db.session() as s:
            gtype = s.scalar(select(GroupType).where(GroupType.name == self.default_name))
            if gtype is None or not (gtype.is_public or admin):
                raise missing
            return gtype

    def list(self, admin: bool, is_public: bool | None = True,
             sort: list[tuple[str, str]] | None = None) -> list[GroupType]:
        """Types in ``sort`` order (keys of :data:`SORT_COLUMNS`; default: by name).
        ``is_public`` True: public ones, False: private ones, None: all; non-admins always
        get the public ones."""
        if not admin:
            is_public = True
        with self.db.session() as s:
            query = select(GroupType)
            if is_public is not None:
                query = query.where(GroupType.is_public.is_(is_public))
            query = ordered(query, sort or [("name", "asc")], SORT_COLUMNS)
            return list(s.scalars(query.order_by(GroupType.id)))

    # -- changes (admins: the API checked the policy) -------------------------------------------
    def create(self, name: str, description: str | None, is_public: bool,
               group_specs: dict[str, str]) -> GroupType:
        gtype = GroupType(id=new_uuid(), name=name, description=description,
                          is_public=is_public, group_specs=dict(group_specs))
        try:
            with self.db.session() as s:
                if s.scalar(select(GroupType.id).where(GroupType.name == name)):
                    raise Conflict(f"Group Type {name} already exists.")
                s.add(gtype)
        except IntegrityError:  # the same name created concurrently
            raise Conflict(f"Group Type {name} already exists.") from None
        return self.get(True, gtype.id)

    def update(self, type_id: str, changes: dict) -> GroupType:
        """Set ``name``, ``description`` and/or ``is_public``."""
        try:
            with self.db.session() as s:
                gtype = visible(s, True, type_id)
                name = changes.get("name")
                if name and s.scalar(select(GroupType.id).where(
                        GroupType.name == name, GroupType.id != gtype.id)):
                    raise Conflict(f"Group Type {name} already exists.")
                s.execute(update(GroupType).where(GroupType.id == gtype.id)
                          .values(updated_at=utcnow(), **changes))
                type_id = gtype.id
        except IntegrityError:
            raise Conflict(f"Group Type {changes.get('name')} already exists.") from None
        return self.get(True, type_id)

    def delete(self, type_id: str) -> None:
        with self.db.session() as s:
            gtype = visible(s, True, type_id)
            if s.scalar(select(VolumeGroup.id).where(VolumeGroup.group_type_id == gtype.id,
                                                     VolumeGroup.status.not_in(GONE))):
                raise BadRequest(f"Group Type {gtype.id} deletion is not allowed with groups "
                                 f"present with the type.")
            s.delete(gtype)

    # -- group specs -----------------------------------------------------------------------------
    def specs(self, type_id: str) -> dict[str, str]:
        return dict(self.get(True, type_id).group_specs or {})

    def set_specs(self, type_id: str, items: dict[str, str]) -> dict[str, str]:
        """Merge ``items`` into the type's group specs; returns ``items``."""
        with self.db.session() as s:
            gtype = visible(s, True, type_id)
            merged = {**(gtype.group_specs or {}), **items}
            s.execute(update(GroupType).where(GroupType.id == gtype.id)
                      .values(group_specs=merged, updated_at=utcnow()))
        return dict(items)

    def delete_spec(self, type_id: str, key: str) -> None:
        with self.db.session() as s:
            gtype = visible(s, True, type_id)
            specs = dict(gtype.group_specs or {})
            if key not in specs:
                raise NotFound(f"Group Type {gtype.id} has no specs with key {key}.")
            del specs[key]
            s.execute(update(GroupType).where(GroupType.id == gtype.id)
                      .values(group_specs=specs, updated_at=utcnow()))
