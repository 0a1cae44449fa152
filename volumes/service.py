"""Volume domain logic: create, show, list, update, delete, extend, metadata, status actions.

The API process validates, counts quota and enqueues durable tasks in the catalog; the volume
agent on the volume's host does the work (:mod:`volumes.agent`). Every status change is a
compare-and-swap (:func:`volumes.states.transition`). Another project's volume is a 404, as
for a volume that does not exist (hardening.md 5). Attachments are in
:mod:`volumes.attachments`.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from minicloud.db import Database, new_uuid, utcnow
from minicloud.errors import BadRequest, MinicloudError, NotFound, ServiceUnavailable
from minicloud.identity.tokens import AuthContext
from minicloud.wsgi import request_id
from volumes import groups, lookup, messages, quotas, scheduler, snapshots, states
from volumes.glance import CONVERTIBLE, ImageClient, image_metadata
from volumes.host_status import check_not_frozen
from volumes.models import DEFAULT_TYPE_ID, Volume, VolumeHost, VolumeTask, VolumeType
from volumes.query import VolumeQuery

GIB = 1024 ** 3
#: The volume lookup (:class:`volumes.lookup.Owned`): 404 "Volume <id> could not be found."
VOLUMES = lookup.Owned(Volume, "Volume", states.DELETED)
NO_HOST = "No valid backend was found. No volume agent has reported in recently."


@dataclass(frozen=True)
class Settings:
    """What the volume service needs from ``[volume]``."""

    quota: quotas.Limits
    portal_ip: str = "127.0.0.1"
    portal_port: int = 3260
    task_timeout: float = 60.0      # how long the API waits for an export/unexport
    service_down_time: float = 60.0  # an agent whose heartbeat is older is down
    zone: str = "nova"               # [volume] storage_availability_zone
    message_ttl: int = 2592000       # [volume] message_ttl: seconds a user message is kept

    @classmethod
    def from_conf(cls, conf) -> Settings:
        v = conf.volume
        return cls(quotas.Limits(v.quota_volumes, v.quota_gigabytes), v.iscsi_ip_address,
                   v.iscsi_port, v.task_timeout, v.service_down_time,
                   v.storage_availability_zone, message_ttl=v.message_ttl)


@dataclass
class VolumeRequest:
    """A validated ``POST /volumes`` body (null-valued fields already dropped)."""

    size: int | None
    name: str | None = None
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    image_ref: str | None = None
    source_volid: str | None = None  # a clone of this volume (volumes.snapshots)
    snapshot_id: str | None = None   # made from this snapshot (volumes.snapshots)
    volume_type_id: str = DEFAULT_TYPE_ID  # resolved by the API (volumes.types)
    group_id: str | None = None      # made in this group (volumes.groups, 3.13)


class TaskFailed(MinicloudError):
    """The agent reported a failure of a task the API waited on."""


class VolumeService:
    def __init__(self, db: Database, settings: Settings,
                 image_client: Callable[[str], ImageClient] | None = None) -> None:
        self.db, self.settings = db, settings
        self.image_client = image_client  # caller's token -> a client acting for them

    # -- reading -------------------------------------------------------------------------------
    @staticmethod
    def visible(s: Session, ctx: AuthContext, volume_id: str) -> Volume:
        """The volume if the caller may see it, else 404 (other projects' volumes too)."""
        return VOLUMES.visible(s, ctx, volume_id)

    def get(self, ctx: AuthContext, volume_id: str) -> Volume:
        with self.db.session() as s:
            return self.visible(s, ctx, volume_id)

    def list(self, ctx: AuthContext, query: VolumeQuery | None = None) -> list[Volume]:
        """The volumes ``query`` selects among those the caller may list (its project's;
        every project's for ``query.all_projects``, which the API grants admins only), in
        the query's order."""
        query = query or VolumeQuery(sort=[("created_at", "desc"), ("id", "desc")])
        with self.db.session() as s:
            stmt = query.apply(VOLUMES.listing(ctx, query.all_projects))
            return [v for v in s.scalars(stmt) if query.keep(v)]

    def summary(self, ctx: AuthContext, all_projects: bool = False
                ) -> tuple[int, int, dict[str, list[str]]]:
        """(count, total GB, every metadata key with its distinct values) of the volumes
        the caller lists (``GET /volumes/summary``)."""
        vols = self.list(ctx, VolumeQuery(all_projects=all_projects))
        meta: dict[str, set[str]] = {}
        for vol in vols:
            for key, value in (vol.metadata_ or {}).items():
                meta.setdefault(key, set()).add(value)
        return len(vols), sum(v.size for v in vols), \
            {k: sorted(values) for k, values in sorted(meta.items())}

    def backends(self) -> dict[str, str]:
        """Every volume host's backend name (for ``host@backend#pool``)."""
        with self.db.session() as s:
            return {name: backend for name, backend in
                    s.execute(select(VolumeHost.name, VolumeHost.backend))}

    # -- create ---------------------------------------------------------------------------------
    def _image(self, ctx: AuthContext, image_ref: str) -> dict:
        if self.image_client is None:
            raise BadRequest("Creating a volume from an image is not available here.")
        try:
            image = self.image_client(ctx.token).get(image_ref)
        except (NotFound, BadRequest):
            raise BadRequest("Invalid image identifier or unable to access requested "
                             "image.") from None
        if image.get("status") != "active":
            raise BadRequest(f"Image {image_ref} is not active.")
        if (image.get("disk_format") or "raw") not in CONVERTIBLE:
            raise BadRequest(f"Image {image_ref} has disk_format {image.get('disk_format')}; "
                             f"volumes are made from {', '.join(sorted(CONVERTIBLE))} images.")
        return image

    @staticmethod
    def _size_for_image(image: dict, size: int | None) -> int:
        needed = max(image.get("virtual_size") or 0, image.get("size") or 0)
        needed_gb = max(-(-needed // GIB), 1)
        min_disk = image.get("min_disk") or 0
        if size is None:
            return max(needed_gb, min_disk)
        if min_disk > size:
            raise BadRequest(f"Volume size {size}GB cannot be smaller than the image minDisk "
                             f"size {min_disk}GB.")
        if needed > size * GIB:
            raise BadRequest(f"Size of specified image {needed_gb}GB is larger than volume "
                             f"size {size}GB.")
        return size

    def hosts(self) -> list[tuple[VolumeHost, bool]]:
        """Every volume agent's host, and whether it is up (a fresh heartbeat)."""
        fresh = utcnow() - dt.timedelta(seconds=self.settings.service_down_time)
        with self.db.session() as s:
            rows = list(s.scalars(select(VolumeHost).order_by(VolumeHost.name)))
        return [(row, row.heartbeat_at >= fresh) for row in rows]

    def _pick_host(self, s: Session, volume_type_id: str | None = None) -> str | None:
        """A host whose backend satisfies the type's extra specs (volumes.scheduler)."""
        vtype = s.get(VolumeType, volume_type_id) if volume_type_id else None
        return scheduler.pick_host(s, vtype.extra_specs if vtype is not None else {},
                                   self.settings.service_down_time)

    def create(self, ctx: AuthContext, req: VolumeRequest) -> Volume:
        """Count quota, record the volume (``creating``) and its create task in one
        transaction; without a live agent the volume is ``error`` at once (as Cinder's
        scheduler does). A volume made from a snapshot or another volume
        (:func:`volumes.snapshots.origin`: 404 when the caller cannot see it) is made on the
        origin's host, at least the origin's size, bootable as the origin."""
        image = self._image(ctx, req.image_ref) if req.image_ref else None
        size = self._size_for_image(image, req.size) if image else req.size
        vol = Volume(id=new_uuid(), name=req.name, description=req.description,
                     project_id=ctx.project_id, user_id=ctx.user_id,
                     status=states.CREATING, metadata_=dict(req.metadata),
                     bootable=image is not None, image_id=image["id"] if image else None,
                     image_metadata=image_metadata(image) if image else {},
                     volume_type_id=req.volume_type_id,
                     availability_zone=self.settings.zone, group_id=req.group_id)
        with self.db.session() as s:
            if req.group_id is not None:
                groups.admit_volume(s, ctx, req.group_id, req.volume_type_id)
            if req.snapshot_id is not None or req.source_volid is not None:
                found = snapshots.origin(s, ctx, req.snapshot_id, req.source_volid,
                                         self.visible)
                size = snapshots.check_size(found, size)
                vol.snapshot_id, vol.source_volid = found.snapshot_id, found.source_volid
                vol.bootable, vol.image_metadata = found.bootable, found.image_metadata
                vol.host = found.host
            else:
                vol.host = self._pick_host(s, vol.volume_type_id)
            if size is None:
                raise BadRequest("Invalid input received: a size is required.")
            vol.size = size
            quotas.reserve(s, ctx.project_id, self.settings.quota, 1, size, volume_size=size,
                           volume_type_id=vol.volume_type_id)
            if vol.host is None:
                vol.status, vol.error = states.ERROR, scheduler.NO_VALID_BACKEND
            s.add(vol)
            s.flush()
            if vol.host is None:  # what Cinder's scheduler tells the user
                messages.record(s, vol.project_id, messages.SCHEDULE_ALLOCATE_VOLUME,
                                messages.NO_BACKEND_AVAILABLE, resource_uuid=vol.id,
                                ttl=self.settings.message_ttl)
            if vol.host is not None:
                self.enqueue(s, vol, "create", {"image_id": vol.image_id} if image else {})
            s.refresh(vol)  # loads every attribute now: the answer is the volume as created
        # Not re-read: the agent may already have finished, and the answer to a create is the
        # volume as it was created (``creating``), as Cinder's.
        return vol

    # -- tasks ----------------------------------------------------------------------------------
    @staticmethod
    def enqueue(s: Session, vol: Volume, action: str, params: dict | None = None) -> int:
        params = dict(params or {})
        if request_id() is not None:  # the request a user message names if the task fails
            params.setdefault("request_id", request_id())
        task = VolumeTask(volume_id=vol.id, host=vol.host, action=action, params=params)
        s.add(task)
        s.flush()
        return task.id

    def wait_task(self, task_id: int, timeout: float | None = None) -> None:
        """Wait for the agent to finish a task; raise :class:`TaskFailed` with its error, or
        503 when it did not finish in time (it stays queued and completes later)."""
        deadline = time.monotonic() + (self.settings.task_timeout if timeout is None
                                       else timeout)
        delay = 0.01
        while True:
            with self.db.session() as s:
                task = s.get(VolumeTask, task_id)
                state, error, host = task.state, task.error, task.host
            if state == "done":
                return
            if state in ("failed", "cancelled"):
                raise TaskFailed(f"The volume agent could not do it: {error}")
            if time.monotonic() >= deadline:
                raise ServiceUnavailable(f"The volume agent on {host} did not answer in time; "
                                         "the request stays queued.")
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    # -- changes --------------------------------------------------------------------------------
    def update(self, ctx: AuthContext, volume_id: str, changes: dict) -> Volume:
        """Set ``name``, ``description`` and/or (replace) ``metadata``."""
        with self.db.session() as s:
            vol = self.visible(s, ctx, volume_id)
            values = {k: v for k, v in changes.items() if k in ("name", "description")}
            if "metadata" in changes:
                values["metadata_"] = dict(changes["metadata"])
            if values:
                s.execute(update(Volume).where(Volume.id == vol.id)
                          .values(updated_at=utcnow(), **values))
        return self.get(ctx, volume_id)

    def delete(self, ctx: AuthContext, volume_id: str, force: bool = False,
               cascade: bool = False) -> None:
        """Delete from a deletable status; ``force`` (the API checked the caller may) adds
        ``error_deleting``; a volume with snapshots only with ``cascade``, which deletes
        them first (:func:`volumes.snapshots.before_volume_delete`)."""
        with self.db.session() as s:
            vol = self.visible(s, ctx, volume_id)
            allowed = states.FORCE_DELETABLE if force else states.DELETABLE
            if vol.status not in allowed or vol.attachments:
                raise BadRequest(f"Invalid volume: Volume status must be available or error "
                                 f"or error_extending and must not be migrating, attached, "
                                 f"belong to a group or have snapshots, but the current "
                                 f"status is: {vol.status}.")
            if vol.host is not None:
                check_not_frozen(s.get(VolumeHost, vol.host), "delete it")
            groups.before_volume_delete(s, vol)
            snapshots.before_volume_delete(s, vol, cascade)
            if vol.host is None:  # never reached an agent: nothing exists anywhere
                states.transition(s, vol.id, {vol.status}, states.DELETING, "delete")
                self.finish_delete(s, vol)
                return
            states.transition(s, vol.id, allowed, states.DELETING, "delete")
            self.enqueue(s, vol, "delete")

    @staticmethod
    def finish_delete(s: Session, vol: Volume) -> None:
        """The volume is gone from its host: hide it and give its quota back."""
        states.transition(s, vol.id, {states.DELETING}, states.DELETED, "delete",
                          deleted_at=utcnow(), auth_username=None, auth_password=None)
        quotas.release(s, vol.project_id, 1, vol.size, vol.volume_type_id)

    def extend(self, ctx: AuthContext, volume_id: str, new_size: int) -> None:
        with self.db.session() as s:
            vol = self.visible(s, ctx, volume_id)
            if new_size <= vol.size:
                raise BadRequest(f"Invalid input received: New size for extend must be greater "
                                 f"than current size. (current: {vol.size}, extended: "
                                 f"{new_size}).")
            if vol.host is not None:
                check_not_frozen(s.get(VolumeHost, vol.host), "extend it")
            states.transition(s, vol.id, {states.AVAILABLE}, states.EXTENDING, "extend")
            quotas.reserve(s, vol.project_id, self.settings.quota, 0, new_size - vol.size,
                           volume_size=new_size, volume_type_id=vol.volume_type_id)
            self.enqueue(s, vol, "extend", {"new_size": new_size, "old_size": vol.size})

    def set_bootable(self, ctx: AuthContext, volume_id: str, bootable: bool) -> None:
        with self.db.session() as s:
            vol = self.visible(s, ctx, volume_id)
            s.execute(update(Volume).where(Volume.id == vol.id)
                      .values(bootable=bootable, updated_at=utcnow()))

    def reset_status(self, ctx: AuthContext, volume_id: str, status: str) -> None:
        """Admins' escape hatch: any known status, without the transition table."""
        with self.db.session() as s:
            VOLUMES.reset_status(s, ctx, volume_id, status, states.STATUSES)

    # -- metadata -------------------------------------------------------------------------------
    def set_metadata(self, ctx: AuthContext, volume_id: str, items: dict[str, str],
                     replace: bool = False) -> dict[str, str]:
        """Merge ``items`` into the metadata (or replace it all); returns the result."""
        with self.db.session() as s:
            vol = self.visible(s, ctx, volume_id)
            merged = dict(items) if replace else {**(vol.metadata_ or {}), **items}
            s.execute(update(Volume).where(Volume.id == vol.id)
                      .values(metadata_=merged, updated_at=utcnow()))
            return merged

    def delete_metadata(self, ctx: AuthContext, volume_id: str, key: str) -> None:
        with self.db.session() as s:
            vol = self.visible(s, ctx, volume_id)
            meta = dict(vol.metadata_ or {})
            if key not in meta:
                raise NotFound(f"Metadata item was not found: {key}")
            del meta[key]
            s.execute(update(Volume).where(Volume.id == vol.id)
                      .values(metadata_=meta, updated_at=utcnow()))

    def set_image_metadata(self, ctx: AuthContext, volume_id: str,
                           items: dict[str, str]) -> dict[str, str]:
        """Merge ``items`` into the volume's image metadata; returns the result."""
        with self.db.session() as s:
            vol = self.visible(s, ctx, volume_id)
            merged = {**(vol.image_metadata or {}), **items}
            s.execute(update(Volume).where(Volume.id == vol.id)
                      .values(image_metadata=merged, updated_at=utcnow()))
            return merged

    def delete_image_metadata(self, ctx: AuthContext, volume_id: str, key: str) -> None:
        with self.db.session() as s:
            vol = self.visible(s, ctx, volume_id)
            meta = dict(vol.image_metadata or {})
            if key not in meta:
                raise NotFound(f"Glance metadata for volume/snapshot {volume_id} cannot be "
                               f"found.")
            del meta[key]
            s.execute(update(Volume).where(Volume.id == vol.id)
                      .values(image_metadata=meta, updated_at=utcnow()))

    def limits(self, project_id: str) -> dict[str, int]:
        """The project's quota limits (volumes.quotas: configuration < class < project)."""
        return quotas.QuotaLimits(self.db, self.settings.quota).of_project(project_id)

    def usage(self, project_id: str) -> tuple[int, int]:
        """(volumes, gigabytes) the project holds."""
        with self.db.session() as s:
            return quotas.usage(s, project_id)
