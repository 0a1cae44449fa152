"""Nova's volume snapshot proxy (``/os-snapshots``, 2.1-2.35): the volume API's snapshots in
Nova's legacy shape.

As the volume proxy (``compute.routes.volumes``), every call goes to the volume API *as the
caller*: they see the snapshots it lets them see, their project's quota applies (its refusal
is Nova's 403), and a snapshot of an ``in-use`` volume needs ``force``, as in Cinder. Each
route enforces Nova's ``os-volumes:snapshots`` rule first; from 2.36 the routes answer 404.
"""
from __future__ import annotations

from flask import Blueprint, Response

from compute import schema
from compute.proxy_views import snapshot_view
from compute.routes import PREFIX
from compute.routes.images import proxy_until
from compute.routes.volumes import PROXY_UNTIL, proxied_list, quota_is_403, volumes
from minicloud.validation import to_bool
from minicloud.wsgi import authorize, body_schema, json_body, json_response

bp = Blueprint("snapshots", __name__, url_prefix=PREFIX)
RULE = "os_compute_api:os-volumes:snapshots:%s"


@bp.get("/os-snapshots")
@bp.get("/os-snapshots/detail")
def list_snapshots() -> Response:
    return proxied_list(RULE, "snapshots", lambda client: client.list_snapshots(),
                        snapshot_view)


@bp.post("/os-snapshots")
@body_schema(schema.CREATE_SNAPSHOT, max_minor=PROXY_UNTIL, fallback=False)
def create_snapshot() -> Response:
    proxy_until(PROXY_UNTIL)
    authorize(RULE % "create")
    body = json_body()["snapshot"]
    snapshot = quota_is_403(lambda: volumes().create_snapshot(
        body["volume_id"], body.get("display_name"), body.get("display_description"),
        force=to_bool(body.get("force", False))))
    return json_response({"snapshot": snapshot_view(snapshot)})


@bp.get("/os-snapshots/<snapshot_id>")
def show_snapshot(snapshot_id: str) -> Response:
    proxy_until(PROXY_UNTIL)
    authorize(RULE % "show")
    return json_response({"snapshot": snapshot_view(volumes().get_snapshot(snapshot_id))})


@bp.delete("/os-snapshots/<snapshot_id>")
def delete_snapshot(snapshot_id: str) -> Response:
    proxy_until(PROXY_UNTIL)
    authorize(RULE % "delete")
    volumes().delete_snapshot(snapshot_id, missing_ok=False)
    return Response(status=202)
