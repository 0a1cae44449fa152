"""Request bodies of the image API: their JSON schemas, and the parsing Glance does on top.

Every body the API reads is declared on its view with ``@body_schema`` (checked before the
view runs, 400 naming the field): :data:`CREATE` (``POST /v2/images``), :data:`PATCH` (both
JSON-patch media types), :data:`MEMBER_CREATE`, :data:`MEMBER_UPDATE` and :data:`IMPORT`.

As in Glance, the image schema *is* the published ``/v2/schemas/image`` document
(``images.schemas_doc``): a create body is validated against it whole, and each JSON-patch
value as the partial image ``{attribute: value}``. It is tightened only where Glance's own
domain layer refuses more: ``min_ram``/``min_disk`` between 0 and 2^31-1, custom property
values of at most 65535 characters. Read-only attributes are a 403 (``Attribute 'x' is
read-only.``), as are the reserved ``os_glance*`` names; a wrong type or value is a 400.

JSON patch: ``application/openstack-images-v2.1-json-patch`` takes RFC 6902 operations
(``{"op": "add", "path": "/name", "value": ...}``; ``add`` replaces an existing attribute);
``application/openstack-images-v2.0-json-patch`` takes the older draft-4 form
(``{"replace": "/protected", "value": false}``), where ``add`` of an existing attribute is
a 409. Paths name one top-level attribute; minicloud also accepts ``/tags/<index>`` and
``/tags/-``.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from images import schemas_doc
from images.schemas_doc import (  # noqa: F401 - the vocabulary, re-exported
    CONTAINER_FORMATS,
    DISK_FORMATS,
    MEMBER_STATUSES,
    READ_ONLY,
    VISIBILITIES,
)
from minicloud.errors import BadRequest, Forbidden, RequestTooLarge
from minicloud.validation import validate

RESERVED_PREFIX = "os_glance"
MAX_NAME = 255
MAX_VALUE = 65535
MAX_TAGS = 128
MAX_PROPERTIES = 128
MAX_INT = 2 ** 31 - 1
MAX_OPERATIONS = 1000
MAX_POINTER = 1024

#: Core attributes a client may set (``id`` only at creation, ``owner`` only as admin).
CORE = frozenset({"id", "name", "disk_format", "container_format", "visibility", "protected",
                  "os_hidden", "min_disk", "min_ram", "tags", "owner"})

#: JSON-patch media types -> JSON-schema draft of the operations (Glance's names).
PATCH_MEDIA_TYPES = {"application/openstack-images-v2.1-json-patch": 10,
                     "application/openstack-images-v2.0-json-patch": 4}
OPERATIONS = ("add", "remove", "replace")


def _image_body() -> dict[str, Any]:
    doc = schemas_doc.image_schema()
    del doc["links"]
    doc["type"] = "object"
    props = doc["properties"]
    for key in ("min_ram", "min_disk"):
        props[key] = {**props[key], "minimum": 0, "maximum": MAX_INT}
    doc["additionalProperties"] = {"type": "string", "maxLength": MAX_VALUE}
    return doc


#: An image as a client may send it: the published schema, slightly tightened.
IMAGE = _image_body()
CREATE = IMAGE

_POINTER = {"type": "string", "maxLength": MAX_POINTER}
#: The structure of a JSON-patch document; each operation's meaning is checked by
#: :func:`parse_patch` (Glance's messages), each value against :data:`IMAGE`.
PATCH = {"type": "array", "maxItems": MAX_OPERATIONS, "items": {
    "type": "object",
    "properties": {"op": {"type": "string", "maxLength": 16}, "path": _POINTER,
                   "add": _POINTER, "remove": _POINTER, "replace": _POINTER}}}

MEMBER_CREATE = {"type": "object", "required": ["member"], "properties": {
    "member": {"type": "string", "minLength": 1, "maxLength": MAX_NAME}}}
MEMBER_UPDATE = {"type": "object", "required": ["status"], "properties": {
    "status": {"type": "string", "enum": list(MEMBER_STATUSES)}}}
IMPORT = {"type": "object", "required": ["method"], "properties": {
    "method": {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string", "maxLength": MAX_NAME},
        "uri": {"type": "string", "maxLength": 4096}}},
    "stores": {"type": "array", "maxItems": 16,
               "items": {"type": "string", "maxLength": MAX_NAME}},
    "all_stores": {"type": "boolean"},
    "all_stores_must_succeed": {"type": "boolean"}}}

#: ``POST /v2/tasks``: Glance's (legacy) import task; the input names the URL to fetch, the
#: format of its data and the new image's properties.
TASK_CREATE = {"type": "object", "required": ["type", "input"], "properties": {
    "type": {"type": "string", "enum": ["import"]},
    "input": {"type": "object", "required": ["import_from", "import_from_format",
                                             "image_properties"], "properties": {
        "import_from": {"type": "string", "maxLength": 4096},
        "import_from_format": {"type": "string", "enum": list(DISK_FORMATS)},
        "image_properties": {"type": "object"}}}}}


# -- attributes --------------------------------------------------------------------------
def check_settable(key: str, creating: bool) -> None:
    """403 for reserved and read-only attribute names."""
    if key.startswith(RESERVED_PREFIX):
        raise Forbidden(f"Attribute '{key}' is reserved.")
    if key in READ_ONLY or (key == "id" and not creating):
        raise Forbidden(f"Attribute '{key}' is read-only.")


def validate_tag(tag: Any) -> str:
    if not isinstance(tag, str) or not tag or len(tag) > MAX_NAME:
        raise BadRequest(f"Invalid tag {str(tag)[:60]!r}: must be a string of 1 to "
                         f"{MAX_NAME} characters.")
    return tag


def _tags(value: list[str]) -> list[str]:
    tags = list(dict.fromkeys(validate_tag(t) for t in value))
    if len(tags) > MAX_TAGS:
        raise RequestTooLarge(f"Maximum number of tags ({MAX_TAGS}) exceeded.")
    return tags


def validate_id(value: Any) -> str:
    """A client-chosen image id in canonical form."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        raise BadRequest(f"Invalid value {str(value)[:60]!r} for 'id': must be a "
                         "UUID.") from None


def validate_core(key: str, value: Any) -> Any:
    """The normalised value of core attribute ``key`` (already checked against
    :data:`IMAGE`): ids canonical, tags de-duplicated and counted."""
    if key == "id":
        return validate_id(value)
    if key == "tags":
        return _tags(value)
    return value


def validate_property(key: str, value: Any) -> str:
    """A custom property: a name of 1 to 255 characters and a string value (the schema
    lets ``kernel_id``/``ramdisk_id`` be null, which Glance stores as no value: refused)."""
    if not key or len(key) > MAX_NAME:
        raise BadRequest(f"Invalid property name {key[:60]!r}: must be 1 to {MAX_NAME} "
                         "characters.")
    if not isinstance(value, str):
        raise BadRequest(f"Invalid value for property '{key}': must be a string.")
    return value


def parse_create(body: dict) -> tuple[dict[str, Any], dict[str, str]]:
    """Split a ``POST /v2/images`` body (valid against :data:`CREATE`) into core
    attributes and custom properties."""
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


# -- JSON patch --------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """One JSON-patch operation on a top-level key (or on one element of ``tags``)."""

    op: str                 # add | replace | remove
    key: str
    value: Any = None
    index: str | None = None  # for /tags/<n> or /tags/-


def _operation(raw: dict, draft: int) -> tuple[str, Any]:
    """``(op, path)`` of one operation in the form of its media type's draft."""
    available = ", ".join(OPERATIONS)
    if draft == 4:
        ops = [key for key in OPERATIONS if key in raw]
        if len(ops) != 1:
            raise BadRequest('Operation objects must contain exactly one member named '
                             '"add", "remove", or "replace".')
        return ops[0], raw[ops[0]]
    op = raw.get("op")
    if op is None:
        raise BadRequest(f"Unable to find `op` in JSON Schema change. It must be one of "
                         f"the following: {available}.")
    if op not in OPERATIONS:
        raise BadRequest(f"Invalid operation: `{op}`. It must be one of the following: "
                         f"{available}.")
    if "path" not in raw:
        raise BadRequest("Unable to find 'path' in JSON Schema change")
    return op, raw["path"]


def _pointer(pointer: str) -> list[str]:
    """The attribute path a JSON pointer names (Glance's restricted pointers)."""
    if not pointer.startswith("/"):
        raise BadRequest(f'Pointer `{pointer}` does not start with "/".')
    if re.search(r"/\s*?/", pointer[1:]):
        raise BadRequest(f'Pointer `{pointer}` contains adjacent "/".')
    if len(pointer) > 1 and pointer.endswith("/"):
        raise BadRequest(f'Pointer `{pointer}` end with "/".')
    if re.search("~[^01]", pointer) or pointer.endswith("~"):
        raise BadRequest(f'Pointer `{pointer}` contains "~" not part of a recognized '
                         "escape sequence.")
    parts = [p.replace("~1", "/").replace("~0", "~").strip() for p in pointer[1:].split("/")]
    if not parts[0]:
        raise BadRequest(f"Invalid JSON pointer `{pointer}`: empty attribute name.")
    if len(parts) == 1 or (len(parts) == 2 and parts[0] == "tags"
                           and re.fullmatch(r"-|[0-9]{1,6}", parts[1])):
        return parts
    raise BadRequest(f"Invalid JSON pointer for this resource: '{pointer}'")


def _check_value(op: str, parts: list[str], value: Any) -> None:
    """Glance's partial-image check of the value an operation writes."""
    if op == "remove":
        return
    if len(parts) == 2 and parts[1] == "-" and op != "add":
        raise BadRequest("JSON-patch path /tags/- is only valid with 'add'.")
    validate({parts[0]: [value] if len(parts) == 2 else value}, IMAGE)


def parse_patch(doc: list, draft: int = 10) -> list[Change]:
    """The changes of a JSON-patch document (valid against :data:`PATCH`) sent with the
    media type of JSON-schema ``draft`` (10: v2.1, 4: v2.0); 400 for malformed
    operations, 403 for read-only or reserved attributes."""
    changes = []
    for raw in doc:
        op, path = _operation(raw, draft)
        if not isinstance(path, str):
            raise BadRequest("JSON-patch paths must be strings.")
        parts = _pointer(path)
        if op != "remove" and "value" not in raw:
            raise BadRequest(f'Operation "{op}" requires a member named "value".')
        check_settable(parts[0], creating=False)
        _check_value(op, parts, raw.get("value"))
        changes.append(Change(op, parts[0], raw.get("value"),
                              parts[1] if len(parts) == 2 else None))
    return changes
