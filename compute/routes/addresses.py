"""A server's addresses (``/servers/{id}/ips``) and its encrypted password
(``/servers/{id}/os-server-password``).

This cloud has no networking service, so a server has no addresses on any network, and no
metadata service a guest could post a password to, so the password is always empty: the
routes answer as Nova does for such a server.
"""
from __future__ import annotations

from flask import Blueprint, Response

from compute.routes import PREFIX, server
from minicloud.errors import NotFound
from minicloud.wsgi import json_response

bp = Blueprint("addresses", __name__, url_prefix=PREFIX)


@bp.get("/servers/<server_id>/ips")
def list_ips(server_id: str) -> Response:
    server(server_id, "os_compute_api:ips:index")
    return json_response({"addresses": {}})


@bp.get("/servers/<server_id>/ips/<network>")
def show_ips(server_id: str, network: str) -> Response:
    server(server_id, "os_compute_api:ips:show")
    raise NotFound("There is no such network in the server's addresses: this cloud has no "
                   "networking service.")


@bp.get("/servers/<server_id>/os-server-password")
def show_password(server_id: str) -> Response:
    server(server_id, "os_compute_api:os-server-password:show")
    return json_response({"password": ""})


@bp.delete("/servers/<server_id>/os-server-password")
def clear_password(server_id: str) -> Response:
    server(server_id, "os_compute_api:os-server-password:clear")
    return Response(status=204)
