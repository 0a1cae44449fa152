"""Several image stores through the unmodified `openstack` CLI (python-openstackclient 10.5.0)
against a running cloud with three stores, one of them failing (the test-only fault):
`image store list`, `image import --store/--all-stores/--allow-failure/--disallow-failure`,
`image import --method copy-image` and `image delete --store`. OSC 10.5.0 has no
`image create --store` (its `--store` is a dead v1 option): uploads to a chosen store are
covered through the API in tests/test_images_stores.py."""
from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningCloud, osc_runner, start_cloud

pytestmark = [pytest.mark.osc]

OPTIONS = {"image": {
    "enabled_backends": "central:file, edge1:file, edge2:file",
    "store_descriptions": "central: Hub site; edge1: Edge site 1; edge2: Edge site 2",
    "failing_stores": "edge2",
    "enabled_import_methods": "glance-direct,web-download,copy-image"}}


@pytest.fixture(scope="module")
def stores_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    cloud = start_cloud(tmp_path_factory.mktemp("stores-osc"), OPTIONS)
    try:
        yield cloud
    finally:
        cloud.minicloud("down", check=False)


@pytest.fixture(scope="module")
def osc(stores_cloud: RunningCloud) -> Callable[..., object]:
    return osc_runner(stores_cloud.os_env())


def _wait(osc, image_id: str, until: Callable[[dict], bool]) -> dict:
    for _ in range(150):
        shown = osc("image", "show", image_id, as_json=True)
        props = shown.get("properties") or {}
        if until({**shown, **props}):
            return {**shown, **props}
        time.sleep(0.2)
    raise AssertionError(f"image {image_id} did not get there: {shown}")


def _staged(osc, cloud: RunningCloud, path: Path, name: str) -> str:
    # `openstack image create` without --file uploads its stdin (empty here): the queued
    # image is made over the API, the CLI stages and imports it.
    token = osc("token", "issue", as_json=True)["id"]
    req = urllib.request.Request(
        f"http://127.0.0.1:{cloud.ports['image']}/v2/images", method="POST",
        data=json.dumps({"name": name, "disk_format": "raw",
                         "container_format": "bare"}).encode(),
        headers={"X-Auth-Token": token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        image_id = json.loads(resp.read())["id"]
    osc("image", "stage", "--file", str(path), image_id)
    return image_id


def test_store_list(osc):
    listed = osc("image", "store", "list", as_json=True)
    assert [(s["ID"], s["Description"], s["Default"]) for s in listed] == [
        ("central", "Hub site", True), ("edge1", "Edge site 1", None),
        ("edge2", "Edge site 2", None)]
    detail = osc("image", "store", "list", "--detail", as_json=True)
    assert detail[0]["Properties"]["data_dir"].endswith("images/stores/central")


def test_import_to_stores_allow_and_disallow_failure(osc, stores_cloud, tmp_path):
    src = tmp_path / "d.raw"
    src.write_bytes(os.urandom(40_000))
    one = _staged(osc, stores_cloud, src, "to-edge1")
    osc("image", "import", one, "--method", "glance-direct", "--store", "edge1")
    shown = _wait(osc, one, lambda i: i["status"] == "active")
    assert shown["stores"] == "edge1"
    # the CLI's default is --allow-failure: edge2 fails, the others have the data
    two = _staged(osc, stores_cloud, src, "all-allow")
    osc("image", "import", two, "--method", "glance-direct", "--all-stores")
    shown = _wait(osc, two, lambda i: i["status"] == "active"
                  and i.get("os_glance_importing_to_stores") == "")
    assert shown["stores"] == "central,edge1"
    assert shown["os_glance_failed_import"] == "edge2"
    three = _staged(osc, stores_cloud, src, "all-disallow")
    osc("image", "import", three, "--method", "glance-direct", "--all-stores",
        "--disallow-failure")
    shown = _wait(osc, three, lambda i: i["status"] == "queued"
                  and i.get("os_glance_failed_import") == "edge2")
    assert "stores" not in shown
    dl = tmp_path / "out"
    osc("image", "save", "--file", str(dl), two)
    assert dl.read_bytes() == src.read_bytes()


def test_copy_image_and_delete_from_store(osc, tmp_path):
    src = tmp_path / "c.raw"
    src.write_bytes(os.urandom(50_000))
    image = osc("image", "create", "--disk-format", "raw", "--container-format", "bare",
                "--file", str(src), "copy-me", as_json=True)
    assert image["status"] == "active"
    osc("image", "import", image["id"], "--method", "copy-image", "--store", "edge1")
    shown = _wait(osc, image["id"], lambda i: i.get("stores") == "central,edge1"
                  and not i.get("os_glance_importing_to_stores"))
    assert shown["status"] == "active"
    osc("image", "delete", "--store", "central", image["id"])
    assert _wait(osc, image["id"], lambda i: True)["stores"] == "edge1"
    dl = tmp_path / "out"
    osc("image", "save", "--file", str(dl), image["id"])
    assert dl.read_bytes() == src.read_bytes()
    last = osc("image", "delete", "--store", "edge1", image["id"], check=False)
    assert last.returncode != 0
    assert _wait(osc, image["id"], lambda i: True)["stores"] == "edge1"
