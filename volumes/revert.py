"""Revert a volume to its latest snapshot (Cinder's ``revert`` action, 3.40).

The API (:class:`RevertService`) checks as Cinder does and answers 202: the snapshot must
be visible (else 404), the volume's latest one (its newest snapshot not deleted; a volume
without snapshots is a 404, an older snapshot a 400), ``available``, and the volume
``available`` (400 otherwise). In one transaction the volume goes ``reverting``, the
snapshot ``restoring`` and a ``revert`` task is queued on the volume's host.

The volume agent (:class:`RevertTasks`) puts the snapshot's bytes back
(:meth:`volumes.backends.Backend.revert_to_snapshot`: on the file backend a reflink or
sparse copy staged beside the volume and renamed over it, so a failure leaves the volume's
old bytes), keeping the volume's size when it was extended after the snapshot. Done: both
``available``. Failed: the volume ``error`` (as Cinder's), the snapshot ``available`` again,
and a user message (:mod:`volumes.messages`).
"""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from minicloud.errors import BadRequest, NotFound
from minicloud.identity.tokens import AuthContext
from volumes import snapshots, states
from volumes.host_status import check_not_frozen
from volumes.models import Volume, VolumeHost, VolumeSnapshot, VolumeTask
from volumes.service import VolumeService

ACTION = "revert"  # the agent's task action


def latest(s: Session, volume_id: str) -> VolumeSnapshot | None:
    """The volume's newest snapshot that is not deleted (Cinder's get_latest_snapshot)."""
    return s.scalars(select(VolumeSnapshot).where(
        VolumeSnapshot.volume_id == volume_id, VolumeSnapshot.status != states.S_DELETED)
        .order_by(VolumeSnapshot.created_at.desc(), VolumeSnapshot.id.desc()).limit(1)).first()


class RevertService:
    def __init__(self, volumes: VolumeService) -> None:
        self.volumes = volumes
        self.db = volumes.db

    def revert(self, ctx: AuthContext, volume_id: str, snapshot_id: str) -> None:
        """Start reverting ``volume_id`` to ``snapshot_id`` (see the module docstring)."""
        with self.db.session() as s:
            vol = self.volumes.visible(s, ctx, volume_id)
            snap = snapshots.visible(s, ctx, snapshot_id)
            newest = latest(s, vol.id)
            if newest is None:
                raise NotFound(f"No snapshots found for volume {vol.id}.")
            if newest.id != snap.id:
                raise BadRequest(f"Specified snapshot {snap.id} is not the latest one of "
                                 f"volume {vol.id}.")
            if vol.status != states.AVAILABLE or snap.status != states.S_AVAILABLE:
                raise BadRequest(f"Invalid volume: Volume {vol.id} status must be available "
                                 f"and snapshot {snap.id} status must be available to revert, "
                                 f"but the current statuses are {vol.status} and "
                                 f"{snap.status}.")
            if vol.host is not None:
                check_not_frozen(s.get(VolumeHost, vol.host), "revert it")
            states.transition(s, vol.id, {states.AVAILABLE}, states.REVERTING, "revert it")
            states.snapshot_transition(s, snap.id, {states.S_AVAILABLE}, states.S_RESTORING,
                                       "revert to it")
            self.volumes.enqueue(s, vol, ACTION, {"snapshot_id": snap.id})


class RevertTasks:
    """Mixed into :class:`volumes.agent.Agent` (``self.db``, ``self.backend``)."""

    def _do_revert(self, task: VolumeTask) -> None:
        with self.db.session() as s:
            vol = s.get(Volume, task.volume_id)
            snap = s.get(VolumeSnapshot, task.params["snapshot_id"])
        if vol is None or snap is None or vol.status != states.REVERTING \
                or snap.status != states.S_RESTORING:
            return  # reset by an admin before we started
        self.backend.revert_to_snapshot(vol.id, snap.id, vol.size)
        with self.db.session() as s:
            states.transition(s, vol.id, {states.REVERTING}, states.AVAILABLE, "finish "
                              "reverting it")
            states.snapshot_transition(s, snap.id, {states.S_RESTORING}, states.S_AVAILABLE,
                                       "finish reverting to it")

    @staticmethod
    def revert_failed(s: Session, task: VolumeTask, message: str) -> None:
        """The volume ``error`` with the reason, its snapshot ``available`` again."""
        s.execute(update(Volume).where(Volume.id == task.volume_id,
                                       Volume.status == states.REVERTING)
                  .values(status=states.ERROR, error=message))
        s.execute(update(VolumeSnapshot).where(
            VolumeSnapshot.id == task.params["snapshot_id"],
            VolumeSnapshot.status == states.S_RESTORING).values(status=states.S_AVAILABLE))
