"""``POST /os-server-external-events`` (services only: Nova's ``role:service`` default); the
rules and what an event changes are in :mod:`compute.external_events`."""
from __future__ import annotations

from flask import Blueprint, Response

from compute import external_events, schema
from compute.routes import PREFIX, compute
from minicloud.wsgi import authorize, body_schema, json_body, json_response

bp = Blueprint("external_events", __name__, url_prefix=PREFIX)


@bp.post("/os-server-external-events")
@body_schema(schema.EXTERNAL_EVENTS[1], max_minor=50)
@body_schema(schema.EXTERNAL_EVENTS[51], min_minor=51, max_minor=75)
@body_schema(schema.EXTERNAL_EVENTS[76], min_minor=76, max_minor=81)
@body_schema(schema.EXTERNAL_EVENTS[82], min_minor=82, max_minor=92)
@body_schema(schema.EXTERNAL_EVENTS[93], min_minor=93)
def create_events() -> Response:
    authorize("os_compute_api:os-server-external-events:create")
    outcome = external_events.accept(compute().service.db, json_body()["events"])
    return json_response({"events": outcome.events}, outcome.code)
