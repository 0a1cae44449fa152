"""One contract suite, run against the filesystem store and the in-memory fake."""
from __future__ import annotations

import uuid

import pytest

from images.store import FilesystemStore, MemoryStore
from minicloud.errors import NotFound


@pytest.fixture(params=["filesystem", "memory"])
def store(request, tmp_path):
    if request.param == "filesystem":
        return FilesystemStore(tmp_path / "images", chunk_size=4096)
    return MemoryStore(chunk_size=4096)


def _id() -> str:
    return str(uuid.uuid4())


def test_add_get_size_delete(store):
    image_id, data = _id(), bytes(range(256)) * 100
    assert store.add(image_id, iter([data[:1000], data[1000:]])) == len(data)
    assert store.size(image_id) == len(data)
    assert b"".join(store.get(image_id)) == data
    assert b"".join(store.get(image_id, 10, 20)) == data[10:30]
    assert b"".join(store.get(image_id, len(data) - 5)) == data[-5:]
    assert all(len(c) <= 4096 for c in store.get(image_id))
    store.delete(image_id)
    assert store.size(image_id) is None
    store.delete(image_id)  # already gone is fine
    with pytest.raises(NotFound):
        store.get(image_id)


def test_zero_bytes(store):
    image_id = _id()
    assert store.add(image_id, iter([])) == 0
    assert store.size(image_id) == 0 and b"".join(store.get(image_id)) == b""


def test_failing_iterable_stores_nothing(store):
    image_id = _id()
    store.add(image_id, [b"old"])

    def chunks():
        yield b"new data"
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        store.add(image_id, chunks())
    assert b"".join(store.get(image_id)) == b"old"  # the previous data is untouched
    other = _id()
    with pytest.raises(ValueError):
        store.add(other, chunks())
    assert store.size(other) is None


def test_ids_must_be_uuids(store):
    for bad in ("../etc/passwd", "x", "", "/abs"):
        with pytest.raises(ValueError):
            store.add(bad, [b"x"])


def test_filesystem_leaves_no_temp_files(tmp_path):
    store = FilesystemStore(tmp_path / "images", chunk_size=4096)
    image_id = _id()

    def chunks():
        yield b"partial"
        raise OSError("disk gone")

    with pytest.raises(OSError):
        store.add(image_id, chunks())
    assert list((tmp_path / "images").iterdir()) == []
    (tmp_path / "images" / f".{image_id}.abc.tmp").write_bytes(b"left by a crash")
    store.cleanup()
    assert list((tmp_path / "images").iterdir()) == []
    assert store.path(image_id) == tmp_path / "images" / image_id
