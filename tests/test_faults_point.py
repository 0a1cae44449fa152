"""The test-only fault knob (minicloud.faults): off by default; when armed, a process stops
itself at the named step after recording its pid, so the suite can kill it exactly there."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from minicloud import faults


def test_unarmed_points_do_nothing():
    assert "MINICLOUD_FAULT_AT" not in os.environ
    assert faults.ARMED == frozenset()
    faults.point("compute.spawn.spawning")  # returns: nothing armed


def test_an_armed_point_records_the_pid_and_stops_the_process(tmp_path):
    (tmp_path / "run").mkdir()
    env = dict(os.environ, MINICLOUD_FAULT_AT="a.b.c, x.y", MINICLOUD_STATE_DIR=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", "from minicloud import faults\n"
                             "faults.point('other'); faults.point('x.y'); print('resumed')"],
                            env=env, stdout=subprocess.PIPE, text=True)
    try:
        marker = faults.marker(tmp_path, "x.y")
        deadline = time.monotonic() + 20
        while not marker.exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        assert int(marker.read_text()) == proc.pid
        time.sleep(0.2)
        with open(f"/proc/{proc.pid}/stat") as fh:
            assert fh.read().split(")")[-1].split()[0] == "T"  # stopped
        os.kill(proc.pid, signal.SIGCONT)
        assert proc.communicate(timeout=20)[0] == "resumed\n"
    finally:
        proc.kill()
