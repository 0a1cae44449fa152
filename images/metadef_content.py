"""What a metadata-definition namespace contains: objects, properties and tags.

The three kinds are one table (:data:`OBJECTS`, :data:`PROPERTIES`, :data:`TAGS`) served by
one :class:`ContentService`: each operation first finds the namespace as
:mod:`images.metadefs` does (visibility, then the kind's Glance policy rule for the
operation with the namespace as the target). Names are unique per namespace (409 on a
duplicate, also when an update renames onto an existing name); nothing in a protected
namespace can be deleted (403). ``PUT`` replaces an object or a property definition whole,
as Glance does. Property definitions are checked as JSON-schema fragments
(``images.metadef_schemas.check_definition``).

What differs by kind is in the subclasses: objects and properties are shown with a resource
type's prefix (``?resource_type=``); tags are created one by one from the URL
(``POST .../tags/{name}``) or in bulk (``POST .../tags`` with ``{"tags": [{"name"}...]}``
replaces every tag of the namespace, or adds to them when the request carries
``X-Openstack-Append: true``; then a name that exists already is a 409, as a duplicate within
the body always is).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from images import metadef_schemas as schemas
from images import metadef_views as views
from images.metadef_models import MetadefNamespace, MetadefTag
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


@dataclass(frozen=True)
class Kind:
    """One kind of namespace content."""

    collection: str   # the namespace's relationship ("objects")
    noun: str         # "object"
    label: str        # in Glance's 404/409 messages ("definition object"; tags: "tag")
    rules: Mapping[str, str]  # operation -> Glance policy rule
    build: Callable[[Mapping[str, Any]], Any]  # a new row from a request body
    fields: tuple[str, ...]   # what an update takes from the rebuilt row

    def rows(self, ns: MetadefNamespace) -> list[Any]:
        return getattr(ns, self.collection)

    def row(self, ns: MetadefNamespace, name: str) -> Any:
        found = next((r for r in self.rows(ns) if r.name == name), None)
        if found is None:
            raise NotFound(f"A metadata {self.label} with name={name} was not found in "
                           f"namespace={ns.namespace}.")
        return found

    def unique(self, ns: MetadefNamespace, name: str) -> None:
        if any(r.name == name for r in self.rows(ns)):
            raise Conflict(f"A metadata {self.label} with name={name} already exists in "
                           f"namespace={ns.namespace}.")


def _rules(singular: str, plural: str, delete: str = "delete") -> dict[str, str]:
    """Glance's rule names for one kind (properties are ``remove_...``, not ``delete_...``)."""
    return {"list": f"get_metadef_{plural}", "get": f"get_metadef_{singular}",
            "add": f"add_metadef_{singular}", "modify": f"modify_metadef_{singular}",
            "delete": f"{delete}_metadef_{singular}"}


OBJECTS = Kind("objects", "object", "definition object", _rules("object", "objects"), new_object,
               ("name", "description", "required", "properties"))
PROPERTIES = Kind("properties", "property", "definition property",
                  _rules("property", "properties", delete="remove"),
                  lambda body: new_property(body["name"], body), ("name", "definition"))
TAGS = Kind("tags", "tag", "tag", _rules("tag", "tags"),
            lambda body: MetadefTag(name=check_name("tag", body["name"])), ("name",))


class ContentService(MetadefAccess):
    """Create, update and delete of one kind (:attr:`kind`); :meth:`view` shows a row."""

    kind: Kind

    def view(self, ns: MetadefNamespace, row: Any) -> dict[str, Any]:
        raise NotImplementedError

    def create(self, ctx: AuthContext, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        schemas.refuse_read_only(body)
        with self.db.session() as s:
            ns = self.find(s, ctx, name, self.kind.rules["add"])
            self.kind.unique(ns, body["name"])
            row = self.kind.build(body)
            self.kind.rows(ns).append(row)
            s.flush()
            return self.view(ns, row)

    def update(self, ctx: AuthContext, name: str, item: str,
               body: Mapping[str, Any]) -> dict[str, Any]:
        schemas.refuse_read_only(body)
        with self.db.session() as s:
            ns = self.find(s, ctx, name, self.kind.rules["modify"])
            row = self.kind.row(ns, item)
            if body["name"] != row.name:
                self.kind.unique(ns, body["name"])
            fresh = self.kind.build(body)
            for field in self.kind.fields:
                setattr(row, field, getattr(fresh, field))
            self.touch(row)
            s.flush()
            return self.view(ns, row)

    def delete(self, ctx: AuthContext, name: str, item: str) -> None:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, self.kind.rules["delete"])
            row = self.kind.row(ns, item)
            if ns.protected:
                raise protected(f"Metadata definition {self.kind.noun} {item}")
            self.kind.rows(ns).remove(row)

    def delete_all(self, ctx: AuthContext, name: str) -> None:
        with self.db.session() as s:
            # Glance asks for the namespace's delete rule: emptying it deletes part of it
            ns = self.find(s, ctx, name, "delete_metadef_namespace")
            if self.kind is TAGS:  # and, for tags, its own rule as well
                self.authorize(ctx, "delete_metadef_tags", ns)
            if ns.protected:
                raise protected(f"Metadata definition namespace {ns.namespace}")
            self.kind.rows(ns).clear()


class ObjectService(ContentService):
    kind = OBJECTS

    def view(self, ns: MetadefNamespace, row: Any) -> dict[str, Any]:
        return views.object_json(ns, row)

    def list(self, ctx: AuthContext, name: str, args: Mapping[str, str]) -> dict[str, Any]:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, self.kind.rules["list"])
            rows, _marker = page(list(ns.objects), args, SORT_KEYS, lambda o: o.name)
            return {"objects": [views.object_json(ns, o) for o in rows],
                    "schema": "/v2/schemas/metadefs/objects"}

    def get(self, ctx: AuthContext, name: str, obj: str,
            rt_name: str | None = None) -> dict[str, Any]:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, self.kind.rules["get"])
            return views.object_json(ns, self.kind.row(ns, obj),
                                     association_prefix(ns, rt_name))


class PropertyService(ContentService):
    kind = PROPERTIES

    def view(self, ns: MetadefNamespace, row: Any) -> dict[str, Any]:
        return views.property_json(row)

    def list(self, ctx: AuthContext, name: str, args: Mapping[str, str]) -> dict[str, Any]:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, self.kind.rules["list"])
            return {"properties": views.properties_json(ns.properties)}

    def get(self, ctx: AuthContext, name: str, prop: str,
            rt_name: str | None = None) -> dict[str, Any]:
        """A property; with ``rt_name`` the name is given with the association's prefix
        (404 when it does not carry it), as Glance's ``resource_type`` filter."""
        with self.db.session() as s:
            ns = self.find(s, ctx, name, self.kind.rules["get"])
            prefix = association_prefix(ns, rt_name)
            if rt_name:
                self.authorize(ctx, "get_metadef_resource_type", ns)
                if not prefix or not prop.startswith(prefix):
                    raise NotFound(f"Property {prop} does not start with the expected "
                                   f"resource type association prefix of '{prefix}'.")
                prop = prop[len(prefix):]
            return views.property_json(self.kind.row(ns, prop), prefix)


class TagService(ContentService):
    kind = TAGS

    def view(self, ns: MetadefNamespace, row: Any) -> dict[str, Any]:
        return views.tag_json(row)

    def list(self, ctx: AuthContext, name: str, args: Mapping[str, str]) -> dict[str, Any]:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, self.kind.rules["list"])
            rows, _marker = page(list(ns.tags), args, SORT_KEYS, lambda t: t.name)
            return {"tags": [views.tag_json(t) for t in rows]}

    def get(self, ctx: AuthContext, name: str, tag: str,
            rt_name: str | None = None) -> dict[str, Any]:
        with self.db.session() as s:
            ns = self.find(s, ctx, name, self.kind.rules["get"])
            return views.tag_json(self.kind.row(ns, tag))

    def create_many(self, ctx: AuthContext, name: str, body: dict[str, Any],
                    append: bool) -> dict[str, Any]:
        names = [t["name"] for t in body["tags"]]
        if len(set(names)) != len(names):
            raise Conflict("Duplicate tag names in the request body.")
        with self.db.session() as s:
            ns = self.find(s, ctx, name, "add_metadef_tags")
            if append:
                for tag in names:
                    self.kind.unique(ns, tag)
            else:
                ns.tags.clear()
                s.flush()
            ns.tags.extend(MetadefTag(name=check_name("tag", n)) for n in names)
            s.flush()
            return {"tags": [{"name": n} for n in names]}
