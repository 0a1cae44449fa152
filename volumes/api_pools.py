"""Cinder's scheduler stats and backend capabilities (admins): ``GET
/scheduler-stats/get_pools`` (``?detail=True`` adds the capabilities) and ``GET
/capabilities/{host}``.

Each volume agent's host is one backend with one pool, named as volumes show their host
(``os-vol-host-attr:host``): ``<host>@<backend>#<backend>``. Only hosts whose agent is up
are listed, as Cinder's scheduler forgets backends that stopped reporting. Capacities are
``unknown``: the API does not see the agents' filesystems (the schema allows the string,
and Cinder's drivers report it too).
"""
from __future__ import annotations

from flask import Blueprint, Response, request

from minicloud.errors import NotFound
from minicloud.wsgi import json_response
from volumes import context, scheduler, views
from volumes.models import VolumeHost
from volumes.scheduler import DRIVER_VERSION, PROTOCOL, VENDOR

bp = Blueprint("pools", __name__)


def pool_name(row: VolumeHost) -> str:
    return f"{row.name}@{row.backend}#{row.backend}"


def _capabilities(row: VolumeHost) -> dict:
    return {"updated": views.ts(row.heartbeat_at), "timestamp": views.ts(row.heartbeat_at),
            **scheduler.capabilities(row)}


def _up_hosts() -> list[VolumeHost]:
    return [row for row, up in context.volumes().hosts() if up]


@bp.get("/scheduler-stats/get_pools", endpoint="get_pools")
def get_pools(project_id: str | None) -> Response:
    context.authorize_project("scheduler_extension:scheduler_stats:get_pools")
    detail = request.args.get("detail", "").strip().lower() in ("true", "1", "yes", "on", "y", "t")
    pools = [{"name": pool_name(row), **({"capabilities": _capabilities(row)} if detail
                                         else {})} for row in _up_hosts()]
    return json_response({"pools": pools})


@bp.get("/capabilities/<host>", endpoint="capabilities")
def capabilities(project_id: str | None, host: str) -> Response:
    """``host`` is ``<host>@<backend>`` (a ``#pool`` suffix is accepted too)."""
    context.authorize_project("volume_extension:capabilities")
    wanted = host.split("#", 1)[0]
    row = next((r for r in _up_hosts() if f"{r.name}@{r.backend}" == wanted), None)
    if row is None:
        raise NotFound(f"Service {host[:255]} could not be found.")
    return json_response({
        "namespace": f"OS::Storage::Capabilities::{wanted}", "vendor_name": VENDOR,
        "volume_backend_name": row.backend, "pool_name": None,
        "driver_version": DRIVER_VERSION, "storage_protocol": PROTOCOL,
        "display_name": None, "description": None, "visibility": None,
        "replication_targets": [],
        "properties": {
            "thin_provisioning": {"title": "Thin Provisioning", "type": "boolean",
                                  "description": "Volumes are sparse files."},
            "qos": {"title": "QoS", "type": "boolean",
                    "description": "Front-end qos-specs are applied by the hypervisor."}}})
