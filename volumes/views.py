"""Cinder v3 representations and request-body parsing (the API's two pure halves).

Volumes render as Cinder 3.70 does (CLI contract section 6): ``attachments`` is always a list
(only attached ones, each with ``server_id`` and ``device``), ``bootable`` the string
``"true"``/``"false"``, timestamps ``YYYY-MM-DDTHH:MM:SS.ffffff``. CHAP credentials are never
part of a volume, for anybody. Request bodies arrive from the openstack CLI with every unset
option as an explicit ``null``: null means absent.
"""
from __future__ import annotations

from typing import Any

from minicloud.errors import BadRequest, NotFound
from volumes import states
from volumes.models import Volume, VolumeAttachment
from volumes.service import VolumeRequest

DEFAULT_TYPE = {"id": "4ee21aa8-9f8c-4bd2-9d6b-a1f7e1c0c001", "name": "__DEFAULT__",
                "description": "Default Volume Type", "is_public": True, "extra_specs": {},
                "os-volume-type-access:is_public": True, "qos_specs_id": None}
ZONE = "nova"
UNSUPPORTED_SOURCES = ("snapshot_id", "source_volid", "backup_id", "consistencygroup_id",
                       "group_id", "source_replica")


def ts(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None


def _links(base: str, kind: str, ident: str, project_id: str) -> list[dict]:
    return [{"rel": "self", "href": f"{base}/v3/{project_id}/{kind}/{ident}"},
            {"rel": "bookmark", "href": f"{base}/{project_id}/{kind}/{ident}"}]


def volume_attachment(vol: Volume, att: VolumeAttachment) -> dict:
    """An attachment as a volume lists it."""
    return {"id": vol.id, "attachment_id": att.id, "volume_id": vol.id,
            "server_id": att.server_id, "host_name": att.host, "device": att.device,
            "attached_at": ts(att.attached_at)}


def volume_view(vol: Volume, base: str, admin: bool, full: bool = True) -> dict:
    view: dict[str, Any] = {"id": vol.id, "name": vol.name,
                            "links": _links(base, "volumes", vol.id, vol.project_id)}
    if not full:
        return view
    view.update({
        "status": vol.status, "size": vol.size, "availability_zone": vol.availability_zone,
        "created_at": ts(vol.created_at), "updated_at": ts(vol.updated_at),
        "description": vol.description, "volume_type": DEFAULT_TYPE["name"],
        "volume_type_id": DEFAULT_TYPE["id"], "snapshot_id": None, "source_volid": None,
        "backup_id": None, "metadata": dict(vol.metadata_ or {}), "user_id": vol.user_id,
        "bootable": "true" if vol.bootable else "false", "encrypted": False,
        "replication_status": None, "consistencygroup_id": None, "multiattach": False,
        "group_id": None, "shared_targets": False, "cluster_name": None,
        "service_uuid": None, "consumes_quota": True,
        "attachments": [volume_attachment(vol, a) for a in vol.attachments
                        if a.status == states.A_ATTACHED],
        "os-vol-tenant-attr:tenant_id": vol.project_id,
    })
    if vol.image_metadata:
        view["volume_image_metadata"] = dict(vol.image_metadata)
    if admin:
        view.update({"os-vol-host-attr:host": vol.host, "provider_id": None,
                     "os-vol-mig-status-attr:migstat": None,
                     "os-vol-mig-status-attr:name_id": None})
    return view


def attachment_view(att: VolumeAttachment, full: bool = True,
                    connection_info: dict | None = None) -> dict:
    view: dict[str, Any] = {"id": att.id, "status": att.status, "instance": att.server_id,
                            "volume_id": att.volume_id}
    if full:
        view.update({"attached_at": ts(att.attached_at), "detached_at": None,
                     "attach_mode": att.attach_mode, "connection_info": connection_info})
    return view


# -- parsing -----------------------------------------------------------------------------------
def present(body: dict) -> dict:
    """The body without null-valued keys (the openstack CLI sends every unset option)."""
    return {k: v for k, v in body.items() if v is not None}


def resource(body: dict, key: str) -> dict:
    inner = body.get(key)
    if not isinstance(inner, dict):
        raise BadRequest(f"Invalid input: '{key}' is a required object.")
    return present(inner)


def size_value(value: Any, field: str = "size") -> int:
    """A size in GB: a positive integer (or its decimal string, as Cinder accepts)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"Invalid input received: '{field}' must be an integer, got "
                         f"{value!r}.")
    if value <= 0:
        raise BadRequest(f"Invalid input received: '{field}' must be an integer greater "
                         f"than 0, got {value}.")
    return value


def text_value(value: Any, field: str, limit: int = 255) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise BadRequest(f"Invalid input for field '{field}': a string of at most {limit} "
                         f"characters.")
    return value


def metadata_value(value: Any, field: str = "metadata") -> dict[str, str]:
    if not isinstance(value, dict):
        raise BadRequest(f"Invalid input for field '{field}': an object of strings.")
    for key, item in value.items():
        if not key or len(key) > 255 or not isinstance(item, str) or len(item) > 255:
            raise BadRequest(f"Invalid input for field '{field}': keys of 1 to 255 "
                             f"characters, string values of at most 255.")
    return dict(value)


def _texts(body: dict) -> dict[str, str | None]:
    """``name``/``description`` (or the v1 ``display_*`` names) present in ``body``."""
    out: dict[str, str | None] = {}
    for key in ("name", "description"):
        raw = body.get(key, body.get(f"display_{key}"))
        if raw is not None:
            out[key] = text_value(raw, key, 255 if key == "name" else 65535)
    return out


def parse_create(body: dict) -> VolumeRequest:
    vol = resource(body, "volume")
    for key in UNSUPPORTED_SOURCES:
        if key in vol:
            raise BadRequest(f"Invalid input received: '{key}' is not supported by minicloud "
                             f"(volumes are blank or made from an image).")
    if vol.get("multiattach") is True:
        raise BadRequest("Invalid input received: multiattach volumes are not supported.")
    vtype = vol.get("volume_type")
    if vtype is not None and vtype not in (DEFAULT_TYPE["name"], DEFAULT_TYPE["id"]):
        raise NotFound(f"Volume type with name {vtype} could not be found.")
    zone = vol.get("availability_zone")
    if zone is not None and zone != ZONE:
        raise BadRequest(f"Invalid input received: Availability zone '{zone}' is invalid.")
    image_ref = vol.get("imageRef", vol.get("image_id"))
    if image_ref is not None:
        image_ref = text_value(image_ref, "imageRef").rstrip("/").rsplit("/", 1)[-1] or None
    size = size_value(vol["size"]) if "size" in vol else None
    if size is None and image_ref is None:
        raise BadRequest("Invalid input received: 'size' is a required property.")
    texts = _texts(vol)
    return VolumeRequest(size=size, name=texts.get("name"),
                         description=texts.get("description"),
                         metadata=metadata_value(vol.get("metadata", {})), image_ref=image_ref)


def parse_update(body: dict) -> dict:
    vol = body.get("volume")
    if not isinstance(vol, dict) or not vol:
        raise BadRequest("Invalid input: 'volume' is a required, non-empty object.")
    changes: dict[str, Any] = {}
    for key in ("name", "description"):
        for name in (key, f"display_{key}"):
            if name in vol:  # null clears the field here, as in Cinder
                value = vol[name]
                changes[key] = None if value is None else text_value(
                    value, name, 255 if key == "name" else 65535)
    if vol.get("metadata") is not None:
        changes["metadata"] = metadata_value(vol["metadata"])
    if not changes:
        raise BadRequest("Invalid input: nothing to update (name, description, metadata).")
    return changes


def parse_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on", "t"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off", "f"):
        return False
    raise BadRequest(f"Invalid input received: '{field}' must be a boolean, got {value!r}.")
