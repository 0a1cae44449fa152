"""JSON schemas of the catalog and credential request bodies, as Keystone's.

Keystone's parameter types: a *name* is 1 to 255 characters with at least one that is not
white space; booleans are JSON booleans only (``"True"`` is a 400, as Tempest checks); a URL
is ``scheme:rest`` of at most 225 characters. Catalog and credential bodies accept
attributes beyond Keystone's own (kept and returned, as Keystone does); application
credentials, endpoint groups and access rules do not.
"""
from __future__ import annotations

NAME = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"}
ID = {"type": "string", "minLength": 1, "maxLength": 64}
BOOLEAN = {"type": "boolean"}
DESCRIPTION = {"type": ["string", "null"], "maxLength": 65535}
NULLABLE_ID = {"type": ["string", "null"], "maxLength": 255}
URL = {"type": "string", "minLength": 0, "maxLength": 225, "pattern": r"^[a-zA-Z0-9+.-]+:.+"}
INTERFACE = {"type": "string", "enum": ["admin", "internal", "public"]}


def _wrap(key: str, body: dict) -> dict:
    """``{key: body}``: the resource object under its singular name, nothing else."""
    return {"type": "object", "properties": {key: body}, "required": [key],
            "additionalProperties": False}


def _obj(properties: dict, required: tuple[str, ...] = (), extra: bool = True,
         update: bool = False) -> dict:
    schema: dict = {"type": "object", "properties": properties,
                    "additionalProperties": extra}
    if required:
        schema["required"] = list(required)
    if update:
        schema["minProperties"] = 1
    return schema


_REGION = {"description": {"type": ["string", "null"], "maxLength": 255},
           "parent_region_id": NULLABLE_ID}
REGION_CREATE = _wrap("region", _obj({**_REGION, "id": {"type": "string", "minLength": 1,
                                                         "maxLength": 255}}))
REGION_UPDATE = _wrap("region", _obj(_REGION, update=True))

_SERVICE = {"type": {"type": "string", "minLength": 1, "maxLength": 255},
            "name": NAME, "description": DESCRIPTION, "enabled": BOOLEAN}
SERVICE_CREATE = _wrap("service", _obj(_SERVICE, ("type",)))
SERVICE_UPDATE = _wrap("service", _obj(_SERVICE, update=True))

_ENDPOINT = {"service_id": ID, "interface": INTERFACE, "url": URL, "enabled": BOOLEAN,
             "region_id": NULLABLE_ID, "region": NULLABLE_ID}
ENDPOINT_CREATE = _wrap("endpoint", _obj(_ENDPOINT, ("service_id", "interface", "url")))
ENDPOINT_UPDATE = _wrap("endpoint", _obj(_ENDPOINT, update=True))

_FILTERS = {"type": "object", "properties": {"interface": INTERFACE, "service_id": ID,
                                             "region_id": ID},
            "additionalProperties": False}
_GROUP = {"name": NAME, "description": DESCRIPTION, "filters": _FILTERS}
ENDPOINT_GROUP_CREATE = _wrap("endpoint_group", _obj(_GROUP, ("name", "filters"), False))
ENDPOINT_GROUP_UPDATE = _wrap("endpoint_group", _obj(_GROUP, extra=False, update=True))

_POLICY = {"blob": {"type": "string", "maxLength": 65535},
           "type": {"type": "string", "minLength": 1, "maxLength": 255}}
POLICY_CREATE = _wrap("policy", _obj(_POLICY, ("blob", "type")))
POLICY_UPDATE = _wrap("policy", _obj(_POLICY, update=True))

CONSUMER_CREATE = _wrap("consumer", _obj({"description": DESCRIPTION}))
CONSUMER_UPDATE = _wrap("consumer", _obj({"description": DESCRIPTION}))

_CREDENTIAL = {"blob": {"type": "string", "minLength": 1, "maxLength": 65535},
               "type": {"type": "string", "minLength": 1, "maxLength": 255},
               "user_id": ID, "project_id": {"type": ["string", "null"], "maxLength": 64}}
CREDENTIAL_CREATE = _wrap("credential", _obj(_CREDENTIAL, ("blob", "type", "user_id")))
CREDENTIAL_UPDATE = _wrap("credential", _obj(_CREDENTIAL, update=True))

#: ``POST /v3/users/{id}/credentials/OS-EC2``: the project, as ``tenant_id`` (or
#: ``project_id``).
EC2_CREATE = {"type": "object",
              "properties": {"tenant_id": ID, "project_id": ID},
              "anyOf": [{"required": ["tenant_id"]}, {"required": ["project_id"]}]}

_ROLE_REF = {"type": "object",
             "properties": {"id": ID, "name": NAME, "domain_id": NULLABLE_ID},
             "anyOf": [{"required": ["id"]}, {"required": ["name"]}],
             "additionalProperties": False}
_ACCESS_RULE = {"type": "object",
                "properties": {"id": ID,
                               "path": {"type": "string", "minLength": 0, "maxLength": 225},
                               "method": {"type": "string",
                                          "enum": ["HEAD", "GET", "POST", "PUT", "PATCH",
                                                   "DELETE"]},
                               "service": {"type": "string", "minLength": 1,
                                           "maxLength": 64}},
                "additionalProperties": False}
APPLICATION_CREDENTIAL_CREATE = _wrap("application_credential", _obj({
    "name": NAME, "description": DESCRIPTION,
    "secret": {"type": ["string", "null"], "minLength": 1, "maxLength": 255},
    "expires_at": {"type": ["string", "null"], "maxLength": 64},
    "roles": {"type": "array", "items": _ROLE_REF, "maxItems": 64},
    "unrestricted": {"type": ["boolean", "null"]},
    "access_rules": {"type": "array", "items": _ACCESS_RULE, "maxItems": 100},
}, ("name",), extra=False))
