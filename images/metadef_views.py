"""Representations of metadata definitions, as Glance renders them: timestamps
``YYYY-MM-DDTHH:MM:SSZ``, unset optional attributes left out, ``self`` and ``schema`` links.

``prefix`` (the prefix of a resource-type association, from a ``resource_type`` query
parameter) is prepended to property names, as Glance shows a namespace "as applied to" a
resource type.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from images.metadef_models import (
    MetadefAssociation,
    MetadefNamespace,
    MetadefObject,
    MetadefProperty,
    MetadefResourceType,
    MetadefTag,
)

BASE = "/v2/metadefs/namespaces"


def ts(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def _compact(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def association_json(a: MetadefAssociation) -> dict[str, Any]:
    return _compact({"name": a.resource_type.name, "prefix": a.prefix,
                     "properties_target": a.properties_target,
                     "created_at": ts(a.created_at), "updated_at": ts(a.updated_at)})


def resource_type_json(r: MetadefResourceType) -> dict[str, Any]:
    return {"name": r.name, "created_at": ts(r.created_at), "updated_at": ts(r.updated_at)}


def property_json(p: MetadefProperty, prefix: str = "") -> dict[str, Any]:
    return {"name": prefix + p.name, **p.definition}


def properties_json(rows: list[MetadefProperty], prefix: str = "") -> dict[str, Any]:
    return {prefix + p.name: dict(p.definition) for p in rows}


def object_json(ns: MetadefNamespace, o: MetadefObject, prefix: str = "") -> dict[str, Any]:
    return _compact({
        "name": o.name, "description": o.description, "required": list(o.required or []),
        "properties": {prefix + k: v for k, v in (o.properties or {}).items()},
        "created_at": ts(o.created_at), "updated_at": ts(o.updated_at),
        "schema": "/v2/schemas/metadefs/object",
        "self": f"{BASE}/{ns.namespace}/objects/{o.name}"})


def tag_json(t: MetadefTag) -> dict[str, Any]:
    return {"name": t.name, "created_at": ts(t.created_at), "updated_at": ts(t.updated_at)}


def namespace_json(ns: MetadefNamespace, detail: bool = False,
                   prefix: str = "") -> dict[str, Any]:
    """A namespace; with ``detail`` (show, create) also its non-empty properties, objects
    and tags."""
    body = _compact({
        "namespace": ns.namespace, "display_name": ns.display_name,
        "description": ns.description, "visibility": ns.visibility,
        "protected": ns.protected, "owner": ns.owner,
        "created_at": ts(ns.created_at), "updated_at": ts(ns.updated_at),
        "schema": "/v2/schemas/metadefs/namespace",
        "self": f"{BASE}/{ns.namespace}"})
    if ns.associations:
        body["resource_type_associations"] = [association_json(a) for a in ns.associations]
    if detail:
        if ns.properties:
            body["properties"] = properties_json(ns.properties, prefix)
        if ns.objects:
            body["objects"] = [object_json(ns, o, prefix) for o in ns.objects]
        if ns.tags:
            body["tags"] = [{"name": t.name} for t in ns.tags]
    return body
