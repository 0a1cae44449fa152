"""Cinder v3 backups: ``/backups`` create, list (and ``/detail``), show, update (3.9+),
delete, ``/restore``, ``/export_record`` and ``/import_record`` (admins), and the admins'
``/action`` (``os-reset_status``, ``os-force_delete``). Logic in :mod:`volumes.backups`.

Lists filter on ``name``, ``status`` and ``volume_id`` (Cinder's resource filters for
backups; admins also ``project_id`` with ``all_tenants``), sort as volumes do, page with
``limit``/``marker`` and a ``backups_links`` next link, and count with ``with_count`` (3.45).
Bodies follow the microversion (:data:`volumes.views.BACKUP_SINCE`).
"""
from __future__ import annotations

from flask import Blueprint, Response, request
from sqlalchemy import ColumnElement

from minicloud.paging import Page, next_href
from minicloud.validation import query_bool, to_bool
from minicloud.wsgi import auth, body_schema, json_body, json_response
from volumes import context, query, schema, views
from volumes.backups import SORT_COLUMNS, BackupRequest, BackupService
from volumes.models import VolumeBackup

bp = Blueprint("volume_backups", __name__)
UPDATE, PROJECT_ATTR, METADATA, ZONE, COUNT = 9, 18, 43, 51, 45
FILTERS = frozenset({"name", "status", "volume_id"})


def _backups() -> BackupService:
    return context.backups()


def _backup(backup_id: str, rule: str) -> VolumeBackup:
    """The backup if the caller sees it (404) and ``rule`` admits it on its project (403)."""
    b = _backups().get(auth(), backup_id)
    context.authorize_project(rule, b.project_id)
    return b


def _detail(rows: list[VolumeBackup]) -> list[dict]:
    viewer = context.viewer()
    dependent = _backups().dependents([b.id for b in rows])
    attr = context.version().at_least(PROJECT_ATTR) and \
        context.allowed("backup:backup_project_attribute")
    return [views.backup_view(b, viewer, b.id in dependent, attr) for b in rows]


def _conditions() -> list[ColumnElement]:
    """The list's filters: Cinder's ``name``, ``status`` and ``volume_id``, and an admin's
    ``project_id`` (with ``all_tenants``); an admin's other key matches nothing. Unlike the
    other lists, a non-admin's unknown filter is a 400 at every microversion."""
    given = query.caller_filters(request.args, context.version(), context.is_admin(),
                                 FILTERS, strict_from=0)
    return query.column_conditions(given, {k: SORT_COLUMNS[k] for k in (*FILTERS, "project_id")})


# -- lists, show ----------------------------------------------------------------------------------
@bp.get("/backups", endpoint="list")
@bp.get("/backups/detail", endpoint="list_detail")
def list_backups(project_id: str | None) -> Response:
    context.authorize_project("backup:get_all")
    everyone = context.flag("all_tenants") and context.is_admin()
    page = Page.from_args(request.args)
    rows = _backups().list(auth(), everyone, _conditions(),
                           query.sort_params(request.args, SORT_COLUMNS))
    shown = page.apply(rows, lambda b: b.id)
    viewer = context.viewer()
    body: dict = {"backups": _detail(shown) if request.path.endswith("/detail")
                  else [views.backup_summary(b, viewer) for b in shown]}
    marker = page.next_marker(shown, lambda b: b.id)
    if marker is not None:
        body["backups_links"] = [{"rel": "next", "href": next_href(
            request.base_url, request.args, marker)}]
    if context.version().at_least(COUNT) and query_bool(request.args, "with_count", False):
        body["count"] = len(rows)
    return json_response(body)


@bp.get("/backups/<backup_id>", endpoint="show")
def show_backup(project_id: str | None, backup_id: str) -> Response:
    return json_response({"backup": _detail([_backup(backup_id, "backup:get")])[0]})


# -- create, update, delete -----------------------------------------------------------------------
@body_schema(schema.BACKUP_CREATE, max_minor=42)
@body_schema(schema.BACKUP_CREATE_V343, min_minor=43, max_minor=50)
@body_schema(schema.BACKUP_CREATE_V351, min_minor=51)
def create_backup(project_id: str | None) -> Response:
    """Start a backup (202, the summary); the agent does the work."""
    body = {k: v for k, v in json_body()["backup"].items() if v is not None}
    context.authorize_project("backup:create")
    vol = context.volumes().get(auth(), body["volume_id"])  # 404 before any policy
    context.authorize_project("backup:create", vol.project_id)
    req = BackupRequest(volume_id=vol.id, name=body.get("name"),
                        description=body.get("description"), container=body.get("container"),
                        incremental=to_bool(body.get("incremental", False)),
                        force=to_bool(body.get("force", False)),
                        metadata=dict(body.get("metadata") or {}),
                        availability_zone=body.get("availability_zone"),
                        snapshot_id=body.get("snapshot_id"))
    backup = _backups().create(auth(), req)
    return json_response({"backup": views.backup_summary(backup, context.viewer())}, 202)


bp.add_url_rule("/backups", "create", create_backup, methods=["POST"])


@body_schema(schema.BACKUP_UPDATE, min_minor=UPDATE, max_minor=42)
@body_schema(schema.BACKUP_UPDATE_V343, min_minor=43)
def update_backup(project_id: str | None, backup_id: str) -> Response:
    """3.9+: name, description; 3.43+ metadata (replaced)."""
    context.need(UPDATE, "PUT /backups/{backup_id}")
    _backup(backup_id, "backup:update")
    b = _backups().update(auth(), backup_id, json_body()["backup"])
    return json_response({"backup": views.backup_summary(b, context.viewer())})


bp.add_url_rule("/backups/<backup_id>", "update", update_backup, methods=["PUT"])


@bp.delete("/backups/<backup_id>", endpoint="delete")
def delete_backup(project_id: str | None, backup_id: str) -> Response:
    _backup(backup_id, "backup:delete")
    _backups().delete(auth(), backup_id)
    return Response(status=202)


# -- restore --------------------------------------------------------------------------------------
@body_schema(schema.BACKUP_RESTORE)
def restore_backup(project_id: str | None, backup_id: str) -> Response:
    """Restore into ``volume_id`` or a new volume (202, ``{"restore": ...}``)."""
    params = json_body()["restore"] or {}
    _backup(backup_id, "backup:restore")
    volume_id = params.get("volume_id")
    if volume_id is not None:
        target = context.volumes().get(auth(), volume_id)
        context.authorize_project("backup:restore", target.project_id)
    b, vol = _backups().restore(auth(), backup_id, volume_id, params.get("name"))
    return json_response({"restore": {"backup_id": b.id, "volume_id": vol.id,
                                      "volume_name": vol.name or ""}}, 202)


bp.add_url_rule("/backups/<backup_id>/restore", "restore", restore_backup, methods=["POST"])


# -- export / import (admins) ---------------------------------------------------------------------
@bp.get("/backups/<backup_id>/export_record", endpoint="export_record")
def export_record(project_id: str | None, backup_id: str) -> Response:
    _backup(backup_id, "backup:export-import")
    return json_response({"backup-record": _backups().export_record(auth(), backup_id)})


@body_schema(schema.BACKUP_IMPORT)
def import_record(project_id: str | None) -> Response:
    """A backup from an exported record (201, the summary)."""
    context.authorize_project("backup:backup-import")
    record = json_body()["backup-record"]
    b = _backups().import_record(auth(), record["backup_service"], record["backup_url"])
    return json_response({"backup": views.backup_summary(b, context.viewer())}, 201)


bp.add_url_rule("/backups/import_record", "import_record", import_record, methods=["POST"])


# -- admin actions --------------------------------------------------------------------------------
@body_schema(schema.BACKUP_ACTION)
def backup_action(project_id: str | None, backup_id: str) -> Response:
    name, params = next(iter(json_body().items()))
    if name == "os-reset_status":
        _backup(backup_id, "volume_extension:backup_admin_actions:reset_status")
        _backups().reset_status(auth(), backup_id, params["status"])
    else:
        _backup(backup_id, "volume_extension:backup_admin_actions:force_delete")
        _backups().delete(auth(), backup_id, force=True)
    return Response(status=202)


bp.add_url_rule("/backups/<backup_id>/action", "action", backup_action, methods=["POST"])
