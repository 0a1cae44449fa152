"""Attachments (Cinder's v3.27+ attachments API): the flow compute uses to attach a volume.

1. ``create`` (``POST /attachments``, volume + instance uuid, no connector): the volume goes
   ``available -> reserved`` by compare-and-swap, so of two concurrent reserves exactly one
   wins; the other gets Cinder's ``Invalid volume`` (400).
2. ``update`` (``PUT /attachments/{id}`` with compute's connector ``{"host", "initiator",
   "mountpoint"}``): ``reserved -> attaching``; the agent exports the target (a durable task
   the API waits for) and the caller gets the :class:`~volumes.connection.ConnectionInfo`.
3. ``complete`` (``os-complete``): attachment ``attached``, volume ``in-use``.
4. ``delete``: a reserved attachment just goes; a connected one goes ``detaching`` while the
   agent removes the export, then the volume is ``available``.

Policy (CVE-2023-2088, hardening.md 3): the connection info (it carries the CHAP secret) is
only ever given to *privileged* callers (the compute service user or an admin), and only they
may delete an attachment that has an export behind it; a plain user gets 403 for those.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from minicloud.db import new_uuid, utcnow
from minicloud.errors import BadRequest, Forbidden, NotFound
from minicloud.identity.tokens import AuthContext
from volumes import encryption, frontend, states
from volumes.connection import Chap, ConnectionInfo
from volumes.models import Volume, VolumeAttachment
from volumes.query import column_conditions, ordered
from volumes.service import VolumeService

CVE_2023_2088 = ("Only the compute service (or an admin) may delete an attachment that is "
                 "connected to an instance (CVE-2023-2088).")


def parse_connector(connector: object) -> dict:
    """Compute's connector: ``host`` (required), ``initiator`` and ``mountpoint`` optional."""
    if not isinstance(connector, dict):
        raise BadRequest("Invalid input: 'connector' must be an object.")
    for key in ("host", "initiator", "mountpoint"):
        value = connector.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise BadRequest(f"Invalid input: connector '{key}' must be a string.")
    if not connector.get("host"):
        raise BadRequest("Invalid input: connector 'host' is required.")
    mountpoint = connector.get("mountpoint")
    if mountpoint is not None and not mountpoint.startswith("/dev/"):
        raise BadRequest("Invalid input: connector 'mountpoint' must be a /dev/ path.")
    return dict(connector)


class AttachmentService:
    def __init__(self, volumes: VolumeService) -> None:
        self.volumes = volumes
        self.db = volumes.db

    # -- reading -------------------------------------------------------------------------------
    def _visible(self, s: Session, ctx: AuthContext, attachment_id: str
                 ) -> tuple[VolumeAttachment, Volume]:
        att = s.get(VolumeAttachment, attachment_id)
        if att is None:
            raise NotFound(f"Attachment {attachment_id} could not be found.")
        try:
            vol = self.volumes.visible(s, ctx, att.volume_id)
        except NotFound:
            raise NotFound(f"Attachment {attachment_id} could not be found.") from None
        return att, vol

    def get(self, ctx: AuthContext, attachment_id: str) -> tuple[VolumeAttachment, Volume]:
        with self.db.session() as s:
            return self._visible(s, ctx, attachment_id)

    #: Attachment list filters (Cinder's resource_filters.json) and the columns they match.
    FILTERS = {"volume_id": VolumeAttachment.volume_id, "instance_id": VolumeAttachment.server_id,
               "status": VolumeAttachment.status, "attach_status": VolumeAttachment.status}
    SORT_KEYS = {"id": VolumeAttachment.id, "created_at": VolumeAttachment.created_at,
                 "updated_at": VolumeAttachment.updated_at, "status": VolumeAttachment.status,
                 "volume_id": VolumeAttachment.volume_id,
                 "instance_id": VolumeAttachment.server_id}

    def list(self, ctx: AuthContext, filters: Mapping[str, str] | None = None,
             all_projects: bool = False,
             sort: Sequence[tuple[str, str]] = (("created_at", "desc"), ("id", "desc")),
             ) -> list[VolumeAttachment]:
        """The attachments of the caller's project's volumes (every project's with
        ``all_projects``, which the API grants admins only), filtered by :data:`FILTERS`
        (exact values) and ordered by ``sort`` (keys of :data:`SORT_KEYS`)."""
        with self.db.session() as s:
            query = select(VolumeAttachment).join(Volume).where(
                Volume.status != states.DELETED)
            if not all_projects:
                query = query.where(Volume.project_id == ctx.project_id)
            query = query.where(*column_conditions(filters or {}, self.FILTERS))
            return list(s.scalars(ordered(query, sort, self.SORT_KEYS)))

    def connection_info(self, volume_id: str, attachment_id: str | None = None
                        ) -> ConnectionInfo | None:
        """The connection info of an exported volume (None when it has no export), with
        the attachment's access mode and the type's front-end qos-specs
        (:mod:`volumes.frontend`)."""
        with self.db.session() as s:
            vol = s.get(Volume, volume_id)
            if vol is None or not vol.auth_username:
                return None
            chap = Chap(vol.auth_username, vol.auth_password or "")
            att = s.get(VolumeAttachment, attachment_id) if attachment_id else None
            mode = frontend.access_mode(vol, att.attach_mode if att else None)
            qos = frontend.front_end_qos(s, vol)
        return ConnectionInfo.for_export(volume_id, self.volumes.settings.portal_ip,
                                         self.volumes.settings.portal_port, chap, mode, qos)

    # -- the flow ---------------------------------------------------------------------------------
    def create(self, ctx: AuthContext, volume_id: str, instance_id: str,
               mode: str | None = None) -> str:
        """Reserve the volume for ``instance_id``; returns the new attachment's id. The
        attachment's mode is ``mode`` (3.54+), else ``ro`` for a read-only volume; ``rw`` on a
        read-only volume is a 400."""
        with self.db.session() as s:
            vol = self.volumes.visible(s, ctx, volume_id)
            encryption.refuse_attach(s, vol)
            attach_mode = frontend.attach_mode(vol, mode)
            states.transition(s, vol.id, {states.AVAILABLE}, states.RESERVED,
                              "reserve it for an attachment")
            att = VolumeAttachment(id=new_uuid(), volume_id=vol.id, server_id=instance_id,
                                   status=states.A_RESERVED, attach_mode=attach_mode)
            s.add(att)
            return att.id

    def update(self, ctx: AuthContext, attachment_id: str, connector: dict
               ) -> ConnectionInfo:
        """Export the volume for ``connector`` and return how to reach it (privileged)."""
        with self.db.session() as s:
            att, vol = self._visible(s, ctx, attachment_id)
            if att.status == states.A_RESERVED:
                states.attachment_transition(
                    s, att.id, {states.A_RESERVED}, states.A_ATTACHING,
                    connector=connector, host=connector["host"],
                    device=connector.get("mountpoint"))
                states.transition(s, vol.id, {states.RESERVED}, states.ATTACHING,
                                  "attach it")
            elif att.status != states.A_ATTACHING:  # a retry after a timeout is fine
                raise BadRequest(f"Invalid attachment: attachment {att.id} is {att.status}; "
                                 "only a reserved attachment takes a connector.")
            task = self.volumes.enqueue(s, vol, "export", {
                "attachment_id": att.id, "initiator": connector.get("initiator")})
        self.volumes.wait_task(task)
        info = self.connection_info(vol.id, attachment_id)
        if info is None:
            raise BadRequest(f"Invalid attachment: attachment {attachment_id} was detached "
                             "while it was being exported.")
        return info

    def complete(self, ctx: AuthContext, attachment_id: str) -> None:
        """Compute connected the instance: attachment ``attached``, volume ``in-use``."""
        with self.db.session() as s:
            att, vol = self._visible(s, ctx, attachment_id)
            states.attachment_transition(s, att.id, {states.A_ATTACHING}, states.A_ATTACHED,
                                         attached_at=utcnow())
            states.transition(s, vol.id, {states.ATTACHING}, states.IN_USE, "complete attach")

    def delete(self, ctx: AuthContext, attachment_id: str, privileged: bool) -> None:
        """Remove the attachment (and the export behind it); see the module docstring."""
        with self.db.session() as s:
            att, vol = self._visible(s, ctx, attachment_id)
            if att.status == states.A_RESERVED:
                s.execute(delete(VolumeAttachment).where(
                    VolumeAttachment.id == att.id,
                    VolumeAttachment.status == states.A_RESERVED))
                states.transition(s, vol.id, {states.RESERVED}, states.AVAILABLE,
                                  "remove its reservation")
                return
            if not privileged:
                raise Forbidden(CVE_2023_2088)
            if att.status != states.A_DETACHING:  # else: retrying a detach that timed out
                states.attachment_transition(
                    s, att.id, {states.A_ATTACHING, states.A_ATTACHED, states.A_ERROR},
                    states.A_DETACHING)
                states.transition(s, vol.id, {states.ATTACHING, states.IN_USE, states.ERROR},
                                  states.DETACHING, "detach it")
            task = self.volumes.enqueue(s, vol, "unexport", {"attachment_id": att.id})
        self.volumes.wait_task(task)

    # -- called by the agent ----------------------------------------------------------------------
    def export_failed(self, s: Session, attachment_id: str) -> bool:
        """Undo ``update`` after a failed export: back to ``reserved``, no credentials;
        whether it did (False: detached meanwhile, the unexport cleans up)."""
        att = s.get(VolumeAttachment, attachment_id)
        if att is None or att.status != states.A_ATTACHING:
            return False
        s.execute(update(VolumeAttachment).where(VolumeAttachment.id == att.id).values(
            status=states.A_RESERVED, connector=None, host=None, device=None))
        s.execute(update(Volume).where(Volume.id == att.volume_id,
                                       Volume.status == states.ATTACHING)
                  .values(status=states.RESERVED, auth_username=None, auth_password=None))
        return True

    @staticmethod
    def data_missing(s: Session, attachment_id: str, message: str) -> None:
        """An export that found the volume's data gone: the attachment is dropped and the
        volume is ``error`` (with ``message``), so its owner sees why the attach failed
        instead of a volume silently ``available`` again with nothing behind it."""
        att = s.get(VolumeAttachment, attachment_id)
        if att is None or att.status != states.A_ATTACHING:
            return  # detached meanwhile: the unexport cleans up
        s.execute(delete(VolumeAttachment).where(VolumeAttachment.id == att.id))
        states.transition(s, att.volume_id, {states.ATTACHING}, states.ERROR, "fail it",
                          error=message[:500], auth_username=None, auth_password=None)

    @staticmethod
    def unexported(s: Session, attachment_id: str, volume_id: str) -> None:
        """The export is gone: drop the attachment; the volume is ``available`` again. A
        second unexport of the same attachment (a retried detach queued while the first
        was still waiting) finds it gone and changes nothing."""
        if s.execute(delete(VolumeAttachment).where(
                VolumeAttachment.id == attachment_id)).rowcount == 0:
            return
        states.transition(s, volume_id, {states.DETACHING}, states.AVAILABLE, "detach it",
                          auth_username=None, auth_password=None)
