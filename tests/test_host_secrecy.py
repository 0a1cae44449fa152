"""Nothing secret or private is readable by other local users (issue 12).

The main test runs a live cloud (fake compute driver, volumes on real files with the fake
iSCSI target) with an image, a server (its base cached in ``instances/_base``) and a volume
attached to it, then probes the state directory as uid 65534 (nobody): every secret or data
file exists and cannot be opened, the directories cannot be listed, while a public file
(``cloud-id``) can be read and a base image can be reached (so the refusals come from the
modes, not from a directory nobody could enter). A scan as root then finds no group- or
world-accessible file in the whole state directory. The instance files the real driver writes
(disk, disk.eph0, console log, NVRAM) are probed the same way in
``tests/test_host_secrecy_real.py``.

The other tests pin the pieces: ``minicloud up`` tightens an older cloud, the catalog is
private from its first byte, the base cache and disks are made private, bases of deleted
images go at once, faults show no host path, passwords stay off the command line.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from compute.faults import InstanceFault, user_fault
from compute.imagecache import ImageCache
from minicloud import process
from minicloud.config import Config
from minicloud.db import Database
from minicloud.errors import CommandFailed, MinicloudError, NotFound, ServiceUnavailable
from minicloud.paths import StatePaths, private_file
from tests.conftest import RunningCloud, start_cloud
from tests.test_compute_agent import boot, env, work  # noqa: F401 - env: the agent fixture

NOBODY = 65534
#: Files a state directory may show to everybody: nothing in them is secret. ``lab/`` holds
#: the lab guests built from this host's own Debian kernel and busybox (public packages).
PUBLIC_FILES = {"cloud-id"}
PUBLIC_TREES = {"lab"}

PROBE = r"""
import json, os, sys
out = []
for kind, path in json.load(sys.stdin):
    try:
        if kind == "read":
            with open(path, "rb") as fh:
                fh.read(1)
        elif kind == "list":
            os.listdir(path)
        else:
            os.stat(path)
        out.append("ok")
    except PermissionError:
        out.append("denied")
    except OSError as exc:
        out.append(type(exc).__name__)
print(json.dumps(out))
"""


def as_nobody(checks: list[tuple[str, Path]]) -> dict[tuple[str, str], str]:
    """Run each check (``read``, ``list`` or ``stat`` of a path) as uid/gid 65534 with no
    supplementary groups, in the system Python (a venv under /root is not nobody's)."""
    proc = subprocess.run(["/usr/bin/python3", "-I", "-c", PROBE],
                          input=json.dumps([(k, str(p)) for k, p in checks]).encode(),
                          user=NOBODY, group=NOBODY, extra_groups=[], cwd="/",
                          capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    return {(k, str(p)): r for (k, p), r in zip(checks, json.loads(proc.stdout), strict=True)}


def exposed(root: Path) -> list[str]:
    """Every file under ``root`` that a group or others may read or write, and every
    directory they may list or write (0711 is fine: traversable, not listable), counting only
    what they can reach: a log file 0644 inside a 0700 directory is nobody else's."""
    bad = []

    def walk(path: Path, reach: int) -> None:  # reach: 0o070/0o007 bits that get this far
        if path != root and path.relative_to(root).parts[0] in PUBLIC_TREES:
            return
        mode = path.lstat().st_mode
        perms = stat.S_IMODE(mode) & reach
        if stat.S_ISDIR(mode):
            if perms & 0o066:
                bad.append(f"{path.relative_to(root)}/ {stat.S_IMODE(mode):o}")
            inner = (0o070 if perms & 0o010 else 0) | (0o007 if perms & 0o001 else 0)
            for child in path.iterdir():
                walk(child, inner)
        elif stat.S_ISREG(mode) and perms & 0o066 and path.name not in PUBLIC_FILES:
            bad.append(f"{path.relative_to(root)} {stat.S_IMODE(mode):o}")

    walk(root, 0o077)
    return bad


def world_traversable_dir() -> Path:
    """A fresh directory nobody may enter but not list (as /var/lib/minicloud's parent):
    under /var/tmp, not pytest's 0700 tmp_path where every probe would be refused anyway."""
    root = Path(tempfile.mkdtemp(prefix="minicloud-secrecy-", dir="/var/tmp"))
    root.chmod(0o711)
    return root


# --- the live cloud, probed as nobody ---------------------------------------------------------


@pytest.fixture(scope="module")
def populated_cloud(qemu_img_module) -> Iterator[tuple[RunningCloud, dict[str, str]]]:
    root = world_traversable_dir()
    cloud = start_cloud(root / "state")
    try:
        disk = root / "disk.qcow2"
        qemu_img_module("create", "-f", "qcow2", str(disk), "1M")

        def cli(*args: str) -> str:
            return cloud.minicloud(*args, "-f", "value", "-c", "id").stdout.decode().strip()

        ids = {"image": cli("image", "create", "secret-img", "--file", str(disk),
                            "--disk-format", "qcow2", "--container-format", "bare")}
        ids["volume"] = cli("volume", "create", "secret-vol", "--size", "1", "--wait")
        ids["server"] = cli("server", "create", "secret-vm", "--image", "secret-img",
                            "--flavor", "lab.nano", "--attach-volume", "secret-vol", "--wait")
        yield cloud, ids
    finally:
        cloud.minicloud("down", check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def qemu_img_module():
    binary = shutil.which("qemu-img")
    assert binary, "qemu-img is missing: run `make setup` (qemu-utils)"

    def run(*args: str) -> None:
        subprocess.run([binary, *args], check=True, capture_output=True, timeout=60)

    return run


def test_nobody_reads_nothing_of_a_live_cloud(populated_cloud):
    cloud, ids = populated_cloud
    state = cloud.state_dir
    conf = Config.load(state, environ={})
    instances = conf.path(conf.compute.instances_path)
    volumes = conf.path(conf.volume.volumes_path)
    base = instances / "_base" / ids["image"]
    secrets_ = [state / "minicloud.db", state / "minicloud.db-wal", state / "minicloud.db-shm",
                state / "keys" / "fernet.key", state / "clouds.yaml", state / "openrc",
                state / "minicloud.conf", state / "images" / ids["image"], base,
                volumes / f"volume-{ids['volume']}", *sorted((state / "log").glob("*.log")),
                *sorted((state / "run").glob("*.pid"))]
    private_dirs = [state, instances, instances / "_base", volumes, state / "images",
                    state / "keys", state / "log", state / "run"]
    for path in secrets_ + private_dirs:
        assert path.exists(), path  # what is probed is really there
    controls = [("read", state / "cloud-id"), ("stat", base)]
    seen = as_nobody([("read", p) for p in secrets_] + [("list", d) for d in private_dirs]
                     + controls)
    # nobody does reach into the state directory and to the bases (QEMU's way in) ...
    assert [seen[(k, str(p))] for k, p in controls] == ["ok", "ok"]
    # ... and is refused everything else
    readable = {key: result for key, result in seen.items()
                if result != "denied" and (key[0], Path(key[1])) not in controls}
    assert readable == {}
    # The instance directory here is the fake driver's (empty files, no QEMU): the real
    # driver's files are checked by tests/test_host_secrecy_real.py.
    fake_made = str((instances / ids["server"]).relative_to(state))
    assert [p for p in exposed(state) if not p.startswith(fake_made)] == []


def test_the_catalog_holds_what_the_probe_protects(populated_cloud):
    """The catalog really holds the secrets (so refusing it matters): a volume attached
    over iSCSI has its CHAP secret in it, every user a password hash."""
    cloud, ids = populated_cloud
    db = Database(Config.load(cloud.state_dir, environ={}).database_url)
    try:
        with db.engine.connect() as conn:
            secret = conn.exec_driver_sql("SELECT auth_password FROM volumes WHERE id = ?",
                                          (ids["volume"],)).scalar()
    finally:
        db.dispose()
    assert secret


# --- the pieces --------------------------------------------------------------------------------


def _loose_tree(state: Path) -> None:
    """What an older minicloud left: readable catalog, logs, bases, disks, config."""
    for d in ("log", "run", "keys", "images/staging", "volumes", "instances/_base/.locks",
              "instances/i-1"):
        (state / d).mkdir(parents=True, exist_ok=True)
    for f in ("minicloud.db", "minicloud.db-wal", "minicloud.db-shm", "minicloud.conf",
              "clouds.yaml", "openrc", "log/compute.log", "run/compute.pid",
              "keys/fernet.key", "images/img-1", "images/staging/img-2", "volumes/volume-1",
              "instances/i-1/disk", "instances/i-1/disk.eph0", "instances/i-1/console.log",
              "instances/i-1/nvram.fd", "instances/_base/.locks/img-1", "cloud-id"):
        (state / f).write_bytes(b"x")
        (state / f).chmod(0o644)
    (state / "instances/_base/img-1").write_bytes(b"base")
    (state / "instances/_base/img-1").chmod(0o444)
    for d in [p for p in state.rglob("*") if p.is_dir()] + [state]:
        d.chmod(0o755)


def test_up_tightens_an_older_cloud(tmp_path):
    state = tmp_path / "state"
    _loose_tree(state)
    paths = StatePaths(state)
    paths.secure(instances=state / "instances", volumes=state / "volumes")
    Database(f"sqlite:///{state / 'minicloud.db'}").dispose()  # opening tightens the catalog
    assert exposed(state) == []
    modes = {str(p.relative_to(state)): stat.S_IMODE(p.stat().st_mode)
             for p in state.rglob("*")}
    assert stat.S_IMODE(state.stat().st_mode) == 0o711
    assert modes["instances"] == modes["instances/i-1"] == modes["instances/_base"] == 0o711
    assert modes["instances/_base/img-1"] == 0o400 and modes["instances/i-1/disk"] == 0o600
    assert modes["instances/_base/.locks"] == modes["log"] == modes["volumes"] == 0o700
    assert modes["minicloud.db-wal"] == modes["clouds.yaml"] == modes["keys/fernet.key"] \
        == 0o600
    assert modes["cloud-id"] == 0o644  # public: names the cloud's libvirt domains


def test_up_runs_the_tightening(tmp_path):
    """``minicloud up`` itself fixes an older cloud (here without daemons or services)."""
    from minicloud.runner import Runner

    state = tmp_path / "state"
    _loose_tree(state)
    (state / "minicloud.db").unlink()
    for name in ("minicloud.db-wal", "minicloud.db-shm", "minicloud.conf"):
        (state / name).unlink()
    runner = Runner(Config.load(state, environ={}), say=lambda _line: None)
    runner.paths.secure(instances=runner.conf.path(runner.conf.compute.instances_path),
                        volumes=runner.conf.path(runner.conf.volume.volumes_path))
    db = Database(runner.conf.database_url)
    try:
        db.upgrade()
        runner.bootstrap(db)
    finally:
        db.dispose()
    assert exposed(state) == []


def test_catalog_is_private_from_its_first_byte(tmp_path):
    old = os.umask(0)  # the widest a process could have: nothing may rely on the umask
    try:
        db = Database(f"sqlite:///{tmp_path / 'new.db'}")
        db.upgrade()
        with db.session() as s:
            s.execute(text("SELECT 1"))
        files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        db.dispose()
    finally:
        os.umask(old)
    assert files["new.db"] == 0o600 and files["new.db-wal"] == 0o600
    assert files["new.db-shm"] == 0o600


def test_an_existing_readable_catalog_is_tightened_when_opened(tmp_path):
    path = tmp_path / "old.db"
    Database(f"sqlite:///{path}").dispose()
    path.chmod(0o644)
    Database(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_disks_are_private_whatever_the_umask(tmp_path):
    from compute import disks

    old = os.umask(0)
    try:
        disks.create_blank(tmp_path / "eph", 1)
        base = tmp_path / "base"
        disks.create_blank(base, 1)
        disks.create_overlay(base, "qcow2", tmp_path / "disk", 1)
        disks.flatten(tmp_path / "disk", tmp_path / "snap")
    finally:
        os.umask(old)
    for name in ("eph", "disk", "snap"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    private_file(tmp_path / "eph")  # an existing file is tightened, not truncated
    assert (tmp_path / "eph").stat().st_size > 0


class _Images:
    """The image API as the cache sees it (images by id; a deleted one is a 404)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.gone, self.down = data, set(), False

    def get(self, image_id: str) -> dict:
        if self.down:
            raise ServiceUnavailable("The image service is unavailable.")
        if image_id in self.gone:
            raise NotFound(f"image {image_id}")
        return {"id": image_id, "status": "active", "disk_format": "raw"}

    def download(self, image_id: str, chunk_size: int = 1 << 20):
        yield self.data


def test_base_cache_is_private_and_drops_deleted_images_at_once(tmp_path):
    images = _Images(b"\0" * 4096)
    cache = ImageCache(tmp_path / "_base", lambda: images)
    old = os.umask(0)
    try:
        used = cache.fetch({"id": "used", "disk_format": "raw"})
        unused = cache.fetch({"id": "unused", "disk_format": "raw"})
        kept = cache.fetch({"id": "kept", "disk_format": "raw"})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "_base").stat().st_mode) == 0o711
    assert stat.S_IMODE((tmp_path / "_base" / ".locks").stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in (used, unused, kept)} == {0o400}

    def deleted(image_id: str) -> bool:
        try:
            images.get(image_id)
        except NotFound:
            return True
        except MinicloudError:
            return False
        return False

    images.gone = {"used", "unused"}
    day = 86400
    # deleted and unused: removed now, long before its age; in use: kept (overlays need it)
    assert cache.manage({"used"}, day, deleted) == ["unused"]
    assert used.exists() and kept.exists() and not unused.exists()
    images.down = True  # the image API unreachable: nothing is removed on a guess
    images.gone = {"kept"}
    assert cache.manage(set(), day, deleted) == []
    assert kept.exists()


def test_the_agent_asks_the_image_service_what_was_deleted(env):  # noqa: F811
    agent = env[1]
    images = _Images(b"")
    agent.images = lambda: images
    images.gone = {"gone"}
    assert agent._image_deleted("gone") is True
    assert agent._image_deleted("there") is False
    images.down = True
    assert agent._image_deleted("gone") is False


# --- faults -------------------------------------------------------------------------------------


QEMU_FAILURE = CommandFailed(
    ["qemu-img", "create", "-f", "qcow2", "-b",
     "/var/lib/minicloud/instances/_base/1f0c", "/var/lib/minicloud/instances/i/disk"], 1,
    "qemu-img: Could not open '/var/lib/minicloud/instances/_base/1f0c': Permission denied")


@pytest.mark.parametrize("exc", [
    QEMU_FAILURE,
    MinicloudError("define instance-1: Cannot access storage file "
                   "'/var/lib/minicloud/instances/i/disk' (as uid:64055, gid:107)"),
    ServiceUnavailable("cannot connect to libvirt at qemu:///system: no socket"),
    FileNotFoundError(2, "No such file or directory", "/var/lib/minicloud/instances/i"),
    KeyError("disk"),
])
def test_faults_with_host_detail_become_generic(exc, caplog):
    caplog.set_level(logging.ERROR, logger="compute.faults")
    fault = user_fault(exc, "i-1")
    assert isinstance(fault, InstanceFault)
    assert "/" not in fault.message and "minicloud" not in fault.message.split("log")[0]
    assert type(exc).__name__ in fault.message
    ref = fault.message.rsplit("fault ", 1)[1].rstrip(".")
    logged = [r.getMessage() for r in caplog.records]
    assert any(ref in line and "i-1" in line for line in logged), logged
    if isinstance(exc, MinicloudError):
        assert any(exc.message in line for line in logged)


@pytest.mark.parametrize("exc", [
    MinicloudError("injected failure at root_disk"),
    MinicloudError("Volume 1234 could not be made from the image (it is error)."),
    MinicloudError("No valid host was found. RAM 512/1024 MiB free."),
])
def test_faults_users_can_act_on_keep_their_message(exc):
    assert user_fault(exc, "i-1") is exc


def test_a_spawn_failing_with_a_host_path_shows_a_generic_fault(env, caplog):  # noqa: F811
    """Through the agent: the server is ERROR, its fault names no path, the log has it."""
    svc, agent, driver, _, alice, _ = env

    def failing_spawn(spec):
        raise QEMU_FAILURE

    driver.spawn = failing_spawn
    caplog.set_level(logging.ERROR)
    inst = boot(svc, alice)
    work(agent)
    inst = svc.get_server(alice, inst.id)
    assert inst.vm_state == "error"
    assert "/" not in inst.fault["message"] and "CommandFailed" in inst.fault["message"]
    assert any("Could not open '/var/lib/minicloud" in r.getMessage() for r in caplog.records)


# --- passwords off the command line -------------------------------------------------------------


def test_tgtadm_gets_the_chap_password_in_exactly_one_argv(monkeypatch):
    from volumes.connection import Chap
    from volumes.targets import TgtTarget

    seen: list[list[str]] = []
    monkeypatch.setattr(process, "recorder", [seen.append])

    def fake_run(argv, **kw):  # tgtd: no target, no portal yet; every change succeeds
        return subprocess.CompletedProcess(argv, 0, b"", b"")

    monkeypatch.setattr(process.subprocess, "run", fake_run)
    chap = Chap.generate()
    TgtTarget(portal_ip="127.0.0.1").ensure_export("v" * 36, "/x", chap)
    with_secret = [argv for argv in seen if chap.password in " ".join(argv)]
    assert len(with_secret) == 1
    assert with_secret[0][-4:] == ["--user", chap.username, "--password", chap.password]


def _login(cloud: RunningCloud, user: str, password: str) -> bool:
    from minicloud.client import Client, Credentials

    c = cloud.credentials
    try:
        Client(Credentials(c["auth_url"], user, password, "admin")).authenticate()
    except MinicloudError:
        return False
    return True


@pytest.mark.parametrize(("args", "stdin"), [
    (["--password", "-"], b"pw-from-stdin\n"),
    (["--password-prompt"], b"pw-from-stdin\npw-from-stdin\n"),
    ([], b"pw-from-stdin\npw-from-stdin\n"),  # neither: prompted, as before
])
def test_user_create_takes_the_password_off_the_command_line(populated_cloud, args, stdin):
    cloud, _ = populated_cloud
    name = f"u{abs(hash(tuple(args))) % 10 ** 6}"
    cloud.minicloud("user", "create", name, *args, "--project", "admin", "--role", "member",
                    input=stdin)
    assert _login(cloud, name, "pw-from-stdin")
    assert not _login(cloud, name, "pw-from-stdin\n")


def test_user_create_refuses_an_empty_or_doubled_password(populated_cloud):
    cloud, _ = populated_cloud
    empty = cloud.minicloud("user", "create", "u-empty", "--password", "-", input=b"\n",
                            check=False)
    assert empty.returncode == 2 and b"no password" in empty.stderr
    both = cloud.minicloud("user", "create", "u-both", "--password", "x",
                           "--password-prompt", check=False)
    assert both.returncode == 2 and b"exclude each other" in both.stderr
