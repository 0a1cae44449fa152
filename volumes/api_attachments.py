"""Cinder v3 attachments (3.27+; ``os-complete`` 3.44+, ``mode`` 3.54+): the flow compute
uses to attach a volume (see :mod:`volumes.attachments`). Each route enforces Cinder's
``volume:attachment_*`` rule against the volume's project; on top of it, only a privileged
caller (the compute service or an admin) receives connection info or tears down a connected
attachment (CVE-2023-2088)."""
from __future__ import annotations

from flask import Blueprint, Response, request

from minicloud import errors
from minicloud.errors import BadRequest
from minicloud.paging import Page
from minicloud.wsgi import auth, body_schema, json_body, json_response
from volumes import context, schema, views
from volumes.attachments import AttachmentService, parse_connector
from volumes.microversion import ATTACHMENT_COMPLETE as COMPLETE
from volumes.microversion import ATTACHMENT_MODE as MODE
from volumes.microversion import ATTACHMENTS
from volumes.query import RESOURCE_FILTERS, sort_params

bp = Blueprint("attachments", __name__)


def _attachment(attachment_id: str, rule: str):
    """The attachment and its volume (404 unless visible), once ``rule`` admits the caller
    on the volume's project (else 403)."""
    att, vol = context.attachments().get(auth(), attachment_id)
    context.authorize_project(rule, vol.project_id)
    return att, vol


@bp.get("/attachments", endpoint="list")
@bp.get("/attachments/detail", endpoint="list_detail")
def list_attachments(project_id: str | None) -> Response:
    """Filters ``volume_id``, ``instance_id``, ``status``/``attach_status`` (another filter
    is a 400 from 3.31, ignored before); ``limit``, ``marker``, ``sort``; ``all_tenants``
    for admins."""
    context.need(ATTACHMENTS, "attachments")
    filters = {k: v for k, v in request.args.items() if k in AttachmentService.FILTERS}
    unknown = sorted(set(request.args) - set(AttachmentService.FILTERS) - {
        "limit", "marker", "offset", "sort", "sort_key", "sort_dir", "all_tenants"})
    if unknown and not context.is_admin() and context.version().at_least(RESOURCE_FILTERS):
        raise BadRequest(f"Invalid filters {','.join(unknown)} are found in query options.")
    everyone = context.flag("all_tenants") and context.is_admin()
    rows = context.attachments().list(auth(), filters, everyone,
                                      sort_params(request.args, AttachmentService.SORT_KEYS))
    page = Page.from_args(request.args)
    full = request.path.endswith("/detail")
    return json_response({"attachments": [views.attachment_view(a, full)
                                          for a in page.apply(rows, lambda a: a.id)]})


@bp.get("/attachments/<attachment_id>", endpoint="show")
def show_attachment(project_id: str | None, attachment_id: str) -> Response:
    context.need(ATTACHMENTS, "attachments")
    att, _ = context.attachments().get(auth(), attachment_id)
    return json_response({"attachment": views.attachment_view(att)})


@bp.post("/attachments", endpoint="create")
@body_schema(schema.ATTACHMENT_CREATE, max_minor=MODE - 1)
@body_schema(schema.ATTACHMENT_CREATE_V354, min_minor=MODE)
def create_attachment(project_id: str | None) -> Response:
    """Reserve the volume for an instance; with a connector, connect it too (privileged)."""
    context.need(ATTACHMENTS, "attachments")
    body = json_body()["attachment"]
    vol = context.volume(body["volume_uuid"], "volume:attachment_create")
    connector = parse_connector(body["connector"]) if body.get("connector") else None
    if connector is not None and not context.privileged():
        raise errors.Forbidden("Only the compute service (or an admin) may connect.")
    atts = context.attachments()
    attachment_id = atts.create(auth(), vol.id, body["instance_uuid"], body.get("mode"))
    info = atts.update(auth(), attachment_id, connector).to_dict() if connector else None
    att, _ = atts.get(auth(), attachment_id)
    return json_response({"attachment": views.attachment_view(att, True, info)})


@bp.put("/attachments/<attachment_id>", endpoint="update")
@body_schema(schema.ATTACHMENT_UPDATE)
def update_attachment(project_id: str | None, attachment_id: str) -> Response:
    context.need(ATTACHMENTS, "attachments")
    connector = parse_connector(json_body()["attachment"]["connector"])
    _attachment(attachment_id, "volume:attachment_update")  # 404, then 403
    if not context.privileged():
        raise errors.Forbidden("Only the compute service (or an admin) may connect: the "
                               "connection info carries the CHAP secret.")
    atts = context.attachments()
    info = atts.update(auth(), attachment_id, connector)
    att, _ = atts.get(auth(), attachment_id)
    return json_response({"attachment": views.attachment_view(att, True, info.to_dict())})


@bp.post("/attachments/<attachment_id>/action", endpoint="action")
@body_schema(schema.ATTACHMENT_COMPLETE)
def attachment_action(project_id: str | None, attachment_id: str) -> Response:
    """The one attachment action, ``os-complete`` (3.44+): 204."""
    context.need(COMPLETE, "os-complete")
    _attachment(attachment_id, "volume:attachment_complete")
    context.attachments().complete(auth(), attachment_id)
    return Response(status=204)


@bp.delete("/attachments/<attachment_id>", endpoint="delete")
def delete_attachment(project_id: str | None, attachment_id: str) -> Response:
    context.need(ATTACHMENTS, "attachments")
    _attachment(attachment_id, "volume:attachment_delete")
    context.attachments().delete(auth(), attachment_id, context.privileged())
    return json_response({"attachments": []})
