"""Glance v2 metadata definitions API (``/v2/metadefs/...``) and its schemas
(``/v2/schemas/metadefs/...``): routes only, as a blueprint of the image app.

Namespaces (list with ``limit``/``marker``/``sort_key``/``sort_dir``/``visibility``/
``resource_types``; show with ``resource_type``), their objects, properties, tags (one, or
in bulk with ``X-Openstack-Append``) and resource-type associations, and the resource types
themselves. Status codes are Glance's: 201 on every create (a bulk tag create included), 200
on updates, 204 on deletes. The logic is in :mod:`images.metadefs` and
:mod:`images.metadef_content`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from flask import Blueprint, Flask, Response, request

from images import metadef_schemas as schemas
from images.metadef_content import (
    ContentService,
    ObjectService,
    PropertyService,
    TagService,
)
from images.metadefs import NamespaceService
from minicloud.db import Database
from minicloud.errors import NotFound
from minicloud.policy import Enforcer
from minicloud.validation import to_bool
from minicloud.wsgi import auth, body_schema, json_body, json_response

NS = "/v2/metadefs/namespaces/<namespace>"


@dataclass
class Metadefs:
    namespaces: NamespaceService
    objects: ObjectService
    properties: PropertyService
    tags: TagService


def _no_content() -> Response:
    return Response(status=204)


def blueprint(db: Database, policy: Enforcer) -> Blueprint:
    """The metadef routes, served by services built on ``db`` and ``policy``."""
    api = Metadefs(NamespaceService(db, policy), ObjectService(db, policy),
                   PropertyService(db, policy), TagService(db, policy))
    bp = Blueprint("metadefs", __name__)
    _schema_routes(bp)
    _namespace_routes(bp, api)
    _content_routes(bp, api)
    return bp


def register(app: Flask) -> None:
    """Add the metadef routes to the image app (``images.api.create_app``)."""
    core = app.extensions["minicloud"]
    app.register_blueprint(blueprint(core.db, core.policy))


def _schema_routes(bp: Blueprint) -> None:
    @bp.get("/v2/schemas/metadefs/<name>")
    def show_metadef_schema(name: str) -> Response:
        document = schemas.DOCUMENTS.get(name)
        if document is None:
            raise NotFound(f"No schema named metadefs/{name[:60]!r}.")
        return json_response(document())


def _namespace_routes(bp: Blueprint, api: Metadefs) -> None:
    ns = api.namespaces

    @bp.get("/v2/metadefs/namespaces")
    def list_namespaces() -> Response:
        return json_response(ns.list(auth(), request.args, "/v2/metadefs/namespaces"))

    @bp.post("/v2/metadefs/namespaces")
    @body_schema(schemas.NAMESPACE)
    def create_namespace() -> Response:
        body = ns.create(auth(), json_body(dict))
        return json_response(body, 201, {"Location": quote(body["self"])})

    @bp.get(NS)
    def show_namespace(namespace: str) -> Response:
        return json_response(ns.get(auth(), namespace, request.args.get("resource_type")))

    @bp.put(NS)
    @body_schema(schemas.NAMESPACE)
    def update_namespace(namespace: str) -> Response:
        return json_response(ns.update(auth(), namespace, json_body(dict)))

    @bp.delete(NS)
    def delete_namespace(namespace: str) -> Response:
        ns.delete(auth(), namespace)
        return _no_content()

    @bp.get("/v2/metadefs/resource_types")
    def list_resource_types() -> Response:
        return json_response({"resource_types": ns.resource_types(auth())})

    @bp.get(f"{NS}/resource_types")
    def list_associations(namespace: str) -> Response:
        return json_response({"resource_type_associations": ns.associations(auth(),
                                                                            namespace)})

    @bp.post(f"{NS}/resource_types")
    @body_schema(schemas.ASSOCIATION)
    def create_association(namespace: str) -> Response:
        return json_response(ns.associate(auth(), namespace, json_body(dict)), 201)

    @bp.delete(f"{NS}/resource_types/<resource_type>")
    def delete_association(namespace: str, resource_type: str) -> Response:
        ns.dissociate(auth(), namespace, resource_type)
        return _no_content()


#: (collection, singular used in endpoint names, the services' attribute, PUT/POST schema)
CONTENT = (("objects", "object", "objects", schemas.OBJECT),
           ("properties", "property", "properties", schemas.PROPERTY),
           ("tags", "tag", "tags", schemas.TAG))


def _content_routes(bp: Blueprint, api: Metadefs) -> None:
    """List, show, update, delete one and delete all, alike for every kind of content."""
    for collection, singular, attr, schema in CONTENT:
        service = getattr(api, attr)
        # the item's URL variable keeps Glance's name ({object_name}...): policy and role
        # tables name routes by their rule
        base, one = f"{NS}/{collection}", f"{NS}/{collection}/<{singular}_name>"
        bp.add_url_rule(base, f"list_{collection}", _lister(service), methods=["GET"])
        bp.add_url_rule(base, f"delete_{collection}", _emptier(service), methods=["DELETE"])
        bp.add_url_rule(one, f"show_{singular}", _shower(service), methods=["GET"])
        bp.add_url_rule(one, f"update_{singular}", _updater(service, schema), methods=["PUT"])
        bp.add_url_rule(one, f"delete_{singular}", _deleter(service), methods=["DELETE"])
    for attr, schema, singular in (("objects", schemas.OBJECT, "object"),
                                   ("properties", schemas.PROPERTY, "property")):
        bp.add_url_rule(f"{NS}/{attr}", f"create_{singular}",
                        _creator(getattr(api, attr), schema), methods=["POST"])
    _tag_creates(bp, api)


def _lister(service: ContentService) -> Callable[..., Response]:
    def view(namespace: str) -> Response:
        return json_response(service.list(auth(), namespace, request.args))
    return view


def _emptier(service: ContentService) -> Callable[..., Response]:
    def view(namespace: str) -> Response:
        service.delete_all(auth(), namespace)
        return _no_content()
    return view


def _shower(service: ContentService) -> Callable[..., Response]:
    def view(namespace: str, **item: str) -> Response:
        return json_response(service.get(auth(), namespace, *item.values(),
                                         request.args.get("resource_type")))
    return view


def _creator(service: ContentService, schema: dict) -> Callable[..., Response]:
    @body_schema(schema)
    def view(namespace: str) -> Response:
        return json_response(service.create(auth(), namespace, json_body(dict)), 201)
    return view


def _updater(service: ContentService, schema: dict) -> Callable[..., Response]:
    @body_schema(schema)
    def view(namespace: str, **item: str) -> Response:
        return json_response(service.update(auth(), namespace, *item.values(),
                                            json_body(dict)))
    return view


def _deleter(service: ContentService) -> Callable[..., Response]:
    def view(namespace: str, **item: str) -> Response:
        service.delete(auth(), namespace, *item.values())
        return _no_content()
    return view


def _tag_creates(bp: Blueprint, api: Metadefs) -> None:
    tags = api.tags

    @bp.post(f"{NS}/tags")
    @body_schema(schemas.TAGS)
    def create_tags(namespace: str) -> Response:
        append = to_bool(request.headers.get("X-Openstack-Append", "false") or "false")
        return json_response(tags.create_many(auth(), namespace, json_body(dict), append),
                             201)

    @bp.post(f"{NS}/tags/<tag_name>")
    def create_tag(namespace: str, tag_name: str) -> Response:
        return json_response(tags.create(auth(), namespace, {"name": tag_name}), 201)
