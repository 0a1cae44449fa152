"""Cinder v3 HTTP API: the app, version discovery, os-services, availability zones, the
extension list, limits.

Volumes, actions and metadata are in :mod:`volumes.api_volumes`, snapshots in
:mod:`volumes.api_snapshots`, attachments in
:mod:`volumes.api_attachments`, types in :mod:`volumes.api_types`, qos-specs in
:mod:`volumes.api_qos`, quotas in
:mod:`volumes.api_quotas`, transfers in :mod:`volumes.api_transfers`, backups in
:mod:`volumes.api_backups`, type encryption in :mod:`volumes.api_encryption`, group types in
:mod:`volumes.api_group_types`, groups and group snapshots in :mod:`volumes.api_groups`; each
is a blueprint
registered twice, under ``/v3/{project_id}/...`` (the catalog's form) and project-less
``/v3/...`` (3.67). A project id in the path must be the caller's (admins may name any).
Policies are :data:`volumes.policies.RULES`; request bodies are checked against
:mod:`volumes.schema`; answers are shaped by the negotiated microversion
(:mod:`volumes.views`). Errors have Cinder's shape,
``{"itemNotFound": {"code": 404, "message": "..."}}``.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Flask, Response, current_app, g, request

from minicloud import services
from minicloud.config import Config
from minicloud.db import Database
from minicloud.errors import BadRequest
from minicloud.wsgi import auth, json_response, public
from minicloud.wsgi import create_app as base_app
from volumes import (
    api_attachments,
    api_backups,
    api_encryption,
    api_group_types,
    api_groups,
    api_hosts,
    api_messages,
    api_pools,
    api_qos,
    api_quotas,
    api_services,
    api_snapshots,
    api_transfers,
    api_types,
    api_volumes,
    context,
    views,
)
from volumes.actions import VolumeActions
from volumes.attachments import AttachmentService
from volumes.backup_store import BackupStore
from volumes.backups import BackupService
from volumes.encryption import EncryptionService
from volumes.glance import ImageClient
from volumes.group_snapshots import GroupSnapshotService
from volumes.group_types import GroupTypeService
from volumes.groups import GroupService
from volumes.messages import MessageService
from volumes.microversion import MAX_VERSION, MIN_VERSION, fmt, negotiate
from volumes.policies import RULES
from volumes.qos import QosService
from volumes.retype import RetypeService
from volumes.revert import RevertService
from volumes.service import Settings, VolumeService
from volumes.snapshots import SnapshotService
from volumes.transfers import TransferService
from volumes.types import TypeService
from volumes.upload import UploadService

bp = Blueprint("volume_misc", __name__)
LIMITS_PROJECT = 39  # 3.39: admins may ask for another project's limits


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
    app = base_app("volume", conf, db, RULES)
    if image_client is None:
        image_url = services.by_name("image").base_url(conf)

        def image_client(token: str) -> ImageClient:
            return ImageClient(image_url, lambda: token)

    svc = VolumeService(app.extensions["minicloud"].db, Settings.from_conf(conf), image_client)
    app.extensions["volumes"] = svc
    app.extensions["volume_attachments"] = AttachmentService(svc)
    app.extensions["volume_actions"] = VolumeActions(svc)
    app.extensions["volume_types"] = TypeService(svc.db)
    app.extensions["volume_qos"] = QosService(svc.db)
    app.extensions["volume_transfers"] = TransferService(svc)
    app.extensions["volume_snapshots"] = SnapshotService(svc.db, svc)
    app.extensions["volume_backups"] = BackupService(svc, BackupStore(
        conf.path(conf.volume.backup_path), conf.volume.backup_chunk_size))
    app.extensions["volume_upload"] = UploadService(svc)
    app.extensions["volume_retype"] = RetypeService(svc)
    app.extensions["volume_encryption"] = EncryptionService(svc.db)
    app.extensions["volume_messages"] = MessageService(svc.db)
    app.extensions["volume_revert"] = RevertService(svc)
    app.extensions["volume_group_types"] = GroupTypeService(svc.db,
                                                            conf.volume.default_group_type)
    app.extensions["volume_groups"] = GroupService(svc.db, svc, app.extensions["volume_types"])
    app.extensions["volume_group_snapshots"] = GroupSnapshotService(svc.db, svc)
    for blueprint in (api_volumes.bp, api_attachments.bp, api_types.bp, api_qos.bp,
                      api_quotas.bp, api_transfers.bp, api_snapshots.bp, api_backups.bp,
                      api_pools.bp, api_hosts.bp, api_services.bp, api_messages.bp,
                      api_group_types.bp, api_groups.bp, api_encryption.bp, bp):
        app.register_blueprint(blueprint, url_prefix="/v3/<project_id>")
        app.register_blueprint(blueprint, url_prefix="/v3", name=f"{blueprint.name}_v3",
                               url_defaults={"project_id": None})

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

    @app.get("/")
    @public
    def versions() -> Response:
        return json_response({"versions": [_version_entry(request.host_url.rstrip("/"))]},
                             300)

    @app.get("/v3")
    @app.get("/v3/")
    @public
    def version() -> Response:
        return json_response({"versions": [_version_entry(request.host_url.rstrip("/"))]})

    return app


# -- services (admin): a cinder-volume and a cinder-backup per volume agent host ---------------
@bp.get("/os-services", endpoint="list_services")
def list_services(project_id: str | None) -> Response:
    context.authorize_project("volume_extension:services:index")
    host, binary = request.args.get("host"), request.args.get("binary")
    rows = context.volumes().hosts()
    zone = context.volumes().settings.zone
    # Each volume agent also runs the backups (Cinder's cinder-backup, host without backend).
    found = [views.service_view(row, up, context.version(), zone, binary)
             for binary in ("cinder-volume", "cinder-backup") for row, up in rows]
    if binary is not None:
        found = [s for s in found if s["binary"] == binary]
    if host:
        found = [s for s in found if host in (s["host"], s["host"].split("@")[0])]
    return json_response({"services": found})


# -- availability zones, extensions (any valid token, as Cinder) ---------------------------------
@bp.get("/os-availability-zone", endpoint="availability_zones")
def availability_zones(project_id: str | None) -> Response:
    """The one zone (``[volume] storage_availability_zone``), available while a volume agent
    reports (``openstack availability zone list --volume``)."""
    available = any(up for _, up in context.volumes().hosts())
    return json_response({"availabilityZoneInfo": [
        {"zoneName": context.volumes().settings.zone,
         "zoneState": {"available": available}}]})


#: The Cinder API extensions whose behaviour this API has: (alias, name, description).
EXTENSIONS = (
    ("os-admin-actions", "AdminActions", "Enable admin actions."),
    ("capabilities", "Capabilities", "Capabilities support."),
    ("os-availability-zone", "AvailabilityZones", "Describe Availability Zones."),
    ("os-extended-snapshot-attributes", "ExtendedSnapshotAttributes",
     "Extended SnapshotAttributes support."),

    ("backups", "Backups", "Backups support."),
    ("os-backup-project-attr", "BackupProjectAttribute", "Expose project_id as an "
                                                         "attribute of a backup."),
    ("qos-specs", "Qos_specs_manage", "QoS specs support."),
    ("os-quota-class-sets", "QuotaClasses", "Quota classes management support."),
    ("os-quota-sets", "Quotas", "Quota management support."),
    ("os-hosts", "Hosts", "Admin-only host administration."),
    ("os-services", "Services", "Services support."),
    ("os-snapshot-actions", "SnapshotActions", "Enable snapshot manager actions."),
    ("scheduler-stats", "Scheduler_stats", "Scheduler stats support."),
    ("os-types-extra-specs", "TypesExtraSpecs", "Type extra specs support."),
    ("os-types-manage", "TypesManage", "Types manage support."),
    ("os-used-limits", "UsedLimits", "Provide data on limited resources that are being "
                                     "used."),
    ("os-vol-host-attr", "VolumeHostAttribute", "Expose host as an attribute of a volume."),
    ("os-vol-image-meta", "VolumeImageMetadata", "Show image metadata associated with the "
                                                 "volume."),
    ("os-vol-mig-status-attr", "VolumeMigStatusAttribute", "Expose migration_status as an "
                                                           "attribute of a volume."),
    ("os-vol-tenant-attr", "VolumeTenantAttribute", "Expose the internal project_id as an "
                                                    "attribute of a volume."),
    ("os-volume-actions", "VolumeActions", "Enable volume actions."),
    ("os-volume-transfer", "VolumeTransfer", "Volume transfer management support."),
    ("os-volume-type-access", "VolumeTypeAccess", "Volume type access support."),
    ("encryption", "VolumeTypeEncryption", "Encryption support for volume types."),
)
EXTENSIONS_UPDATED = "2023-02-14T00:00:00Z"  # the API's own date (as the version document)


@bp.get("/extensions", endpoint="list_extensions")
def list_extensions(project_id: str | None) -> Response:
    return json_response({"extensions": [
        {"alias": alias, "name": name, "description": description, "links": [],
         "updated": EXTENSIONS_UPDATED} for alias, name, description in EXTENSIONS]})


# -- limits, quotas --------------------------------------------------------------------------------
@bp.get("/limits", endpoint="limits")
def limits(project_id: str | None) -> Response:
    """Limits and (``limits_extension:used_limits``) usage of the caller's project, or from
    3.39 of ``?project_id=`` for admins."""
    target = auth().project_id
    asked = request.args.get("project_id")
    if asked and context.version().at_least(LIMITS_PROJECT) and context.is_admin():
        target = asked
    quota = context.volumes().limits(target)
    absolute = {"maxTotalVolumes": quota["volumes"],
                "maxTotalVolumeGigabytes": quota["gigabytes"],
                "maxTotalSnapshots": quota["snapshots"], "maxTotalBackups": quota["backups"],
                "maxTotalBackupGigabytes": quota["backup_gigabytes"]}
    if context.allowed("limits_extension:used_limits", target):
        used_volumes, used_gb = context.volumes().usage(target)
        used_backups, used_backup_gb = context.backups().usage(target)
        absolute.update({"totalVolumesUsed": used_volumes, "totalGigabytesUsed": used_gb,
                         "totalSnapshotsUsed": current_app.extensions[
                             "volume_snapshots"].count(target),
                         "totalBackupsUsed": used_backups,
                         "totalBackupGigabytesUsed": used_backup_gb})
    return json_response({"limits": {"rate": [], "absolute": absolute}})
