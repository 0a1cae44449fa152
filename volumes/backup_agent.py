"""The volume agent's backup work: the ``backup``, ``restore`` and ``backup_delete`` tasks,
and where each leaves things when it fails.

* ``backup`` reads the volume's file into the store (:class:`volumes.backup_store.BackupStore`)
  while the volume is ``backing-up``; each object written raises the backup's
  ``object_count`` (a compare-and-swap on ``creating``: a backup force-deleted meanwhile stops
  the work, and what was written is removed). Done: backup ``available``, the volume back to
  what it was. Failed: backup ``error`` with the reason, the volume back all the same.
* ``restore`` (volume ``restoring-backup``, backup ``restoring``) allocates the volume's file
  first when the volume is new, then writes every verified chunk. Done: volume ``available``
  with the backed-up metadata and bootable flag; failed (a damaged chunk, a missing object):
  volume ``error`` with the reason, backup ``available`` again with it as ``fail_reason``.
* ``backup_delete`` removes the objects unless another record shares them (an imported copy),
  then hides the backup; failed: ``error_deleting``.

Volumes are read and written through the backend's file (``Backend.path``): the file backend's
raw sparse files. The fake backend keeps no bytes, so backups there fail with a clear reason.
"""
from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import update

from minicloud.db import Database, utcnow
from minicloud.errors import MinicloudError
from volumes import states
from volumes.backends import Backend
from volumes.backup_store import BackupStore, BackupStoreError, Manifest
from volumes.backups import BackupService
from volumes.models import Volume, VolumeBackup, VolumeSnapshot, VolumeTask

LOG = logging.getLogger("volumes.backup")
ACTIONS = ("backup", "restore", "backup_delete")


class BackupCancelled(MinicloudError):
    """The backup left ``creating`` while the agent worked (force-deleted or reset)."""


class BackupWorker:
    def __init__(self, db: Database, backend: Backend, store: BackupStore) -> None:
        self.db, self.backend, self.store = db, backend, store

    def _file(self, volume_id: str) -> Path:
        path = Path(self.backend.path(volume_id))
        if not path.is_file():
            raise BackupStoreError(f"the {self.backend.name} backend has no file for volume "
                                   f"{volume_id} to back up or restore")
        return path

    def _source(self, task: VolumeTask) -> Path:
        """What a backup reads: the snapshot's file when it names one, else the volume's."""
        snapshot_id = task.params.get("snapshot_id")
        if snapshot_id is None:
            return self._file(task.volume_id)
        path = Path(self.backend.snapshot_path(snapshot_id))
        if not path.is_file():
            raise BackupStoreError(f"the {self.backend.name} backend has no file for snapshot "
                                   f"{snapshot_id} to back up")
        return path

    def _backup_row(self, backup_id: str) -> VolumeBackup | None:
        with self.db.session() as s:
            return s.get(VolumeBackup, backup_id)

    # -- tasks ----------------------------------------------------------------------------------
    def do_backup(self, task: VolumeTask) -> None:
        backup = self._backup_row(task.params["backup_id"])
        if backup is None or backup.status != states.B_CREATING:
            self._volume_back(task)
            return
        parent = None
        if backup.parent_id:
            parent_row = self._backup_row(backup.parent_id)
            parent = self.store.manifest(parent_row.location) if parent_row else None

        def progress(count: int) -> None:
            with self.db.session() as s:
                moved = s.execute(update(VolumeBackup).where(
                    VolumeBackup.id == backup.id, VolumeBackup.status == states.B_CREATING)
                    .values(object_count=count, updated_at=utcnow())).rowcount
            if moved != 1:
                raise BackupCancelled(f"backup {backup.id} is no longer being created")

        manifest = self.store.backup(self._source(task), backup.location, parent, progress)
        with self.db.session() as s:
            states.backup_transition(s, backup.id, {states.B_CREATING}, states.B_AVAILABLE,
                                     "finish it", object_count=manifest.stored)
            self._volume_back(task, s)
        LOG.info("backup %s of volume %s: %d chunks, %d stored", backup.id, task.volume_id,
                 len(manifest.chunks), manifest.stored)

    def _volume_back(self, task: VolumeTask, s=None) -> None:
        """The backed-up volume back to the status it had before (``backing-up`` only);
        a backed-up snapshot back to ``available``."""
        previous = task.params.get("previous_status", states.AVAILABLE)
        if s is None:
            with self.db.session() as s2:
                return self._volume_back(task, s2)
        if task.params.get("snapshot_id"):
            s.execute(update(VolumeSnapshot).where(
                VolumeSnapshot.id == task.params["snapshot_id"],
                VolumeSnapshot.status == states.S_BACKING_UP)
                .values(status=states.S_AVAILABLE, updated_at=utcnow()))
            return None
        s.execute(update(Volume).where(Volume.id == task.volume_id,
                                       Volume.status == states.BACKING_UP)
                  .values(status=previous, updated_at=utcnow()))
        return None

    def do_restore(self, task: VolumeTask) -> None:
        backup = self._backup_row(task.params["backup_id"])
        if backup is None:
            raise BackupStoreError(f"backup {task.params['backup_id']} is gone")
        manifest: Manifest = self.store.manifest(backup.location)
        with self.db.session() as s:
            vol = s.get(Volume, task.volume_id)
            size = vol.size
        if task.params.get("new") and not self.backend.exists(task.volume_id):
            self.backend.create(task.volume_id, size)
        self.store.restore(manifest, self._file(task.volume_id), fresh=bool(
            task.params.get("new")))
        meta = backup.volume_meta or {}
        with self.db.session() as s:
            vol = s.get(Volume, task.volume_id)
            values = {"metadata_": {**(vol.metadata_ or {}), **meta.get("metadata", {})},
                      "bootable": bool(meta.get("bootable", False))}
            if meta.get("image_metadata"):
                values["image_metadata"] = dict(meta["image_metadata"])
            states.transition(s, task.volume_id, {states.RESTORING_BACKUP}, states.AVAILABLE,
                              "finish the restore", **values)
            states.backup_transition(s, backup.id, {states.B_RESTORING}, states.B_AVAILABLE,
                                     "finish the restore")

    def do_delete(self, task: VolumeTask) -> None:
        backup = self._backup_row(task.params["backup_id"])
        if backup is None or backup.status != states.B_DELETING:
            return
        with self.db.session() as s:
            shared = BackupService.shared(s, backup)
        if not shared:
            self.store.delete(backup.location)
        with self.db.session() as s:
            BackupService.finish_delete(s, backup)

    # -- failures -------------------------------------------------------------------------------
    def failed(self, task: VolumeTask, message: str) -> None:
        """Move the backup and volume to where a failure of ``task`` leaves them."""
        backup_id = task.params.get("backup_id")
        with self.db.session() as s:
            def backup_move(old: str, new: str) -> None:
                s.execute(update(VolumeBackup).where(VolumeBackup.id == backup_id,
                                                     VolumeBackup.status == old)
                          .values(status=new, fail_reason=message, updated_at=utcnow()))

            if task.action == "backup":
                backup_move(states.B_CREATING, states.B_ERROR)
                self._volume_back(task, s)
            elif task.action == "restore":
                backup_move(states.B_RESTORING, states.B_AVAILABLE)
                s.execute(update(Volume).where(Volume.id == task.volume_id,
                                               Volume.status == states.RESTORING_BACKUP)
                          .values(status=states.ERROR, error=message, updated_at=utcnow()))
            elif task.action == "backup_delete":
                backup_move(states.B_DELETING, states.B_ERROR_DELETING)
        if task.action == "backup":
            row = self._backup_row(backup_id)
            if row is not None and row.status == states.B_ERROR:
                try:
                    self.store.delete(row.location)
                except (OSError, BackupStoreError) as exc:
                    LOG.warning("could not remove the objects of failed backup %s: %s",
                                backup_id, exc)
