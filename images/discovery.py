"""What the image API says about itself: versions, published schemas, import methods, stores.

Versions (``GET /versions``: 200; ``GET /``, ``/v2`` and ``/v2/``: 300 Multiple Choices, as
Glance's version negotiation answers an unversioned URL; all public) list exactly what Glance
lists for a deployment like this one: ``enabled_backends`` set (one filesystem store,
``file``, which is why images carry ``stores`` and ``/v2/info/stores`` answers) and no image
cache unless ``[image] cache_enabled`` (then 2.16 and 2.14 too, as Glance lists them with
``image_cache_dir`` set: clients call the cache API of ``images.api_cache``). Glance's order is kept
(it is not sorted: 2.17 CURRENT comes after the multi-store versions). Every link is
``<endpoint>/v2/``: Glance has one v2 API and no per-request microversion, so no image field
depends on the version a client saw here; images look the same to every client.

Clients test single versions (``has_version``): 2.12 makes glanceclient and Tempest call
``GET /v2/images/{id}/tasks`` (served: ``images.api_tasks``), 2.17 the locations API, which
minicloud lists as Glance does but does not serve yet (see ``docs/images.md``).
"""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from images import formats, schemas_doc
from images.imports import ImportService
from images.service import STORE_ID
from minicloud.errors import NotFound
from minicloud.wsgi import json_response, public

CURRENT = "2.17"
#: Glance's list (glance/api/versions.py) with enabled_backends and no image cache.
VERSIONS: tuple[tuple[str, str], ...] = (
    ("2.15", "SUPPORTED"),
    *((f"2.{minor}", "SUPPORTED") for minor in range(13, 7, -1)),
    (CURRENT, "CURRENT"),
    *((f"2.{minor}", "SUPPORTED") for minor in range(7, -1, -1)),
)
#: The same with the image cache on: 2.16 before and 2.14 after 2.15, as Glance.
CACHE_VERSIONS: tuple[tuple[str, str], ...] = (
    ("2.16", "SUPPORTED"), VERSIONS[0], ("2.14", "SUPPORTED"), *VERSIONS[1:])


def versions_json(base_url: str, cache: bool = False) -> dict[str, Any]:
    """The versions document, every link pointing at ``<base_url>/v2/``."""
    href = base_url.rstrip("/") + "/v2/"
    return {"versions": [{"id": f"v{version}", "status": status,
                          "links": [{"rel": "self", "href": href}]}
                         for version, status in (CACHE_VERSIONS if cache else VERSIONS)]}


def register(app: Flask, imports: ImportService, cache: bool = False) -> None:
    """Add the discovery routes to the image app (``cache``: the image cache is on)."""
    @app.get("/versions")
    @public
    def list_versions() -> Response:
        return json_response(versions_json(request.host_url, cache))

    @app.get("/")
    @app.get("/v2")
    @app.get("/v2/")
    @public
    def versions() -> Response:
        return json_response(versions_json(request.host_url, cache), 300)

    @app.get("/v2/schemas/<name>")
    def show_schema(name: str) -> Response:
        document = schemas_doc.DOCUMENTS.get(name)
        if document is None:
            raise NotFound(f"No schema named {name[:60]!r}.")
        if name in ("image", "images"):  # the operator's formats (images.formats)
            return json_response(formats.publish(document(), imports.deps.conf.image))
        return json_response(document())

    @app.get("/v2/info/import")
    def import_info() -> Response:
        return json_response({"import-methods": {
            "description": "Import methods available.", "type": "array",
            "value": imports.info()}})

    @app.get("/v2/info/stores")
    def stores_info() -> Response:
        return json_response({"stores": [
            {"id": STORE_ID, "default": True, "description": "Local filesystem store"}]})
