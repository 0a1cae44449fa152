"""One contract suite per interface, run against the fake and the real implementation:
backends (in memory / sparse files, real qemu-img) and targets (in memory / the host's tgtd
through tgtadm). The tgtd is shared host-wide: these tests only create targets for random
volume uuids and remove exactly those."""
from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from minicloud import process
from minicloud.errors import CommandFailed
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import RAW
from volumes.backends import GIB, BackendError, FakeBackend, FileBackend
from volumes.connection import Chap, iqn_for
from volumes.targets import FakeTarget, TargetError, TgtTarget, parse_show

# --- backends ---------------------------------------------------------------------------------


@pytest.fixture(params=["fake", "file"])
def backend(request, tmp_path):
    return FakeBackend() if request.param == "fake" else FileBackend(tmp_path / "volumes")


def head(backend, volume_id: str, n: int) -> bytes:
    if isinstance(backend, FakeBackend):
        return backend.contents.get(volume_id, b"").ljust(n, b"\0")[:n]
    with open(backend.path(volume_id), "rb") as fh:
        return fh.read(n)


def test_backend_create_extend_delete(backend):
    vid = str(uuid.uuid4())
    backend.create(vid, 2)
    assert backend.exists(vid) and backend.size(vid) == 2 * GIB
    assert vid in backend.list_volumes()
    with pytest.raises(BackendError, match="already exists"):
        backend.create(vid, 1)
    backend.extend(vid, 3)
    assert backend.size(vid) == 3 * GIB
    with pytest.raises(BackendError, match="cannot shrink"):
        backend.extend(vid, 1)
    backend.delete(vid)
    assert not backend.exists(vid) and vid not in backend.list_volumes()
    backend.delete(vid)  # already gone is fine


def test_backend_create_from_raw_image(backend, tmp_path):
    src = tmp_path / "img.raw"
    src.write_bytes(RAW)
    vid = str(uuid.uuid4())
    backend.create_from_image(vid, 1, src, "raw")
    assert backend.size(vid) == GIB
    assert head(backend, vid, len(RAW) + 16) == RAW + b"\0" * 16


def test_backend_refuses_an_image_larger_than_the_volume(backend, tmp_path, qemu_img):
    src = tmp_path / "big.raw"
    with src.open("wb") as fh:
        fh.truncate(GIB + 4096)
    vid = str(uuid.uuid4())
    with pytest.raises(BackendError, match="doesn't fit"):
        backend.create_from_image(vid, 1, src, "raw")
    assert not backend.exists(vid)


def test_file_backend_is_sparse_and_never_hands_out_old_bytes(tmp_path):
    backend = FileBackend(tmp_path / "volumes")
    vid = str(uuid.uuid4())
    backend.create(vid, 10)
    path = Path(backend.path(vid))
    assert path.name == f"volume-{vid}" and path.stat().st_blocks == 0
    assert path.stat().st_mode & 0o777 == 0o600
    with path.open("r+b") as fh:
        fh.write(b"secret" * 100)
    backend.delete(vid)
    assert not path.exists()
    backend.create(vid, 1)
    assert head(backend, vid, 600) == b"\0" * 600


def test_file_backend_converts_qcow2(tmp_path, qemu_img):
    raw, qcow = tmp_path / "src.raw", tmp_path / "src.qcow2"
    raw.write_bytes(RAW + b"\0" * (1024 * 1024 - len(RAW)))
    qemu_img("convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow))
    calls: list[list[str]] = []
    process.recorder.append(calls.append)
    try:
        backend = FileBackend(tmp_path / "volumes")
        vid = str(uuid.uuid4())
        backend.create_from_image(vid, 1, qcow, "qcow2")
    finally:
        process.recorder.remove(calls.append)
    assert head(backend, vid, len(RAW)) == RAW and backend.size(vid) == GIB
    convert = next(c for c in calls if "convert" in c)
    assert convert[convert.index("-f") + 1] == "qcow2" and "-O" in convert
    assert all(Path(a).is_absolute() for a in convert if a.endswith((".qcow2", ".part")))
    assert not list((tmp_path / "volumes").glob(".*"))  # no temporary file left


def test_file_backend_refuses_qcow2_with_a_backing_file(tmp_path, qemu_img):
    base, top = tmp_path / "base.raw", tmp_path / "top.qcow2"
    base.write_bytes(b"host secret")
    qemu_img("create", "-f", "qcow2", "-b", str(base), "-F", "raw", str(top))
    backend = FileBackend(tmp_path / "volumes")
    vid = str(uuid.uuid4())
    with pytest.raises(BackendError, match="backing"):
        backend.create_from_image(vid, 1, top, "qcow2")
    assert not backend.exists(vid)


def _write(backend, volume_id: str, data: bytes) -> None:
    """``data`` at offset 0 of the volume (the fake keeps a volume's head bytes)."""
    if isinstance(backend, FakeBackend):
        backend.contents[volume_id] = data
        return
    with open(backend.path(volume_id), "r+b") as fh:
        fh.write(data)


def test_backend_snapshot_keeps_the_bytes_of_its_moment(backend):
    vid, sid, restored = (str(uuid.uuid4()) for _ in range(3))
    backend.create(vid, 1)
    _write(backend, vid, b"first marker")
    backend.create_snapshot(sid, vid)
    assert backend.snapshot_exists(sid)
    assert backend.list_snapshots() == [sid] and backend.list_volumes() == [vid]
    _write(backend, vid, b"SECOND marker")  # after the snapshot: never in it
    with pytest.raises(BackendError, match="already exists"):
        backend.create_snapshot(sid, vid)
    backend.create_from_snapshot(restored, sid, 2)
    assert backend.size(restored) == 2 * GIB
    assert head(backend, restored, 13) == b"first marker\0"
    with pytest.raises(BackendError, match="already exists"):
        backend.create_from_snapshot(restored, sid, 2)
    backend.delete_snapshot(sid)
    assert not backend.snapshot_exists(sid) and backend.list_snapshots() == []
    backend.delete_snapshot(sid)  # already gone is fine
    assert head(backend, restored, 12) == b"first marker"  # independent of the snapshot
    with pytest.raises(BackendError, match="does not exist"):
        backend.create_from_snapshot(str(uuid.uuid4()), sid, 1)


def test_backend_clone_holds_its_source_and_refuses_to_shrink(backend):
    src, clone, small = (str(uuid.uuid4()) for _ in range(3))
    backend.create(src, 2)
    _write(backend, src, b"source bytes")
    backend.clone(clone, src, 3)
    assert backend.size(clone) == 3 * GIB and head(backend, clone, 12) == b"source bytes"
    _write(backend, src, b"changed only")
    assert head(backend, clone, 12) == b"source bytes"
    with pytest.raises(BackendError, match="cannot hold"):
        backend.clone(small, src, 1)
    assert not backend.exists(small)
    with pytest.raises(BackendError, match="does not exist"):
        backend.clone(small, str(uuid.uuid4()), 1)


def test_file_snapshot_is_sparse_private_and_leaves_nothing_on_failure(tmp_path, monkeypatch):
    backend = FileBackend(tmp_path / "volumes")
    vid, sid = str(uuid.uuid4()), str(uuid.uuid4())
    backend.create(vid, 1)
    with open(backend.path(vid), "r+b") as fh:
        fh.seek(100 << 20)
        fh.write(b"x" * (1 << 20))
    backend.create_snapshot(sid, vid)
    snap = Path(backend.snapshot_path(sid))
    assert snap.stat().st_size == GIB and snap.stat().st_mode & 0o777 == 0o600
    assert snap.stat().st_blocks * 512 < 4 << 20  # the data written, not the volume's size
    assert sid not in backend.list_volumes() and backend.list_volumes() == [vid]

    def broken_cp(argv, **kwargs):
        Path(argv[-1]).write_bytes(b"partial")
        raise CommandFailed([str(a) for a in argv], 1, "cp: No space left on device")

    monkeypatch.setattr(process, "run", broken_cp)
    other = str(uuid.uuid4())
    with pytest.raises(BackendError, match="No space left"):
        backend.create_snapshot(other, vid)
    assert not backend.snapshot_exists(other)
    assert sorted(p.name for p in backend.root.iterdir()) == sorted(
        [f"volume-{vid}", f"snapshot-{sid}"])
    (backend.root / f".snapshot-{other}.part").write_bytes(b"staged")  # a killed copy's
    assert backend.list_snapshots() == [sid]  # only complete snapshots are listed


# --- targets ----------------------------------------------------------------------------------


class RealTargets:
    """TgtTarget plus cleanup of exactly the volume ids this test used."""

    def __init__(self) -> None:
        self.target = TgtTarget()
        self.used: list[str] = []

    def cleanup(self) -> None:
        for vid in self.used:
            self.target.remove_export(vid)


@pytest.fixture(params=["fake", "tgtadm"])
def target(request, tmp_path):
    if request.param == "fake":
        yield FakeTarget()
        return
    request.getfixturevalue("tgtd")
    real = RealTargets()
    real.target.used = real.used  # type: ignore[attr-defined]
    try:
        yield real.target
    finally:
        real.cleanup()


def _volume(target, tmp_path: Path) -> tuple[str, str]:
    vid = str(uuid.uuid4())
    getattr(target, "used", []).append(vid)
    path = tmp_path / f"volume-{vid}"
    with path.open("wb") as fh:
        fh.truncate(8 * 1024 * 1024)
    return vid, str(path)


def _state(target, vid: str):
    """(path, username, initiator) of an export, whatever the implementation."""
    if isinstance(target, FakeTarget):
        export = target.exports.get(vid)
        return export and (export.path, [export.chap.username], [export.initiator])
    state = target.show().get(iqn_for(vid))
    return state and (state.luns.get(1), state.accounts, state.acls)


def test_target_export_is_idempotent_and_removable(target, tmp_path):
    vid, path = _volume(target, tmp_path)
    chap = Chap.generate()
    target.ensure_export(vid, path, chap)
    target.ensure_export(vid, path, chap)
    assert _state(target, vid) == (path, [chap.username], ["127.0.0.1"])
    assert vid in target.exported()
    target.remove_export(vid, chap.username)
    assert _state(target, vid) is None and vid not in target.exported()
    target.remove_export(vid, chap.username)  # already gone is fine


def test_target_binds_the_initiator_and_replaces_stale_credentials(target, tmp_path):
    vid, path = _volume(target, tmp_path)
    old, new = Chap.generate(), Chap.generate()
    target.ensure_export(vid, path, old)
    target.ensure_export(vid, path, new, "iqn.2008-11.org.linux-kvm:vm1")
    assert _state(target, vid) == (path, [new.username], ["iqn.2008-11.org.linux-kvm:vm1"])
    target.remove_export(vid, new.username)


def test_target_ensure_export_recreates_after_a_tgtd_restart(target, tmp_path):
    vid, path = _volume(target, tmp_path)
    chap = Chap.generate()
    target.ensure_export(vid, path, chap)
    if isinstance(target, FakeTarget):
        target.restart()
    else:  # what a tgtd restart leaves: nothing (we only drop our own target)
        target.remove_export(vid, chap.username)
    assert _state(target, vid) is None
    target.ensure_export(vid, path, chap)
    assert _state(target, vid) == (path, [chap.username], ["127.0.0.1"])


def test_target_refuses_to_change_the_backing_file(target, tmp_path):
    vid, path = _volume(target, tmp_path)
    target.ensure_export(vid, path, Chap.generate())
    with pytest.raises(TargetError, match="exports"):
        target.ensure_export(vid, path + ".other", Chap.generate())


# --- tgtadm specifics -------------------------------------------------------------------------

SHOW = """Target 3: iqn.2010-10.org.openstack:volume-aaa
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
        I_T nexus: 1
            Initiator: iqn.2008-11.org.linux-kvm alias: none
            Connection: 0
                IP Address: 127.0.0.1
    LUN information:
        LUN: 0
            Type: controller
            Backing store path: None
        LUN: 1
            Type: disk
            Backing store path: /var/lib/minicloud/volumes/volume-aaa
    Account information:
        6b1f
    ACL information:
        ALL
Target 9: iqn.2024-01.example:someone-else
    System information:
        Driver: iscsi
    LUN information:
        LUN: 0
            Backing store path: None
    Account information:
    ACL information:
        10.0.0.0/8
"""


def test_parse_show():
    targets = parse_show(SHOW)
    ours = targets["iqn.2010-10.org.openstack:volume-aaa"]
    assert (ours.tid, ours.sessions, ours.accounts, ours.acls) == (3, 1, ["6b1f"], ["ALL"])
    assert ours.luns == {0: "None", 1: "/var/lib/minicloud/volumes/volume-aaa"}
    other = targets["iqn.2024-01.example:someone-else"]
    assert (other.tid, other.accounts, other.acls) == (9, [], ["10.0.0.0/8"])


def test_tgt_never_lists_or_touches_foreign_targets_and_survives_tid_races(
        tgtd, tmp_path, monkeypatch):
    tgt = TgtTarget()
    foreign = f"iqn.2024-01.example.test:{uuid.uuid4().hex[:8]}"
    free = next(i for i in range(1, 10000) if i not in {t.tid for t in tgt.show().values()})
    subprocess.run(["tgtadm", "--lld", "iscsi", "--op", "new", "--mode", "target", "--tid",
                    str(free), "-T", foreign], check=True)
    vid = str(uuid.uuid4())
    path = tmp_path / "v"
    path.write_bytes(b"\0" * 4096)
    real_show, stale = tgt.show, {"first": True}

    def show_once_stale():
        # The first look misses the foreign target, as if another cloud made it just now.
        current = real_show()
        if stale.pop("first", False):
            current.pop(foreign, None)
        return current

    monkeypatch.setattr(tgt, "show", show_once_stale)
    try:
        tgt.ensure_export(vid, str(path), Chap.generate())
        state = real_show()
        assert state[iqn_for(vid)].tid != free and state[foreign].tid == free
        assert vid in tgt.exported() and all(v != foreign for v in tgt.exported())
        tgt.remove_export(vid)
        assert foreign in real_show()
    finally:
        tgt.remove_export(vid)
        subprocess.run(["tgtadm", "--lld", "iscsi", "--op", "delete", "--force", "--mode",
                        "target", "--tid", str(free)], check=False)


def test_tgt_errors_never_carry_the_password(monkeypatch):
    from minicloud.errors import CommandFailed

    secret = Chap("user", "sup3r-secret-password")

    def failing(argv, **_kw):
        raise CommandFailed(list(argv), 22, "tgtadm: invalid request")

    monkeypatch.setattr(process, "run", failing)
    with pytest.raises(TargetError) as exc:
        TgtTarget()._new_account(secret)
    assert secret.password not in str(exc.value) and exc.value.__cause__ is None
    assert secret.password not in repr(secret)
