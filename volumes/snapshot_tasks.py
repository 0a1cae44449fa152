"""The volume agent's snapshot work: ``create_snapshot`` and ``delete_snapshot`` tasks
(queued under the snapshot's volume, so in order with that volume's other tasks), what a
failure leaves, and what a restart finds.

A snapshot's bytes are the backend's (:meth:`volumes.backends.Backend.create_snapshot`);
its status moves only by :func:`volumes.states.snapshot_transition`. After a restart an
interrupted create becomes ``error`` (its partial copy is removed by the backend, which
renames a copy into place only when complete) and an interrupted delete runs again.
"""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from volumes import snapshots, states
from volumes.models import VolumeSnapshot, VolumeTask

#: The task actions of this module.
ACTIONS = frozenset({"create_snapshot", "delete_snapshot"})
#: Interrupted ones that simply run again (deleting twice is fine).
RERUN = ("delete_snapshot",)


class SnapshotTasks:
    """Mixed into :class:`volumes.agent.Agent` (``self.db``, ``self.backend``, ``self.host``)."""

    def _snapshot(self, task: VolumeTask) -> VolumeSnapshot | None:
        with self.db.session() as s:
            return s.get(VolumeSnapshot, task.params["snapshot_id"])

    def _do_create_snapshot(self, task: VolumeTask) -> None:
        snap = self._snapshot(task)
        if snap is None or snap.status != states.S_CREATING:
            return  # reset or force-deleted before we started
        self.backend.create_snapshot(snap.id, snap.volume_id)
        with self.db.session() as s:
            states.snapshot_transition(s, snap.id, {states.S_CREATING}, states.S_AVAILABLE,
                                       "finish creating", progress="100%")

    def _do_delete_snapshot(self, task: VolumeTask) -> None:
        snap = self._snapshot(task)
        if snap is None or snap.status != states.S_DELETING:
            return
        self.backend.delete_snapshot(snap.id)
        with self.db.session() as s:
            snapshots.finish_delete(s, snap)

    @staticmethod
    def snapshot_task_failed(s: Session, task: VolumeTask, message: str) -> None:
        """A failed create leaves ``error``, a failed delete ``error_deleting`` (both keep
        their quota until deleted, as Cinder's)."""
        old, new = ((states.S_CREATING, states.S_ERROR) if task.action == "create_snapshot"
                    else (states.S_DELETING, states.S_ERROR_DELETING))
        s.execute(update(VolumeSnapshot).where(
            VolumeSnapshot.id == task.params["snapshot_id"], VolumeSnapshot.status == old)
            .values(status=new, error=message))

    def recover_snapshots(self, s: Session, queued: set[str]) -> None:
        """At start: snapshots of this host left ``creating`` with nothing queued for their
        volume become ``error``; ``deleting`` ones get their delete queued again."""
        for snap in list(s.scalars(select(VolumeSnapshot).where(
                VolumeSnapshot.host == self.host,
                VolumeSnapshot.status.in_((states.S_CREATING, states.S_DELETING))))):
            if snap.volume_id in queued:
                continue
            if snap.status == states.S_CREATING:
                s.execute(update(VolumeSnapshot).where(
                    VolumeSnapshot.id == snap.id, VolumeSnapshot.status == states.S_CREATING)
                    .values(status=states.S_ERROR, error="The create was lost by a restart."))
            else:
                s.add(VolumeTask(volume_id=snap.volume_id, host=self.host,
                                 action="delete_snapshot", params={"snapshot_id": snap.id}))
