"""What an image's attributes may hold, and the shape of JSON-patch documents (Glance v2).

Core attributes are typed and validated here; every other top-level key is a custom property
whose value must be a string. Read-only attributes are a 403, as are names starting with the
reserved ``os_glance`` prefix (set by the service only); a wrong type is a 400.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from minicloud.errors import BadRequest, Forbidden, RequestTooLarge

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
MEMBER_STATUSES = ("pending", "accepted", "rejected")

#: Attributes the service computes; a client may never set them.
READ_ONLY = frozenset({"status", "checksum", "os_hash_algo", "os_hash_value", "size",
                       "virtual_size", "created_at", "updated_at", "deleted_at", "deleted",
                       "direct_url", "self", "file", "schema", "locations", "stores"})
#: Core attributes a client may set (``id`` only at creation, ``owner`` only as admin).
CORE = frozenset({"id", "name", "disk_format", "container_format", "visibility", "protected",
                  "os_hidden", "min_disk", "min_ram", "tags", "owner"})
RESERVED_PREFIX = "os_glance"

MAX_NAME = 255
MAX_VALUE = 65535
MAX_TAGS = 128
MAX_PROPERTIES = 128
MAX_INT = 2 ** 31 - 1

#: JSON-patch media types: in 2.1 ``add`` upserts; in 2.0 ``add`` of an existing key is a 409.
PATCH_MEDIA_TYPES = {"application/openstack-images-v2.1-json-patch": False,
                     "application/openstack-images-v2.0-json-patch": True}


def check_settable(key: str, creating: bool) -> None:
    """403 for reserved and read-only attribute names."""
    if key.startswith(RESERVED_PREFIX):
        raise Forbidden(f"Attribute '{key}' is reserved.")
    if key in READ_ONLY or (key == "id" and not creating):
        raise Forbidden(f"Attribute '{key}' is read-only.")


def _string(key: str, value: Any, limit: int, nullable: bool) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"Invalid value for '{key}': must be a string"
                         f"{' or null' if nullable else ''}.")
    if len(value) > limit:
        raise BadRequest(f"Invalid value for '{key}': longer than {limit} characters.")
    return value


def _enum(key: str, value: Any, allowed: tuple[str, ...], nullable: bool) -> str | None:
    if value is None and nullable:
        return None
    if value not in allowed:
        raise BadRequest(f"Invalid value {value!r} for '{key}': must be one of "
                         f"{', '.join(allowed)}.")
    return value


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"Invalid value for '{key}': must be a JSON boolean.")
    return value


def _int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise BadRequest(f"Invalid value for '{key}': must be an integer between 0 and "
                         f"{MAX_INT}.")
    return value


def validate_tag(tag: Any) -> str:
    if not isinstance(tag, str) or not tag or len(tag) > MAX_NAME:
        raise BadRequest(f"Invalid tag {tag!r}: must be a string of 1 to {MAX_NAME} "
                         "characters.")
    return tag


def _tags(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise BadRequest("Invalid value for 'tags': must be a list of strings.")
    tags = list(dict.fromkeys(validate_tag(t) for t in value))
    if len(tags) > MAX_TAGS:
        raise RequestTooLarge(f"Maximum number of tags ({MAX_TAGS}) exceeded.")
    return tags


def validate_id(value: Any) -> str:
    """A client-chosen image id: any UUID spelling, returned in canonical form."""
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    raise BadRequest(f"Invalid value {value!r} for 'id': must be a UUID.")


def validate_core(key: str, value: Any) -> Any:
    """The normalised value of core attribute ``key``; 400 for a wrong type or value."""
    if key == "name":
        return _string(key, value, MAX_NAME, nullable=True)
    if key == "owner":
        return _string(key, value, MAX_NAME, nullable=True)
    if key == "disk_format":
        return _enum(key, value, DISK_FORMATS, nullable=True)
    if key == "container_format":
        return _enum(key, value, CONTAINER_FORMATS, nullable=True)
    if key == "visibility":
        return _enum(key, value, VISIBILITIES, nullable=False)
    if key in ("protected", "os_hidden"):
        return _bool(key, value)
    if key in ("min_disk", "min_ram"):
        return _int(key, value)
    if key == "tags":
        return _tags(value)
    if key == "id":
        return validate_id(value)
    raise BadRequest(f"Unknown core attribute '{key}'.")


def validate_property(key: str, value: Any) -> str:
    """A custom property: a non-empty name and a string value."""
    if not key or len(key) > MAX_NAME:
        raise BadRequest(f"Invalid property name {key!r}: must be 1 to {MAX_NAME} characters.")
    if not isinstance(value, str):
        raise BadRequest(f"Invalid value for property '{key}': must be a string, not "
                         f"{_json_type(value)}.")
    if len(value) > MAX_VALUE:
        raise BadRequest(f"Invalid value for property '{key}': longer than {MAX_VALUE} "
                         "characters.")
    return value


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def parse_create(body: dict) -> tuple[dict[str, Any], dict[str, str]]:
    """Split a ``POST /v2/images`` body into validated core attributes and properties."""
    core: dict[str, Any] = {}
    props: dict[str, str] = {}
    for key, value in body.items():
        check_settable(key, creating=True)
        if key in CORE:
            core[key] = validate_core(key, value)
        else:
            props[key] = validate_property(key, value)
    if len(props) > MAX_PROPERTIES:
        raise RequestTooLarge(f"Maximum number of image properties ({MAX_PROPERTIES}) "
                              "exceeded.")
    return core, props


@dataclass(frozen=True)
class Change:
    """One JSON-patch operation on a top-level key (or on one element of ``tags``)."""

    op: str                 # add | replace | remove
    key: str
    value: Any = None
    index: str | None = None  # for /tags/<n> or /tags/-


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or not path.startswith("/"):
        raise BadRequest(f"Invalid JSON-patch path {path!r}: must start with '/'.")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]
    if not parts[0]:
        raise BadRequest(f"Invalid JSON-patch path {path!r}: empty attribute name.")
    if len(parts) == 1:
        return parts
    if len(parts) == 2 and parts[0] == "tags" and (parts[1] == "-" or parts[1].isdigit()):
        return parts
    raise BadRequest(f"Invalid JSON-patch path {path!r}: only top-level attributes (and "
                     "/tags/<index>) can be changed.")


def parse_patch(doc: Any) -> list[Change]:
    """Validate the structure of a JSON-patch document (RFC 6902 subset)."""
    if not isinstance(doc, list):
        raise BadRequest("Malformed JSON-patch document: expected a list of operations.")
    changes = []
    for item in doc:
        if not isinstance(item, dict) or "op" not in item or "path" not in item:
            raise BadRequest("Malformed JSON-patch operation: each needs 'op' and 'path'.")
        op = item["op"]
        if op not in ("add", "replace", "remove"):
            raise BadRequest(f"JSON-patch operation {op!r} is not supported "
                             "(use add, replace or remove).")
        parts = _pointer(item["path"])
        if op != "remove" and "value" not in item:
            raise BadRequest(f"JSON-patch operation '{op}' needs a 'value'.")
        if len(parts) == 2 and op == "replace" and parts[1] == "-":
            raise BadRequest("JSON-patch path /tags/- is only valid with 'add'.")
        changes.append(Change(op, parts[0], item.get("value"),
                              parts[1] if len(parts) == 2 else None))
    return changes
