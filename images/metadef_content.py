"""What a metadata-definition namespace contains: objects, properties and tags.

Each operation first finds the namespace as :mod:`images.metadefs` does (visibility, then
the operation's Glance policy rule with the namespace as the target). Names are unique per
namespace (409 on a duplicate, also when an update renames onto an existing name); nothing
in a protected namespace can be deleted (403). ``PUT`` replaces an object or a property
definition whole, as Glance does. Property definitions are checked as JSON-schema fragments
(``images.metadef_schemas.check_definition``).

Tags: ``POST .../tags/{name}`` adds one; ``POST .../tags`` with ``{"tags": [{"name"}...]}``
replaces every tag of the namespace, or adds to them when the request carries
``X-Openstack-Append: true`` (then a name that exists already is a 409, as a duplicate
within the body always is).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from images import metadef_schemas as schemas
from images import metadef_views as views
from images.metadef_models import MetadefNamespace, MetadefObject, MetadefProperty, MetadefTag
from images.metadefs import (
    MetadefAccess,
    association_prefix,
    check_name,
    new_object,
    new_property,
    page,
    protected,
)
from minicloud.errors import Conflict, NotFound
from minicloud.identity.tokens import AuthContext

SORT_KEYS = ("created_at", "updated_at", "name")


def _object(ns: MetadefNamespace, name: str) -> MetadefObject:
    row = next((o for o in ns.objects if o.name == name), None)
    if row is None:
        raise NotFound(f"A metadata definition object with name={name} was not found in "
                       f"namespace={ns.namespace}.")
    return row


def _property(ns: MetadefNamespace, name: str) -> MetadefProperty:
    row = next((p for p in ns.properties if p.name == name), None)
    if row is None:
        raise NotFound(f"A metadata definition property with name={name} was not found "
                       f"in namespace={ns.namespace}.")
    return row


def _tag(ns: MetadefNamespace, name: str) -> MetadefTag:
    row = next((t for t in ns.tags if t.name == name), None)
    if row is None:
        raise NotFound(f"A metadata tag with name={name} was not found in "
                       f"namespace={ns.namespace}.")
    return row


def _unique(rows: list[Any], name: str, kind: str, ns: MetadefNamespace) -> None:
    if any(r.name == name for r in rows):
        raise Conflict(f"A metadata {kind} with name={name} already exists in "
                       f"namespace={ns.namespace}.")


class ObjectService(MetadefAccess):
    def list(self, ctx: AuthContext, name: str, args: Mapping[str, str]) -> dict[str, Any]:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "get_metadef_objects")
            rows, _marker = page(list(ns.objects), args, SORT_KEYS, lambda o: o.name)
            return {"objects": [views.object_json(ns, o) for o in rows],
                    "schema": "/v2/schemas/metadefs/objects"}

    def get(self, ctx: AuthContext, name: str, obj: str,
            rt_name: str | None = None) -> dict[str, Any]:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "get_metadef_object")
            return views.object_json(ns, _object(ns, obj), association_prefix(ns, rt_name))

    def create(self, ctx: AuthContext, name: str, body: dict[str, Any]) -> dict[str, Any]:
        schemas.refuse_read_only(body)
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "add_metadef_object")
            _unique(ns.objects, body["name"], "definition object", ns)
            row = new_object(body)
            ns.objects.append(row)
            s.flush()
            return views.object_json(ns, row)

    def update(self, ctx: AuthContext, name: str, obj: str,
               body: dict[str, Any]) -> dict[str, Any]:
        schemas.refuse_read_only(body)
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "modify_metadef_object")
            row = _object(ns, obj)
            if body["name"] != row.name:
                _unique(ns.objects, body["name"], "definition object", ns)
            fresh = new_object(body)
            row.name, row.description = fresh.name, fresh.description
            row.required, row.properties = fresh.required, fresh.properties
            self.touch(row)
            s.flush()
            return views.object_json(ns, row)

    def delete(self, ctx: AuthContext, name: str, obj: str) -> None:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "delete_metadef_object")
            row = _object(ns, obj)
            if ns.protected:
                raise protected(f"Metadata definition object {obj}")
            ns.objects.remove(row)

    def delete_all(self, ctx: AuthContext, name: str) -> None:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "delete_metadef_namespace")
            if ns.protected:
                raise protected(f"Metadata definition namespace {ns.namespace}")
            ns.objects.clear()


class PropertyService(MetadefAccess):
    def list(self, ctx: AuthContext, name: str) -> dict[str, Any]:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "get_metadef_properties")
            return {"properties": views.properties_json(ns.properties)}

    def get(self, ctx: AuthContext, name: str, prop: str,
            rt_name: str | None = None) -> dict[str, Any]:
        """A property; with ``rt_name`` the name is given with the association's prefix
        (404 when it does not carry it), as Glance's ``resource_type`` filter."""
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "get_metadef_property")
            prefix = association_prefix(ns, rt_name)
            if rt_name:
                self.authorize(ctx, "get_metadef_resource_type", ns)
                if not prefix or not prop.startswith(prefix):
                    raise NotFound(f"Property {prop} does not start with the expected "
                                   f"resource type association prefix of '{prefix}'.")
                prop = prop[len(prefix):]
            return views.property_json(_property(ns, prop), prefix)

    def create(self, ctx: AuthContext, name: str, body: dict[str, Any]) -> dict[str, Any]:
        schemas.refuse_read_only(body)
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "add_metadef_property")
            _unique(ns.properties, body["name"], "definition property", ns)
            row = new_property(body["name"], body)
            ns.properties.append(row)
            s.flush()
            return views.property_json(row)

    def update(self, ctx: AuthContext, name: str, prop: str,
               body: dict[str, Any]) -> dict[str, Any]:
        schemas.refuse_read_only(body)
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "modify_metadef_property")
            row = _property(ns, prop)
            if body["name"] != row.name:
                _unique(ns.properties, body["name"], "definition property", ns)
            fresh = new_property(body["name"], body)
            row.name, row.definition = fresh.name, fresh.definition
            self.touch(row)
            s.flush()
            return views.property_json(row)

    def delete(self, ctx: AuthContext, name: str, prop: str) -> None:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "remove_metadef_property")
            row = _property(ns, prop)
            if ns.protected:
                raise protected(f"Metadata definition property {prop}")
            ns.properties.remove(row)

    def delete_all(self, ctx: AuthContext, name: str) -> None:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "delete_metadef_namespace")
            if ns.protected:
                raise protected(f"Metadata definition namespace {ns.namespace}")
            ns.properties.clear()


class TagService(MetadefAccess):
    def list(self, ctx: AuthContext, name: str, args: Mapping[str, str]) -> dict[str, Any]:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "get_metadef_tags")
            rows, _marker = page(list(ns.tags), args, SORT_KEYS, lambda t: t.name)
            return {"tags": [views.tag_json(t) for t in rows]}

    def get(self, ctx: AuthContext, name: str, tag: str) -> dict[str, Any]:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "get_metadef_tag")
            return views.tag_json(_tag(ns, tag))

    def create(self, ctx: AuthContext, name: str, tag: str) -> dict[str, Any]:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "add_metadef_tag")
            _unique(ns.tags, tag, "tag", ns)
            row = MetadefTag(name=check_name("tag", tag))
            ns.tags.append(row)
            s.flush()
            return views.tag_json(row)

    def create_many(self, ctx: AuthContext, name: str, body: dict[str, Any],
                    append: bool) -> dict[str, Any]:
        names = [t["name"] for t in body["tags"]]
        if len(set(names)) != len(names):
            raise Conflict("Duplicate tag names in the request body.")
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "add_metadef_tags")
            if append:
                for tag in names:
                    _unique(ns.tags, tag, "tag", ns)
            else:
                ns.tags.clear()
                s.flush()
            ns.tags.extend(MetadefTag(name=check_name("tag", n)) for n in names)
            s.flush()
            return {"tags": [{"name": n} for n in names]}

    def update(self, ctx: AuthContext, name: str, tag: str,
               body: dict[str, Any]) -> dict[str, Any]:
        schemas.refuse_read_only(body)
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "modify_metadef_tag")
            row = _tag(ns, tag)
            if body["name"] != row.name:
                _unique(ns.tags, body["name"], "tag", ns)
            row.name = check_name("tag", body["name"])
            self.touch(row)
            s.flush()
            return views.tag_json(row)

    def delete(self, ctx: AuthContext, name: str, tag: str) -> None:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "delete_metadef_tag")
            row = _tag(ns, tag)
            if ns.protected:
                raise protected(f"Metadata definition tag {tag}")
            ns.tags.remove(row)

    def delete_all(self, ctx: AuthContext, name: str) -> None:
        with self.db.session() as s:
            # Glance asks for both: emptying a namespace is deleting part of it
            ns = self.find(s, ctx, name, "delete_metadef_namespace")
            self.authorize(ctx, "delete_metadef_tags", ns)
            if ns.protected:
                raise protected(f"Metadata definition namespace {ns.namespace}")
            ns.tags.clear()
