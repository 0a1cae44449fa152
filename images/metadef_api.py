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

from dataclasses import dataclass
from urllib.parse import quote

from flask import Blueprint, Flask, Response, request

from images import metadef_schemas as schemas
from images.metadef_content import ObjectService, PropertyService, TagService
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
    _object_routes(bp, api)
    _property_routes(bp, api)
    _tag_routes(bp, api)
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


def _object_routes(bp: Blueprint, api: Metadefs) -> None:
    objects = api.objects

    @bp.get(f"{NS}/objects")
    def list_objects(namespace: str) -> Response:
        return json_response(objects.list(auth(), namespace, request.args))

    @bp.post(f"{NS}/objects")
    @body_schema(schemas.OBJECT)
    def create_object(namespace: str) -> Response:
        return json_response(objects.create(auth(), namespace, json_body(dict)), 201)

    @bp.delete(f"{NS}/objects")
    def delete_objects(namespace: str) -> Response:
        objects.delete_all(auth(), namespace)
        return _no_content()

    @bp.get(f"{NS}/objects/<object_name>")
    def show_object(namespace: str, object_name: str) -> Response:
        return json_response(objects.get(auth(), namespace, object_name,
                                         request.args.get("resource_type")))

    @bp.put(f"{NS}/objects/<object_name>")
    @body_schema(schemas.OBJECT)
    def update_object(namespace: str, object_name: str) -> Response:
        return json_response(objects.update(auth(), namespace, object_name,
                                            json_body(dict)))

    @bp.delete(f"{NS}/objects/<object_name>")
    def delete_object(namespace: str, object_name: str) -> Response:
        objects.delete(auth(), namespace, object_name)
        return _no_content()


def _property_routes(bp: Blueprint, api: Metadefs) -> None:
    props = api.properties

    @bp.get(f"{NS}/properties")
    def list_properties(namespace: str) -> Response:
        return json_response(props.list(auth(), namespace))

    @bp.post(f"{NS}/properties")
    @body_schema(schemas.PROPERTY)
    def create_property(namespace: str) -> Response:
        return json_response(props.create(auth(), namespace, json_body(dict)), 201)

    @bp.delete(f"{NS}/properties")
    def delete_properties(namespace: str) -> Response:
        props.delete_all(auth(), namespace)
        return _no_content()

    @bp.get(f"{NS}/properties/<property_name>")
    def show_property(namespace: str, property_name: str) -> Response:
        return json_response(props.get(auth(), namespace, property_name,
                                       request.args.get("resource_type")))

    @bp.put(f"{NS}/properties/<property_name>")
    @body_schema(schemas.PROPERTY)
    def update_property(namespace: str, property_name: str) -> Response:
        return json_response(props.update(auth(), namespace, property_name,
                                          json_body(dict)))

    @bp.delete(f"{NS}/properties/<property_name>")
    def delete_property(namespace: str, property_name: str) -> Response:
        props.delete(auth(), namespace, property_name)
        return _no_content()


def _tag_routes(bp: Blueprint, api: Metadefs) -> None:
    tags = api.tags

    @bp.get(f"{NS}/tags")
    def list_tags(namespace: str) -> Response:
        return json_response(tags.list(auth(), namespace, request.args))

    @bp.post(f"{NS}/tags")
    @body_schema(schemas.TAGS)
    def create_tags(namespace: str) -> Response:
        append = to_bool(request.headers.get("X-Openstack-Append", "false") or "false")
        return json_response(tags.create_many(auth(), namespace, json_body(dict), append),
                             201)

    @bp.delete(f"{NS}/tags")
    def delete_tags(namespace: str) -> Response:
        tags.delete_all(auth(), namespace)
        return _no_content()

    @bp.get(f"{NS}/tags/<tag_name>")
    def show_tag(namespace: str, tag_name: str) -> Response:
        return json_response(tags.get(auth(), namespace, tag_name))

    @bp.post(f"{NS}/tags/<tag_name>")
    def create_tag(namespace: str, tag_name: str) -> Response:
        return json_response(tags.create(auth(), namespace, tag_name), 201)

    @bp.put(f"{NS}/tags/<tag_name>")
    @body_schema(schemas.TAG)
    def update_tag(namespace: str, tag_name: str) -> Response:
        return json_response(tags.update(auth(), namespace, tag_name, json_body(dict)))

    @bp.delete(f"{NS}/tags/<tag_name>")
    def delete_tag(namespace: str, tag_name: str) -> Response:
        tags.delete(auth(), namespace, tag_name)
        return _no_content()
