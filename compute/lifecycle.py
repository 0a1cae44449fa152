"""The server actions beyond start, stop and reboot: lock, rebuild, rescue, backups, soft
delete.

Each is Nova's: the state checks are :mod:`compute.states` data enforced by
:meth:`~compute.service.ComputeService.start_action` (one compare-and-swap, then a task for
the agent); pause, suspend and their undoing need nothing more than that and are started by
the route directly. What is here is what needs more than a task: the lock's owner rule,
the rebuild's image checks and the fields it changes at once, a backup's image properties.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from compute import instance_actions
from compute.create import NOT_IMAGE_META
from compute.models import Instance
from compute.service import ComputeService, root_bdm
from compute.virt.hardware import CDROM_FORMAT
from minicloud.errors import BadRequest
from minicloud.identity.tokens import AuthContext

#: Image properties the domain definition is built from: a rebuild keeps the definition,
#: with its attached volumes (a rescue its hardware), so the new image must agree on them.
DOMAIN_PROPERTIES = ("hw_firmware_type", "hw_machine_type", "hw_disk_bus", "kernel_id",
                     "ramdisk_id")


@dataclass
class RebuildRequest:
    """A validated ``rebuild`` action body (fields not given are None: unchanged)."""

    image_ref: str
    name: str | None = None
    metadata: dict[str, str] | None = None
    description: str | None = None
    set_description: bool = False  # "description": null clears it (2.19+)
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    key_name: str | None = None
    set_key_name: bool = False     # 2.54+: one of the caller's key pairs; null: none
    user_data: str | None = None
    set_user_data: bool = False    # 2.57+
    hostname: str | None = None    # 2.90+


def locked_by(ctx: AuthContext, inst: Instance) -> str:
    """Who a lock by ``ctx`` is recorded as: the owning project, or an admin (Nova's)."""
    return "owner" if inst.project_id == ctx.project_id else "admin"


class Lifecycle:
    """Lock, rebuild, createBackup and the soft delete's restore, over the service."""

    def __init__(self, service: ComputeService) -> None:
        self.service = service
        self.db = service.db

    # -- lock ------------------------------------------------------------------------------------
    def lock(self, ctx: AuthContext, server_id: str, reason: str | None) -> None:
        """Lock it (again: the new locker and reason replace the old)."""
        with self.db.session() as s:
            inst = self.service._visible(s, ctx, server_id)
            inst.locked_by = locked_by(ctx, inst)
            inst.locked_reason = reason
            instance_actions.record(s, inst.id, ctx, "lock")  # no task: logged here

    def needs_override(self, ctx: AuthContext, inst: Instance) -> bool:
        """Whether unlocking needs ``unlock:unlock_override``: the lock was taken by the
        other side (an admin's lock, unlocked by the owner, or the reverse)."""
        return inst.locked_by is not None and inst.locked_by != locked_by(ctx, inst)

    def unlock(self, ctx: AuthContext, server_id: str) -> None:
        with self.db.session() as s:
            inst = self.service._visible(s, ctx, server_id)
            inst.locked_by = None
            inst.locked_reason = None
            instance_actions.record(s, inst.id, ctx, "unlock")

    # -- rebuild ---------------------------------------------------------------------------------
    def rebuild(self, ctx: AuthContext, server_id: str, req: RebuildRequest) -> Instance:
        """Check the image as a create would, record the new image and fields with the
        task state (one CAS), and queue the agent's rebuild.

        A server booted from a volume may only be rebuilt onto the image its volume holds
        (Nova's rule: the volume is not reimaged; the guest starts again from it).
        """
        inst = self.service.get_server(ctx, server_id)
        values: dict = {}
        if root_bdm(inst) is not None:
            if req.image_ref != inst.image_meta.get("image_id"):
                raise BadRequest("Unable to rebuild with a different image for a "
                                 "volume-backed server.")
        checked: list[str] = []
        params: dict = {}
        if root_bdm(inst) is None:
            image, checked = self._checked_image(ctx, inst, req.image_ref)
            values.update(image_id=image["id"], image_meta={
                k: str(v) for k, v in image.items() if k not in NOT_IMAGE_META})
            params = self._certificates(ctx, inst, image)
        values.update(self._changed_fields(req))
        if req.set_key_name:  # the key the config drive carries changes with it (Nova)
            values["key_data"] = self._key_data(ctx, req.key_name)
        return self.service.start_action(
            ctx, server_id, "rebuild",
            {"image_id": values.get("image_id"), "images": checked, **params}, values)

    def _certificates(self, ctx: AuthContext, inst: Instance, image: dict) -> dict:
        """The spawn-like task's ``certificates`` of a signed image, fetched as the caller
        when signatures are verified (``compute.signing``)."""
        fetch = self.service.certificates
        certs = fetch(ctx, image, inst.trusted_certs) if fetch is not None else {}
        return {"certificates": certs} if certs else {}

    def _key_data(self, ctx: AuthContext, key_name: str | None) -> str | None:
        """The public key of the caller's key pair ``key_name`` (400 when unknown)."""
        if key_name is None:
            return None
        key = self.service.keypairs.find(ctx.user_id, key_name)
        if key is None:
            raise BadRequest("Invalid key_name provided.")
        return key.public_key

    @staticmethod
    def _changed_fields(req: RebuildRequest) -> dict:
        values: dict = {}
        for field, column in (("name", "name"), ("metadata", "metadata_"),
                              ("hostname", "hostname"), ("access_ip_v4", "access_ip_v4"),
                              ("access_ip_v6", "access_ip_v6")):
            if getattr(req, field) is not None:
                values[column] = getattr(req, field)
        for field in ("description", "key_name", "user_data"):
            if getattr(req, f"set_{field}"):
                values[field] = getattr(req, field)
        return values

    # -- rescue --------------------------------------------------------------------------------
    def rescue(self, ctx: AuthContext, server_id: str, image_ref: str | None) -> None:
        """Queue the rescue: the given image (checked as a rebuild's) or the server's own."""
        inst = self.service.get_server(ctx, server_id)
        if root_bdm(inst) is not None:
            raise BadRequest("Cannot rescue a volume-backed instance.")
        image, checked = self._checked_image(ctx, inst, image_ref or inst.image_id)
        self.service.start_action(ctx, server_id, "rescue",
                                  {"image_id": image["id"], "images": checked,
                                   **self._certificates(ctx, inst, image)})

    def _checked_image(self, ctx: AuthContext, inst: Instance, image_ref: str
                       ) -> tuple[dict, list[str]]:
        """The image, checked as on create (with its kernel and ramdisk, as the caller),
        whose hardware properties are the server's; and the ids the agent may fetch."""
        flavor = SimpleNamespace(ram=inst.flavor["ram"])
        image = self.service._check_image(ctx, image_ref, flavor,  # type: ignore[arg-type]
                                          inst.flavor["disk"])
        checked = [image["id"], *self.service._boot_files(ctx, image)]
        meta = {k: str(v) for k, v in image.items() if k not in NOT_IMAGE_META}
        for prop in DOMAIN_PROPERTIES:
            if meta.get(prop, "") != inst.image_meta.get(prop, ""):
                raise BadRequest(
                    f"Image {image_ref} differs from the server's image in {prop}: the "
                    "server keeps its hardware, so it needs an image with the same "
                    "firmware, machine type, disk bus and kernel.")
        if meta.get("disk_format") == CDROM_FORMAT:  # a CD-ROM is not a root disk to copy
            raise BadRequest(f"Image {image_ref} is an iso: a server is rebuilt or rescued "
                             "from a disk image, not an installer CD-ROM.")
        return image, checked

    # -- backups ---------------------------------------------------------------------------------
    def backup(self, ctx: AuthContext, server_id: str, name: str, backup_type: str,
               rotation: int, metadata: dict[str, str]) -> str:
        """A snapshot image with ``image_type=backup`` and ``backup_type``; once it is
        uploaded the agent keeps the newest ``rotation`` backups of this server and type
        and deletes the others (rotation 0: the new one too, as Nova's)."""
        inst = self.service.get_server(ctx, server_id)
        if root_bdm(inst) is not None:
            raise BadRequest("Backup is not supported for volume-backed instances.")
        return self.service.snapshot(
            ctx, server_id, name, metadata, action="backup",
            properties={"image_type": "backup", "backup_type": backup_type},
            params={"backup_type": backup_type, "rotation": rotation})

    # -- soft delete -----------------------------------------------------------------------------
    def restore(self, ctx: AuthContext, server_id: str) -> None:
        """Bring a soft-deleted server back (the agent powers it on)."""
        self.service.start_action(ctx, server_id, "restore", values={"deleted_at": None})

    def force_delete(self, ctx: AuthContext, server_id: str) -> None:
        """Delete it now, whatever the reclaim interval."""
        self.service.start_action(ctx, server_id, "force_delete")
