"""Fixtures of the volume service tests: the API on the Flask test client, a real agent.

Each test gets a copy of a template state directory (the image tests' one: catalog migrated,
admin in ``admin``, ``alice`` member of ``demo``, ``bob`` member of ``other``, the service
user; plus ``reader``, with only the reader role on ``demo``),
the volume API app, and a real :class:`volumes.agent.Agent` running its loop in a thread on
the chosen backend and target (fakes by default), so API calls that wait for the agent (the
export of an attachment) work as in the real cloud. Images come from :class:`FakeImages`.

Import in a test module with ``from tests.volumes_fixtures import *  # noqa: F403``.
"""
from __future__ import annotations

import hashlib
import itertools
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from minicloud.config import Config
from minicloud.db import Database
from minicloud.errors import BadRequest, NotFound
from minicloud.identity.service import IdentityService
from minicloud.identity.tokens import TokenProvider, ensure_key
from tests.images_fixtures import Template, UserClient, err, images_template, qemu_img
from volumes.agent import Agent
from volumes.api import create_app
from volumes.backends import Backend, FakeBackend
from volumes.connection import ConnectionInfo
from volumes.targets import FakeTarget, Target

__all__ = ["VolEnv", "FakeImages", "make_volenv", "volenv", "images_template",
           "volumes_template", "qemu_img", "err", "MV", "wait_status", "tgtd"]

MIV = 1 << 20
MV = {"OpenStack-API-Version": "volume 3.70"}
RAW = b"\xab" * 512 + b"minicloud volume" * 64


class FakeImages:
    """The image API as the volume side sees it: metadata and data of a few images."""

    def __init__(self) -> None:
        self.images: dict[str, dict] = {}
        self.data: dict[str, bytes] = {}
        self.writes: list[tuple[str, str | None, str]] = []  # (operation, token, image id)
        self.fail_create: str | None = None  # a message: the next creates are refused
        self.fail_upload: str | None = None
        self.add("raw-img", RAW, "raw", hw_firmware_type="uefi")

    def add(self, image_id: str, data: bytes, disk_format: str, **extra: Any) -> dict:
        self.data[image_id] = data
        self.images[image_id] = {
            "id": image_id, "name": f"{image_id}-name", "status": "active",
            "disk_format": disk_format, "container_format": "bare", "min_disk": 0,
            "min_ram": 0, "size": len(data), "virtual_size": extra.pop("virtual_size",
                                                                       len(data)),
            "checksum": hashlib.md5(data).hexdigest(), "os_hash_algo": "sha512",
            "os_hash_value": hashlib.sha512(data).hexdigest(), "visibility": "public",
            "owner": "x", "tags": [], **extra}
        return self.images[image_id]

    def get(self, image_id: str) -> dict:
        if image_id not in self.images:
            raise NotFound(f"No image found with ID {image_id}")
        return self.images[image_id]

    def download(self, image_id: str, chunk_size: int = MIV) -> Iterator[bytes]:
        yield self.data[image_id]

    # -- writes (volume to image), each recorded with the token it was made with -----------
    def as_user(self, token: str | None) -> UserImages:
        return UserImages(self, token)

    def create(self, body: dict, token: str | None = None) -> dict:
        if self.fail_create:
            raise BadRequest(self.fail_create)
        image_id = f"upl-{len(self.writes)}-{token and token[:6]}"
        self.images[image_id] = {"id": image_id, "status": "queued", "visibility": "shared",
                                 "protected": False, "tags": [], **body}
        self.writes.append(("create", token, image_id))
        return self.images[image_id]

    def upload(self, image_id: str, path: Path, token: str | None = None) -> None:
        self.writes.append(("upload", token, image_id))
        if self.fail_upload:
            raise BadRequest(self.fail_upload)
        data = path.read_bytes()
        self.data[image_id] = data
        self.images[image_id].update(status="active", size=len(data))

    def update(self, image_id: str, patch: list[dict], token: str | None = None) -> dict:
        self.writes.append(("update", token, image_id))
        for op in patch:
            self.images[image_id][op["path"].lstrip("/")] = op["value"]
        return self.images[image_id]

    def delete(self, image_id: str, token: str | None = None) -> None:
        self.writes.append(("delete", token, image_id))
        self.images.pop(image_id, None)
        self.data.pop(image_id, None)


@dataclass
class UserImages:
    """:class:`FakeImages` as seen with one token (the volume to image path's client)."""

    images: FakeImages
    token: str | None

    def get(self, image_id: str) -> dict:
        return self.images.get(image_id)

    def download(self, image_id: str, chunk_size: int = MIV) -> Iterator[bytes]:
        return self.images.download(image_id, chunk_size)

    def create(self, body: dict) -> dict:
        return self.images.create(body, self.token)

    def upload(self, image_id: str, path: Path) -> None:
        self.images.upload(image_id, path, self.token)

    def update(self, image_id: str, patch: list[dict]) -> dict:
        return self.images.update(image_id, patch, self.token)

    def delete(self, image_id: str) -> None:
        self.images.delete(image_id, self.token)


@dataclass
class VolEnv:
    app: Flask
    conf: Config
    db: Database
    agent: Agent
    backend: Backend
    target: Target
    images: FakeImages
    admin: UserClient
    alice: UserClient
    bob: UserClient
    reader: UserClient     # role reader on alice's project (demo)
    service: UserClient
    stop: threading.Event
    thread: threading.Thread | None

    def create(self, who: UserClient | None = None, expect: int = 202, **volume: Any) -> dict:
        volume.setdefault("size", 1)
        resp = (who or self.alice).post("/v3/volumes", json={"volume": volume}, headers=MV)
        assert resp.status_code == expect, resp.get_data(as_text=True)
        return resp.json.get("volume", resp.json)

    def show(self, volume_id: str, who: UserClient | None = None) -> dict:
        resp = (who or self.alice).get(f"/v3/volumes/{volume_id}", headers=MV)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return resp.json["volume"]

    def wait(self, volume_id: str, status: str, who: UserClient | None = None,
             timeout: float = 20) -> dict:
        return wait_status(lambda: self.show(volume_id, who or self.admin), status, timeout)


def wait_status(get: Callable[[], dict], status: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        current = get()
        if current["status"] == status:
            return current
        assert time.monotonic() < deadline, \
            f"still {current['status']}, wanted {status}: {current.get('error')}"
        time.sleep(0.02)


def _service_client(client, tokens: TokenProvider, db: Database) -> UserClient:
    user_id, project_id = IdentityService(db).service_identity()
    return UserClient(client, tokens.issue(user_id, project_id).token, project_id)


@pytest.fixture(scope="session")
def volumes_template(images_template: Template, tmp_path_factory: pytest.TempPathFactory
                     ) -> Template:
    """The image tests' template plus ``reader`` (role reader on ``demo``), built once (the
    image tests' template may already have it)."""
    if "reader" in images_template.users:
        return images_template
    state = tmp_path_factory.mktemp("volumes-template") / "state"
    shutil.copytree(images_template.state_dir, state)
    db = Database(Config.load(state, environ={}).database_url)
    ident = IdentityService(db)
    reader = ident.create_user("reader", "reader-pw", "demo", "reader")
    users = {**images_template.users,
             "reader": (reader.id, ident.get_project("demo").id)}
    db.dispose()
    return Template(state, users)


@pytest.fixture
def make_volenv(volumes_template: Template, tmp_path: Path) -> Iterator[Callable[..., VolEnv]]:
    """``make_volenv(backend=..., target=..., agent=False, **{"volume.x": y})``."""
    envs: list[VolEnv] = []
    counter = itertools.count()

    def make(backend: Backend | None = None, target: Target | None = None,
             agent: bool = True, **overrides: Any) -> VolEnv:
        state = tmp_path / f"env{next(counter)}"
        shutil.copytree(volumes_template.state_dir, state)
        overrides = {"volume.host": "node1", "volume.task_timeout": 10,
                     "volume.periodic_interval": 3600, **overrides}
        conf = Config.load(state, overrides=overrides, environ={})
        db = Database(conf.database_url)
        images = FakeImages()
        app = create_app(conf, db, image_client=images.as_user)
        backend = backend or FakeBackend()
        target = target or FakeTarget()
        worker = Agent(conf, db, backend, target, lambda: images, idle_wait=0.01,
                       user_images=images.as_user)
        worker.register()
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True) \
            if agent else None
        if thread:
            thread.start()
        tokens = TokenProvider(db, ensure_key(state))
        client = app.test_client()
        users = {name: UserClient(client, tokens.issue(*ids).token, ids[1])
                 for name, ids in volumes_template.users.items()}
        env = VolEnv(app, conf, db, worker, backend, target, images, users["admin"],
                     users["alice"], users["bob"], users["reader"],
                     _service_client(client, tokens, db), stop, thread)
        envs.append(env)
        return env

    yield make
    for env in envs:
        env.stop.set()
        if env.thread:
            env.thread.join(10)
        env.db.dispose()


@pytest.fixture
def volenv(make_volenv: Callable[..., VolEnv]) -> VolEnv:
    return make_volenv()


@pytest.fixture(scope="session")
def tgtd() -> None:
    """A running tgtd (the host's, shared; started here when nothing runs it)."""
    if shutil.which("tgtd") is None:
        pytest.fail("tgtd is missing: run `make setup` (Debian package tgt)")
    if subprocess.run(["pgrep", "-x", "tgtd"], capture_output=True, check=False).returncode:
        subprocess.run(["tgtd"], check=True, timeout=30)
        for _ in range(50):
            probe = subprocess.run(["tgtadm", "--lld", "iscsi", "--op", "show", "--mode",
                                    "target"], capture_output=True, check=False)
            if probe.returncode == 0:
                break
            time.sleep(0.1)


# -- data over iSCSI, as a guest would see it (real tests) -------------------------------------
INITIATOR = "iqn.2008-11.org.linux-kvm:minicloud-test"
SERVER = "8f0e6c1e-2a51-4d1b-9f9e-5a7c3b2d1e0f"  # a made-up server the volume is attached to


def iscsi_export(env: VolEnv, volume_id: str) -> tuple[str, ConnectionInfo]:
    """Attach ``volume_id`` as compute does (reserve, connect with INITIATOR, complete):
    (attachment id, connection info). Deleting the attachment detaches it."""
    att = env.alice.post("/v3/attachments", headers=MV, json={"attachment": {
        "volume_uuid": volume_id, "instance_uuid": SERVER}}).json["attachment"]
    resp = env.service.put(f"/v3/attachments/{att['id']}", headers=MV, json={"attachment": {
        "connector": {"host": "node1", "initiator": INITIATOR, "mountpoint": "/dev/vdc"}}})
    assert resp.status_code == 200, resp.json
    assert env.service.post(f"/v3/attachments/{att['id']}/action", headers=MV,
                            json={"os-complete": None}).status_code == 204
    return att["id"], ConnectionInfo.from_dict(resp.json["attachment"]["connection_info"])


def qemu_io_run(info: ConnectionInfo, command: str, tmp_path: Path, *,
                password: str | None = None, initiator: str = INITIATOR
                ) -> subprocess.CompletedProcess:
    """``qemu-io -c COMMAND`` on the exported LUN over iSCSI (libiscsi, as QEMU attaches a
    guest's volume), with the connection info's CHAP user and ``password`` (default: the
    info's) in a 0600 secret file, never on the command line."""
    d = info.data
    secret = tmp_path / "chap.secret"
    secret.write_text(password if password is not None else d.auth_password)
    secret.chmod(0o600)
    opts = ",".join([
        "driver=raw", "file.driver=iscsi", "file.transport=tcp",
        f"file.portal={d.target_portal}", f"file.target={d.target_iqn}",
        f"file.lun={d.target_lun}", f"file.user={d.auth_username}",
        "file.password-secret=chap", f"file.initiator-name={initiator}"])
    return subprocess.run(["qemu-io", "--object", f"secret,id=chap,file={secret}",
                           "--image-opts", "-c", command, opts],
                          capture_output=True, text=True, timeout=120, check=False)


def qemu_io(info: ConnectionInfo, command: str, tmp_path: Path) -> str:
    """:func:`qemu_io_run` as INITIATOR; its output, after checking it ran (a failed pattern
    check is an answer too)."""
    proc = qemu_io_run(info, command, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 or "Pattern verification failed" in out, out
    return out
