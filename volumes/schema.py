"""JSON schemas of the volume API's request bodies, per microversion (Cinder's, as data).

Each view that reads a body declares its schema with :func:`minicloud.wsgi.body_schema`, so
a body is refused (400, naming the field) before any view code runs. The schemas follow
``cinder/api/schemas/*.py``: volume create accepts unknown keys until 3.53 and refuses them
from then on (``group_id`` from 3.13, ``backup_id`` from 3.47); an update may be empty until
3.53; metadata keys are Cinder's ``[a-zA-Z0-9-_:. /]{1,255}``. Where Cinder checks with a
custom format (names "after stripping whitespace", volume statuses), the check is written
as plain JSON schema or done by the view.
"""
from __future__ import annotations

import copy
from typing import Any

from minicloud.validation import BOOLEAN, UUID

DB_MAX_INT = 0x7FFFFFFF

NULLABLE_UUID = {"oneOf": [{"type": "null"}, UUID]}
NULLABLE_BOOLEAN = {"oneOf": [{"type": "null"}, BOOLEAN]}
#: A name or description: Cinder allows 255 characters (it strips whitespace first).
TEXT = {"type": ["string", "null"], "maxLength": 255}
SIZE = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1,
        "maximum": DB_MAX_INT}
NULLABLE_SIZE = {**SIZE, "type": ["integer", "string", "null"]}
#: Cinder's ``extra_specs`` (volume metadata): restricted keys, string values.
METADATA = {"type": "object",
            "patternProperties": {"^[a-zA-Z0-9-_:. /]{1,255}$": {"type": "string",
                                                                 "maxLength": 255}},
            "additionalProperties": False}
NULLABLE_METADATA = {**METADATA, "type": ["object", "null"]}
#: Image metadata values may be long (Cinder: a MySQL TEXT, 65535 bytes).
IMAGE_METADATA = {"type": "object",
                  "patternProperties": {"^[a-zA-Z0-9-_:. /]{1,255}$": {
                      "type": "string", "maxLength": 65535}},
                  "additionalProperties": False}
EMPTY_ACTION: dict[str, Any] = {}  # Cinder takes any value: {"os-force_delete": {}} or null


def _wrap(key: str, inner: dict, required: bool = True) -> dict:
    return {"type": "object", "properties": {key: inner},
            "required": [key] if required else [], "additionalProperties": False}


# -- volumes ---------------------------------------------------------------------------------
_CREATE_VOLUME = {
    "type": "object",
    "properties": {
        "name": TEXT, "description": TEXT, "display_name": TEXT,
        "display_description": TEXT,
        "volume_type": {"type": ["string", "null"], "minLength": 0, "maxLength": 255},
        "metadata": NULLABLE_METADATA,
        "snapshot_id": NULLABLE_UUID, "source_volid": NULLABLE_UUID,
        "consistencygroup_id": NULLABLE_UUID,
        "size": NULLABLE_SIZE,
        "availability_zone": {"type": ["string", "null"], "minLength": 1, "maxLength": 255},
        "multiattach": NULLABLE_BOOLEAN,
        "image_id": {"type": ["string", "null"], "minLength": 0, "maxLength": 255},
        "imageRef": {"type": ["string", "null"], "minLength": 0, "maxLength": 255},
    },
    "additionalProperties": True,
}
CREATE = {"type": "object",
          "properties": {"volume": _CREATE_VOLUME,
                         "OS-SCH-HNT:scheduler_hints": {"type": ["object", "null"]}},
          "required": ["volume"], "additionalProperties": False}
CREATE_V313 = copy.deepcopy(CREATE)
CREATE_V313["properties"]["volume"]["properties"]["group_id"] = {
    "type": ["string", "null"], "minLength": 0, "maxLength": 255}
CREATE_V347 = copy.deepcopy(CREATE_V313)
CREATE_V347["properties"]["volume"]["properties"]["backup_id"] = NULLABLE_UUID
CREATE_V353 = copy.deepcopy(CREATE_V347)
CREATE_V353["properties"]["volume"]["additionalProperties"] = False

UPDATE = _wrap("volume", {
    "type": "object",
    "properties": {"name": TEXT, "description": TEXT, "display_name": TEXT,
                   "display_description": TEXT, "metadata": METADATA},
    "additionalProperties": False})
UPDATE_V353 = copy.deepcopy(UPDATE)
UPDATE_V353["properties"]["volume"]["anyOf"] = [
    {"required": [key]} for key in ("name", "description", "display_name",
                                    "display_description", "metadata")]

# -- actions (POST /volumes/{id}/action): one key, the action ---------------------------------
ACTIONS: dict[str, dict] = {
    "os-extend": {"type": "object", "properties": {"new_size": SIZE},
                  "required": ["new_size"], "additionalProperties": False},
    "os-set_bootable": {"type": "object", "properties": {"bootable": BOOLEAN},
                        "required": ["bootable"], "additionalProperties": False},
    # At least one of the three must be set: checked by the view (Cinder: a format).
    "os-reset_status": {"type": "object",
                        "properties": {"status": {"type": ["string", "null"]},
                                       "attach_status": {"type": ["string", "null"]},
                                       "migration_status": {"type": ["string", "null"]}},
                        "additionalProperties": False},
    "os-force_delete": EMPTY_ACTION,
    "os-show_image_metadata": EMPTY_ACTION,
    "os-set_image_metadata": {"type": "object", "properties": {"metadata": IMAGE_METADATA},
                              "required": ["metadata"], "additionalProperties": False},
    "os-update_readonly_flag": {"type": "object", "properties": {"readonly": BOOLEAN},
                                "required": ["readonly"], "additionalProperties": False},
    "os-reserve": EMPTY_ACTION,
    "os-unreserve": EMPTY_ACTION,
    "os-begin_detaching": EMPTY_ACTION,
    "os-roll_detaching": EMPTY_ACTION,
    # Cinder: instance_uuid or host_name, and a mountpoint (checked here and by the view).
    "os-attach": {"type": "object",
                  "properties": {"instance_uuid": UUID,
                                 "host_name": {"type": "string", "minLength": 1,
                                               "maxLength": 255},
                                 "mountpoint": {"type": "string", "minLength": 1,
                                                "maxLength": 255},
                                 "mode": {"type": "string", "enum": ["rw", "ro"]}},
                  "required": ["mountpoint"], "additionalProperties": False},
    "os-detach": {"type": ["object", "null"],
                  "properties": {"attachment_id": NULLABLE_UUID}},
    "os-force_detach": {"type": ["object", "null"],
                        "properties": {"attachment_id": NULLABLE_UUID,
                                       "connector": {"type": ["object", "null"]}}},
    # Cinder's volume_upload_image (visibility and protected from 3.1: the view checks).
    "os-volume_upload_image": {
        "type": "object",
        "properties": {"image_name": {"type": "string", "minLength": 1, "maxLength": 255},
                       "force": BOOLEAN,
                       "disk_format": {"type": "string", "enum": [
                           "raw", "vmdk", "vdi", "qcow2", "vhd", "vhdx", "ploop"]},
                       "container_format": {"type": "string", "maxLength": 255},
                       "visibility": {"type": "string", "enum": [
                           "community", "public", "private", "shared"]},
                       "protected": BOOLEAN},
        "required": ["image_name"], "additionalProperties": False},
    "os-retype": {"type": "object",
                  "properties": {"new_type": {"type": "string", "minLength": 1,
                                              "maxLength": 255},
                                 "migration_policy": {"type": ["string", "null"],
                                                      "enum": ["never", "on-demand", None]}},
                  "required": ["new_type"], "additionalProperties": False},
    "os-unset_image_metadata": {"type": "object",
                                "properties": {"key": {"type": "string", "minLength": 1,
                                                       "maxLength": 255}},
                                "required": ["key"], "additionalProperties": False},
    # 3.40 (the view answers 404 below)
    "revert": {"type": "object", "properties": {"snapshot_id": UUID},
               "required": ["snapshot_id"], "additionalProperties": False},
}
#: The action body: exactly one key; a known action's parameters are checked here, an
#: unknown action is refused by the view with Cinder's "There is no such action".
ACTION = {"type": "object", "properties": ACTIONS, "minProperties": 1, "maxProperties": 1}

# -- metadata ----------------------------------------------------------------------------------
METADATA_BODY = _wrap("metadata", METADATA)
META_ITEM = _wrap("meta", {**METADATA, "minProperties": 1, "maxProperties": 1})

# -- attachments (3.27+; mode 3.54+) -----------------------------------------------------------
ATTACHMENT_CREATE = _wrap("attachment", {
    "type": "object",
    "properties": {"instance_uuid": UUID, "connector": {"type": ["object", "null"]},
                   "volume_uuid": UUID},
    # Cinder lets instance_uuid out (attachments for other consumers); minicloud's
    # attachments always belong to an instance.
    "required": ["volume_uuid", "instance_uuid"],
    "additionalProperties": False})
ATTACHMENT_CREATE_V354 = copy.deepcopy(ATTACHMENT_CREATE)
ATTACHMENT_CREATE_V354["properties"]["attachment"]["properties"]["mode"] = {
    "type": "string", "enum": ["rw", "ro"]}
ATTACHMENT_UPDATE = _wrap("attachment", {
    "type": "object",
    "properties": {"connector": {"type": "object", "minProperties": 1}},
    "required": ["connector"], "additionalProperties": False})
ATTACHMENT_COMPLETE = _wrap("os-complete", EMPTY_ACTION)

# -- volume types (cinder/api/schemas/volume_types.py, types_extra_specs.py, volume_type_access)
#: Extra spec keys as Cinder's (no whitespace at either end), string values.
EXTRA_SPECS = {"type": "object",
               "patternProperties": {"^[a-zA-Z0-9-_:.]([a-zA-Z0-9-_:. /]{0,253}"
                                     "[a-zA-Z0-9-_:./])?$": {"type": "string",
                                                             "maxLength": 255}},
               "additionalProperties": False}
TYPE_NAME = {"type": "string", "minLength": 1, "maxLength": 255}
TYPE_CREATE = _wrap("volume_type", {
    "type": "object",
    "properties": {"name": TYPE_NAME, "description": TEXT,
                   "os-volume-type-access:is_public": BOOLEAN, "extra_specs": EXTRA_SPECS},
    "required": ["name"], "additionalProperties": False})
TYPE_UPDATE = _wrap("volume_type", {
    "type": "object",
    "properties": {"name": {**TYPE_NAME, "type": ["string", "null"]}, "description": TEXT,
                   "is_public": NULLABLE_BOOLEAN},
    "additionalProperties": False})
EXTRA_SPECS_BODY = _wrap("extra_specs", EXTRA_SPECS)
EXTRA_SPEC_ITEM = {**EXTRA_SPECS, "minProperties": 1}
_PROJECT = _wrap("project", {"type": "string", "minLength": 1, "maxLength": 255})
TYPE_ACTION = {"type": "object",
               "properties": {"addProjectAccess": _PROJECT, "removeProjectAccess": _PROJECT},
               "minProperties": 1, "maxProperties": 1, "additionalProperties": False}

# -- quotas (cinder/api/schemas/quotas.py, quota_classes.py) ----------------------------------
#: A limit: -1 (unlimited) or more, as an integer or a string of digits.
QUOTA_LIMIT = {"type": ["integer", "string"], "pattern": "^-?[0-9]+$", "minimum": -1,
               "maximum": DB_MAX_INT}
QUOTA_RESOURCES = ("volumes", "gigabytes", "snapshots", "backups", "backup_gigabytes",
                   "per_volume_gigabytes", "groups")
#: Keys clients send besides the limits, which Cinder ignores (cinderclient sends
#: ``tenant_id`` and ``class_name``; ``skip_validation`` is accepted, the check below usage
#: is always made).
QUOTA_IGNORED = ("id", "tenant_id", "class_name", "skip_validation")
_IGNORED = {k: {"type": ["string", "boolean", "null"], "maxLength": 255}
            for k in QUOTA_IGNORED}
#: Any other key is a limit too: ``volumes_<type name>`` and so on; volumes.quotas refuses
#: (400 "Bad key(s)", as Cinder) one that names no resource of an existing volume type.
_LIMITS = {"type": "object",
           "properties": {**_IGNORED, **{r: QUOTA_LIMIT for r in QUOTA_RESOURCES}},
           "additionalProperties": QUOTA_LIMIT}
QUOTA_UPDATE = _wrap("quota_set", _LIMITS)
QUOTA_CLASS_UPDATE = _wrap("quota_class_set", _LIMITS)

# -- volume type encryption (cinder/api/schemas/volume_type_encryption.py) ------------------
_ENCRYPTION = {
    "type": "object",
    "properties": {
        "key_size": {"type": ["string", "integer", "null"], "pattern": "^[0-9]+$",
                     "minimum": 0, "maximum": DB_MAX_INT},
        "provider": {"type": "string", "maxLength": 255},
        "control_location": {"enum": ["front-end", "back-end"]},
        "cipher": {"type": ["string", "null"], "maxLength": 255}},
    "required": ["provider", "control_location"], "additionalProperties": False}
ENCRYPTION_CREATE = _wrap("encryption", _ENCRYPTION)
ENCRYPTION_UPDATE = _wrap("encryption", {k: v for k, v in _ENCRYPTION.items()
                                         if k != "required"})

# -- transfers (cinder/api/schemas/volume_transfer.py) -----------------------------------------
TRANSFER_CREATE = _wrap("transfer", {
    "type": "object",
    "properties": {"volume_id": UUID, "name": TEXT},
    "required": ["volume_id"], "additionalProperties": False})
TRANSFER_CREATE_V355 = copy.deepcopy(TRANSFER_CREATE)
TRANSFER_CREATE_V355["properties"]["transfer"]["properties"]["no_snapshots"] = BOOLEAN
TRANSFER_ACCEPT = _wrap("accept", {
    "type": "object",
    "properties": {"auth_key": {"type": "string", "minLength": 1, "maxLength": 255}},
    "required": ["auth_key"], "additionalProperties": False})

# -- qos-specs (cinder/api/schemas/qos_specs.py) -----------------------------------------------
_QOS_VALUE = {"type": "string", "maxLength": 255}
_QOS_KEYS = "^[a-zA-Z0-9-_:. /]{1,255}$"
QOS_CREATE = _wrap("qos_specs", {
    "type": "object",
    "properties": {"name": TYPE_NAME, "consumer": {"type": "string",
                                                   "enum": ["back-end", "front-end", "both"]}},
    "patternProperties": {_QOS_KEYS: _QOS_VALUE},
    "required": ["name"], "additionalProperties": False})
QOS_SET = _wrap("qos_specs", {"type": "object", "patternProperties": {_QOS_KEYS: _QOS_VALUE},
                              "minProperties": 1, "additionalProperties": False})
QOS_DELETE_KEYS = _wrap("keys", {"type": "array", "minItems": 1,
                                 "items": {"type": "string", "minLength": 1,
                                           "maxLength": 255}})

# -- snapshots (cinder/api/schemas/snapshots.py, snapshot_actions.py) -------------------------
SNAPSHOT_CREATE = _wrap("snapshot", {
    "type": "object",
    "properties": {"name": TEXT, "display_name": TEXT, "description": TEXT,
                   # null passes, to be Cinder's 404 for "Volume None" (as Tempest expects)
                   "display_description": TEXT, "volume_id": NULLABLE_UUID, "force": BOOLEAN,
                   "metadata": NULLABLE_METADATA},
    "required": ["volume_id"], "additionalProperties": False})
_SNAPSHOT_TEXT = ("name", "description", "display_name", "display_description")
SNAPSHOT_UPDATE = _wrap("snapshot", {
    "type": "object", "properties": {key: TEXT for key in _SNAPSHOT_TEXT},
    "anyOf": [{"required": [key]} for key in _SNAPSHOT_TEXT],
    "additionalProperties": False})
_STATUS = {"type": "string", "minLength": 1, "maxLength": 255}
SNAPSHOT_ACTIONS: dict[str, dict] = {
    "os-reset_status": {"type": "object", "properties": {"status": _STATUS},
                        "required": ["status"], "additionalProperties": False},
    "os-force_delete": EMPTY_ACTION,
    "os-update_snapshot_status": {"type": "object",
                                  "properties": {"status": _STATUS,
                                                 "progress": {"type": "string",
                                                              "maxLength": 255}},
                                  "required": ["status"], "additionalProperties": False},
}
SNAPSHOT_ACTION = {"type": "object", "properties": SNAPSHOT_ACTIONS, "minProperties": 1,
                   "maxProperties": 1}


# -- backups (cinder/api/schemas/backups.py) -----------------------------------------------
_BACKUP = {
    "type": "object",
    "properties": {
        "volume_id": UUID,
        "container": {"type": ["string", "null"], "maxLength": 255},
        "description": TEXT, "name": TEXT,
        "incremental": NULLABLE_BOOLEAN, "force": NULLABLE_BOOLEAN,
        "snapshot_id": NULLABLE_UUID,
    },
    "required": ["volume_id"], "additionalProperties": False,
}
BACKUP_CREATE = _wrap("backup", _BACKUP)
BACKUP_CREATE_V343 = copy.deepcopy(BACKUP_CREATE)
BACKUP_CREATE_V343["properties"]["backup"]["properties"]["metadata"] = NULLABLE_METADATA
BACKUP_CREATE_V351 = copy.deepcopy(BACKUP_CREATE_V343)
BACKUP_CREATE_V351["properties"]["backup"]["properties"]["availability_zone"] = {
    "type": ["string", "null"], "minLength": 1, "maxLength": 255}
BACKUP_UPDATE = _wrap("backup", {"type": "object",
                                 "properties": {"name": TEXT, "description": TEXT},
                                 "additionalProperties": False})
BACKUP_UPDATE_V343 = copy.deepcopy(BACKUP_UPDATE)
BACKUP_UPDATE_V343["properties"]["backup"]["properties"]["metadata"] = NULLABLE_METADATA
BACKUP_RESTORE = _wrap("restore", {"type": ["object", "null"],
                                   "properties": {"volume_id": NULLABLE_UUID, "name": TEXT},
                                   "additionalProperties": False})
BACKUP_IMPORT = _wrap("backup-record", {
    "type": "object",
    "properties": {"backup_service": {"type": "string", "minLength": 1, "maxLength": 255},
                   "backup_url": {"type": "string", "minLength": 1, "maxLength": 65535}},
    "required": ["backup_service", "backup_url"], "additionalProperties": False})
#: ``POST /backups/{id}/action``: exactly one of the admins' two actions.
BACKUP_ACTION = {"type": "object", "minProperties": 1, "maxProperties": 1,
                 "additionalProperties": False, "properties": {
                     "os-reset_status": {"type": "object",
                                         "properties": {"status": {"type": "string",
                                                                   "maxLength": 255}},
                                         "required": ["status"],
                                         "additionalProperties": False},
                     "os-force_delete": EMPTY_ACTION}}
