"""Glance tasks: ``/v2/tasks`` and ``/v2/images/{id}/tasks`` (API 2.12), one per import.

Every import (``POST /v2/images/{id}/import`` with any method, and ``POST /v2/tasks`` of type
``import``) is recorded as a task owned by the caller's project: ``pending`` when accepted,
``processing`` while its flow runs, then ``success`` (``result`` ``{"image_id": ...}``) or
``failure`` (``message`` says why). Import tasks started through the interoperable import
API have Glance's type ``api_image_import`` and ``input`` ``{"image_id", "import_req",
"backend"}``; those of ``POST /v2/tasks`` keep the type ``import`` and the caller's input.

A finished task gets ``expires_at`` = finish time + ``[image] task_time_to_live`` hours (48,
as Glance); expired tasks are removed the next time tasks are read, so they are never shown.

Policy, as Glance: every ``/v2/tasks`` call needs ``tasks_api_access`` (admin by default)
and its own rule (``get_tasks``, ``get_task``, ``add_task``); non-admins only ever see their
project's tasks. ``/v2/images/{id}/tasks`` is governed by ``get_image`` alone (what the
owner of an image may read).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from images import states
from images.models import Image, ImageTask
from images.service import Dependencies
from minicloud.db import new_uuid, utcnow
from minicloud.errors import BadRequest, NotFound
from minicloud.identity.tokens import AuthContext
from minicloud.validation import query_int

STATUSES = ("pending", "processing", "success", "failure")
TYPES = ("import", "api_image_import")
SORT_KEYS = ("created_at", "expires_at", "id", "status", "type", "updated_at")
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000


@dataclass(frozen=True)
class TaskRecord:
    id: str
    type: str
    status: str
    owner: str
    image_id: str | None
    user_id: str | None
    request_id: str | None
    input: dict[str, Any] | None
    result: dict[str, Any] | None
    message: str
    expires_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


def _record(row: ImageTask) -> TaskRecord:
    return TaskRecord(row.id, row.type, row.status, row.owner, row.image_id, row.user_id,
                      row.request_id, row.input, row.result, row.message or "",
                      row.expires_at, row.created_at, row.updated_at)


@dataclass
class TaskPage:
    tasks: list[TaskRecord]
    first: str
    next: str | None


class TaskService:
    """Task rows: created by the import service, read through the API."""

    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    # -- written by imports ------------------------------------------------------------
    @staticmethod
    def add(session: Session, ctx: AuthContext, type_: str, image_id: str | None,
            input_: dict[str, Any], request_id: str | None) -> str:
        """A new ``pending`` task in the caller's transaction; returns its id."""
        task_id = new_uuid()
        session.add(ImageTask(id=task_id, type=type_, status="pending",
                              owner=ctx.project_id or "", image_id=image_id,
                              user_id=ctx.user_id, request_id=request_id, input=input_,
                              result=None, message=""))
        return task_id

    def processing(self, task_id: str) -> None:
        self._set(task_id, "processing")

    def succeed(self, task_id: str, result: dict[str, Any]) -> None:
        self._set(task_id, "success", result=result)

    def fail(self, task_id: str, message: str) -> None:
        self._set(task_id, "failure", message=message)

    def _set(self, task_id: str, status: str, result: dict[str, Any] | None = None,
             message: str | None = None) -> None:
        with self.deps.db.session() as s:
            row = s.get(ImageTask, task_id)
            if row is None or row.status in ("success", "failure"):
                return  # finished tasks never change again
            row.status = status
            if result is not None:
                row.result = result
            if message is not None:
                row.message = message[:2048]
            if status in ("success", "failure"):
                hours = self.deps.conf.image.task_time_to_live
                row.expires_at = utcnow() + dt.timedelta(hours=hours)

    def recover(self) -> list[str]:
        """Fail the tasks a previous process left unfinished (imports do not survive it);
        the images of the legacy ones among them (see :meth:`abandon`)."""
        return self.abandon(None, "The image service stopped during the import.")

    def abandon(self, image_id: str | None, message: str) -> list[str]:
        """Settle the unfinished tasks of ``image_id`` (None: of every image) whose process
        is gone: one whose image went ``active`` succeeded (the process died after the
        image's last step, before the task's); every other fails with ``message``. Returns
        the images of the failed legacy ``POST /v2/tasks`` imports (type ``import``), which
        go with their task, as in Glance's task flow
        (:meth:`images.service.ImageService.discard_failed`)."""
        query = (select(ImageTask.id, ImageTask.type, ImageTask.image_id, Image.status)
                 .outerjoin(Image, Image.id == ImageTask.image_id)
                 .where(ImageTask.status.in_(("pending", "processing"))))
        if image_id is not None:
            query = query.where(ImageTask.image_id == image_id)
        with self.deps.db.session() as s:
            rows = s.execute(query).all()
        failed = []
        for task_id, type_, image, status in rows:
            if status in states.WITH_DATA:
                self.succeed(task_id, {"image_id": image})
                continue
            self.fail(task_id, message)
            if type_ == "import" and image:
                failed.append(image)
        return failed

    # -- read through the API ----------------------------------------------------------
    def authorize(self, ctx: AuthContext, rule: str) -> None:
        """``tasks_api_access`` and then ``rule``, each a 403 when it denies."""
        target = {"project_id": ctx.project_id, "owner": ctx.project_id}
        creds = ctx.credentials()
        self.deps.policy.enforce("tasks_api_access", creds, target)
        self.deps.policy.enforce(rule, creds, target)

    @staticmethod
    def _purge(session: Session) -> None:
        session.execute(delete(ImageTask).where(ImageTask.expires_at.is_not(None),
                                                ImageTask.expires_at < utcnow()))

    def get(self, ctx: AuthContext, task_id: str) -> TaskRecord:
        self.authorize(ctx, "get_task")
        with self.deps.db.session() as s:
            self._purge(s)
            row = s.get(ImageTask, task_id)
            if row is None or not (ctx.is_admin or row.owner == ctx.project_id):
                raise NotFound(f"Task with identifier {task_id} not found")
            return _record(row)

    def for_image(self, ctx: AuthContext, image_id: str) -> list[TaskRecord]:
        """``GET /v2/images/{id}/tasks``: the image's tasks, oldest first (``get_image``)."""
        with self.deps.db.session() as s:
            self.deps.find(s, ctx, image_id, "get_image")
            self._purge(s)
            rows = s.scalars(select(ImageTask).where(ImageTask.image_id == image_id)
                             .order_by(ImageTask.created_at, ImageTask.id))
            return [_record(r) for r in rows]

    def list(self, ctx: AuthContext, args: Any) -> TaskPage:
        """``GET /v2/tasks``: filters ``status``, ``type``; ``sort_key`` (created_at),
        ``sort_dir`` (desc); ``limit`` (25, at most 1000) and ``marker`` (a task id)."""
        self.authorize(ctx, "get_tasks")
        status, type_ = args.get("status"), args.get("type")
        if status and status not in STATUSES:
            raise BadRequest(f"Invalid status value: {status}")
        if type_ and type_ not in TYPES:
            raise BadRequest(f"Invalid type value: {type_}")
        key, direction = args.get("sort_key", "created_at"), args.get("sort_dir", "desc")
        if key not in SORT_KEYS:
            raise BadRequest(f"Invalid sort key: {key}")
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid sort direction: {direction}")
        limit = min(query_int(args, "limit", DEFAULT_LIMIT, minimum=0), MAX_LIMIT)
        with self.deps.db.session() as s:
            self._purge(s)
            stmt = select(ImageTask)
            if not ctx.is_admin:
                stmt = stmt.where(ImageTask.owner == ctx.project_id)
            if status:
                stmt = stmt.where(ImageTask.status == status)
            if type_:
                stmt = stmt.where(ImageTask.type == type_)
            column = getattr(ImageTask, key)
            order = [column.asc() if direction == "asc" else column.desc(),
                     ImageTask.id.asc() if direction == "asc" else ImageTask.id.desc()]
            rows = [_record(r) for r in s.scalars(stmt.order_by(*order))]
        marker = args.get("marker")
        if marker is not None:
            ids = [r.id for r in rows]
            if marker not in ids:
                raise BadRequest(f"Invalid marker {marker}: no such task in the listing.")
            rows = rows[ids.index(marker) + 1:]
        page = rows[:limit]
        params = {k: v for k, v in args.items() if k != "marker"}
        first = "/v2/tasks" + (f"?{urlencode(params)}" if params else "")
        nxt = None
        if page and len(page) == limit and len(rows) > limit:
            nxt = "/v2/tasks?" + urlencode({**params, "marker": page[-1].id})
        return TaskPage(page, first, nxt)


def _ts(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def task_json(t: TaskRecord, full: bool = True) -> dict[str, Any]:
    """A task as Glance shows it; ``full=False`` is the list form (no input, result,
    message)."""
    body: dict[str, Any] = {
        "id": t.id, "type": t.type, "status": t.status, "owner": t.owner,
        "created_at": _ts(t.created_at), "updated_at": _ts(t.updated_at),
        "self": f"/v2/tasks/{t.id}", "schema": "/v2/schemas/task"}
    if t.expires_at is not None:
        body["expires_at"] = _ts(t.expires_at)
    for name in ("image_id", "request_id", "user_id"):
        if getattr(t, name) is not None:
            body[name] = getattr(t, name)
    if full:
        body.update(input=t.input, result=t.result, message=t.message)
    return body


def image_task_json(t: TaskRecord) -> dict[str, Any]:
    """An entry of ``GET /v2/images/{id}/tasks`` (Glance returns its task rows whole)."""
    return {"id": t.id, "type": t.type, "status": t.status, "owner": t.owner,
            "expires_at": _ts(t.expires_at), "created_at": _ts(t.created_at),
            "updated_at": _ts(t.updated_at), "deleted_at": None, "deleted": False,
            "image_id": t.image_id, "request_id": t.request_id, "user_id": t.user_id,
            "input": t.input, "result": t.result, "message": t.message}
