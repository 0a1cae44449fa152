"""Cinder v3 qos-specs (admins): create, list, show, set and delete keys, delete, and the
associations with volume types (``GET .../associate?vol_type_id=``, as Cinder's API has
them). Logic in :mod:`volumes.qos`; the specs are stored and shown, not yet applied."""
from __future__ import annotations

from flask import Blueprint, Response, request

from minicloud.errors import BadRequest
from minicloud.wsgi import body_schema, json_body, json_response
from volumes import context, schema, views
from volumes.qos import QosService

bp = Blueprint("volume_qos", __name__)


def _qos() -> QosService:
    return context.qos()


def _shown(qos) -> Response:
    return json_response({"qos_specs": views.qos_view(qos),
                          "links": views.qos_links(context.viewer(), qos)})


@bp.get("/qos-specs", endpoint="list_qos")
def list_qos(project_id: str | None) -> Response:
    context.authorize_project("volume_extension:qos_specs_manage:get_all")
    return json_response({"qos_specs": [views.qos_view(q) for q in _qos().list()]})


@bp.post("/qos-specs", endpoint="create_qos")
@body_schema(schema.QOS_CREATE)
def create_qos(project_id: str | None) -> Response:
    context.authorize_project("volume_extension:qos_specs_manage:create")
    specs = dict(json_body()["qos_specs"])
    name = specs.pop("name").strip()
    if not name:
        raise BadRequest("Invalid input for field/attribute name: it must not be blank.")
    return _shown(_qos().create(name, specs))


@bp.get("/qos-specs/<qos_id>", endpoint="show_qos")
def show_qos(project_id: str | None, qos_id: str) -> Response:
    context.authorize_project("volume_extension:qos_specs_manage:get")
    return _shown(_qos().get(qos_id))


@bp.put("/qos-specs/<qos_id>", endpoint="set_qos_keys")
@body_schema(schema.QOS_SET)
def set_qos_keys(project_id: str | None, qos_id: str) -> Response:
    context.authorize_project("volume_extension:qos_specs_manage:update")
    return json_response({"qos_specs": _qos().set_keys(qos_id, json_body()["qos_specs"])})


@bp.put("/qos-specs/<qos_id>/delete_keys", endpoint="delete_qos_keys")
@body_schema(schema.QOS_DELETE_KEYS)
def delete_qos_keys(project_id: str | None, qos_id: str) -> Response:
    context.authorize_project("volume_extension:qos_specs_manage:update")
    _qos().delete_keys(qos_id, json_body()["keys"])
    return Response(status=202)


@bp.delete("/qos-specs/<qos_id>", endpoint="delete_qos")
def delete_qos(project_id: str | None, qos_id: str) -> Response:
    """``?force=True`` deletes one still associated with types (disassociating them)."""
    context.authorize_project("volume_extension:qos_specs_manage:delete")
    _qos().delete(qos_id, context.flag("force"))
    return Response(status=202)


@bp.get("/qos-specs/<qos_id>/associations", endpoint="qos_associations")
def qos_associations(project_id: str | None, qos_id: str) -> Response:
    context.authorize_project("volume_extension:qos_specs_manage:get")
    return json_response({"qos_associations": [
        {"association_type": "volume_type", "id": t.id, "name": t.name}
        for t in _qos().associations(qos_id)]})


def _type_arg() -> str:
    type_id = request.args.get("vol_type_id")
    if not type_id:
        raise BadRequest("Volume Type id must not be None.")
    return type_id


@bp.get("/qos-specs/<qos_id>/associate", endpoint="associate_qos")
def associate_qos(project_id: str | None, qos_id: str) -> Response:
    context.authorize_project("volume_extension:qos_specs_manage:update")
    _qos().associate(qos_id, _type_arg())
    return Response(status=202)


@bp.get("/qos-specs/<qos_id>/disassociate", endpoint="disassociate_qos")
def disassociate_qos(project_id: str | None, qos_id: str) -> Response:
    context.authorize_project("volume_extension:qos_specs_manage:update")
    _qos().disassociate(qos_id, _type_arg())
    return Response(status=202)


@bp.get("/qos-specs/<qos_id>/disassociate_all", endpoint="disassociate_all_qos")
def disassociate_all_qos(project_id: str | None, qos_id: str) -> Response:
    context.authorize_project("volume_extension:qos_specs_manage:update")
    _qos().disassociate(qos_id)
    return Response(status=202)
