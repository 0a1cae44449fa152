"""Fixtures of the compute API tests: the whole compute app in-process, fakes only at the
process boundaries (the image and volume services, the virt driver).

A real state directory per test: the catalog (SQLite, migrated) and the Fernet key are built
once per session with identity bootstrapped (``admin`` in ``admin``; ``alice`` member and
``reader`` reader of ``demo``; ``bob`` member of ``other``), then copied for each test.
``compute_env`` gives HTTP clients per user on the Flask test client of
``compute.api.create_app``, one registered compute host, the default flavors, and the real
compute agent on the fake driver (``env.work()`` runs the queued tasks).

Import in a test module with ``from tests.compute_fixtures import *  # noqa: F403``.
"""
from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from compute import flavors
from compute.agent import Agent
from compute.api import create_app
from compute.driver import FakeDriver
from minicloud.config import Config
from minicloud.db import Database
from minicloud.errors import BadRequest, NotFound
from minicloud.identity.tokens import TokenProvider, ensure_key
from tests.images_fixtures import UserClient, err
from tests.templates import Template, build_template

__all__ = ["ComputeEnv", "compute_template", "compute_env", "err", "IMAGE_ID", "VOLUME_IDS",
           "mv"]

IMAGE_ID = "5e7c8a46-6f4f-4b8e-9d4c-7d0b1b1e0001"
VOLUME_IDS = ("0c1f6f5e-1f0d-4f3e-8a52-000000000001", "0c1f6f5e-1f0d-4f3e-8a52-000000000002")
RAW = b"\0" * 4096


def mv(version: str) -> dict[str, str]:
    """The header asking for compute microversion ``version``."""
    return {"OpenStack-API-Version": f"compute {version}"}


class FakeImages:
    """The image API as the compute side sees it."""

    def __init__(self) -> None:
        self.images = {IMAGE_ID: {
            "id": IMAGE_ID, "status": "active", "disk_format": "raw", "min_ram": 0,
            "min_disk": 0, "size": len(RAW), "virtual_size": len(RAW),
            "checksum": hashlib.md5(RAW).hexdigest(), "os_hash_algo": "sha512",
            "os_hash_value": hashlib.sha512(RAW).hexdigest()}}

    def get(self, image_id: str) -> dict:
        if image_id not in self.images:
            raise NotFound(f"image {image_id}")
        return self.images[image_id]

    def download(self, image_id: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        yield RAW

    def create(self, body: dict) -> dict:
        # numbered by a counter: ids stay unique after deletes (backup rotation deletes)
        self.created = getattr(self, "created", len(self.images)) + 1
        image_id = f"5e7c8a46-6f4f-4b8e-9d4c-{self.created:012d}"
        self.images[image_id] = dict(body, id=image_id, status="queued")
        return self.images[image_id]

    def upload(self, image_id: str, chunks: Iterator[bytes]) -> None:
        b"".join(chunks)
        self.images[image_id]["status"] = "active"

    def delete(self, image_id: str) -> None:
        self.images.pop(image_id, None)

    # -- what Nova's image proxy asks (Glance's list query, JSON patch) --------------------------
    def add(self, name: str, properties: dict | None = None, **fields: Any) -> dict:
        """A Glance v2 image (active, private, created now unless ``created_at`` is given)
        with custom ``properties``; returns it."""
        self.created = getattr(self, "created", len(self.images)) + 1   # as create numbers
        image_id = f"5e7c8a46-6f4f-4b8e-9d4c-{self.created:012d}"
        stamp = fields.pop("created_at", "2026-01-01T00:00:00Z")
        self.images[image_id] = {
            "id": image_id, "name": name, "status": "active", "visibility": "private",
            "protected": False, "os_hidden": False, "owner": "p", "checksum": None,
            "size": 1024, "virtual_size": None, "min_ram": 0, "min_disk": 0,
            "disk_format": "raw", "container_format": "bare", "created_at": stamp,
            "updated_at": stamp, "tags": [], "self": f"/v2/images/{image_id}",
            "file": f"/v2/images/{image_id}/file", "schema": "/v2/schemas/image",
            **fields, **(properties or {})}
        return self.images[image_id]

    def list(self, params: dict[str, str] | None = None) -> list[dict]:
        """Glance's list: exact matches on each filter or property (paging and sort keys
        aside), newest first (as ``sort_key=created_at&sort_dir=desc``; ids are numbered in
        creation order)."""
        props = {k: v for k, v in (params or {}).items()
                 if k not in ("sort_key", "sort_dir", "limit", "marker")}
        found = [i for i in self.images.values()
                 if all(str(i.get(k)) == v for k, v in props.items())]
        return sorted(found, key=lambda i: (i.get("created_at") or "", i["id"]), reverse=True)

    def update(self, image_id: str, changes: list[dict]) -> dict:
        image = self.get(image_id)
        for change in changes:
            key = change["path"].lstrip("/")
            if change["op"] == "remove":
                del image[key]
            else:
                image[key] = change["value"]
        return image


class FakeVolumes:
    """The volume service's attachments flow as compute sees it (no bootable volumes)."""

    def __init__(self) -> None:
        self.status = dict.fromkeys(VOLUME_IDS, "available")
        self.attachments: dict[str, str] = {}
        self.details: dict[str, dict] = {}   # volume id -> fields the proxy tests set
        self.snapshots: dict[str, dict] = {}  # snapshot id -> its fields (no status)
        self.snapshot_status = "available"    # what every snapshot's status is read as

    def get(self, volume_id: str) -> dict:
        if volume_id not in self.status:
            raise NotFound(f"Volume {volume_id} could not be found.")
        return self.detail(volume_id)

    def reserve(self, volume_id: str, instance_id: str) -> str:
        if self.status[volume_id] != "available":
            raise BadRequest(f"Invalid volume: {volume_id} status must be available")
        self.status[volume_id] = "reserved"
        attachment_id = f"7a7a7a7a-0000-4000-8000-{len(self.attachments):012d}"
        self.attachments[attachment_id] = volume_id
        return attachment_id

    def connect(self, attachment_id: str, host: str, device: str):
        from volumes.connection import Chap, ConnectionInfo

        volume_id = self.attachments[attachment_id]
        self.status[volume_id] = "attaching"
        return ConnectionInfo.for_export(volume_id, "127.0.0.1", 3260, Chap.generate())

    def complete(self, attachment_id: str) -> None:
        self.status[self.attachments[attachment_id]] = "in-use"

    def delete_attachment(self, attachment_id: str) -> None:
        volume_id = self.attachments.pop(attachment_id, None)
        if volume_id:
            self.status[volume_id] = "available"

    def delete(self, volume_id: str) -> None:
        self.status.pop(volume_id, None)

    # -- what Nova's volume proxy asks -----------------------------------------------------------
    def detail(self, volume_id: str) -> dict:
        """The volume as the volume API shows it (Cinder v3 keys; ``details`` overrides)."""
        return {"id": volume_id, "status": self.status[volume_id], "size": 1,
                "availability_zone": "nova", "created_at": "2026-01-01T00:00:00.000000",
                "name": None, "description": None, "volume_type": "__DEFAULT__",
                "snapshot_id": None, "metadata": {}, "bootable": "false", "attachments": [],
                **self.details.get(volume_id, {})}

    def list_detail(self) -> list[dict]:
        return [self.detail(v) for v in self.status]

    def create(self, body: dict) -> dict:
        """A new volume from the volume API's create body (available at once)."""
        volume_id = f"0c1f6f5e-1f0d-4f3e-8a52-{len(self.status) + 1:012d}"
        self.status[volume_id] = "available"
        self.details[volume_id] = dict(body)
        return self.detail(volume_id)

    def delete_volume(self, volume_id: str) -> None:
        if volume_id not in self.status:
            raise NotFound(f"Volume {volume_id} could not be found.")
        del self.status[volume_id]

    # -- what createImage of a volume-backed server and Nova's snapshot proxy ask --------------
    def create_snapshot(self, volume_id: str, name: str | None,
                        description: str | None = None, force: bool = True) -> dict:
        """A snapshot, ``creating``; :meth:`get_snapshot` then answers ``snapshot_status``
        (``available`` unless a test says otherwise). Unless ``force``d, only of an
        ``available`` volume (Cinder's 400)."""
        if volume_id not in self.status:
            raise NotFound(f"Volume {volume_id} could not be found.")
        if not force and self.status[volume_id] != "available":
            raise BadRequest("Invalid volume: Volume status must be available.")
        self.snapshot_count = getattr(self, "snapshot_count", 0) + 1
        snapshot_id = f"5a5a5a5a-0000-4000-8000-{self.snapshot_count:012d}"
        self.snapshots[snapshot_id] = {
            "id": snapshot_id, "volume_id": volume_id, "name": name,
            "description": description, "size": self.detail(volume_id)["size"],
            "created_at": "2026-01-02T00:00:00.000000", "force": force}
        return {**self.snapshots[snapshot_id], "status": "creating"}

    def get_snapshot(self, snapshot_id: str) -> dict:
        if snapshot_id not in self.snapshots:
            raise NotFound(f"Snapshot {snapshot_id} could not be found.")
        return {**self.snapshots[snapshot_id], "status": self.snapshot_status}

    def list_snapshots(self) -> list[dict]:
        return [self.get_snapshot(s) for s in self.snapshots]

    def delete_snapshot(self, snapshot_id: str, missing_ok: bool = True) -> None:
        if self.snapshots.pop(snapshot_id, None) is None and not missing_ok:
            raise NotFound(f"Snapshot {snapshot_id} could not be found.")


@pytest.fixture(scope="session")
def compute_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return build_template(tmp_path_factory, "compute")


@dataclass
class ComputeEnv:
    app: Flask
    conf: Config
    db: Database
    agent: Agent
    driver: FakeDriver
    images: FakeImages
    volumes: FakeVolumes
    admin: UserClient
    alice: UserClient   # member of demo
    reader: UserClient  # reader of demo
    bob: UserClient     # member of other

    def work(self) -> int:
        """Run every queued agent task now; how many ran."""
        count = 0
        while (task := self.agent.queue.take()) is not None:
            self.agent.run_task(task)
            count += 1
        return count

    def create_server(self, user: str = "alice", name: str = "vm", active: bool = True,
                      **extra: Any) -> str:
        """A server created over the API (2.1 body); ``active``: built by the agent."""
        body = {"name": name, "imageRef": IMAGE_ID, "flavorRef": "6", **extra}
        resp = getattr(self, user).post("/v2.1/servers", json={"server": body})
        assert resp.status_code == 202, resp.get_json()
        if active:
            self.work()
        return resp.get_json()["server"]["id"]


@pytest.fixture
def compute_env(compute_template: Template, tmp_path: Path) -> Iterator[ComputeEnv]:
    state = tmp_path / "state"
    shutil.copytree(compute_template.state_dir, state)
    (state / "minicloud.conf").write_text(
        "[compute]\nhost = node1\nvcpus = 64\nmemory_mib = 65536\ndisk_gb = 1000\n")
    conf = Config.load(state, environ={})
    db = Database(conf.database_url)
    images, volumes, driver = FakeImages(), FakeVolumes(), FakeDriver()
    app = create_app(conf, db, image_client=lambda _token: images,
                     volume_client=lambda _token: volumes)
    app.extensions["compute"].service.sync_flavors(flavors.load())
    agent = Agent(conf, db, driver, lambda: images, lambda: volumes)
    agent.register()
    tokens = TokenProvider(db, ensure_key(state))
    client = app.test_client()
    users = {name: UserClient(client, tokens.issue(*compute_template.users[name]).token,
                              compute_template.users[name][1]) for name in compute_template.users}
    env = ComputeEnv(app, conf, db, agent, driver, images, volumes, **users)
    # The console log comes from the agent: in-process, it answers while the API waits.
    app.extensions["compute"].console.pump = env.work
    yield env
    db.dispose()
