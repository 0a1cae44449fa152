"""A catalog to audit: rows written straight into a real SQLite catalog (no services), so a
test states exactly what the catalog owns; the host side is a fake or a tmp directory."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from compute.models import Allocation, ComputeHost, ComputeTask, Instance
from images.models import Image
from minicloud.config import Config
from minicloud.db import Database, utcnow
from volumes.models import Volume, VolumeAttachment, VolumeSnapshot, VolumeTask

HOST = "node1"


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class FakeSecrets:
    """libvirt's secrets as ``Host.secrets``/``remove_secret`` show them (test:///default
    has no secret driver)."""

    usages: dict[str, str] = field(default_factory=dict)   # uuid -> usage id

    def secrets(self) -> list[tuple[str, str]]:
        return sorted(self.usages.items())

    def remove_secret(self, uuid_: str) -> None:
        self.usages.pop(uuid_, None)


@dataclass
class Catalog:
    conf: Config
    db: Database

    @property
    def instances(self) -> Path:
        return self.conf.path(self.conf.compute.instances_path)

    def server(self, vm_state: str = "active", server_id: str | None = None,
               image_id: str | None = None, bdms: list | None = None,
               task_state: str | None = None, claim: bool = True, host: str = HOST) -> str:
        server_id = server_id or new_id()
        with self.db.session() as s:
            if s.get(ComputeHost, host) is None:
                s.add(ComputeHost(name=host, vcpus=4, memory_mib=1024, disk_gb=10))
                s.flush()  # before the claim that names it
            s.add(Instance(id=server_id, name="vm", project_id="p", user_id="u",
                           flavor_id="1", flavor={}, image_id=image_id, host=host,
                           vm_state=vm_state, task_state=task_state,
                           block_devices=bdms or []))
            if claim:
                s.add(Allocation(instance_id=server_id, host=host, vcpus=1, memory_mib=64,
                                 disk_gb=1))
        return server_id

    def volume(self, status: str = "available", volume_id: str | None = None,
               exported: bool = False, attachment: str | None = None) -> str:
        volume_id = volume_id or new_id()
        with self.db.session() as s:
            s.add(Volume(id=volume_id, project_id="p", user_id="u", size=1, status=status,
                         host=HOST, auth_username="chapuser" if exported else None))
            if attachment:
                s.add(VolumeAttachment(id=new_id(), volume_id=volume_id, server_id=new_id(),
                                       status=attachment))
        return volume_id

    def snapshot(self, volume_id: str, status: str = "available",
                 snapshot_id: str | None = None) -> str:
        snapshot_id = snapshot_id or new_id()
        with self.db.session() as s:
            s.add(VolumeSnapshot(id=snapshot_id, volume_id=volume_id, project_id="p",
                                 user_id="u", size=1, status=status, host=HOST))
        return snapshot_id

    def image(self, status: str = "active", image_id: str | None = None) -> str:
        image_id = image_id or new_id()
        with self.db.session() as s:
            s.add(Image(id=image_id, status=status))
        return image_id

    def task(self, kind: str, subject: str, state: str = "pending", age: float = 0) -> None:
        when = utcnow() - dt.timedelta(seconds=age)
        with self.db.session() as s:
            if kind == "compute":
                s.add(ComputeTask(instance_id=subject, host=HOST, action="spawn", state=state,
                                  created_at=when, updated_at=when))
            else:
                s.add(VolumeTask(volume_id=subject, host=HOST, action="create", state=state,
                                 created_at=when, updated_at=when))


def make_catalog(state_dir: Path, compute: str = "", volume: str = "") -> Catalog:
    """A migrated catalog in ``state_dir``; ``compute``/``volume``: more option lines."""
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "minicloud.conf").write_text(
        f"[compute]\nhost = {HOST}\n{compute}[volume]\nhost = {HOST}\n{volume}")
    conf = Config.load(state_dir, environ={})
    db = Database(conf.database_url)
    db.upgrade()
    return Catalog(conf, db)
