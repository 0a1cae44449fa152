"""Cinder v3 user messages (3.3): ``GET /messages`` (filters, sorting and pages from 3.5),
``GET /messages/{id}``, ``DELETE /messages/{id}``. A project's readers see its messages,
its members delete them, admins see every project's (:mod:`volumes.messages`)."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from minicloud.errors import NotFound
from minicloud.paging import Page, next_href
from minicloud.wsgi import auth, authorize, json_response
from volumes import context, messages, query, views
from volumes.messages import MessageService
from volumes.models import VolumeMessage

bp = Blueprint("messages", __name__)
MESSAGES = 3          # the API appears
MESSAGES_QUERY = 5    # filters, sort, limit and marker


def service() -> MessageService:
    return current_app.extensions["volume_messages"]


def message_view(msg: VolumeMessage, base: str) -> dict:
    """Cinder's message body (tempest's api_schema/response/volume/messages.py)."""
    return {"id": msg.id, "event_id": msg.event_id, "user_message": msg.detail,
            "message_level": msg.message_level, "resource_type": msg.resource_type,
            "resource_uuid": msg.resource_uuid, "request_id": msg.request_id,
            "created_at": views.ts(msg.created_at),
            "guaranteed_until": views.ts(msg.expires_at),
            "links": [{"rel": "self",
                       "href": f"{base}/v3/{msg.project_id}/messages/{msg.id}"},
                      {"rel": "bookmark",
                       "href": f"{base}/{msg.project_id}/messages/{msg.id}"}]}


def _message(message_id: str, rule: str) -> VolumeMessage:
    """The message, if the caller may see it (else 404) and ``rule`` admits the caller on
    its project (else 403)."""
    context.need(MESSAGES, "messages")
    msg = service().get(auth(), message_id)
    authorize(rule, context.owner_target(msg.project_id))
    return msg


@bp.get("/messages", endpoint="list")
def list_messages(project_id: str | None) -> Response:
    context.need(MESSAGES, "messages")
    context.authorize_project("message:get_all")
    queried = context.version().at_least(MESSAGES_QUERY)
    args = request.args if queried else {}
    filters = {k: args[k] for k in messages.FILTERS if k in args}
    if "project_id" in args and context.is_admin():  # `message list --project` (admins)
        filters["project_id"] = args["project_id"]
    rows = service().list(auth(), filters, query.sort_params(args, messages.SORT_COLUMNS))
    page = Page.from_args(args)
    if page.marker is not None and all(m.id != page.marker for m in rows):
        raise NotFound(f"Marker {page.marker[:64]} could not be found.")
    shown = page.apply(rows, lambda m: m.id)
    base = request.host_url.rstrip("/")
    body: dict = {"messages": [message_view(m, base) for m in shown]}
    marker = page.next_marker(shown, lambda m: m.id)
    if marker is not None and page.explicit_limit:
        body["messages_links"] = [{"rel": "next",
                                   "href": next_href(request.base_url, args, marker)}]
    return json_response(body)


@bp.get("/messages/<message_id>", endpoint="show")
def show_message(project_id: str | None, message_id: str) -> Response:
    msg = _message(message_id, "message:get")
    return json_response({"message": message_view(msg, request.host_url.rstrip("/"))})


@bp.delete("/messages/<message_id>", endpoint="delete")
def delete_message(project_id: str | None, message_id: str) -> Response:
    _message(message_id, "message:delete")
    service().delete(auth(), message_id)
    return Response(status=204)
