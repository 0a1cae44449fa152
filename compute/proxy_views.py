"""Representations of the proxy APIs Nova still serves up to 2.35: images (from the image
API's Glance v2 bodies), volumes and volume snapshots (from the volume API's Cinder v3
bodies), in Nova's legacy shapes. Nothing here is stored by compute: every body is built
from what the other service answered the caller.
"""
from __future__ import annotations

import datetime as dt

from compute.views import Viewer

#: Glance's own image attributes; every other key of a Glance v2 image is a custom property,
#: which Nova shows as the image's ``metadata``.
GLANCE_ATTRIBUTES = frozenset({
    "id", "name", "status", "visibility", "protected", "os_hidden", "owner", "checksum",
    "os_hash_algo", "os_hash_value", "size", "virtual_size", "min_ram", "min_disk",
    "disk_format", "container_format", "created_at", "updated_at", "tags", "self", "file",
    "schema", "stores", "direct_url", "locations"})
#: Glance's statuses as Nova reports them (anything else is ``UNKNOWN``) and the progress
#: Nova derives from them (anything else is 0).
IMAGE_STATUS = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING",
                "uploading": "SAVING", "importing": "SAVING", "deleted": "DELETED",
                "pending_delete": "DELETED", "killed": "ERROR"}
IMAGE_PROGRESS = {"queued": 25, "saving": 50, "uploading": 50, "importing": 50,
                  "active": 100}


def image_properties(image: dict) -> dict:
    """A Glance image's custom properties (Nova's image ``metadata``)."""
    return {k: v for k, v in image.items() if k not in GLANCE_ATTRIBUTES}


def parse_time(value: str | None) -> dt.datetime | None:
    """An ISO 8601 time of Glance or Cinder (``Z``, an offset or none: UTC) as an aware
    datetime; None for None. ``ValueError`` when it is not one."""
    if value is None:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _nova_time(value: str | None) -> str | None:
    parsed = parse_time(value)
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ") if parsed else None


def image_links(image_id: str, viewer: Viewer, image_url: str) -> list[dict]:
    """Nova's three links: self, bookmark and the image API's own (``alternate``)."""
    return [*viewer.links("images", image_id),
            {"rel": "alternate", "type": "application/vnd.openstack.image",
             "href": f"{image_url.rstrip('/')}/images/{image_id}"}]


def image_summary(image: dict, viewer: Viewer, image_url: str) -> dict:
    """An image in ``GET /images``: id, name, links."""
    return {"id": image["id"], "name": image.get("name"),
            "links": image_links(image["id"], viewer, image_url)}


def image_detail(image: dict, viewer: Viewer, image_url: str) -> dict:
    """An image in ``GET /images/detail`` and ``GET /images/{id}`` (Nova's image view):
    ``server`` when the image is a snapshot of one (``instance_uuid``),
    ``OS-DCF:diskConfig`` when it has ``auto_disk_config``."""
    metadata = image_properties(image)
    status = image.get("status")
    body = {
        **image_summary(image, viewer, image_url),
        "minRam": int(image.get("min_ram") or 0), "minDisk": int(image.get("min_disk") or 0),
        "metadata": metadata,
        "created": _nova_time(image.get("created_at")),
        "updated": _nova_time(image.get("updated_at")),
        "status": IMAGE_STATUS.get(status, "UNKNOWN"),
        "progress": IMAGE_PROGRESS.get(status, 0),
        "OS-EXT-IMG-SIZE:size": image.get("size"),
    }
    server_id = metadata.get("instance_uuid")
    if server_id is not None:
        body["server"] = {"id": server_id, "links": viewer.links("servers", server_id)}
    auto = metadata.get("auto_disk_config")
    if auto is not None:
        body["OS-DCF:diskConfig"] = ("AUTO" if str(auto).strip().lower()
                                     in ("1", "t", "true", "on", "y", "yes") else "MANUAL")
    return body


def volume_view(volume: dict) -> dict:
    """A Cinder v3 volume in Nova's ``os-volumes`` shape (list, detail, show and create
    alike). As Nova, a volume attached nowhere lists one empty attachment (``[{}]``)."""
    attachments = [{"id": volume["id"], "volumeId": volume["id"],
                    "serverId": a.get("server_id"),
                    **({"device": a["device"]} if a.get("device") else {})}
                   for a in volume.get("attachments") or [] if a.get("server_id")]
    return {
        "id": volume["id"], "status": volume.get("status"), "size": volume.get("size"),
        "availabilityZone": volume.get("availability_zone"),
        "createdAt": volume.get("created_at"),
        "attachments": attachments[:1] or [{}],
        "displayName": volume.get("name"),
        "displayDescription": volume.get("description"),
        "volumeType": volume.get("volume_type"),
        "snapshotId": volume.get("snapshot_id"),
        "metadata": dict(volume.get("metadata") or {}),
    }


def snapshot_view(snapshot: dict) -> dict:
    """A Cinder v3 snapshot in Nova's ``os-snapshots`` shape (list, detail, show and create
    alike; ``size`` is the snapshotted volume's, in GiB)."""
    return {"id": snapshot["id"], "volumeId": snapshot.get("volume_id"),
            "status": snapshot.get("status"), "size": snapshot.get("size"),
            "createdAt": snapshot.get("created_at"),
            "displayName": snapshot.get("name"),
            "displayDescription": snapshot.get("description")}
