"""Cinder v3 volume transfers: ``/os-volume-transfer`` (every microversion) and
``/volume-transfers`` (3.55+, Cinder's newer path to the same thing): create, list (and
``/detail``), show, delete, accept. Logic in :mod:`volumes.transfers`.

Fields follow the microversion whatever the path (``no_snapshots`` 3.55; the projects and
``accepted`` 3.57), as Tempest's schemas check. A transfer is another project's business
until accepted: a caller of another project gets a 404 for it, except ``accept``.
"""
from __future__ import annotations

from flask import Blueprint, Response, request

from minicloud.validation import to_bool
from minicloud.wsgi import auth, body_schema, json_body, json_response
from volumes import context, schema, views
from volumes.transfers import TransferService

bp = Blueprint("volume_transfers", __name__)
NEW_PATH = 55  # /volume-transfers and no_snapshots
PREFIXES = ("/os-volume-transfer", "/volume-transfers")


def _transfers() -> TransferService:
    return context.transfers()


def _check_path() -> None:
    if "/volume-transfers" in request.path:
        context.need(NEW_PATH, "/volume-transfers")


def _routes(suffix: str, methods: list[str], endpoint: str):
    """Register a view under both paths."""
    def register(view):
        for prefix in PREFIXES:
            name = endpoint if prefix == PREFIXES[0] else f"{endpoint}_new"
            bp.add_url_rule(prefix + suffix, name, view, methods=methods)
        return view
    return register


@body_schema(schema.TRANSFER_CREATE, max_minor=54)
@body_schema(schema.TRANSFER_CREATE_V355, min_minor=55)
def create_transfer(project_id: str | None) -> Response:
    """Offer a volume (202); the answer's ``auth_key`` is never shown again."""
    _check_path()
    body = json_body()["transfer"]
    vol = context.volume(body["volume_id"], "volume:create_transfer")
    tr, key = _transfers().create(auth(), vol.id, body.get("name"),
                                  to_bool(body.get("no_snapshots", False)))
    return json_response({"transfer": views.transfer_view(tr, context.viewer(),
                                                          auth_key=key)}, 202)


def list_transfers(project_id: str | None) -> Response:
    _check_path()
    context.authorize_project("volume:get_all_transfers")
    everyone = context.flag("all_tenants") and context.is_admin()
    detail = request.path.endswith("/detail")
    found = _transfers().list(auth(), everyone)
    return json_response({"transfers": [views.transfer_view(t, context.viewer(), detail)
                                         for t in found]})


def show_transfer(project_id: str | None, transfer_id: str) -> Response:
    _check_path()
    tr = _transfers().get(auth(), transfer_id)
    context.authorize_project("volume:get_transfer", tr.source_project_id)
    return json_response({"transfer": views.transfer_view(tr, context.viewer())})


def delete_transfer(project_id: str | None, transfer_id: str) -> Response:
    _check_path()
    tr = _transfers().get(auth(), transfer_id)
    context.authorize_project("volume:delete_transfer", tr.source_project_id)
    _transfers().delete(auth(), tr.id)
    return Response(status=202)


@body_schema(schema.TRANSFER_ACCEPT)
def accept_transfer(project_id: str | None, transfer_id: str) -> Response:
    """Take the volume into the caller's project (202)."""
    _check_path()
    context.authorize_project("volume:accept_transfer")
    tr = _transfers().accept(auth(), transfer_id, json_body()["accept"]["auth_key"])
    return json_response({"transfer": views.transfer_view(tr, context.viewer(),
                                                          detail=False)}, 202)


_routes("", ["POST"], "create_transfer")(create_transfer)
_routes("", ["GET"], "list_transfers")(list_transfers)
_routes("/detail", ["GET"], "list_transfers_detail")(list_transfers)
_routes("/<transfer_id>", ["GET"], "show_transfer")(show_transfer)
_routes("/<transfer_id>", ["DELETE"], "delete_transfer")(delete_transfer)
_routes("/<transfer_id>/accept", ["POST"], "accept_transfer")(accept_transfer)
