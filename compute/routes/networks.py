"""Nova's network proxy (``/os-networks``, 2.1-2.35; 404 from 2.36, as Nova's).

Nova lists the networks its networking service (Neutron) shows the caller's project. This
cloud has no networking service, so the list is empty and no network is ever found. The
nova-network writes (create, delete, associate) are not routed (405).
"""
from __future__ import annotations

from flask import Blueprint, Response

from compute.routes import PREFIX
from compute.routes.images import proxy_until
from minicloud.errors import NotFound
from minicloud.wsgi import authorize, json_response

bp = Blueprint("networks", __name__, url_prefix=PREFIX)
RULE = "os_compute_api:os-networks:%s"
PROXY_UNTIL = 35


@bp.get("/os-networks")
def list_networks() -> Response:
    proxy_until(PROXY_UNTIL)
    authorize(RULE % "list")
    return json_response({"networks": []})


@bp.get("/os-networks/<network_id>")
def show_network(network_id: str) -> Response:
    proxy_until(PROXY_UNTIL)
    authorize(RULE % "view")
    raise NotFound("Network could not be found.")
