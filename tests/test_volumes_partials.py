"""What a killed volume agent left staged is removed when the next one starts (issue 12,
nothing lost): every file the file backend stages - a fill, a snapshot, a clone, a revert -
is named ``.<final name>.part`` (``volumes.backends.PARTIAL``), and ``remove_partials``
removes exactly those, never a volume's or a snapshot's own file."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from minicloud import process
from tests.test_volumes_agent import _take, work
from tests.test_volumes_revert import _revert
from tests.volumes_fixtures import *  # noqa: F403
from volumes.backends import PARTIAL, FileBackend
from volumes.models import Volume


def _write(backend: FileBackend, volume_id: str, data: bytes) -> None:
    with open(backend.path(volume_id), "r+b") as fh:
        fh.write(data)


def _read(backend: FileBackend, volume_id: str) -> bytes:
    with open(backend.path(volume_id), "rb") as fh:
        return fh.read(8)


@pytest.fixture
def files(tmp_path: Path) -> FileBackend:
    return FileBackend(tmp_path / "volumes")


def test_a_revert_stages_under_the_partial_name(files, monkeypatch):
    vid, sid = str(uuid.uuid4()), str(uuid.uuid4())
    files.create(vid, 1)
    files.create_snapshot(sid, vid)
    seen: list[list[str]] = []
    run = process.run

    def watching(argv, **kwargs):
        result = run(argv, **kwargs)
        seen.append(sorted(p.name for p in files.root.iterdir()))
        return result

    monkeypatch.setattr(process, "run", watching)
    files.revert_to_snapshot(vid, sid, 1)
    staged = [n for n in seen[-1] if n not in (f"volume-{vid}", f"snapshot-{sid}")]
    assert staged == [PARTIAL.format(f"volume-{vid}")]
    assert sorted(p.name for p in files.root.iterdir()) == sorted(
        [f"volume-{vid}", f"snapshot-{sid}"])


def test_remove_partials_removes_what_is_staged_and_never_a_volume(files):
    vid, other, sid = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    files.create(vid, 1)
    files.create(other, 1)
    _write(files, vid, b"volume A")
    files.create_snapshot(sid, vid)
    staged = [files.root / PARTIAL.format(f"volume-{vid}"),        # a revert, a fill
              files.root / PARTIAL.format(f"snapshot-{uuid.uuid4()}"),
              files.root / f".revert-{other}"]                       # an earlier version's
    for path in staged:
        path.write_bytes(b"partial")
    assert files.remove_partials() == sorted(p.name for p in staged)
    assert sorted(p.name for p in files.root.iterdir()) == sorted(
        [f"volume-{vid}", f"volume-{other}", f"snapshot-{sid}"])
    assert _read(files, vid) == b"volume A" and files.snapshot_exists(sid)
    assert files.remove_partials() == []


def test_a_revert_interrupted_by_a_kill_leaves_nothing_after_the_restart(make_volenv,
                                                                        tmp_path):
    backend = FileBackend(tmp_path / "vols")
    env = make_volenv(backend=backend, agent=False)
    vid = env.create(name="r")["id"]
    work(env.agent)
    _write(backend, vid, b"before A")
    resp = env.alice.post("/v3/snapshots", json={"snapshot": {"volume_id": vid}},
                          headers={"OpenStack-API-Version": "volume 3.40"})
    assert resp.status_code == 202, resp.json
    work(env.agent)
    sid = resp.json["snapshot"]["id"]
    _write(backend, vid, b"after  B")
    assert _revert(env, vid, sid).status_code == 202
    _take(env)  # the agent took the revert and was killed while staging the copy:
    staged = backend.root / PARTIAL.format(f"volume-{vid}")
    staged.write_bytes(b"half a copy")
    env.agent.init_host()
    assert not staged.exists()
    assert _read(backend, vid) == b"after  B" and backend.snapshot_exists(sid)
    with env.db.session() as s:
        assert s.get(Volume, vid).status == "error"  # as a failed revert (Cinder's)

