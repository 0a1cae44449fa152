"""The service catalog: regions, services, endpoints, endpoint groups, policy blobs.

:class:`Catalog` holds the logic and the transactions of the Keystone v3 catalog APIs and
returns plain records (dicts shaped as Keystone's representations, without ``links``).
:func:`build_catalog` turns the enabled services and endpoints into the catalog a token
carries; :func:`register_cloud` records this cloud's own services (``minicloud up``).

Keystone's rules kept here: a region id is chosen by the caller or generated; a region is
deleted with its sub-regions, never while one of them has endpoints (403); a region cannot
become its own ancestor (400). An endpoint given a legacy ``region`` (not ``region_id``)
gets that region created when missing. Deleting a service deletes its endpoints.
"""
from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from minicloud.config import Config
from minicloud.db import Database
from minicloud.errors import BadRequest, Conflict, Forbidden, NotFound
from minicloud.identity.catalog_models import (
    CatalogService,
    Endpoint,
    EndpointGroup,
    PolicyBlob,
    Region,
)

#: Namespace of the ids of the services and endpoints ``minicloud up`` registers: the same
#: ids on every start, so a restart finds (and updates) what it registered before.
MANAGED_NS = uuid.UUID("0b4f7a9e-6f53-4a51-9d7e-6d3c2a8f1e10")
#: ``$(name)s`` or ``%(name)s`` in an endpoint URL (Keystone's substitutions).
_PLACEHOLDER = re.compile(r"[$%]\((\w+)\)s")
ENDPOINT_GROUP_FILTERS = ("interface", "service_id", "region_id")


def new_id() -> str:
    return uuid.uuid4().hex


def extras(body: dict, known: Iterable[str]) -> str:
    """The attributes of ``body`` beyond ``known`` (and ``id``/``links``), as JSON text."""
    skip = set(known) | {"id", "links"}
    return json.dumps({k: v for k, v in body.items() if k not in skip})


def with_extra(record: dict, extra: str) -> dict:
    return {**json.loads(extra or "{}"), **record}


def _region(r: Region) -> dict:
    return with_extra({"id": r.id, "description": r.description,
                       "parent_region_id": r.parent_region_id}, r.extra)


def _service(s: CatalogService) -> dict:
    record: dict[str, Any] = {"id": s.id, "type": s.type, "enabled": s.enabled}
    if s.name:
        record["name"] = s.name
    if s.description is not None:
        record["description"] = s.description
    return with_extra(record, s.extra)


def _endpoint(e: Endpoint) -> dict:
    return with_extra({"id": e.id, "service_id": e.service_id, "interface": e.interface,
                       "region_id": e.region_id, "region": e.region_id, "url": e.url,
                       "enabled": e.enabled}, e.extra)


def _group(g: EndpointGroup) -> dict:
    return {"id": g.id, "name": g.name, "description": g.description,
            "filters": json.loads(g.filters)}


def _policy(p: PolicyBlob) -> dict:
    return with_extra({"id": p.id, "type": p.type, "blob": p.blob}, p.extra)


def _get(s: Session, model: type, key: str, what: str) -> Any:
    row = s.get(model, key)
    if row is None:
        raise NotFound(f"Could not find {what}: {key}.")
    return row


class Catalog:
    """Regions, services, endpoints, endpoint groups and policy blobs in the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- regions -------------------------------------------------------------------------
    def list_regions(self, parent_region_id: str | None = None) -> list[dict]:
        with self.db.session() as s:
            query = select(Region).order_by(Region.id)
            if parent_region_id is not None:
                query = query.where(Region.parent_region_id == parent_region_id)
            return [_region(r) for r in s.scalars(query)]

    def get_region(self, region_id: str) -> dict:
        with self.db.session() as s:
            return _region(_get(s, Region, region_id, "region"))

    def create_region(self, body: dict, region_id: str | None = None) -> dict:
        """A new region; its id is ``region_id`` (PUT), ``body["id"]`` or generated."""
        region_id = region_id or body.get("id") or new_id()
        if body.get("id") not in (None, region_id):
            raise BadRequest("The region id in the body does not match the URL.")
        if len(region_id) > 255:
            raise BadRequest("A region id has at most 255 characters.")
        with self.db.session() as s:
            if s.get(Region, region_id) is not None:
                raise Conflict(f"Duplicate ID, {region_id}.")
            parent = body.get("parent_region_id")
            if parent is not None:
                _get(s, Region, parent, "region")
            row = Region(id=region_id, description=body.get("description") or "",
                         parent_region_id=parent,
                         extra=extras(body, ("description", "parent_region_id")))
            s.add(row)
            return _region(row)

    def update_region(self, region_id: str, body: dict) -> dict:
        with self.db.session() as s:
            row = _get(s, Region, region_id, "region")
            if "parent_region_id" in body:
                parent = body["parent_region_id"]
                if parent is not None:
                    self._check_no_cycle(s, region_id, parent)
                row.parent_region_id = parent
            if "description" in body:
                row.description = body["description"] or ""
            extra = json.loads(row.extra or "{}")
            extra.update(json.loads(extras(body, ("description", "parent_region_id"))))
            row.extra = json.dumps(extra)
            return _region(row)

    @staticmethod
    def _check_no_cycle(s: Session, region_id: str, parent: str) -> None:
        seen = {region_id}
        current: str | None = parent
        while current is not None:
            if current in seen:
                raise BadRequest(f"Circular reference: region {region_id} cannot have "
                                 f"{parent} as its parent.")
            seen.add(current)
            current = _get(s, Region, current, "region").parent_region_id

    def delete_region(self, region_id: str) -> None:
        """Delete a region and its sub-regions; 403 while any of them has endpoints."""
        with self.db.session() as s:
            _get(s, Region, region_id, "region")
            tree, todo = [region_id], [region_id]
            while todo:
                children = list(s.scalars(select(Region.id).where(
                    Region.parent_region_id == todo.pop())))
                tree += children
                todo += children
            if s.scalar(select(Endpoint.id).where(Endpoint.region_id.in_(tree))) is not None:
                raise Forbidden(f"Unable to delete region {region_id} because it or its "
                                "child regions have associated endpoints.")
            for key in reversed(tree):  # leaves first: parents are referenced by children
                s.delete(s.get(Region, key))
                s.flush()

    # -- services ------------------------------------------------------------------------
    def list_services(self, type_: str | None = None, name: str | None = None) -> list[dict]:
        with self.db.session() as s:
            query = select(CatalogService).order_by(CatalogService.type, CatalogService.id)
            if type_ is not None:
                query = query.where(CatalogService.type == type_)
            if name is not None:
                query = query.where(CatalogService.name == name)
            return [_service(r) for r in s.scalars(query)]

    def get_service(self, service_id: str) -> dict:
        with self.db.session() as s:
            return _service(_get(s, CatalogService, service_id, "service"))

    def create_service(self, body: dict, service_id: str | None = None) -> dict:
        with self.db.session() as s:
            row = CatalogService(id=service_id or new_id(), type=body["type"],
                                 name=body.get("name") or "",
                                 description=body.get("description"),
                                 enabled=body.get("enabled", True),
                                 extra=extras(body, ("type", "name", "description",
                                                     "enabled")))
            s.add(row)
            return _service(row)

    def update_service(self, service_id: str, body: dict) -> dict:
        with self.db.session() as s:
            row = _get(s, CatalogService, service_id, "service")
            for field in ("type", "enabled", "description"):
                if field in body:
                    setattr(row, field, body[field])
            if "name" in body:
                row.name = body["name"] or ""
            extra = json.loads(row.extra or "{}")
            extra.update(json.loads(extras(body, ("type", "name", "description", "enabled"))))
            row.extra = json.dumps(extra)
            return _service(row)

    def delete_service(self, service_id: str) -> None:
        with self.db.session() as s:
            _get(s, CatalogService, service_id, "service")
            s.execute(delete(Endpoint).where(Endpoint.service_id == service_id))
            s.execute(delete(CatalogService).where(CatalogService.id == service_id))

    # -- endpoints -----------------------------------------------------------------------
    def list_endpoints(self, service_id: str | None = None, interface: str | None = None,
                       region_id: str | None = None) -> list[dict]:
        with self.db.session() as s:
            query = select(Endpoint).order_by(Endpoint.service_id, Endpoint.interface,
                                              Endpoint.id)
            if service_id is not None:
                query = query.where(Endpoint.service_id == service_id)
            if interface is not None:
                query = query.where(Endpoint.interface == interface)
            if region_id is not None:
                query = query.where(Endpoint.region_id == region_id)
            return [_endpoint(e) for e in s.scalars(query)]

    def get_endpoint(self, endpoint_id: str) -> dict:
        with self.db.session() as s:
            return _endpoint(_get(s, Endpoint, endpoint_id, "endpoint"))

    @staticmethod
    def _endpoint_region(s: Session, body: dict) -> str | None:
        """The region of an endpoint body: ``region_id`` (it must exist) or the legacy
        ``region`` (created when missing, as Keystone does)."""
        if body.get("region_id") is not None:
            if body.get("region") not in (None, body["region_id"]):
                raise BadRequest("region and region_id name different regions.")
            return _get(s, Region, body["region_id"], "region").id
        legacy = body.get("region")
        if legacy is None:
            return None
        if s.get(Region, legacy) is None:
            s.add(Region(id=legacy, description="", parent_region_id=None, extra="{}"))
            s.flush()
        return legacy

    def create_endpoint(self, body: dict, endpoint_id: str | None = None) -> dict:
        with self.db.session() as s:
            _get(s, CatalogService, body["service_id"], "service")
            row = Endpoint(id=endpoint_id or new_id(), service_id=body["service_id"],
                           interface=body["interface"], url=body["url"],
                           region_id=self._endpoint_region(s, body),
                           enabled=body.get("enabled", True), extra=extras(body, _EP_FIELDS))
            s.add(row)
            return _endpoint(row)

    def update_endpoint(self, endpoint_id: str, body: dict) -> dict:
        with self.db.session() as s:
            row = _get(s, Endpoint, endpoint_id, "endpoint")
            if "service_id" in body:
                row.service_id = _get(s, CatalogService, body["service_id"], "service").id
            for field in ("interface", "url", "enabled"):
                if field in body:
                    setattr(row, field, body[field])
            if "region_id" in body or "region" in body:
                row.region_id = self._endpoint_region(s, body)
            extra = json.loads(row.extra or "{}")
            extra.update(json.loads(extras(body, _EP_FIELDS)))
            row.extra = json.dumps(extra)
            return _endpoint(row)

    def delete_endpoint(self, endpoint_id: str) -> None:
        with self.db.session() as s:
            s.delete(_get(s, Endpoint, endpoint_id, "endpoint"))

    # -- endpoint groups (OS-EP-FILTER) ----------------------------------------------------
    def list_endpoint_groups(self, name: str | None = None) -> list[dict]:
        with self.db.session() as s:
            query = select(EndpointGroup).order_by(EndpointGroup.name, EndpointGroup.id)
            if name is not None:
                query = query.where(EndpointGroup.name == name)
            return [_group(g) for g in s.scalars(query)]

    def get_endpoint_group(self, group_id: str) -> dict:
        with self.db.session() as s:
            return _group(_get(s, EndpointGroup, group_id, "endpoint group"))

    def create_endpoint_group(self, body: dict) -> dict:
        with self.db.session() as s:
            row = EndpointGroup(id=new_id(), name=body["name"],
                                description=body.get("description"),
                                filters=json.dumps(body["filters"]))
            s.add(row)
            return _group(row)

    def update_endpoint_group(self, group_id: str, body: dict) -> dict:
        with self.db.session() as s:
            row = _get(s, EndpointGroup, group_id, "endpoint group")
            for field in ("name", "description"):
                if field in body:
                    setattr(row, field, body[field])
            if "filters" in body:
                row.filters = json.dumps(body["filters"])
            return _group(row)

    def delete_endpoint_group(self, group_id: str) -> None:
        with self.db.session() as s:
            s.delete(_get(s, EndpointGroup, group_id, "endpoint group"))

    def endpoints_in_group(self, group_id: str) -> list[dict]:
        """The endpoints an endpoint group's filters select."""
        filters = self.get_endpoint_group(group_id)["filters"]
        return self.list_endpoints(**{k: filters.get(k) for k in ENDPOINT_GROUP_FILTERS})

    # -- policy blobs (the deprecated /v3/policies API) ------------------------------------
    def list_policies(self, type_: str | None = None) -> list[dict]:
        with self.db.session() as s:
            query = select(PolicyBlob).order_by(PolicyBlob.id)
            if type_ is not None:
                query = query.where(PolicyBlob.type == type_)
            return [_policy(p) for p in s.scalars(query)]

    def get_policy(self, policy_id: str) -> dict:
        with self.db.session() as s:
            return _policy(_get(s, PolicyBlob, policy_id, "policy"))

    def create_policy(self, body: dict) -> dict:
        with self.db.session() as s:
            row = PolicyBlob(id=new_id(), type=body["type"], blob=body["blob"],
                             extra=extras(body, ("type", "blob")))
            s.add(row)
            return _policy(row)

    def update_policy(self, policy_id: str, body: dict) -> dict:
        with self.db.session() as s:
            row = _get(s, PolicyBlob, policy_id, "policy")
            for field in ("type", "blob"):
                if field in body:
                    setattr(row, field, body[field])
            extra = json.loads(row.extra or "{}")
            extra.update(json.loads(extras(body, ("type", "blob"))))
            row.extra = json.dumps(extra)
            return _policy(row)

    def delete_policy(self, policy_id: str) -> None:
        with self.db.session() as s:
            s.delete(_get(s, PolicyBlob, policy_id, "policy"))


_EP_FIELDS = ("service_id", "interface", "url", "region_id", "region", "enabled")


# -- the catalog in tokens -----------------------------------------------------------------
def endpoint_url(url: str, project_id: str | None, user_id: str | None = None) -> str | None:
    """``url`` with ``$(project_id)s``-style placeholders filled (``tenant_id`` and
    ``user_id`` too), or None when one cannot be (no project, unknown name): such an
    endpoint is left out of the catalog, as Keystone does."""
    values = {"project_id": project_id, "tenant_id": project_id, "user_id": user_id}
    missing = False

    def fill(match: re.Match) -> str:
        nonlocal missing
        value = values.get(match.group(1))
        if value is None:
            missing = True
            return ""
        return value

    filled = _PLACEHOLDER.sub(fill, url)
    return None if missing else filled


def build_catalog(db: Database, project_id: str | None,
                  user_id: str | None = None) -> list[dict]:
    """The Keystone v3 catalog: every enabled service with its enabled endpoints."""
    with db.session() as s:
        services = list(s.scalars(select(CatalogService).where(CatalogService.enabled)
                                  .order_by(CatalogService.type, CatalogService.id)))
        endpoints = list(s.scalars(select(Endpoint).where(Endpoint.enabled)
                                   .order_by(Endpoint.interface, Endpoint.id)))
    by_service: dict[str, list[dict]] = {}
    for e in endpoints:
        url = endpoint_url(e.url, project_id, user_id)
        if url is not None:
            by_service.setdefault(e.service_id, []).append(
                {"id": e.id, "interface": e.interface, "region_id": e.region_id,
                 "region": e.region_id, "url": url})
    return [{"id": svc.id, "type": svc.type, "name": svc.name,
             "endpoints": by_service.get(svc.id, [])} for svc in services]


# -- this cloud's own entries ------------------------------------------------------------------
def managed_id(*parts: str) -> str:
    """The stable id of a service or endpoint ``minicloud up`` registers."""
    return uuid.uuid5(MANAGED_NS, "/".join(parts)).hex


def cloud_entries(conf: Config) -> list[dict]:
    """One record per catalog entry of :data:`minicloud.services.SERVICES` (extra types
    included): type, name, the public URL (``$(project_id)s`` where the project is part of
    the path) and the stable ids of its service and endpoint."""
    from minicloud import services

    entries = []
    for svc in services.SERVICES:
        url = svc.base_url(conf) + svc.path + ("/$(project_id)s" if svc.project_in_path else "")
        for kind, name in ((svc.type, svc.catalog_name), *svc.extra_types):
            entries.append({"type": kind, "name": name, "url": url,
                            "service_id": managed_id("service", kind),
                            "endpoint_id": managed_id("endpoint", kind, "public")})
    return entries


def register_cloud(db: Database, conf: Config) -> None:
    """Record this cloud's region, services and public endpoints (``minicloud up``).

    Idempotent: what is missing is created; the URL and region of an endpoint registered
    before follow the configuration (a cloud restarted on other ports keeps working);
    what an operator changed otherwise (enabled, description, other endpoints) is kept.
    """
    region = conf.DEFAULT.region
    with db.session() as s:
        if s.get(Region, region) is None:
            s.add(Region(id=region, description="", parent_region_id=None, extra="{}"))
            s.flush()
        for entry in cloud_entries(conf):
            if s.get(CatalogService, entry["service_id"]) is None:
                s.add(CatalogService(id=entry["service_id"], type=entry["type"],
                                     name=entry["name"], description=None, enabled=True,
                                     extra="{}"))
                s.flush()
            endpoint = s.get(Endpoint, entry["endpoint_id"])
            if endpoint is None:
                s.add(Endpoint(id=entry["endpoint_id"], service_id=entry["service_id"],
                               interface="public", region_id=region, url=entry["url"],
                               enabled=True, extra="{}"))
            else:
                endpoint.url, endpoint.region_id = entry["url"], region
