"""Compute domain logic: flavors, servers, actions; every state change a compare-and-swap.

The API process validates, schedules (claims) and enqueues durable tasks; the compute agent
on the chosen host does the work (:mod:`compute.agent`).
"""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from compute import (
    instance_actions,
    quotas,
    scheduler,
    server_groups,
    states,
)
from compute.cinder import VolumeClient
from compute.create import ServerCreation
from compute.flavors import Flavors, FlavorSpec
from compute.glance import ImageClient
from compute.keypairs import Keypairs
from compute.models import ComputeTask, Flavor, Instance
from compute.server_query import ServerQuery
from compute.virt.designer import disk_bus, next_device_name
from minicloud.db import Database, utcnow
from minicloud.errors import BadRequest, Conflict, MinicloudError, NotFound
from minicloud.identity.tokens import AuthContext


def check_lock(ctx: AuthContext, inst: Instance) -> None:
    """A locked server refuses state changes to everyone but admins (Nova's 409)."""
    if inst.locked_by is not None and not ctx.is_admin:
        raise Conflict(f"Instance {inst.id} is locked")


def root_bdm(inst: Instance) -> dict | None:
    """The block device a volume-backed server boots from (None: it boots from an image)."""
    return next((b for b in inst.block_devices if b.get("boot_index") == 0), None)


class ComputeService(ServerCreation):
    """Servers after their create (:class:`compute.create.ServerCreation`): reads, updates,
    actions queued with a compare-and-swap, deletes, snapshots, volume attachments."""

    def __init__(self, db: Database, image_client: Callable[[str], ImageClient],
                 volume_client: Callable[[str], VolumeClient] | None = None,
                 limits: quotas.Limits | None = None, reclaim_interval: float = 0.0) -> None:
        self.db = db
        # [compute] reclaim_instance_interval: > 0 makes DELETE a soft delete
        self.reclaim_interval = reclaim_interval
        self.limits = limits or quotas.Limits(-1, -1, -1)
        self.image_client = image_client  # token -> client acting for that caller
        #: (caller, image) -> the certificates a signed image's boot needs
        #: (``compute.signing.certificates_for``); None: signatures are not verified.
        self.certificates: Callable[[AuthContext, dict], dict] | None = None
        self.volume_client = volume_client
        self.flavors = Flavors(db)
        self.keypairs = Keypairs(db, self.limits)

    # -- flavors ---------------------------------------------------------------------------
    def sync_flavors(self, specs: list[FlavorSpec]) -> int:
        """Add the default flavors that are missing (operators' changes are kept)."""
        return self.flavors.sync(specs)

    def get_flavor(self, flavor_id: str) -> Flavor:
        return self.flavors.get(flavor_id)

    # -- servers ---------------------------------------------------------------------------
    def _visible(self, s: Session, ctx: AuthContext, server_id: str) -> Instance:
        inst = s.get(Instance, server_id)
        if inst is None or inst.vm_state == states.DELETED or (
                inst.project_id != ctx.project_id and not ctx.is_admin):
            raise NotFound(f"Instance {server_id} could not be found.")
        return inst

    def get_server(self, ctx: AuthContext, server_id: str) -> Instance:
        with self.db.session() as s:
            return self._visible(s, ctx, server_id)

    def usage(self, project_id: str) -> dict[str, int]:
        with self.db.session() as s:
            return quotas.usage(s, project_id)

    def quota_limits(self, project_id: str) -> dict[str, int]:
        """The project's quota limits (its own, else the defaults)."""
        with self.db.session() as s:
            return quotas.project_limits(s, project_id, self.limits)

    def default_quotas(self) -> dict[str, int]:
        """Every project's default limits (the ``default`` quota class)."""
        return self.quota_class(quotas.DEFAULT_CLASS)

    def quota_class(self, class_name: str) -> dict[str, int]:
        with self.db.session() as s:
            return quotas.class_limits(s, class_name, self.limits)

    def update_quota_class(self, class_name: str, values: dict[str, int]) -> dict[str, int]:
        with self.db.session() as s:
            return quotas.update_class(s, class_name, values, self.limits)

    def update_quotas(self, project_id: str, values: dict[str, int], force: bool = False
                      ) -> dict[str, int]:
        with self.db.session() as s:
            return quotas.update(s, project_id, values, self.limits, force)

    def reset_quotas(self, project_id: str) -> None:
        with self.db.session() as s:
            quotas.reset(s, project_id)

    def update_server(self, ctx: AuthContext, server_id: str, **values: str | None
                      ) -> Instance:
        """Rename it or change its description (``PUT /servers/{id}``)."""
        with self.db.session() as s:
            inst = self._visible(s, ctx, server_id)
            for key, value in values.items():
                setattr(inst, key, value)
        return self.get_server(ctx, server_id)

    def set_metadata(self, ctx: AuthContext, server_id: str, items: dict[str, str],
                     replace: bool = False, remove: str | None = None) -> dict[str, str]:
        """Merge ``items`` into the server's metadata (or ``replace`` it), or ``remove``
        one key (404 when it is not there); returns the metadata after the change."""
        with self.db.session() as s:
            inst = self._visible(s, ctx, server_id)
            check_lock(ctx, inst)
            metadata = {} if replace else dict(inst.metadata_ or {})
            if remove is not None:
                if remove not in metadata:
                    raise NotFound(f"Metadata item was not found: {remove}")
                del metadata[remove]
            metadata.update(items)
            quotas.check_metadata(metadata)
            inst.metadata_ = metadata
            return metadata

    def list_servers(self, ctx: AuthContext, all_projects: bool = False,
                     query: ServerQuery | None = None) -> list[Instance]:
        """The caller's project's servers (every project's for an admin asking
        ``all_projects``) that pass ``query``'s filters, in its order (newest first by
        default). Deleted servers are listed only to a query with ``changes-since`` or
        ``changes-before``, as Nova's."""
        query = query or ServerQuery()
        with self.db.session() as s:
            stmt = select(Instance)
            if query.since is None and query.before is None:
                stmt = stmt.where(Instance.vm_state != states.DELETED)
            if not (ctx.is_admin and all_projects):
                stmt = stmt.where(Instance.project_id == ctx.project_id)
            rows = list(s.scalars(stmt))
        return query.order([r for r in rows if query.keep(r)])

    def set_error(self, instance_id: str, exc: BaseException) -> None:
        """Put the instance in ERROR with a fault users can read (class and message only)."""
        message = exc.message if isinstance(exc, MinicloudError) else str(exc)
        code = exc.status if isinstance(exc, MinicloudError) else 500
        fault = {"code": code, "message": message[:255], "details": type(exc).__name__,
                 "created": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")}
        with self.db.session() as s:
            s.execute(update(Instance).where(Instance.id == instance_id).values(
                vm_state=states.ERROR, task_state=None, fault=fault))

    # -- actions ---------------------------------------------------------------------------
    def reset_state(self, ctx: AuthContext, server_id: str, state: str) -> None:
        """``os-resetState``: the vm_state an admin says (``active`` or ``error``) and no
        task; nothing is done on the host (as Nova, the guest is not touched)."""
        with self.db.session() as s:
            inst = self._visible(s, ctx, server_id)
            inst.vm_state = states.ACTIVE if state == "active" else states.ERROR
            inst.task_state = None
            instance_actions.record(s, inst.id, ctx, "resetState",
                                    instance_actions.current_request_id())

    def start_action(self, ctx: AuthContext, server_id: str, name: str,
                     params: dict | None = None, values: dict | None = None) -> Instance:
        """Move the instance into the action's task state (CAS, together with ``values``)
        and enqueue the work. A locked server refuses non-admins (409)."""
        action = states.ACTIONS[name]
        with self.db.session() as s:
            inst = self._visible(s, ctx, server_id)
            if action.locked_out:
                check_lock(ctx, inst)
            cond = [Instance.id == inst.id, Instance.vm_state.in_(action.allowed)]
            if not action.any_task:
                cond.append(Instance.task_state.is_(None))
            done = s.execute(update(Instance).where(*cond).values(task_state=action.task,
                                                                  **(values or {})))
            if done.rowcount != 1:
                busy = f" and task_state {inst.task_state}" if inst.task_state else ""
                raise Conflict(f"Cannot '{action.api_name}' instance {inst.id} while it is in "
                               f"vm_state {inst.vm_state}{busy}")
            # The event log: the action, under this request's id, which its task carries.
            request_id = instance_actions.record(s, inst.id, ctx, name)
            if name in ("delete", "force_delete"):
                s.execute(update(ComputeTask).where(
                    ComputeTask.instance_id == inst.id, ComputeTask.state == "pending")
                    .values(state="cancelled"))
                if inst.host is None:  # never scheduled: nothing on any host
                    self._finish_delete(s, inst.id)
                    return inst
            # forceDelete is the agent's delete (one task, one undo path)
            s.add(ComputeTask(instance_id=inst.id, host=inst.host,
                              action="delete" if name == "force_delete" else name,
                              params={**(params or {}), "request_id": request_id}))
            return inst

    @staticmethod
    def _finish_delete(s: Session, instance_id: str) -> None:
        scheduler.release(s, instance_id)
        server_groups.forget(s, instance_id)
        s.execute(update(Instance).where(Instance.id == instance_id).values(
            vm_state=states.DELETED, task_state=None, power_state=states.NOSTATE,
            terminated_at=utcnow(), deleted_at=utcnow()))

    def delete_server(self, ctx: AuthContext, server_id: str) -> None:
        """Delete it; with a reclaim interval a server that ran on a host is soft-deleted
        instead (a soft-deleted one deleted again goes for good)."""
        inst = self.get_server(ctx, server_id)
        soft = (self.reclaim_interval > 0 and inst.host is not None
                and inst.vm_state in states.ACTIONS["soft_delete"].allowed)
        self.start_action(ctx, server_id, "soft_delete" if soft else "delete")

    def snapshot(self, ctx: AuthContext, server_id: str, name: str,
                 metadata: dict[str, str], action: str = "snapshot",
                 properties: dict | None = None, params: dict | None = None) -> str:
        """Create the snapshot image (queued) as the caller, then let the agent fill it;
        ``action`` "backup" makes a createBackup (``properties`` say its type, ``params``
        its rotation)."""
        inst = self.get_server(ctx, server_id)
        api_name = states.ACTIONS[action].api_name
        if inst.vm_state not in states.ACTIONS[action].allowed or inst.task_state:
            raise Conflict(f"Cannot '{api_name}' instance {inst.id} while it is in vm_state "
                           f"{inst.vm_state}")
        if root_bdm(inst) is not None:
            raise BadRequest(f"Server {inst.id} boots from a volume: snapshots of a volume-"
                             "backed server are not available (its disk is the volume).")
        fmt = "qcow2"
        body = {"name": name, "disk_format": fmt, "container_format": "bare",
                "visibility": "private", "image_type": "snapshot",
                "instance_uuid": inst.id, "base_image_ref": inst.image_id or "",
                "owner_user_name": ctx.user_name, **metadata, **(properties or {})}
        for key in ("hw_firmware_type", "hw_machine_type", "hw_disk_bus", "os_distro",
                    "architecture"):
            if key in inst.image_meta and key not in body:
                body[key] = inst.image_meta[key]
        image = self.image_client(ctx.token).create(body)
        try:
            self.start_action(ctx, server_id, action,
                              {**(params or {}), "image_id": image["id"]})
        except MinicloudError:
            self.image_client(ctx.token).delete(image["id"])
            raise
        return image["id"]

    # -- volumes -------------------------------------------------------------------------------
    @staticmethod
    def next_device(inst: Instance) -> str:
        """The device a new volume gets: after vda, vdb (ephemeral) and attached volumes."""
        bus = disk_bus(inst.image_meta)
        used = [next_device_name(bus, [])]
        if inst.flavor.get("ephemeral"):
            used.append(next_device_name(bus, used))
        used += [b["device"].removeprefix("/dev/") for b in inst.block_devices]
        return "/dev/" + next_device_name(bus, used)

    def attach_volume(self, ctx: AuthContext, server_id: str, volume_id: str,
                      tag: str | None = None, delete_on_termination: bool = False
                      ) -> dict:
        """Reserve the volume (as the caller: it must be theirs) and let the agent attach;
        returns the new block device mapping."""
        if self.volume_client is None:
            raise BadRequest("There is no volume service in this cloud.")
        volumes = self.volume_client(ctx.token)
        inst = self.get_server(ctx, server_id)
        volumes.get(volume_id)
        if any(b["volume_id"] == volume_id for b in inst.block_devices):
            raise BadRequest(f"Invalid volume: {volume_id} is already attached to "
                             f"server {inst.id}.")
        action = states.ACTIONS["attach_volume"]
        check_lock(ctx, inst)
        if inst.vm_state not in action.allowed or inst.task_state:
            raise Conflict(f"Cannot 'attach_volume' instance {inst.id} while it is in "
                           f"vm_state {inst.vm_state}")
        attachment_id = volumes.reserve(volume_id, inst.id)
        bdm = {"volume_id": volume_id, "attachment_id": attachment_id,
               "device": self.next_device(inst), "tag": tag,
               "delete_on_termination": delete_on_termination, "status": "attaching"}
        with self.db.session() as s:
            done = s.execute(update(Instance).where(
                Instance.id == inst.id, Instance.vm_state.in_(action.allowed),
                Instance.task_state.is_(None)).values(
                task_state=action.task, block_devices=[*inst.block_devices, bdm])).rowcount
            if done == 1:
                request_id = instance_actions.record(s, inst.id, ctx, "attach_volume")
                s.add(ComputeTask(instance_id=inst.id, host=inst.host, action="attach_volume",
                                  params={"volume_id": volume_id, "request_id": request_id}))
        if done != 1:
            volumes.delete_attachment(attachment_id)
            raise Conflict(f"Cannot 'attach_volume' instance {inst.id}: another task "
                           "started first.")
        return bdm

    def update_attachment(self, ctx: AuthContext, server_id: str, volume_id: str,
                          delete_on_termination: bool) -> dict:
        """Change whether the volume goes with the server (``PUT`` at 2.85+)."""
        with self.db.session() as s:
            inst = self._visible(s, ctx, server_id)
            bdms = [dict(b) for b in inst.block_devices]
            bdm = next((b for b in bdms if b["volume_id"] == volume_id), None)
            if bdm is None:
                raise NotFound(f"Volume {volume_id} is not attached to server {inst.id}.")
            bdm["delete_on_termination"] = delete_on_termination
            inst.block_devices = bdms
        return bdm

    def detach_volume(self, ctx: AuthContext, server_id: str, volume_id: str) -> None:
        inst = self.get_server(ctx, server_id)
        bdm = next((b for b in inst.block_devices if b["volume_id"] == volume_id), None)
        if bdm is None:
            raise NotFound(f"Volume {volume_id} is not attached to server {inst.id}.")
        if bdm is root_bdm(inst):
            raise BadRequest(f"Cannot detach volume {volume_id}: it is the root disk of "
                             f"server {inst.id}.")
        self.start_action(ctx, server_id, "detach_volume", {"volume_id": volume_id})
