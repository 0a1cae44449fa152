"""Cinder v3 snapshots: list (filters, sorting, pages), create, show, update, delete, the
admin actions and metadata. Bodies are checked by :mod:`volumes.schema` first; every view
enforces its Cinder policy against the snapshot's (or, for a create, the volume's) project:
a snapshot the caller cannot see is a 404 before any policy is asked, as for volumes.
Answers are shaped by :func:`volumes.views.snapshot_view`."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from minicloud.errors import BadRequest, NotFound
from minicloud.paging import Page, next_href
from minicloud.validation import to_bool
from minicloud.wsgi import auth, authorize, body_schema, json_body, json_response
from volumes import context, schema, snapshots, views
from volumes.models import VolumeSnapshot
from volumes.snapshots import SnapshotRequest, SnapshotService

bp = Blueprint("snapshots", __name__)
#: From 3.66 a snapshot of an in-use volume needs no ``force``; ``force=false`` is refused.
IN_USE_WITHOUT_FORCE = 66


def service() -> SnapshotService:
    return current_app.extensions["volume_snapshots"]


def snapshot(snapshot_id: str, rule: str) -> VolumeSnapshot:
    """The snapshot, if the caller may see it (else 404) and ``rule`` admits the caller on
    its project (else 403)."""
    snap = service().get(auth(), snapshot_id)
    authorize(rule, context.owner_target(snap.project_id, snap.user_id))
    return snap


def _extended(project_id: str) -> bool:
    return context.allowed("volume_extension:extended_snapshot_attributes", project_id)


# -- lists -------------------------------------------------------------------------------------
@bp.get("/snapshots", endpoint="list")
@bp.get("/snapshots/detail", endpoint="list_detail")
def list_snapshots(project_id: str | None) -> Response:
    context.authorize_project("volume:get_all_snapshots")
    q = snapshots.parse_query(request.args, context.version(), context.is_admin(),
                              context.allowed("volume:get_all_tenants"),
                              context.volumes().settings.zone)
    page = Page.from_args(request.args)
    rows = service().list(auth(), q)
    # After the marker (Cinder's 404 when unknown), then Cinder's offset, then the limit.
    if page.marker is not None and all(x.id != page.marker for x in rows):
        raise NotFound(f"Marker {page.marker[:64]} could not be found.")
    after = Page(len(rows) + 1, page.marker, False).apply(rows, lambda x: x.id)
    shown = after[q.offset:q.offset + page.limit]
    viewer = context.viewer()
    detail = request.path.endswith("/detail")
    body: dict = {"snapshots": [
        views.snapshot_view(x, viewer, detail, detail and _extended(x.project_id))
        for x in shown]}
    marker = page.next_marker(shown, lambda x: x.id)
    if marker is not None:
        args = {k: v for k, v in request.args.items() if k != "offset"}  # the marker moves on
        body["snapshots_links"] = [{"rel": "next", "href": next_href(
            request.base_url, args, marker)}]
    if q.with_count:
        body["count"] = len(rows)
    return json_response(body)


# -- create, show, update, delete ---------------------------------------------------------------
def _text(body: dict, key: str) -> dict:
    """``key`` or its ``display_`` spelling, if given (null clears it)."""
    for name in (f"display_{key}", key):
        if name in body:
            return {key: body[name]}
    return {}


@bp.post("/snapshots", endpoint="create")
@body_schema(schema.SNAPSHOT_CREATE)
def create_snapshot(project_id: str | None) -> Response:
    """202 with the snapshot (``creating``). ``force`` allows an ``in-use`` volume (a
    crash-consistent copy); from 3.66 it is not needed, and ``false`` is refused."""
    body = json_body()["snapshot"]
    if body["volume_id"] is None:
        raise NotFound("Volume None could not be found.")
    context.volume(body["volume_id"], "volume:create_snapshot")
    force = to_bool(body.get("force", False))
    if context.version().at_least(IN_USE_WITHOUT_FORCE):
        if "force" in body and not force:
            raise BadRequest("Invalid input received: Since microversion 3.66 the 'force' "
                             "flag is invalid for this request; false is not supported.")
        force = True
    req = SnapshotRequest(volume_id=body["volume_id"], metadata=dict(body.get("metadata") or {}),
                          force=force, **_text(body, "name"), **_text(body, "description"))
    snap = service().create(auth(), req)
    return json_response({"snapshot": views.snapshot_view(snap, context.viewer())}, 202)


@bp.get("/snapshots/<snapshot_id>", endpoint="show")
def show_snapshot(project_id: str | None, snapshot_id: str) -> Response:
    snap = snapshot(snapshot_id, "volume:get_snapshot")
    return json_response({"snapshot": views.snapshot_view(
        snap, context.viewer(), extended=_extended(snap.project_id))})


@bp.put("/snapshots/<snapshot_id>", endpoint="update")
@body_schema(schema.SNAPSHOT_UPDATE)
def update_snapshot(project_id: str | None, snapshot_id: str) -> Response:
    body = json_body()["snapshot"]
    snapshot(snapshot_id, "volume:update_snapshot")
    snap = service().update(auth(), snapshot_id,
                            {**_text(body, "name"), **_text(body, "description")})
    return json_response({"snapshot": views.snapshot_view(snap, context.viewer())})


@bp.delete("/snapshots/<snapshot_id>", endpoint="delete")
def delete_snapshot(project_id: str | None, snapshot_id: str) -> Response:
    snapshot(snapshot_id, "volume:delete_snapshot")
    service().delete(auth(), snapshot_id)
    return Response(status=202)


# -- actions -----------------------------------------------------------------------------------
def _reset_status(snapshot_id: str, params: dict) -> Response:
    snapshot(snapshot_id, "volume_extension:snapshot_admin_actions:reset_status")
    service().reset_status(auth(), snapshot_id, params["status"].lower())
    return Response(status=202)


def _force_delete(snapshot_id: str, params: dict) -> Response:
    snapshot(snapshot_id, "volume_extension:snapshot_admin_actions:force_delete")
    service().delete(auth(), snapshot_id, force=True)
    return Response(status=202)


def _update_status(snapshot_id: str, params: dict) -> Response:
    snapshot(snapshot_id, "snapshot_extension:snapshot_actions:update_snapshot_status")
    service().update_status(auth(), snapshot_id, params["status"].lower(),
                            params.get("progress"))
    return Response(status=202)


ACTIONS = {"os-reset_status": _reset_status, "os-force_delete": _force_delete,
           "os-update_snapshot_status": _update_status}
assert set(ACTIONS) == set(schema.SNAPSHOT_ACTIONS), "every action has a schema and a handler"


@bp.post("/snapshots/<snapshot_id>/action", endpoint="action")
@body_schema(schema.SNAPSHOT_ACTION)
def snapshot_action(project_id: str | None, snapshot_id: str) -> Response:
    name, params = next(iter(json_body().items()))
    if name not in ACTIONS:
        raise BadRequest(f"There is no such action: {name[:100]}. Verify the request body "
                         f"and Content-Type header and try again.")
    return ACTIONS[name](snapshot_id, params if isinstance(params, dict) else {})


# -- metadata (the same routes as a volume's) ----------------------------------------------------
@bp.get("/snapshots/<snapshot_id>/metadata", endpoint="show_metadata")
def show_metadata(project_id: str | None, snapshot_id: str) -> Response:
    snap = snapshot(snapshot_id, "volume:get_snapshot_metadata")
    return json_response({"metadata": dict(snap.metadata_ or {})})


@bp.route("/snapshots/<snapshot_id>/metadata", methods=["POST", "PUT"],
          endpoint="set_metadata")
@body_schema(schema.METADATA_BODY)
def set_metadata(project_id: str | None, snapshot_id: str) -> Response:
    """POST merges, PUT replaces (both ``volume:update_snapshot_metadata``, as Cinder)."""
    snapshot(snapshot_id, "volume:update_snapshot_metadata")
    merged = service().set_metadata(auth(), snapshot_id, json_body()["metadata"],
                                    replace=request.method == "PUT")
    return json_response({"metadata": merged})


@bp.get("/snapshots/<snapshot_id>/metadata/<key>", endpoint="show_meta")
def show_meta(project_id: str | None, snapshot_id: str, key: str) -> Response:
    meta = snapshot(snapshot_id, "volume:get_snapshot_metadata").metadata_ or {}
    if key not in meta:
        raise NotFound(f"Metadata item was not found: {key}")
    return json_response({"meta": {key: meta[key]}})


@bp.put("/snapshots/<snapshot_id>/metadata/<key>", endpoint="set_meta")
@body_schema(schema.META_ITEM)
def set_meta(project_id: str | None, snapshot_id: str, key: str) -> Response:
    meta = json_body()["meta"]
    if list(meta) != [key]:
        raise BadRequest("Request body and URI mismatch")
    snapshot(snapshot_id, "volume:update_snapshot_metadata")
    service().set_metadata(auth(), snapshot_id, meta)
    return json_response({"meta": meta})


@bp.delete("/snapshots/<snapshot_id>/metadata/<key>", endpoint="delete_meta")
def delete_meta(project_id: str | None, snapshot_id: str, key: str) -> Response:
    snapshot(snapshot_id, "volume:delete_snapshot_metadata")
    service().delete_metadata(auth(), snapshot_id, key)
    return Response(status=200)
