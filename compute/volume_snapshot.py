"""createImage of a volume-backed server, made as Nova's API makes it
(``snapshot_volume_backed``): no compute agent, no image data.

The API snapshots every volume attached to the server through the volume service, as the
caller (their snapshots, their quota), ``force``d since the volumes are in use; it waits
(bounded) until each snapshot is ``available``, then creates an image holding only
properties and activates it with an empty upload (Nova's ``force_activate``: size 0,
``disk_format`` raw, ``container_format`` bare). The image says how to rebuild the server's
disks:

* ``block_device_mapping``: a JSON list with one Nova image BDM per volume (every key of
  Nova's BDM v2, null when not known): ``source_type`` "snapshot", ``destination_type``
  "volume", ``snapshot_id``, ``boot_index`` (0 for the root disk, null for data volumes),
  ``device_name``, ``volume_size`` (the volume's size in GB), ``delete_on_termination``,
  ``disk_bus``, ``device_type`` "disk";
* ``bdm_v2`` "True" and ``root_device_name`` (the root disk's device, ``/dev/vda``);
* the properties the server's image had that the image-backed path also copies
  (:data:`INHERITED`), ``base_image_ref``, ``owner_user_name`` and the request's metadata.

Nothing half made is left: when a snapshot cannot be made, goes to ``error`` or is not
``available`` within :data:`WAIT_SECONDS`, or the image cannot be made, the snapshots made so
far and the image are deleted and the request fails (the volume service's 4xx as it is; a
failed or late snapshot a 409). minicloud does not quiesce the guest: the snapshots are
crash-consistent, as Nova's are when the guest has no agent to freeze it.

The ``createImage`` action and its ``api_snapshot_instance`` event are logged.

Booting from such an image (``imageRef``), as Nova: :func:`boot_request` turns its
mappings into the server's block devices and :func:`make_volumes` makes, as the caller, a new
root volume from the root disk's snapshot and a data volume from each other snapshot (the
agent waits for them, as for a volume made from an image). A volume cannot be made from the
image itself (it has no data): :func:`check_bootable` refuses that (400).
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from compute import instance_actions
from compute.block_devices import BootRequest, RootVolume
from compute.cinder import VolumeClient
from compute.glance import ImageClient
from compute.models import Instance
from compute.virt.designer import disk_bus
from minicloud.db import Database
from minicloud.errors import BadRequest, Conflict, MinicloudError
from minicloud.identity.tokens import AuthContext

LOG = logging.getLogger(__name__)

#: Image properties of the server's image a snapshot keeps (both kinds of snapshot).
INHERITED = ("hw_firmware_type", "hw_machine_type", "hw_disk_bus", "os_distro",
             "architecture")
#: Every key of a Nova image BDM (``BlockDeviceDict`` less its database-only fields).
BDM_KEYS = ("source_type", "destination_type", "guest_format", "device_type", "disk_bus",
            "boot_index", "device_name", "delete_on_termination", "snapshot_id",
            "volume_id", "volume_size", "image_id", "no_device", "tag", "volume_type",
            "encrypted", "encryption_secret_uuid", "encryption_format",
            "encryption_options")
#: How long the API waits for the snapshots to become available (seconds).
WAIT_SECONDS = 300.0
EVENT = "api_snapshot_instance"


def check_bootable(image: dict) -> None:
    """Refuse (400) to make a boot volume from the image of a volume-backed server's
    snapshot: it has no data, only the snapshots its ``block_device_mapping`` names (boot
    from the image itself instead: :func:`boot_request`)."""
    if image.get("block_device_mapping"):
        raise BadRequest(
            f"Image {image.get('id')} is a snapshot of a volume-backed server (it has a "
            "block_device_mapping and no data): a volume cannot be made from it; give it "
            "as imageRef to boot from its volume snapshots.")


def _mapping(image: dict) -> list[dict]:
    value = image.get("block_device_mapping")
    try:
        bdms = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        bdms = None
    if not isinstance(bdms, list) or not all(isinstance(b, dict) for b in bdms):
        raise BadRequest(f"Image {image.get('id')} has an invalid block_device_mapping: a "
                         "JSON list of block device mappings is required.")
    return bdms


def _size(bdm: dict) -> int | None:
    value = bdm.get("volume_size")
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid volume_size in an image block device mapping: {value!r}."
                         ) from None


def boot_request(image: dict, boot: BootRequest) -> BootRequest:
    """The boot of a server whose ``imageRef`` is a volume-backed server's snapshot image
    (Nova merges the image's mappings into the request's): its root disk a new volume from
    the root snapshot (``boot_index`` 0), each other snapshot a new data volume, the
    request's own data volumes kept. A mapping minicloud cannot make (not snapshot to
    volume, no ``snapshot_id``, no boot disk) is a 400 naming it."""
    root: RootVolume | None = None
    data: list[dict] = []
    for bdm in _mapping(image):
        if bdm.get("no_device"):
            continue
        if (bdm.get("source_type"), bdm.get("destination_type")) != ("snapshot", "volume") \
                or not bdm.get("snapshot_id"):
            raise BadRequest(
                f"Image {image.get('id')}: block device mapping from "
                f"{bdm.get('source_type')} to {bdm.get('destination_type')} is not "
                "supported (minicloud boots only from volume snapshots, snapshot_id given).")
        made = {"snapshot_id": str(bdm["snapshot_id"]), "size": _size(bdm),
                "delete_on_termination": bool(bdm.get("delete_on_termination"))}
        if str(bdm.get("boot_index")) == "0":
            if root is not None:
                raise BadRequest(f"Image {image.get('id')}: only one block device mapping "
                                 "may have boot_index 0.")
            root = RootVolume(snapshot_id=made["snapshot_id"], size=made["size"] or 0,
                              delete_on_termination=made["delete_on_termination"])
        else:
            data.append(made)
    if root is None:
        raise BadRequest(f"Image {image.get('id')}: its block_device_mapping has no boot "
                         "volume snapshot (boot_index 0).")
    return BootRequest(None, root, boot.volumes, tuple(data))


def make_volumes(volumes: VolumeClient, inst: Instance, boot: BootRequest,
                 add_bdm: Callable[[Instance, dict], None],
                 next_device: Callable[[Instance], str]) -> None:
    """Make (with ``volumes``, the caller's client) the server's root volume and data
    volumes from ``boot``'s snapshots, each recorded ``creating`` on the instance at once
    (the agent waits for them and reserves them, as for a volume made from an image). A
    failure deletes the volumes made so far (best effort) and is raised."""
    made: list[str] = []
    root = boot.root_volume
    wanted = [(root.snapshot_id, root.size or None, root.delete_on_termination, True)]
    wanted += [(d["snapshot_id"], d["size"], d["delete_on_termination"], False)
               for d in boot.snapshots]
    try:
        for snapshot_id, size, delete, is_root in wanted:
            body = {"snapshot_id": snapshot_id,
                    "name": f"{inst.name}-root" if is_root else f"{inst.name}-data",
                    "description": f"{'Root' if is_root else 'Data'} disk of server "
                                   f"{inst.id}"}
            if size:
                body["size"] = size
            volume = volumes.create(body)
            made.append(volume["id"])
            bdm = {"volume_id": volume["id"], "attachment_id": None,
                   "delete_on_termination": delete, "status": "creating"}
            if is_root:
                bdm.update(device="/dev/vda", boot_index=0)
            else:
                bdm["device"] = next_device(inst)
            add_bdm(inst, bdm)
    except BaseException:
        for volume_id in made:
            try:
                volumes.delete(volume_id)
            except MinicloudError as exc:
                LOG.warning("could not delete volume %s of a failed create: %s", volume_id,
                            exc)
        raise


def image_bdm(bdm: dict, snapshot_id: str, volume_size: int | None, bus: str) -> dict:
    """The image BDM (Nova's ``snapshot_from_bdm``) of one of the server's volumes."""
    mapping: dict = dict.fromkeys(BDM_KEYS)
    mapping.update(source_type="snapshot", destination_type="volume",
                   snapshot_id=snapshot_id, boot_index=bdm.get("boot_index"),
                   device_name=bdm.get("device"), volume_size=volume_size,
                   delete_on_termination=bool(bdm.get("delete_on_termination")),
                   disk_bus=bus, device_type="disk")
    return mapping


@dataclass
class VolumeBackedSnapshot:
    """Makes the image; ``volumes``/``images`` give clients acting with a caller's token."""

    db: Database
    volumes: Callable[[str], VolumeClient]
    images: Callable[[str], ImageClient]
    wait_seconds: float = WAIT_SECONDS
    poll_seconds: float = 1.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def create_image(self, ctx: AuthContext, inst: Instance, name: str,
                     metadata: dict[str, str]) -> str:
        """Snapshot the server's volumes and make the image (see the module doc); its id."""
        with self.db.session() as s:
            request_id = instance_actions.record(s, inst.id, ctx, "snapshot")
        try:
            image_id = self._make(ctx, inst, name, metadata)
        except BaseException as exc:
            with self.db.session() as s:
                instance_actions.add_event(s, inst.id, request_id, EVENT, exc)
            raise
        with self.db.session() as s:
            instance_actions.add_event(s, inst.id, request_id, EVENT)
        return image_id

    def _make(self, ctx: AuthContext, inst: Instance, name: str,
              metadata: dict[str, str]) -> str:
        volumes = self.volumes(ctx.token)
        made: list[str] = []
        try:
            mapping = self._snapshot_all(volumes, inst, name, made)
            self._wait(volumes, made)
            return self._image(ctx, inst, name, metadata, mapping)
        except BaseException:
            for snapshot_id in made:
                try:
                    volumes.delete_snapshot(snapshot_id)
                except MinicloudError as exc:   # the first error is the one to report
                    LOG.warning("could not delete snapshot %s of a failed createImage: %s",
                                snapshot_id, exc)
            raise

    @staticmethod
    def _snapshot_all(volumes: VolumeClient, inst: Instance, name: str,
                      made: list[str]) -> list[dict]:
        """Ask for a snapshot of each volume (ids appended to ``made`` as they are);
        the image BDMs, the root disk first."""
        bus = disk_bus(inst.image_meta)
        mapping = []
        ordered = sorted(inst.block_devices, key=lambda b: b.get("boot_index") != 0)
        for bdm in ordered:
            volume = volumes.get(bdm["volume_id"])
            snapshot = volumes.create_snapshot(volume["id"], f"snapshot for {name}",
                                               volume.get("description"))
            made.append(snapshot["id"])
            mapping.append(image_bdm(bdm, snapshot["id"], volume.get("size"), bus))
        return mapping

    def _wait(self, volumes: VolumeClient, snapshot_ids: list[str]) -> None:
        """Until every snapshot is ``available``; 409 when one fails or time is up."""
        deadline = time.monotonic() + self.wait_seconds
        pending = list(snapshot_ids)
        while pending:
            for snapshot_id in list(pending):
                status = volumes.get_snapshot(snapshot_id).get("status")
                if status == "available":
                    pending.remove(snapshot_id)
                elif status != "creating":
                    raise Conflict(f"Volume snapshot {snapshot_id} went to {status}: no "
                                   "image was made (its snapshots are deleted).")
            if pending and time.monotonic() >= deadline:
                raise Conflict(f"Volume snapshot {pending[0]} was not available after "
                               f"{self.wait_seconds:g}s: no image was made (its snapshots "
                               "are deleted).")
            if pending:
                self.sleep(self.poll_seconds)

    def _image(self, ctx: AuthContext, inst: Instance, name: str,
               metadata: dict[str, str], mapping: list[dict]) -> str:
        """Create the image as the caller and activate it with no data (Nova's
        ``force_activate``); a failure deletes it."""
        root = next((m for m in mapping if m["boot_index"] == 0), None)
        body = {"name": name, "disk_format": "raw", "container_format": "bare",
                "visibility": "private", "base_image_ref": inst.image_id or "",
                "owner_user_name": ctx.user_name}
        body.update({k: inst.image_meta[k] for k in INHERITED if k in inst.image_meta})
        body.update(metadata)
        body.update(block_device_mapping=json.dumps(mapping), bdm_v2="True")
        if root is not None and root["device_name"]:
            body["root_device_name"] = root["device_name"]
        images = self.images(ctx.token)
        image = images.create(body)
        try:
            images.upload(image["id"], iter(()))
        except BaseException:
            try:
                images.delete(image["id"])
            except MinicloudError as exc:
                LOG.warning("could not delete image %s of a failed createImage: %s",
                            image["id"], exc)
            raise
        return image["id"]
