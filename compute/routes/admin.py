"""Nova's remaining admin APIs: ``os-hosts`` (2.1-2.42), ``os-simple-tenant-usage``,
``os-instance_usage_audit_log``, server diagnostics and ``os-migrations``. All admin-only but a
project's own usage, which its readers see too."""
from __future__ import annotations

import datetime as dt
import socket

from flask import Blueprint, Response, request

from compute import diagnostics, schema
from compute.models import ComputeHost
from compute.routes import PREFIX, compute, mv, paged, server
from compute.usage import Usage, Window, audit_log, host_resources, server_usage, tenant_usages
from minicloud.db import utcnow
from minicloud.errors import BadRequest, NotFound, NotSupported
from minicloud.wsgi import authorize, body_schema, current_service, json_body, json_response

bp = Blueprint("admin", __name__, url_prefix=PREFIX)
HOSTS = "os_compute_api:os-hosts:%s"
USAGE = "os_compute_api:os-simple-tenant-usage:%s"
AUDIT = "os_compute_api:os-instance-usage-audit-log:%s"
#: ``os-hosts`` was removed at 2.43 (its routes are 404 from there).
HOSTS_UNTIL = 43


# -- os-migrations ------------------------------------------------------------------------------
@bp.get("/os-migrations")
def list_migrations() -> Response:
    """Nova's migration records: minicloud neither resizes nor migrates servers, so there
    are none (an empty list, at every microversion; ``migrations_links`` only with a page)."""
    authorize("os_compute_api:os-migrations:index")
    return json_response({"migrations": []})


# -- os-hosts -----------------------------------------------------------------------------------
def _hosts_route(rule: str) -> None:
    if mv().at_least(HOSTS_UNTIL):
        raise NotFound("The resource could not be found.")
    authorize(HOSTS % rule)


def _compute_host(name: str) -> ComputeHost:
    for host in compute().hosts.list():
        if host.name == name:
            return host
    raise NotFound(f"Compute host {name[:255]} could not be found.")


@bp.get("/os-hosts")
def list_hosts() -> Response:
    """The enabled compute hosts (service ``compute``, their zone) and the scheduler, which
    runs in this API process (zone ``internal``); ``zone=`` filters."""
    _hosts_route("list")
    conf = current_service().conf
    rows = [{"host_name": conf.compute.host or socket.gethostname(), "service": "scheduler",
             "zone": "internal"}]
    rows += [{"host_name": h.name, "service": "compute", "zone": h.zone}
             for h in compute().hosts.list() if h.enabled]
    zone = request.args.get("zone")
    if zone:
        rows = [r for r in rows if r["zone"] == zone]
    return json_response({"hosts": rows})


@bp.get("/os-hosts/<host_name>")
def show_host(host_name: str) -> Response:
    _hosts_route("show")
    host = _compute_host(host_name)
    used = compute().hosts.usage(host.name)
    return json_response({"host": host_resources(
        host, (used.vcpus, used.memory_mib, used.disk_gb),
        Usage(compute().service.db).host_flavors(host.name))})


@bp.put("/os-hosts/<host_name>")
@body_schema(schema.UPDATE_HOST, max_minor=HOSTS_UNTIL - 1, fallback=False)
def update_host(host_name: str) -> Response:
    """``status`` enables or disables the host's compute service (as ``os-services``);
    ``maintenance_mode`` is not something the libvirt driver does (501, as Nova's), and is
    refused before any change."""
    _hosts_route("update")
    body = json_body()
    host = _compute_host(host_name)
    if "maintenance_mode" in body:
        raise NotSupported("The requested functionality is not supported.")
    enabled = body["status"].lower() == "enable"
    host = compute().hosts.set_status(host.name, enabled)
    return json_response({"host": host.name,
                          "status": "enabled" if host.enabled else "disabled"})


@bp.get("/os-hosts/<host_name>/reboot")
@bp.get("/os-hosts/<host_name>/shutdown")
@bp.get("/os-hosts/<host_name>/startup")
def host_power_action(host_name: str) -> Response:
    """Host power actions: the libvirt driver does not do them (501, as Nova's), after the
    policy and the host's existence are checked."""
    action = request.path.rsplit("/", 1)[1]
    _hosts_route("start" if action == "startup" else action)
    _compute_host(host_name)
    raise NotSupported("The requested functionality is not supported.")


# -- os-simple-tenant-usage -----------------------------------------------------------------------
def _window() -> Window:
    return Window.from_args(request.args.get("start"), request.args.get("end"))


def _usages(window: Window, project_id: str | None, collection: str, path: str
            ) -> tuple[list[dict], dict]:
    """The ``server_usage`` entries of the window (a page of them from 2.40) and the
    ``<collection>_links`` to add."""
    servers, links = Usage(compute().service.db).servers(window, project_id), {}
    if mv().at_least(40):
        servers, links = paged(servers, lambda i: i.id, collection, path)
    now = utcnow()
    return [server_usage(i, window, now) for i in servers], links


@bp.get("/os-simple-tenant-usage")
def list_tenant_usage() -> Response:
    """Every project's usage over ``start``..``end`` (default: now); ``detailed=1`` lists
    each project's servers."""
    authorize(USAGE % "list")
    window = _window()
    detailed = request.args.get("detailed", "0") == "1"
    servers, links = _usages(window, None, "tenant_usages", "/os-simple-tenant-usage")
    return json_response({"tenant_usages": tenant_usages(servers, window, detailed),
                          **links})


@bp.get("/os-simple-tenant-usage/<project_id>")
def show_tenant_usage(project_id: str) -> Response:
    """One project's usage with its servers (``{}`` when none ran in the window)."""
    authorize(USAGE % "show", {"project_id": project_id})
    window = _window()
    servers, links = _usages(window, project_id, "tenant_usage",
                             f"/os-simple-tenant-usage/{project_id}")
    found = tenant_usages(servers, window, detailed=True)
    return json_response({"tenant_usage": found[0] if found else {}, **links})


# -- os-instance_usage_audit_log ------------------------------------------------------------------
def _audit_hosts() -> list[str]:
    return [h.name for h in compute().hosts.list()]  # disabled ones too, as Nova


@bp.get("/os-instance_usage_audit_log")
def list_audit_logs() -> Response:
    authorize(AUDIT % "list")
    return json_response({"instance_usage_audit_logs": audit_log(_audit_hosts())})


@bp.get("/os-instance_usage_audit_log/<before>")
def show_audit_log(before: str) -> Response:
    """The audit of the period completed before ``before`` (``YYYY-MM-DD HH:MM:SS[.ffffff]``)."""
    authorize(AUDIT % "show")
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in before else "%Y-%m-%d %H:%M:%S"
    try:
        when = dt.datetime.strptime(before, fmt)
    except ValueError:
        raise BadRequest(f"Invalid timestamp for date {before[:255]}") from None
    return json_response({"instance_usage_audit_log": audit_log(_audit_hosts(), when)})


# -- server diagnostics ---------------------------------------------------------------------------
@bp.get("/servers/<server_id>/diagnostics")
def server_diagnostics(server_id: str) -> Response:
    """What the catalog knows of the guest (see :mod:`compute.diagnostics`): the 2.48
    standardized body, before it libvirt's own dictionary."""
    inst = server(server_id, "os_compute_api:os-server-diagnostics")
    if not mv().at_least(48):
        return json_response(diagnostics.legacy(inst))
    virt_type = current_service().conf.compute.virt_type
    return json_response(diagnostics.standard(inst, virt_type, utcnow()))
