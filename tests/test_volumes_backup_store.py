"""The backup store on real files: chunking, holes and zero chunks stored as nothing, an
incremental backup storing only changed chunks, verification on restore (a damaged or
replaced chunk fails it), private modes, and paths that cannot leave the store."""
from __future__ import annotations

import json
import os
import stat
import zlib

import pytest

from volumes.backup_store import BackupCorrupt, BackupStore, BackupStoreError, zero_hash

CHUNK = 64 * 1024


@pytest.fixture
def store(tmp_path):
    return BackupStore(tmp_path / "backups", CHUNK)


def _volume(path, size: int, writes: dict[int, bytes]):
    with open(path, "wb") as fh:
        fh.truncate(size)
        for offset, data in writes.items():
            fh.seek(offset)
            fh.write(data)
    return path


def test_chunks_hashes_and_holes(store, tmp_path):
    data = os.urandom(1000)
    src = _volume(tmp_path / "v", 10 * CHUNK + 100, {
        0: data, 5 * CHUNK: bytes(CHUNK), 10 * CHUNK: b"tail"})
    counts = []
    m = store.backup(src, store.location("c", "b1"), progress=counts.append)
    assert len(m.chunks) == 11 and m.size == 10 * CHUNK + 100
    assert [c.offset for c in m.chunks] == [i * CHUNK for i in range(11)]
    assert m.chunks[-1].length == 100  # the short last chunk
    stored = [i for i, c in enumerate(m.chunks) if c.object]
    assert stored == [0, 10] and counts == [1, 2] and m.stored == 2
    # a written run of zeros is stored as nothing, like a hole
    assert m.chunks[5].object is None and m.chunks[5].sha256 == zero_hash(CHUNK)
    files = sorted(p.name for p in (store.root / "c" / "backup-b1").iterdir())
    assert files == ["chunk-000000.z", "chunk-000010.z", "manifest.json"]
    raw = zlib.decompress((store.root / "c/backup-b1/chunk-000000.z").read_bytes())
    assert raw[:1000] == data and len(raw) == CHUNK
    body = json.loads((store.root / "c/backup-b1/manifest.json").read_bytes())
    assert body["compression"] == "zlib" and len(body["chunks"]) == 11
    assert store.manifest("c/backup-b1") == m


def test_modes_are_private_whatever_the_umask(store, tmp_path):
    old = os.umask(0)
    try:
        src = _volume(tmp_path / "v", CHUNK, {0: b"x"})
        store.backup(src, store.location("c", "b1"))
    finally:
        os.umask(old)
    for path in [store.root, *store.root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


def test_incremental_stores_only_changed_chunks(store, tmp_path):
    src = _volume(tmp_path / "v", 8 * CHUNK, {i * CHUNK: os.urandom(CHUNK) for i in range(8)})
    full = store.backup(src, store.location("c", "full"))
    assert full.stored == 8
    _volume_patch = {3 * CHUNK + 10: b"changed", 6 * CHUNK: bytes(CHUNK)}
    with open(src, "r+b") as fh:
        for offset, data in _volume_patch.items():
            fh.seek(offset)
            fh.write(data)
    inc = store.backup(src, store.location("c", "inc"), parent=full)
    assert inc.stored == 1 and inc.parent == "c/backup-full"
    assert sorted(p.name for p in (store.root / "c/backup-inc").iterdir()) == \
        ["chunk-000003.raw", "manifest.json"]  # random bytes: stored raw
    assert inc.chunks[0].object == "c/backup-full/chunk-000000.raw"
    assert inc.chunks[6].object is None  # now zeros: nothing
    out = _volume(tmp_path / "out", 8 * CHUNK, {})
    store.restore(inc, out, fresh=True)
    assert out.read_bytes() == src.read_bytes()


def test_restore_into_an_existing_file_overwrites_zeros(store, tmp_path):
    src = _volume(tmp_path / "v", 4 * CHUNK, {0: b"data"})
    m = store.backup(src, store.location("c", "b"))
    target = _volume(tmp_path / "t", 5 * CHUNK, {2 * CHUNK: b"stale" * 100,
                                                 4 * CHUNK: b"beyond"})
    store.restore(m, target, fresh=False)
    restored = target.read_bytes()
    assert restored[:4 * CHUNK] == src.read_bytes()
    assert restored[4 * CHUNK:4 * CHUNK + 6] == b"beyond"  # past the backup: untouched
    # zero chunks are written only where the target was not zeros: its holes stay holes
    assert target.stat().st_blocks * 512 < 3 * CHUNK
    with pytest.raises(BackupStoreError, match="target holds"):
        store.restore(m, _volume(tmp_path / "small", CHUNK, {}), fresh=True)


def test_incompressible_chunks_are_stored_raw(store, tmp_path):
    noise, text = os.urandom(CHUNK), (b"compressible text " * CHUNK)[:CHUNK]
    src = _volume(tmp_path / "v", 2 * CHUNK, {0: noise, CHUNK: text})
    m = store.backup(src, store.location("c", "b"))
    assert [c.object.rsplit("/", 1)[1] for c in m.chunks] == ["chunk-000000.raw",
                                                              "chunk-000001.z"]
    assert (store.root / "c/backup-b/chunk-000000.raw").read_bytes() == noise
    assert (store.root / "c/backup-b/chunk-000001.z").stat().st_size < CHUNK // 10
    (store.root / "c/backup-b/chunk-000000.raw").write_bytes(noise[:-1] + b"!")
    with pytest.raises(BackupCorrupt, match="chunk 0"):  # raw chunks are verified too
        store.restore(m, _volume(tmp_path / "out", 2 * CHUNK, {}), fresh=True)


@pytest.mark.parametrize("damage", ["replaced", "garbage", "missing", "truncated"])
def test_a_damaged_chunk_fails_the_restore(store, tmp_path, damage):
    src = _volume(tmp_path / "v", 2 * CHUNK, {0: os.urandom(CHUNK), CHUNK: b"second"})
    m = store.backup(src, store.location("c", "b"))
    victim = store.root / "c/backup-b/chunk-000001.z"
    if damage == "replaced":
        victim.write_bytes(zlib.compress(b"other" + bytes(CHUNK - 5)))
    elif damage == "garbage":
        victim.write_bytes(b"not zlib at all")
    elif damage == "missing":
        victim.unlink()
    else:
        victim.write_bytes(zlib.compress(b"second"))
    out = _volume(tmp_path / "out", 2 * CHUNK, {})
    with pytest.raises(BackupCorrupt, match="chunk 1"):
        store.restore(m, out, fresh=True)


def test_paths_cannot_leave_the_store(store, tmp_path):
    for bad in ("..", ".hidden", "a/b", "", "x" * 300):
        with pytest.raises(BackupStoreError):
            store.location(bad, "id")
    for location in ("../etc", "c/../../x", "/etc/passwd", "c"):
        with pytest.raises(BackupStoreError):
            store.manifest(location)
        assert not store.exists(location)
    # a manifest naming an object outside the store is refused before anything is read
    src = _volume(tmp_path / "v", CHUNK, {0: b"x"})
    store.backup(src, store.location("c", "b"))
    path = store.root / "c/backup-b/manifest.json"
    body = json.loads(path.read_bytes())
    body["chunks"][0]["object"] = "../../../etc/passwd"
    path.write_text(json.dumps(body))
    with pytest.raises(BackupStoreError, match="invalid object path"):
        store.manifest("c/backup-b")


def test_an_aborted_backup_leaves_nothing(store, tmp_path):
    src = _volume(tmp_path / "v", 4 * CHUNK, {i * CHUNK: b"x" for i in range(4)})

    def stop(count: int) -> None:
        if count == 2:
            raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError):
        store.backup(src, store.location("c", "b"), progress=stop)
    assert not (store.root / "c/backup-b").exists()
    store.delete("c/backup-b")  # already gone is fine
