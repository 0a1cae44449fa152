"""Nova's image proxy (``/images``, 2.1-2.35; the image metadata up to 2.38): the image API
spoken to in Nova's legacy shapes.

Every call goes to the image API *as the caller* (their token), so a caller sees and changes
exactly what the image API lets them (its 403 and 404 are theirs); compute keeps nothing.
Nova has no policy rule for these routes: any valid token. From 2.36 (metadata: 2.39) the
routes answer 404, as Nova's.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Blueprint, Response, request

from compute import schema
from compute.glance import ImageClient
from compute.proxy_views import image_detail, image_properties, image_summary, parse_time
from compute.routes import PREFIX, base_url, compute, mv, paged
from compute.views import Viewer
from minicloud.errors import BadRequest, Forbidden, NotFound
from minicloud.validation import query_int
from minicloud.wsgi import auth, body_schema, json_body, json_response

bp = Blueprint("images", __name__, url_prefix=PREFIX)
IMAGES_UNTIL, METADATA_UNTIL = 35, 38
GLANCE_RESERVED = "os_glance"
#: Nova's list filters that the image API applies (Glance's names).
GLANCE_FILTERS = {"name": "name", "status": "status", "server": "instance_uuid",
                  "type": "image_type"}


def proxy_until(until: int) -> None:
    """The proxy routes end at 2.``until``: later microversions get Nova's 404."""
    if mv().minor > until:
        raise NotFound(f"API version {mv()} is not supported on this method.")


def _images() -> ImageClient:
    return compute().service.image_client(auth().token)


def _viewer() -> Viewer:
    return Viewer(mv(), base_url())


def _get(image_id: str) -> dict:
    try:
        return _images().get(image_id)
    except NotFound:
        raise NotFound("Image not found.") from None


def _glance_query() -> dict[str, str]:
    """The image API query of Nova's filters: ``server`` is an id or a server URL, a
    ``status`` is Glance's in lower case, ``property-X`` filters on property X."""
    query = {}
    for nova, glance in GLANCE_FILTERS.items():
        value = request.args.get(nova)
        if value is not None:
            query[glance] = value
    if "instance_uuid" in query:
        query["instance_uuid"] = query["instance_uuid"].rstrip("/").rsplit("/", 1)[-1]
    if "status" in query:
        query["status"] = query["status"].lower()
    for key, value in request.args.items():
        if key.startswith("property-") and len(key) > len("property-"):
            query[key[len("property-"):]] = value
    return query


def _local_filters() -> list[Callable[[dict], bool]]:
    """The filters the image API has no query for: ``changes-since`` (updated at or after),
    ``minRam`` and ``minDisk`` (at least that minimum)."""
    tests: list[Callable[[dict], bool]] = []
    since = request.args.get("changes-since")
    if since is not None:
        try:
            moment = parse_time(since)
        except ValueError:
            raise BadRequest(f"Invalid filter field: changes-since. Value: "
                             f"{since[:50]}.") from None
        if moment is not None:
            tests.append(lambda image, at=moment: (parse_time(image.get("updated_at"))
                                                   or dt.datetime.min.replace(tzinfo=dt.UTC))
                         >= at)
    for nova, glance in (("minRam", "min_ram"), ("minDisk", "min_disk")):
        least = query_int(request.args, nova, None, minimum=0)
        if least is not None:
            tests.append(lambda image, k=glance, n=least: int(image.get(k) or 0) >= n)
    return tests


def _listing() -> tuple[list[dict], dict]:
    tests = _local_filters()
    images = [i for i in _images().list(_glance_query()) if all(t(i) for t in tests)]
    return paged(images, lambda i: i["id"], "images", request.path.removeprefix(PREFIX))


@bp.get("/images")
def list_images() -> Response:
    proxy_until(IMAGES_UNTIL)
    page, links = _listing()
    see, url = _viewer(), compute().image_url
    return json_response({"images": [image_summary(i, see, url) for i in page], **links})


@bp.get("/images/detail")
def list_images_detail() -> Response:
    proxy_until(IMAGES_UNTIL)
    page, links = _listing()
    see, url = _viewer(), compute().image_url
    return json_response({"images": [image_detail(i, see, url) for i in page], **links})


@bp.get("/images/<image_id>")
def show_image(image_id: str) -> Response:
    proxy_until(IMAGES_UNTIL)
    return json_response({"image": image_detail(_get(image_id), _viewer(),
                                                compute().image_url)})


@bp.delete("/images/<image_id>")
def delete_image(image_id: str) -> Response:
    proxy_until(IMAGES_UNTIL)
    try:
        _images().delete(image_id)
    except NotFound:
        raise NotFound("Image not found.") from None
    except Forbidden:
        raise Forbidden("You are not allowed to delete the image.") from None
    return Response(status=204)


# -- metadata -------------------------------------------------------------------------------------
def _check_count(metadata: dict) -> None:
    """Nova's ``metadata_items`` quota of the caller's project (403 beyond)."""
    limit = compute().service.quota_limits(auth().project_id).get("metadata_items", -1)
    if 0 <= limit < len(metadata):
        raise Forbidden("Image metadata limit exceeded")


def _save(image: dict, metadata: dict) -> dict:
    """Make ``metadata`` the image's custom properties (a JSON patch as the caller, sent
    even when empty so the image API decides whether the caller may change the image); the
    properties the image API then reports."""
    current = image_properties(image)
    # the image API's own reserved properties (``os_glance_*``, set by imports) stay put
    changes = [{"op": "remove", "path": f"/{key}"} for key in current
               if key not in metadata and not key.startswith(GLANCE_RESERVED)]
    changes += [{"op": "add", "path": f"/{key}", "value": value}
                for key, value in metadata.items() if current.get(key) != value]
    try:
        return image_properties(_images().update(image["id"], changes))
    except NotFound:
        raise NotFound("Image not found.") from None


@bp.get("/images/<image_id>/metadata")
def show_image_metadata(image_id: str) -> Response:
    proxy_until(METADATA_UNTIL)
    return json_response({"metadata": image_properties(_get(image_id))})


@bp.post("/images/<image_id>/metadata")
@body_schema(schema.SET_METADATA, max_minor=METADATA_UNTIL, fallback=False)
def add_image_metadata(image_id: str) -> Response:
    proxy_until(METADATA_UNTIL)
    image = _get(image_id)
    metadata = {**image_properties(image), **json_body()["metadata"]}
    _check_count(metadata)
    return json_response({"metadata": _save(image, metadata)})


@bp.put("/images/<image_id>/metadata")
@body_schema(schema.SET_METADATA, max_minor=METADATA_UNTIL, fallback=False)
def replace_image_metadata(image_id: str) -> Response:
    proxy_until(METADATA_UNTIL)
    image = _get(image_id)
    metadata = json_body()["metadata"]
    _check_count(metadata)
    _save(image, metadata)
    return json_response({"metadata": metadata})


@bp.get("/images/<image_id>/metadata/<key>")
def show_image_metadata_item(image_id: str, key: str) -> Response:
    proxy_until(METADATA_UNTIL)
    metadata = image_properties(_get(image_id))
    if key not in metadata:
        raise NotFound("Metadata item was not found")
    return json_response({"meta": {key: metadata[key]}})


@bp.put("/images/<image_id>/metadata/<key>")
@body_schema(schema.SET_METADATA_ITEM, max_minor=METADATA_UNTIL, fallback=False)
def set_image_metadata_item(image_id: str, key: str) -> Response:
    proxy_until(METADATA_UNTIL)
    meta = json_body()["meta"]
    if key not in meta:
        raise BadRequest("Request body and URI mismatch")
    image = _get(image_id)
    metadata = {**image_properties(image), **meta}
    _check_count(metadata)
    _save(image, metadata)
    return json_response({"meta": meta})


@bp.delete("/images/<image_id>/metadata/<key>")
def delete_image_metadata_item(image_id: str, key: str) -> Response:
    proxy_until(METADATA_UNTIL)
    image = _get(image_id)
    metadata = image_properties(image)
    if key not in metadata:
        raise NotFound("Invalid metadata key")
    del metadata[key]
    _save(image, metadata)
    return Response(status=204)
