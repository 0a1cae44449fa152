"""Cinder v3 representations, shaped by the negotiated microversion and the caller's rights.

A field appears from the microversion that introduced it (:data:`VOLUME_SINCE`,
:data:`SERVICE_SINCE`, checked against Tempest's ``volume/v3_*`` response schemas) and only
for the callers Cinder shows it to: ``migration_status``, ``provider_id``, ``cluster_name``
and an attachment's ``host_name`` to admins; the ``os-vol-*`` attributes and
``volume_image_metadata`` only in ``show`` and ``detail`` answers (Cinder adds them there,
never to create or update answers), each under its policy. ``bootable`` is the string
``"true"``/``"false"``, timestamps ``YYYY-MM-DDTHH:MM:SS.ffffff``. CHAP credentials are never
part of a volume, for anybody.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from minicloud.microversion import Version, shape
from volumes import states
from volumes.models import (
    DEFAULT_TYPE_ID,
    GroupSnapshot,
    GroupType,
    QosSpecs,
    Volume,
    VolumeAttachment,
    VolumeBackup,
    VolumeGroup,
    VolumeHost,
    VolumeSnapshot,
    VolumeTransfer,
    VolumeType,
)

DEFAULT_TYPE_NAME = "__DEFAULT__"

#: Volume fields and the minor version that introduced them (cinder/api/v3/views/volumes.py).
VOLUME_SINCE: dict[str, int] = {"group_id": 13, "provider_id": 21, "shared_targets": 48,
                                "service_uuid": 48, "cluster_name": 61,
                                "volume_type_id": 63, "consumes_quota": 65}
#: Fields only admins see (Cinder's ``context.is_admin`` tests in the view builder).
VOLUME_ADMIN_ONLY = frozenset({"migration_status", "provider_id", "cluster_name"})
#: os-services fields by microversion: ``cluster`` 3.7, ``backend_state`` 3.49.
SERVICE_SINCE: dict[str, int] = {"cluster": 7, "backend_state": 49}
#: ``with_count`` (3.45) adds ``count`` to volume lists.
COUNT_SINCE = 45


@dataclass(frozen=True)
class Viewer:
    """What one request's caller sees: decided once per request from the policies."""

    version: Version
    base: str                      # the endpoint's scheme://host:port
    admin: bool = False            # Cinder's context.is_admin
    host_attr: bool = False        # volume_extension:volume_host_attribute
    tenant_attr: bool = False      # volume_extension:volume_tenant_attribute
    mig_attr: bool = False         # volume_extension:volume_mig_status_attribute
    image_meta: bool = False       # volume_extension:volume_image_metadata:show
    backends: Mapping[str, str] = field(default_factory=dict)  # agent host -> backend name
    type_names: Mapping[str, str] = field(default_factory=dict)  # volume type id -> name
    encrypted_types: frozenset[str] = frozenset()  # ids of types with an encryption spec


def ts(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None


def _links(base: str, kind: str, ident: str, project_id: str) -> list[dict]:
    return [{"rel": "self", "href": f"{base}/v3/{project_id}/{kind}/{ident}"},
            {"rel": "bookmark", "href": f"{base}/{project_id}/{kind}/{ident}"}]


def volume_attachment(vol: Volume, att: VolumeAttachment, admin: bool) -> dict:
    """An attachment as a volume lists it (``host_name`` for admins and services only)."""
    return {"id": vol.id, "attachment_id": att.id, "volume_id": vol.id,
            "server_id": att.server_id, "host_name": att.host if admin else None,
            "device": att.device, "attached_at": ts(att.attached_at)}


def backend_host(vol: Volume, backends: Mapping[str, str]) -> str | None:
    """Cinder's ``host@backend#pool`` (the pool is the backend itself here)."""
    if vol.host is None:
        return None
    backend = backends.get(vol.host, "unknown")
    return f"{vol.host}@{backend}#{backend}"


def volume_summary(vol: Volume, viewer: Viewer) -> dict:
    return {"id": vol.id, "name": vol.name,
            "links": _links(viewer.base, "volumes", vol.id, vol.project_id)}


def volume_view(vol: Volume, viewer: Viewer, extended: bool = True) -> dict:
    """The detailed volume; ``extended`` (show and detail, not create or update) adds the
    attributes Cinder's extensions add, each as its policy allows."""
    view: dict[str, Any] = {
        **volume_summary(vol, viewer),
        "status": vol.status, "size": vol.size, "availability_zone": vol.availability_zone,
        "created_at": ts(vol.created_at), "updated_at": ts(vol.updated_at),
        "description": vol.description,
        "volume_type": viewer.type_names.get(vol.volume_type_id, DEFAULT_TYPE_NAME),
        "snapshot_id": vol.snapshot_id, "source_volid": vol.source_volid,
        "metadata": dict(vol.metadata_ or {}),
        "user_id": vol.user_id, "bootable": "true" if vol.bootable else "false",
        "encrypted": vol.volume_type_id in viewer.encrypted_types,
        "replication_status": "disabled", "consistencygroup_id": None,
        "multiattach": False,
        "attachments": [volume_attachment(vol, a, viewer.admin) for a in vol.attachments
                        if a.status == states.A_ATTACHED],
        "migration_status": None, "group_id": vol.group_id, "provider_id": None,
        "shared_targets": False, "service_uuid": None, "cluster_name": None,
        "volume_type_id": vol.volume_type_id or DEFAULT_TYPE_ID, "consumes_quota": True,
    }
    if not viewer.admin:
        view = {k: v for k, v in view.items() if k not in VOLUME_ADMIN_ONLY}
    view = shape(view, viewer.version, VOLUME_SINCE)
    if not extended:
        return view
    if viewer.tenant_attr:
        view["os-vol-tenant-attr:tenant_id"] = vol.project_id
    if viewer.host_attr:
        view["os-vol-host-attr:host"] = backend_host(vol, viewer.backends)
    if viewer.mig_attr:
        view["os-vol-mig-status-attr:migstat"] = None
        view["os-vol-mig-status-attr:name_id"] = None
    if viewer.image_meta and vol.image_metadata:
        view["volume_image_metadata"] = dict(vol.image_metadata)
    return view


def attachment_view(att: VolumeAttachment, full: bool = True,
                    connection_info: dict | None = None) -> dict:
    """Cinder's attachment: the summary, or the detail with times ('' when unset, as
    Cinder's view builder writes them), mode and connection info."""
    view: dict[str, Any] = {"id": att.id, "status": att.status, "instance": att.server_id,
                            "volume_id": att.volume_id}
    if full:
        view.update({"attached_at": ts(att.attached_at) or "", "detached_at": "",
                     "attach_mode": att.attach_mode, "connection_info": connection_info})
    return view


def service_view(row: VolumeHost, up: bool, version: Version, zone: str,
                 binary: str = "cinder-volume") -> dict:
    """One service of a volume agent's host (``cinder-volume`` as ``host@backend``,
    ``cinder-backup`` as ``host``) as ``GET /os-services`` lists it; the
    ``disabled_reason``/replication fields are those of Cinder's extended view."""
    state, reason = ("up" if up else "down"), row.reason(binary)
    host = f"{row.name}@{row.backend}" if binary == "cinder-volume" else row.name
    return shape({
        "binary": binary, "host": host, "zone": zone,
        "status": "enabled" if reason is None else "disabled", "state": state,
        "updated_at": ts(row.heartbeat_at), "cluster": None, "backend_state": state,
        "disabled_reason": reason or None, "replication_status": "disabled",
        "active_backend_id": None, "frozen": bool(row.frozen),
    }, version, SERVICE_SINCE)


def volume_type_view(vtype: VolumeType, extra_specs: Mapping[str, str] | None, qos: bool,
                     access_attr: bool) -> dict:
    """A volume type: ``extra_specs`` None leaves them out, ``qos`` adds ``qos_specs_id``
    (admins, Cinder's policy), ``access_attr`` ``os-volume-type-access:is_public``."""
    view: dict[str, Any] = {"id": vtype.id, "name": vtype.name,
                            "description": vtype.description, "is_public": vtype.is_public}
    if extra_specs is not None:
        view["extra_specs"] = dict(extra_specs)
    if access_attr:
        view["os-volume-type-access:is_public"] = vtype.is_public
    if qos:
        view["qos_specs_id"] = vtype.qos_specs_id
    return view


def qos_view(qos: QosSpecs) -> dict:
    return {"id": qos.id, "name": qos.name, "consumer": qos.consumer,
            "specs": dict(qos.specs or {})}


def qos_links(viewer: Viewer, qos: QosSpecs) -> list[dict]:
    return [{"rel": "self", "href": f"{viewer.base}/v3/qos-specs/{qos.id}"},
            {"rel": "bookmark", "href": f"{viewer.base}/qos-specs/{qos.id}"}]


#: Transfer fields by microversion (Tempest's volume/v3_55, v3_57 transfer schemas).
TRANSFER_SINCE: dict[str, int] = {"no_snapshots": 55, "destination_project_id": 57,
                                  "source_project_id": 57, "accepted": 57}


def transfer_view(tr: VolumeTransfer, viewer: Viewer, detail: bool = True,
                  auth_key: str | None = None) -> dict:
    """A transfer: the summary (id, name, volume_id, links) or the detail; ``auth_key`` is
    given once, in the create answer."""
    view: dict[str, Any] = {"id": tr.id, "name": tr.name, "volume_id": tr.volume_id,
                            "links": _links(viewer.base, "os-volume-transfer", tr.id,
                                            tr.source_project_id)}
    if not detail:
        return view
    view.update({"created_at": ts(tr.created_at), "no_snapshots": tr.no_snapshots,
                 "destination_project_id": tr.destination_project_id,
                 "source_project_id": tr.source_project_id, "accepted": tr.accepted})
    if auth_key is not None:
        view["auth_key"] = auth_key
    return shape(view, viewer.version, TRANSFER_SINCE)


#: Snapshot fields of the detailed view by microversion (cinder/api/v3/views/snapshots.py).
SNAPSHOT_SINCE: dict[str, int] = {"group_snapshot_id": 14, "user_id": 41, "consumes_quota": 65}


def snapshot_view(snap: VolumeSnapshot, viewer: Viewer, detail: bool = True,
                  extended: bool = False) -> dict:
    """A snapshot: the summary (Cinder's index list: the 3.0 fields) or the detail (create,
    update, show and the detail list: the microversion's fields); ``extended`` (show and the
    detail list, under ``volume_extension:extended_snapshot_attributes``) adds the
    ``os-extended-snapshot-attributes:`` project and progress."""
    view: dict[str, Any] = {
        "id": snap.id, "created_at": ts(snap.created_at), "updated_at": ts(snap.updated_at),
        "name": snap.name, "description": snap.description, "volume_id": snap.volume_id,
        "status": snap.status, "size": snap.size, "metadata": dict(snap.metadata_ or {})}
    if detail:
        view.update({"group_snapshot_id": snap.group_snapshot_id, "user_id": snap.user_id,
                     "consumes_quota": True})
        view = shape(view, viewer.version, SNAPSHOT_SINCE)
    if extended:
        view["os-extended-snapshot-attributes:project_id"] = snap.project_id
        view["os-extended-snapshot-attributes:progress"] = snap.progress
    return view


#: Group fields by microversion (cinder/api/v3/views/groups.py): the sources 3.14,
#: ``volumes`` 3.25 (asked with ``list_volume``), ``replication_status`` 3.38,
#: ``project_id`` 3.58 (and its policy).
GROUP_SINCE: dict[str, int] = {"group_snapshot_id": 14, "source_group_id": 14, "volumes": 25,
                               "replication_status": 38, "project_id": 58}
GROUP_SNAPSHOT_SINCE: dict[str, int] = {"project_id": 58}


def group_type_view(gtype: GroupType, specs: bool) -> dict:
    """A group type; ``specs``: ``group:access_group_types_specs`` admits the caller."""
    view: dict[str, Any] = {"id": gtype.id, "name": gtype.name,
                            "description": gtype.description, "is_public": gtype.is_public}
    if specs:
        view["group_specs"] = dict(gtype.group_specs or {})
    return view


def group_view(group: VolumeGroup, viewer: Viewer, detail: bool = True,
               volume_ids: list[str] | None = None, project_attr: bool = False) -> dict:
    """A group: the summary (id, name) or the detail; ``volume_ids`` (asked with
    ``list_volume``, shown when there are any, as Cinder's), ``project_attr``
    (``group:group_project_attribute``)."""
    view: dict[str, Any] = {"id": group.id, "name": group.name}
    if not detail:
        return view
    view.update({"status": group.status, "availability_zone": group.availability_zone,
                 "created_at": ts(group.created_at), "description": group.description,
                 "group_type": group.group_type_id,
                 "volume_types": list(group.volume_type_ids or []),
                 "group_snapshot_id": group.group_snapshot_id,
                 "source_group_id": group.source_group_id,
                 "replication_status": "disabled"})
    if volume_ids:
        view["volumes"] = list(volume_ids)
    if project_attr:
        view["project_id"] = group.project_id
    return shape(view, viewer.version, GROUP_SINCE)


def group_snapshot_view(gsnap: GroupSnapshot, viewer: Viewer, detail: bool = True,
                        project_attr: bool = False) -> dict:
    """A group snapshot: the summary (id, name) or the detail; ``project_attr``
    (``group:group_snapshot_project_attribute``) adds ``project_id`` from 3.58."""
    view: dict[str, Any] = {"id": gsnap.id, "name": gsnap.name}
    if not detail:
        return view
    view.update({"created_at": ts(gsnap.created_at), "group_id": gsnap.group_id,
                 "status": gsnap.status, "description": gsnap.description,
                 "group_type_id": gsnap.group_type_id})
    if project_attr:
        view["project_id"] = gsnap.project_id
    return shape(view, viewer.version, GROUP_SNAPSHOT_SINCE)


#: Backup fields by microversion (Tempest's volume/backups.py and v3_64 schemas): the
#: project attribute 3.18 (and its policy), ``metadata`` 3.43, ``user_id`` 3.56,
#: ``encryption_key_id`` 3.64.
BACKUP_SINCE: dict[str, int] = {"os-backup-project-attr:project_id": 18, "metadata": 43,
                                "user_id": 56, "encryption_key_id": 64}


def backup_summary(b: VolumeBackup, viewer: Viewer) -> dict:
    return {"id": b.id, "name": b.name,
            "links": _links(viewer.base, "backups", b.id, b.project_id)}


def backup_view(b: VolumeBackup, viewer: Viewer, dependent: bool,
                project_attr: bool) -> dict:
    """The detailed backup; ``dependent``: a newer incremental backup names it as parent;
    ``project_attr``: ``backup:backup_project_attribute`` admits the caller."""
    view: dict[str, Any] = {
        **backup_summary(b, viewer), "status": b.status, "object_count": b.object_count,
        "container": b.container, "description": b.description,
        "availability_zone": b.availability_zone, "created_at": ts(b.created_at),
        "updated_at": ts(b.updated_at), "has_dependent_backups": dependent,
        "volume_id": b.volume_id, "fail_reason": b.fail_reason, "size": b.size,
        "is_incremental": b.is_incremental, "data_timestamp": ts(b.data_timestamp),
        "snapshot_id": b.snapshot_id, "metadata": dict(b.metadata_ or {}), "user_id": b.user_id,
        "encryption_key_id": None}
    if project_attr:
        view["os-backup-project-attr:project_id"] = b.project_id
    return shape(view, viewer.version, BACKUP_SINCE)
