"""Cinder v3 HTTP API (volumes, metadata, actions, attachments): parse, call, render.

Every path exists both as ``/v3/{project_id}/...`` (the catalog's form) and project-less
``/v3/...``; a project id in the path must be the caller's (admins may name any). Version
discovery is at ``GET /`` and ``GET /v3/``. Errors have Cinder's shape,
``{"itemNotFound": {"code": 404, "message": "..."}}``.
"""
from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from flask import Flask, Response, g, request

from minicloud import errors, services
from minicloud.config import Config
from minicloud.db import Database
from minicloud.errors import BadRequest, NotFound
from minicloud.wsgi import auth, current_service, json_body, json_response, public
from minicloud.wsgi import create_app as base_app
from volumes import views
from volumes.attachments import AttachmentService, parse_connector
from volumes.glance import ImageClient
from volumes.microversion import (
    ATTACHMENT_COMPLETE,
    ATTACHMENTS,
    MAX_VERSION,
    MIN_VERSION,
    fmt,
    negotiate,
)
from volumes.service import Settings, VolumeService

POLICY = {
    "admin_api": "role:admin",
    "volume:get_all_tenants": "rule:admin_api",
    "volume_extension:services:index": "rule:admin_api",
    "volume:force_delete": "rule:admin_api",
    "volume_extension:volume_admin_actions:reset_status": "rule:admin_api",
}


def _enforce(rule: str) -> None:
    current_service().policy.enforce(rule, auth().credentials(), {})


def privileged() -> bool:
    """The compute service user or an admin: the caller's token, or an ``X-Service-Token``
    (as Nova sends with the user's token) that carries the admin role."""
    if auth().is_admin:
        return True
    service_token = request.headers.get("X-Service-Token")
    if not service_token:
        return False
    try:
        return current_service().tokens.validate(service_token).is_admin
    except errors.Unauthorized:
        return False


def _flag(name: str) -> bool:
    value = request.args.get(name)
    return value is not None and value.strip().lower() in ("", "1", "true", "yes")


def _version_entry(base: str) -> dict:
    return {"id": "v3.0", "status": "CURRENT", "version": fmt(MAX_VERSION),
            "min_version": fmt(MIN_VERSION), "updated": "2023-02-14T00:00:00Z",
            "links": [{"rel": "describedby", "type": "text/html",
                       "href": "https://docs.openstack.org/"},
                      {"rel": "self", "href": f"{base}/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.volume+json;version=3"}]}


def create_app(conf: Config, db: Database | None = None,
               image_client: Callable[[str], ImageClient] | None = None) -> Flask:
    """The volume API. ``image_client`` maps a caller's token to an image API client."""
    app = base_app("volume", conf, db, POLICY)
    if image_client is None:
        image_url = services.by_name("image").base_url(conf)

        def image_client(token: str) -> ImageClient:
            return ImageClient(image_url, lambda: token)

    svc = VolumeService(app.extensions["minicloud"].db, Settings.from_conf(conf), image_client)
    atts = AttachmentService(svc)
    app.extensions["volumes"] = svc

    def route(rule: str, **options) -> Callable:
        """Register a view under ``/v3/<project_id>RULE`` and ``/v3RULE``."""
        def register(view: Callable) -> Callable:
            app.add_url_rule(f"/v3/<project_id>{rule}", view_func=view, **options)
            app.add_url_rule(f"/v3{rule}", view_func=view, defaults={"project_id": None},
                             **options)
            return view
        return register

    @app.before_request
    def _microversion_and_project() -> None:
        g.mv = negotiate(request.headers)
        project_id = (request.view_args or {}).get("project_id")
        if project_id and "auth" in g and project_id != g.auth.project_id \
                and not g.auth.is_admin:
            raise BadRequest("Malformed request url: the project id in the URL is not the "
                             "token's project.")

    @app.after_request
    def _version_header(resp: Response) -> Response:
        resp.headers["OpenStack-API-Version"] = f"volume {getattr(g, 'mv', '3.0')}"
        resp.headers["Vary"] = "OpenStack-API-Version"
        return resp

    def base() -> str:
        return request.host_url.rstrip("/")

    def render(vol, full: bool = True) -> dict:
        return views.volume_view(vol, base(), auth().is_admin, full)

    @app.get("/")
    @public
    def versions() -> Response:
        return json_response({"versions": [_version_entry(base())]}, 300)

    @app.get("/v3")
    @app.get("/v3/")
    @public
    def version() -> Response:
        return json_response({"versions": [_version_entry(base())]})

    # -- services (admin): one cinder-volume per volume agent host --------------------------------
    @route("/os-services", methods=["GET"], endpoint="list_services")
    def list_services(project_id: str | None) -> Response:
        _enforce("volume_extension:services:index")
        host, binary = request.args.get("host"), request.args.get("binary")
        rows = [] if binary not in (None, "cinder-volume") else svc.hosts()
        services = [{
            "binary": "cinder-volume", "host": f"{row.name}@{row.backend}", "zone": "nova",
            "status": "enabled", "state": "up" if up else "down",
            "updated_at": row.heartbeat_at.strftime("%Y-%m-%dT%H:%M:%S.000000"),
            "disabled_reason": None, "cluster": None, "backend_state": "up" if up else "down",
            "replication_status": "disabled", "active_backend_id": None, "frozen": False}
            for row, up in rows]
        if host:
            services = [s for s in services if host in (s["host"], s["host"].split("@")[0])]
        return json_response({"services": services})

    # -- volumes -------------------------------------------------------------------------------
    @route("/volumes", methods=["GET"], endpoint="list_volumes")
    @route("/volumes/detail", methods=["GET"], endpoint="list_volumes_detail")
    def list_volumes(project_id: str | None) -> Response:
        everyone = _flag("all_tenants") or _flag("all_projects")
        if everyone:
            _enforce("volume:get_all_tenants")
        rows = svc.list(auth(), everyone, request.args.get("name"), request.args.get("status"))
        full = request.path.endswith("/detail")
        body = {"volumes": [render(v, full) for v in rows]}
        return json_response(_paginate(body, rows))

    def _paginate(body: dict, rows: list) -> dict:
        marker, limit = request.args.get("marker"), request.args.get("limit")
        ids = [r.id for r in rows]
        start = 0
        if marker:
            if marker not in ids:
                raise BadRequest(f"Invalid input received: marker {marker} not found.")
            start = ids.index(marker) + 1
        stop = len(ids)
        if limit is not None:
            stop = min(stop, start + views.size_value(limit, "limit"))
        body["volumes"] = body["volumes"][start:stop]
        if stop < len(ids):
            query = urlencode({**request.args.to_dict(), "marker": ids[stop - 1]})
            body["volumes_links"] = [{"rel": "next", "href": f"{base()}{request.path}?{query}"}]
        return body

    @route("/volumes", methods=["POST"], endpoint="create_volume")
    def create_volume(project_id: str | None) -> Response:
        vol = svc.create(auth(), views.parse_create(json_body()))
        return json_response({"volume": render(vol)}, 202)

    @route("/volumes/<volume_id>", methods=["GET"], endpoint="show_volume")
    def show_volume(project_id: str | None, volume_id: str) -> Response:
        return json_response({"volume": render(svc.get(auth(), volume_id))})

    @route("/volumes/<volume_id>", methods=["PUT"], endpoint="update_volume")
    def update_volume(project_id: str | None, volume_id: str) -> Response:
        vol = svc.update(auth(), volume_id, views.parse_update(json_body()))
        return json_response({"volume": render(vol)})

    @route("/volumes/<volume_id>", methods=["DELETE"], endpoint="delete_volume")
    def delete_volume(project_id: str | None, volume_id: str) -> Response:
        force = _flag("force")
        if force:
            _enforce("volume:force_delete")
        svc.delete(auth(), volume_id, force)  # ?cascade is accepted: there are no snapshots
        return Response(status=202)

    @route("/volumes/<volume_id>/action", methods=["POST"], endpoint="volume_action")
    def volume_action(project_id: str | None, volume_id: str) -> Response:
        body = json_body()
        if len(body) != 1:
            raise BadRequest("Invalid input: an action body holds exactly one action.")
        name, params = next(iter(body.items()))
        params = params if isinstance(params, dict) else {}
        ctx = auth()
        if name == "os-extend":
            if "new_size" not in params:
                raise BadRequest("Invalid input received: 'new_size' is required.")
            svc.extend(ctx, volume_id, views.size_value(params["new_size"], "new_size"))
            return Response(status=202)
        if name == "os-set_bootable":
            if "bootable" not in params:
                raise BadRequest("Invalid input received: 'bootable' is required.")
            svc.set_bootable(ctx, volume_id, views.parse_bool(params["bootable"], "bootable"))
            return Response(status=200)
        if name == "os-reset_status":
            _enforce("volume_extension:volume_admin_actions:reset_status")
            if not isinstance(params.get("status"), str):
                raise BadRequest("Invalid input received: 'status' is required.")
            svc.reset_status(ctx, volume_id, params["status"].lower())
            return Response(status=202)
        svc.get(ctx, volume_id)  # 404 first, as for every action on a missing volume
        raise BadRequest(f"Invalid input received: unsupported volume action {name!r}.")

    # -- metadata ------------------------------------------------------------------------------
    @route("/volumes/<volume_id>/metadata", methods=["GET"], endpoint="show_metadata")
    def show_metadata(project_id: str | None, volume_id: str) -> Response:
        return json_response({"metadata": dict(svc.get(auth(), volume_id).metadata_ or {})})

    @route("/volumes/<volume_id>/metadata", methods=["POST", "PUT"], endpoint="set_metadata")
    def set_metadata(project_id: str | None, volume_id: str) -> Response:
        items = views.metadata_value(json_body().get("metadata"))
        merged = svc.set_metadata(auth(), volume_id, items, replace=request.method == "PUT")
        return json_response({"metadata": merged})

    @route("/volumes/<volume_id>/metadata/<key>", methods=["GET"], endpoint="show_meta")
    def show_meta(project_id: str | None, volume_id: str, key: str) -> Response:
        meta = svc.get(auth(), volume_id).metadata_ or {}
        if key not in meta:
            raise NotFound(f"Metadata item was not found: {key}")
        return json_response({"meta": {key: meta[key]}})

    @route("/volumes/<volume_id>/metadata/<key>", methods=["PUT"], endpoint="set_meta")
    def set_meta(project_id: str | None, volume_id: str, key: str) -> Response:
        meta = views.metadata_value(json_body().get("meta"), "meta")
        if list(meta) != [key]:
            raise BadRequest("Invalid input: 'meta' must hold exactly the key of the URL.")
        svc.set_metadata(auth(), volume_id, meta)
        return json_response({"meta": meta})

    @route("/volumes/<volume_id>/metadata/<key>", methods=["DELETE"], endpoint="delete_meta")
    def delete_meta(project_id: str | None, volume_id: str, key: str) -> Response:
        svc.delete_metadata(auth(), volume_id, key)
        return Response(status=200)

    # -- attachments (3.27+) --------------------------------------------------------------------
    def need(minor: int) -> None:
        if not g.mv.at_least(minor):
            raise NotFound(f"The resource could not be found: attachments need "
                           f"OpenStack-API-Version: volume 3.{minor} or later (got {g.mv}).")

    @route("/attachments", methods=["GET"], endpoint="list_attachments")
    @route("/attachments/detail", methods=["GET"], endpoint="list_attachments_detail")
    def list_attachments(project_id: str | None) -> Response:
        need(ATTACHMENTS)
        rows = atts.list(auth(), request.args.get("volume_id"),
                         request.args.get("instance_id"))
        full = request.path.endswith("/detail")
        return json_response({"attachments": [views.attachment_view(a, full) for a in rows]})

    @route("/attachments/<attachment_id>", methods=["GET"], endpoint="show_attachment")
    def show_attachment(project_id: str | None, attachment_id: str) -> Response:
        need(ATTACHMENTS)
        att, _ = atts.get(auth(), attachment_id)
        return json_response({"attachment": views.attachment_view(att)})

    @route("/attachments", methods=["POST"], endpoint="create_attachment")
    def create_attachment(project_id: str | None) -> Response:
        need(ATTACHMENTS)
        body = views.resource(json_body(), "attachment")
        volume_id = views.text_value(body.get("volume_uuid"), "volume_uuid")
        instance = views.text_value(body.get("instance_uuid"), "instance_uuid")
        connector = parse_connector(body["connector"]) if "connector" in body else None
        if connector is not None and not privileged():
            raise errors.Forbidden("Only the compute service (or an admin) may connect.")
        attachment_id = atts.create(auth(), volume_id, instance)
        info = atts.update(auth(), attachment_id, connector).to_dict() if connector else None
        att, _ = atts.get(auth(), attachment_id)
        return json_response({"attachment": views.attachment_view(att, True, info)})

    @route("/attachments/<attachment_id>", methods=["PUT"], endpoint="update_attachment")
    def update_attachment(project_id: str | None, attachment_id: str) -> Response:
        need(ATTACHMENTS)
        body = views.resource(json_body(), "attachment")
        connector = parse_connector(body.get("connector"))
        atts.get(auth(), attachment_id)  # 404 before 403
        if not privileged():
            raise errors.Forbidden("Only the compute service (or an admin) may connect: the "
                                   "connection info carries the CHAP secret.")
        info = atts.update(auth(), attachment_id, connector)
        att, _ = atts.get(auth(), attachment_id)
        return json_response({"attachment": views.attachment_view(att, True, info.to_dict())})

    @route("/attachments/<attachment_id>/action", methods=["POST"],
           endpoint="attachment_action")
    def attachment_action(project_id: str | None, attachment_id: str) -> Response:
        need(ATTACHMENT_COMPLETE)
        body = json_body()
        if list(body) != ["os-complete"]:
            raise BadRequest("Invalid input: the only attachment action is os-complete.")
        atts.complete(auth(), attachment_id)
        return Response(status=204)

    @route("/attachments/<attachment_id>", methods=["DELETE"], endpoint="delete_attachment")
    def delete_attachment(project_id: str | None, attachment_id: str) -> Response:
        need(ATTACHMENTS)
        atts.delete(auth(), attachment_id, privileged())
        return json_response({"attachments": []})

    # -- limits and types ----------------------------------------------------------------------
    @route("/limits", methods=["GET"], endpoint="limits")
    def limits(project_id: str | None) -> Response:
        used_volumes, used_gb = svc.usage(auth().project_id)
        quota = svc.settings.quota
        return json_response({"limits": {"rate": [], "absolute": {
            "maxTotalVolumes": quota.volumes, "maxTotalVolumeGigabytes": quota.gigabytes,
            "totalVolumesUsed": used_volumes, "totalGigabytesUsed": used_gb,
            "maxTotalSnapshots": 0, "totalSnapshotsUsed": 0, "maxTotalBackups": 0,
            "totalBackupsUsed": 0, "maxTotalBackupGigabytes": 0,
            "totalBackupGigabytesUsed": 0}}})

    @route("/os-quota-sets/<target>", methods=["GET"], endpoint="show_quotas")
    def show_quotas(project_id: str | None, target: str) -> Response:
        """The project's quotas (``openstack quota show``); ``?usage=True`` adds the use."""
        if target != auth().project_id and not auth().is_admin:
            raise errors.Forbidden("Only admins see other projects' quotas.")
        quota = svc.settings.quota
        values = {"volumes": quota.volumes, "gigabytes": quota.gigabytes, "snapshots": 0,
                  "backups": 0, "backup_gigabytes": 0, "groups": 0,
                  "per_volume_gigabytes": -1}
        if _flag("usage"):
            used = dict(zip(("volumes", "gigabytes"), svc.usage(target),
                            strict=True))
            values = {name: {"limit": limit, "in_use": used.get(name, 0), "reserved": 0,
                             "allocated": 0} for name, limit in values.items()}
        return json_response({"quota_set": {"id": target, **values}})

    @route("/types", methods=["GET"], endpoint="list_types")
    def list_types(project_id: str | None) -> Response:
        return json_response({"volume_types": [views.DEFAULT_TYPE]})

    @route("/types/<type_id>", methods=["GET"], endpoint="show_type")
    def show_type(project_id: str | None, type_id: str) -> Response:
        if type_id not in (views.DEFAULT_TYPE["id"], views.DEFAULT_TYPE["name"]):
            raise NotFound(f"Volume type {type_id} could not be found.")
        return json_response({"volume_type": views.DEFAULT_TYPE})

    return app

