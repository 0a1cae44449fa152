"""How the compute agent brings the catalog and its host back to agreement (mixed into the
agent): at start, and then on every periodic run, so nothing waits for a restart.

* At start (:meth:`Recovery.init_host`): interrupted deletes, detaches and cache fills run
  again; every other interrupted task fails and is rolled back (a spawn: ERROR; a snapshot
  or backup: its image and partial file removed). Builds of this host with no task are
  lost (ERROR), deletes with no task are queued again, guests this cloud owns but the
  catalog does not know are removed, power states are synced. Each is logged.
* Periodically: a delete that failed (the volume service did not answer) runs again
  :data:`DELETE_RETRY` seconds after its last try, so a server never stays ``deleting``; a
  build with no task that has not moved for :data:`LOST_BUILD_AFTER` seconds (a compute
  API worker killed between recording the server and queueing its spawn, with or without a
  host) goes to ERROR with a fault, its volumes released.
* A power action that finds the server's guest gone from the hypervisor (undefined behind
  the cloud's back) leaves the server in ERROR with a fault saying so, not silently as it
  was.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import or_, select, update

from compute import states
from compute.aggregates import CACHE_ACTION
from compute.models import ComputeTask, Instance
from minicloud.db import utcnow
from minicloud.errors import MinicloudError, NotFound
from minicloud.taskqueue import FAILED, PENDING, RUNNING

LOG = logging.getLogger("compute.agent")

#: Seconds between tries of a delete that failed.
DELETE_RETRY = 30.0
#: Seconds a build without a task may stand still before it is declared lost (a create
#: records the server, claims a host and queues the spawn within seconds).
LOST_BUILD_AFTER = 120.0
#: Actions whose failure because the guest is gone leaves the server in ERROR.
GUEST_ACTIONS = frozenset({"start", "stop", "reboot_soft", "reboot_hard", "pause", "unpause",
                           "suspend", "resume", "restore"})
SNAPSHOTS = frozenset({"snapshot", "backup"})


class Recovery:
    """Reconciliation and the roll-back of interrupted work (see the module docstring)."""

    def init_host(self) -> None:
        # Deletes, detaches and cache fills run again (every step tolerates "already gone").
        for task in self.queue.recover(("delete", "detach_volume", CACHE_ACTION),
                                       "interrupted by an agent restart"):
            LOG.warning("task %s %s of %s was interrupted by the restart: rolled back",
                        task.id, task.action, task.instance_id)
            self._roll_back(task, MinicloudError(
                "The build was interrupted by a compute agent restart."
                if task.action == "spawn" else "Interrupted by a compute agent restart."))
        with self.db.session() as s:
            mine = list(s.scalars(select(Instance).where(Instance.host == self.host)))
            queued = self.queue.subjects(s, PENDING)
        for inst in mine:
            if inst.vm_state == states.BUILDING and inst.id not in queued:
                LOG.warning("build of %s has no task after the restart: failed", inst.id)
                self._fail_spawn(inst.id, MinicloudError("The build was lost."))
            elif inst.task_state == "deleting" and inst.id not in queued:
                LOG.warning("delete of %s has no task after the restart: queued again",
                            inst.id)
                with self.db.session() as s:
                    s.add(ComputeTask(instance_id=inst.id, host=self.host, action="delete"))
        known = {i.id: i for i in mine}
        for guest_id in self.driver.list_instances():
            inst = known.get(guest_id)
            if inst is None or inst.vm_state == states.DELETED:
                LOG.warning("guest %s has no live instance in the catalog: removing it",
                            guest_id)
                self.driver.destroy(guest_id, self.instances_path / guest_id)
        self.sync_power_states()

    def retry_failed_deletes(self) -> int:
        """Queue again the deletes of this host that failed at least DELETE_RETRY seconds
        ago and have no task now; how many."""
        cutoff = utcnow() - dt.timedelta(seconds=DELETE_RETRY)
        with self.db.session() as s:
            busy = self.queue.subjects(s, PENDING, RUNNING)
            deleting = [i for i in s.scalars(select(Instance.id).where(
                Instance.host == self.host, Instance.task_state == "deleting"))
                if i not in busy]
            retried = 0
            for instance_id in deleting:
                last = s.scalars(select(ComputeTask).where(
                    ComputeTask.instance_id == instance_id, ComputeTask.action == "delete")
                    .order_by(ComputeTask.id.desc()).limit(1)).first()
                if last is not None and (last.state != FAILED or last.updated_at > cutoff):
                    continue
                LOG.warning("delete of %s failed (%s): trying again", instance_id,
                            last.error if last is not None else "no task")
                s.add(ComputeTask(instance_id=instance_id, host=self.host, action="delete"))
                retried += 1
        return retried

    def fail_lost_builds(self) -> int:
        """ERROR, with a fault, for the builds that have no task and have not moved for
        LOST_BUILD_AFTER seconds: this host's, and those no host took; how many."""
        cutoff = utcnow() - dt.timedelta(seconds=LOST_BUILD_AFTER)
        # One transaction (BEGIN IMMEDIATE: no task can be queued meanwhile) reads the busy
        # set once and claims the unplaced lost builds for this host (one agent wins each).
        with self.db.session() as s:
            busy = self.queue.subjects(s, PENDING, RUNNING)
            lost = [i for i in s.scalars(select(Instance.id).where(
                Instance.vm_state == states.BUILDING, Instance.updated_at < cutoff,
                or_(Instance.host == self.host, Instance.host.is_(None)))) if i not in busy]
            if lost:
                s.execute(update(Instance).where(Instance.id.in_(lost),
                                                 Instance.host.is_(None))
                          .values(host=self.host))
        failed = 0
        for instance_id in lost:
            LOG.warning("build of %s has had no task for %.0f s: it was lost", instance_id,
                        LOST_BUILD_AFTER)
            self._fail_spawn(instance_id, MinicloudError(
                "The build was lost before it reached a host; delete the server and create "
                "it again."))
            failed += 1
        return failed

    def _roll_back_more(self, task: ComputeTask, exc: BaseException) -> None:
        """What a failed task leaves besides its task state: a snapshot's image and file,
        a guest found missing."""
        if task.action in SNAPSHOTS:
            self._discard_snapshot(task)
        elif task.action in GUEST_ACTIONS and isinstance(exc, NotFound):
            self.service.set_error(task.instance_id, MinicloudError(
                "The server's guest is missing from its hypervisor (removed outside the "
                "cloud); rebuild or delete the server."))

    def _discard_snapshot(self, task: ComputeTask) -> None:
        """An interrupted snapshot or backup: its queued image and partial file go."""
        image_id = task.params.get("image_id")
        if not image_id:
            return
        (self.instances_path / task.instance_id / f"snapshot-{image_id}").unlink(
            missing_ok=True)
        try:
            self.images().delete(image_id)
        except NotFound:
            pass
        except MinicloudError as exc:
            LOG.warning("could not remove image %s of an interrupted snapshot: %s", image_id,
                        exc.message)
