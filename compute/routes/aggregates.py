"""Host aggregates (``os-aggregates``, admins): create, list, show, update, delete; the
``add_host``, ``remove_host`` and ``set_metadata`` actions; image pre-caching (2.81).

Aggregate ids are integers, as Nova's (anything else in the URL is a 400). Bodies per
microversion: :func:`compute.views.aggregate_view` (``uuid`` from 2.41).
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app

from compute import schema
from compute.aggregates import Aggregates
from compute.routes import PREFIX, compute, mv
from compute.views import aggregate_view
from minicloud.errors import BadRequest, NotFound
from minicloud.wsgi import auth, authorize, body_schema, json_body, json_response

bp = Blueprint("aggregates", __name__, url_prefix=PREFIX)
RULE = "os_compute_api:os-aggregates:%s"
#: The first microversion with ``POST /os-aggregates/{id}/images``.
CACHE_SINCE = 81


def aggregates() -> Aggregates:
    return current_app.extensions["aggregates"]


def _id(raw: str) -> int:
    """The aggregate id of the URL: an integer (Nova's ``validate_integer``; a negative one
    is merely unknown: 404)."""
    digits = raw[1:] if raw.startswith("-") else raw
    if not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        raise BadRequest(f"Invalid input for field/attribute id. Value: {raw[:64]}. "
                         "id must be an integer")
    return int(raw)


def _one(agg) -> Response:
    return json_response({"aggregate": aggregate_view(agg, mv())})


@bp.get("/os-aggregates")
def list_aggregates() -> Response:
    authorize(RULE % "index", {})
    return json_response({"aggregates": [aggregate_view(a, mv())
                                         for a in aggregates().list()]})


@bp.post("/os-aggregates")
@body_schema(schema.CREATE_AGGREGATE)
def create_aggregate() -> Response:
    authorize(RULE % "create", {})
    body = json_body()["aggregate"]
    agg = aggregates().create(body["name"], body.get("availability_zone"))
    return json_response({"aggregate": aggregate_view(agg, mv(), created=True)})


@bp.get("/os-aggregates/<aggregate_id>")
def show_aggregate(aggregate_id: str) -> Response:
    authorize(RULE % "show", {})
    return _one(aggregates().get(_id(aggregate_id)))


@bp.put("/os-aggregates/<aggregate_id>")
@body_schema(schema.UPDATE_AGGREGATE)
def update_aggregate(aggregate_id: str) -> Response:
    authorize(RULE % "update", {})
    return _one(aggregates().update(_id(aggregate_id), json_body()["aggregate"]))


@bp.delete("/os-aggregates/<aggregate_id>")
def delete_aggregate(aggregate_id: str) -> Response:
    authorize(RULE % "delete", {})
    aggregates().delete(_id(aggregate_id))
    return Response(status=200)


@bp.post("/os-aggregates/<aggregate_id>/action")
@body_schema(schema.AGGREGATE_ACTION)
def aggregate_action(aggregate_id: str) -> Response:
    """One of ``add_host``, ``remove_host``, ``set_metadata``, each under its own rule."""
    ((action, args),) = json_body().items()
    authorize(RULE % action, {})
    agg_id = _id(aggregate_id)
    if action == "add_host":
        return _one(aggregates().add_host(agg_id, args["host"]))
    if action == "remove_host":
        return _one(aggregates().remove_host(agg_id, args["host"]))
    return _one(aggregates().set_metadata(agg_id, args["metadata"]))


@bp.post("/os-aggregates/<aggregate_id>/images")
@body_schema(schema.CACHE_IMAGES)
def cache_images(aggregate_id: str) -> Response:
    """Queue the images for every host of the aggregate (202); each must be an active image
    the caller may see (else 400), as a boot would check it."""
    if not mv().at_least(CACHE_SINCE):
        raise NotFound("The resource could not be found.")
    authorize("compute:aggregates:images", {})
    agg_id = _id(aggregate_id)
    ids = [item["id"] for item in json_body()["cache"]]
    if len(set(ids)) != len(ids):
        raise BadRequest("Duplicate images in request")
    aggregates().get(agg_id)  # 404 before asking the image service
    images = compute().service.image_client(auth().token)
    for image_id in ids:
        try:
            image = images.get(image_id)
        except NotFound:
            raise BadRequest(f"Image {image_id} could not be found.") from None
        if image.get("status") != "active":
            raise BadRequest(f"Image {image_id} is not active.")
    aggregates().cache_images(agg_id, ids)
    return Response(status=202)
