"""Server groups (``os-server-groups``): create, list, show, delete.

Nova's shapes per microversion (:func:`compute.views.server_group_view`); the list pages
with ``limit``/``offset`` as Nova's (no links); an admin asking ``all_projects`` sees every
project's groups (anyone else their own project's, as Nova keeps it).
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from compute import schema
from compute.routes import PREFIX, mv
from compute.server_groups import ServerGroups
from compute.views import server_group_view
from minicloud.errors import BadRequest
from minicloud.validation import query_int
from minicloud.wsgi import auth, authorize, body_schema, json_body, json_response

bp = Blueprint("server_groups", __name__, url_prefix=PREFIX)
RULE = "os_compute_api:os-server-groups:%s"
#: The list's query parameters (from 2.75 any other one is a 400).
LIST_PARAMS = frozenset({"all_projects", "limit", "offset"})


def groups() -> ServerGroups:
    return current_app.extensions["server_groups"]


@bp.get("/os-server-groups")
def list_groups() -> Response:
    ctx = auth()
    authorize(RULE % "index", {"project_id": ctx.project_id})
    if mv().at_least(75) and set(request.args) - LIST_PARAMS:
        raise BadRequest(f"Invalid input for query parameters "
                         f"{', '.join(sorted(set(request.args) - LIST_PARAMS))[:255]}. "
                         f"Additional properties are not allowed.")
    project_id: str | None = ctx.project_id
    if "all_projects" in request.args and ctx.is_admin:
        authorize(RULE % "index:all_projects", {"project_id": ctx.project_id})
        project_id = None
    rows = groups().list(project_id)
    offset = query_int(request.args, "offset", 0)
    limit = query_int(request.args, "limit")
    rows = rows[offset:] if limit is None else rows[offset:offset + limit]
    return json_response({"server_groups": [server_group_view(g, mv()) for g in rows]})


@bp.post("/os-server-groups")
@body_schema(schema.CREATE_SERVER_GROUP, max_minor=14)
@body_schema(schema.CREATE_SERVER_GROUP_V215, min_minor=15, max_minor=63)
@body_schema(schema.CREATE_SERVER_GROUP_V264, min_minor=64)
def create_group() -> Response:
    ctx = auth()
    authorize(RULE % "create", {"project_id": ctx.project_id, "user_id": ctx.user_id})
    body = json_body()["server_group"]
    policy = body["policy"] if mv().at_least(64) else body["policies"][0]
    group = groups().create(ctx, body["name"], policy, body.get("rules"))
    return json_response({"server_group": server_group_view(group, mv())})


@bp.get("/os-server-groups/<group_id>")
def show_group(group_id: str) -> Response:
    group = groups().get(group_id)
    authorize(RULE % "show", {"project_id": group.project_id})
    return json_response({"server_group": server_group_view(group, mv())})


@bp.delete("/os-server-groups/<group_id>")
def delete_group(group_id: str) -> Response:
    group = groups().get(group_id)
    authorize(RULE % "delete", {"project_id": group.project_id})
    groups().delete(group_id)
    return Response(status=204)
