"""Test-only fault injection: stop a process at a named step so that a test can kill it there.

``MINICLOUD_FAULT_AT=<point>[,<point>...]`` in a process's environment (the fault-injection
suite, tests/test_faults_*.py, starts one agent or API service with it) makes that process,
when it reaches :func:`point` with one of those names, write its pid to
``$MINICLOUD_STATE_DIR/run/fault-<point>`` and stop itself with ``SIGSTOP``: the test waits
for that file and sends ``SIGKILL``, which is how an OOM kill or a crash looks, at exactly
that step. Off by default; when the variable is unset a point costs one test of an empty set.

Never set it on a cloud you use: a stopped process serves nothing until it is killed or sent
``SIGCONT``. The points (each named ``<process>.<action>.<step>``) are listed in
docs/architecture.md ("Crash recovery").
"""
from __future__ import annotations

import os
import signal
from pathlib import Path

#: The points this process stops at (read once, at import).
ARMED = frozenset(p.strip() for p in os.environ.get("MINICLOUD_FAULT_AT", "").split(",")
                  if p.strip())


def point(name: str) -> None:
    """A named step: stop here when ``MINICLOUD_FAULT_AT`` names it (see the module)."""
    if name in ARMED:
        _stop(name)


def marker(state_dir: Path, name: str) -> Path:
    """The file in which a process stopped at ``name`` writes its pid."""
    return Path(state_dir) / "run" / f"fault-{name}"


def _stop(name: str) -> None:
    state_dir = os.environ.get("MINICLOUD_STATE_DIR")
    if state_dir:
        marker(Path(state_dir), name).write_text(str(os.getpid()))
    os.kill(os.getpid(), signal.SIGSTOP)
