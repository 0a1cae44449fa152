"""What the catalog owns, read straight from it (the audit runs on the host, as ``up`` does).

Plain records, read in one short transaction each, *after* the caller listed the host (see
:mod:`minicloud.audit.core` for why that order).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from compute import states as vm
from compute.models import ComputeTask, Instance
from images import states as image_states
from images.models import Image
from minicloud.db import Database
from minicloud.taskqueue import PENDING, RUNNING
from volumes import states as vol
from volumes.models import Volume, VolumeSnapshot, VolumeTask

#: vm states in which a server has its guest, instance directory and claim on its host
#: (building and error servers may or may not: they are never reported missing).
HAS_GUEST = frozenset({vm.ACTIVE, vm.STOPPED, vm.PAUSED_VM, vm.SUSPENDED_VM, vm.RESCUED,
                       vm.SOFT_DELETED})
#: volume statuses in which the volume's bytes exist on its host.
HAS_FILE = frozenset({vol.AVAILABLE, vol.IN_USE, vol.RESERVED, vol.ATTACHING, vol.DETACHING,
                      vol.EXTENDING, vol.ERROR_EXTENDING, vol.AWAITING_TRANSFER,
                      vol.MAINTENANCE})
#: snapshot statuses in which the snapshot's bytes exist on its host (``volumes.snapshot_tasks``
#: makes it ``available`` only once its file is in place; a backup and a revert read that
#: file). A ``creating`` one's file is being copied, an ``error`` one may or may not have one
#: (a failed copy leaves none; an admin's ``os-reset_status`` sets it on any) and a ``deleting`` or
#: ``error_deleting`` one's is being removed: never reported missing.
SNAPSHOT_HAS_FILE = frozenset({vol.S_AVAILABLE, vol.S_BACKING_UP, vol.S_RESTORING})
#: attachment statuses whose volume must be exported (as the volume agent's sync_exports).
EXPORTED = frozenset({vol.A_ATTACHING, vol.A_ATTACHED})
#: image statuses whose data is gone for good (its file and staged data are orphans).
IMAGE_GONE = frozenset({image_states.DELETED, image_states.KILLED})


@dataclass(frozen=True)
class Server:
    id: str
    vm_state: str
    task_state: str | None
    image_id: str | None
    image_meta: dict
    block_devices: list

    @property
    def expects_guest(self) -> bool:
        """Whether its guest, directory and claim must exist now (not mid-delete)."""
        return self.vm_state in HAS_GUEST and self.task_state != "deleting"

    @property
    def boots_from_volume(self) -> bool:
        return any(b.get("boot_index") == 0 for b in self.block_devices)

    def images(self) -> set[str]:
        """The images whose cached bases it uses (its image, AMI kernel and ramdisk)."""
        found = {self.image_meta.get("kernel_id"), self.image_meta.get("ramdisk_id")}
        if not self.boots_from_volume:
            found.add(self.image_id)
        return {i for i in found if i}


@dataclass(frozen=True)
class Disk:
    id: str
    status: str
    exported: bool          # auth_username set: an export should exist on the host
    attached: bool          # an attachment in EXPORTED status

    @property
    def volume_id(self) -> str:
        """What its tasks are queued under (as :attr:`Snapshot.volume_id`)."""
        return self.id


def servers(db: Database, host: str) -> dict[str, Server]:
    """The servers on ``host`` that are not deleted (soft-deleted ones included)."""
    with db.session() as s:
        rows = s.scalars(select(Instance).where(Instance.host == host,
                                                Instance.vm_state != vm.DELETED))
        return {i.id: Server(i.id, i.vm_state, i.task_state, i.image_id,
                             dict(i.image_meta or {}), list(i.block_devices or []))
                for i in rows}


def live_server_ids(db: Database) -> set[str]:
    """Every server not deleted, on any host."""
    with db.session() as s:
        return set(s.scalars(select(Instance.id).where(Instance.vm_state != vm.DELETED)))


def volumes(db: Database, host: str) -> dict[str, Disk]:
    """The volumes of ``host`` that are not deleted."""
    with db.session() as s:
        rows = s.scalars(select(Volume).where(Volume.host == host,
                                              Volume.status != vol.DELETED))
        return {v.id: Disk(v.id, v.status, bool(v.auth_username),
                           any(a.status in EXPORTED for a in v.attachments)) for v in rows}


@dataclass(frozen=True)
class Snapshot:
    id: str
    status: str
    volume_id: str  # its tasks are queued under its volume (``volumes.snapshot_tasks``)


def snapshots(db: Database, host: str) -> dict[str, Snapshot]:
    """The volume snapshots kept on ``host`` that are not deleted."""
    with db.session() as s:
        rows = s.scalars(select(VolumeSnapshot).where(VolumeSnapshot.host == host,
                                                      VolumeSnapshot.status != vol.S_DELETED))
        return {r.id: Snapshot(r.id, r.status, r.volume_id) for r in rows}


def image_statuses(db: Database) -> dict[str, str]:
    with db.session() as s:
        return {image_id: status for image_id, status
                in s.execute(select(Image.id, Image.status))}


def busy(db: Database, host: str) -> set[str]:
    """Subjects (servers, volumes) with a task pending or running on ``host``: in flux, so
    never reported missing."""
    with db.session() as s:
        found: set[str] = set()
        for model, column in ((ComputeTask, ComputeTask.instance_id),
                              (VolumeTask, VolumeTask.volume_id)):
            found |= set(s.scalars(select(column).where(
                model.host == host, model.state.in_((PENDING, RUNNING)))))
        return found
