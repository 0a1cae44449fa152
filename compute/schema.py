"""JSON schemas of every compute request body, per microversion (Nova's rules as data).

Each view that reads a body declares its schema with :func:`minicloud.wsgi.body_schema`
(stacked with ``min_minor``/``max_minor`` where the body changes with the microversion), so a
body is refused with a 400 naming the field before any view code runs. The schemas follow
``nova/api/openstack/compute/schemas`` where minicloud offers the feature; a field of a
feature minicloud does not offer (personality files, rebuild's trusted certificates) is
simply absent, so sending it is a 400
("Additional properties are not allowed") rather than being silently ignored.
"""
from __future__ import annotations

from compute import external_events
from minicloud.validation import NAME, UUID

#: A boolean as Nova's schemas take it: JSON true/false or these spellings, and no others
#: (not the one-letter ``t``/``y`` forms the other services' ``minicloud.validation.BOOLEAN``
#: admits, as oslo's bool_from_string does).
BOOLEAN = {"type": ["boolean", "string"],
           "enum": [True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
                    False, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No",
                    "no"]}

#: Nova's server and flavor descriptions: printable text (no control characters).
_PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]*$"
DESCRIPTION = {"type": ["string", "null"], "minLength": 0, "maxLength": 255,
               "pattern": _PRINTABLE}
FLAVOR_DESCRIPTION = {"type": ["string", "null"], "minLength": 0, "maxLength": 65535,
                      "pattern": _PRINTABLE}
#: Nova's metadata (server metadata, createImage metadata): restricted keys, string values.
METADATA_KEY = r"^[a-zA-Z0-9-_:. ]{1,255}$"
METADATA = {"type": "object",
            "patternProperties": {METADATA_KEY: {"type": "string", "maxLength": 255}},
            "additionalProperties": False}
_ONE_ITEM = {**METADATA, "minProperties": 1, "maxProperties": 1}
#: A positive count or size: an integer or a string of digits, at most 2**31 - 1.
POSITIVE = {"type": ["integer", "string"], "pattern": r"^[0-9]+$", "minimum": 1,
            "maximum": 0x7FFFFFFF}
NON_NEGATIVE = {**POSITIVE, "minimum": 0}
_COUNT = {"type": ["integer", "string"], "pattern": r"^[0-9]*$", "minimum": 1,
          "minLength": 1}
_TAG = {"type": "string", "pattern": "^[^,/]*$", "minLength": 1, "maxLength": 60}
#: Nova's per-server limit on tags.
MAX_TAGS = 50
_BOOT_INDEX = {"type": ["integer", "string", "null"], "pattern": r"^-?[0-9]+$"}
_DEVICE = {"type": ["string", "null"],
           "pattern": r"(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$"}

# -- servers -----------------------------------------------------------------------------------
_BDM_V2 = {
    "type": "object",
    "properties": {
        "source_type": {"type": "string", "enum": ["volume", "image", "snapshot", "blank"]},
        "destination_type": {"type": "string", "enum": ["local", "volume"]},
        "uuid": {"type": "string", "minLength": 1, "maxLength": 255,
                 "pattern": r"^[a-zA-Z0-9._-]*$"},
        "boot_index": _BOOT_INDEX,
        "volume_size": POSITIVE,
        "delete_on_termination": BOOLEAN,
        "device_name": {"type": "string", "minLength": 1, "maxLength": 255,
                        "pattern": r"^[a-zA-Z0-9._/-]*$"},
        "device_type": {"type": "string", "maxLength": 255},
        "disk_bus": {"type": "string", "maxLength": 255},
        "guest_format": {"type": "string", "maxLength": 255},
    },
    "additionalProperties": False,
}
_NETWORKS_ANY = {"type": "array", "items": {"type": "object"}}
_NETWORKS_V237 = {"oneOf": [_NETWORKS_ANY, {"type": "string", "enum": ["none", "auto"]}]}

_CREATE_SERVER = {
    "name": NAME,
    "imageRef": {"oneOf": [UUID, {"type": "string", "maxLength": 0}]},
    "flavorRef": {"type": ["string", "integer"], "minLength": 1},
    "adminPass": {"type": "string"},
    "metadata": METADATA,
    "networks": _NETWORKS_ANY,
    "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
    "availability_zone": NAME,
    "block_device_mapping_v2": {"type": "array", "items": _BDM_V2},
    "key_name": NAME,
    "min_count": _COUNT,
    "max_count": _COUNT,
    "security_groups": {"type": "array", "items": {
        "type": "object", "properties": {"name": NAME}, "additionalProperties": False}},
    "user_data": {"type": "string", "maxLength": 65535, "pattern": r"^[A-Za-z0-9+/=\s]*$"},
    "accessIPv4": {"type": "string", "format": "ipv4"},
    "accessIPv6": {"type": "string", "format": "ipv6"},
    "return_reservation_id": BOOLEAN,
    "config_drive": BOOLEAN,
}
_CREATE_TAGS = {"type": "array", "items": _TAG, "maxItems": MAX_TAGS}
#: Scheduler hints minicloud honours: ``group`` (a server group of the caller's project),
#: ``same_host`` and ``different_host`` (a server id or a list of them); any other hint is
#: refused rather than ignored.
_SERVERS_HINT = {"oneOf": [UUID, {"type": "array", "items": UUID}]}
_HINTS = {"type": "object", "properties": {"group": UUID, "same_host": _SERVERS_HINT,
                                           "different_host": _SERVERS_HINT},
          "additionalProperties": False}


def _create(extra: dict, required: tuple[str, ...] = ()) -> dict:
    props = {**_CREATE_SERVER, **extra}
    return {"type": "object",
            "properties": {"server": {"type": "object", "properties": props,
                                      "required": ["name", "flavorRef", *required],
                                      "additionalProperties": False},
                           "os:scheduler_hints": _HINTS,
                           "OS-SCH-HNT:scheduler_hints": _HINTS},
            "required": ["server"], "additionalProperties": False}


#: ``POST /servers``: 2.1; 2.19 adds description; 2.37 makes networks required ("auto",
#: "none" or a list); 2.52 adds tags; 2.74 adds host and hypervisor_hostname (admins); 2.90
#: hostname (2.94: a fully qualified one); 2.63 adds trusted_image_certificates.
CREATE_SERVER = _create({})
CREATE_SERVER_V219 = _create({"description": DESCRIPTION})
CREATE_SERVER_V237 = _create({"description": DESCRIPTION, "networks": _NETWORKS_V237},
                             ("networks",))
CREATE_SERVER_V252 = _create({"description": DESCRIPTION, "networks": _NETWORKS_V237,
                              "tags": _CREATE_TAGS}, ("networks",))
_FQDN = {"type": "string", "pattern": r"^[a-zA-Z0-9-._]*$", "minLength": 1,
         "maxLength": 255}
#: ``trusted_image_certificates`` (2.63): key manager ids, as Nova's schema.
TRUSTED_CERTS = {"type": ["array", "null"], "minItems": 1, "maxItems": 50,
                 "uniqueItems": True, "items": {"type": "string", "minLength": 1}}
CREATE_SERVER_V263 = _create({"description": DESCRIPTION, "networks": _NETWORKS_V237,
                              "tags": _CREATE_TAGS,
                              "trusted_image_certificates": TRUSTED_CERTS}, ("networks",))
_V274 = {"description": DESCRIPTION, "networks": _NETWORKS_V237, "tags": _CREATE_TAGS,
         "host": _FQDN, "hypervisor_hostname": _FQDN,
         "trusted_image_certificates": TRUSTED_CERTS}
CREATE_SERVER_V274 = _create(_V274, ("networks",))
#: The guest's hostname (2.90): an RFC 1123 label; from 2.94 a fully qualified name.
HOSTNAME = {"type": "string", "minLength": 2, "maxLength": 63,
            "pattern": r"^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$"}
HOSTNAME_FQDN = {"type": "string", "minLength": 1, "maxLength": 255,
                 "pattern": r"^[a-zA-Z0-9]+[a-zA-Z0-9-._]*[a-zA-Z0-9]+$"}
CREATE_SERVER_V290 = _create({**_V274, "hostname": HOSTNAME}, ("networks",))
CREATE_SERVER_V294 = _create({**_V274, "hostname": HOSTNAME_FQDN}, ("networks",))


def _update(extra: dict) -> dict:
    props = {"name": NAME, "OS-DCF:diskConfig": {"type": "string",
                                                 "enum": ["AUTO", "MANUAL"]},
             "accessIPv4": _CREATE_SERVER["accessIPv4"],
             "accessIPv6": _CREATE_SERVER["accessIPv6"], **extra}
    return {"type": "object",
            "properties": {"server": {"type": "object", "properties": props,
                                      "additionalProperties": False}},
            "required": ["server"], "additionalProperties": False}


#: ``PUT /servers/{id}``: name; description from 2.19; hostname from 2.90 (FQDN 2.94).
UPDATE_SERVER = _update({})
UPDATE_SERVER_V219 = _update({"description": DESCRIPTION})
UPDATE_SERVER_V290 = _update({"description": DESCRIPTION, "hostname": HOSTNAME})
UPDATE_SERVER_V294 = _update({"description": DESCRIPTION, "hostname": HOSTNAME_FQDN})

_SECURITY_GROUP = {"type": "object",
                   "properties": {"name": {"type": "string", "minLength": 1,
                                           "maxLength": 255}},
                   "required": ["name"], "additionalProperties": False}
_NO_BODY = {}  # pause, suspend, unlock...: Nova reads no body ({"pause": null} as sent)
_ACTIONS = {
    "os-start": _NO_BODY,
    "os-stop": _NO_BODY,
    "reboot": {"type": "object",
               "properties": {"type": {"type": "string", "enum": [
                   "HARD", "Hard", "hard", "SOFT", "Soft", "soft"]}},
               "required": ["type"], "additionalProperties": False},
    "createImage": {"type": "object",
                    "properties": {"name": NAME, "metadata": METADATA},
                    "required": ["name"], "additionalProperties": False},
    "os-getConsoleOutput": {"type": "object",
                            "properties": {"length": {
                                "type": ["integer", "string", "null"],
                                "pattern": r"^-?[0-9]+$", "minimum": -1}},
                            "additionalProperties": False},
    "createBackup": {"type": "object",
                     "properties": {"name": NAME, "backup_type": {"type": "string"},
                                    "rotation": {"type": ["integer", "string"],
                                                 "pattern": r"^[0-9]+$", "minimum": 0,
                                                 "maximum": 0x7FFFFFFF, "minLength": 1},
                                    "metadata": METADATA},
                     "required": ["name", "backup_type", "rotation"],
                     "additionalProperties": False},
    "os-resetState": {"type": "object",
                      "properties": {"state": {"type": "string", "enum": ["active", "error"]}},
                      "required": ["state"], "additionalProperties": False},
    "lock": _NO_BODY, "unlock": _NO_BODY, "pause": _NO_BODY, "unpause": _NO_BODY,
    "suspend": _NO_BODY, "resume": _NO_BODY, "restore": _NO_BODY, "forceDelete": _NO_BODY,
    "rescue": {"type": ["object", "null"],
               "properties": {"adminPass": {"type": "string"}, "rescue_image_ref": UUID},
               "additionalProperties": False},
    "unrescue": _NO_BODY,
    "addSecurityGroup": _SECURITY_GROUP, "removeSecurityGroup": _SECURITY_GROUP,
    # a target host from 2.56 (ignored before, as Nova reads no body then)
    "migrate": {"type": ["object", "null"],
                "properties": {"host": {"oneOf": [_FQDN, {"type": "null"}]}},
                "additionalProperties": False},
}
_REBUILD = {
    "imageRef": UUID, "name": NAME, "adminPass": {"type": "string"}, "metadata": METADATA,
    "preserve_ephemeral": BOOLEAN,
    "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
    "accessIPv4": _CREATE_SERVER["accessIPv4"], "accessIPv6": _CREATE_SERVER["accessIPv6"],
}
_USER_DATA = {"oneOf": [_CREATE_SERVER["user_data"], {"type": "null"}]}
_LOCK_V273 = {"type": ["object", "null"],
              "properties": {"locked_reason": {"type": "string", "minLength": 1,
                                               "maxLength": 255}},
              "additionalProperties": False}


def _server_action(rebuild_extra: dict, lock: dict = _NO_BODY) -> dict:
    rebuild = {"type": "object", "properties": {**_REBUILD, **rebuild_extra},
               "required": ["imageRef"], "additionalProperties": False}
    return {"type": "object", "minProperties": 1, "maxProperties": 1,
            "properties": {**_ACTIONS, "rebuild": rebuild, "lock": lock},
            "additionalProperties": False}


#: ``POST /servers/{id}/action``: exactly one of the actions minicloud offers. ``rebuild``
#: gains description at 2.19, key_name at 2.54, user_data at 2.57 (personality files are
#: not offered); ``lock`` takes a ``locked_reason`` from 2.73; rebuild a hostname from 2.90
#: (FQDN from 2.94).
SERVER_ACTION = _server_action({})
SERVER_ACTION_V219 = _server_action({"description": DESCRIPTION})
SERVER_ACTION_V254 = _server_action({"description": DESCRIPTION,
                                     "key_name": {"oneOf": [NAME, {"type": "null"}]}})
_REBUILD_V257 = {"description": DESCRIPTION, "key_name": {"oneOf": [NAME, {"type": "null"}]},
                 "user_data": _USER_DATA}
SERVER_ACTION_V257 = _server_action(_REBUILD_V257)
SERVER_ACTION_V273 = _server_action(_REBUILD_V257, _LOCK_V273)
SERVER_ACTION_V290 = _server_action({**_REBUILD_V257, "hostname": HOSTNAME}, _LOCK_V273)
SERVER_ACTION_V294 = _server_action({**_REBUILD_V257, "hostname": HOSTNAME_FQDN}, _LOCK_V273)

# -- server tags (2.26) ----------------------------------------------------------------------
#: ``PUT /servers/{id}/tags``: the whole set (at most MAX_TAGS: checked with Nova's message).
REPLACE_TAGS = {"type": "object",
                "properties": {"tags": {"type": "array", "items": _TAG}},
                "required": ["tags"], "additionalProperties": False}
#: One tag in a URL (``PUT /servers/{id}/tags/{tag}``), checked as Nova does.
TAG = _TAG

# -- server metadata -----------------------------------------------------------------------------
SET_METADATA = {"type": "object", "properties": {"metadata": METADATA},
                "required": ["metadata"], "additionalProperties": False}
SET_METADATA_ITEM = {"type": "object", "properties": {"meta": _ONE_ITEM},
                     "required": ["meta"], "additionalProperties": False}

# -- volume attachments --------------------------------------------------------------------------
_ATTACH = {"volumeId": UUID, "device": _DEVICE}


def _attachment(extra: dict) -> dict:
    return {"type": "object",
            "properties": {"volumeAttachment": {
                "type": "object", "properties": {**_ATTACH, **extra},
                "required": ["volumeId"], "additionalProperties": False}},
            "required": ["volumeAttachment"], "additionalProperties": False}


#: ``POST .../os-volume_attachments``: 2.49 adds tag, 2.79 delete_on_termination.
ATTACH_VOLUME = _attachment({})
ATTACH_VOLUME_V249 = _attachment({"tag": _TAG})
ATTACH_VOLUME_V279 = _attachment({"tag": _TAG, "delete_on_termination": BOOLEAN})
#: ``PUT .../os-volume_attachments/{volume_id}``: before 2.85 only a volume swap (volumeId);
#: from 2.85 delete_on_termination can change (the other fields must stay as they are).
UPDATE_ATTACHMENT = {"type": "object",
                     "properties": {"volumeAttachment": {
                         "type": "object", "properties": {"volumeId": UUID},
                         "required": ["volumeId"], "additionalProperties": False}},
                     "required": ["volumeAttachment"], "additionalProperties": False}
UPDATE_ATTACHMENT_V285 = _attachment({"tag": _TAG, "delete_on_termination": BOOLEAN,
                                      "serverId": UUID, "id": UUID})

# -- flavors -------------------------------------------------------------------------------------
#: Nova's flavor id: letters, digits, ``.``, ``_``, ``-`` and inner spaces (never ``/``).
FLAVOR_ID = {"type": ["string", "number", "null"], "minLength": 1, "maxLength": 255,
             "pattern": r"^(?! )[a-zA-Z0-9. _-]+(?<! )$"}
_FLAVOR = {
    "name": NAME, "id": FLAVOR_ID, "ram": POSITIVE, "vcpus": POSITIVE, "disk": NON_NEGATIVE,
    "OS-FLV-EXT-DATA:ephemeral": NON_NEGATIVE, "swap": NON_NEGATIVE,
    "rxtx_factor": {"type": ["number", "string"], "pattern": r"^[0-9]+(\.[0-9]+)?$",
                    "exclusiveMinimum": True, "minimum": 0, "maximum": 3.40282e+38},
    "os-flavor-access:is_public": BOOLEAN,
}


def _flavor_create(extra: dict) -> dict:
    return {"type": "object",
            "properties": {"flavor": {"type": "object", "properties": {**_FLAVOR, **extra},
                                      "required": ["name", "ram", "vcpus", "disk"],
                                      "additionalProperties": False}},
            "required": ["flavor"], "additionalProperties": False}


#: ``POST /flavors``: description from 2.55.
CREATE_FLAVOR = _flavor_create({})
CREATE_FLAVOR_V255 = _flavor_create({"description": FLAVOR_DESCRIPTION})
#: ``PUT /flavors/{id}`` (2.55+): only the description changes.
UPDATE_FLAVOR = {"type": "object",
                 "properties": {"flavor": {"type": "object",
                                           "properties": {"description": FLAVOR_DESCRIPTION},
                                           "required": ["description"],
                                           "additionalProperties": False}},
                 "required": ["flavor"], "additionalProperties": False}
_SPECS = {"type": "object",
          "patternProperties": {METADATA_KEY: {"type": ["string", "number"],
                                               "maxLength": 255}},
          "additionalProperties": False}
CREATE_EXTRA_SPECS = {"type": "object", "properties": {"extra_specs": _SPECS},
                      "required": ["extra_specs"], "additionalProperties": False}
UPDATE_EXTRA_SPEC = {**_SPECS, "minProperties": 1, "maxProperties": 1}

# -- hosts ---------------------------------------------------------------------------------------
_REASON = {"type": "string", "minLength": 1, "maxLength": 255}
#: ``PUT /os-services/{enable|disable|disable-log-reason|force-down}`` (before 2.53).
UPDATE_SERVICE_LEGACY = {"type": "object",
                         "properties": {"host": _FQDN,
                                        "binary": {"type": "string", "minLength": 1,
                                                   "maxLength": 255},
                                        "disabled_reason": _REASON,
                                        "forced_down": BOOLEAN},
                         "required": ["host", "binary"], "additionalProperties": False}
#: ``PUT /os-services/{service_id}`` (2.53+).
UPDATE_SERVICE = {"type": "object",
                  "properties": {"status": {"type": "string",
                                            "enum": ["enabled", "disabled"]},
                                 "disabled_reason": _REASON, "forced_down": BOOLEAN},
                  "additionalProperties": False}

# -- quotas --------------------------------------------------------------------------------------
_QUOTA = {"type": ["integer", "string"], "pattern": r"^-?[0-9]+$", "minimum": -1,
          "maximum": 0x7FFFFFFF}
_QUOTA_V257 = ("instances", "cores", "ram", "metadata_items", "key_pairs", "server_groups",
               "server_group_members")
_QUOTA_V236 = (*_QUOTA_V257, "injected_files", "injected_file_content_bytes",
               "injected_file_path_bytes")
_QUOTA_V21 = (*_QUOTA_V236, "floating_ips", "fixed_ips", "security_groups",
              "security_group_rules")


def _quota_update(names: tuple[str, ...]) -> dict:
    props = {name: _QUOTA for name in names}
    props["force"] = BOOLEAN
    return {"type": "object",
            "properties": {"quota_set": {"type": "object", "properties": props,
                                         "additionalProperties": False}},
            "required": ["quota_set"], "additionalProperties": False}


#: ``PUT /os-quota-sets/{project_id}``: 2.36 drops the network quotas, 2.57 the file ones.
UPDATE_QUOTAS = _quota_update(_QUOTA_V21)
UPDATE_QUOTAS_V236 = _quota_update(_QUOTA_V236)
UPDATE_QUOTAS_V257 = _quota_update(_QUOTA_V257)

# -- keypairs ------------------------------------------------------------------------------------
#: Nova's keypair names: letters, digits, ``_``, ``-`` and inner spaces; 2.92 adds ``@`` and
#: ``.`` (no leading or trailing space either way).
KEYPAIR_NAME = {"type": "string", "minLength": 1, "maxLength": 255,
                "pattern": r"^(?! )[a-zA-Z0-9_\- ]*(?<! )$"}
KEYPAIR_NAME_V292 = {**KEYPAIR_NAME, "pattern": r"^(?! )[a-zA-Z0-9@._\- ]*(?<! )$"}
_KEYPAIR_TYPE = {"type": "string", "enum": ["ssh", "x509"]}


def _keypair_create(props: dict, required: tuple[str, ...] = ()) -> dict:
    return {"type": "object",
            "properties": {"keypair": {"type": "object", "properties": props,
                                       "required": ["name", *required],
                                       "additionalProperties": False}},
            "required": ["keypair"], "additionalProperties": False}


_KEYPAIR = {"name": KEYPAIR_NAME, "public_key": {"type": "string"}}
#: ``POST /os-keypairs``: 2.2 adds type, 2.10 user_id (admins create for another user),
#: 2.92 widens the name and requires public_key (no more generated keys).
CREATE_KEYPAIR = _keypair_create(_KEYPAIR)
CREATE_KEYPAIR_V22 = _keypair_create({**_KEYPAIR, "type": _KEYPAIR_TYPE})
CREATE_KEYPAIR_V210 = _keypair_create({**_KEYPAIR, "type": _KEYPAIR_TYPE,
                                       "user_id": {"type": "string"}})
CREATE_KEYPAIR_V292 = _keypair_create({**_KEYPAIR, "name": KEYPAIR_NAME_V292,
                                       "type": _KEYPAIR_TYPE, "user_id": {"type": "string"}},
                                      ("public_key",))


def _quota_class_update(names: tuple[str, ...]) -> dict:
    return {"type": "object",
            "properties": {"quota_class_set": {
                "type": "object", "properties": {name: _QUOTA for name in names},
                "additionalProperties": False}},
            "required": ["quota_class_set"], "additionalProperties": False}


#: ``PUT /os-quota-class-sets/{class}``: 2.50 drops the network quotas, 2.57 the file ones.
UPDATE_QUOTA_CLASS = _quota_class_update(_QUOTA_V21)
UPDATE_QUOTA_CLASS_V250 = _quota_class_update(_QUOTA_V236)
UPDATE_QUOTA_CLASS_V257 = _quota_class_update(_QUOTA_V257)

# -- flavor access, os-hosts -----------------------------------------------------------------------
_TENANT_ACCESS = {"type": "object",
                  "properties": {"tenant": {"type": "string", "minLength": 1,
                                            "maxLength": 255}},
                  "required": ["tenant"], "additionalProperties": False}
#: ``POST /flavors/{id}/action``: exactly one of ``addTenantAccess`` / ``removeTenantAccess``.
FLAVOR_ACTION = {"type": "object",
                 "properties": {"addTenantAccess": _TENANT_ACCESS,
                                "removeTenantAccess": _TENANT_ACCESS},
                 "minProperties": 1, "maxProperties": 1, "additionalProperties": False}
_ENABLE = {"type": "string", "enum": ["enable", "disable", "Enable", "Disable", "ENABLE",
                                      "DISABLE"]}
#: ``PUT /os-hosts/{host}`` (2.1-2.42): ``status`` and/or ``maintenance_mode``.
UPDATE_HOST = {"type": "object",
               "properties": {"status": _ENABLE, "maintenance_mode": _ENABLE},
               "anyOf": [{"required": ["status"]}, {"required": ["maintenance_mode"]}],
               "additionalProperties": False}

# -- server groups -------------------------------------------------------------------------------
def _server_group(policies: tuple[str, ...], v264: bool = False) -> dict:
    if v264:
        props = {"name": NAME, "policy": {"type": "string", "enum": list(policies)},
                 "rules": {"type": "object",
                           "properties": {"max_server_per_host": POSITIVE},
                           "additionalProperties": False}}
        required = ["name", "policy"]
    else:
        props = {"name": NAME,
                 "policies": {"type": "array", "minItems": 1, "maxItems": 1,
                              "items": {"type": "string", "enum": list(policies)}}}
        required = ["name", "policies"]
    return {"type": "object",
            "properties": {"server_group": {"type": "object", "properties": props,
                                            "required": required,
                                            "additionalProperties": False}},
            "required": ["server_group"], "additionalProperties": False}


_HARD_POLICIES = ("anti-affinity", "affinity")
_ALL_POLICIES = (*_HARD_POLICIES, "soft-anti-affinity", "soft-affinity")
#: ``POST /os-server-groups``: 2.15 adds the soft policies; 2.64 takes one ``policy`` string
#: and ``rules`` (``max_server_per_host``, anti-affinity only) instead of ``policies``.
CREATE_SERVER_GROUP = _server_group(_HARD_POLICIES)
CREATE_SERVER_GROUP_V215 = _server_group(_ALL_POLICIES)
CREATE_SERVER_GROUP_V264 = _server_group(_ALL_POLICIES, v264=True)

# -- aggregates ----------------------------------------------------------------------------------
_AZ_NAME = {"type": "string", "minLength": 1, "maxLength": 255,
            "pattern": r"^[^:\s\x00-\x1f\x7f](?:[^:\x00-\x1f\x7f]*[^:\s\x00-\x1f\x7f])?$"}
_AGG_ZONE = {"oneOf": [_AZ_NAME, {"type": "null"}]}
#: ``POST /os-aggregates``.
CREATE_AGGREGATE = {"type": "object",
                    "properties": {"aggregate": {
                        "type": "object",
                        "properties": {"name": NAME, "availability_zone": _AGG_ZONE},
                        "required": ["name"], "additionalProperties": False}},
                    "required": ["aggregate"], "additionalProperties": False}
#: ``PUT /os-aggregates/{id}``: a new name and/or zone.
UPDATE_AGGREGATE = {"type": "object",
                    "properties": {"aggregate": {
                        "type": "object",
                        "properties": {"name": NAME, "availability_zone": _AGG_ZONE},
                        "minProperties": 1, "additionalProperties": False}},
                    "required": ["aggregate"], "additionalProperties": False}
_HOST = {"type": "object", "properties": {"host": _FQDN}, "required": ["host"],
         "additionalProperties": False}
_AGG_METADATA = {"type": "object",
                 "patternProperties": {r"^[a-zA-Z0-9-_:. ]{1,255}$": {
                     "type": ["string", "null"], "maxLength": 255}},
                 "additionalProperties": False}
#: ``POST /os-aggregates/{id}/action``: exactly one of add_host, remove_host, set_metadata.
AGGREGATE_ACTION = {
    "type": "object", "minProperties": 1, "maxProperties": 1,
    "properties": {
        "add_host": _HOST, "remove_host": _HOST,
        "set_metadata": {"type": "object", "properties": {"metadata": _AGG_METADATA},
                         "required": ["metadata"], "additionalProperties": False}},
    "additionalProperties": False}
#: ``POST /os-aggregates/{id}/images`` (2.81): the images to pre-cache on its hosts.
CACHE_IMAGES = {"type": "object",
                "properties": {"cache": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "properties": {"id": UUID}, "required": ["id"],
                    "additionalProperties": False}}},
                "required": ["cache"], "additionalProperties": False}

# -- proxies (2.1-2.35) --------------------------------------------------------------------------
#: ``POST /os-volumes``: Nova's volume create (``size`` required: digits or an integer >= 1;
#: a string "0" passes the pattern and is refused by the route).
CREATE_VOLUME = {
    "type": "object",
    "properties": {"volume": {
        "type": "object",
        "properties": {
            "volume_type": {"type": "string"},
            "metadata": {"type": "object"},
            "snapshot_id": {"type": "string"},
            "size": {"type": ["integer", "string"], "pattern": r"^[0-9]+$", "minimum": 1},
            "availability_zone": {"type": "string"},
            "display_name": {"type": "string"},
            "display_description": {"type": "string"},
        },
        "required": ["size"], "additionalProperties": False}},
    "required": ["volume"], "additionalProperties": False,
}


#: ``POST /os-snapshots``: Nova's snapshot create (``force`` snapshots an in-use volume).
CREATE_SNAPSHOT = {
    "type": "object",
    "properties": {"snapshot": {
        "type": "object",
        "properties": {"volume_id": {"type": "string"}, "force": BOOLEAN,
                       "display_name": {"type": "string"},
                       "display_description": {"type": "string"}},
        "required": ["volume_id"], "additionalProperties": False}},
    "required": ["snapshot"], "additionalProperties": False,
}

# -- os-server-external-events ---------------------------------------------------------------
def _external_events(names: list[str]) -> dict:
    event = {"type": "object",
             "properties": {"server_uuid": UUID, "name": {"type": "string", "enum": names},
                            "status": {"type": "string",
                                       "enum": ["failed", "completed", "in-progress"]},
                            "tag": {"type": "string", "maxLength": 255}},
             "required": ["server_uuid", "name"], "additionalProperties": False}
    return {"type": "object",
            "properties": {"events": {"type": "array", "minItems": 1, "items": event}},
            "required": ["events"], "additionalProperties": False}


#: ``POST /os-server-external-events``: the event names grow at 2.51, 2.76, 2.82 and 2.93.
EXTERNAL_EVENTS = {minor: _external_events(external_events.names(minor))
                   for minor in (1, 51, 76, 82, 93)}
