"""Creating servers: the request checked (image, kernel and ramdisk as the caller, flavor,
zone, volumes), the rows recorded in one transaction with the quota counted, each server
placed on a host and its spawn queued; a failure leaves nothing of it.

:class:`ServerCreation` is the create half of :class:`compute.service.ComputeService`
(which inherits it); the attributes it names are the service's.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.orm import Session

from compute import (
    aggregates,
    instance_actions,
    multi_create,
    quotas,
    scheduler,
    server_groups,
    signing,
    states,
)
from compute.block_devices import BootRequest, RootVolume
from compute.cinder import VolumeClient
from compute.flavors import visible_to
from compute.glance import ImageClient
from compute.keypairs import Keypairs
from compute.models import ComputeTask, Flavor, Instance, InstanceTag, sanitize_hostname
from compute.virt import hardware
from compute.virt.hardware import CDROM_FORMAT
from minicloud import faults
from minicloud.db import Database, new_uuid
from minicloud.errors import BadRequest, Forbidden, MinicloudError, NotFound
from minicloud.identity.tokens import AuthContext


@dataclass
class ServerRequest:
    """A validated ``POST /servers`` body."""

    name: str
    flavor_ref: str
    boot: BootRequest  # the image or volume it boots from, and its data volumes
    metadata: dict[str, str] = field(default_factory=dict)
    availability_zone: str | None = None
    description: str | None = None
    key_name: str | None = None
    host: str | None = None  # a requested host (admins, 2.74+)
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    tags: list[str] = field(default_factory=list)  # 2.52+
    trusted_certs: list[str] | None = None  # 2.63+ trusted_image_certificates
    min_count: int = 1  # several servers from one request (compute.multi_create)
    max_count: int = 1
    user_data: str | None = None  # base64, validated
    config_drive: bool = False
    group: str | None = None  # a server group of the caller's project (scheduler hint)
    same_host: tuple[str, ...] = ()       # servers whose host it must share (hint)
    different_host: tuple[str, ...] = ()  # servers whose hosts it must avoid (hint)
    hostname: str | None = None  # the guest's hostname (2.90+); else derived from the name
    security_groups: list[str] = field(default_factory=lambda: ["default"])


#: Image API keys that are not image properties (never copied into the instance).
NOT_IMAGE_META = frozenset({"tags", "self", "file", "schema", "locations"})


def flavor_dict(flavor: Flavor) -> dict:
    """The flavor snapshot an instance keeps (what the server shows at >= 2.47)."""
    return {"id": flavor.id, "name": flavor.name, "vcpus": flavor.vcpus, "ram": flavor.ram,
            "disk": flavor.disk, "ephemeral": flavor.ephemeral, "swap": flavor.swap,
            "extra_specs": {s.key: s.value for s in flavor.extra_specs}}



def check_hardware(meta: dict[str, str], root_gb: int | None) -> None:
    """The image's ``hw_*`` properties (``compute.virt.hardware``) and disk format, checked
    before anything is built: a value the hypervisor cannot honour is a 400 here, not a
    failed build. An ``iso`` image (``root_gb``: the flavor's local root disk; None: it
    boots from a volume) installs onto an empty root disk of the flavor's size."""
    hardware.check_image(meta)
    if meta.get("disk_format") == CDROM_FORMAT and root_gb is not None and root_gb <= 0:
        raise BadRequest("An iso image boots as a CD-ROM onto an empty root disk of the "
                         "flavor's size: this flavor has no root disk (disk 0).")


class ServerCreation:
    """``create_server``/``create_servers`` and the checks they make."""

    db: Database
    image_client: Callable[[str], ImageClient]
    volume_client: Callable[[str], VolumeClient] | None
    keypairs: Keypairs
    limits: dict

    # the service's (compute.service.ComputeService)
    get_flavor: Callable[..., Flavor]
    get_server: Callable[..., Instance]
    set_error: Callable[..., None]
    next_device: Callable[[Instance], str]
    _finish_delete: Callable[[Session, str], None]

    def _check_image(self, ctx: AuthContext, image_ref: str, flavor: Flavor,
                     disk_gb: int) -> dict:
        """The image to boot, checked against the flavor's RAM and the root disk's size
        (``disk_gb``; 0: the root disk takes the image's size)."""
        try:
            image = self.image_client(ctx.token).get(image_ref)
        except NotFound:
            raise BadRequest(f"Image {image_ref} could not be found.") from None
        if image.get("status") != "active":
            raise BadRequest(f"Image {image_ref} is not active.")
        if (image.get("min_ram") or 0) > flavor.ram:
            raise BadRequest("Flavor's memory is too small for requested image.")
        if disk_gb:
            if (image.get("min_disk") or 0) > disk_gb:
                raise BadRequest("Flavor's disk is too small for requested image.")
            needed = max(image.get("virtual_size") or 0, image.get("size") or 0)
            if needed > disk_gb * 1024 ** 3:
                raise BadRequest(
                    f"Flavor's disk is too small for requested image. Flavor disk is "
                    f"{disk_gb * 1024 ** 3} bytes, image is {needed} bytes.")
        return image

    def _boot_files(self, ctx: AuthContext, image: dict) -> list[str]:
        """The AMI kernel and ramdisk images of ``image``, checked as the caller: a server
        never boots another project's private image through them (400)."""
        ids = []
        for prop, what in (("kernel_id", "Kernel"), ("ramdisk_id", "Ramdisk")):
            ref = image.get(prop)
            if not ref:
                continue
            try:
                found = self.image_client(ctx.token).get(str(ref))
            except NotFound:
                raise BadRequest(f"{what} image {str(ref)[:64]} of image {image['id']} could "
                                 "not be found.") from None
            if found.get("status") != "active":
                raise BadRequest(f"{what} image {found['id']} of image {image['id']} is not "
                                 "active.")
            ids.append(found["id"])
        return ids

    def _check_zone(self, zone: str | None) -> None:
        """A requested zone must be one of the enabled hosts' (Nova's 400)."""
        if zone:
            with self.db.session() as s:
                if zone not in aggregates.zone_names(s):
                    raise BadRequest("The requested availability zone is not available")

    def _volumes(self, ctx: AuthContext) -> VolumeClient:
        if self.volume_client is None:
            raise BadRequest("There is no volume service in this cloud.")
        return self.volume_client(ctx.token)

    def _boot_volume(self, ctx: AuthContext, root: RootVolume, flavor: Flavor) -> dict:
        """The image properties of a server booting from ``root`` (checked bootable)."""
        if root.image_id is not None:
            image = self._check_image(ctx, root.image_id, flavor, root.size)
            return {k: str(v) for k, v in image.items() if k not in NOT_IMAGE_META}
        try:
            volume = self._volumes(ctx).get(root.volume_id)
        except NotFound:
            raise BadRequest(f"Block Device Mapping is Invalid: failed to get volume "
                             f"{root.volume_id}.") from None
        if str(volume.get("bootable")).lower() != "true":
            raise BadRequest(f"Block Device {root.volume_id} is not bootable.")
        meta = {k: str(v) for k, v in (volume.get("volume_image_metadata") or {}).items()}
        if int(meta.get("min_ram") or 0) > flavor.ram:
            raise BadRequest("Flavor's memory is too small for requested image.")
        return meta

    def create_server(self, ctx: AuthContext, req: ServerRequest) -> Instance:
        """One server (the first, when the request asks for several)."""
        return self.create_servers(ctx, req)[0]

    def create_servers(self, ctx: AuthContext, req: ServerRequest) -> list[Instance]:
        """Validate, record (``min_count`` to ``max_count`` servers sharing a reservation
        id, as many as the quota holds: :mod:`compute.multi_create`), then place each:
        reserve its volumes, claim a host, queue its spawn. Each server's ``create`` action
        is logged with the request's id.

        Any failure before a spawn is queued leaves nothing of that server behind:
        reservations are released, the claim is dropped and the server is gone (or in
        ERROR with a fault, when no host could take it). One of several servers that cannot
        be placed goes to ERROR instead; only a single server's failure is raised.
        """
        quotas.check_metadata(req.metadata)
        flavor = self._flavor_for(ctx, req.flavor_ref)
        key = None
        if req.key_name is not None:  # one of the caller's own keypairs
            key = self.keypairs.find(ctx.user_id, req.key_name)
            if key is None:
                raise BadRequest("Invalid key_name provided.")
        root, image_id, checked = req.boot.root_volume, None, []
        checked_certs: dict = {}
        if req.max_count > 1 and (root is not None or req.boot.volumes):
            raise BadRequest("Cannot attach one or more volumes to multiple instances")
        if req.trusted_certs:  # 2.63: validated only where signatures are verified
            signing.check_trusted_request(self.certificates is not None, root is not None)
        if root is None:
            image = self._check_image(ctx, req.boot.image_ref, flavor, flavor.disk)
            meta = {k: str(v) for k, v in image.items() if k not in NOT_IMAGE_META}
            image_id = image["id"]
            checked = [image_id, *self._boot_files(ctx, image)]
            if self.certificates is not None:  # fetched as the caller (compute.signing)
                checked_certs = self.certificates(ctx, image, req.trusted_certs)
        else:
            meta = self._boot_volume(ctx, root, flavor)
        check_hardware(meta, flavor.disk if root is None else None)
        zone, forced_host = self._zone(ctx, req.availability_zone)
        self._check_zone(zone)
        forced_host = req.host or forced_host
        group = None
        request_id = instance_actions.current_request_id()
        reservation = multi_create.reservation_id()
        with self.db.session() as s:  # counted and recorded in one transaction
            count = multi_create.fit(s, ctx.project_id, flavor_dict(flavor), self.limits,
                                     req.min_count, req.max_count)
            insts = [Instance(
                id=new_uuid(), name=multi_create.server_name(req.name, index, count),
                project_id=ctx.project_id, user_id=ctx.user_id, image_id=image_id,
                flavor_id=flavor.id, flavor=flavor_dict(flavor), image_meta=meta,
                vm_state=states.BUILDING, task_state=states.SCHEDULING,
                power_state=states.NOSTATE, metadata_=req.metadata,
                description=req.description, access_ip_v4=req.access_ip_v4,
                access_ip_v6=req.access_ip_v6, key_name=req.key_name,
                key_data=key.public_key if key else None, user_data=req.user_data,
                config_drive=req.config_drive, availability_zone=zone, block_devices=[],
                reservation_id=reservation, launch_index=index,
                hostname=req.hostname or sanitize_hostname(
                    multi_create.server_name(req.name, index, count)),
                security_groups=list(req.security_groups), trusted_certs=req.trusted_certs,
                tags=[InstanceTag(tag=t) for t in sorted(set(req.tags))])
                for index in range(count)]
            for inst in insts:
                s.add(inst)
                instance_actions.record(s, inst.id, ctx, "create", request_id)
                if req.group:  # joined here, where the group's member quota is counted
                    group = server_groups.join(s, ctx, req.group, inst.id, self.limits)
        for inst in insts:
            try:
                self._place(ctx, inst, req, (forced_host, zone), request_id, group, checked,
                            checked_certs)
            except MinicloudError as exc:
                if count == 1:
                    raise
                self.set_error(inst.id, exc)
        return [self.get_server(ctx, inst.id) for inst in insts]

    def _place(self, ctx: AuthContext, inst: Instance, req: ServerRequest,
               where: tuple[str | None, str | None], request_id: str,
               group: server_groups.Group | None = None,
               checked: list[str] | None = None, certificates: dict | None = None) -> None:
        """Reserve the server's volumes, claim a host (``where``: a forced host and zone;
        ``group``'s rule and the request's host hints kept), make its boot volume, queue its
        spawn with the images ``checked`` as the caller; a failure leaves nothing of it (see
        :meth:`create_servers`)."""
        forced_host, zone = where
        root = req.boot.root_volume
        try:
            self._reserve_volumes(ctx, inst, req.boot)
            with self.db.session() as s:
                # The root disk of a server booted from a volume is on the volume service.
                claimed = dict(inst.flavor, disk=0) if root else inst.flavor
                hints = scheduler.HostHints(req.same_host, req.different_host,
                                            None if ctx.is_admin else ctx.project_id)
                host = scheduler.claim(s, inst.id, claimed, forced_host, zone, group, hints)
                s.execute(update(Instance).where(Instance.id == inst.id).values(
                    host=host, availability_zone=zone or aggregates.zone_of(s, host)))
        except scheduler.NoValidHost as exc:
            self._release_reserved(ctx, inst.id)
            self.set_error(inst.id, exc)
            with self.db.session() as s:
                instance_actions.add_event(s, inst.id, request_id,
                                           instance_actions.SCHEDULE_EVENT, exc)
            return
        except MinicloudError:
            self._release_reserved(ctx, inst.id)
            with self.db.session() as s:
                self._finish_delete(s, inst.id)
            raise
        try:
            if root is not None and root.image_id is not None:
                self._create_root_volume(ctx, inst, root)
        except MinicloudError:
            self._release_reserved(ctx, inst.id)
            with self.db.session() as s:
                self._finish_delete(s, inst.id)
            raise
        faults.point("compute-api.create.placed")
        with self.db.session() as s:
            # The agent fetches only the images checked here as the caller.
            params: dict = {"request_id": request_id, "images": list(checked or [])}
            if certificates:  # a signed image's certificates (compute.signing)
                params["certificates"] = certificates
            s.add(ComputeTask(instance_id=inst.id, host=host, action="spawn", params=params))

    def _add_bdm(self, inst: Instance, bdm: dict) -> None:
        inst.block_devices = [*inst.block_devices, bdm]
        with self.db.session() as s:
            s.execute(update(Instance).where(Instance.id == inst.id)
                      .values(block_devices=inst.block_devices))

    def _reserve_volumes(self, ctx: AuthContext, inst: Instance, boot: BootRequest) -> None:
        """Reserve (as the caller: they must be theirs) the boot volume as vda and the data
        volumes after vdb; each reservation is recorded on the instance at once."""
        if boot.root_volume is not None and boot.root_volume.volume_id is not None:
            root = boot.root_volume
            self._add_bdm(inst, {
                "volume_id": root.volume_id, "device": "/dev/vda", "boot_index": 0,
                "attachment_id": self._volumes(ctx).reserve(root.volume_id, inst.id),
                "delete_on_termination": root.delete_on_termination, "status": "reserved"})
        for request in boot.volumes:
            volumes = self._volumes(ctx)
            try:
                volumes.get(request.volume_id)
            except NotFound:
                raise BadRequest(f"Block Device Mapping is Invalid: failed to get volume "
                                 f"{request.volume_id}.") from None
            device = self.next_device(inst)
            self._add_bdm(inst, {
                "volume_id": request.volume_id, "device": device,
                "attachment_id": volumes.reserve(request.volume_id, inst.id),
                "delete_on_termination": request.delete_on_termination,
                "status": "reserved"})

    def _create_root_volume(self, ctx: AuthContext, inst: Instance, root: RootVolume) -> None:
        """Make the boot volume from the image (as the caller: their volume, their quota);
        the agent waits for it to become available, then attaches it as vda."""
        volume = self._volumes(ctx).create({
            "size": root.size, "imageRef": root.image_id, "name": f"{inst.name}-root",
            "description": f"Root disk of server {inst.id}"})
        self._add_bdm(inst, {
            "volume_id": volume["id"], "device": "/dev/vda", "boot_index": 0,
            "attachment_id": None, "delete_on_termination": root.delete_on_termination,
            "status": "creating"})

    def _release_reserved(self, ctx: AuthContext, instance_id: str) -> None:
        with self.db.session() as s:
            inst = s.get(Instance, instance_id)
            bdms, inst.block_devices = list(inst.block_devices), []
        for bdm in bdms:
            if bdm.get("attachment_id"):
                self._volumes(ctx).delete_attachment(bdm["attachment_id"])

    def _flavor_for(self, ctx: AuthContext, flavor_ref: str) -> Flavor:
        """The flavor a new server asks for: unknown, disabled, or private and the caller's
        project not on its access list (admins see all) is Nova's 400 "Flavor ... could
        not be found"."""
        try:
            flavor = self.get_flavor(flavor_ref)
        except NotFound:
            flavor = None
        if flavor is None or flavor.disabled or not visible_to(
                flavor, ctx.project_id, ctx.is_admin):
            raise BadRequest(f"Flavor {flavor_ref} could not be found.")
        return flavor

    @staticmethod
    def _zone(ctx: AuthContext, value: str | None) -> tuple[str | None, str | None]:
        if not value:
            return None, None
        zone, _, host = value.partition(":")
        if host and not ctx.is_admin:
            raise Forbidden("Only admins may force a host with --availability-zone ZONE:HOST.")
        return zone or None, host or None
