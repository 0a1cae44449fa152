"""Compute hosts and image stores (issue 11 item 2, seed chapter 2: "prior to creating an
instance at an edge site, you must have a local copy"): a host declares the image store
local to it (``[compute] image_store``); with ``require_local_image`` the scheduler places a
server there only when the image is in that store; the agent's image cache reads that
store's copy first."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import update

from compute import scheduler
from compute.agent import Agent
from compute.driver import FakeDriver
from compute.imagecache import ImageCache
from compute.models import ComputeHost
from minicloud.config import Config
from minicloud.db import new_uuid
from tests.compute_fixtures import *  # noqa: F403
from tests.multihost_fixtures import with_hosts

FLAVOR = {"vcpus": 1, "ram": 512, "disk": 1}


def _edge(env, host: str, store: str, required: bool) -> None:
    with env.db.session() as s:
        s.execute(update(ComputeHost).where(ComputeHost.name == host).values(
            image_store=store, image_store_required=required))


def test_an_edge_host_takes_only_images_in_its_store(compute_env):
    env = compute_env
    with_hosts(env, "edge1-host")
    _edge(env, "edge1-host", "edge1", required=True)
    with env.db.session() as s, pytest.raises(scheduler.NoValidHost,
                                               match="not in its image store edge1"):
        scheduler.claim(s, new_uuid(), FLAVOR, forced_host="edge1-host",
                        image_stores=frozenset({"central"}))
    with env.db.session() as s:
        assert scheduler.claim(s, new_uuid(), FLAVOR, forced_host="edge1-host",
                               image_stores=frozenset({"central", "edge1"})) == "edge1-host"
        # booting from a volume: no image to look for
        assert scheduler.claim(s, new_uuid(), FLAVOR, forced_host="edge1-host",
                               image_stores=None) == "edge1-host"
    _edge(env, "edge1-host", "edge1", required=False)  # declared, not required
    with env.db.session() as s:
        assert scheduler.claim(s, new_uuid(), FLAVOR, forced_host="edge1-host",
                               image_stores=frozenset({"central"})) == "edge1-host"


def test_the_agent_registers_its_store(compute_env):
    env = compute_env
    state = env.conf.state_dir
    conf = Config.load(state, environ={
        "MINICLOUD_COMPUTE_HOST": "edge2-host", "MINICLOUD_COMPUTE_IMAGE_STORE": "edge2",
        "MINICLOUD_COMPUTE_REQUIRE_LOCAL_IMAGE": "true",
        "MINICLOUD_COMPUTE_INSTANCES_PATH": str(state / "instances-edge2")})
    agent = Agent(conf, env.db, FakeDriver(), lambda: env.images)
    agent.register()
    assert agent.cache.local_store == "edge2"
    with env.db.session() as s:
        row = s.get(ComputeHost, "edge2-host")
        assert (row.image_store, row.image_store_required) == ("edge2", True)
        assert s.get(ComputeHost, "node1").image_store is None


class _Images:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def download(self, image_id: str, chunk_size: int = 1 << 20):
        yield self.data


def test_the_cache_reads_the_hosts_own_store_first(tmp_path: Path):
    root = tmp_path / "images"
    image_id = str(uuid.uuid4())
    local, central = b"L" * 8192, b"C" * 8192
    (root / "stores" / "edge1").mkdir(parents=True)
    (root / "stores" / "central").mkdir(parents=True)
    (root / "stores" / "edge1" / image_id).write_bytes(local)
    (root / "stores" / "central" / image_id).write_bytes(central)
    image = {"id": image_id, "disk_format": "raw", "size": 8192, "stores": "central,edge1",
             "direct_url": f"file://{root}/stores/central/{image_id}"}
    cache = ImageCache(tmp_path / "_base", lambda: _Images(b"D" * 8192), root,
                       local_store="edge1")
    assert cache.fetch(image).read_bytes() == local
    other = ImageCache(tmp_path / "_base2", lambda: _Images(b"D" * 8192), root)
    assert other.fetch(image).read_bytes() == central  # no local store: direct_url
    far = ImageCache(tmp_path / "_base3", lambda: _Images(b"D" * 8192), root,
                     local_store="edge2")
    assert far.fetch(image).read_bytes() == central  # its store has no copy
