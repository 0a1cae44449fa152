"""Cinder v3 volume type encryption: ``/types/{type_id}/encryption`` (show, show one field,
create, update, delete). Logic, and why minicloud stores specs but encrypts nothing, in
:mod:`volumes.encryption`.

Every route is admin-only (Cinder's ``volume_extension:volume_type_encryption:*``, all
``rule:admin_api``). The show answers are unwrapped (the spec itself, ``{}`` when the type
has none), the create and update answers wrapped in ``encryption``, as Tempest's schemas
check; delete is 202.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app

from minicloud.wsgi import body_schema, json_body, json_response
from volumes import context, schema
from volumes.encryption import EncryptionService

bp = Blueprint("volume_type_encryption", __name__)
PATH = "/types/<type_id>/encryption"


def _encryption() -> EncryptionService:
    return current_app.extensions["volume_encryption"]


@bp.get(PATH, endpoint="show_encryption")
def show_encryption(project_id: str | None, type_id: str) -> Response:
    """The type's encryption spec (``openstack volume type show --encryption-type``)."""
    context.authorize_project("volume_extension:volume_type_encryption:get")
    return json_response(_encryption().show(type_id))


@bp.get(f"{PATH}/<key>", endpoint="show_encryption_item")
def show_encryption_item(project_id: str | None, type_id: str, key: str) -> Response:
    context.authorize_project("volume_extension:volume_type_encryption:get")
    return json_response(_encryption().item(type_id, key))


@bp.post(PATH, endpoint="create_encryption")
@body_schema(schema.ENCRYPTION_CREATE)
def create_encryption(project_id: str | None, type_id: str) -> Response:
    """``openstack volume type create --encryption-provider ... NAME`` (or ``set``)."""
    context.authorize_project("volume_extension:volume_type_encryption:create")
    created = _encryption().create(type_id, json_body()["encryption"])
    return json_response({"encryption": created})


@bp.put(f"{PATH}/<encryption_id>", endpoint="update_encryption")
@body_schema(schema.ENCRYPTION_UPDATE)
def update_encryption(project_id: str | None, type_id: str, encryption_id: str) -> Response:
    """Change some fields; ``encryption_id`` is not checked, as in Cinder (one per type)."""
    context.authorize_project("volume_extension:volume_type_encryption:update")
    return json_response({"encryption": _encryption().update(
        type_id, json_body()["encryption"])})


@bp.delete(f"{PATH}/<encryption_id>", endpoint="delete_encryption")
def delete_encryption(project_id: str | None, type_id: str, encryption_id: str) -> Response:
    context.authorize_project("volume_extension:volume_type_encryption:delete")
    _encryption().delete(type_id)
    return Response(status=202)
