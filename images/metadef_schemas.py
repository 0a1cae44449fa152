"""Metadata definitions: the documents Glance publishes under ``/v2/schemas/metadefs/`` and
the request bodies they describe, with the checks Glance makes on property definitions.

A *property definition* is a JSON-schema fragment (``title`` and ``type`` required; ``enum``,
``default``, ``minimum``/``maximum``, ``minLength``/``maxLength``, ``pattern``, ``items``,
... as in Glance's ``PropertyType``). Beyond the published schema, :func:`check_definition`
refuses a fragment that is not itself a valid JSON schema or contradicts itself (a pattern
that is not a regular expression, an ``enum`` value or ``default`` of another type, a
minimum above its maximum): such a definition could never validate any value.

Every document is built fresh per call (callers may mutate it).
"""
from __future__ import annotations

import re
from typing import Any

import jsonschema
from jsonschema import Draft4Validator

from minicloud.errors import BadRequest, Forbidden

TYPES = ["array", "boolean", "integer", "number", "object", "string"]
VISIBILITIES = ["public", "private"]
READ_ONLY = ("created_at", "updated_at", "self", "schema")
_POSITIVE = {"type": "integer", "minimum": 0}
_STRINGS = {"type": "array", "items": {"type": "string", "maxLength": 255},
            "uniqueItems": True}
#: Keys of a definition that are not JSON-schema keywords (Glance's additions).
_NON_SCHEMA = ("name", "operators", "readonly", "required")
_BOUNDS = (("minimum", "maximum"), ("minLength", "maxLength"), ("minItems", "maxItems"))


def _ts(description: str) -> dict[str, Any]:
    return {"type": "string", "readOnly": True, "format": "date-time",
            "description": description}


def definition_fields() -> dict[str, Any]:
    """The keywords of one property definition (Glance's ``PropertyType``)."""
    return {
        "name": {"type": "string", "maxLength": 255},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "operators": {"type": "array", "items": {"type": "string"}},
        "type": {"type": "string", "enum": list(TYPES)},
        "required": _STRINGS,
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "maxLength": _POSITIVE,
        "minLength": _POSITIVE,
        "pattern": {"type": "string", "maxLength": 1024},
        "enum": {"type": "array"},
        "readonly": {"type": "boolean"},
        "default": {},
        "items": {"type": "object", "properties": {
            "type": {"type": "string", "enum": list(TYPES)},
            "enum": {"type": "array"}}},
        "maxItems": _POSITIVE,
        "minItems": _POSITIVE,
        "uniqueItems": {"type": "boolean"},
        "additionalItems": {"type": "boolean"},
    }


def _definition() -> dict[str, Any]:
    return {"type": "object", "properties": definition_fields(),
            "required": ["title", "type"], "additionalProperties": False}


def _definitions() -> dict[str, Any]:
    """``{name: definition}``, as a namespace or an object carries its properties."""
    return {"type": "object", "additionalProperties": _definition()}


def _read_only() -> dict[str, Any]:
    # Accepted by the schema so that the view answers Glance's 403, not a 400.
    return {key: {} for key in READ_ONLY}


def _association_fields() -> dict[str, Any]:
    return {
        "name": {"type": "string", "minLength": 1, "maxLength": 80,
                 "description": "Resource type names should be aligned with Heat resource "
                                "types whenever possible."},
        "prefix": {"type": "string", "maxLength": 80,
                   "description": "Prefix of the namespace's properties when they are "
                                  "applied to the resource type (e.g. hw_)."},
        "properties_target": {"type": "string", "maxLength": 80,
                              "description": "Which key/value set of the resource the "
                                             "properties apply to (e.g. image)."},
    }


def _object_fields() -> dict[str, Any]:
    return {"name": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": {"type": "string"},
            "required": _STRINGS,
            "properties": _definitions()}


def _namespace_fields() -> dict[str, Any]:
    return {
        "namespace": {"type": "string", "minLength": 1, "maxLength": 80,
                      "description": "The unique namespace text."},
        "display_name": {"type": "string", "maxLength": 80,
                         "description": "The user friendly name for the namespace."},
        "description": {"type": "string", "maxLength": 500,
                        "description": "Provides a user friendly description of the "
                                       "namespace."},
        "visibility": {"type": "string", "enum": list(VISIBILITIES),
                       "description": "Scope of namespace accessibility."},
        "protected": {"type": "boolean",
                      "description": "If true, namespace will not be deletable."},
        "owner": {"type": "string", "maxLength": 255,
                  "description": "Owner of the namespace."},
        "properties": _definitions(),
        # Nested items may carry more (the timestamps and links a shown namespace has,
        # which glanceclient sends back on update): Glance's document allows it, and
        # only the keys named here are used.
        "objects": {"type": "array", "items": {
            "type": "object", "properties": _object_fields(), "required": ["name"]}},
        "tags": {"type": "array", "items": {
            "type": "object", "properties": {"name": {"type": "string", "minLength": 1,
                                                      "maxLength": 255}},
            "required": ["name"]}},
        "resource_type_associations": {"type": "array", "items": {
            "type": "object", "properties": _association_fields(), "required": ["name"]}},
    }


def _body(fields: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": {**fields, **_read_only()},
            "required": required, "additionalProperties": False}


# -- request bodies ----------------------------------------------------------------------
NAMESPACE = _body(_namespace_fields(), ["namespace"])
OBJECT = _body(_object_fields(), ["name"])
PROPERTY = _body(definition_fields(), ["name", "title", "type"])
TAG = _body({"name": {"type": "string", "minLength": 1, "maxLength": 255}}, ["name"])
TAGS = {"type": "object", "required": ["tags"], "additionalProperties": False, "properties": {
    "tags": _namespace_fields()["tags"]}}
ASSOCIATION = _body(_association_fields(), ["name"])


def refuse_read_only(body: dict[str, Any]) -> None:
    """Glance's 403 for a body that sets a read-only attribute."""
    for key in READ_ONLY:
        if key in body:
            raise Forbidden(f"Attribute '{key}' is read-only.")


def check_definition(name: str, definition: dict[str, Any]) -> None:
    """400 unless ``definition`` (schema-valid already) is a usable JSON-schema fragment."""
    fragment = {k: v for k, v in definition.items() if k not in _NON_SCHEMA}
    where = f"Invalid property definition {name[:80]!r}"
    try:
        Draft4Validator.check_schema(fragment)
    except jsonschema.SchemaError as exc:
        raise BadRequest(f"{where}: {exc.message[:200]}") from None
    if "pattern" in fragment:
        try:
            re.compile(fragment["pattern"])
        except (re.error, RecursionError, OverflowError):
            raise BadRequest(f"{where}: pattern is not a regular expression.") from None
    for low, high in _BOUNDS:
        if low in fragment and high in fragment and fragment[low] > fragment[high]:
            raise BadRequest(f"{where}: {low} is greater than {high}.")
    value_schema = {k: v for k, v in fragment.items()
                    if k not in ("default", "enum", "title", "description")}
    checker = Draft4Validator(value_schema)
    for value in [*fragment.get("enum", []), *(
            [fragment["default"]] if "default" in fragment else [])]:
        error = next(iter(checker.iter_errors(value)), None)
        if error is not None:
            raise BadRequest(f"{where}: value {str(value)[:80]!r} does not match the "
                             f"definition ({error.message[:120]}).")


# -- the published documents -------------------------------------------------------------
def _links() -> list[dict[str, str]]:
    return [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"}]


def _stamps(what: str) -> dict[str, Any]:
    return {"created_at": _ts(f"Date and time of {what} creation"),
            "updated_at": _ts(f"Date and time of the last {what} modification")}


def namespace_schema() -> dict[str, Any]:
    return {"name": "namespace", "type": "object", "additionalProperties": False,
            "required": ["namespace"], "properties": {
                **_namespace_fields(), **_stamps("namespace"),
                "self": {"type": "string", "readOnly": True},
                "schema": {"type": "string", "readOnly": True}}}


def object_schema() -> dict[str, Any]:
    return {"name": "object", "type": "object", "additionalProperties": False,
            "required": ["name"], "properties": {
                **_object_fields(), **_stamps("object"),
                "self": {"type": "string", "readOnly": True},
                "schema": {"type": "string", "readOnly": True}}}


def property_schema() -> dict[str, Any]:
    doc = _definition()
    doc["required"] = ["type", "title", "name"]
    return {"name": "property", **doc}


def tag_schema() -> dict[str, Any]:
    return {"name": "tag", "type": "object", "additionalProperties": False,
            "required": ["name"], "properties": {
                "name": {"type": "string", "maxLength": 255}, **_stamps("tag")}}


def association_schema() -> dict[str, Any]:
    return {"name": "resource_type_association", "type": "object",
            "additionalProperties": False, "required": ["name"],
            "properties": {**_association_fields(), **_stamps("resource type association")}}


def _collection(name: str, key: str, item: dict[str, Any]) -> dict[str, Any]:
    item = dict(item)
    item.pop("type", None)
    return {"name": name, "links": _links(), "properties": {
        key: {"type": "array", "items": item},
        "first": {"type": "string"}, "next": {"type": "string"},
        "schema": {"type": "string"}}}


def properties_schema() -> dict[str, Any]:
    return {"name": "properties", "links": _links(), "properties": {
        "properties": _definitions(), "first": {"type": "string"},
        "next": {"type": "string"}, "schema": {"type": "string"}}}


DOCUMENTS = {
    "namespace": namespace_schema,
    "namespaces": lambda: _collection("namespaces", "namespaces", namespace_schema()),
    "object": object_schema,
    "objects": lambda: _collection("objects", "objects", object_schema()),
    "property": property_schema,
    "properties": properties_schema,
    "tag": tag_schema,
    "tags": lambda: _collection("tags", "tags", tag_schema()),
    "resource_type": association_schema,
    "resource_types": lambda: _collection("resource_type_associations",
                                          "resource_type_associations",
                                          association_schema()),
}
