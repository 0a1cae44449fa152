"""Nova's volume proxy (``/os-volumes``, 2.1-2.35): the volume API spoken to in Nova's
legacy shape.

Volumes are read, created and deleted through the volume API *as the caller* (their token):
they see what the volume API lets them see, their project's quota applies (its refusal is
Nova's 403). Each route enforces Nova's ``os-volumes`` rule first. From 2.36 the routes
answer 404, as Nova's.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, request

from compute import schema
from compute.cinder import VolumeClient
from compute.proxy_views import volume_view
from compute.routes import PREFIX, compute
from compute.routes.images import proxy_until
from minicloud.errors import BadRequest, Forbidden, RequestTooLarge, ServiceUnavailable
from minicloud.paging import MAX_LIMIT
from minicloud.validation import query_int
from minicloud.wsgi import auth, authorize, body_schema, json_body, json_response

bp = Blueprint("volumes", __name__, url_prefix=PREFIX)
RULE = "os_compute_api:os-volumes:%s"
PROXY_UNTIL = 35
#: Nova's create fields and their names in the volume API.
CREATE_FIELDS = {"display_name": "name", "display_description": "description",
                 "volume_type": "volume_type", "metadata": "metadata",
                 "availability_zone": "availability_zone", "snapshot_id": "snapshot_id"}


def volumes() -> VolumeClient:
    """A client of the volume API acting as the caller."""
    client = compute().service.volume_client
    if client is None:
        raise ServiceUnavailable("The volume service is unavailable.")
    return client(auth().token)


def limited(items: list) -> list:
    """Nova's ``offset``/``limit`` (non-negative integers, else 400) over a whole list: at
    most ``MAX_LIMIT`` items, also when ``limit`` is none, 0 or more (Nova's
    ``common.limited`` with ``[api] max_limit``)."""
    offset = query_int(request.args, "offset", 0, minimum=0)
    limit = min(MAX_LIMIT, query_int(request.args, "limit", None, minimum=0) or MAX_LIMIT)
    return items[offset:offset + limit]


def proxied_list(rule: str, key: str, fetch: Callable[[VolumeClient], list[dict]],
                 view: Callable[[dict], dict]) -> Response:
    """A proxy's list or ``/detail`` (one body, as Nova): ``rule``'s ``list`` or ``detail``
    action, then Nova's ``offset``/``limit`` over what ``fetch`` lists the caller through
    the volume client."""
    proxy_until(PROXY_UNTIL)
    authorize(rule % ("detail" if request.path.endswith("/detail") else "list"))
    return json_response({key: [view(item) for item in limited(fetch(volumes()))]})


def quota_is_403(create: Callable[[], dict]) -> dict:
    """``create()`` through the volume API, whose over-quota answer (413) is Nova's 403."""
    try:
        return create()
    except RequestTooLarge as exc:
        raise Forbidden(exc.message) from None


@bp.get("/os-volumes")
@bp.get("/os-volumes/detail")
def list_volumes() -> Response:
    return proxied_list(RULE, "volumes", lambda client: client.list_detail(), volume_view)


@bp.post("/os-volumes")
@body_schema(schema.CREATE_VOLUME, max_minor=PROXY_UNTIL, fallback=False)
def create_volume() -> Response:
    proxy_until(PROXY_UNTIL)
    authorize(RULE % "create")
    body = json_body()["volume"]
    size = int(body["size"])
    if size < 1:
        raise BadRequest(f"Invalid input for field/attribute size. Value: {size}. "
                         f"{size} is less than the minimum of 1")
    request_body = {"size": size, **{cinder: body[nova] for nova, cinder in
                                     CREATE_FIELDS.items() if nova in body}}
    volume = quota_is_403(lambda: volumes().create(request_body))
    return json_response({"volume": volume_view(volume)}, 200,
                         {"Location": f"{request.base_url}/{volume['id']}"})


@bp.get("/os-volumes/<volume_id>")
def show_volume(volume_id: str) -> Response:
    proxy_until(PROXY_UNTIL)
    authorize(RULE % "show")
    return json_response({"volume": volume_view(volumes().get(volume_id))})


@bp.delete("/os-volumes/<volume_id>")
def delete_volume(volume_id: str) -> Response:
    proxy_until(PROXY_UNTIL)
    authorize(RULE % "delete")
    volumes().delete_volume(volume_id)
    return Response(status=202)
