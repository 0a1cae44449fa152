"""Volume types: create, list, show, update, delete, extra specs and project access lists.

As Cinder's: a type is public (every project may use it) or private (only the projects on
its access list, and admins, see or use it); names are unique (a second one is a 409);
``__DEFAULT__`` (made by the volume types migration,
:data:`volumes.models.DEFAULT_TYPE_ID`) is the type of a volume created without one and
cannot be deleted; a type some volume still has cannot
be deleted either (400). Another project's private type is a 404, as one that does not
exist. The API checks the policies; this module checks visibility and the rules above.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minicloud.db import Database, new_uuid, utcnow
from minicloud.errors import BadRequest, Conflict, NotFound
from volumes import states
from volumes.models import DEFAULT_TYPE_ID, Volume, VolumeType, VolumeTypeAccess

#: Extra specs every caller may read; the others need ``types_extra_specs:read_sensitive``.
USER_VISIBLE_EXTRA_SPECS = frozenset({"RESKEY:availability_zones", "multiattach",
                                      "replication_enabled"})


@dataclass(frozen=True)
class Caller:
    """Who asks: their project and whether they are an admin (sees every type)."""

    project_id: str
    admin: bool


def _not_found(type_id: str) -> NotFound:
    return NotFound(f"Volume type {type_id} could not be found.")


class TypeService:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- reading -------------------------------------------------------------------------------
    @staticmethod
    def _accessible(s: Session, caller: Caller, vtype: VolumeType) -> bool:
        if vtype.is_public or caller.admin:
            return True
        return s.get(VolumeTypeAccess, (vtype.id, caller.project_id)) is not None

    def _visible(self, s: Session, caller: Caller, type_id: str,
                 by_name: bool = False) -> VolumeType:
        vtype = s.get(VolumeType, type_id)
        if vtype is None and by_name:
            vtype = s.scalar(select(VolumeType).where(VolumeType.name == type_id))
        if vtype is None or not self._accessible(s, caller, vtype):
            raise _not_found(type_id)
        return vtype

    def get(self, caller: Caller, type_id: str, by_name: bool = True) -> VolumeType:
        """The type with this id (or name), if the caller may see it; else 404."""
        with self.db.session() as s:
            return self._visible(s, caller, type_id, by_name)

    def default(self) -> VolumeType:
        with self.db.session() as s:
            vtype = s.get(VolumeType, DEFAULT_TYPE_ID)
            if vtype is None:
                raise NotFound("Default volume type can not be found.")
            return vtype

    def for_volume(self, caller: Caller, name_or_id: str | None) -> VolumeType:
        """The type a new volume gets: the one named (by name or id; one the caller cannot
        see is Cinder's 404) or the default."""
        if not name_or_id:
            return self.default()
        with self.db.session() as s:
            vtype = s.scalar(select(VolumeType).where(VolumeType.name == name_or_id)) \
                or s.get(VolumeType, name_or_id)
            if vtype is None or not self._accessible(s, caller, vtype):
                raise NotFound(f"Volume type with name {name_or_id} could not be found.")
            return vtype

    def list(self, caller: Caller, is_public: bool | None = True) -> list[VolumeType]:
        """Types by name. ``is_public`` True: the public ones and the private ones the
        caller's project is listed on; False: private ones only; None: all. Non-admins
        always get the True answer (Cinder ignores their ``is_public``)."""
        if not caller.admin:
            is_public = True
        with self.db.session() as s:
            query = select(VolumeType).order_by(VolumeType.name)
            if is_public is True:
                listed = select(VolumeTypeAccess.volume_type_id).where(
                    VolumeTypeAccess.project_id == caller.project_id)
                query = query.where(or_(VolumeType.is_public.is_(True),
                                        VolumeType.id.in_(listed)))
            elif is_public is False:
                query = query.where(VolumeType.is_public.is_(False))
            return list(s.scalars(query))

    def names(self) -> dict[str, str]:
        """Every type's id -> name (for volume views)."""
        with self.db.session() as s:
            return {tid: name for tid, name in s.execute(select(VolumeType.id, VolumeType.name))}

    # -- changes (admins: the API checked the policy) -------------------------------------------
    def create(self, name: str, description: str | None, is_public: bool,
               extra_specs: dict[str, str]) -> VolumeType:
        vtype = VolumeType(id=new_uuid(), name=name, description=description,
                           is_public=is_public, extra_specs=dict(extra_specs))
        try:
            with self.db.session() as s:
                if s.scalar(select(VolumeType.id).where(VolumeType.name == name)):
                    raise Conflict(f"Volume Type {name} already exists.")
                s.add(vtype)
        except IntegrityError:  # the same name created concurrently
            raise Conflict(f"Volume Type {name} already exists.") from None
        return self.get(Caller("", True), vtype.id, by_name=False)

    def update(self, type_id: str, changes: dict) -> VolumeType:
        """Set ``name``, ``description`` and/or ``is_public``."""
        try:
            with self.db.session() as s:
                vtype = self._visible(s, Caller("", True), type_id)
                name = changes.get("name")
                if name and s.scalar(select(VolumeType.id).where(
                        VolumeType.name == name, VolumeType.id != vtype.id)):
                    raise Conflict(f"Volume Type {name} already exists.")
                if changes:
                    s.execute(update(VolumeType).where(VolumeType.id == vtype.id)
                              .values(updated_at=utcnow(), **changes))
                type_id = vtype.id
        except IntegrityError:
            raise Conflict(f"Volume Type {changes.get('name')} already exists.") from None
        return self.get(Caller("", True), type_id, by_name=False)

    def delete(self, type_id: str) -> None:
        with self.db.session() as s:
            vtype = self._visible(s, Caller("", True), type_id)
            if vtype.id == DEFAULT_TYPE_ID:
                raise BadRequest("Default volume type can not be deleted.")
            in_use = s.scalar(select(Volume.id).where(Volume.volume_type_id == vtype.id,
                                                      Volume.status != states.DELETED))
            if in_use:
                raise BadRequest(f"Target volume type {vtype.id} is still in use.")
            s.delete(vtype)

    # -- extra specs ---------------------------------------------------------------------------
    def extra_specs(self, caller: Caller, type_id: str) -> dict[str, str]:
        return dict(self.get(caller, type_id, by_name=False).extra_specs or {})

    def set_extra_specs(self, type_id: str, items: dict[str, str]) -> dict[str, str]:
        """Merge ``items`` into the type's extra specs; returns ``items``."""
        with self.db.session() as s:
            vtype = self._visible(s, Caller("", True), type_id)
            merged = {**(vtype.extra_specs or {}), **items}
            s.execute(update(VolumeType).where(VolumeType.id == vtype.id)
                      .values(extra_specs=merged, updated_at=utcnow()))
        return dict(items)

    def delete_extra_spec(self, type_id: str, key: str) -> None:
        with self.db.session() as s:
            vtype = self._visible(s, Caller("", True), type_id)
            specs = dict(vtype.extra_specs or {})
            if key not in specs:
                raise NotFound(f"Volume Type {type_id} has no extra specs with key {key}.")
            del specs[key]
            s.execute(update(VolumeType).where(VolumeType.id == vtype.id)
                      .values(extra_specs=specs, updated_at=utcnow()))

    # -- access lists --------------------------------------------------------------------------
    def _private(self, s: Session, type_id: str) -> VolumeType:
        vtype = self._visible(s, Caller("", True), type_id)
        if vtype.is_public:
            raise NotFound("Access list not available for public volume types.")
        return vtype

    def access(self, type_id: str) -> list[str]:
        """The projects on a private type's access list (a public type: 404, as Cinder)."""
        with self.db.session() as s:
            vtype = self._private(s, type_id)
            return list(s.scalars(select(VolumeTypeAccess.project_id).where(
                VolumeTypeAccess.volume_type_id == vtype.id)
                .order_by(VolumeTypeAccess.project_id)))

    def add_access(self, type_id: str, project_id: str) -> None:
        try:
            with self.db.session() as s:
                vtype = self._visible(s, Caller("", True), type_id)
                if vtype.is_public:
                    raise BadRequest("Invalid volume type: Type access modification is not "
                                     "applicable to public volume type.")
                s.add(VolumeTypeAccess(volume_type_id=vtype.id, project_id=project_id))
        except IntegrityError:
            raise Conflict(f"Volume type access for {type_id} / {project_id} combination "
                           f"already exists.") from None

    def remove_access(self, type_id: str, project_id: str) -> None:
        with self.db.session() as s:
            vtype = self._visible(s, Caller("", True), type_id)
            if vtype.is_public:
                raise BadRequest("Invalid volume type: Type access modification is not "
                                 "applicable to public volume type.")
            gone = s.execute(delete(VolumeTypeAccess).where(
                VolumeTypeAccess.volume_type_id == vtype.id,
                VolumeTypeAccess.project_id == project_id)).rowcount
            if not gone:
                raise NotFound(f"Volume type access not found for {type_id} / {project_id} "
                               f"combination.")
