"""Volume snapshots (Cinder's ``/snapshots``), and volumes made from a snapshot or a volume.

A snapshot is taken by the agent of its volume's host (:mod:`volumes.agent`, task
``create_snapshot``) as a copy of the volume's bytes (:mod:`volumes.backends`); its task is
queued under the volume's id, so it runs in order with the volume's other work (an extend
before it, a cascaded delete after it). Status changes are compare-and-swaps
(:func:`volumes.states.snapshot_transition`); another project's snapshot is a 404, as one
that does not exist. Each snapshot counts one ``snapshots`` and its size in ``gigabytes``
(:mod:`volumes.quotas`) until it is deleted.

Dependencies, checked in the transaction that changes a status: a volume with snapshots is
deleted only with ``cascade`` (its snapshots go first, in its task order); a snapshot or a
volume that a volume is being made from (``creating``) is not deleted until that is done.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, false, select, update
from sqlalchemy.orm import Session

from minicloud.db import Database, new_uuid, utcnow
from minicloud.errors import BadRequest, NotFound
from minicloud.identity.tokens import AuthContext
from minicloud.microversion import Version
from minicloud.validation import query_int
from volumes import lookup, query, quotas, states
from volumes.models import Volume, VolumeSnapshot, VolumeTask

SORT_COLUMNS = {"id": VolumeSnapshot.id, "name": VolumeSnapshot.name,
                "status": VolumeSnapshot.status, "size": VolumeSnapshot.size,
                "volume_id": VolumeSnapshot.volume_id,
                "created_at": VolumeSnapshot.created_at,
                "updated_at": VolumeSnapshot.updated_at,
                "project_id": VolumeSnapshot.project_id,
                "description": VolumeSnapshot.description,
                # Cinder's database layer sorts by its column names too (Tempest uses these)
                "display_name": VolumeSnapshot.name,
                "display_description": VolumeSnapshot.description}
#: Cinder's resource filters for snapshots (resource_filters.json).
USER_FILTERS = frozenset({"name", "status", "volume_id", "metadata", "availability_zone"})
#: Volume statuses a volume may be cloned in (Cinder clones in-use volumes too).
CLONE_SOURCE = frozenset({states.AVAILABLE, states.IN_USE})


@dataclass
class SnapshotRequest:
    """A validated ``POST /snapshots`` body."""

    volume_id: str
    name: str | None = None
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    force: bool = False


@dataclass
class SnapshotQuery(query.ListQuery):
    """A validated snapshot list request (paging aside but Cinder's ``offset``)."""

    offset: int = 0  # items skipped after the marker, as Cinder's ``offset``

    def apply(self, stmt: Select) -> Select:
        return query.ordered(stmt.where(*self.conditions),
                              self.sort or [("created_at", "desc"), ("id", "desc")],
                              SORT_COLUMNS)

    def keep(self, snap: VolumeSnapshot) -> bool:
        meta = snap.metadata_ or {}
        return all(meta.get(k) == v for k, v in self.metadata.items())


@dataclass(frozen=True)
class Origin:
    """What a new volume is made from: a snapshot or a volume, checked visible and usable."""

    snapshot_id: str | None
    source_volid: str | None
    size: int
    host: str | None
    bootable: bool
    image_metadata: dict


#: The snapshot lookup: ``visible(s, ctx, id)`` is the snapshot if the caller may see it,
#: else ``not_found(id)``, a 404 (other projects' too).
SNAPSHOTS = lookup.Owned(VolumeSnapshot, "Snapshot", states.S_DELETED)
not_found, visible = SNAPSHOTS.not_found, SNAPSHOTS.visible


def _enqueue(s: Session, volume_id: str, host: str, action: str, snapshot_id: str) -> None:
    s.add(VolumeTask(volume_id=volume_id, host=host, action=action,
                     params={"snapshot_id": snapshot_id}))
    s.flush()


def _guard(s: Session, model: type, row_id: str, statuses: frozenset[str]) -> bool:
    """Whether ``row_id`` is still in one of ``statuses``, asked as a write (a no-op
    ``UPDATE ... WHERE status IN``) so that the answer holds until the transaction ends."""
    return s.execute(update(model).where(model.id == row_id, model.status.in_(statuses))
                     .values(status=model.status, updated_at=model.updated_at)
                     .execution_options(synchronize_session=False)).rowcount == 1


def _being_made_from(s: Session, column, source_id: str) -> int:
    return len(list(s.scalars(select(Volume.id).where(
        column == source_id, Volume.status == states.CREATING))))


# -- hooks of the volume service (create from an origin, delete with dependents) ---------------
def origin(s: Session, ctx: AuthContext, snapshot_id: str | None, source_volid: str | None,
           visible_volume) -> Origin:
    """The snapshot or volume a new volume is made from: 404 when the caller cannot see it
    (Cinder's answer), 400 when it is not in a status to copy from; it stays so until the
    caller's transaction ends (:func:`_guard`)."""
    if snapshot_id is not None:
        snap = visible(s, ctx, snapshot_id)
        if not _guard(s, VolumeSnapshot, snap.id, frozenset({states.S_AVAILABLE})):
            raise BadRequest(f"Invalid snapshot: Originating snapshot status must be one of "
                             f"'available' values, but it is {snap.status}.")
        vol = s.get(Volume, snap.volume_id)
        return Origin(snap.id, None, snap.size, snap.host, bool(vol and vol.bootable),
                      dict(vol.image_metadata or {}) if vol else {})
    vol = visible_volume(s, ctx, source_volid)
    if not _guard(s, Volume, vol.id, CLONE_SOURCE):
        raise BadRequest(f"Invalid volume: Unable to create a volume from an originating "
                         f"source volume when its status is not one of 'available', "
                         f"'in-use'; it is {vol.status}.")
    return Origin(None, vol.id, vol.size, vol.host, vol.bootable,
                  dict(vol.image_metadata or {}))


def check_size(found: Origin, size: int | None) -> int:
    """The new volume's size: the origin's by default, never smaller (Cinder's 400)."""
    if size is None:
        return found.size
    if size < found.size:
        what = "the snapshot size" if found.snapshot_id else "original volume size"
        raise BadRequest(f"Invalid input received: Volume size '{size}'GB cannot be smaller "
                         f"than {what} {found.size}GB. They must be >= original "
                         f"{'snapshot' if found.snapshot_id else 'volume'} size.")
    return size


def of_volume(s: Session, volume_id: str) -> list[VolumeSnapshot]:
    """The volume's snapshots (not deleted)."""
    return list(s.scalars(select(VolumeSnapshot).where(
        VolumeSnapshot.volume_id == volume_id, VolumeSnapshot.status != states.S_DELETED)))


def before_volume_delete(s: Session, vol: Volume, cascade: bool) -> None:
    """Refuse (400) to delete a volume that has snapshots, unless ``cascade``: then each
    snapshot (``available`` or ``error``) goes ``deleting`` with its delete task queued
    ahead of the volume's. A volume that a clone is being made from is refused too."""
    if _being_made_from(s, Volume.source_volid, vol.id):
        raise BadRequest(f"Invalid volume: Volume {vol.id} is the source of a volume being "
                         f"created; delete it when that is done.")
    snaps = of_volume(s, vol.id)
    if not snaps:
        return
    if not cascade:
        raise BadRequest(f"Invalid volume: Volume still has {len(snaps)} dependent "
                         f"snapshots.")
    for snap in snaps:
        if _being_made_from(s, Volume.snapshot_id, snap.id):
            raise BadRequest(f"Invalid snapshot: Snapshot {snap.id} is the source of a "
                             f"volume being created.")
        states.snapshot_transition(s, snap.id, {states.S_AVAILABLE, states.S_ERROR},
                                   states.S_DELETING, "delete")
        if snap.host is None:
            finish_delete(s, snap)
        else:
            _enqueue(s, vol.id, snap.host, "delete_snapshot", snap.id)


def begin_delete(s: Session, snap: VolumeSnapshot, allowed: frozenset[str]) -> None:
    """In the caller's transaction: ``allowed`` -> ``deleting`` and the delete task queued
    (or, never taken on a host, gone at once). A snapshot a volume is being made from is
    refused (400)."""
    if _being_made_from(s, Volume.snapshot_id, snap.id):
        raise BadRequest(f"Invalid snapshot: Snapshot {snap.id} is the source of a "
                         f"volume being created.")
    states.snapshot_transition(s, snap.id, allowed, states.S_DELETING, "delete")
    if snap.host is None:
        finish_delete(s, snap)
    else:
        _enqueue(s, snap.volume_id, snap.host, "delete_snapshot", snap.id)


def finish_delete(s: Session, snap: VolumeSnapshot) -> None:
    """The snapshot is gone from its host: hide it and give its quota back."""
    states.snapshot_transition(s, snap.id, {states.S_DELETING}, states.S_DELETED, "delete",
                               deleted_at=utcnow())
    vol = s.get(Volume, snap.volume_id)
    quotas.release_snapshot(s, snap.project_id, snap.size,
                            vol.volume_type_id if vol is not None else None)


def take(s: Session, ctx: AuthContext, volumes, req: SnapshotRequest,
         group_snapshot_id: str | None = None) -> VolumeSnapshot:
    """In the caller's transaction: count quota, record the snapshot (``creating``) and queue
    its copy. The volume must be ``available``, or ``in-use`` with ``force`` (400);
    ``volumes`` is the volume service (visibility, quota settings). A group snapshot
    (:mod:`volumes.group_snapshots`) takes one per member volume this way."""
    vol = volumes.visible(s, ctx, req.volume_id)
    allowed = states.SNAPSHOT_SOURCE_FORCED if req.force else states.SNAPSHOT_SOURCE
    if vol.host is None or not _guard(s, Volume, vol.id, allowed):
        raise BadRequest(f"Invalid volume: Volume {vol.id} status must be "
                         f"{' or '.join(sorted(allowed))}, but current status is: "
                         f"{vol.status}.")
    quotas.reserve_snapshot(s, vol.project_id, volumes.settings.quota, vol.size,
                            vol.volume_type_id)
    snap = VolumeSnapshot(
        id=new_uuid(), volume_id=vol.id, project_id=vol.project_id,
        user_id=ctx.user_id, name=req.name, description=req.description,
        size=vol.size, status=states.S_CREATING, progress="0%", host=vol.host,
        metadata_=dict(req.metadata), group_snapshot_id=group_snapshot_id)
    s.add(snap)
    s.flush()
    _enqueue(s, vol.id, vol.host, "create_snapshot", snap.id)
    return snap


class SnapshotService:
    """Snapshots, each call its own transaction; ``volumes`` is the volume service (its
    ``visible`` check and quota settings)."""

    def __init__(self, db: Database, volume_service) -> None:
        self.db, self.volumes = db, volume_service

    def get(self, ctx: AuthContext, snapshot_id: str) -> VolumeSnapshot:
        with self.db.session() as s:
            return visible(s, ctx, snapshot_id)

    def list(self, ctx: AuthContext, query: SnapshotQuery) -> list[VolumeSnapshot]:
        with self.db.session() as s:
            stmt = query.apply(SNAPSHOTS.listing(ctx, query.all_projects))
            return [x for x in s.scalars(stmt) if query.keep(x)]

    def create(self, ctx: AuthContext, req: SnapshotRequest) -> VolumeSnapshot:
        """Count quota, record the snapshot (``creating``) and queue its copy, in one
        transaction. The volume must be ``available``, or ``in-use`` with ``force``."""
        with self.db.session() as s:
            snap = take(s, ctx, self.volumes, req)
            s.refresh(snap)
            return snap

    def update(self, ctx: AuthContext, snapshot_id: str, changes: dict) -> VolumeSnapshot:
        with self.db.session() as s:
            snap = visible(s, ctx, snapshot_id)
            if changes:
                SNAPSHOTS.write(s, snap.id, **changes)
        return self.get(ctx, snapshot_id)

    def delete(self, ctx: AuthContext, snapshot_id: str, force: bool = False) -> None:
        """``available``/``error``/``error_deleting`` -> ``deleting`` and the delete task;
        ``force`` (admins, ``os-force_delete``) also from ``creating``, and queues the delete
        again for one stuck ``deleting`` (deleting twice is harmless)."""
        with self.db.session() as s:
            snap = visible(s, ctx, snapshot_id)
            if force and snap.status == states.S_DELETING and snap.host is not None:
                _enqueue(s, snap.volume_id, snap.host, "delete_snapshot", snap.id)
                return
            allowed = states.SNAPSHOT_FORCE_DELETABLE if force else states.SNAPSHOT_DELETABLE
            if snap.status not in allowed or snap.group_snapshot_id is not None:
                raise BadRequest(f"Invalid snapshot: Snapshot status must be "
                                 f"{' or '.join(sorted(allowed))} to delete and must not be "
                                 f"part of a group, but the current status is: "
                                 f"{snap.status}.")
            begin_delete(s, snap, allowed)

    def reset_status(self, ctx: AuthContext, snapshot_id: str, status: str) -> None:
        """Admins' escape hatch: any known status, without the table (as Cinder)."""
        with self.db.session() as s:
            SNAPSHOTS.reset_status(s, ctx, snapshot_id, status, states.SNAPSHOT_STATUSES)

    def update_status(self, ctx: AuthContext, snapshot_id: str, status: str,
                      progress: str | None) -> None:
        """``os-update_snapshot_status`` (an external snapshotter reports): only the moves
        of the table, as Cinder's ``creating -> available|error``,
        ``deleting -> error_deleting``."""
        with self.db.session() as s:
            snap = visible(s, ctx, snapshot_id)
            if status == snap.status or status not in states.SNAPSHOT_TRANSITIONS.get(
                    snap.status, frozenset()) or status in (states.S_DELETED,
                                                            states.S_DELETING):
                raise BadRequest(f"Invalid input received: Snapshot status {snap.status} "
                                 f"not allowed to change to {status}.")
            values = {"progress": progress} if progress is not None else {}
            states.snapshot_transition(s, snap.id, {snap.status}, status, "update status",
                                       **values)

    def set_metadata(self, ctx: AuthContext, snapshot_id: str, items: dict[str, str],
                     replace: bool = False) -> dict[str, str]:
        with self.db.session() as s:
            snap = visible(s, ctx, snapshot_id)
            meta = dict(items) if replace else {**(snap.metadata_ or {}), **items}
            SNAPSHOTS.write(s, snap.id, metadata_=meta)
            return meta

    def delete_metadata(self, ctx: AuthContext, snapshot_id: str, key: str) -> None:
        with self.db.session() as s:
            snap = visible(s, ctx, snapshot_id)
            meta = dict(snap.metadata_ or {})
            if key not in meta:
                raise NotFound(f"Metadata item was not found: {key}")
            del meta[key]
            SNAPSHOTS.write(s, snap.id, metadata_=meta)

    def count(self, project_id: str) -> int:
        with self.db.session() as s:
            return quotas.snapshot_usage(s, project_id)


def _condition(key: str, raw: str, zone: str, q: SnapshotQuery) -> ColumnElement | None:
    if key in ("name", "status", "volume_id", "project_id"):
        return getattr(VolumeSnapshot, key) == raw
    if key == "metadata":
        q.metadata.update(query.literal_dict(raw, key))
        return None
    if key == "availability_zone":  # every snapshot is in its volume's zone, the one zone
        return None if raw == zone else false()
    return false()  # an admin's unknown filter matches nothing, as Cinder's database layer


def parse_query(args: Mapping[str, str], version: Version, admin: bool,
                all_tenants_allowed: bool, zone: str) -> SnapshotQuery:
    """``GET /snapshots[/detail]`` parameters, as :func:`volumes.query.parse` reads a
    volume list's: Cinder's snapshot filters (unknown ones a non-admin's 400 from 3.31),
    ``sort``/``sort_key``/``sort_dir``, ``with_count`` (3.45), ``all_tenants`` (admins),
    and Cinder's ``offset``."""
    q = SnapshotQuery(sort=query.sort_params(args, SORT_COLUMNS),
                      offset=query_int(args, "offset", 0, minimum=0))
    q.scope(args, version, all_tenants_allowed)
    for key, raw in query.caller_filters(args, version, admin, USER_FILTERS).items():
        q.where(_condition(key, raw, zone, q))
    return q
