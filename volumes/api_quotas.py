"""Cinder v3 quotas: ``os-quota-sets`` (show, defaults, update, delete) and
``os-quota-class-sets`` (show, update). Limits live in :mod:`volumes.quotas`.

Reading a project's quotas is for its readers (and admins); changing them, and quota classes
at all, is ``rule:admin_api``. A limit below what the project already holds is a 400, as
Cinder's. Every resource is enforced: ``volumes``, ``gigabytes``, ``per_volume_gigabytes``,
``snapshots``, ``backups``, ``backup_gigabytes``, ``groups`` (:mod:`volumes.groups`) and the
per-type ones (``volumes_<type>``, ``gigabytes_<type>``, ``snapshots_<type>`` of every volume
type); a key that names no resource or no existing type is a 400.
"""
from __future__ import annotations

from flask import Blueprint, Response

from minicloud.wsgi import body_schema, json_body, json_response
from volumes import context, quotas, schema

bp = Blueprint("volume_quotas", __name__)


def _limits() -> quotas.QuotaLimits:
    svc = context.volumes()
    return quotas.QuotaLimits(svc.db, svc.settings.quota)


def _ints(values: dict) -> dict[str, int]:
    """Limits that passed :data:`volumes.schema.QUOTA_LIMIT` (integers or digit strings),
    without the keys Cinder ignores."""
    return {k: int(v) for k, v in values.items() if k not in schema.QUOTA_IGNORED}


@bp.get("/os-quota-sets/<target>", endpoint="show_quotas")
def show_quotas(project_id: str | None, target: str) -> Response:
    """The project's quotas (``openstack quota show``); ``?usage=True`` adds the use."""
    context.authorize_project("volume_extension:quotas:show", target)
    values: dict = _limits().of_project(target)
    if context.flag("usage"):
        used = _limits().in_use(target)
        values = {name: {"limit": limit, "in_use": used.get(name, 0), "reserved": 0,
                         "allocated": 0} for name, limit in values.items()}
    return json_response({"quota_set": {"id": target, **values}})


@bp.get("/os-quota-sets/<target>/defaults", endpoint="default_quotas")
def default_quotas(project_id: str | None, target: str) -> Response:
    context.authorize_project("volume_extension:quotas:show", target)
    return json_response({"quota_set": {"id": target, **_limits().of_class()}})


@bp.put("/os-quota-sets/<target>", endpoint="update_quotas")
@body_schema(schema.QUOTA_UPDATE)
def update_quotas(project_id: str | None, target: str) -> Response:
    """Set some limits of ``target`` (``openstack quota set --volumes N PROJECT``)."""
    context.authorize_project("volume_extension:quotas:update", target)
    values = _limits().set_project(target, _ints(json_body()["quota_set"]))
    return json_response({"quota_set": values})


@bp.delete("/os-quota-sets/<target>", endpoint="delete_quotas")
def delete_quotas(project_id: str | None, target: str) -> Response:
    """The project's limits back to the defaults (200, no body, as Cinder)."""
    context.authorize_project("volume_extension:quotas:delete", target)
    _limits().reset_project(target)
    return Response(status=200)


@bp.get("/os-quota-class-sets/<class_name>", endpoint="show_quota_class")
def show_quota_class(project_id: str | None, class_name: str) -> Response:
    context.authorize_project("volume_extension:quota_classes")
    values = _limits().of_class(class_name)
    return json_response({"quota_class_set": {"id": class_name, **values}})


@bp.put("/os-quota-class-sets/<class_name>", endpoint="update_quota_class")
@body_schema(schema.QUOTA_CLASS_UPDATE)
def update_quota_class(project_id: str | None, class_name: str) -> Response:
    """Set a class's limits; those of ``default`` are every project's defaults."""
    context.authorize_project("volume_extension:quota_classes")
    values = _limits().set_class(class_name[:255], _ints(json_body()["quota_class_set"]))
    return json_response({"quota_class_set": values})
