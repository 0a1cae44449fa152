"""The shared durable task queue: order, one task per subject, hosts, recovery, failures."""
from __future__ import annotations

import logging
import threading

import pytest

from compute.models import ComputeTask
from minicloud.config import Config
from minicloud.db import Database
from minicloud.errors import MinicloudError
from minicloud.taskqueue import TaskQueue, serve

LOG = logging.getLogger("test.taskqueue")


@pytest.fixture
def db(tmp_path):
    conf = Config.load(tmp_path, environ={})
    database = Database(conf.database_url)
    database.upgrade()
    yield database
    database.dispose()


def add(db: Database, instance: str, action: str, host: str = "h1") -> int:
    with db.session() as s:
        task = ComputeTask(instance_id=instance, host=host, action=action)
        s.add(task)
        s.flush()
        return task.id


def state(db: Database, task_id: int) -> tuple[str, str | None]:
    with db.session() as s:
        task = s.get(ComputeTask, task_id)
        return task.state, task.error


def test_oldest_first_one_running_task_per_subject_only_this_host(db):
    queue = TaskQueue(db, ComputeTask, "instance_id", "h1")
    first, second = add(db, "a", "spawn"), add(db, "a", "stop")
    other = add(db, "b", "spawn")
    add(db, "c", "spawn", host="h2")
    taken = queue.take()
    assert taken.id == first
    assert queue.take().id == other  # "a" is busy: its stop waits
    assert queue.take() is None      # h2's task is not ours
    queue.finish(taken, "done")
    assert state(db, first) == ("done", None)
    assert queue.take().id == second
    with db.session() as s:
        assert queue.subjects(s, "running") == {"a", "b"}


def test_two_agents_never_take_the_same_task(db):
    queues = [TaskQueue(db, ComputeTask, "instance_id", "h1") for _ in range(2)]
    ids = {add(db, f"i{n}", "spawn") for n in range(20)}
    taken: list[int] = []

    def drain(queue: TaskQueue) -> None:
        while (task := queue.take()) is not None:
            taken.append(task.id)

    threads = [threading.Thread(target=drain, args=(q,)) for q in queues]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == sorted(ids)  # each exactly once


def test_a_failure_is_rolled_back_before_the_task_is_marked(db):
    queue = TaskQueue(db, ComputeTask, "instance_id", "h1")
    task_id = add(db, "a", "spawn")
    seen = []

    def boom(task):
        raise MinicloudError("disk full")

    def roll_back(task, exc):
        seen.append((exc.message, state(db, task.id)[0]))

    queue.run(queue.take(), boom, roll_back, LOG)
    assert seen == [("disk full", "running")]
    assert state(db, task_id) == ("failed", "MinicloudError: disk full")
    ok = add(db, "a", "start")
    queue.run(queue.take(), lambda task: None, roll_back, LOG)
    assert state(db, ok) == ("done", None)


def test_a_rollback_that_raises_still_ends_the_task(db):
    queue = TaskQueue(db, ComputeTask, "instance_id", "h1")
    task_id = add(db, "a", "spawn")

    def roll_back(task, exc):
        raise RuntimeError("rollback broke too")

    with pytest.raises(RuntimeError):
        queue.run(queue.take(), lambda task: 1 / 0, roll_back, LOG)
    assert state(db, task_id)[0] == "failed"


def test_recover_reruns_idempotent_tasks_and_fails_the_others(db):
    queue = TaskQueue(db, ComputeTask, "instance_id", "h1")
    spawn, delete = add(db, "a", "spawn"), add(db, "b", "delete")
    queue.take(), queue.take()
    failed = queue.recover(("delete",), "interrupted")
    assert [t.id for t in failed] == [spawn]
    assert state(db, spawn) == ("failed", "interrupted")
    assert state(db, delete) == ("pending", None)
    assert queue.take().id == delete


def test_serve_runs_tasks_and_stops(db):
    queue = TaskQueue(db, ComputeTask, "instance_id", "h1")
    ids = [add(db, f"i{n}", "spawn") for n in range(5)]
    stop = threading.Event()
    done = []

    def run_task(task):
        queue.run(task, lambda t: done.append(t.id), lambda t, e: None, LOG)
        if len(done) == len(ids):
            stop.set()

    thread = threading.Thread(target=serve, args=(stop, queue, run_task, lambda: None, 60,
                                                  LOG), kwargs={"idle_wait": 0.01})
    thread.start()
    thread.join(20)
    assert not thread.is_alive() and sorted(done) == ids
    assert {state(db, i)[0] for i in ids} == {"done"}
