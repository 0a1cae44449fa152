"""Group snapshots (Cinder's ``/group_snapshots``, 3.14): one volume snapshot of every
volume of a group, taken in one transaction through the snapshot code
(:func:`volumes.snapshots.take`: quota, ``creating``, the copy queued on each volume's host).

Each member snapshot carries the group snapshot's id (``group_snapshot_id``) and its name
and description, as Cinder's; it is deleted only with its group snapshot. An ``in-use``
volume is snapshotted too (crash-consistent, as ``force`` does for one snapshot). The group
snapshot is ``creating`` until every member is ``available`` (``error`` if one failed),
and ``deleting`` until every member is gone (``error_deleting`` if one failed): both are
settled whenever it is read (:func:`settle`), as groups are. Another project's group
snapshot is a 404, as one that does not exist.
"""
from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from minicloud.db import Database, new_uuid, utcnow
from minicloud.errors import BadRequest
from minicloud.identity.tokens import AuthContext
from minicloud.microversion import Version
from volumes import group_states as gs
from volumes import groups, lookup, query, snapshots, states
from volumes.models import GroupSnapshot, VolumeSnapshot

SORT_COLUMNS = {"id": GroupSnapshot.id, "name": GroupSnapshot.name,
                "status": GroupSnapshot.status, "group_id": GroupSnapshot.group_id,
                "created_at": GroupSnapshot.created_at, "updated_at": GroupSnapshot.updated_at,
                "project_id": GroupSnapshot.project_id,
                "description": GroupSnapshot.description}
#: Cinder's resource filters for group snapshots (resource_filters.json).
USER_FILTERS = frozenset({"status", "group_id"})


#: The group snapshot lookup: ``visible(s, ctx, id)`` is the group snapshot if the caller
#: may see it, else ``not_found(id)``, a 404 (other projects' too).
GROUP_SNAPSHOTS = lookup.Owned(GroupSnapshot, "GroupSnapshot", gs.DELETED)
not_found, visible = GROUP_SNAPSHOTS.not_found, GROUP_SNAPSHOTS.visible


def member_snapshots(s: Session, group_snapshot_id: str) -> list[VolumeSnapshot]:
    return list(s.scalars(select(VolumeSnapshot).where(
        VolumeSnapshot.group_snapshot_id == group_snapshot_id,
        VolumeSnapshot.status != states.S_DELETED)))


def settle(s: Session, gsnap: GroupSnapshot, now: bool = False) -> GroupSnapshot:
    """Finish what a group snapshot waits for (module docstring) if a member snapshot
    (deleted ones too) changed since it did, or ``now`` (right after this module moved it):
    a status an admin set with ``reset_status`` is left alone until then."""
    if gsnap.status not in (gs.CREATING, gs.DELETING):
        return gsnap
    last = s.scalar(select(func.max(VolumeSnapshot.updated_at)).where(
        VolumeSnapshot.group_snapshot_id == gsnap.id))
    if not now and (last is None or last < gsnap.updated_at):
        return gsnap
    new = gs.settled(gsnap.status, {x.status for x in member_snapshots(s, gsnap.id)})
    if new == gs.DELETED:
        gs.group_snapshot_transition(s, gsnap.id, {gs.DELETING}, gs.DELETED, "delete",
                                     deleted_at=utcnow())
    elif new is not None:
        gs.group_snapshot_transition(s, gsnap.id, {gsnap.status}, new)
    s.refresh(gsnap)
    return gsnap


def list_conditions(args: Mapping[str, str], version: Version, admin: bool
                    ) -> list[ColumnElement]:
    """Filters of ``GET /group_snapshots[/detail]``: ``status`` and ``group_id`` for
    everyone (another filter: ignored before 3.31, a non-admin's 400 from then on); an
    admin's unknown key matches nothing."""
    return query.column_conditions(
        query.caller_filters(args, version, admin, USER_FILTERS), SORT_COLUMNS)


class GroupSnapshotService:
    """Group snapshots, each call its own transaction; ``volumes`` is the volume service."""

    def __init__(self, db: Database, volumes) -> None:
        self.db, self.volumes = db, volumes

    def get(self, ctx: AuthContext, group_snapshot_id: str) -> GroupSnapshot:
        with self.db.session() as s:
            return settle(s, visible(s, ctx, group_snapshot_id))

    def list(self, ctx: AuthContext, conditions: list[ColumnElement], all_projects: bool,
             sort: list[tuple[str, str]]) -> list[GroupSnapshot]:
        with self.db.session() as s:
            stmt = query.ordered(GROUP_SNAPSHOTS.listing(ctx, all_projects, conditions),
                                  sort, SORT_COLUMNS)
            return GROUP_SNAPSHOTS.settled(s, stmt, settle)

    def create(self, ctx: AuthContext, group_id: str, name: str | None,
               description: str | None) -> GroupSnapshot:
        """Record the group snapshot and take a snapshot of each member volume, in one
        transaction: the group must be ``available`` and every member ``available`` or
        ``in-use`` (400), the snapshots fit the quota (413), or nothing is recorded."""
        with self.db.session() as s:
            group = groups.settle(s, groups.visible(s, ctx, group_id))
            if group.status != gs.AVAILABLE:
                raise BadRequest(f"Invalid group: Group {group.id} status must be available, "
                                 f"but current status is: {group.status}.")
            gsnap = GroupSnapshot(
                id=new_uuid(), group_id=group.id, group_type_id=group.group_type_id,
                name=name, description=description, project_id=group.project_id,
                user_id=ctx.user_id, status=gs.CREATING)
            s.add(gsnap)
            s.flush()
            for vol in groups.members(s, group.id):
                snapshots.take(s, ctx, self.volumes, snapshots.SnapshotRequest(
                    volume_id=vol.id, name=name, description=description, force=True),
                    group_snapshot_id=gsnap.id)
            return settle(s, gsnap, now=True)

    def delete(self, ctx: AuthContext, group_snapshot_id: str) -> None:
        """``available``/``error``/``error_deleting`` -> ``deleting``, and each member
        snapshot's delete queued, in one transaction (400 when one cannot be deleted: being
        copied into a new volume, or not in a deletable status)."""
        with self.db.session() as s:
            gsnap = settle(s, visible(s, ctx, group_snapshot_id))
            if gsnap.status not in gs.SNAPSHOT_DELETABLE:
                raise BadRequest(f"Invalid group snapshot: Group snapshot status must be "
                                 f"available or error, but current status is: "
                                 f"{gsnap.status}.")
            gs.group_snapshot_transition(s, gsnap.id, gs.SNAPSHOT_DELETABLE, gs.DELETING,
                                         "delete")
            for snap in member_snapshots(s, gsnap.id):
                if snap.status != states.S_DELETING:
                    snapshots.begin_delete(s, snap, states.SNAPSHOT_DELETABLE)
            s.refresh(gsnap)
            settle(s, gsnap, now=True)

    def reset_status(self, ctx: AuthContext, group_snapshot_id: str, status: str) -> None:
        """Admins' escape hatch: any known status, without the table (as Cinder)."""
        with self.db.session() as s:
            GROUP_SNAPSHOTS.reset_status(s, ctx, group_snapshot_id, status,
                                         gs.SNAPSHOT_STATUSES)
