"""Version discovery (``GET /``, ``GET /v2.1``): public, as Nova's."""
from __future__ import annotations

from flask import Blueprint, Response

from compute.microversion import MAX_VERSION, MIN_VERSION, fmt
from compute.routes import base_url
from minicloud.wsgi import json_response, public

bp = Blueprint("versions", __name__)


def _entry(vid: str, status: str, version: str, min_version: str) -> dict:
    return {"id": vid, "status": status, "version": version, "min_version": min_version,
            "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": f"{base_url()}/{vid}/"}]}


@bp.get("/")
@public
def versions() -> Response:
    return json_response({"versions": [
        _entry("v2.0", "SUPPORTED", "", ""),
        _entry("v2.1", "CURRENT", fmt(MAX_VERSION), fmt(MIN_VERSION))]})


@bp.get("/v2.1")
@bp.get("/v2.1/")
@public
def version() -> Response:
    return json_response({"version": _entry("v2.1", "CURRENT", fmt(MAX_VERSION),
                                            fmt(MIN_VERSION))})
