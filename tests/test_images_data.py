"""Image data through HTTP: upload, download, Range, chunked and 0-byte uploads, the size cap,
and what a failed upload leaves behind (nothing, and a queued image)."""
from __future__ import annotations

import errno
import hashlib
import io
import uuid

import pytest

from images.store import MemoryStore
from tests.images_fixtures import *  # noqa: F403 - the fixtures
from tests.images_fixtures import err

DATA = bytes(range(250)) * 4000  # 1,000,000 bytes, deterministic, raw to the inspector


class Chunked(io.RawIOBase):
    """A request body read in pieces, as gunicorn hands over a decoded chunked body."""

    def __init__(self, parts: list[bytes], fail_after: int | None = None) -> None:
        self.parts, self.fail_after, self.reads = list(parts), fail_after, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        self.reads += 1
        if self.fail_after is not None and self.reads > self.fail_after:
            raise OSError("connection reset by peer")
        if not self.parts:
            return 0
        part = self.parts.pop(0)
        n = min(len(buf), len(part))
        buf[:n] = part[:n]
        if n < len(part):
            self.parts.insert(0, part[n:])
        return n


def put_chunked(user, image_id: str, body: Chunked, path: str = "file"):
    """A PUT without Content-Length, the body decoded by the server (wsgi.input_terminated)."""
    return user.put(f"/v2/images/{image_id}/{path}",
                    headers={"Content-Type": "application/octet-stream",
                             "Transfer-Encoding": "chunked"},
                    environ_overrides={"wsgi.input": io.BufferedReader(body),
                                       "wsgi.input_terminated": True})


def queued(user, **body) -> dict:
    return user.create(disk_format="raw", container_format="bare", **body)


def test_upload_then_download_with_verified_hashes(images_env):
    env = images_env
    img = queued(env.alice)
    resp = env.alice.upload(img["id"], DATA, headers={"Accept": "",
                                                      "X-OpenStack-Image-Size": str(len(DATA))})
    assert resp.status_code == 204 and resp.data == b""
    shown = env.alice.show(img["id"])
    assert shown["status"] == "active" and shown["size"] == len(DATA)
    assert shown["virtual_size"] == len(DATA)
    assert shown["checksum"] == hashlib.md5(DATA).hexdigest()
    assert shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert shown["stores"] == "file"
    got = env.alice.get(f"/v2/images/{img['id']}/file")
    assert got.status_code == 200 and got.data == DATA
    assert got.headers["Content-Type"] == "application/octet-stream"
    assert got.headers["Content-Length"] == str(len(DATA))
    assert got.headers["Content-MD5"] == hashlib.md5(DATA).hexdigest()
    assert (env.store_dir / img["id"]).read_bytes() == DATA
    assert env.stored_files() == [img["id"]]


@pytest.mark.parametrize(("header", "start", "stop"), [
    ("bytes=0-9", 0, 10), ("bytes=10-19", 10, 20), ("bytes=999990-", 999990, 1000000),
    ("bytes=-5", 999995, 1000000), ("bytes=999999-2000000", 999999, 1000000),
])
def test_range_requests(images_env, header, start, stop):
    env = images_env
    img = queued(env.alice)
    env.alice.upload(img["id"], DATA)
    resp = env.alice.get(f"/v2/images/{img['id']}/file", headers={"Range": header})
    assert resp.status_code == 206
    assert resp.data == DATA[start:stop]
    assert resp.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{len(DATA)}"
    assert resp.headers["Content-Length"] == str(stop - start)


def test_range_edge_cases(images_env):
    env = images_env
    img = queued(env.alice)
    env.alice.upload(img["id"], DATA)
    url = f"/v2/images/{img['id']}/file"
    resp = env.alice.get(url, headers={"Range": "bytes=2000000-"})
    err(resp, 416, "outside the image data")
    assert resp.headers["Content-Range"] == f"bytes */{len(DATA)}"
    for ignored in ("bytes=0-1,5-6", "bytes=9-3", "items=0-1", "garbage"):
        resp = env.alice.get(url, headers={"Range": ignored})
        assert resp.status_code == 200 and resp.data == DATA, ignored


@pytest.mark.timeout(30)
def test_chunked_upload_without_content_length(images_env):
    env = images_env
    img = queued(env.alice)
    parts = [DATA[i:i + 65536] for i in range(0, len(DATA), 65536)]
    resp = put_chunked(env.alice, img["id"], Chunked(parts))
    assert resp.status_code == 204, resp.json
    shown = env.alice.show(img["id"])
    assert shown["size"] == len(DATA)
    assert shown["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert env.alice.get(f"/v2/images/{img['id']}/file").data == DATA


@pytest.mark.parametrize("chunked", [False, True])
def test_zero_byte_upload_becomes_active(images_env, chunked):
    env = images_env
    img = env.alice.create(name="empty", disk_format="qcow2", container_format="bare")
    if chunked:
        resp = put_chunked(env.alice, img["id"], Chunked([]))
    else:
        resp = env.alice.upload(img["id"], b"", headers={"X-OpenStack-Image-Size": "0"})
    assert resp.status_code == 204, resp.json
    shown = env.alice.show(img["id"])
    assert shown["status"] == "active" and shown["size"] == 0
    assert shown["checksum"] == hashlib.md5(b"").hexdigest()
    got = env.alice.get(f"/v2/images/{img['id']}/file")
    assert got.status_code == 200 and got.data == b""


def test_download_without_data_is_204(images_env):
    img = queued(images_env.alice)
    resp = images_env.alice.get(f"/v2/images/{img['id']}/file")
    assert resp.status_code == 204 and resp.data == b""


def test_upload_needs_a_queued_image_with_formats(images_env):
    env = images_env
    img = queued(env.alice)
    env.alice.upload(img["id"], DATA)
    err(env.alice.upload(img["id"], DATA), 409, "queued image")
    bare = env.alice.create(name="no-formats")
    err(env.alice.upload(bare["id"], DATA), 400, "disk_format and container_format")
    assert env.alice.show(bare["id"])["status"] == "queued"
    err(env.alice.upload(str(uuid.uuid4()), DATA), 404, "No image found")
    other = queued(env.alice)
    err(env.alice.put(f"/v2/images/{other['id']}/file", data=DATA,
                      headers={"Content-Type": "application/json"}), 415, "octet-stream")
    err(env.bob.upload(other["id"], DATA), 404, "No image found")
    assert env.stored_files() == [img["id"]]


@pytest.mark.timeout(30)
def test_max_image_size(make_images_env):
    env = make_images_env(**{"image.max_image_size": "100K", "image.chunk_size": "8K"})
    img = queued(env.alice)
    big = DATA[:200_000]
    err(env.alice.upload(img["id"], big), 413, "maximum image size of 102400")
    assert env.alice.show(img["id"])["status"] == "queued"
    assert env.stored_files() == []
    # no Content-Length: the cap is enforced as the body streams
    body = Chunked([big[i:i + 8192] for i in range(0, len(big), 8192)])
    err(put_chunked(env.alice, img["id"], body), 413, "maximum image size")
    assert body.parts, "the body was read beyond the cap"
    assert env.alice.show(img["id"])["status"] == "queued" and env.stored_files() == []
    err(env.alice.upload(img["id"], b"x", headers={"X-OpenStack-Image-Size": "999999"}), 413,
        "maximum image size")
    ok = env.alice.upload(img["id"], DATA[:102400])
    assert ok.status_code == 204 and env.alice.show(img["id"])["size"] == 102400


@pytest.mark.timeout(30)
def test_interrupted_upload_leaves_nothing(images_env):
    env = images_env
    img = queued(env.alice)
    # the body ends before its Content-Length: the client went away
    resp = env.alice.put(f"/v2/images/{img['id']}/file", input_stream=io.BytesIO(DATA),
                         headers={"Content-Type": "application/octet-stream",
                                  "Content-Length": str(len(DATA) + 10)},
                         environ_overrides={"CONTENT_LENGTH": str(len(DATA) + 10)})
    err(resp, 400, "interrupted")
    assert env.alice.show(img["id"])["status"] == "queued"
    assert env.stored_files() == []
    # a chunked body whose connection breaks
    err(put_chunked(env.alice, img["id"], Chunked([DATA[:5000]] * 5, fail_after=3)), 400,
        "interrupted")
    assert env.alice.show(img["id"])["status"] == "queued" and env.stored_files() == []
    assert env.alice.upload(img["id"], DATA).status_code == 204  # a retry works


def test_delete_during_upload_discards_the_data(images_env):
    env = images_env
    img = queued(env.alice)
    ctx = env.app.extensions["minicloud"].tokens.validate(env.alice.token)
    images = env.app.extensions["images"].images

    class DeletingBody(Chunked):
        def readinto(self, buf) -> int:
            if self.reads == 2:
                images.delete(ctx, img["id"])
            return super().readinto(buf)

    body = DeletingBody([DATA[i:i + 100_000] for i in range(0, len(DATA), 100_000)])
    err(put_chunked(env.alice, img["id"], body), 409, "deleted or changed during the upload")
    err(env.alice.get(f"/v2/images/{img['id']}"), 404, "No image found")
    assert env.stored_files() == []


class BrokenStore(MemoryStore):
    """A store whose disk fills up, and whose cleanup may fail too."""

    def __init__(self, error: int, cleanup_fails: bool) -> None:
        super().__init__()
        self.error, self.cleanup_fails = error, cleanup_fails

    def add(self, image_id, chunks):
        next(iter(chunks))
        raise OSError(self.error, "store failure")

    def delete(self, image_id):
        if self.cleanup_fails:
            raise OSError(errno.EIO, "cannot remove")
        super().delete(image_id)


def test_store_full_requeues(make_images_env):
    env = make_images_env(store=BrokenStore(errno.ENOSPC, cleanup_fails=False))
    img = queued(env.alice)
    err(env.alice.upload(img["id"], DATA), 413, "storage media is full")
    assert env.alice.show(img["id"])["status"] == "queued"


def test_failed_cleanup_kills_the_image(make_images_env):
    env = make_images_env(store=BrokenStore(errno.EIO, cleanup_fails=True))
    img = queued(env.alice)
    resp = env.alice.upload(img["id"], DATA)
    err(resp, 500, "unexpected error")
    assert "store failure" not in resp.get_data(as_text=True)
    assert env.alice.show(img["id"])["status"] == "killed"
    err(env.alice.upload(img["id"], DATA), 409, "queued image")


def test_memory_store_serves_the_same_api(make_images_env):
    store = MemoryStore()
    env = make_images_env(store=store)
    img = queued(env.alice)
    assert env.alice.upload(img["id"], DATA).status_code == 204
    assert store.data[img["id"]] == DATA and env.stored_files() == []
    assert env.alice.get(f"/v2/images/{img['id']}/file").data == DATA
    env.alice.delete(f"/v2/images/{img['id']}")
    assert store.data == {}
