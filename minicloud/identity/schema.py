"""JSON schemas of the identity request bodies, with Keystone's limits.

Names: 1 to 64 characters for projects and domains, 1 to 255 for users, groups and roles,
with at least one non-space character. Project tags: 1 to 255 characters without ``,`` or
``/``, at most 80. Users, projects and roles accept extra attributes (Keystone keeps and
returns them); domains and groups do not take more than Keystone lists.
"""
from __future__ import annotations

_NON_BLANK = r"[\S]+"
SHORT_NAME = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": _NON_BLANK}
NAME = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": _NON_BLANK}
DESCRIPTION = {"type": ["string", "null"]}
ID = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[a-zA-Z0-9-_]+$"}
NULLABLE_ID = {"type": ["string", "null"], "minLength": 1, "maxLength": 64,
               "pattern": r"^[a-zA-Z0-9-_]+$"}
#: Keystone takes JSON booleans only in identity bodies.
STRICT_BOOLEAN = {"type": "boolean"}
TAG = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[^,/]*$"}
TAGS = {"type": "array", "items": TAG, "maxItems": 80, "uniqueItems": True}
OPTIONS = {"type": "object"}


def _wrapped(key: str, properties: dict, required: tuple[str, ...] = (),
             extra: bool = True, min_properties: int = 0) -> dict:
    inner: dict = {"type": "object", "properties": properties,
                   "additionalProperties": extra}
    if required:
        inner["required"] = list(required)
    if min_properties:
        inner["minProperties"] = min_properties
    return {"type": "object", "properties": {key: inner}, "required": [key],
            "additionalProperties": False}


_DOMAIN = {"name": SHORT_NAME, "description": DESCRIPTION, "enabled": STRICT_BOOLEAN,
           "tags": TAGS, "options": OPTIONS}
DOMAIN_CREATE = _wrapped("domain", {**_DOMAIN, "explicit_domain_id": ID}, ("name",), False)
DOMAIN_UPDATE = _wrapped("domain", _DOMAIN, (), False, 1)

_PROJECT = {"name": SHORT_NAME, "description": DESCRIPTION, "enabled": STRICT_BOOLEAN,
            "tags": TAGS, "options": OPTIONS}
PROJECT_CREATE = _wrapped("project", {**_PROJECT, "domain_id": NULLABLE_ID,
                                      "parent_id": NULLABLE_ID, "is_domain": STRICT_BOOLEAN},
                          ("name",))
PROJECT_UPDATE = _wrapped("project", {**_PROJECT, "domain_id": NULLABLE_ID,
                                      "parent_id": NULLABLE_ID, "is_domain": STRICT_BOOLEAN},
                          (), True, 1)
PROJECT_TAGS = {"type": "object", "properties": {"tags": TAGS}, "required": ["tags"],
                "additionalProperties": False}

_USER = {"name": NAME, "description": DESCRIPTION, "enabled": STRICT_BOOLEAN,
         "domain_id": ID, "default_project_id": NULLABLE_ID,
         "password": {"type": ["string", "null"], "maxLength": 4096},
         "email": {"type": ["string", "null"]}, "options": OPTIONS}
USER_CREATE = _wrapped("user", _USER, ("name",))
USER_UPDATE = _wrapped("user", _USER, (), True, 1)
PASSWORD_CHANGE = _wrapped("user", {"original_password": {"type": "string"},
                                    "password": {"type": "string", "maxLength": 4096}},
                           ("original_password", "password"), False)

_GROUP = {"name": NAME, "description": DESCRIPTION, "domain_id": ID}
GROUP_CREATE = _wrapped("group", _GROUP, ("name",))
GROUP_UPDATE = _wrapped("group", _GROUP, (), True, 1)

_ROLE = {"name": NAME, "description": DESCRIPTION, "domain_id": NULLABLE_ID,
         "options": OPTIONS}
ROLE_CREATE = _wrapped("role", _ROLE, ("name",))
ROLE_UPDATE = _wrapped("role", _ROLE, (), True, 1)

_SCOPE = {"type": "object", "properties": {
    "project": {"type": "object"}, "domain": {"type": "object"},
    "system": {"type": "object"}, "OS-TRUST:trust": {"type": "object"}},
    "minProperties": 1, "maxProperties": 1, "additionalProperties": False}
AUTH = {"type": "object", "required": ["auth"], "additionalProperties": False,
        "properties": {"auth": {
            "type": "object", "required": ["identity"],
            "properties": {
                "identity": {"type": "object", "required": ["methods"], "properties": {
                    "methods": {"type": "array", "items": {"type": "string"},
                                "minItems": 1},
                    "password": {"type": "object"}, "token": {"type": "object"},
                }},
                "scope": {"anyOf": [_SCOPE, {"type": "string", "enum": ["unscoped"]}]},
            }}}}
