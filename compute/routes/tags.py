"""Server tags (``/servers/{id}/tags``, 2.26+), each behind Nova's ``os-server-tags`` rule
on the server's project; the rules of tags are :mod:`compute.tags`."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response

from compute import schema
from compute.routes import PREFIX, base_url, compute, mv, server
from compute.tags import Tags, check_tag
from minicloud.errors import NotFound
from minicloud.wsgi import body_schema, json_body, json_response

bp = Blueprint("tags", __name__, url_prefix=PREFIX)
RULE = "os_compute_api:os-server-tags:%s"
SINCE = 26  # the microversion that brought server tags


def _server_id(server_id: str, rule: str) -> str:
    """The server (404 before 2.26, as an unknown URL), after its policy ``rule``."""
    if not mv().at_least(SINCE):
        raise NotFound("The resource could not be found.")
    return server(server_id, RULE % rule).id


def _tags() -> Tags:
    return Tags(compute().service.db)


@bp.get("/servers/<server_id>/tags")
def list_tags(server_id: str) -> Response:
    return json_response({"tags": _tags().list(_server_id(server_id, "index"))})


@bp.put("/servers/<server_id>/tags")
@body_schema(schema.REPLACE_TAGS)
def replace_tags(server_id: str) -> Response:
    inst_id = _server_id(server_id, "update_all")
    return json_response({"tags": _tags().replace(inst_id, json_body()["tags"])})


@bp.delete("/servers/<server_id>/tags")
def delete_tags(server_id: str) -> Response:
    _tags().clear(_server_id(server_id, "delete_all"))
    return Response(status=204)


@bp.get("/servers/<server_id>/tags/<tag>")
def check_tag_exists(server_id: str, tag: str) -> Response:
    inst_id = _server_id(server_id, "show")
    if not _tags().has(inst_id, tag):
        raise NotFound(f"Instance {inst_id} has no tag '{tag[:80]}'")
    return Response(status=204)


@bp.put("/servers/<server_id>/tags/<tag>")
def add_tag(server_id: str, tag: str) -> Response:
    """201 with the tag's Location when added, 204 (also with it) when it was there."""
    inst_id = _server_id(server_id, "update")
    added = _tags().add(inst_id, check_tag(tag))
    location = f"{base_url()}{PREFIX}/servers/{inst_id}/tags/{quote(tag, safe='')}"
    return Response(status=201 if added else 204, headers={"Location": location})


@bp.delete("/servers/<server_id>/tags/<tag>")
def delete_tag(server_id: str, tag: str) -> Response:
    _tags().remove(_server_id(server_id, "delete"), tag)
    return Response(status=204)
