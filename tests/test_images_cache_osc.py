"""The unmodified `openstack cached image list|queue|delete|clear` (python-openstackclient
10.5.0) against a cloud of this module's own with the image cache on (services under
gunicorn, no host daemons): a download cached through, a queued image pre-cached by the
periodic prefetcher of the gunicorn worker, deletes and clears; a member is refused."""
from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from tests.conftest import RunningCloud, osc_runner, start_cloud

pytestmark = [pytest.mark.osc]


@pytest.fixture(scope="module")
def cache_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    cloud = start_cloud(tmp_path_factory.mktemp("cache-osc"), {
        "image": {"cache_enabled": "true", "cache_prefetcher_interval": 1}})
    try:
        yield cloud
    finally:
        cloud.minicloud("down", check=False)


def _listed(osc) -> dict[str, dict]:
    return {row["ID"]: row for row in osc("cached", "image", "list", as_json=True)}


def _wait(osc, image_id: str, state: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = _listed(osc).get(image_id)
        if row is not None and row["State"] == state:
            return row
        time.sleep(0.3)
    raise AssertionError(f"{image_id} not {state}: {_listed(osc)}")


def test_cached_image_commands(cache_cloud, tmp_path):
    osc = osc_runner(cache_cloud.os_env())
    data = os.urandom(300_000)
    src = tmp_path / "d.raw"
    src.write_bytes(data)
    ids = []
    for name in ("cache-a", "cache-b"):
        image = osc("image", "create", "--disk-format", "raw", "--container-format", "bare",
                    "--file", str(src), name, as_json=True)
        ids.append(image["id"])
    a, b = ids
    # a download caches image a
    out = tmp_path / "out.raw"
    osc("image", "save", "--file", str(out), a)
    assert out.read_bytes() == data
    row = _wait(osc, a, "cached")
    assert row["Size"] == len(data) and row["Hits"] == 0
    osc("image", "save", "--file", str(out), a)
    assert out.read_bytes() == data and _listed(osc)[a]["Hits"] == 1
    # image b queued by name, then cached by the prefetcher
    osc("cached", "image", "queue", "cache-b")
    row = _wait(osc, b, "cached")
    assert row["Last Modified (UTC)"] and row["Size"] == len(data)
    osc("cached", "image", "delete", a)
    assert set(_listed(osc)) == {b}
    osc("cached", "image", "clear", "--cache")
    assert _listed(osc) == {}
    failed = osc("cached", "image", "queue", "no-such-image", check=False)
    assert failed.returncode != 0


def test_a_member_cannot_list_the_cache(cache_cloud):
    admin = osc_runner(cache_cloud.os_env())
    project = admin("project", "create", "cache-demo", as_json=True)
    admin("user", "create", "--project", project["id"], "--password", "pw-cache",
          "cache-user", as_json=True)
    admin("role", "add", "--project", "cache-demo", "--user", "cache-user", "member")
    env = {**cache_cloud.os_env(), "OS_USERNAME": "cache-user", "OS_PASSWORD": "pw-cache",
           "OS_PROJECT_NAME": "cache-demo"}
    member = osc_runner(env)
    proc = member("cached", "image", "list", check=False)
    assert proc.returncode != 0
    assert "Policy doesn't allow cache_list to be performed" in proc.stderr
