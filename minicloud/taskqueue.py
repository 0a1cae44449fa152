"""Durable per-host work queues and the agent loop, shared by the compute and volume agents.

An API process adds a task row (``pending``, naming a host) in the same transaction as the
state change it belongs to; the agent on that host takes it with a compare-and-swap
(``pending`` -> ``running``), so a task survives restarts of either side and never runs
twice. Tasks of one subject (an instance, a volume) run one at a time, oldest first; tasks
of different subjects run in parallel on the agent's thread pool.

Every task ends ``done`` or ``failed``. On failure the agent's ``roll_back`` runs first (so
whoever waits on the task sees the catalog already rolled back), then the task is marked.
At agent start, tasks left ``running`` were interrupted: the idempotent ones run again, the
others fail and are rolled back (:meth:`TaskQueue.recover`).

A queue may have :class:`TaskHooks`, told when each task starts and ends (the compute agent
records its tasks as events of the server's instance actions this way).
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from minicloud.config import Config
from minicloud.db import Database
from minicloud.errors import MinicloudError
from minicloud.paths import StatePaths

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
#: Seconds an idle agent waits before looking for work again: the latency a new task sees
#: (two indexed SELECTs per look: negligible load, even at 20 looks a second).
IDLE_WAIT = 0.05


class TaskHooks(Protocol):
    """Observers of a queue's tasks. A hook that fails is logged and never changes how the
    task ends."""

    def started(self, task: Any) -> None: ...

    def finished(self, task: Any, error: BaseException | None) -> None: ...


@dataclass
class TaskQueue:
    """The tasks of one host in one task table (``model``: ComputeTask, VolumeTask), whose
    ``subject`` column names what a task acts on (``instance_id``, ``volume_id``)."""

    db: Database
    model: Any
    subject: str
    host: str
    hooks: TaskHooks | None = None

    def _tell(self, method: str, *args: Any) -> None:
        if self.hooks is None:
            return
        try:
            getattr(self.hooks, method)(*args)
        except Exception:  # noqa: BLE001 - a hook never decides a task's fate
            logging.getLogger(__name__).exception("task hook %s failed", method)

    def _of_host(self, *states: str):
        return select(self.model).where(self.model.host == self.host,
                                        self.model.state.in_(states))

    def subjects(self, s: Session, *states: str) -> set[str]:
        """The subjects with a task of this host in one of ``states``, read in the caller's
        transaction ``s`` (so that it agrees with whatever else the caller reads there)."""
        column = getattr(self.model, self.subject)
        return set(s.scalars(select(column).where(self.model.host == self.host,
                                                  self.model.state.in_(states))))

    def take(self) -> Any | None:
        """Claim the oldest pending task of a subject that has no task running here."""
        with self.db.session() as s:
            running = {getattr(t, self.subject) for t in s.scalars(self._of_host(RUNNING))}
            for task in s.scalars(self._of_host(PENDING).order_by(self.model.id)):
                subject = getattr(task, self.subject)
                if subject in running:
                    continue
                won = s.execute(update(self.model).where(
                    self.model.id == task.id, self.model.state == PENDING)
                    .values(state=RUNNING)).rowcount == 1
                if won:
                    return task
                running.add(subject)
        return None

    def finish(self, task: Any, state: str, error: str | None = None) -> None:
        with self.db.session() as s:
            s.execute(update(self.model).where(self.model.id == task.id)
                      .values(state=state, error=error))

    def recover(self, rerun: Collection[str], reason: str) -> list[Any]:
        """At agent start: put interrupted tasks whose action is in ``rerun`` (idempotent
        ones) back to pending; fail the others with ``reason`` and return them."""
        failed = []
        with self.db.session() as s:
            for task in s.scalars(self._of_host(RUNNING)):
                if task.action in rerun:
                    task.state = PENDING
                else:
                    task.state, task.error = FAILED, reason
                    failed.append(task)
        for task in failed:
            self._tell("finished", task, MinicloudError(reason))
        return failed

    def run(self, task: Any, handler: Callable[[Any], None],
            roll_back: Callable[[Any, BaseException], None], log: logging.Logger) -> None:
        """Run one task; it always ends ``done`` or ``failed`` (rolled back first)."""
        self._tell("started", task)
        try:
            handler(task)
        except Exception as exc:  # noqa: BLE001 - any failure must end the task, logged
            message = exc.message if isinstance(exc, MinicloudError) else str(exc)
            log.error("task %s %s of %s failed: %s", task.id, task.action,
                      getattr(task, self.subject), message,
                      exc_info=not isinstance(exc, MinicloudError))
            try:
                roll_back(task, exc)
            finally:
                self._tell("finished", task, exc)
                self.finish(task, FAILED, f"{type(exc).__name__}: {message}"[:2000])
        else:
            self._tell("finished", task, None)
            self.finish(task, DONE)


def serve(stop: threading.Event, queue: TaskQueue, run_task: Callable[[Any], None],
          periodic: Callable[[], None], interval: float, log: logging.Logger,
          workers: int = 4, idle_wait: float = IDLE_WAIT) -> None:
    """The agent loop: hand each task to the pool as soon as it is taken; when idle, run
    ``periodic`` every ``interval`` seconds; on ``stop``, let running tasks finish."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="task")
    next_periodic = time.monotonic() + interval
    try:
        while not stop.is_set():
            task = queue.take()
            if task is not None:
                pool.submit(run_task, task)
                continue
            if time.monotonic() >= next_periodic:
                try:
                    periodic()
                except MinicloudError:
                    log.exception("periodic task failed")
                next_periodic = time.monotonic() + interval
            stop.wait(idle_wait)
    finally:
        pool.shutdown(wait=True)


def agent_process(name: str, build: Callable[[Config, Database, Callable[[], str], StatePaths],
                                             Any]) -> None:
    """The ``main`` of an agent process: configuration, logging, its state directories (a
    compute- or volume-only host has no ``minicloud up`` to make them), the catalog, service
    tokens minted with the cloud's key; then ``build(conf, db, token, paths).run(stop)``
    until SIGTERM/SIGINT, with the pid file ``run/NAME.pid`` while it runs."""
    from minicloud.identity.service import IdentityService
    from minicloud.identity.tokens import ServiceTokens, TokenProvider, ensure_key

    conf = Config.load()
    logging.basicConfig(level=conf.DEFAULT.log_level.upper(),
                        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    paths = StatePaths(conf.state_dir)
    paths.ensure()
    db = Database(conf.database_url, conf.database.busy_timeout)
    provider = TokenProvider(db, ensure_key(conf.state_dir), conf.identity.token_expiration)
    tokens = ServiceTokens(provider, *IdentityService(db).service_identity())
    agent = build(conf, db, tokens.token, paths)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    pidfile = paths.pidfile(name)
    pidfile.write_text(str(os.getpid()))
    try:
        agent.run(stop)
    finally:
        pidfile.unlink(missing_ok=True)
