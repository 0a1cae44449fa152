"""JSON schemas of the group API's request bodies (Cinder's ``cinder/api/schemas``
``group_types.py``, ``group_specs.py``, ``groups.py``, ``group_snapshots.py``, as data).

Kept apart from :mod:`volumes.schema` (which they build on) so that the volume and group
schemas change independently. Names are checked for blankness by the views (Cinder's
"after stripping whitespace" format); statuses by the services.
"""
from __future__ import annotations

from minicloud.validation import BOOLEAN, UUID
from volumes.schema import NULLABLE_BOOLEAN, TEXT, _wrap

NAME = {"type": "string", "minLength": 1, "maxLength": 255}
#: Group specs: keys and values strings of at most 255 characters.
SPECS = {"type": "object",
         "patternProperties": {"^[a-zA-Z0-9-_:. /]{1,255}$": {"type": "string",
                                                              "maxLength": 255}},
         "additionalProperties": False}

GROUP_TYPE_CREATE = _wrap("group_type", {
    "type": "object",
    "properties": {"name": NAME, "description": TEXT, "is_public": BOOLEAN,
                   "group_specs": SPECS},
    "required": ["name"], "additionalProperties": False})
GROUP_TYPE_UPDATE = _wrap("group_type", {
    "type": "object",
    "properties": {"name": {**NAME, "type": ["string", "null"]}, "description": TEXT,
                   "is_public": NULLABLE_BOOLEAN},
    "additionalProperties": False})
GROUP_SPECS_BODY = _wrap("group_specs", {**SPECS, "minProperties": 1})
GROUP_SPEC_ITEM = {**SPECS, "minProperties": 1, "maxProperties": 1}

_TYPE_REF = {"type": "string", "minLength": 1, "maxLength": 255}
GROUP_CREATE = _wrap("group", {
    "type": "object",
    "properties": {"name": TEXT, "description": TEXT, "group_type": _TYPE_REF,
                   "volume_types": {"type": "array", "minItems": 1, "uniqueItems": True,
                                    "items": _TYPE_REF},
                   "availability_zone": TEXT},
    "required": ["group_type", "volume_types"], "additionalProperties": False})
GROUP_FROM_SOURCE = _wrap("create-from-src", {
    "type": "object",
    "properties": {"name": TEXT, "description": TEXT,
                   "group_snapshot_id": UUID, "source_group_id": UUID},
    "additionalProperties": False})
#: ``add_volumes``/``remove_volumes``: volume ids separated by commas (Cinder's form).
_VOLUME_LIST = {"type": ["string", "null"], "maxLength": 65535}
GROUP_UPDATE = _wrap("group", {
    "type": "object",
    "properties": {"name": TEXT, "description": TEXT, "add_volumes": _VOLUME_LIST,
                   "remove_volumes": _VOLUME_LIST},
    "additionalProperties": False})
_STATUS = {"type": "object",
           "properties": {"status": {"type": "string", "minLength": 1, "maxLength": 255}},
           "required": ["status"], "additionalProperties": False}
GROUP_ACTION = {"type": "object",
                "properties": {"delete": {"type": ["object", "null"], "properties": {
                                   "delete-volumes": BOOLEAN},
                                   "additionalProperties": False},
                               "reset_status": _STATUS},
                "minProperties": 1, "maxProperties": 1, "additionalProperties": False}

GROUP_SNAPSHOT_CREATE = _wrap("group_snapshot", {
    "type": "object",
    "properties": {"group_id": UUID, "name": TEXT, "description": TEXT},
    "required": ["group_id"], "additionalProperties": False})
GROUP_SNAPSHOT_ACTION = _wrap("reset_status", _STATUS)
