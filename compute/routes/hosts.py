"""Hosts as Nova shows them: ``os-services``, ``os-hypervisors``, ``os-availability-zone``
(the zones are those host aggregates define: :mod:`compute.aggregates`). All admin-only but
the zone list."""
from __future__ import annotations

import uuid

from flask import Blueprint, Response, request

from compute import schema
from compute.aggregates import DEFAULT_ZONE
from compute.hosts import BINARY, ids, is_up
from compute.models import ComputeHost
from compute.routes import PREFIX, compute, mv, paged
from compute.views import hypervisor_view, service_view, zone_view
from minicloud.errors import BadRequest, NotFound
from minicloud.validation import query_bool
from minicloud.wsgi import authorize, body_schema, json_body, json_response

bp = Blueprint("hosts", __name__, url_prefix=PREFIX)
SERVICES = "os_compute_api:os-services:%s"
HYPERVISORS = "os_compute_api:os-hypervisors:%s"
#: The pre-2.53 ``PUT /os-services/{action}`` actions.
LEGACY_ACTIONS = ("enable", "disable", "disable-log-reason", "force-down")


# -- services -----------------------------------------------------------------------------------
@bp.get("/os-services")
def list_services() -> Response:
    authorize(SERVICES % "list")
    binary = request.args.get("binary")
    rows = [] if binary not in (None, BINARY) else compute().hosts.list(
        request.args.get("host"))
    return json_response({"services": [
        service_view(h, is_up(h), mv(), ids(h.name, mv().minor)[1]) for h in rows]})


@bp.put("/os-services/<service_id_>")
@body_schema(schema.UPDATE_SERVICE_LEGACY, max_minor=52)
@body_schema(schema.UPDATE_SERVICE, min_minor=53)
def update_service(service_id_: str) -> Response:
    """2.53+: ``PUT /os-services/{id}`` with ``status``; before: ``PUT
    /os-services/{enable|disable|disable-log-reason}`` naming host and binary."""
    authorize(SERVICES % "update")
    body = json_body()
    if "forced_down" in body:
        raise BadRequest("forced_down is not supported: a host is down when its agent "
                         "stops reporting.")
    if not mv().at_least(53):
        return _legacy_update(service_id_, body)
    if "disabled_reason" in body and body.get("status") != "disabled":
        raise BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
    if "status" not in body:
        raise BadRequest("'status' (enabled or disabled) is required.")
    host = compute().hosts.set_status(service_id_, body["status"] == "enabled",
                                      body.get("disabled_reason"))
    return json_response({"service": service_view(host, is_up(host), mv(),
                                                  ids(host.name, mv().minor)[1])})


def _legacy_update(action: str, body: dict) -> Response:
    if action not in LEGACY_ACTIONS or action == "force-down":
        raise NotFound("Unknown action")
    if body["binary"] != BINARY:
        raise NotFound(f"Service {body['binary']} on host {body['host']} not found.")
    reason = body.get("disabled_reason")
    if action == "disable-log-reason" and not reason:
        raise BadRequest("Missing disabled reason field")
    host = compute().hosts.set_status(body["host"], action == "enable", reason)
    out = {"host": host.name, "binary": BINARY,
           "status": "enabled" if host.enabled else "disabled"}
    if action == "disable-log-reason":
        out["disabled_reason"] = host.disabled_reason
    return json_response({"service": out})


@bp.delete("/os-services/<service_id_>")
def delete_service(service_id_: str) -> Response:
    authorize(SERVICES % "delete")
    compute().hosts.delete(service_id_)
    return Response(status=204)


# -- hypervisors --------------------------------------------------------------------------------
def _hypervisor_json(host: ComputeHost, detail: bool, with_servers: bool = False) -> dict:
    return hypervisor_view(host, is_up(host), compute().hosts.usage(host.name), mv(),
                           ids(host.name, mv().minor), detail,
                           with_servers)


def _matching(pattern: str | None) -> list[ComputeHost]:
    rows = compute().hosts.list()
    if pattern is None:
        return rows
    found = [h for h in rows if pattern in h.name]  # Nova: SQL LIKE %pattern%
    if not found:
        raise NotFound(f"No hypervisor matching '{pattern[:255]}' could be found.")
    return found


@bp.get("/os-hypervisors")
@bp.get("/os-hypervisors/detail")
def list_hypervisors() -> Response:
    """2.33+ pages (``limit``/``marker``); 2.53+ ``hypervisor_hostname_pattern`` and
    ``with_servers`` (the ``/search`` and ``/servers`` routes before)."""
    detail = request.path.endswith("/detail")
    authorize(HYPERVISORS % ("list-detail" if detail else "list"))
    with_servers, pattern = False, None
    if mv().at_least(53):
        with_servers = bool(query_bool(request.args, "with_servers", False))
        pattern = request.args.get("hypervisor_hostname_pattern")
        if pattern is not None and ("limit" in request.args or "marker" in request.args):
            raise BadRequest("Paging over a hypervisor_hostname_pattern is not supported.")
        if with_servers:
            authorize(HYPERVISORS % "servers")
    rows, links = _matching(pattern), {}
    if mv().at_least(33):
        rows, links = paged(rows, lambda h: str(ids(h.name, mv().minor)[0]), "hypervisors",
                            "/os-hypervisors/detail" if detail else "/os-hypervisors")
    return json_response({"hypervisors": [_hypervisor_json(h, detail, with_servers)
                                          for h in rows], **links})


@bp.get("/os-hypervisors/statistics")
def hypervisor_statistics() -> Response:
    """The totals of every hypervisor (removed at 2.88)."""
    if mv().at_least(88):
        raise NotFound("The resource could not be found.")
    authorize(HYPERVISORS % "statistics")
    views = [_hypervisor_json(h, True) for h in compute().hosts.list()]
    keys = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
            "local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload",
            "running_vms")
    stats = {key: sum(v[key] for v in views) for key in keys}
    stats.update(count=len(views), disk_available_least=0)
    return json_response({"hypervisor_statistics": stats})


@bp.get("/os-hypervisors/<hypervisor>")
def show_hypervisor(hypervisor: str) -> Response:
    authorize(HYPERVISORS % "show")
    with_servers = False
    if mv().at_least(53):
        try:
            uuid.UUID(hypervisor)
        except ValueError:
            raise BadRequest(f"Invalid uuid {hypervisor[:255]}") from None
        with_servers = bool(query_bool(request.args, "with_servers", False))
    try:
        host = compute().hosts.hypervisor(hypervisor)
    except NotFound:
        raise NotFound(f"Hypervisor with ID {hypervisor[:255]} could not be found.") from None
    return json_response({"hypervisor": _hypervisor_json(host, True, with_servers)})


@bp.get("/os-hypervisors/<hypervisor>/uptime")
def hypervisor_uptime(hypervisor: str) -> Response:
    """The host's ``uptime`` line as its agent last reported it (2.1-2.87; from 2.88 it is
    a field of the hypervisor); a host that is down has none (400, as Nova)."""
    if mv().at_least(88):
        raise NotFound("The resource could not be found.")
    authorize(HYPERVISORS % "uptime")
    if mv().at_least(53):
        try:
            uuid.UUID(hypervisor)
        except ValueError:
            raise BadRequest(f"Invalid uuid {hypervisor[:255]}") from None
    try:
        host = compute().hosts.hypervisor(hypervisor)
    except NotFound:
        raise NotFound(f"Hypervisor with ID '{hypervisor[:255]}' could not be "
                       "found.") from None
    if not is_up(host) or not host.uptime:
        raise BadRequest(f"Compute service of {host.name} is unavailable at this time.")
    return json_response({"hypervisor": {**_hypervisor_json(host, False),
                                         "uptime": host.uptime}})


@bp.get("/os-hypervisors/<pattern>/search")
@bp.get("/os-hypervisors/<pattern>/servers")
def search_hypervisors(pattern: str) -> Response:
    """Before 2.53: hypervisors whose name contains ``pattern`` (``/servers``: with their
    servers)."""
    if mv().at_least(53):
        raise NotFound("The resource could not be found.")
    servers = request.path.endswith("/servers")
    authorize(HYPERVISORS % ("servers" if servers else "search"))
    return json_response({"hypervisors": [_hypervisor_json(h, False, servers)
                                          for h in _matching(pattern)]})


# -- availability zones -----------------------------------------------------------------------
@bp.get("/os-availability-zone")
@bp.get("/os-availability-zone/detail")
def list_zones() -> Response:
    """The zones of the hosts (``nova`` when there is none), as their aggregates define
    them: available while one of its hosts is enabled; the detail view (admins) names each
    zone's hosts and their nova-compute service."""
    detail = request.path.endswith("/detail")
    authorize("os_compute_api:os-availability-zone:" + ("detail" if detail else "list"))
    hosts = compute().hosts.list()
    zones = sorted({h.zone for h in hosts} or {DEFAULT_ZONE})
    return json_response({"availabilityZoneInfo": [
        zone_view(z, [h for h in hosts if h.zone == z] if detail else None, is_up,
                  available=any(h.enabled for h in hosts if h.zone == z) or not hosts)
        for z in zones]})
