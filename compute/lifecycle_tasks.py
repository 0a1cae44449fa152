"""The agent's side of :mod:`compute.lifecycle`: pause, suspend, rebuild, backup rotation,
soft delete, restore, and the periodic reclaim of soft-deleted servers.

A mixin of :class:`compute.agent.Agent` (it uses the agent's driver, image cache, clients
and compare-and-swap helpers). Each ``_do_<action>`` finishes its task with one CAS from the
action's task state (:data:`compute.states.ACTIONS`) to its end state; the power state
recorded is what the driver reports afterwards (a suspended libvirt guest is shut off, as
Nova shows it).
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select, update

from compute import states
from compute.driver import InstanceSpec
from compute.faults import user_fault
from compute.models import ComputeTask, Instance
from minicloud.db import utcnow
from minicloud.errors import MinicloudError

LOG = logging.getLogger("compute.agent")


class LifecycleTasks:
    """Task handlers and the reclaim periodic task (mixed into the agent)."""

    def _finish(self, task: ComputeTask, vm_state: str, **values: object) -> None:
        """End ``task``: its task state to ``vm_state`` with the guest's power state."""
        self._transition(task.instance_id, states.ACTIONS[task.action].task,
                         vm_state=vm_state, task_state=None,
                         power_state=self.driver.power_state(task.instance_id), **values)

    def _do_pause(self, task: ComputeTask) -> None:
        self.driver.pause(task.instance_id)
        self._finish(task, states.PAUSED_VM)

    def _do_unpause(self, task: ComputeTask) -> None:
        self.driver.unpause(task.instance_id)
        self._finish(task, states.ACTIVE)

    def _do_suspend(self, task: ComputeTask) -> None:
        self.driver.suspend(task.instance_id)
        self._finish(task, states.SUSPENDED_VM)

    def _do_resume(self, task: ComputeTask) -> None:
        self.driver.resume(task.instance_id)
        self._finish(task, states.ACTIVE)

    # -- soft delete ---------------------------------------------------------------------------
    def _do_soft_delete(self, task: ComputeTask) -> None:
        """Power the guest off; disks, volumes and the host's claim stay for a restore."""
        self.driver.power_off(task.instance_id)
        self._finish(task, states.SOFT_DELETED, deleted_at=utcnow())

    def _do_restore(self, task: ComputeTask) -> None:
        self.driver.power_on(task.instance_id)
        self._finish(task, states.ACTIVE)

    def reclaim_soft_deleted(self) -> int:
        """Delete for good the soft-deleted servers of this host older than
        ``[compute] reclaim_instance_interval`` (each taken with a CAS to ``deleting``, so
        once); how many were queued."""
        interval = self.conf.compute.reclaim_instance_interval
        if interval <= 0:
            return 0
        cutoff = utcnow() - dt.timedelta(seconds=interval)
        queued = 0
        with self.db.session() as s:
            ids = list(s.scalars(select(Instance.id).where(
                Instance.host == self.host, Instance.vm_state == states.SOFT_DELETED,
                Instance.task_state.is_(None), Instance.deleted_at <= cutoff)))
            for instance_id in ids:
                if s.execute(update(Instance).where(
                        Instance.id == instance_id, Instance.vm_state == states.SOFT_DELETED,
                        Instance.task_state.is_(None)).values(task_state="deleting")).rowcount:
                    s.add(ComputeTask(instance_id=instance_id, host=self.host, action="delete"))
                    queued += 1
        if queued:
            LOG.info("reclaiming %d soft-deleted servers", queued)
        return queued

    # -- rebuild ---------------------------------------------------------------------------------
    def _do_rebuild(self, task: ComputeTask) -> None:
        """A new vda from the task's image (the cached base), vdb and volumes kept; the
        server ends as it began (stopped stays stopped). A failure is Nova's: ERROR with
        a fault."""
        inst = self._instance(task.instance_id)
        power_on = inst.vm_state != states.STOPPED
        try:
            base, fmt = None, "raw"
            if task.params.get("image_id"):  # only the images the API checked as the caller
                args = self._image_args(inst, task.params["image_id"],
                                        checked=task.params.get("images"),
                                        certificates=task.params.get("certificates"))
                base, fmt = args["base_image"], args["base_format"]
            if not self._transition(inst.id, "rebuilding", task_state="rebuild_spawning"):
                return  # deleted meanwhile
            self.driver.rebuild(inst.id, self.instances_path / inst.id, base, fmt,
                                inst.flavor["disk"], power_on,
                                self._config_drive(inst) if inst.config_drive else None)
        except Exception as exc:
            self.service.set_error(inst.id, user_fault(exc, inst.id))
            raise
        self._transition(inst.id, "rebuild_spawning",
                         vm_state=states.ACTIVE if power_on else states.STOPPED,
                         task_state=None, power_state=self.driver.power_state(inst.id),
                         launched_at=utcnow(), progress=100)

    # -- rescue ----------------------------------------------------------------------------------
    def _do_rescue(self, task: ComputeTask) -> None:
        """Boot the rescue image with the server's vda as vdb; a failure leaves the guest as
        it was and the server in ERROR with a fault (as Nova)."""
        inst = self._instance(task.instance_id)
        try:
            args = self._image_args(inst, task.params["image_id"],
                                    checked=task.params.get("images"),
                                    certificates=task.params.get("certificates"))
            self.driver.rescue(InstanceSpec(
                id=inst.id, name=inst.name, flavor=inst.flavor, image_meta=inst.image_meta,
                instance_dir=self.instances_path / inst.id, **args))
        except Exception as exc:
            self.service.set_error(inst.id, user_fault(exc, inst.id))
            raise
        self._finish(task, states.RESCUED)

    def _do_unrescue(self, task: ComputeTask) -> None:
        self.driver.unrescue(task.instance_id, self.instances_path / task.instance_id)
        self._finish(task, states.ACTIVE)

    # -- backups ---------------------------------------------------------------------------------
    def _do_backup(self, task: ComputeTask) -> None:
        """Upload the backup as a snapshot, then rotate: keep the newest ``rotation``
        backups of this server and ``backup_type`` (the new one first), delete the rest."""
        self._upload_snapshot(task)
        try:
            self._rotate_backups(task)
        finally:
            self._transition(task.instance_id, "image_backup", task_state=None)

    def _rotate_backups(self, task: ComputeTask) -> None:
        new_id, rotation = task.params["image_id"], int(task.params["rotation"])
        images = self.images().list({
            "instance_uuid": task.instance_id, "image_type": "backup",
            "backup_type": task.params["backup_type"], "sort_key": "created_at",
            "sort_dir": "desc", "limit": "1000"})
        older = [i["id"] for i in images if i["id"] != new_id]
        doomed = older[max(rotation - 1, 0):] + ([new_id] if rotation == 0 else [])
        for image_id in doomed:
            try:
                self.images().delete(image_id)
                LOG.info("rotated out backup %s of %s", image_id, task.instance_id)
            except MinicloudError as exc:
                LOG.warning("could not delete backup %s of %s: %s", image_id,
                            task.instance_id, exc.message)
