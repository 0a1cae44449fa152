"""Version discovery (``GET /``, ``GET /v2.1``, ``GET /v2``): public, as Nova's.

Nova lists the legacy v2.0 API at ``/v2/`` (SUPPORTED, no microversions) beside v2.1; both
self links lead to a version document (with its media type), so a client that follows every
link of the list finds each one.
"""
from __future__ import annotations

from flask import Blueprint, Response

from compute.microversion import MAX_VERSION, MIN_VERSION, fmt
from compute.routes import base_url
from minicloud.wsgi import json_response, public

bp = Blueprint("versions", __name__)


#: version id -> (path, status, max and min microversion)
VERSIONS = {"v2.0": ("v2", "SUPPORTED", "", ""),
            "v2.1": ("v2.1", "CURRENT", fmt(MAX_VERSION), fmt(MIN_VERSION))}


def _entry(vid: str) -> dict:
    path, status, version, min_version = VERSIONS[vid]
    return {"id": vid, "status": status, "version": version, "min_version": min_version,
            "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": f"{base_url()}/{path}/"}]}


@bp.get("/")
@public
def versions() -> Response:
    return json_response({"versions": [_entry(vid) for vid in VERSIONS]})


def _document(vid: str) -> Response:
    body = _entry(vid)
    body["links"].append({"rel": "describedby", "type": "text/html",
                          "href": "https://docs.openstack.org/"})
    minor = "2.1" if vid == "v2.1" else "2"
    body["media-types"] = [{"base": "application/json",
                            "type": f"application/vnd.openstack.compute+json;version={minor}"}]
    return json_response({"version": body})


@bp.get("/v2.1")
@bp.get("/v2.1/")
@public
def version() -> Response:
    return _document("v2.1")


@bp.get("/v2")
@bp.get("/v2/")
@public
def legacy_version() -> Response:
    return _document("v2.0")
