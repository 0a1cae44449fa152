"""Volume to image (Cinder's ``os-volume_upload_image``; ``openstack image create --volume``).

The API side (:class:`UploadService`), in the caller's name throughout, as Cinder does with
the user's token:

1. the volume goes ``available -> uploading`` (or ``in-use -> uploading`` with ``force``) by
   compare-and-swap, so nothing attaches, detaches, extends or deletes it meanwhile;
2. the image is created in the image service **with the caller's token**: it belongs to the
   caller's project, with the requested name, formats and visibility, and carries the
   volume's ``volume_image_metadata`` as properties (all but Cinder's core properties:
   checksum, formats, ids, names, sizes, min_disk/min_ram);
3. an ``upload`` task for the volume's agent carries the image id, the format and the
   caller's token (scrubbed from the task once it has run).

The agent (:func:`run_upload`) converts the volume with ``qemu-img`` to the requested format
(:meth:`volumes.backends.FileBackend.copy_to_image`), uploads the file to the image as the
caller, then protects the image if asked (only then: a failed upload's image can always be
removed), and puts the volume back to ``available`` or ``in-use`` (from its attachments). On
any failure the volume goes back the same way with the reason in its ``error``, and the image
is deleted (as the caller; with the service token when the caller's token no longer works).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from minicloud.db import Database, utcnow
from minicloud.errors import BadRequest, MinicloudError
from minicloud.identity.tokens import AuthContext
from minicloud.validation import to_bool
from volumes import states
from volumes.backends import Backend
from volumes.glance import NOT_PROPERTIES, ImageClient
from volumes.models import Volume, VolumeTask, VolumeType
from volumes.service import VolumeService

LOG = logging.getLogger("volumes.upload")
#: Cinder's disk formats less ``ploop`` (qemu-img cannot write it).
DISK_FORMATS = ("raw", "qcow2", "vmdk", "vdi", "vhd", "vhdx")
#: Cinder's ``glance_core_properties``: never copied from volume_image_metadata.
CORE_PROPERTIES = frozenset({"checksum", "container_format", "disk_format", "image_name",
                             "image_id", "min_disk", "min_ram", "name", "size"})
VISIBILITY_SINCE = 1  # 3.1: visibility and protected
VISIBILITIES = ("public", "private", "shared", "community")


@dataclass(frozen=True)
class UploadRequest:
    image_name: str
    disk_format: str = "raw"
    container_format: str = "bare"
    force: bool = False
    visibility: str | None = None   # 3.1+ (default private)
    protected: bool | None = None   # 3.1+ (default False)


def parse(params: dict, minor: int) -> UploadRequest:
    """The request of an ``os-volume_upload_image`` body that passed the schema."""
    if minor < VISIBILITY_SINCE:
        extra = sorted({"visibility", "protected"} & set(params))
        if extra:
            raise BadRequest(f"Invalid input for field/attribute os-volume_upload_image. "
                             f"Additional properties are not allowed ('{extra[0]}' was "
                             f"unexpected): visibility and protected need microversion 3.1.")
    force = to_bool(params.get("force", False))
    protected = to_bool(params["protected"]) if "protected" in params else None
    container = params.get("container_format") or "bare"
    if container != "bare":
        raise BadRequest(f"Invalid input received: container format {container[:50]!r} is "
                         f"not supported: minicloud uploads volumes as 'bare' images.")
    return UploadRequest(image_name=params["image_name"],
                         disk_format=params.get("disk_format") or "raw",
                         container_format=container, force=force,
                         visibility=params.get("visibility", "private")
                         if minor >= VISIBILITY_SINCE else None,
                         protected=bool(protected) if minor >= VISIBILITY_SINCE else None)


def image_properties(volume_image_metadata: dict[str, str] | None) -> dict[str, str]:
    """The custom properties an uploaded image inherits from the volume's image metadata."""
    return {k: v for k, v in (volume_image_metadata or {}).items()
            if k not in CORE_PROPERTIES and k not in NOT_PROPERTIES
            and not k.startswith("os_glance")}


def volume_type_body(vtype: VolumeType | None) -> dict | None:
    """The volume type as Cinder puts it in the upload answer."""
    if vtype is None:
        return None
    return {"id": vtype.id, "name": vtype.name, "description": vtype.description,
            "is_public": vtype.is_public, "extra_specs": dict(vtype.extra_specs or {}),
            "qos_specs_id": vtype.qos_specs_id, "deleted": False, "deleted_at": None,
            "created_at": _ts(vtype.created_at), "updated_at": _ts(vtype.updated_at)}


def _ts(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def settled_status(vol: Volume) -> str:
    """Where an upload leaves the volume: ``in-use`` while it has attachments."""
    return states.IN_USE if vol.attachments else states.AVAILABLE


class UploadService:
    def __init__(self, volumes: VolumeService) -> None:
        self.volumes = volumes
        self.db = volumes.db

    def start(self, ctx: AuthContext, volume_id: str, req: UploadRequest) -> dict:
        """Claim the volume, create the image as the caller, queue the upload; the answer
        is Cinder's ``os-volume_upload_image`` body (minor version decides the 3.1 keys)."""
        if self.volumes.image_client is None:
            raise BadRequest("Uploading a volume to an image is not available here.")
        wanted = {states.AVAILABLE} | ({states.IN_USE} if req.force else set())
        with self.db.session() as s:
            vol = self.volumes.visible(s, ctx, volume_id)
            if vol.status not in wanted:
                raise states.invalid(vol.id, vol.status, wanted, "upload it to an image" + (
                    "" if req.force or vol.status != states.IN_USE else " (in-use needs "
                    "force)"))
            states.transition(s, vol.id, wanted, states.UPLOADING, "upload it to an image")
            prior = vol.status
        client = self.volumes.image_client(ctx.token)
        try:
            image = client.create(self._image_body(vol, req))
        except BaseException:
            with self.db.session() as s:
                states.transition(s, vol.id, {states.UPLOADING}, prior, "upload it")
            raise
        with self.db.session() as s:
            self.volumes.enqueue(s, vol, "upload", {
                "image_id": image["id"], "disk_format": req.disk_format,
                "protected": bool(req.protected), "token": ctx.token})
            vol = s.get(Volume, vol.id)
            vtype = s.get(VolumeType, vol.volume_type_id)
            body = {"id": vol.id, "updated_at": _ts(vol.updated_at), "status": vol.status,
                    "display_description": vol.description, "size": vol.size,
                    "volume_type": volume_type_body(vtype), "image_id": image["id"],
                    "container_format": image.get("container_format", req.container_format),
                    "disk_format": image.get("disk_format", req.disk_format),
                    "image_name": image.get("name", req.image_name)}
        if req.visibility is not None or req.protected is not None:
            body["visibility"] = image.get("visibility", req.visibility)
            body["protected"] = bool(req.protected)
        return body

    @staticmethod
    def _image_body(vol: Volume, req: UploadRequest) -> dict:
        body = {**image_properties(vol.image_metadata), "name": req.image_name,
                "disk_format": req.disk_format, "container_format": req.container_format}
        if req.visibility is not None:
            body["visibility"] = req.visibility
        return body


# -- the agent's side ---------------------------------------------------------------------------
def scrub_token(s: Session, task: VolumeTask) -> None:
    """Forget the caller's token a finished upload task carried."""
    params = {k: v for k, v in (task.params or {}).items() if k != "token"}
    s.execute(update(VolumeTask).where(VolumeTask.id == task.id).values(params=params))


def run_upload(task: VolumeTask, db: Database, backend: Backend,
               user_images: Callable[[str], ImageClient], work_dir: Path) -> None:
    """The agent's ``upload`` task: convert, upload as the caller, settle the volume."""
    with db.session() as s:
        vol = s.get(Volume, task.volume_id)
        if vol is None or vol.status != states.UPLOADING:
            scrub_token(s, task)
            return  # reset meanwhile
    params = task.params
    client = user_images(params["token"])
    work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = work_dir / f"upload-{vol.id}"
    tmp.unlink(missing_ok=True)
    try:
        backend.copy_to_image(vol.id, tmp, params["disk_format"])
        client.upload(params["image_id"], tmp)
    finally:
        tmp.unlink(missing_ok=True)
    if params.get("protected"):
        client.update(params["image_id"], [{"op": "replace", "path": "/protected",
                                            "value": True}])
    with db.session() as s:
        vol = s.get(Volume, task.volume_id)
        states.transition(s, vol.id, {states.UPLOADING}, settled_status(vol), "upload it",
                          error=None)
        scrub_token(s, task)


def upload_failed(task: VolumeTask, db: Database, user_images: Callable[[str], ImageClient],
                  service_images: Callable[[], ImageClient], message: str) -> None:
    """A failed upload: the volume back to ``available``/``in-use`` with the reason, the
    image deleted (as the caller, else as the service), the token forgotten."""
    with db.session() as s:
        vol = s.get(Volume, task.volume_id)
        if vol is not None and vol.status == states.UPLOADING:
            s.execute(update(Volume).where(Volume.id == vol.id,
                                           Volume.status == states.UPLOADING)
                      .values(status=settled_status(vol), error=message,
                              updated_at=utcnow()))
        scrub_token(s, task)
    image_id, token = task.params.get("image_id"), task.params.get("token")
    clients = ([lambda: user_images(token)] if token else []) + [service_images]
    for make in clients:
        try:
            make().delete(image_id)
            return
        except MinicloudError as exc:
            LOG.warning("could not delete image %s of a failed upload: %s", image_id,
                        exc.message)
