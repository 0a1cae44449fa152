"""The event log of a server (Nova's instance actions): what was asked, by whom, with which
request id, and what each service did about it and when.

Two records, as Nova keeps them:

* an **action** per API operation on a server (``create``, ``delete``, ``stop``,
  ``reboot``, ``createImage``, ``attach_volume``...), written by the API in the transaction
  that starts the operation, carrying the request id the response returned
  (``x-openstack-request-id``), the caller's user and project and the start time;
* an **event** per piece of work a service did for it: the compute agent's task
  (``compute_stop_instance``...), with its start, finish, result (``Success``/``Error``),
  host and, on failure, what went wrong. A failed event marks its action's ``message``
  ``Error``.

Recording is generic, keyed on the operation's name: :func:`record` names the action from
:data:`ACTION_NAMES` (a name missing there is its own Nova name), and the task queue tells
:class:`ActionEvents` when a task starts and ends (the task carries the request id in its
params), naming the event from :data:`EVENT_NAMES` (else ``compute_<task>``). A new server
operation is therefore logged as soon as it goes through
:meth:`compute.service.ComputeService.start_action`; one that runs no task calls
:func:`record` itself.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from compute import states
from compute.faults import has_host_detail
from compute.models import Instance, InstanceAction, InstanceActionEvent
from minicloud.db import Database, utcnow
from minicloud.errors import MinicloudError, NotFound
from minicloud.identity.tokens import AuthContext

LOG = logging.getLogger(__name__)

#: Service operation (task) names whose Nova action name differs; others keep their name.
ACTION_NAMES: Mapping[str, str] = {
    "spawn": "create", "reboot_soft": "reboot", "reboot_hard": "reboot",
    "snapshot": "createImage", "backup": "createBackup", "force_delete": "forceDelete",
    "soft_delete": "delete"}
#: The event a task of each kind records (Nova's compute manager method names); a task
#: missing here records ``compute_<task>``.
EVENT_NAMES: Mapping[str, str] = {
    "spawn": "compute__do_build_and_run_instance", "delete": "compute_terminate_instance",
    "stop": "compute_stop_instance", "start": "compute_start_instance",
    "reboot_soft": "compute_reboot_instance", "reboot_hard": "compute_reboot_instance",
    "snapshot": "compute_snapshot_instance", "attach_volume": "compute_attach_volume",
    "detach_volume": "compute_detach_volume", "rebuild": "compute_rebuild_instance",
    "pause": "compute_pause_instance", "unpause": "compute_unpause_instance",
    "suspend": "compute_suspend_instance", "resume": "compute_resume_instance",
    "backup": "compute_backup_instance", "soft_delete": "compute_soft_delete_instance",
    "restore": "compute_restore_instance", "rescue": "compute_rescue_instance",
    "unrescue": "compute_unrescue_instance"}
#: The event of scheduling, recorded by the API when no host can take a new server.
SCHEDULE_EVENT = "conductor_schedule_and_build_instances"
SUCCESS, ERROR = "Success", "Error"


def action_name(name: str) -> str:
    """Nova's action name for a service operation or task name."""
    return ACTION_NAMES.get(name, name)


def event_name(task_action: str) -> str:
    return EVENT_NAMES.get(task_action, f"compute_{task_action}")


def current_request_id() -> str:
    """The id of the API request being served (the one its response carries), or a new
    one outside a request (an operation the service starts on its own)."""
    from minicloud.wsgi import request_id  # the API layer; absent from agent call paths

    return request_id() or f"req-{uuid.uuid4()}"


def record(s: Session, instance_id: str, ctx: AuthContext | None, name: str,
           request_id: str | None = None) -> str:
    """Log the start of operation ``name`` on the instance, in the caller's transaction
    ``s`` (so it is recorded exactly when the operation is); returns the request id, which
    the operation's task carries in its params (``request_id``) for its events."""
    rid = request_id or current_request_id()
    now = utcnow()
    s.add(InstanceAction(instance_id=instance_id, action=action_name(name), request_id=rid,
                         user_id=ctx.user_id if ctx else None,
                         project_id=ctx.project_id if ctx else None,
                         start_time=now, updated_at=now))
    return rid


def add_event(s: Session, instance_id: str, request_id: str, event: str,
              error: BaseException | None = None, host: str | None = None) -> None:
    """Record a finished ``event`` of the action (an API-side step, e.g. scheduling)."""
    action = _action(s, instance_id, request_id)
    if action is None:
        return
    now = utcnow()
    row = InstanceActionEvent(action_id=action.id, event=event, start_time=now, host=host)
    s.add(row)
    _finish(action, row, error, now)


def _action(s: Session, instance_id: str, request_id: str) -> InstanceAction | None:
    return s.scalars(select(InstanceAction).where(
        InstanceAction.instance_id == instance_id, InstanceAction.request_id == request_id)
        .order_by(InstanceAction.id.desc()).limit(1)).first()


def _finish(action: InstanceAction, row: InstanceActionEvent, error: BaseException | None,
            now: dt.datetime) -> None:
    row.finish_time, row.result = now, ERROR if error is not None else SUCCESS
    if error is not None:
        message = error.message if isinstance(error, MinicloudError) else str(error)
        # traceback: admins only (events policy); details: fit for users unless it
        # shows the host, then only the error's class (the agent log has the rest).
        row.traceback = f"{type(error).__name__}: {message}"[:4000]
        row.details = message[:4000] if not has_host_detail(error) else (
            f"{type(error).__name__} on the compute host (see the compute agent log)")
        action.message = ERROR
    action.finish_time = action.updated_at = now


class ActionEvents:
    """The task queue's hook (:class:`minicloud.taskqueue.TaskHooks`): each task of an
    action (one whose params carry ``request_id``) is an event of that action."""

    def __init__(self, db: Database, host: str) -> None:
        self.db, self.host = db, host

    def started(self, task: Any) -> None:
        rid = (task.params or {}).get("request_id")
        if not rid:
            return  # work the agent started itself (e.g. a delete resumed at start)
        name = event_name(task.action)
        with self.db.session() as s:
            action = _action(s, task.instance_id, rid)
            if action is None:
                return
            now = utcnow()
            # A task run again after an agent restart continues its unfinished event.
            if not any(e.event == name and e.finish_time is None for e in action.events):
                s.add(InstanceActionEvent(action_id=action.id, event=name, start_time=now,
                                          host=self.host))
            action.updated_at = now

    def finished(self, task: Any, error: BaseException | None) -> None:
        rid = (task.params or {}).get("request_id")
        if not rid:
            return
        name = event_name(task.action)
        with self.db.session() as s:
            action = _action(s, task.instance_id, rid)
            if action is None:
                return
            row = next((e for e in reversed(action.events)
                        if e.event == name and e.finish_time is None), None)
            if row is None:  # never started (failed at agent start): started and ended now
                row = InstanceActionEvent(action_id=action.id, event=name,
                                          start_time=utcnow(), host=self.host)
                s.add(row)
            _finish(action, row, error, utcnow())


class InstanceActions:
    """Reading the log: a server's actions (newest first) and one action's events."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def server(self, ctx: AuthContext, server_id: str, deleted: bool) -> Instance:
        """The server whose log the caller may read (404 otherwise); a deleted one only
        when ``deleted`` (2.21+: a deleted server's log stays readable)."""
        with self.db.session() as s:
            inst = s.get(Instance, server_id)
        if inst is None or (inst.vm_state == states.DELETED and not deleted) or (
                inst.project_id != ctx.project_id and not ctx.is_admin):
            raise NotFound(f"Instance {server_id} could not be found.")
        return inst

    def list(self, instance_id: str, since: dt.datetime | None = None,
             before: dt.datetime | None = None) -> list[InstanceAction]:
        """The server's actions, newest first; ``since``/``before`` bound ``updated_at``."""
        stmt = select(InstanceAction).where(InstanceAction.instance_id == instance_id)
        if since is not None:
            stmt = stmt.where(InstanceAction.updated_at >= since)
        if before is not None:
            stmt = stmt.where(InstanceAction.updated_at <= before)
        with self.db.session() as s:
            return list(s.scalars(stmt.order_by(InstanceAction.start_time.desc(),
                                                InstanceAction.id.desc())))

    def get(self, instance_id: str, request_id: str) -> InstanceAction:
        with self.db.session() as s:
            action = _action(s, instance_id, request_id)
        if action is None:
            raise NotFound(f"Action {request_id} not found")
        return action

