"""Cinder v3 group types (3.11): list, show, default, create, update, delete, and their
``group_specs``. Logic in :mod:`volumes.group_types`.

Reads answer any valid token (Cinder governs them by no policy); ``group_specs`` appear in
them under ``group:access_group_types_specs`` (admins). Changes and the specs routes are
admins' (``group:group_types:*``, ``group:group_types_specs:*``). Status codes as Tempest's
schemas: create 202, update 200, delete 202; specs create 202, item update 200, item delete
202. Below 3.11 every route is a 404, as Cinder's.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from minicloud.errors import BadRequest, NotFound
from minicloud.paging import Page, next_href
from minicloud.validation import query_bool, to_bool
from minicloud.wsgi import body_schema, json_body, json_response
from volumes import context, group_schema, query, views
from volumes.group_types import SORT_COLUMNS, GroupTypeService
from volumes.models import GroupType

bp = Blueprint("group_types", __name__)
SINCE = 11


def service() -> GroupTypeService:
    return current_app.extensions["volume_group_types"]


def _view(gtype: GroupType) -> dict:
    return views.group_type_view(gtype, context.allowed("group:access_group_types_specs"))


def _need() -> None:
    context.need(SINCE, "group types")


# -- reading (any valid token) --------------------------------------------------------------
@bp.get("/group_types", endpoint="list")
def list_group_types(project_id: str | None) -> Response:
    """``?is_public=true|false|none`` (admins; others see the public ones), ``sort``,
    ``limit``/``marker``."""
    _need()
    raw = request.args.get("is_public")
    is_public: bool | None = True
    if raw is not None:
        is_public = None if raw.strip().lower() in ("all", "none") \
            else query_bool(request.args, "is_public")
    sort = query.sort_params(request.args, SORT_COLUMNS)
    page = Page.from_args(request.args)
    found = page.apply(service().list(context.is_admin(), is_public, sort), lambda t: t.id)
    body: dict = {"group_types": [_view(t) for t in found]}
    marker = page.next_marker(found, lambda t: t.id)
    if marker is not None:
        body["group_types_links"] = [{"rel": "next", "href": next_href(
            request.base_url, request.args, marker)}]
    return json_response(body)


@bp.get("/group_types/default", endpoint="default")
def default_group_type(project_id: str | None) -> Response:
    _need()
    return json_response({"group_type": _view(service().default(context.is_admin()))})


@bp.get("/group_types/<group_type_id>", endpoint="show")
def show_group_type(project_id: str | None, group_type_id: str) -> Response:
    _need()
    return json_response({"group_type": _view(service().get(context.is_admin(), group_type_id))})


# -- changes (admins) -------------------------------------------------------------------------
def _name(value: str) -> str:
    name = value.strip()
    if not name:
        raise BadRequest("Invalid input for field/attribute name: it must not be blank.")
    return name


@bp.post("/group_types", endpoint="create")
@body_schema(group_schema.GROUP_TYPE_CREATE)
def create_group_type(project_id: str | None) -> Response:
    _need()
    context.authorize_project("group:group_types:create")
    body = json_body()["group_type"]
    gtype = service().create(_name(body["name"]), body.get("description"),
                             to_bool(body.get("is_public", True)),
                             body.get("group_specs") or {})
    return json_response({"group_type": _view(gtype)}, 202)


@bp.put("/group_types/<group_type_id>", endpoint="update")
@body_schema(group_schema.GROUP_TYPE_UPDATE)
def update_group_type(project_id: str | None, group_type_id: str) -> Response:
    _need()
    context.authorize_project("group:group_types:update")
    body = json_body()["group_type"]
    changes: dict = {}
    if body.get("name") is not None:
        changes["name"] = _name(body["name"])
    if "description" in body:
        changes["description"] = body["description"]
    if body.get("is_public") is not None:
        changes["is_public"] = to_bool(body["is_public"])
    if not changes:
        raise BadRequest("Specify group type name, description or a combination thereof.")
    return json_response({"group_type": _view(service().update(group_type_id, changes))})


@bp.delete("/group_types/<group_type_id>", endpoint="delete")
def delete_group_type(project_id: str | None, group_type_id: str) -> Response:
    _need()
    context.authorize_project("group:group_types:delete")
    service().delete(group_type_id)
    return Response(status=202)


# -- group specs (admins) ---------------------------------------------------------------------
@bp.get("/group_types/<group_type_id>/group_specs", endpoint="list_specs")
def list_specs(project_id: str | None, group_type_id: str) -> Response:
    _need()
    context.authorize_project("group:group_types_specs:get_all")
    return json_response({"group_specs": service().specs(group_type_id)})


@bp.post("/group_types/<group_type_id>/group_specs", endpoint="create_specs")
@body_schema(group_schema.GROUP_SPECS_BODY)
def create_specs(project_id: str | None, group_type_id: str) -> Response:
    _need()
    context.authorize_project("group:group_types_specs:create")
    items = service().set_specs(group_type_id, json_body()["group_specs"])
    return json_response({"group_specs": items}, 202)


@bp.get("/group_types/<group_type_id>/group_specs/<key>", endpoint="show_spec")
def show_spec(project_id: str | None, group_type_id: str, key: str) -> Response:
    _need()
    context.authorize_project("group:group_types_specs:get")
    specs = service().specs(group_type_id)
    if key not in specs:
        raise NotFound(f"Group Type {group_type_id} has no specs with key {key}.")
    return json_response({key: specs[key]})


@bp.put("/group_types/<group_type_id>/group_specs/<key>", endpoint="update_spec")
@body_schema(group_schema.GROUP_SPEC_ITEM)
def update_spec(project_id: str | None, group_type_id: str, key: str) -> Response:
    _need()
    context.authorize_project("group:group_types_specs:update")
    body = json_body()
    if key not in body:
        raise BadRequest("Request body and URI mismatch")
    return json_response(service().set_specs(group_type_id, body))


@bp.delete("/group_types/<group_type_id>/group_specs/<key>", endpoint="delete_spec")
def delete_spec(project_id: str | None, group_type_id: str, key: str) -> Response:
    _need()
    context.authorize_project("group:group_types_specs:delete")
    service().delete_spec(group_type_id, key)
    return Response(status=202)
