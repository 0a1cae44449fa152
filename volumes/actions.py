"""Cinder's older volume actions: ``os-reserve``/``os-unreserve``, ``os-attach``/``os-detach``
(attachment bookkeeping only, as Cinder's: no export is made, the caller did the connecting
itself), ``os-begin_detaching``/``os-roll_detaching``, ``os-force_detach`` (admins) and
``os-update_readonly_flag``. Every status change goes through :func:`volumes.states.transition`.

An attachment made by the attachments API (it has a connector and an export on the host) is
never removed here: that is ``DELETE /attachments/{id}``, which also removes the export and
is restricted to compute (CVE-2023-2088). ``os-detach`` and ``os-force_detach`` only remove
attachments made by ``os-attach``.
"""
from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from minicloud.db import new_uuid, utcnow
from minicloud.errors import BadRequest, NotFound
from minicloud.identity.tokens import AuthContext
from volumes import encryption, states
from volumes.models import Volume, VolumeAttachment
from volumes.service import VolumeService

READONLY_KEY = "readonly"  # Cinder's admin metadata key, shown in the volume's metadata


def is_readonly(vol: Volume) -> bool:
    return (vol.metadata_ or {}).get(READONLY_KEY) == "True"


class VolumeActions:
    def __init__(self, volumes: VolumeService) -> None:
        self.volumes = volumes
        self.db = volumes.db

    def reserve(self, ctx: AuthContext, volume_id: str) -> None:
        """``available -> attaching``: nobody else may attach it meanwhile."""
        with self.db.session() as s:
            vol = self.volumes.visible(s, ctx, volume_id)
            encryption.refuse_attach(s, vol)
            states.transition(s, vol.id, {states.AVAILABLE}, states.ATTACHING, "reserve it")

    def unreserve(self, ctx: AuthContext, volume_id: str) -> None:
        """``attaching -> available``, for a reservation made by ``os-reserve`` only."""
        with self.db.session() as s:
            vol = self.volumes.visible(s, ctx, volume_id)
            if vol.attachments:
                raise states.invalid(vol.id, vol.status, {states.ATTACHING}, "unreserve it "
                                     "(it has attachments: use the attachments API)")
            states.transition(s, vol.id, {states.ATTACHING}, states.AVAILABLE,
                              "unreserve it")

    def attach(self, ctx: AuthContext, volume_id: str, instance_uuid: str, mountpoint: str,
               mode: str = "rw", host_name: str | None = None) -> str:
        """Record that ``instance_uuid`` has the volume at ``mountpoint``: ``available`` (or
        ``attaching`` after ``os-reserve``) -> ``in-use``. Returns the attachment id."""
        with self.db.session() as s:
            vol = self.volumes.visible(s, ctx, volume_id)
            encryption.refuse_attach(s, vol)
            if mode == "rw" and is_readonly(vol):
                raise BadRequest(f"Invalid attaching mode 'rw' for volume {vol.id}: the volume "
                                 f"is read-only.")
            if vol.attachments:
                raise states.invalid(vol.id, vol.status, {states.AVAILABLE},
                                     "attach it (it is attached already, no multiattach)")
            states.transition(s, vol.id, {states.AVAILABLE, states.ATTACHING}, states.IN_USE,
                              "attach it")
            att = VolumeAttachment(id=new_uuid(), volume_id=vol.id, server_id=instance_uuid,
                                   host=host_name, device=mountpoint,
                                   status=states.A_ATTACHED, connector=None,
                                   attach_mode=mode, attached_at=utcnow())
            s.add(att)
            return att.id

    @staticmethod
    def _legacy(vol: Volume, attachment_id: str | None) -> VolumeAttachment:
        found = [a for a in vol.attachments if attachment_id in (None, a.id)]
        if not found:
            raise NotFound(f"Attachment {attachment_id} could not be found.") if attachment_id \
                else BadRequest(f"Invalid volume: Volume {vol.id} is not attached.")
        if len(found) > 1:
            raise BadRequest("Invalid input received: the volume has several attachments: "
                             "name one with 'attachment_id'.")
        if found[0].connector is not None:
            raise BadRequest(f"Invalid volume: attachment {found[0].id} was made through the "
                             f"attachments API and is exported to its host: delete it with "
                             f"DELETE /attachments/{found[0].id}.")
        return found[0]

    def _remove(self, s: Session, vol: Volume, att: VolumeAttachment,
                expected: set[str]) -> None:
        s.execute(delete(VolumeAttachment).where(VolumeAttachment.id == att.id))
        if len(vol.attachments) == 1:
            states.transition(s, vol.id, expected, states.AVAILABLE, "detach it")

    def detach(self, ctx: AuthContext, volume_id: str, attachment_id: str | None) -> None:
        """Forget an ``os-attach`` attachment; the last one makes the volume ``available``."""
        with self.db.session() as s:
            vol = self.volumes.visible(s, ctx, volume_id)
            att = self._legacy(vol, attachment_id)
            self._remove(s, vol, att, {states.IN_USE, states.DETACHING})

    def force_detach(self, ctx: AuthContext, volume_id: str,
                     attachment_id: str | None) -> None:
        """:meth:`detach` from any attached status, ``error`` included (admins)."""
        with self.db.session() as s:
            vol = self.volumes.visible(s, ctx, volume_id)
            att = self._legacy(vol, attachment_id)
            self._remove(s, vol, att, {states.IN_USE, states.DETACHING, states.ERROR,
                                       states.ATTACHING})

    def begin_detaching(self, ctx: AuthContext, volume_id: str) -> None:
        with self.db.session() as s:
            vol = self.volumes.visible(s, ctx, volume_id)
            states.transition(s, vol.id, {states.IN_USE}, states.DETACHING, "detach it")

    def roll_detaching(self, ctx: AuthContext, volume_id: str) -> None:
        """``detaching -> in-use``, unless an attachment is really being detached."""
        with self.db.session() as s:
            vol = self.volumes.visible(s, ctx, volume_id)
            if any(a.status != states.A_ATTACHED for a in vol.attachments) \
                    or not vol.attachments:
                return  # Cinder answers 202 and leaves such a volume alone
            states.transition(s, vol.id, {states.DETACHING}, states.IN_USE,
                              "roll back its detach")

    def update_readonly(self, ctx: AuthContext, volume_id: str, readonly: bool) -> None:
        """Set metadata ``readonly`` to ``"True"``/``"False"`` (an available volume)."""
        with self.db.session() as s:
            vol = self.volumes.visible(s, ctx, volume_id)
            if vol.status != states.AVAILABLE:
                raise states.invalid(vol.id, vol.status, {states.AVAILABLE},
                                     "update its readonly flag")
            meta = {**(vol.metadata_ or {}), READONLY_KEY: str(readonly)}
            s.execute(update(Volume).where(Volume.id == vol.id)
                      .values(metadata_=meta, updated_at=utcnow()))
