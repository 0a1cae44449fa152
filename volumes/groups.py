"""Generic volume groups (Cinder's ``/groups``, 3.13): volumes of the group's volume types,
kept together so that they are snapshotted together (:mod:`volumes.group_snapshots`) and
deleted together.

A group is a record in the catalog: the file backend has nothing to do for one, so a group
is ``available`` as soon as it is created. Its volumes carry its id (``volumes.group_id``);
a volume joins at create (``group_id``, 3.13) or by an update (``add_volumes``), when it is
``available`` or ``in-use``, of one of the group's volume types, of the group's project and
in no other group. A group's member is deleted only with its group (``delete-volumes``),
as Cinder's. Each group counts one ``groups`` in its project's quota until it is deleted.

A group made from a group snapshot or another group (3.14 ``create-from-src``) is
``creating`` while its new volumes are being made; a group being deleted is ``deleting``
while its volumes are. Both end in :func:`settle`, run whenever a group is read: the first
``available`` once every new volume is (``error`` if one failed), the second ``deleted``
once every volume is gone (``error_deleting`` if one failed). Another project's group is a
404, as one that does not exist.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from minicloud.db import Database, new_uuid, utcnow
from minicloud.errors import BadRequest, MinicloudError
from minicloud.identity.tokens import AuthContext
from minicloud.microversion import Version
from volumes import group_states as gs
from volumes import group_types, lookup, query, quotas, states
from volumes.models import (
    GroupSnapshot,
    Volume,
    VolumeGroup,
    VolumeSnapshot,
)

SORT_COLUMNS = {"id": VolumeGroup.id, "name": VolumeGroup.name,
                "status": VolumeGroup.status, "created_at": VolumeGroup.created_at,
                "updated_at": VolumeGroup.updated_at, "project_id": VolumeGroup.project_id,
                "description": VolumeGroup.description,
                "availability_zone": VolumeGroup.availability_zone}
#: Volume statuses a volume may join or leave a group in (Cinder's group update).
JOINABLE = frozenset({states.AVAILABLE, states.IN_USE})
LEAVABLE = frozenset({states.AVAILABLE, states.IN_USE, states.ERROR, "error_deleting"})


#: The group lookup: ``visible(s, ctx, id)`` is the group if the caller may see it, else
#: ``not_found(id)``, a 404 (other projects' too).
GROUPS = lookup.Owned(VolumeGroup, "Group", gs.DELETED)
not_found, visible = GROUPS.not_found, GROUPS.visible


def members(s: Session, group_id: str) -> list[Volume]:
    """The group's volumes (not deleted), oldest first."""
    return list(s.scalars(select(Volume).where(
        Volume.group_id == group_id, Volume.status != states.DELETED)
        .order_by(Volume.created_at, Volume.id)))


# -- quota: one ``groups`` per group, counted by volumes.quotas' one counter ----------------------
reserve_group = quotas.reserve_group
release_group = quotas.release_group
group_usage = quotas.group_usage


# -- hooks of the volume service -----------------------------------------------------------------
def admit_volume(s: Session, ctx: AuthContext, group_id: str, volume_type_id: str) -> None:
    """A new volume may be made in this group (create with ``group_id``): the caller sees the
    group (404), it is ``available`` (or ``creating``, being made from a source) and allows
    the volume's type (400)."""
    group = visible(s, ctx, group_id)
    if group.status not in (gs.AVAILABLE, gs.CREATING):
        raise BadRequest(f"Invalid group: Group {group.id} status must be available, but "
                         f"current status is: {group.status}.")
    if volume_type_id not in (group.volume_type_ids or []):
        raise BadRequest(f"Invalid input received: Volume type {volume_type_id} is not "
                         f"supported by group {group.id}.")


def before_volume_delete(s: Session, vol: Volume) -> None:
    """A group's volume is deleted only by deleting its group with ``delete-volumes`` (the
    group is then ``deleting``); anything else is Cinder's 400."""
    if vol.group_id is None:
        return
    group = s.get(VolumeGroup, vol.group_id)
    if group is not None and group.status not in (gs.DELETING, gs.DELETED):
        raise BadRequest(f"Invalid volume: Volume status must be available or error or "
                         f"error_extending and must not be migrating, attached, belong to a "
                         f"group or have snapshots; volume {vol.id} belongs to group "
                         f"{group.id}.")


def _fresh(s: Session, group: VolumeGroup) -> bool:
    """Whether a volume of the group (deleted ones too) changed since the group did: a
    status an admin set with ``reset_status`` is left alone until then."""
    last = s.scalar(select(func.max(Volume.updated_at)).where(Volume.group_id == group.id))
    return last is not None and last >= group.updated_at


def settle(s: Session, group: VolumeGroup, now: bool = False) -> VolumeGroup:
    """Finish what a group waits for (module docstring) if its volumes moved since it did
    (or ``now``: right after this module moved it); returns it as it is now."""
    waiting = (group.status == gs.CREATING and (group.group_snapshot_id or
                                                group.source_group_id)) \
        or group.status == gs.DELETING
    if not waiting or not (now or _fresh(s, group)):
        return group
    new = gs.settled(group.status, {v.status for v in members(s, group.id)})
    if new == gs.DELETED:
        gs.group_transition(s, group.id, {gs.DELETING}, gs.DELETED, "delete",
                            deleted_at=utcnow())
        release_group(s, group.project_id)
    elif new is not None:
        gs.group_transition(s, group.id, {group.status}, new)
    s.refresh(group)
    return group


@dataclass
class GroupRequest:
    """A validated ``POST /groups`` (``group_type`` and ``volume_types`` resolved to ids) or
    ``create-from-src`` body."""

    name: str | None = None
    description: str | None = None
    group_type_id: str = ""
    volume_type_ids: list[str] = field(default_factory=list)
    group_snapshot_id: str | None = None
    source_group_id: str | None = None


def list_conditions(args: Mapping[str, str], version: Version, admin: bool
                    ) -> list[ColumnElement]:
    """Filters of ``GET /groups[/detail]``: Cinder has no user filters for groups, so a
    non-admin's filter is ignored before 3.31 and a 400 from then on; an admin filters on
    any column (an unknown key matches nothing, as Cinder's database layer)."""
    params = query.caller_filters(args, version, admin, frozenset(),
                                   query.CONTROL | {"list_volume"})
    return query.column_conditions(params, {
        **SORT_COLUMNS, "group_type": VolumeGroup.group_type_id,
        "group_type_id": VolumeGroup.group_type_id})


class GroupService:
    """Groups, each call its own transaction; ``volumes`` is the volume service (volume
    creates and deletes go through it), ``types`` the volume type service."""

    def __init__(self, db: Database, volumes, types) -> None:
        self.db, self.volumes, self.types = db, volumes, types

    def get(self, ctx: AuthContext, group_id: str) -> VolumeGroup:
        with self.db.session() as s:
            return settle(s, visible(s, ctx, group_id))

    def member_ids(self, group_id: str) -> list[str]:
        with self.db.session() as s:
            return [v.id for v in members(s, group_id)]

    def list(self, ctx: AuthContext, conditions: list[ColumnElement], all_projects: bool,
             sort: list[tuple[str, str]]) -> list[VolumeGroup]:
        with self.db.session() as s:
            stmt = query.ordered(GROUPS.listing(ctx, all_projects, conditions), sort,
                                  SORT_COLUMNS)
            return GROUPS.settled(s, stmt, settle)

    def create(self, ctx: AuthContext, req: GroupRequest) -> VolumeGroup:
        """Count quota and record the group (``available``: nothing to make on a host)."""
        with self.db.session() as s:
            group_types.visible(s, ctx.is_admin, req.group_type_id)
            reserve_group(s, ctx.project_id, self.volumes.settings.quota)
            group = VolumeGroup(
                id=new_uuid(), name=req.name, description=req.description,
                project_id=ctx.project_id, user_id=ctx.user_id, status=gs.AVAILABLE,
                availability_zone=self.volumes.settings.zone,
                group_type_id=req.group_type_id, volume_type_ids=list(req.volume_type_ids))
            s.add(group)
            s.flush()
            s.refresh(group)
            return group

    def _sources(self, s: Session, ctx: AuthContext, req: GroupRequest
                 ) -> tuple[VolumeGroup, list[tuple[str | None, str | None, str]]]:
        """The source group and, per new volume, (snapshot_id, source_volid, volume type)."""
        if req.group_snapshot_id is not None:
            from volumes.group_snapshots import visible as visible_snapshot
            gsnap = visible_snapshot(s, ctx, req.group_snapshot_id)
            if gsnap.status != gs.AVAILABLE:
                raise BadRequest(f"Invalid group snapshot: Group snapshot {gsnap.id} status "
                                 f"must be available, but current status is: "
                                 f"{gsnap.status}.")
            source = s.get(VolumeGroup, gsnap.group_id)
            snaps = s.scalars(select(VolumeSnapshot).where(
                VolumeSnapshot.group_snapshot_id == gsnap.id,
                VolumeSnapshot.status != states.S_DELETED).order_by(VolumeSnapshot.created_at))
            plan = [(x.id, None, s.get(Volume, x.volume_id).volume_type_id) for x in snaps]
            return source, plan
        source = visible(s, ctx, req.source_group_id)
        if source.status != gs.AVAILABLE:
            raise BadRequest(f"Invalid group: Source group {source.id} status must be "
                             f"available, but current status is: {source.status}.")
        return source, [(None, v.id, v.volume_type_id) for v in members(s, source.id)]

    def create_from_source(self, ctx: AuthContext, req: GroupRequest) -> VolumeGroup:
        """3.14 ``create-from-src``: a group of the source's types holding a new volume per
        snapshot of the group snapshot, or a clone of each volume of the source group. The
        group is ``creating`` until they are made (:func:`settle`); if one cannot even be
        queued (quota), the group is ``error`` and the error is the answer."""
        from volumes.service import VolumeRequest

        with self.db.session() as s:
            source, plan = self._sources(s, ctx, req)
            reserve_group(s, ctx.project_id, self.volumes.settings.quota)
            group = VolumeGroup(
                id=new_uuid(), name=req.name, description=req.description,
                project_id=ctx.project_id, user_id=ctx.user_id, status=gs.CREATING,
                availability_zone=self.volumes.settings.zone,
                group_type_id=source.group_type_id,
                volume_type_ids=list(source.volume_type_ids or []),
                group_snapshot_id=req.group_snapshot_id, source_group_id=req.source_group_id)
            s.add(group)
        try:
            for snapshot_id, source_volid, type_id in plan:
                self.volumes.create(ctx, VolumeRequest(
                    size=None, snapshot_id=snapshot_id, source_volid=source_volid,
                    volume_type_id=type_id, group_id=group.id))
        except MinicloudError:
            with self.db.session() as s:
                gs.group_transition(s, group.id, {gs.CREATING}, gs.ERROR)
            raise
        with self.db.session() as s:
            return settle(s, visible(s, ctx, group.id), now=True)

    def update(self, ctx: AuthContext, group_id: str, changes: dict, add: list[str],
               remove: list[str]) -> None:
        """Rename, describe, add and remove members (Cinder's rules, module docstring), in
        one transaction: every volume moves by a compare-and-swap on its status and group."""
        with self.db.session() as s:
            group = settle(s, visible(s, ctx, group_id))
            if (add or remove) and group.status != gs.AVAILABLE:
                raise BadRequest(f"Invalid group: Group {group.id} status must be available, "
                                 f"but current status is: {group.status}.")
            for vid in add:
                self._add(s, ctx, group, vid)
            for vid in remove:
                self._remove(s, group, vid)
            if changes:
                GROUPS.write(s, group.id, **changes)

    def _add(self, s: Session, ctx: AuthContext, group: VolumeGroup, vid: str) -> None:
        why = f"Cannot add volume {vid} to group {group.id} because"
        vol = s.get(Volume, vid)
        if vol is None or vol.status == states.DELETED or vol.project_id != group.project_id:
            raise BadRequest(f"Invalid volume: {why} volume cannot be found.")
        if vol.group_id is not None:
            raise BadRequest(f"Invalid volume: {why} it is already in group {vol.group_id}.")
        if vol.volume_type_id not in (group.volume_type_ids or []):
            raise BadRequest(f"Invalid volume: {why} volume type {vol.volume_type_id} is not "
                             f"supported by the group.")
        done = s.execute(update(Volume).where(
            Volume.id == vid, Volume.group_id.is_(None), Volume.status.in_(JOINABLE))
            .values(group_id=group.id).execution_options(synchronize_session=False))
        if done.rowcount != 1:
            raise BadRequest(f"Invalid volume: {why} volume is in an invalid state: "
                             f"{vol.status}. Valid states are: {sorted(JOINABLE)}.")

    @staticmethod
    def _remove(s: Session, group: VolumeGroup, vid: str) -> None:
        why = f"Cannot remove volume {vid} from group {group.id} because"
        vol = s.get(Volume, vid)
        if vol is None or vol.group_id != group.id or vol.status == states.DELETED:
            raise BadRequest(f"Invalid volume: {why} it is not in the group.")
        done = s.execute(update(Volume).where(
            Volume.id == vid, Volume.group_id == group.id, Volume.status.in_(LEAVABLE))
            .values(group_id=None).execution_options(synchronize_session=False))
        if done.rowcount != 1:
            raise BadRequest(f"Invalid volume: {why} volume is in an invalid state: "
                             f"{vol.status}. Valid states are: {sorted(LEAVABLE)}.")

    def delete(self, ctx: AuthContext, group_id: str, delete_volumes: bool) -> None:
        """``available``/``error`` -> ``deleting``; with ``delete-volumes`` each volume is
        then deleted through the volume service (its delete task queued); the group is
        ``deleted`` when they are gone (:func:`settle`). Refused (400) while it has group
        snapshots, or volumes without ``delete-volumes``, or a volume that is attached, has
        snapshots or is not in a deletable status."""
        with self.db.session() as s:
            group = settle(s, visible(s, ctx, group_id))
            self._check_deletable(s, group, delete_volumes)
            vols = [v.id for v in members(s, group.id)]
            gs.group_transition(s, group.id, gs.GROUP_DELETABLE, gs.DELETING, "delete")
            s.refresh(group)
            settle(s, group, now=True)
        try:
            for vid in vols:
                self.volumes.delete(ctx, vid)
        except MinicloudError:
            with self.db.session() as s:
                gs.group_transition(s, group_id, {gs.DELETING}, gs.ERROR_DELETING)
            raise

    @staticmethod
    def _check_deletable(s: Session, group: VolumeGroup, delete_volumes: bool) -> None:
        if group.status not in gs.GROUP_DELETABLE:
            raise BadRequest(f"Invalid group: Group status must be available or error, but "
                             f"current status is: {group.status}.")
        if s.scalar(select(GroupSnapshot.id).where(GroupSnapshot.group_id == group.id,
                                                   GroupSnapshot.status != gs.DELETED)):
            raise BadRequest(f"Invalid group: Group {group.id} still has dependent group "
                             f"snapshots.")
        vols = members(s, group.id)
        if vols and not delete_volumes:
            raise BadRequest(f"Invalid group: Group {group.id} still contains volumes. The "
                             f"delete-volumes flag is required to delete it.")
        for vol in vols:
            if vol.attachments or vol.status not in states.DELETABLE:
                raise BadRequest(f"Invalid group: Volume {vol.id} in group {group.id} is "
                                 f"{vol.status} or attached; it must be available or error "
                                 f"and detached.")
            if s.scalar(select(VolumeSnapshot.id).where(
                    VolumeSnapshot.volume_id == vol.id,
                    VolumeSnapshot.status != states.S_DELETED)):
                raise BadRequest("Invalid group: Volume in group still has dependent "
                                 "snapshots.")

    def reset_status(self, ctx: AuthContext, group_id: str, status: str) -> None:
        """Admins' escape hatch: any known status, without the table (as Cinder)."""
        with self.db.session() as s:
            GROUPS.reset_status(s, ctx, group_id, status, gs.GROUP_STATUSES)

    def usage(self, project_id: str) -> int:
        with self.db.session() as s:
            return group_usage(s, project_id)
