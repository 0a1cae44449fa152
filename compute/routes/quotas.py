"""Quotas (``os-quota-sets``: show, detail, defaults, update, reset), quota classes
(``os-quota-class-sets``: the ``default`` class holds every project's defaults) and
``/limits``."""
from __future__ import annotations

from flask import Blueprint, Response, request

from compute import schema
from compute.routes import PREFIX, compute, mv
from compute.views import limits_view, quota_class_view, quota_set_view
from minicloud.errors import BadRequest
from minicloud.validation import to_bool
from minicloud.wsgi import auth, authorize, body_schema, json_body, json_response

bp = Blueprint("quotas", __name__, url_prefix=PREFIX)
RULE = "os_compute_api:os-quota-sets:%s"


def _target(project_id: str) -> dict:
    return {"project_id": project_id}


@bp.get("/os-quota-sets/<project_id>")
@bp.get("/os-quota-sets/<project_id>/detail")
def show_quotas(project_id: str) -> Response:
    detail = request.path.endswith("/detail")
    authorize(RULE % ("detail" if detail else "show"), _target(project_id))
    svc = compute().service
    used = svc.usage(project_id) if detail else None
    return json_response({"quota_set": quota_set_view(svc.quota_limits(project_id), mv(),
                                                      project_id, used)})


@bp.get("/os-quota-sets/<project_id>/defaults")
def default_quotas(project_id: str) -> Response:
    authorize(RULE % "defaults", _target(project_id))
    return json_response({"quota_set": quota_set_view(
        compute().service.default_quotas(), mv(), project_id)})


@bp.put("/os-quota-sets/<project_id>")
@body_schema(schema.UPDATE_QUOTAS, max_minor=35)
@body_schema(schema.UPDATE_QUOTAS_V236, min_minor=36, max_minor=56)
@body_schema(schema.UPDATE_QUOTAS_V257, min_minor=57)
def update_quotas(project_id: str) -> Response:
    """Set the project's own limits (-1: unlimited); below what is in use is a 400 unless
    ``force``."""
    authorize(RULE % "update", _target(project_id))
    body = dict(json_body()["quota_set"])
    force = to_bool(body.pop("force", False))
    values = compute().service.update_quotas(
        project_id, {k: int(v) for k, v in body.items()}, force)
    return json_response({"quota_set": quota_set_view(values, mv())})


@bp.delete("/os-quota-sets/<project_id>")
def reset_quotas(project_id: str) -> Response:
    authorize(RULE % "delete", _target(project_id))
    compute().service.reset_quotas(project_id)
    return Response(status=202)


# -- quota classes --------------------------------------------------------------------------------
CLASSES = "os_compute_api:os-quota-class-sets:%s"


@bp.get("/os-quota-class-sets/<class_name>")
def show_quota_class(class_name: str) -> Response:
    """A quota class's limits (any name; only ``default`` is used: every project's
    defaults)."""
    authorize(CLASSES % "show")
    return json_response({"quota_class_set": quota_class_view(
        compute().service.quota_class(class_name), mv(), class_name)})


@bp.put("/os-quota-class-sets/<class_name>")
@body_schema(schema.UPDATE_QUOTA_CLASS, max_minor=49)
@body_schema(schema.UPDATE_QUOTA_CLASS_V250, min_minor=50, max_minor=56)
@body_schema(schema.UPDATE_QUOTA_CLASS_V257, min_minor=57)
def update_quota_class(class_name: str) -> Response:
    """Set a quota class's limits (-1: unlimited); ``default`` changes the defaults of every
    project without a limit of its own, at once (no usage check, as Nova)."""
    authorize(CLASSES % "update")
    if len(class_name) > 255:
        raise BadRequest("quota_class_name has a maximum length of 255 characters.")
    values = {k: int(v) for k, v in json_body()["quota_class_set"].items()}
    return json_response({"quota_class_set": quota_class_view(
        compute().service.update_quota_class(class_name, values), mv())})


@bp.get("/limits")
def show_limits() -> Response:
    """The caller's project's limits and usage (an admin may name another ``tenant_id``)."""
    authorize("os_compute_api:limits")
    project_id = request.args.get("tenant_id") or auth().project_id
    if project_id != auth().project_id:
        authorize("os_compute_api:limits:other_project", _target(project_id))
    svc = compute().service
    return json_response(limits_view(svc.quota_limits(project_id), svc.usage(project_id),
                                     mv()))
