"""Metadata definitions: namespaces and resource types (Glance's metadef catalog).

Who sees what, as Glance's database layer: a ``public`` namespace is visible to everybody,
a ``private`` one to its owner project and to admins only; for anybody else it does not
exist (404, never 403). Then every operation is a policy rule (``images.policies``, Glance's
names) checked with the namespace as the target (``project_id``/``owner``: its owner,
``visibility``, ``namespace``); a denied rule is a 403, or a 404 when the caller may not
even ``get_metadef_namespace`` it. Visibility is enforced in code as well as in the rules,
so an operator who opens the rules up in ``policy.yaml`` does not leak private namespaces.

A protected namespace cannot be deleted, nor can anything in it (403); ``PUT`` replaces a
namespace's own attributes as Glance does (an omitted ``visibility`` becomes ``private``,
``protected`` false, ``display_name``/``description`` unset; an omitted ``owner`` keeps the
current one). Associating a resource type that does not exist creates it, as in Glance.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from images import metadef_schemas as schemas
from images import metadef_views as views
from images.metadef_models import (
    MetadefAssociation,
    MetadefNamespace,
    MetadefObject,
    MetadefProperty,
    MetadefResourceType,
    MetadefTag,
)
from minicloud.db import Database, utcnow
from minicloud.errors import BadRequest, Conflict, Forbidden, NotFound
from minicloud.identity.tokens import AuthContext
from minicloud.paging import Page, next_href
from minicloud.policy import Enforcer
from minicloud.validation import query_int

DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
NAMESPACE_SORT_KEYS = ("created_at", "updated_at", "namespace", "display_name")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def ns_missing(name: str) -> NotFound:
    return NotFound(f"Metadata definition namespace={name} was not found.")


def protected(what: str) -> Forbidden:
    return Forbidden(f"{what} is protected and cannot be deleted.")


def target(ns: MetadefNamespace) -> dict[str, Any]:
    """The policy target of every rule about ``ns`` and what it contains."""
    return {"project_id": ns.owner, "owner": ns.owner, "visibility": ns.visibility,
            "namespace": ns.namespace}


def can_see(ctx: AuthContext, ns: MetadefNamespace) -> bool:
    return ctx.is_admin or ns.visibility == "public" or ns.owner == ctx.project_id


def check_name(kind: str, name: str) -> str:
    """``name`` if it can name a resource: a URL path segment (no '/', or it could never
    be addressed again) of printable characters (it ends up in headers and logs)."""
    if not name.strip() or "/" in name or _CONTROL.search(name):
        raise BadRequest(f"Invalid {kind} name {name[:80]!r}: it must not be blank or "
                         "contain '/' or control characters.")
    return name


def page(items: list[Any], args: Mapping[str, str], keys: tuple[str, ...],
         marker_of: Any) -> tuple[list[Any], str | None]:
    """Glance's listing parameters over ``items``: ``sort_key`` (one of ``keys``, default
    ``created_at``), ``sort_dir`` (``desc`` by default), ``limit`` (25, at most 1000) and
    ``marker``; returns the page and the next page's marker."""
    key = args.get("sort_key", "created_at")
    direction = args.get("sort_dir", "desc")
    if key not in keys:
        raise BadRequest(f"Invalid sort key: {key[:40]!r}. It must be one of: "
                         f"{', '.join(keys)}.")
    if direction not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {direction[:40]!r}. It must be one of: "
                         "asc, desc.")
    ordered = sorted(items, key=lambda r: (getattr(r, key) or "", r.id),
                     reverse=direction == "desc")
    limit = query_int(args, "limit", DEFAULT_LIMIT, minimum=0)
    pager = Page(min(limit or 0, MAX_LIMIT), args.get("marker") or None, True)
    rows = pager.apply(ordered, marker_of)
    return rows, pager.next_marker(rows, marker_of)


class MetadefAccess:
    """The namespace lookup and the policy check every metadef operation starts with."""

    def __init__(self, db: Database, policy: Enforcer) -> None:
        self.db, self.policy = db, policy

    def authorize(self, ctx: AuthContext, rule: str, ns: MetadefNamespace) -> None:
        creds, tgt = ctx.credentials(), target(ns)
        if self.policy.check(rule, creds, tgt):
            return
        if rule == "get_metadef_namespace" or not self.policy.check(
                "get_metadef_namespace", creds, tgt):
            raise ns_missing(ns.namespace)
        raise Forbidden(f"Policy doesn't allow {rule} to be performed.")

    def enforce_global(self, ctx: AuthContext, rule: str) -> None:
        """A rule about no namespace in particular (lists): the caller's project."""
        self.policy.enforce(rule, ctx.credentials(),
                            {"project_id": ctx.project_id, "owner": ctx.project_id})

    def find(self, s: Session, ctx: AuthContext, name: str, rule: str) -> MetadefNamespace:
        """The namespace ``name`` if the caller sees it and passes ``rule``; else 404/403."""
        ns = s.scalar(select(MetadefNamespace).where(MetadefNamespace.namespace == name))
        if ns is None or not can_see(ctx, ns):
            raise ns_missing(name)
        self.authorize(ctx, rule, ns)
        return ns

    @staticmethod
    def touch(*rows: Any) -> None:
        now = utcnow()
        for row in rows:
            row.updated_at = now


def resource_type(s: Session, name: str, create: bool = True) -> MetadefResourceType:
    """The resource type ``name``, created (unprotected) when missing and ``create``."""
    row = s.scalar(select(MetadefResourceType).where(MetadefResourceType.name == name))
    if row is None:
        if not create:
            raise NotFound(f"Metadata definition resource-type={name} was not found.")
        row = MetadefResourceType(name=check_name("resource type", name), protected=False)
        s.add(row)
        s.flush()
    return row


def association_prefix(ns: MetadefNamespace, rt_name: str | None) -> str:
    """The prefix of ``ns`` as applied to resource type ``rt_name`` ('' if none)."""
    for a in ns.associations:
        if rt_name and a.resource_type.name == rt_name:
            return a.prefix or ""
    return ""


def fill(s: Session, ns: MetadefNamespace, body: Mapping[str, Any]) -> None:
    """Add the properties, objects, tags and associations of a namespace create body."""
    for name, definition in (body.get("properties") or {}).items():
        ns.properties.append(new_property(name, definition))
    seen: set[str] = set()
    for obj in body.get("objects") or []:
        if obj["name"] in seen:
            raise Conflict(f"A metadata definition object with name={obj['name']} already "
                           f"exists in namespace={ns.namespace}.")
        seen.add(obj["name"])
        ns.objects.append(new_object(obj))
    names = [t["name"] for t in body.get("tags") or []]
    if len(set(names)) != len(names):
        raise Conflict("Duplicate tag names in the request body.")
    ns.tags.extend(MetadefTag(name=check_name("tag", n)) for n in names)
    for assoc in body.get("resource_type_associations") or []:
        add_association(s, ns, assoc)


def new_property(name: str, definition: Mapping[str, Any]) -> MetadefProperty:
    schemas.check_definition(name, dict(definition))
    return MetadefProperty(name=check_name("property", name),
                           definition={k: v for k, v in definition.items() if k != "name"})


def new_object(body: Mapping[str, Any]) -> MetadefObject:
    for name, definition in (body.get("properties") or {}).items():
        schemas.check_definition(name, dict(definition))
    return MetadefObject(name=check_name("object", body["name"]),
                         description=body.get("description"),
                         required=list(body.get("required") or []),
                         properties=dict(body.get("properties") or {}))


def add_association(s: Session, ns: MetadefNamespace,
                    body: Mapping[str, Any]) -> MetadefAssociation:
    rt = resource_type(s, body["name"])
    if any(a.resource_type_id == rt.id for a in ns.associations):
        raise Conflict(f"The metadata definition resource-type association of "
                       f"resource-type={rt.name} to namespace={ns.namespace}, already "
                       "exists.")
    row = MetadefAssociation(resource_type_id=rt.id, resource_type=rt,
                             prefix=body.get("prefix"),
                             properties_target=body.get("properties_target"))
    ns.associations.append(row)
    return row


class NamespaceService(MetadefAccess):
    @staticmethod
    def owner(ctx: AuthContext, wanted: str, current: str | None = None) -> str:
        """Only admins give a namespace to another project (even where an operator
        opened the write rules), as Glance."""
        if wanted not in (ctx.project_id, current) and not ctx.is_admin:
            raise Forbidden(f"You are not permitted to create or change a namespace owned "
                            f"by '{wanted}'.")
        return wanted

    def list(self, ctx: AuthContext, args: Mapping[str, str],
             url: str) -> dict[str, Any]:
        self.enforce_global(ctx, "get_metadef_namespaces")
        visibility = args.get("visibility")
        if visibility is not None and visibility not in schemas.VISIBILITIES:
            raise BadRequest(f"Invalid visibility value: {visibility[:40]!r}.")
        wanted = {n for n in (args.get("resource_types") or "").split(",") if n}
        with self.db.session() as s:
            query = select(MetadefNamespace)
            if not ctx.is_admin:
                query = query.where(or_(MetadefNamespace.visibility == "public",
                                        MetadefNamespace.owner == ctx.project_id))
            if visibility:
                query = query.where(MetadefNamespace.visibility == visibility)
            rows = [ns for ns in s.scalars(query) if not wanted or wanted & {
                a.resource_type.name for a in ns.associations}]
            rows, marker = page(rows, args, NAMESPACE_SORT_KEYS, lambda r: r.namespace)
            body: dict[str, Any] = {
                "namespaces": [views.namespace_json(ns) for ns in rows],
                "schema": "/v2/schemas/metadefs/namespaces", "first": url}
        if marker is not None:
            body["next"] = next_href(url, args, marker)
        return body

    def get(self, ctx: AuthContext, name: str, rt_name: str | None = None) -> dict[str, Any]:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "get_metadef_namespace")
            return views.namespace_json(ns, detail=True,
                                        prefix=association_prefix(ns, rt_name))

    def create(self, ctx: AuthContext, body: dict[str, Any]) -> dict[str, Any]:
        schemas.refuse_read_only(body)
        name = check_name("namespace", body["namespace"])
        owner = self.owner(ctx, body.get("owner") or ctx.project_id)
        visibility = body.get("visibility", "private")
        self.policy.enforce("add_metadef_namespace", ctx.credentials(), {
            "project_id": owner, "owner": owner, "visibility": visibility,
            "namespace": name})
        with self.db.session() as s:
            if s.scalar(select(MetadefNamespace.id).where(
                    MetadefNamespace.namespace == name)) is not None:
                raise Conflict(f"A metadata definition namespace with name={name} already "
                               "exists.")
            ns = MetadefNamespace(
                namespace=name, display_name=body.get("display_name"),
                description=body.get("description"), visibility=visibility,
                protected=bool(body.get("protected", False)), owner=owner)
            s.add(ns)
            s.flush()
            fill(s, ns, body)
            s.flush()
            return views.namespace_json(ns, detail=True)

    def update(self, ctx: AuthContext, name: str, body: dict[str, Any]) -> dict[str, Any]:
        schemas.refuse_read_only(body)
        new_name = check_name("namespace", body["namespace"])
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "modify_metadef_namespace")
            if new_name != ns.namespace and s.scalar(select(MetadefNamespace.id).where(
                    MetadefNamespace.namespace == new_name)) is not None:
                raise Conflict(f"A metadata definition namespace with name={new_name} "
                               "already exists.")
            ns.namespace = new_name
            ns.display_name = body.get("display_name")
            ns.description = body.get("description")
            ns.visibility = body.get("visibility", "private")
            ns.protected = bool(body.get("protected", False))
            ns.owner = self.owner(ctx, body.get("owner") or ns.owner, ns.owner)
            self.touch(ns)
            s.flush()
            return views.namespace_json(ns)

    def delete(self, ctx: AuthContext, name: str) -> None:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "delete_metadef_namespace")
            if ns.protected:
                raise protected(f"Metadata definition namespace {ns.namespace}")
            s.delete(ns)

    # -- resource types and associations -----------------------------------------------
    def resource_types(self, ctx: AuthContext) -> list[dict[str, Any]]:
        self.enforce_global(ctx, "list_metadef_resource_types")
        with self.db.session() as s:
            rows = s.scalars(select(MetadefResourceType).order_by(MetadefResourceType.id))
            return [views.resource_type_json(r) for r in rows]

    def associations(self, ctx: AuthContext, name: str) -> list[dict[str, Any]]:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "get_metadef_resource_type")
            return [views.association_json(a) for a in ns.associations]

    def associate(self, ctx: AuthContext, name: str, body: dict[str, Any]) -> dict[str, Any]:
        schemas.refuse_read_only(body)
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "add_metadef_resource_type_association")
            row = add_association(s, ns, body)
            s.flush()
            return views.association_json(row)

    def dissociate(self, ctx: AuthContext, name: str, rt_name: str) -> None:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "remove_metadef_resource_type_association")
            row = next((a for a in ns.associations if a.resource_type.name == rt_name), None)
            if row is None:
                raise NotFound(f"The metadata definition resource-type association of "
                               f"resource-type={rt_name} to namespace={name}, was not "
                               "found.")
            if ns.protected:
                raise protected(f"Metadata definition resource-type-association "
                                f"{rt_name}")
            ns.associations.remove(row)
