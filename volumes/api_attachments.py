"""Cinder v3 attachments (3.27+; ``os-complete`` 3.44+, ``mode`` 3.54+): the flow compute
uses to attach a volume (see :mod:`volumes.attachments`). Each route enforces Cinder's
``volume:attachment_*`` rule against the volume's project; on top of it, only a privileged
caller (the compute service or an admin) receives connection info or tears down a connected
attachment (CVE-2023-2088)."""
from __future__ import annotations

from flask import Blueprint, Response, request

from minicloud import errors
from minicloud.paging import Page
from minicloud.wsgi import auth, body_schema, json_body, json_response
from volumes import context, schema, views
from volumes.attachments import AttachmentService, parse_connector
from volumes.microversion import ATTACHMENT_COMPLETE as COMPLETE
from volumes.microversion import ATTACHMENT_MODE as MODE
from volumes.microversion import ATTACHMENTS
from volumes.query import CONTROL, caller_filters, sort_params

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
    """Filters ``volume_id``, ``instance_id``, ``status``/``attach_status`` (a non-admin's
    other filter is a 400 from 3.31, ignored before; an admin's is ignored); ``limit``,
    ``marker``, ``sort``; ``all_tenants`` for admins."""
    context.need(ATTACHMENTS, "attachments")
    # with_count is no list parameter of attachments: a non-admin's is an unknown filter.
    given = caller_filters(request.args, context.version(), context.is_admin(),
                           frozenset(AttachmentService.FILTERS), CONTROL - {"with_count"})
    # An admin's other keys are ignored, not a list of nothing: `openstack volume attachment
    # list --project` sends project_id, which this list does not filter on.
    filters = {k: v for k, v in given.items() if k in AttachmentService.FILTERS}
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
