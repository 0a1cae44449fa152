"""Servers: list (filters, sorting, pages), show, create, update, delete, and their metadata."""
from __future__ import annotations

import binascii
import ipaddress

from flask import Blueprint, Response, request

from compute import block_devices, schema, server_query
from compute.create import ServerRequest
from compute.routes import (
    PREFIX,
    allowed,
    base_url,
    caller_target,
    compute,
    mv,
    paged,
    server,
    viewer,
)
from compute.views import server_created, server_detail, server_summary, server_updated
from minicloud.errors import BadRequest, NotFound
from minicloud.validation import to_bool
from minicloud.wsgi import auth, authorize, body_schema, json_body, json_response

bp = Blueprint("servers", __name__, url_prefix=PREFIX)
RULE = "os_compute_api:servers:%s"


@bp.get("/servers")
@bp.get("/servers/detail")
def list_servers() -> Response:
    """Nova's list: filters (``name`` a safe pattern), ``sort_key``/``sort_dir``, pages of
    ``limit`` after ``marker`` with a ``servers_links`` next link."""
    detail = request.path.endswith("/detail")
    kind = "detail" if detail else "index"
    authorize(RULE % kind)
    query = server_query.parse(request.args, mv().minor,
                               allowed(RULE % "allow_all_filters"))
    if query.all_projects:
        authorize(RULE % f"{kind}:get_all_tenants")
    rows = compute().service.list_servers(auth(), query.all_projects, query)
    page, links = paged(rows, lambda i: i.id, "servers",
                        "/servers/detail" if detail else "/servers")
    see = viewer(caller_target())
    if detail:
        return json_response({"servers": [server_detail(i, see, show=False) for i in page],
                              **links})
    return json_response({"servers": [server_summary(i, see) for i in page], **links})


@bp.get("/servers/<server_id>")
def show_server(server_id: str) -> Response:
    inst = server(server_id, RULE % "show")
    return json_response({"server": server_detail(inst, viewer(caller_target()))})


def _networks(value: object) -> None:
    if isinstance(value, list) and value:
        authorize(RULE % "create:attach_network")
        raise BadRequest("Requested networks are not available: this cloud has no "
                         "networking service (use \"auto\" or \"none\").")


def _security_groups(groups: list[dict]) -> list[str]:
    """The group names a create asks for (``default`` when none): without a networking
    service ``default`` is the only group there is."""
    names = []
    for group in groups:
        name = group.get("name")
        if name != "default":
            raise BadRequest(f"Unable to find security_group with name or id "
                             f"'{str(name)[:255]}'.")
        if name not in names:
            names.append(name)
    return names or ["default"]


def _counts(body: dict) -> tuple[int, int]:
    """``min_count`` and ``max_count`` (several servers: :mod:`compute.multi_create`);
    ``max_count`` defaults to ``min_count``, as Nova's."""
    low = int(body.get("min_count", 1))
    high = int(body.get("max_count", low))
    if low > high:
        raise BadRequest(f"min_count {low} must be less than or equal to max_count {high}.")
    return low, high


def _server_request(body: dict) -> ServerRequest:
    """A create body that passed the schema, checked against what this cloud offers."""
    groups = _security_groups(body.get("security_groups") or [])
    _networks(body.get("networks"))
    low, high = _counts(body)
    if "hostname" in body and high > 1:
        raise BadRequest("Cannot set the hostname of several servers created together "
                         "(max_count > 1).")
    if "user_data" in body:
        try:
            binascii.a2b_base64(body["user_data"].encode())
        except binascii.Error:
            raise BadRequest("Invalid input for field/attribute user_data. Value: "
                             "(omitted). It is not valid base64.") from None
    bdms = body.get("block_device_mapping_v2") or []
    if bdms:
        authorize(RULE % "create:attach_volume")
    boot = block_devices.parse(body.get("imageRef", ""), bdms)
    host = body.get("host") or body.get("hypervisor_hostname")
    if host is not None:
        authorize(RULE % "create:requested_destination")
        if body.get("host") and body.get("hypervisor_hostname") not in (None, body["host"]):
            raise BadRequest("Compute host and hypervisor hostname must name the same host.")
    zone = body.get("availability_zone")
    if zone and ":" in zone:
        authorize(RULE % "create:forced_host")
    return ServerRequest(
        name=body["name"], flavor_ref=str(body["flavorRef"]).rstrip("/").rsplit("/", 1)[-1],
        boot=boot, metadata=body.get("metadata") or {}, availability_zone=zone,
        description=body.get("description"), host=host,
        access_ip_v4=_address(body.get("accessIPv4")),
        access_ip_v6=_address(body.get("accessIPv6")), tags=body.get("tags") or [],
        min_count=low, max_count=high, key_name=body.get("key_name"),
        user_data=body.get("user_data"), config_drive=to_bool(body.get("config_drive", False)),
        hostname=body.get("hostname"), security_groups=groups,
        trusted_certs=body.get("trusted_image_certificates"))


@bp.post("/servers")
@body_schema(schema.CREATE_SERVER, max_minor=18)
@body_schema(schema.CREATE_SERVER_V219, min_minor=19, max_minor=36)
@body_schema(schema.CREATE_SERVER_V237, min_minor=37, max_minor=51)
@body_schema(schema.CREATE_SERVER_V252, min_minor=52, max_minor=62)
@body_schema(schema.CREATE_SERVER_V263, min_minor=63, max_minor=73)
@body_schema(schema.CREATE_SERVER_V274, min_minor=74, max_minor=89)
@body_schema(schema.CREATE_SERVER_V290, min_minor=90, max_minor=93)
@body_schema(schema.CREATE_SERVER_V294, min_minor=94)
def create_server() -> Response:
    """One server, or several (``min_count``/``max_count``): the body then names the first,
    or only the shared reservation id when ``return_reservation_id`` is true."""
    authorize(RULE % "create")
    server_body = json_body()["server"]
    req = _server_request(server_body)
    hints = json_body().get("os:scheduler_hints") or json_body().get(
        "OS-SCH-HNT:scheduler_hints") or {}
    req.group = hints.get("group")
    for name in ("same_host", "different_host"):
        value = hints.get(name) or ()
        setattr(req, name, (value,) if isinstance(value, str) else tuple(value))
    insts = compute().service.create_servers(auth(), req)
    inst = insts[0]
    if to_bool(server_body.get("return_reservation_id", False)):
        return json_response({"reservation_id": inst.reservation_id}, 202)
    body = server_created(inst, viewer(caller_target()))
    return json_response({"server": body}, 202,
                         {"Location": f"{base_url()}{PREFIX}/servers/{inst.id}"})


def _address(value: str | None) -> str | None:
    """An access IP as Nova keeps it: normalized (``::babe:dc0c:1602``), empty as None."""
    return ipaddress.ip_address(value).compressed if value else None


#: The fields ``PUT /servers/{id}`` changes, by their names in the body.
UPDATABLE = {"name": "name", "description": "description", "accessIPv4": "access_ip_v4",
             "accessIPv6": "access_ip_v6", "hostname": "hostname"}


@bp.put("/servers/<server_id>")
@body_schema(schema.UPDATE_SERVER, max_minor=18)
@body_schema(schema.UPDATE_SERVER_V219, min_minor=19, max_minor=89)
@body_schema(schema.UPDATE_SERVER_V290, min_minor=90, max_minor=93)
@body_schema(schema.UPDATE_SERVER_V294, min_minor=94)
def update_server(server_id: str) -> Response:
    server(server_id, RULE % "update")
    changes = {UPDATABLE[k]: _address(v) if k.startswith("accessIP") else v
               for k, v in json_body()["server"].items() if k in UPDATABLE}
    inst = compute().service.update_server(auth(), server_id, **changes)
    return json_response({"server": server_updated(inst, viewer(caller_target()))})


@bp.delete("/servers/<server_id>")
def delete_server(server_id: str) -> Response:
    server(server_id, RULE % "delete")
    compute().service.delete_server(auth(), server_id)
    return Response(status=204)


# -- metadata -------------------------------------------------------------------------------------
META = "os_compute_api:server-metadata:%s"


@bp.get("/servers/<server_id>/metadata")
def show_metadata(server_id: str) -> Response:
    inst = server(server_id, META % "index")
    return json_response({"metadata": dict(inst.metadata_ or {})})


@bp.post("/servers/<server_id>/metadata")
@body_schema(schema.SET_METADATA)
def add_metadata(server_id: str) -> Response:
    server(server_id, META % "create")
    return json_response({"metadata": compute().service.set_metadata(
        auth(), server_id, json_body()["metadata"])})


@bp.put("/servers/<server_id>/metadata")
@body_schema(schema.SET_METADATA)
def replace_metadata(server_id: str) -> Response:
    server(server_id, META % "update_all")
    return json_response({"metadata": compute().service.set_metadata(
        auth(), server_id, json_body()["metadata"], replace=True)})


@bp.get("/servers/<server_id>/metadata/<key>")
def show_metadata_item(server_id: str, key: str) -> Response:
    metadata = server(server_id, META % "show").metadata_ or {}
    if key not in metadata:
        raise NotFound("Metadata item was not found")
    return json_response({"meta": {key: metadata[key]}})


@bp.put("/servers/<server_id>/metadata/<key>")
@body_schema(schema.SET_METADATA_ITEM)
def set_metadata_item(server_id: str, key: str) -> Response:
    server(server_id, META % "update")
    meta = json_body()["meta"]
    if list(meta) != [key]:
        raise BadRequest("Request body and URI mismatch")
    compute().service.set_metadata(auth(), server_id, meta)
    return json_response({"meta": meta})


@bp.delete("/servers/<server_id>/metadata/<key>")
def delete_metadata_item(server_id: str, key: str) -> Response:
    server(server_id, META % "delete")
    compute().service.set_metadata(auth(), server_id, {}, remove=key)
    return Response(status=204)
