"""A server's serial console log, read on the host that runs the guest.

The log is a file on the compute host (``instances/<id>/console.log``, written by QEMU);
the API process may run on another machine. So the API asks that host's agent through the
task queue, as Nova asks its compute service: a ``console_log`` task whose subject is a
fresh id of its own (so it never waits behind the server's long tasks, a spawn or a
stop), which the agent answers by leaving the log's tail in the task's ``params``. The
API waits for it (the agent looks for work every ``IDLE_WAIT``: tens of milliseconds) and
then removes the row.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import delete

from compute.models import ComputeTask, Instance
from minicloud.db import Database, new_uuid
from minicloud.errors import ServiceUnavailable
from minicloud.taskqueue import DONE, FAILED

ACTION = "console_log"
TAIL = 1 << 20  # the most of a console log ever read (bytes)


def read_tail(log: Path, limit: int = TAIL) -> str:
    """The last ``limit`` bytes of the log (``""`` when there is none yet)."""
    try:
        with log.open("rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(max(0, size - limit))
            return fh.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def last_lines(text: str, length: int | None) -> str:
    """The last ``length`` lines of ``text`` (all of them for None or -1)."""
    lines = text.splitlines(keepends=True)
    if length is not None and length >= 0:
        lines = lines[-length:] if length else []
    return "".join(lines)


class ConsoleReader:
    """Fetches a server's console log from its host's agent.

    ``pump`` (tests only) is called while waiting instead of sleeping: an in-process test
    runs the agent's queued tasks there, as the agent process would.
    """

    def __init__(self, db: Database, timeout: float = 15.0, poll: float = 0.02,
                 pump: Callable[[], object] | None = None) -> None:
        self.db, self.timeout, self.poll, self.pump = db, timeout, poll, pump

    def output(self, inst: Instance) -> str:
        if inst.host is None:  # never scheduled: no guest, no log
            return ""
        with self.db.session() as s:
            task = ComputeTask(instance_id=new_uuid(), host=inst.host, action=ACTION,
                               params={"instance_id": inst.id})
            s.add(task)
            s.flush()
            task_id = task.id
        try:
            return self._wait(task_id, inst.id)
        finally:
            with self.db.session() as s:
                s.execute(delete(ComputeTask).where(ComputeTask.id == task_id))

    def _wait(self, task_id: int, server_id: str) -> str:
        deadline = time.monotonic() + self.timeout
        while True:
            with self.db.session() as s:
                task = s.get(ComputeTask, task_id)
                state, params = task.state, dict(task.params or {})
            if state == DONE:
                return params.get("output", "")
            if state == FAILED or time.monotonic() > deadline:
                raise ServiceUnavailable(f"The console log of server {server_id} could not "
                                         "be read: its compute host did not answer.")
            if self.pump is not None:
                self.pump()
            else:
                time.sleep(self.poll)
