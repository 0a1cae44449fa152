"""Cinder v3 volume types: list, show, default, create, update, delete; extra specs; access
lists (``os-volume-type-access``). Logic in :mod:`volumes.types`.

Reads are open to every reader (Cinder: any token); changes are ``rule:admin_api``. Which
fields an answer carries is decided by policies, as Cinder's: ``extra_specs`` by
``access_types_extra_specs`` (and only the user-visible keys without
``types_extra_specs:read_sensitive``), ``qos_specs_id`` by ``access_types_qos_specs_id``,
``os-volume-type-access:is_public`` by ``volume_type_access``. Create and update answers have
Cinder's (smaller) field sets, as Tempest's schemas check.
"""
from __future__ import annotations

from flask import Blueprint, Response, request

from minicloud.errors import BadRequest, NotFound
from minicloud.validation import query_bool, to_bool
from minicloud.wsgi import auth, body_schema, json_body, json_response
from volumes import context, schema, views
from volumes.models import VolumeType
from volumes.types import USER_VISIBLE_EXTRA_SPECS, Caller, TypeService

bp = Blueprint("volume_types", __name__)
ACCESS_ATTR = "os-volume-type-access:is_public"


def _types() -> TypeService:
    return context.types()


def _caller() -> Caller:
    return Caller(auth().project_id, context.is_admin())


def _visible_specs(specs: dict[str, str]) -> dict[str, str]:
    if context.allowed("volume_extension:types_extra_specs:read_sensitive"):
        return dict(specs)
    return {k: v for k, v in specs.items() if k in USER_VISIBLE_EXTRA_SPECS}


def _view(vtype: VolumeType) -> dict:
    """A type as list and show answer it, with the fields the caller's policies allow."""
    specs = _visible_specs(vtype.extra_specs or {}) \
        if context.allowed("volume_extension:access_types_extra_specs") else None
    return views.volume_type_view(
        vtype, specs, qos=context.allowed("volume_extension:access_types_qos_specs_id"),
        access_attr=context.allowed("volume_extension:volume_type_access"))


# -- reading ---------------------------------------------------------------------------------
@bp.get("/types", endpoint="list_types")
def list_types(project_id: str | None) -> Response:
    """``?is_public=true|false|all`` (admins; others always see public types and the private
    ones their project is listed on)."""
    context.authorize_project("volume_extension:type_get_all")
    raw = request.args.get("is_public")
    is_public: bool | None = True
    if raw is not None:
        is_public = None if raw.strip().lower() in ("all", "none") \
            else query_bool(request.args, "is_public")
    found = _types().list(_caller(), is_public)
    return json_response({"volume_types": [_view(t) for t in found]})


@bp.get("/types/default", endpoint="default_type")
def default_type(project_id: str | None) -> Response:
    context.authorize_project("volume_extension:type_get")
    return json_response({"volume_type": _view(_types().default())})


@bp.get("/types/<type_id>", endpoint="show_type")
def show_type(project_id: str | None, type_id: str) -> Response:
    context.authorize_project("volume_extension:type_get")
    return json_response({"volume_type": _view(_types().get(_caller(), type_id))})


# -- changes (admin) -------------------------------------------------------------------------
def _authorize_manage(rule: str) -> None:
    """Cinder's older umbrella rule and the operation's own rule must both admit."""
    context.authorize_project("volume_extension:types_manage")
    context.authorize_project(rule)


@bp.post("/types", endpoint="create_type")
@body_schema(schema.TYPE_CREATE)
def create_type(project_id: str | None) -> Response:
    _authorize_manage("volume_extension:type_create")
    body = json_body()["volume_type"]
    name = body["name"].strip()
    if not name:
        raise BadRequest("Invalid input for field/attribute name: it must not be blank.")
    vtype = _types().create(name, body.get("description"),
                            to_bool(body.get(ACCESS_ATTR, True)), body.get("extra_specs") or {})
    return json_response({"volume_type": views.volume_type_view(
        vtype, dict(vtype.extra_specs or {}), qos=False, access_attr=True)})


@bp.put("/types/<type_id>", endpoint="update_type")
@body_schema(schema.TYPE_UPDATE)
def update_type(project_id: str | None, type_id: str) -> Response:
    _authorize_manage("volume_extension:type_update")
    body = json_body()["volume_type"]
    changes: dict = {}
    if body.get("name") is not None:
        changes["name"] = body["name"].strip()
        if not changes["name"]:
            raise BadRequest("Invalid input for field/attribute name: it must not be blank.")
    if "description" in body:
        changes["description"] = body["description"]
    if body.get("is_public") is not None:
        changes["is_public"] = to_bool(body["is_public"])
    if not changes:
        raise BadRequest("Specify volume type name, description, is_public or a combination "
                         "thereof.")
    vtype = _types().update(type_id, changes)
    return json_response({"volume_type": views.volume_type_view(
        vtype, dict(vtype.extra_specs or {}), qos=False, access_attr=False)})


@bp.delete("/types/<type_id>", endpoint="delete_type")
def delete_type(project_id: str | None, type_id: str) -> Response:
    _authorize_manage("volume_extension:type_delete")
    _types().delete(type_id)
    return Response(status=202)


# -- extra specs -----------------------------------------------------------------------------
@bp.get("/types/<type_id>/extra_specs", endpoint="list_extra_specs")
def list_extra_specs(project_id: str | None, type_id: str) -> Response:
    context.authorize_project("volume_extension:types_extra_specs:index")
    specs = _visible_specs(_types().extra_specs(_caller(), type_id))
    return json_response({"extra_specs": specs})


@bp.post("/types/<type_id>/extra_specs", endpoint="create_extra_specs")
@body_schema(schema.EXTRA_SPECS_BODY)
def create_extra_specs(project_id: str | None, type_id: str) -> Response:
    context.authorize_project("volume_extension:types_extra_specs:create")
    items = _types().set_extra_specs(type_id, json_body()["extra_specs"])
    return json_response({"extra_specs": items})


@bp.get("/types/<type_id>/extra_specs/<key>", endpoint="show_extra_spec")
def show_extra_spec(project_id: str | None, type_id: str, key: str) -> Response:
    context.authorize_project("volume_extension:types_extra_specs:show")
    specs = _visible_specs(_types().extra_specs(_caller(), type_id))
    if key not in specs:
        raise NotFound(f"Volume Type {type_id} has no extra specs with key {key}.")
    return json_response({key: specs[key]})


@bp.put("/types/<type_id>/extra_specs/<key>", endpoint="update_extra_spec")
@body_schema(schema.EXTRA_SPEC_ITEM)
def update_extra_spec(project_id: str | None, type_id: str, key: str) -> Response:
    context.authorize_project("volume_extension:types_extra_specs:update")
    body = json_body()
    if len(body) > 1:
        raise BadRequest("Request body contains too many items.")
    if key not in body:
        raise BadRequest("Request body and URI mismatch")
    return json_response(_types().set_extra_specs(type_id, body))


@bp.delete("/types/<type_id>/extra_specs/<key>", endpoint="delete_extra_spec")
def delete_extra_spec(project_id: str | None, type_id: str, key: str) -> Response:
    context.authorize_project("volume_extension:types_extra_specs:delete")
    _types().delete_extra_spec(type_id, key)
    return Response(status=202)


# -- access lists ----------------------------------------------------------------------------
@bp.get("/types/<type_id>/os-volume-type-access", endpoint="list_type_access")
def list_type_access(project_id: str | None, type_id: str) -> Response:
    context.authorize_project("volume_extension:volume_type_access:get_all_for_type")
    vtype = _types().get(_caller(), type_id, by_name=False)
    return json_response({"volume_type_access": [
        {"volume_type_id": vtype.id, "project_id": p} for p in _types().access(vtype.id)]})


@bp.post("/types/<type_id>/action", endpoint="type_action")
@body_schema(schema.TYPE_ACTION)
def type_action(project_id: str | None, type_id: str) -> Response:
    """``addProjectAccess`` / ``removeProjectAccess`` ``{"project": ID}`` (202)."""
    name, params = next(iter(json_body().items()))
    if name == "addProjectAccess":
        context.authorize_project("volume_extension:volume_type_access:addProjectAccess")
        _types().add_access(type_id, params["project"])
    else:
        context.authorize_project("volume_extension:volume_type_access:removeProjectAccess")
        _types().remove_access(type_id, params["project"])
    return Response(status=202)
