"""The event log of a server (``/servers/{id}/os-instance-actions``): its actions, newest
first, and one action with its events, shaped per microversion (:mod:`compute.views`):

* 2.21: a deleted server's actions stay listable;
* 2.51: everyone who may show an action sees its events (without ``traceback``, which
  needs ``os-instance-actions:events``; before 2.51 only they see events at all);
* 2.58: ``updated_at``; the list pages (``limit``, ``marker`` = a request id, a ``links``
  next link) and filters by ``changes-since``; unknown query parameters are a 400;
* 2.62: events carry ``hostId`` (and ``host`` for ``events``); 2.66: ``changes-before``;
* 2.84: events carry ``details`` (``os-instance-actions:events:details``).
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, request

from compute.instance_actions import InstanceActions
from compute.models import Instance
from compute.routes import PREFIX, allowed, compute, mv, paged, server_target
from compute.server_query import parse_timestamp
from compute.views import EventAccess, action_view, event_view
from minicloud.errors import BadRequest
from minicloud.wsgi import auth, authorize, json_response

bp = Blueprint("instance_actions", __name__, url_prefix=PREFIX)
RULE = "os_compute_api:os-instance-actions:%s"


def _log() -> InstanceActions:
    return InstanceActions(compute().service.db)


def _server(server_id: str, rule: str) -> Instance:
    inst = _log().server(auth(), server_id, deleted=mv().at_least(21))
    authorize(RULE % rule, server_target(inst))
    return inst


def _window() -> tuple[dt.datetime | None, dt.datetime | None]:
    """``changes-since``/``changes-before`` of a 2.58+ list (400 for anything else but the
    paging parameters, as Nova's query schema)."""
    known = {"limit", "marker", "changes-since"} | ({"changes-before"}
                                                     if mv().at_least(66) else set())
    unknown = sorted(k for k in request.args if k not in known)
    if unknown:
        raise BadRequest(f"Invalid input for query parameters {unknown[0][:50]}. "
                         "Additional properties are not allowed.")
    since = request.args.get("changes-since")
    before = request.args.get("changes-before")
    since_at = parse_timestamp(since, "changes-since") if since is not None else None
    before_at = parse_timestamp(before, "changes-before") if before is not None else None
    if since_at and before_at and before_at < since_at:
        raise BadRequest("The value of changes-since must be less than or equal to "
                         "changes-before.")
    return since_at, before_at


@bp.get("/servers/<server_id>/os-instance-actions")
def list_actions(server_id: str) -> Response:
    inst = _server(server_id, "list")
    if not mv().at_least(58):
        actions = _log().list(inst.id)
        return json_response({"instanceActions": [action_view(a, mv()) for a in actions]})
    actions = _log().list(inst.id, *_window())
    page, links = paged(actions, lambda a: a.request_id, "instanceActions",
                        f"/servers/{inst.id}/os-instance-actions")
    body: dict = {"instanceActions": [action_view(a, mv()) for a in page]}
    if links:
        body["links"] = links["instanceActions_links"]
    return json_response(body)


@bp.get("/servers/<server_id>/os-instance-actions/<request_id>")
def show_action(server_id: str, request_id: str) -> Response:
    inst = _server(server_id, "show")
    action = _log().get(inst.id, request_id)
    target = server_target(inst)
    events = allowed(RULE % "events", target)
    access = EventAccess(events=events,
                         details=mv().at_least(84) and allowed(RULE % "events:details",
                                                               target))
    body = action_view(action, mv())
    if events or mv().at_least(51):
        body["events"] = [event_view(e, action.project_id or inst.project_id, mv(), access)
                          for e in action.events]
    return json_response({"instanceAction": body})
