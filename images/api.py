"""Glance v2 HTTP API: routes only (parse, validate, call the services, serialize).

The app serves at the root of its port: ``GET /`` and ``/versions`` are the (public)
versions documents and every API path is under ``/v2/`` (``images.discovery``).
Representations are what ``/v2/schemas/image`` publishes (``images.schemas_doc``): every
core field, ``tags``, ``self``, ``file``, ``schema`` and custom properties as top-level
string keys; timestamps ``YYYY-MM-DDTHH:MM:SSZ``; real JSON booleans. Every JSON body is
checked against its schema (``images.schema``) before the view runs, and every operation is
a policy rule (``images.policies``) checked by the services with the image as the target.
Errors leave through minicloud.wsgi's one handler as ``{"<kind>": {"code", "title",
"message"}}``.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request

from images import (
    api_cache,
    api_stores,
    api_tasks,
    discovery,
    formats,
    inject,
    owners,
    policies,
    protections,
    schema,
    signing,
)
from images.cache import ImageCache
from images.cache_service import CacheService, Prefetcher
from images.data import DataInfo, DataService
from images.import_stores import recover_copies
from images.imports import METHODS, ImportService
from images.intake import read_stream
from images.members import MemberRecord, MemberService
from images.metadef_api import register as register_metadefs
from images.metadef_catalog import ImagePropertyRules
from images.query import ListQuery, next_link
from images.service import Dependencies, ImageRecord, ImageService
from images.store import FilesystemStore, Store
from images.stores import StoreSet
from minicloud.config import Config
from minicloud.db import Database
from minicloud.errors import ConfigError, RangeNotSatisfiable, UnsupportedMediaType
from minicloud.paths import StatePaths
from minicloud.wsgi import auth, body_schema, json_body, json_response, request_id
from minicloud.wsgi import create_app as base_app

OCTET_STREAM = "application/octet-stream"
_DIGITS = re.compile(r"[0-9]{1,19}\Z")


@dataclass
class ImageAPI:
    images: ImageService
    members: MemberService
    data: DataService
    imports: ImportService
    cache: CacheService | None = None       # [image] cache_enabled
    prefetcher: Prefetcher | None = None


# -- representations ---------------------------------------------------------------------
def _ts(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def image_json(r: ImageRecord) -> dict[str, Any]:
    body: dict[str, Any] = dict(r.properties)
    body.update({
        "id": r.id, "name": r.name, "status": r.status, "visibility": r.visibility,
        "protected": r.protected, "os_hidden": r.os_hidden, "owner": r.owner,
        "checksum": r.checksum, "os_hash_algo": r.os_hash_algo,
        "os_hash_value": r.os_hash_value, "size": r.size, "virtual_size": r.virtual_size,
        "min_ram": r.min_ram, "min_disk": r.min_disk, "disk_format": r.disk_format,
        "container_format": r.container_format, "created_at": _ts(r.created_at),
        "updated_at": _ts(r.updated_at), "tags": list(r.tags),
        "self": f"/v2/images/{r.id}", "file": f"/v2/images/{r.id}/file",
        "schema": "/v2/schemas/image",
    })
    if r.stores:
        body["stores"] = ",".join(r.stores)
    if r.direct_path is not None:
        body["direct_url"] = f"file://{r.direct_path}"
    return body


def member_json(m: MemberRecord) -> dict[str, Any]:
    return {"image_id": m.image_id, "member_id": m.member_id, "status": m.status,
            "created_at": _ts(m.created_at), "updated_at": _ts(m.updated_at),
            "schema": "/v2/schemas/member"}


# -- request helpers ---------------------------------------------------------------------
def _declared_size() -> int | None:
    """The largest size the client announced (Content-Length, X-OpenStack-Image-Size), so
    that an upload announced beyond the cap is refused before it is read."""
    sizes = [int(v) for v in (request.content_length,
                              request.headers.get("X-OpenStack-Image-Size"))
             if v is not None and _DIGITS.match(str(v))]
    return max(sizes) if sizes else None


def _body(chunk: int) -> Iterator[bytes]:
    """The request body in ``chunk``-sized pieces, refused when it ends before (or runs past)
    its Content-Length (``images.intake.read_stream``)."""
    return read_stream(request.stream, chunk, request.content_length)


def _require_octet_stream() -> None:
    # A missing Content-Type is tolerated (curl -T); a different one is refused, as Glance.
    if request.mimetype and request.mimetype != OCTET_STREAM:
        raise UnsupportedMediaType(f"Unsupported Content-Type {request.mimetype!r}: image "
                                   f"data must be sent as {OCTET_STREAM}.")


def _download(api: ImageAPI, info: DataInfo) -> Response:
    size, rng = info.size, request.range
    if rng is not None and rng.units == "bytes" and len(rng.ranges) == 1:
        span = rng.range_for_length(size)
        if span is None:
            exc = RangeNotSatisfiable(f"Range {request.headers.get('Range')!r} is outside "
                                      f"the image data ({size} bytes).")
            return json_response(exc.to_dict(), exc.status,
                                 {"Content-Range": f"bytes */{size}"})
        start, stop = span
        body = api.data.read(info, start, stop - start)
        return Response(body, 206, mimetype=OCTET_STREAM, direct_passthrough=True, headers={
            "Content-Length": str(stop - start),
            "Content-Range": f"bytes {start}-{stop - 1}/{size}"})
    headers = {"Content-Length": str(size)}
    if info.checksum:
        headers["Content-MD5"] = info.checksum
    return Response(api.data.read(info), 200, mimetype=OCTET_STREAM,
                    direct_passthrough=True, headers=headers)


# -- the app -----------------------------------------------------------------------------
def _check_options(conf: Config) -> None:
    formats.allowed(conf.image)
    inject.enabled_plugins(conf.image)
    inject.parse_inject(conf.inject_metadata_properties.inject)
    if conf.image.convert_to not in ("", "raw"):
        raise ConfigError(f"[image] convert_to must be empty or 'raw', not "
                          f"{conf.image.convert_to!r}.")
    methods = [m.strip() for m in conf.image.enabled_import_methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"[image] enabled_import_methods: unknown method {unknown[0]!r} "
                          f"(known: {', '.join(METHODS)}).")


def build_services(conf: Config, db: Database, policy: Any, store: Store | None = None,
                   staging: Store | None = None) -> ImageAPI:
    _check_options(conf)
    root = StatePaths(conf.state_dir).image_store
    chunk = conf.image.chunk_size
    deps = Dependencies(
        conf=conf, db=db, policy=policy,
        store=StoreSet.single(store) if store else StoreSet.from_config(conf.image, root),
        staging=staging or FilesystemStore(root / "staging", chunk),
        protections=protections.from_config(conf.image, conf.path, policy),
        property_rules=(ImagePropertyRules().check
                        if conf.image.validate_properties_with_metadefs else None),
        certificates=signing.key_manager_certificates(conf))
    cache = prefetcher = None
    if conf.image.cache_enabled:
        cache = CacheService(deps, ImageCache(
            conf.path(conf.image.image_cache_dir), conf.image.image_cache_max_size,
            conf.image.image_cache_stall_time, chunk))
        prefetcher = Prefetcher(cache, conf.image.cache_prefetcher_interval)
    images = ImageService(deps)
    return ImageAPI(images, MemberService(deps), DataService(deps, cache),
                    ImportService(deps, images), cache, prefetcher)


def create_app(conf: Config, db: Database | None = None, store: Store | None = None,
               staging: Store | None = None) -> Flask:
    """The image service's WSGI app. Raises ConfigError (refusing to start) on bad options,
    e.g. a missing or malformed property protections file."""
    app = base_app("image", conf, db, policies.RULES)
    core = app.extensions["minicloud"]
    api = build_services(conf, core.db, core.policy, store, staging)
    api.images.recover()
    api.images.discard_failed(api.imports.tasks.recover())
    recover_copies(api.imports.deps)
    app.extensions["images"] = api
    # A worker killed mid-upload is replaced by gunicorn without a new start-up recovery:
    # each new worker re-queues the uploads and imports whose owner died (images.owners).
    app.extensions["on_worker_start"] = lambda: owners.reap(api)
    discovery.register(app, api.imports, cache=api.cache is not None)
    _image_routes(app, api)
    _data_routes(app, api)
    _member_routes(app, api)
    api_tasks.register(app, api)
    api_stores.register(app, api)
    api_cache.register(app, api)
    register_metadefs(app)
    return app


def _image_routes(app: Flask, api: ImageAPI) -> None:
    @app.get("/v2/images")
    def list_images() -> Response:
        query = ListQuery.from_args(request.args)
        records, marker = api.images.list(auth(), query)
        body: dict[str, Any] = {"images": [image_json(r) for r in records],
                                "schema": "/v2/schemas/images", "first": "/v2/images"}
        if marker is not None:
            body["next"] = next_link(request.args, marker, query.limit)
        return json_response(body)

    @app.post("/v2/images")
    @body_schema(schema.CREATE)
    def create_image() -> Response:
        record = api.images.create(auth(), json_body(dict))
        return json_response(image_json(record), 201, {
            "Location": f"/v2/images/{record.id}",
            "OpenStack-image-import-methods": ",".join(api.imports.info()),
            "OpenStack-image-store-ids": ",".join(api.data.deps.store.writable_ids)})

    @app.get("/v2/images/<image_id>")
    def show_image(image_id: str) -> Response:
        return json_response(image_json(api.images.get(auth(), image_id)))

    @app.patch("/v2/images/<image_id>")
    @body_schema(schema.PATCH, kind=list)
    def update_image(image_id: str) -> Response:
        draft = schema.PATCH_MEDIA_TYPES.get(request.mimetype)
        if draft is None:
            allowed = ", ".join(sorted(schema.PATCH_MEDIA_TYPES))
            exc = UnsupportedMediaType(f"Image PATCH expects Content-Type one of: {allowed}")
            return json_response(exc.to_dict(), exc.status, {"Accept-Patch": allowed})
        changes = schema.parse_patch(json_body(list), draft)
        record = api.images.update(auth(), image_id, changes, add_must_be_new=draft == 4)
        return json_response(image_json(record))

    @app.delete("/v2/images/<image_id>")
    def delete_image(image_id: str) -> Response:
        api.images.delete(auth(), image_id)
        if api.cache is not None:
            api.cache.forget(image_id)
        return Response(status=204)

    @app.put("/v2/images/<image_id>/tags/<tag>")
    def add_tag(image_id: str, tag: str) -> Response:
        api.images.add_tag(auth(), image_id, tag)
        return Response(status=204)

    @app.delete("/v2/images/<image_id>/tags/<tag>")
    def remove_tag(image_id: str, tag: str) -> Response:
        api.images.remove_tag(auth(), image_id, tag)
        return Response(status=204)

    @app.post("/v2/images/<image_id>/actions/deactivate")
    def deactivate(image_id: str) -> Response:
        api.images.deactivate(auth(), image_id)
        if api.cache is not None:
            api.cache.forget(image_id)
        return Response(status=204)

    @app.post("/v2/images/<image_id>/actions/reactivate")
    def reactivate(image_id: str) -> Response:
        api.images.reactivate(auth(), image_id)
        return Response(status=204)


def _data_routes(app: Flask, api: ImageAPI) -> None:
    chunk = app.extensions["minicloud"].conf.image.chunk_size

    @app.put("/v2/images/<image_id>/file")
    def upload(image_id: str) -> Response:
        _require_octet_stream()
        api.data.upload(auth(), image_id, _body(chunk), _declared_size(),
                        store_id=request.headers.get("X-Image-Meta-Store"))
        return Response(status=204)

    @app.get("/v2/images/<image_id>/file")
    def download(image_id: str) -> Response:
        info = api.data.info(auth(), image_id)
        return Response(status=204) if info is None else _download(api, info)

    @app.put("/v2/images/<image_id>/stage")
    def stage(image_id: str) -> Response:
        _require_octet_stream()
        api.data.stage(auth(), image_id, _body(chunk), _declared_size())
        return Response(status=204)

    @app.post("/v2/images/<image_id>/import")
    @body_schema(schema.IMPORT)
    def import_image(image_id: str) -> Response:
        api.imports.start(auth(), image_id, json_body(dict), request_id(),
                          header_store=request.headers.get("X-Image-Meta-Store"))
        return Response(status=202)


def _member_routes(app: Flask, api: ImageAPI) -> None:
    @app.get("/v2/images/<image_id>/members")
    def list_members(image_id: str) -> Response:
        members = api.members.list(auth(), image_id)
        return json_response({"members": [member_json(m) for m in members],
                              "schema": "/v2/schemas/members"})

    @app.post("/v2/images/<image_id>/members")
    @body_schema(schema.MEMBER_CREATE)
    def add_member(image_id: str) -> Response:
        return json_response(member_json(api.members.add(auth(), image_id, json_body(dict))))

    @app.get("/v2/images/<image_id>/members/<member_id>")
    def show_member(image_id: str, member_id: str) -> Response:
        return json_response(member_json(api.members.get(auth(), image_id, member_id)))

    @app.put("/v2/images/<image_id>/members/<member_id>")
    @body_schema(schema.MEMBER_UPDATE)
    def update_member(image_id: str, member_id: str) -> Response:
        record = api.members.update(auth(), image_id, member_id, json_body(dict))
        return json_response(member_json(record))

    @app.delete("/v2/images/<image_id>/members/<member_id>")
    def remove_member(image_id: str, member_id: str) -> Response:
        api.members.remove(auth(), image_id, member_id)
        return Response(status=204)
