"""Volume transfers: a project offers one of its volumes; whoever holds the transfer id and
its auth key accepts it into their own project (Cinder's ``os-volume-transfer``).

* ``create``: the volume must be ``available`` with no attachment; it goes
  ``awaiting-transfer`` (a compare-and-swap) and the answer carries the auth key, the only
  time it is ever shown: only a salted SHA-256 of it is stored.
* ``delete``: the offer is withdrawn, the volume ``available`` again.
* ``accept``: the key is compared in constant time; the receiving project's quota is
  counted (413 when it is full) and the giver's released in the same transaction as the
  volume changes project and owner and goes back to ``available``. The data never moves:
  the volume keeps its file and id. Its snapshots move with it (project, owner and quota),
  unless the transfer was made with ``no_snapshots`` (3.55): then they stay the giver's,
  as in Cinder. Without ``no_snapshots`` every snapshot must be ``available`` to offer it.

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
from volumes.models import Volume, VolumeSnapshot, VolumeTransfer
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
            busy = [x.id for x in snapshots.of_volume(s, vol.id)
                    if x.status != states.S_AVAILABLE]
            if busy and not no_snapshots:  # they move with it: each must be settled
                raise BadRequest(f"Invalid snapshot: snapshot {busy[0]} of volume {vol.id} "
                                 f"must be available to be transferred.")
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

    def _move_snapshots(self, s: Session, vol: Volume, ctx: AuthContext) -> None:
        """The volume's snapshots change project with it, their quota too, the per-type usage
        of the volume's type included (413 when the receiving project has no room: the whole
        accept is undone)."""
        for snap in snapshots.of_volume(s, vol.id):
            quotas.reserve_snapshot(s, ctx.project_id, self.volumes.settings.quota, snap.size,
                                    vol.volume_type_id)
            quotas.release_snapshot(s, snap.project_id, snap.size, vol.volume_type_id)
        s.execute(update(VolumeSnapshot).where(
            VolumeSnapshot.volume_id == vol.id, VolumeSnapshot.status != states.S_DELETED)
            .values(project_id=ctx.project_id, user_id=ctx.user_id, updated_at=utcnow()))

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
            if not tr.no_snapshots:
                self._move_snapshots(s, vol, ctx)
            states.transition(s, vol.id, {states.AWAITING_TRANSFER}, states.AVAILABLE,
                              "accept its transfer", project_id=ctx.project_id,
                              user_id=ctx.user_id)
            s.execute(update(VolumeTransfer).where(VolumeTransfer.id == tr.id).values(
                accepted=True, destination_project_id=ctx.project_id, deleted_at=utcnow()))
            s.flush()
            s.refresh(tr)
            return tr

