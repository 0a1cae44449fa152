"""A volume fill interrupted by a volume-agent kill: its ``qemu-img convert`` dies with the
agent (``process.run(die_with_parent=True)``), and the next agent start removes the partial
file and fails the create with a readable error."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from tests.test_volumes_agent import _status, _take
from tests.volumes_fixtures import *  # noqa: F403
from volumes.backends import PREFIX, FileBackend
from volumes.models import Volume


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_command_run_to_die_with_its_parent_dies_with_a_killed_worker_thread(tmp_path):
    pidfile = tmp_path / "child"
    script = textwrap.dedent(f"""
        import threading, time
        from minicloud import process
        def fill():
            process.run(["sh", "-c", "echo $$ > {pidfile}; exec sleep 60"],
                        die_with_parent=True)
        threading.Thread(target=fill, daemon=True).start()
        time.sleep(60)
    """)
    agent = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ))
    try:
        deadline = time.monotonic() + 20
        while not (pidfile.exists() and pidfile.read_text().strip()):
            assert time.monotonic() < deadline, "the command never started"
            time.sleep(0.05)
        child = int(pidfile.read_text())
        assert _alive(child)
        agent.send_signal(signal.SIGKILL)
        agent.wait()
        deadline = time.monotonic() + 5
        while _alive(child):
            assert time.monotonic() < deadline, "the command outlived its killed parent"
            time.sleep(0.05)
    finally:
        agent.kill()


def test_agent_start_removes_the_partial_file_of_an_interrupted_fill(make_volenv, tmp_path):
    backend = FileBackend(tmp_path / "vols")
    env = make_volenv(backend=backend, agent=False)
    vid = env.create(name="c")["id"]
    _take(env)  # running when the agent died
    (tmp_path / "vols").mkdir(exist_ok=True)
    part = tmp_path / "vols" / f".{PREFIX}{vid}.part"
    part.write_bytes(b"half a volume")
    env.agent.init_host()
    assert not part.exists()
    assert _status(env, vid) == "error"
    with env.db.session() as s:
        assert "restart" in s.get(Volume, vid).error
