"""The image cache on the image API (``[image] cache_enabled``): downloads cached through,
verified before they become entries, served identically from the cache, evicted with their
image, pruned to the size limit (LRU); Glance's admin cache API and the prefetcher."""
from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from images.cache import Expected, ImageCache
from images.cache_service import CacheService, Prefetcher
from images.store import MemoryStore
from tests.images_fixtures import *  # noqa: F403 - the fixtures
from tests.images_fixtures import Env, err

SIZE = 64 * 1024
CACHE_ON = {"image.cache_enabled": True, "image.cache_prefetcher_interval": 0,
            "image.chunk_size": 4096}


def _data(seed: int, size: int = SIZE) -> bytes:
    return hashlib.sha512(str(seed).encode()).digest() * (size // 64)


@pytest.fixture
def env(make_images_env) -> Env:
    return make_images_env(**CACHE_ON)


def _cache_dir(env: Env) -> Path:
    return env.state_dir / "image-cache"


def _entries(env: Env) -> dict[str, bytes]:
    root = _cache_dir(env)
    return {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()
            and len(p.name) == 36}


def _image(env: Env, data: bytes, name: str = "img") -> str:
    image = env.alice.create(name=name, disk_format="raw", container_format="bare")
    assert env.alice.upload(image["id"], data).status_code == 204
    return image["id"]


def _read(user, image_id: str) -> bytes:
    """A whole download, read to its end (the test client streams lazily)."""
    resp = user.get(f"/v2/images/{image_id}/file")
    assert resp.status_code == 200, resp.status_code
    return resp.data


def _listed(env: Env) -> dict:
    resp = env.admin.get("/v2/cache")
    assert resp.status_code == 200, resp.json
    return resp.json


def test_a_download_leaves_a_verified_copy_and_the_next_comes_from_it(make_images_env):
    store = MemoryStore()
    env = make_images_env(store=store, **CACHE_ON)
    data = _data(1)
    image_id = _image(env, data)
    assert _cache_dir(env).stat().st_mode & 0o777 == 0o700
    first = env.alice.get(f"/v2/images/{image_id}/file")
    assert first.status_code == 200 and first.data == data
    assert _entries(env) == {image_id: data}
    [row] = _listed(env)["cached_images"]
    assert row["image_id"] == image_id and row["size"] == SIZE
    assert (row["hits"], row["misses"]) == (0, 1)
    assert isinstance(row["last_modified"], float)
    # Change the store's bytes behind the catalog's back: the next download is the cache's.
    store.data[image_id] = b"x" * SIZE
    second = env.alice.get(f"/v2/images/{image_id}/file")
    assert second.data == data
    def same(resp) -> dict:
        return {k: v for k, v in resp.headers.items() if k != "x-openstack-request-id"}

    assert same(second) == same(first)
    assert second.headers["Content-MD5"] == hashlib.md5(data).hexdigest()
    [row] = _listed(env)["cached_images"]
    assert row["hits"] == 1 and row["last_accessed"] >= row["last_modified"]


def test_ranges_from_the_cache_are_the_stores(env):
    data = _data(2)
    image_id = _image(env, data)
    url = f"/v2/images/{image_id}/file"
    before = env.alice.get(url, headers={"Range": "bytes=100-4999"})
    assert before.status_code == 206
    assert _entries(env) == {}, "a partial download is not cached"
    assert env.alice.get(url).data == data
    after = env.alice.get(url, headers={"Range": "bytes=100-4999"})
    assert (after.status_code, after.data) == (206, data[100:5000])
    assert after.headers["Content-Range"] == before.headers["Content-Range"]
    outside = env.alice.get(url, headers={"Range": f"bytes={SIZE + 5}-"})
    assert outside.status_code == 416
    assert _listed(env)["cached_images"][0]["hits"] == 1


@pytest.mark.parametrize("damage", ["flipped", "short", "long"])
def test_a_corrupted_stream_never_becomes_an_entry(make_images_env, damage):
    store = MemoryStore()
    env = make_images_env(store=store, **CACHE_ON)
    data = _data(3)
    image_id = _image(env, data)
    bad = {"flipped": b"\x00" + data[1:], "short": data[:-10],
           "long": data + b"extra"}[damage]
    store.data[image_id] = bad
    # The download is what the store has (as without a cache); the cache keeps nothing.
    resp = env.alice.get(f"/v2/images/{image_id}/file")
    assert resp.data[:SIZE - 10] == bad[:SIZE - 10]
    assert _entries(env) == {}
    assert list((_cache_dir(env) / "incomplete").iterdir()) == []
    store.data[image_id] = data
    _read(env.alice, image_id)
    assert _entries(env) == {image_id: data}


def test_an_abandoned_download_leaves_nothing(env):
    image_id = _image(env, _data(4))
    resp = env.alice.get(f"/v2/images/{image_id}/file", buffered=False)
    next(iter(resp.response))
    resp.close()
    assert _entries(env) == {}
    assert list((_cache_dir(env) / "incomplete").iterdir()) == []


def test_deleted_and_deactivated_images_leave_the_cache_at_once(env):
    gone, off = _image(env, _data(5), "gone"), _image(env, _data(6), "off")
    for image_id in (gone, off):
        _read(env.alice, image_id)
    assert set(_entries(env)) == {gone, off}
    assert env.alice.delete(f"/v2/images/{gone}").status_code == 204
    assert set(_entries(env)) == {off}
    assert env.alice.post(f"/v2/images/{off}/actions/deactivate").status_code == 204
    assert _entries(env) == {}
    # an admin may still download a deactivated image: from the store, not cached again
    assert env.admin.get(f"/v2/images/{off}/file").data == _data(6)
    assert _entries(env) == {} and _listed(env)["cached_images"] == []


def test_an_image_deleted_while_it_is_cached_is_not_kept(env):
    image_id = _image(env, _data(7))
    resp = env.alice.get(f"/v2/images/{image_id}/file", buffered=False)
    chunks = iter(resp.response)
    first = next(chunks)
    assert env.alice.delete(f"/v2/images/{image_id}").status_code == 204
    assert len(first + b"".join(chunks)) == SIZE  # the download that began goes on
    resp.close()
    assert _entries(env) == {}


def test_the_pruner_keeps_the_limit_under_a_stream_of_downloads(make_images_env):
    limit = 3 * SIZE + SIZE // 2
    env = make_images_env(**{**CACHE_ON, "image.image_cache_max_size": limit})
    ids = [_image(env, _data(10 + n), f"i{n}") for n in range(6)]
    big = _image(env, _data(99, 4 * SIZE), "big")
    order = [0, 1, 2, 0, 3, 0, 4, 5, 1, 0, 2, 3, 4, 5, 0]
    recent: list[str] = []
    for n in order:
        image_id = ids[n]
        assert env.alice.get(f"/v2/images/{image_id}/file").data == _data(10 + n)
        recent = [image_id, *[i for i in recent if i != image_id]]
        cached = _entries(env)
        assert sum(len(v) for v in cached.values()) <= limit
        # least recently used out first: what is cached is the most recently used
        assert set(cached) == set(recent[:3])
        assert env.alice.get(f"/v2/images/{big}/file").data == _data(99, 4 * SIZE)
        assert big not in _entries(env), "larger than the cache: never cached"
    assert _read(env.alice, ids[0]) == _data(10)  # the last one cached: a hit
    stats = {r["image_id"]: r for r in _listed(env)["cached_images"]}
    assert stats[ids[0]]["hits"] == 1 and stats[ids[0]]["misses"] == 3


def test_parallel_downloads_make_one_entry(env):
    data = _data(8)
    image_id = _image(env, data)
    results: list[bytes] = []

    def download() -> None:
        results.append(env.alice.get(f"/v2/images/{image_id}/file").data)

    threads = [threading.Thread(target=download) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [data] * 4
    assert _entries(env) == {image_id: data}


# -- the cache API ------------------------------------------------------------------------
def test_cache_api_queue_list_delete_clear(env):
    active, other = _image(env, _data(20), "a"), _image(env, _data(21), "b")
    queued = env.alice.create(name="q", disk_format="raw", container_format="bare")
    assert _listed(env) == {"cached_images": [], "queued_images": []}
    err(env.admin.put("/v2/cache/non-existing-image-id"), 404, "no image")
    err(env.admin.put(f"/v2/cache/{queued['id']}"), 400, "status active")
    assert env.admin.put(f"/v2/cache/{active}").status_code == 202
    assert env.admin.put(f"/v2/cache/{active}").status_code == 202  # idempotent
    assert _listed(env)["queued_images"] == [active]
    api = env.app.extensions["images"]
    assert api.cache.prefetch() == [active]
    listed = _listed(env)
    assert listed["queued_images"] == [] and [r["image_id"] for r in
                                              listed["cached_images"]] == [active]
    assert _entries(env) == {active: _data(20)}
    # delete one entry; an image in neither cache nor queue is still a 204
    assert env.admin.delete(f"/v2/cache/{active}").status_code == 204
    assert env.admin.delete(f"/v2/cache/{active}").status_code == 204
    err(env.admin.delete("/v2/cache/00000000-0000-4000-8000-000000000000"), 404, "no image")
    # clear, by target
    _read(env.alice, active)
    assert env.admin.put(f"/v2/cache/{other}").status_code == 202
    err(env.admin.delete("/v2/cache", headers={"x-image-cache-clear-target": "invalid"}),
        400, "x-image-cache-clear-target")
    clear = {"x-image-cache-clear-target": "queue"}
    assert env.admin.delete("/v2/cache", headers=clear).status_code == 204
    assert _listed(env)["queued_images"] == [] and _entries(env) == {active: _data(20)}
    assert env.admin.put(f"/v2/cache/{other}").status_code == 202
    clear = {"x-image-cache-clear-target": "cache"}
    assert env.admin.delete("/v2/cache", headers=clear).status_code == 204
    assert _listed(env) == {"cached_images": [], "queued_images": [other]}
    _read(env.alice, active)
    assert env.admin.delete("/v2/cache").status_code == 204
    assert _listed(env) == {"cached_images": [], "queued_images": []}


def test_cache_api_is_for_admins_only(env):
    image_id = _image(env, _data(22))
    _read(env.alice, image_id)
    for user in (env.alice, env.reader, env.bob):
        err(user.get("/v2/cache"), 403, "cache_list")
        err(user.put(f"/v2/cache/{image_id}"), 403, "cache_image")
        err(user.put("/v2/cache/00000000-0000-4000-8000-000000000000"), 403, "cache_image")
        err(user.delete(f"/v2/cache/{image_id}"), 403, "cache_delete")
        err(user.delete("/v2/cache"), 403, "cache_delete")
    assert _entries(env) == {image_id: _data(22)} and _listed(env)["queued_images"] == []


def test_prefetcher_drops_what_cannot_be_cached(env):
    image_id = _image(env, _data(23))
    doomed = _image(env, _data(24), "doomed")
    for i in (image_id, doomed):
        assert env.admin.put(f"/v2/cache/{i}").status_code == 202
    assert env.alice.delete(f"/v2/images/{doomed}").status_code == 204
    assert _listed(env)["queued_images"] == [image_id]  # a deleted image leaves the queue
    assert env.admin.put(f"/v2/cache/{image_id}").status_code == 202
    assert env.alice.post(f"/v2/images/{image_id}/actions/deactivate").status_code == 204
    api = env.app.extensions["images"]
    assert api.cache.prefetch() == [] and _listed(env)["queued_images"] == []


def test_the_periodic_prefetcher_fills_the_cache(make_images_env):
    env = make_images_env(**{**CACHE_ON, "image.cache_prefetcher_interval": 1})
    image_id = _image(env, _data(25))
    assert env.admin.put(f"/v2/cache/{image_id}").status_code == 202  # starts the thread
    prefetcher = env.app.extensions["images"].prefetcher
    try:
        deadline = time.monotonic() + 15
        while image_id not in _entries(env) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _entries(env) == {image_id: _data(25)}
        assert _listed(env)["queued_images"] == []
    finally:
        prefetcher.stop()


def _wait_for(predicate, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def test_one_prefetcher_per_node_and_the_next_takes_over(env):
    """Two API workers' prefetchers on one cache directory (two CacheService/ImageCache
    instances, as two processes have: each opens its own lock): only one runs rounds; once
    it stops (its worker died), the other takes the lock at its next try and runs them."""
    api = env.app.extensions["images"]
    rounds: list[str] = []
    prefetchers = {}
    for name in ("first", "second"):
        service = CacheService(api.cache.deps, ImageCache(
            _cache_dir(env), api.cache.cache.max_size, api.cache.cache.stall_time))
        service.periodic = lambda name=name: rounds.append(name)  # type: ignore[method-assign]
        prefetchers[name] = Prefetcher(service, 0.02)
    first, second = prefetchers["first"], prefetchers["second"]
    try:
        first.ensure_started()
        assert _wait_for(lambda: first.leading and rounds.count("first") >= 3)
        second.ensure_started()
        seen = len(rounds)
        assert _wait_for(lambda: rounds.count("first") >= seen + 5)
        assert "second" not in rounds and not second.leading
        assert (_cache_dir(env) / "prefetcher.lock").stat().st_mode & 0o077 == 0
        first.stop()
        assert not first.leading
        assert _wait_for(lambda: second.leading and rounds.count("second") >= 3)
        stopped = rounds.count("first")
        time.sleep(0.1)
        assert rounds.count("first") == stopped
    finally:
        first.stop()
        second.stop()


def test_cache_off_serves_no_cache_api_and_lists_no_cache_versions(make_images_env, env):
    off = make_images_env()
    err(off.admin.get("/v2/cache"), 404, "")
    image_id = _image(off, _data(26))
    _read(off.alice, image_id)
    assert not (off.state_dir / "image-cache").exists()
    ids = [v["id"] for v in off.anonymous.get("/versions").json["versions"]]
    assert "v2.14" not in ids and "v2.16" not in ids
    ids = [v["id"] for v in env.anonymous.get("/versions").json["versions"]]
    assert ids[:3] == ["v2.16", "v2.15", "v2.14"] and "v2.17" in ids


# -- the cache directory on its own -------------------------------------------------------
def test_stalled_incomplete_files_go_and_block_nothing_before(tmp_path):
    now = [1_000_000.0]
    cache = ImageCache(tmp_path / "c", 10 * SIZE, stall_time=60, clock=lambda: now[0])
    data = _data(30)
    exp = Expected.of("11111111-2222-4333-8444-555555555555", SIZE, "sha512",
                      hashlib.sha512(data).hexdigest(), None)
    assert exp is not None
    first = cache.writer(exp)
    assert first is not None and cache.writer(exp) is None  # one writer per image
    os.utime(first.path, (now[0] - 30, now[0] - 30))
    assert cache.clean() == []
    os.utime(first.path, (now[0] - 61, now[0] - 61))
    assert cache.clean() == [exp.image_id]
    second = cache.writer(exp)
    assert second is not None
    first.write(data)
    assert not first.finish(), "its file was removed: it must not commit someone else's"
    second.write(data)
    assert second.finish() and cache.is_cached(exp.image_id)


def test_nothing_to_verify_against_is_never_cached():
    assert Expected.of("11111111-2222-4333-8444-555555555555", 10, None, None, None) is None
    assert Expected.of("../etc/passwd", 10, "sha512", "ab", None) is None
    md5 = Expected.of("11111111-2222-4333-8444-555555555555", 10, None, None, "AB")
    assert md5 is not None and (md5.algo, md5.digest) == ("md5", "ab")


def test_tempest_image_caching_cycle(env):
    """Tempest's ImageCachingTest.test_image_caching_cycle, step by step, with the statuses
    its ImageCacheClient expects (200 list, 202 queue, 204 deletes)."""
    err(env.alice.get("/v2/cache"), 403, "cache_list")            # primary: Forbidden
    assert env.admin.get("/v2/cache").status_code == 200
    err(env.admin.put("/v2/cache/non-existing-image-id"), 404, "")
    queued = env.alice.create(name="queued")
    err(env.admin.put(f"/v2/cache/{queued['id']}"), 400, "")
    first = env.alice.create(name="first", container_format="bare", disk_format="raw",
                             visibility="private")
    assert env.alice.upload(first["id"], os.urandom(1024)).status_code == 204
    assert env.alice.show(first["id"])["status"] == "active"
    assert env.admin.put(f"/v2/cache/{first['id']}", data=b"").status_code == 202
    env.app.extensions["images"].cache.periodic()                 # the prefetcher's round
    cached = [i["image_id"] for i in env.admin.get("/v2/cache").json["cached_images"]]
    assert first["id"] in cached
    assert env.admin.delete("/v2/cache").status_code == 204
    assert env.admin.get("/v2/cache").json == {"cached_images": [], "queued_images": []}
    resp = env.admin.delete("/v2/cache", headers={"x-image-cache-clear-target": "invalid"})
    err(resp, 400, "")


def test_the_cache_keeps_its_files_private(env):
    image_id = _image(env, _data(40))
    assert _read(env.alice, image_id) == _data(40)
    queued = _image(env, _data(41), "queued")
    assert env.admin.put(f"/v2/cache/{queued}").status_code == 202
    root = _cache_dir(env)
    assert (root / "queue" / queued).exists() and (root / "index.json").exists()
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode & 0o077 == 0, (path, oct(mode))
