"""Volume transfers: a project offers one of its volumes; whoever holds the transfer id and
its auth key accepts it into their own project (Cinder's ``os-volume-transfer``).

* ``create``: the volume must be ``available`` with no attachment; it goes
  ``awaiting-transfer`` (a compare-and-swap) and the answer carries the auth key, the only
  time it is ever shown: only a salted SHA-256 of it is stored.
* ``delete``: the offer is withdrawn, the volume ``available`` again.
* ``accept``: the key is compared in constant time; the receiving project's quota is
  counted (413 when it is full) and the giver's released in the same transaction as the
  volume changes project and owner and goes back to ``available``. The data never moves:
  the volume keeps its file and id.

Transfers are listed and shown to the giving project (admins: every project's). Accepting
needs no right on the giving project: the id and key are the capability, as in Cinder.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from minicloud.db import new_uuid, utcnow
from minicloud.errors import BadRequest, NotFound
from minicloud.identity.tokens import AuthContext
from volumes import quotas, snapshots, states
from volumes.models import Volume, VolumeTransfer
from volumes.service import VolumeService

AUTH_KEY_BYTES = 8  # 16 hex characters, as Cinder's default volume_transfer_key_length


def _hash(salt: str, auth_key: str) -> str:
    return hashlib.sha256(f"{salt}{auth_key}".encode()).hexdigest()


class TransferService:
    def __init__(self, volumes: VolumeService) -> None:
        self.volumes = volumes
        self.db = volumes.db

    @staticmethod
    def _pending(s: Session, transfer_id: str) -> VolumeTransfer:
        tr = s.get(VolumeTransfer, transfer_id)
        if tr is None or tr.deleted_at is not None:
            raise NotFound(f"Transfer {transfer_id} could not be found.")
        return tr

    def _visible(self, s: Session, ctx: AuthContext, transfer_id: str) -> VolumeTransfer:
        tr = self._pending(s, transfer_id)
        if tr.source_project_id != ctx.project_id and not ctx.is_admin:
            raise NotFound(f"Transfer {transfer_id} could not be found.")
        return tr

    def get(self, ctx: AuthContext, transfer_id: str) -> VolumeTransfer:
        with self.db.session() as s:
            return self._visible(s, ctx, transfer_id)

    def list(self, ctx: AuthContext, all_projects: bool = False) -> list[VolumeTransfer]:
        with self.db.session() as s:
            query = select(VolumeTransfer).where(VolumeTransfer.deleted_at.is_(None)) \
                .order_by(VolumeTransfer.created_at.desc(), VolumeTransfer.id)
            if not all_projects:
                query = query.where(VolumeTransfer.source_project_id == ctx.project_id)
            return list(s.scalars(query))

    def create(self, ctx: AuthContext, volume_id: str, name: str | None,
               no_snapshots: bool = False) -> tuple[VolumeTransfer, str]:
        """Offer the volume; returns the transfer and its auth key (shown once)."""
        auth_key = secrets.token_hex(AUTH_KEY_BYTES)
        salt = secrets.token_hex(8)
        with self.db.session() as s:
            vol = self.volumes.visible(s, ctx, volume_id)
            if vol.attachments:
                raise BadRequest(f"Invalid volume: Volume {vol.id} has attachments; only an "
                                 f"available volume can be transferred.")
            if snapshots.of_volume(s, vol.id):
                # Cinder moves them along (or not, no_snapshots); minicloud does neither, so
                # no project is left with snapshots of another project's volume.
                raise BadRequest(f"Invalid volume: Volume {vol.id} has snapshots; minicloud "
                                 f"transfers volumes without snapshots (delete them first).")
            states.transition(s, vol.id, {states.AVAILABLE}, states.AWAITING_TRANSFER,
                              "transfer it")
            tr = VolumeTransfer(id=new_uuid(), volume_id=vol.id, name=name, salt=salt,
                                crypt_hash=_hash(salt, auth_key),
                                source_project_id=vol.project_id, no_snapshots=no_snapshots)
            s.add(tr)
            s.flush()
            s.refresh(tr)
        return tr, auth_key

    def delete(self, ctx: AuthContext, transfer_id: str) -> None:
        with self.db.session() as s:
            tr = self._visible(s, ctx, transfer_id)
            s.execute(update(VolumeTransfer).where(VolumeTransfer.id == tr.id)
                      .values(deleted_at=utcnow()))
            states.transition(s, tr.volume_id, {states.AWAITING_TRANSFER}, states.AVAILABLE,
                              "cancel its transfer")

    def accept(self, ctx: AuthContext, transfer_id: str, auth_key: str) -> VolumeTransfer:
        """Move the volume into the caller's project (see the module docstring)."""
        with self.db.session() as s:
            tr = self._pending(s, transfer_id)
            if not hmac.compare_digest(tr.crypt_hash, _hash(tr.salt, auth_key)):
                raise BadRequest(f"Invalid auth key: Attempt to transfer {transfer_id} with "
                                 f"invalid auth key.")
            # The offered volume is another project's: the id and key are the capability.
            vol = s.get(Volume, tr.volume_id)
            if vol is None or vol.status == states.DELETED:
                raise NotFound(f"Volume {tr.volume_id} could not be found.")
            quotas.reserve(s, ctx.project_id, self.volumes.settings.quota, 1, vol.size,
                           volume_size=vol.size, volume_type_id=vol.volume_type_id)
            quotas.release(s, vol.project_id, 1, vol.size, vol.volume_type_id)
            states.transition(s, vol.id, {states.AWAITING_TRANSFER}, states.AVAILABLE,
                              "accept its transfer", project_id=ctx.project_id,
                              user_id=ctx.user_id)
            s.execute(update(VolumeTransfer).where(VolumeTransfer.id == tr.id).values(
                accepted=True, destination_project_id=ctx.project_id, deleted_at=utcnow()))
            s.flush()
            s.refresh(tr)
            return tr

