"""The volume agent: one per host. Registers, runs durable tasks, keeps exports in place.

Tasks come from the catalog's ``volume_tasks`` table through :mod:`minicloud.taskqueue`: the
API enqueues them, the agent takes each with a compare-and-swap, one task per volume at a
time, in order, so a task survives restarts and never runs twice. Actions: ``create``
(allocate the backing file, or fill it from an image, a snapshot or another volume),
``delete``, ``extend``, ``export``, ``unexport``, ``upload`` (volume to image,
:mod:`volumes.upload`) and ``revert`` (to the latest snapshot, :mod:`volumes.revert`);
the snapshots' ``create_snapshot`` and ``delete_snapshot``
(:mod:`volumes.snapshot_tasks`); ``backup``, ``restore`` and ``backup_delete``
(:mod:`volumes.backup_agent`).

At start (``init_host``, hardening.md 3): interrupted creates and extends become errors,
interrupted deletes and unexports are run again, and every volume that should be exported is
re-exported (``ensure_export``: tgtd keeps nothing across its own restart). The periodic task
does the same, so a restarted tgtd is repaired within ``periodic_interval``. Targets on the
host whose volume is in this cloud's catalog but should not be exported are removed; targets
of volumes this catalog does not know belong to some other cloud and are never touched.
"""
from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable

from sqlalchemy import select, update

from images.store import store_file
from minicloud import faults
from minicloud.config import Config
from minicloud.db import Database, utcnow
from minicloud.errors import MinicloudError
from minicloud.paths import StatePaths
from minicloud.taskqueue import IDLE_WAIT, PENDING, RUNNING, TaskQueue, agent_process, serve
from volumes import messages, quotas, states, upload
from volumes.attachments import AttachmentService
from volumes.backends import Backend, DataMissing, make_backend
from volumes.backup_agent import ACTIONS as BACKUP_ACTIONS
from volumes.backup_agent import BackupWorker
from volumes.backup_store import BackupStore
from volumes.connection import Chap
from volumes.glance import ImageClient, check_format, convertible_format, fetch
from volumes.models import Volume, VolumeAttachment, VolumeHost, VolumeTask
from volumes.revert import ACTION as REVERT_ACTION
from volumes.revert import RevertTasks
from volumes.service import Settings, VolumeService
from volumes.snapshot_tasks import ACTIONS as SNAPSHOT_ACTIONS
from volumes.snapshot_tasks import RERUN as SNAPSHOT_RERUN
from volumes.snapshot_tasks import SnapshotTasks
from volumes.targets import Target, make_target

LOG = logging.getLogger("volumes.agent")
#: Attachment statuses whose volume must have an export on the host.
EXPORTED = frozenset({states.A_ATTACHING, states.A_ATTACHED})


def host_name(conf: Config) -> str:
    return conf.volume.host or socket.gethostname()


class Agent(SnapshotTasks, RevertTasks):
    def __init__(self, conf: Config, db: Database, backend: Backend, target: Target,
                 images: Callable[[], ImageClient], workers: int = 4,
                 idle_wait: float = IDLE_WAIT,
                 user_images: Callable[[str], ImageClient] | None = None) -> None:
        """``images``: the image API as the service user (downloads); ``user_images``: as
        the holder of a token (uploads happen in the caller's name)."""
        self.conf, self.db, self.backend, self.target = conf, db, backend, target
        self.images, self.idle_wait = images, idle_wait
        self.user_images = user_images
        self.host = host_name(conf)
        self.bind_initiator = conf.volume.bind_initiator
        self.work_dir = conf.path(conf.volume.volumes_path) / ".images"
        #: Where this cloud's image service keeps image files (None: always download).
        self.image_store = (StatePaths(conf.state_dir).image_store
                            if conf.volume.use_direct_url else None)
        self.volumes = VolumeService(db, Settings.from_conf(conf))
        self.attachments = AttachmentService(self.volumes)
        self.queue = TaskQueue(db, VolumeTask, "volume_id", self.host)
        self.workers = workers
        self.backups = BackupWorker(db, backend, BackupStore(
            conf.path(conf.volume.backup_path), conf.volume.backup_chunk_size))

    # -- registration ----------------------------------------------------------------------------
    def register(self) -> None:
        values = {"backend": self.backend.name, "target_helper": self.target.name,
                  "heartbeat_at": utcnow()}
        with self.db.session() as s:
            row = s.get(VolumeHost, self.host)
            if row is None:
                s.add(VolumeHost(name=self.host, **values))
            else:
                for key, value in values.items():
                    setattr(row, key, value)
        LOG.info("registered volume host %s (%s backend, %s target)", self.host,
                 self.backend.name, self.target.name)

    def heartbeat(self) -> None:
        with self.db.session() as s:
            s.execute(update(VolumeHost).where(VolumeHost.name == self.host)
                      .values(heartbeat_at=utcnow()))

    # -- reconciliation --------------------------------------------------------------------------
    def init_host(self) -> None:
        """Reconcile the catalog and the host after a restart (see the module docstring)."""
        # Deletes and unexports run again (both tolerate partial state).
        reason = "interrupted by a volume agent restart"
        for task in self.queue.recover(("delete", "unexport", "backup_delete",
                                        *SNAPSHOT_RERUN), reason):
            self._task_failed(task, MinicloudError(reason))
        with self.db.session() as s:
            queued = self.queue.subjects(s, PENDING)
            mine = list(s.scalars(select(Volume).where(Volume.host == self.host)))
            for vol in mine:
                if vol.id in queued:
                    continue
                if vol.status == states.CREATING:
                    s.execute(update(Volume).where(Volume.id == vol.id, Volume.status ==
                                                   states.CREATING).values(
                        status=states.ERROR, error="The create was lost by a restart."))
                elif vol.status == states.DELETING:
                    VolumeService.enqueue(s, vol, "delete")
                elif vol.status == states.UPLOADING:  # the API stopped before queueing it
                    s.execute(update(Volume).where(Volume.id == vol.id, Volume.status ==
                                                   states.UPLOADING).values(
                        status=upload.settled_status(vol),
                        error="The upload was lost by a restart."))
                elif vol.status == states.DETACHING:
                    for att in vol.attachments:
                        if att.status == states.A_DETACHING:
                            VolumeService.enqueue(s, vol, "unexport", {"attachment_id": att.id})
            self.recover_snapshots(s, queued)
        # No fill runs before the loop starts: a partial file is one the kill interrupted
        # (its qemu-img convert died with the old agent: process.DIE_WITH_PARENT).
        for name in self.backend.remove_partials():
            LOG.warning("removed %s, left by an interrupted fill", name)
        self.sync_exports()

    def sync_exports(self) -> None:
        """ensure_export for every volume that should be exported; remove our stale targets."""
        with self.db.session() as s:
            mine = list(s.scalars(select(Volume).where(
                Volume.host == self.host, Volume.auth_username.is_not(None))))
            known = set(s.scalars(select(Volume.id)))
            # A volume with a task queued or running is that task's business, not ours.
            busy = self.queue.subjects(s, PENDING, RUNNING)
        wanted = {vol.id: vol for vol in mine if vol.id not in busy
                  and any(a.status in EXPORTED for a in vol.attachments)}
        for vol in wanted.values():
            connector = next((a.connector or {} for a in vol.attachments
                              if a.status in EXPORTED), {})
            try:
                self.target.ensure_export(vol.id, self.backend.path(vol.id),
                                          Chap(vol.auth_username, vol.auth_password or ""),
                                          self._initiator(connector), connector.get("ip"))
            except MinicloudError as exc:
                LOG.error("could not re-export volume %s: %s", vol.id, exc.message)
        try:
            present = self.target.exported()
        except MinicloudError as exc:
            LOG.warning("cannot list iSCSI targets: %s", exc.message)
            return
        for volume_id in present:
            if volume_id in known and volume_id not in wanted and volume_id not in busy:
                LOG.info("removing stale export of volume %s", volume_id)
                try:
                    self.target.remove_export(volume_id)
                except MinicloudError as exc:
                    LOG.error("could not remove stale export %s: %s", volume_id, exc.message)

    def _initiator(self, connector: dict) -> str | None:
        """The initiator name to admit: the connector's when ``bind_initiator``, else any."""
        return connector.get("initiator") if self.bind_initiator else None

    # -- tasks -----------------------------------------------------------------------------------
    def run_task(self, task: VolumeTask) -> None:
        """Run one task; it always ends ``done`` or ``failed`` (with the volume moved on)."""
        self.queue.run(task, getattr(self, f"_do_{task.action}"), self._task_failed, LOG)

    def _task_failed(self, task: VolumeTask, exc: BaseException) -> None:
        """Move the volume to where a failure of ``task`` leaves it."""
        message = (exc.message if isinstance(exc, MinicloudError) else str(exc))[:500]
        leftover = None  # an export's account/target a kill left half made
        with self.db.session() as s:
            def move(old: str, new: str, **values: object) -> None:
                s.execute(update(Volume).where(Volume.id == task.volume_id,
                                               Volume.status == old)
                          .values(status=new, error=message, **values))

            if task.action in SNAPSHOT_ACTIONS:
                self.snapshot_task_failed(s, task, message)
            elif task.action == "create":
                move(states.CREATING, states.ERROR)
            elif task.action == "delete":
                move(states.DELETING, states.ERROR_DELETING)
            elif task.action == "extend":
                vol = s.get(Volume, task.volume_id)
                if vol is not None and vol.status == states.EXTENDING:
                    move(states.EXTENDING, states.ERROR_EXTENDING)
                    grow = task.params["new_size"] - task.params["old_size"]
                    quotas.release(s, vol.project_id, 0, grow, vol.volume_type_id)
            elif task.action == "export" and isinstance(exc, DataMissing):
                self.attachments.data_missing(s, task.params["attachment_id"], message)
            elif task.action == "export":
                vol = s.get(Volume, task.volume_id)
                username = vol.auth_username if vol is not None else None
                if self.attachments.export_failed(s, task.params["attachment_id"]):
                    leftover = username
            elif task.action in BACKUP_ACTIONS:
                self.backups.failed(task, message)
            elif task.action == REVERT_ACTION:
                self.revert_failed(s, task, message)
            elif task.action == "unexport":
                s.execute(update(VolumeAttachment).where(
                    VolumeAttachment.id == task.params["attachment_id"]).values(
                    status=states.A_ERROR))
                move(states.DETACHING, states.ERROR)
            messages.task_failed(s, task, self.conf.volume.message_ttl)
        if leftover is not None:  # after that transaction: tgtadm may take a while
            try:
                self.target.remove_export(task.volume_id, leftover)
            except MinicloudError as exc:
                LOG.error("could not remove the half-made export of volume %s: %s",
                          task.volume_id, exc.message)
        if task.action == "upload":  # after that transaction: it calls the image service
            upload.upload_failed(task, self.db, self._user_images, self.images, message)

    def _user_images(self, token: str) -> ImageClient:
        if self.user_images is None:
            raise MinicloudError("this volume agent cannot act in a caller's name")
        return self.user_images(token)

    def _do_upload(self, task: VolumeTask) -> None:
        upload.run_upload(task, self.db, self.backend, self._user_images, self.work_dir)

    def _volume(self, volume_id: str) -> Volume | None:
        with self.db.session() as s:
            return s.get(Volume, volume_id)

    def _do_create(self, task: VolumeTask) -> None:
        vol = self._volume(task.volume_id)
        if vol is None or vol.status != states.CREATING:
            return  # reset or deleted before we started
        faults.point("volume.create.start")
        if vol.image_id:
            self._create_from_image(vol)
        elif vol.snapshot_id:
            self.backend.create_from_snapshot(vol.id, vol.snapshot_id, vol.size)
        elif vol.source_volid:
            self.backend.clone(vol.id, vol.source_volid, vol.size)
        else:
            self.backend.create(vol.id, vol.size)
        with self.db.session() as s:
            s.execute(update(Volume).where(Volume.id == vol.id, Volume.status ==
                                           states.CREATING).values(status=states.AVAILABLE))

    def _create_from_image(self, vol: Volume) -> None:
        """Convert the image into the new volume: straight from the image store's file when
        it is on this host, else from a verified download (removed afterwards)."""
        client = self.images()
        image = client.get(vol.image_id)
        disk_format = convertible_format(image)
        local = store_file(image, self.image_store) if self.image_store else None
        if local is not None:
            # Hash-verified by the image service at upload; the format inspection is cheap
            # (headers only) and still guards qemu-img against a store file that lies.
            check_format(local, disk_format)
            self.backend.create_from_image(vol.id, vol.size, local, disk_format)
            return
        if image.get("direct_url") and self.image_store:
            LOG.info("image %s: direct_url is not a file of this cloud's image store; "
                     "downloading it", image["id"])
        self.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.work_dir / f"image-{vol.id}"
        tmp.unlink(missing_ok=True)
        try:
            fetch(client, image, tmp)
            self.backend.create_from_image(vol.id, vol.size, tmp, disk_format)
        finally:
            tmp.unlink(missing_ok=True)

    def _do_delete(self, task: VolumeTask) -> None:
        vol = self._volume(task.volume_id)
        if vol is None or vol.status != states.DELETING:
            return
        if vol.auth_username:  # it was exported: the target must not outlive the bytes
            self.target.remove_export(vol.id, vol.auth_username)
        faults.point("volume.delete.unexported")
        self.backend.delete(vol.id)
        with self.db.session() as s:
            VolumeService.finish_delete(s, vol)

    def _do_extend(self, task: VolumeTask) -> None:
        self.backend.extend(task.volume_id, task.params["new_size"])
        with self.db.session() as s:
            states.transition(s, task.volume_id, {states.EXTENDING}, states.AVAILABLE,
                              "extend", size=task.params["new_size"])

    def _do_export(self, task: VolumeTask) -> None:
        with self.db.session() as s:
            att = s.get(VolumeAttachment, task.params["attachment_id"])
            if att is None or att.status != states.A_ATTACHING:
                return  # detached before we got here
            new = Chap.generate()
            # CAS: the first export of this attachment picks the credentials, retries reuse.
            s.execute(update(Volume).where(Volume.id == task.volume_id,
                                           Volume.auth_username.is_(None))
                      .values(auth_username=new.username, auth_password=new.password))
            vol = s.get(Volume, task.volume_id)
            s.refresh(vol)
            chap = Chap(vol.auth_username, vol.auth_password)
            address = (att.connector or {}).get("ip")  # os-brick's: the compute host's
        if not self.backend.exists(task.volume_id):
            raise DataMissing(f"The data of volume {task.volume_id} is missing from its host "
                              "(removed outside the cloud): it cannot be attached.")
        self.target.ensure_export(task.volume_id, self.backend.path(task.volume_id), chap,
                                  self._initiator(task.params), address)

    def _do_unexport(self, task: VolumeTask) -> None:
        vol = self._volume(task.volume_id)
        if vol is None:
            return
        faults.point("volume.unexport.start")
        self.target.remove_export(vol.id, vol.auth_username)
        with self.db.session() as s:
            self.attachments.unexported(s, task.params["attachment_id"], vol.id)

    def _do_backup(self, task: VolumeTask) -> None:
        self.backups.do_backup(task)

    def _do_restore(self, task: VolumeTask) -> None:
        self.backups.do_restore(task)

    def _do_backup_delete(self, task: VolumeTask) -> None:
        self.backups.do_delete(task)

    # -- main loop -------------------------------------------------------------------------------
    def periodic(self) -> None:
        self.heartbeat()
        self.sync_exports()
        messages.reap(self.db)

    def run(self, stop: threading.Event) -> None:
        self.register()
        self.init_host()
        serve(stop, self.queue, self.run_task, self.periodic,
              self.conf.volume.periodic_interval, LOG, self.workers, self.idle_wait)


def main() -> None:
    from minicloud import services

    def build(conf: Config, db: Database, token, paths: StatePaths) -> Agent:
        url = services.by_name("image").base_url(conf)
        client = ImageClient(url, token)
        return Agent(conf, db, make_backend(conf), make_target(conf), lambda: client,
                     user_images=lambda user_token: ImageClient(url, lambda: user_token))

    agent_process("volume-agent", build)


if __name__ == "__main__":
    main()
