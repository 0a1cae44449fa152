"""Nova v2.1 HTTP API (servers, flavors, actions): parse, validate, call the service, render."""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, Response, g, request

from compute import block_devices, quotas, states
from compute.cinder import VolumeClient
from compute.flavors import validate as validate_flavor
from compute.glance import ImageClient
from compute.hosts import BINARY, Hosts, hypervisor_view, service_view
from compute.microversion import MAX_VERSION, MIN_VERSION, Version, fmt, negotiate
from compute.models import Flavor, Instance
from compute.service import ComputeService, ServerRequest, attachment_view
from minicloud import services
from minicloud.config import Config
from minicloud.db import Database, new_uuid
from minicloud.errors import BadRequest, ConfigError, Forbidden, NotFound
from minicloud.wsgi import auth, current_service, json_body, json_response, public
from minicloud.wsgi import create_app as base_app

POLICY = {
    "context_is_admin": "role:admin",
    "os_compute_api:os-flavor-manage:create": "rule:context_is_admin",
    "os_compute_api:os-flavor-manage:delete": "rule:context_is_admin",
    "os_compute_api:os-flavor-extra-specs:create": "rule:context_is_admin",
    "os_compute_api:os-flavor-extra-specs:update": "rule:context_is_admin",
    "os_compute_api:os-flavor-extra-specs:delete": "rule:context_is_admin",
    "os_compute_api:servers:create:forced_host": "rule:context_is_admin",
    "os_compute_api:servers:index:get_all_tenants": "rule:context_is_admin",
    "os_compute_api:os-services:list": "rule:context_is_admin",
    "os_compute_api:os-services:update": "rule:context_is_admin",
    "os_compute_api:os-services:delete": "rule:context_is_admin",
    "os_compute_api:os-hypervisors:list": "rule:context_is_admin",
    "os_compute_api:os-aggregates:index": "rule:context_is_admin",
}


def _ts(value) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _enforce(rule: str) -> None:
    current_service().policy.enforce(rule, auth().credentials(), {})


def _links(kind: str, ident: str) -> list[dict]:
    base = request.host_url.rstrip("/")
    return [{"rel": "self", "href": f"{base}/v2.1/{kind}/{ident}"},
            {"rel": "bookmark", "href": f"{base}/{kind}/{ident}"}]


def flavor_view(flavor: Flavor, full: bool = True) -> dict:
    view = {"id": flavor.id, "name": flavor.name, "links": _links("flavors", flavor.id)}
    if full:
        view.update({
            "ram": flavor.ram, "disk": flavor.disk, "vcpus": flavor.vcpus, "swap": flavor.swap,
            "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral, "OS-FLV-DISABLED:disabled":
            flavor.disabled, "os-flavor-access:is_public": flavor.is_public,
            "rxtx_factor": flavor.rxtx_factor, "description": flavor.description,
            "extra_specs": {e.key: e.value for e in flavor.extra_specs}})
    return view


def server_view(inst: Instance, mv: Version, full: bool = True) -> dict:
    view = {"id": inst.id, "name": inst.name, "links": _links("servers", inst.id)}
    if not full:
        return view
    admin = auth().is_admin
    flavor = dict(inst.flavor)
    flavor_out = ({"vcpus": flavor["vcpus"], "ram": flavor["ram"], "disk": flavor["disk"],
                   "ephemeral": flavor["ephemeral"], "swap": flavor["swap"],
                   "original_name": flavor["name"], "extra_specs": flavor["extra_specs"]}
                  if mv.at_least(47) else
                  {"id": flavor["id"], "links": _links("flavors", flavor["id"])})
    image = {"id": inst.image_id, "links": _links("images", inst.image_id)} \
        if inst.image_id else ""
    host_id = hashlib.sha224(f"{inst.project_id}{inst.host}".encode()).hexdigest() \
        if inst.host else ""
    view.update({
        "status": states.api_status(inst.vm_state, inst.task_state),
        "tenant_id": inst.project_id, "user_id": inst.user_id,
        "metadata": inst.metadata_ or {}, "hostId": host_id, "image": image,
        "flavor": flavor_out, "created": _ts(inst.created_at), "updated": _ts(inst.updated_at),
        "addresses": {}, "accessIPv4": "", "accessIPv6": "", "OS-DCF:diskConfig": "MANUAL",
        "progress": 100 if inst.vm_state == states.ACTIVE else inst.progress,
        "OS-EXT-AZ:availability_zone": inst.availability_zone or "",
        "config_drive": "", "key_name": inst.key_name,
        "OS-SRV-USG:launched_at": inst.launched_at.isoformat() if inst.launched_at else None,
        "OS-SRV-USG:terminated_at": (inst.terminated_at.isoformat()
                                     if inst.terminated_at else None),
        "OS-EXT-STS:task_state": inst.task_state, "OS-EXT-STS:vm_state": inst.vm_state,
        "OS-EXT-STS:power_state": inst.power_state,
        "os-extended-volumes:volumes_attached": [
            {"id": b["volume_id"], "delete_on_termination": b.get("delete_on_termination", False)}
            for b in inst.block_devices],
        "security_groups": [{"name": "default"}], "locked": False, "locked_reason": None,
        "description": inst.description, "tags": [], "trusted_image_certificates": None,
        "pinned_availability_zone": None,
    })
    if admin:
        view.update({"OS-EXT-SRV-ATTR:host": inst.host,
                     "OS-EXT-SRV-ATTR:hypervisor_hostname": inst.host,
                     "OS-EXT-SRV-ATTR:instance_name": f"minicloud-{inst.id}",
                     "host_status": "UP" if inst.host else ""})
    if inst.vm_state == states.ERROR and inst.fault:
        view["fault"] = dict(inst.fault)
    return view


def _version_entry(base: str, vid: str, status: str, version: str, min_version: str) -> dict:
    return {"id": vid, "status": status, "version": version, "min_version": min_version,
            "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": f"{base}/{vid}/"}]}


def parse_metadata(value: object, field: str = "metadata") -> dict[str, str]:
    """Server metadata: string keys of 1 to 255 characters, string values of at most 255."""
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and 0 < len(k) <= 255 and isinstance(v, str) and len(v) <= 255
            for k, v in value.items()):
        raise BadRequest(f"Invalid input for field '{field}': string keys (1 to 255 "
                         "characters) and string values (at most 255).")
    return value


def parse_update(body: dict, mv: Version) -> dict[str, str | None]:
    """``PUT /servers/{id}``: ``name``, and ``description`` from 2.19."""
    server = body.get("server")
    if not isinstance(server, dict) or not server:
        raise BadRequest("Invalid input: 'server' is a required object with the fields to "
                         "change.")
    allowed = {"name", "description"} if mv.at_least(19) else {"name"}
    unknown = set(server) - allowed
    if unknown:
        raise BadRequest(f"Invalid input: cannot change {', '.join(sorted(unknown))} (only "
                         f"{', '.join(sorted(allowed))} at this microversion).")
    name = server.get("name", "")
    if "name" in server and (not isinstance(name, str) or not name.strip()
                             or len(name) > 255):
        raise BadRequest("Invalid input for field 'name': a string of 1 to 255 characters.")
    description = server.get("description")
    if description is not None and (not isinstance(description, str)
                                    or len(description) > 255):
        raise BadRequest("Invalid input for field 'description': at most 255 characters.")
    return dict(server)


def parse_server(body: dict) -> ServerRequest:
    server = body.get("server")
    if not isinstance(server, dict):
        raise BadRequest("Invalid input: 'server' is a required object.")
    name = server.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise BadRequest("Invalid input for field 'name': a string of 1 to 255 characters.")
    flavor_ref = server.get("flavorRef")
    if not isinstance(flavor_ref, (str, int)) or not str(flavor_ref):
        raise BadRequest("Invalid input for field 'flavorRef'.")
    image_ref = server.get("imageRef", "")
    if not isinstance(image_ref, str):
        raise BadRequest("Invalid input for field 'imageRef': a string is required.")
    metadata = parse_metadata(server.get("metadata") or {})
    boot = block_devices.parse(image_ref.rstrip("/").rsplit("/", 1)[-1],
                               server.get("block_device_mapping_v2") or [])
    networks = server.get("networks", "auto")
    if networks not in ("auto", "none") and not isinstance(networks, list):
        raise BadRequest("Invalid input for field 'networks'.")
    for key in ("min_count", "max_count"):
        if server.get(key, 1) not in (1, "1"):
            raise BadRequest(f"Invalid input for field '{key}': only 1 is supported.")
    zone = server.get("availability_zone")
    if zone is not None and not isinstance(zone, str):
        raise BadRequest("Invalid input for field 'availability_zone'.")
    return ServerRequest(
        name=name, flavor_ref=str(flavor_ref).rstrip("/").rsplit("/", 1)[-1],
        boot=boot, metadata=metadata, availability_zone=zone,
        description=server.get("description"), key_name=server.get("key_name"))


def create_app(conf: Config, db: Database | None = None) -> Flask:
    app = base_app("compute", conf, db, POLICY)
    image_url = services.by_name("image").base_url(conf)
    volume_url = services.by_name("volume").base_url(conf)
    svc = ComputeService(app.extensions["minicloud"].db,
                         lambda token: ImageClient(image_url, lambda: token),
                         lambda token: VolumeClient(volume_url, lambda: token),
                         quotas.Limits.from_conf(conf))
    instances_path = conf.path(conf.compute.instances_path)
    app.extensions["compute"] = svc

    @app.before_request
    def _microversion() -> None:
        g.mv = negotiate(request.headers)

    @app.after_request
    def _version_headers(resp: Response) -> Response:
        mv = getattr(g, "mv", Version(*MIN_VERSION))
        resp.headers["OpenStack-API-Version"] = f"compute {mv}"
        resp.headers["X-OpenStack-Nova-API-Version"] = str(mv)
        resp.headers["Vary"] = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
        return resp

    def base() -> str:
        return request.host_url.rstrip("/")

    @app.get("/")
    @public
    def versions() -> Response:
        return json_response({"versions": [
            _version_entry(base(), "v2.0", "SUPPORTED", "", ""),
            _version_entry(base(), "v2.1", "CURRENT", fmt(MAX_VERSION), fmt(MIN_VERSION))]})

    @app.get("/v2.1")
    @app.get("/v2.1/")
    @public
    def version() -> Response:
        return json_response({"version": _version_entry(
            base(), "v2.1", "CURRENT", fmt(MAX_VERSION), fmt(MIN_VERSION))})

    # -- hosts (admin): services, hypervisors, zones -----------------------------------------
    hosts = Hosts(app.extensions["minicloud"].db)

    @app.get("/v2.1/os-services")
    def list_services() -> Response:
        _enforce("os_compute_api:os-services:list")
        binary = request.args.get("binary")
        rows = [] if binary not in (None, BINARY) else hosts.list(request.args.get("host"))
        return json_response({"services": [service_view(h) for h in rows]})

    @app.put("/v2.1/os-services/<service_id>")
    def update_service(service_id: str) -> Response:
        _enforce("os_compute_api:os-services:update")
        if not g.mv.at_least(53):
            raise NotFound("Service updates by host and binary need microversion 2.53.")
        return json_response({"service": service_view(hosts.set_status(service_id,
                                                                       json_body()))})

    @app.delete("/v2.1/os-services/<service_id>")
    def delete_service(service_id: str) -> Response:
        _enforce("os_compute_api:os-services:delete")
        hosts.delete(service_id)
        return Response(status=204)

    @app.get("/v2.1/os-hypervisors")
    @app.get("/v2.1/os-hypervisors/detail")
    def list_hypervisors() -> Response:
        _enforce("os_compute_api:os-hypervisors:list")
        detail = request.path.endswith("/detail")
        pattern = request.args.get("hypervisor_hostname_pattern")
        rows = [h for h in hosts.list() if not pattern or pattern in h.name]
        return json_response({"hypervisors": [
            hypervisor_view(h, *hosts.usage(h.name), detail=detail) for h in rows]})

    @app.get("/v2.1/os-hypervisors/<hypervisor_id>")
    def show_hypervisor(hypervisor_id: str) -> Response:
        _enforce("os_compute_api:os-hypervisors:list")
        host = hosts.hypervisor(hypervisor_id)
        return json_response({"hypervisor": hypervisor_view(host, *hosts.usage(host.name),
                                                            detail=True)})

    @app.get("/v2.1/os-aggregates")
    def list_aggregates() -> Response:
        _enforce("os_compute_api:os-aggregates:index")
        return json_response({"aggregates": []})  # no host aggregates in minicloud

    @app.get("/v2.1/os-availability-zone")
    @app.get("/v2.1/os-availability-zone/detail")
    def list_zones() -> Response:
        zones = sorted({h.zone for h in hosts.list() if h.enabled} or {"nova"})
        return json_response({"availabilityZoneInfo": [
            {"zoneName": zone, "zoneState": {"available": True}, "hosts": None}
            for zone in zones]})

    # -- quotas and limits ---------------------------------------------------------------------
    def _project(project_id: str) -> str:
        if project_id != auth().project_id and not auth().is_admin:
            raise Forbidden("Only admins see other projects' quotas.")
        return project_id

    @app.get("/v2.1/os-quota-sets/<project_id>")
    @app.get("/v2.1/os-quota-sets/<project_id>/detail")
    def show_quotas(project_id: str) -> Response:
        project_id = _project(project_id)
        used = svc.usage(project_id) if request.path.endswith("/detail") else None
        return json_response({"quota_set": quotas.quota_set(project_id, svc.limits, used)})

    @app.get("/v2.1/os-quota-sets/<project_id>/defaults")
    def default_quotas(project_id: str) -> Response:
        return json_response({"quota_set": quotas.quota_set(project_id, svc.limits)})

    @app.get("/v2.1/limits")
    def show_limits() -> Response:
        used, limits = svc.usage(auth().project_id), svc.limits
        return json_response({"limits": {"rate": [], "absolute": {
            "maxTotalInstances": limits.instances, "maxTotalCores": limits.cores,
            "maxTotalRAMSize": limits.ram, "maxServerMeta": quotas.MAX_METADATA_ITEMS,
            "maxPersonality": 5, "maxPersonalitySize": 10240, "maxTotalKeypairs": 100,
            "maxServerGroups": 10, "maxServerGroupMembers": 10,
            "totalInstancesUsed": used["instances"], "totalCoresUsed": used["cores"],
            "totalRAMUsed": used["ram"], "totalServerGroupsUsed": 0}}})

    # -- flavors ---------------------------------------------------------------------------
    @app.get("/v2.1/flavors")
    @app.get("/v2.1/flavors/detail")
    def list_flavors() -> Response:
        full = request.path.endswith("/detail")
        rows = svc.list_flavors()
        flag = request.args.get("is_public", "true").lower()
        if not auth().is_admin or flag in ("true", "1", "yes"):
            rows = [f for f in rows if f.is_public]
        elif flag in ("false", "0", "no"):
            rows = [f for f in rows if not f.is_public]
        rows.sort(key=lambda f: (len(f.id), f.id))
        return json_response({"flavors": [flavor_view(f, full) for f in rows]})

    @app.get("/v2.1/flavors/<flavor_id>")
    def show_flavor(flavor_id: str) -> Response:
        return json_response({"flavor": flavor_view(svc.get_flavor(flavor_id))})

    @app.post("/v2.1/flavors")
    def create_flavor() -> Response:
        _enforce("os_compute_api:os-flavor-manage:create")
        body = json_body().get("flavor")
        if not isinstance(body, dict):
            raise BadRequest("Invalid input: 'flavor' is a required object.")
        entry = {"id": body.get("id") or new_uuid(), "name": body.get("name"),
                 "vcpus": body.get("vcpus"), "ram": body.get("ram"), "disk": body.get("disk"),
                 "ephemeral": body.get("OS-FLV-EXT-DATA:ephemeral", 0) or 0,
                 "swap": body.get("swap", 0) or 0,
                 "is_public": body.get("os-flavor-access:is_public", True)}
        if body.get("description") is not None:
            entry["description"] = body["description"]
        for key in ("vcpus", "ram", "disk", "ephemeral", "swap"):
            if isinstance(entry[key], str) and entry[key].isdigit():
                entry[key] = int(entry[key])
        try:
            spec = validate_flavor(entry, "flavor")
        except ConfigError as exc:
            raise BadRequest(exc.message.removeprefix("flavor: ")) from None
        return json_response({"flavor": flavor_view(svc.create_flavor(spec))})

    @app.delete("/v2.1/flavors/<flavor_id>")
    def delete_flavor(flavor_id: str) -> Response:
        _enforce("os_compute_api:os-flavor-manage:delete")
        svc.delete_flavor(flavor_id)
        return Response(status=202)

    @app.get("/v2.1/flavors/<flavor_id>/os-extra_specs")
    def list_extra_specs(flavor_id: str) -> Response:
        return json_response({"extra_specs": flavor_view(svc.get_flavor(flavor_id))[
            "extra_specs"]})

    @app.post("/v2.1/flavors/<flavor_id>/os-extra_specs")
    def add_extra_specs(flavor_id: str) -> Response:
        _enforce("os_compute_api:os-flavor-extra-specs:create")
        specs = json_body().get("extra_specs")
        if not isinstance(specs, dict) or not all(
                isinstance(k, str) and isinstance(v, (str, int, float)) for k, v in
                specs.items()):
            raise BadRequest("Invalid input: 'extra_specs' maps strings to strings.")
        result = svc.set_extra_specs(flavor_id, {k: str(v) for k, v in specs.items()})
        return json_response({"extra_specs": result})

    @app.get("/v2.1/flavors/<flavor_id>/os-extra_specs/<key>")
    def show_extra_spec(flavor_id: str, key: str) -> Response:
        specs = flavor_view(svc.get_flavor(flavor_id))["extra_specs"]
        if key not in specs:
            raise NotFound(f"Flavor {flavor_id} has no extra spec with key {key}.")
        return json_response({key: specs[key]})

    @app.delete("/v2.1/flavors/<flavor_id>/os-extra_specs/<key>")
    def delete_extra_spec(flavor_id: str, key: str) -> Response:
        _enforce("os_compute_api:os-flavor-extra-specs:delete")
        svc.delete_extra_spec(flavor_id, key)
        return Response(status=200)

    # -- servers ---------------------------------------------------------------------------
    @app.get("/v2.1/servers")
    @app.get("/v2.1/servers/detail")
    def list_servers() -> Response:
        flag = request.args.get("all_tenants", request.args.get("all_projects"))
        everyone = flag is not None and flag.lower() in ("", "1", "true", "yes")
        if everyone:
            _enforce("os_compute_api:servers:index:get_all_tenants")
        rows = svc.list_servers(auth(), everyone, request.args.get("name"),
                                request.args.get("status"))
        full = request.path.endswith("/detail")
        return json_response({"servers": [server_view(r, g.mv, full) for r in rows]})

    @app.get("/v2.1/servers/<server_id>")
    def show_server(server_id: str) -> Response:
        return json_response({"server": server_view(svc.get_server(auth(), server_id), g.mv)})

    @app.post("/v2.1/servers")
    def create_server() -> Response:
        req = parse_server(json_body())
        if req.availability_zone and ":" in req.availability_zone:
            _enforce("os_compute_api:servers:create:forced_host")
        inst = svc.create_server(auth(), req)
        body = {"id": inst.id, "links": _links("servers", inst.id),
                "OS-DCF:diskConfig": "MANUAL", "security_groups": [{"name": "default"}],
                "adminPass": ""}
        return json_response({"server": body}, 202,
                             {"Location": f"{base()}/v2.1/servers/{inst.id}"})

    @app.put("/v2.1/servers/<server_id>")
    def update_server(server_id: str) -> Response:
        inst = svc.update_server(auth(), server_id, **parse_update(json_body(), g.mv))
        return json_response({"server": server_view(inst, g.mv)})

    @app.get("/v2.1/servers/<server_id>/metadata")
    def show_metadata(server_id: str) -> Response:
        return json_response({"metadata": svc.get_server(auth(), server_id).metadata_ or {}})

    @app.post("/v2.1/servers/<server_id>/metadata")
    @app.put("/v2.1/servers/<server_id>/metadata")
    def set_metadata(server_id: str) -> Response:
        items = parse_metadata(json_body().get("metadata"))
        return json_response({"metadata": svc.set_metadata(
            auth(), server_id, items, replace=request.method == "PUT")})

    @app.get("/v2.1/servers/<server_id>/metadata/<key>")
    def show_metadata_item(server_id: str, key: str) -> Response:
        metadata = svc.get_server(auth(), server_id).metadata_ or {}
        if key not in metadata:
            raise NotFound(f"Metadata item was not found: {key}")
        return json_response({"meta": {key: metadata[key]}})

    @app.put("/v2.1/servers/<server_id>/metadata/<key>")
    def set_metadata_item(server_id: str, key: str) -> Response:
        meta = parse_metadata(json_body().get("meta"), "meta")
        if list(meta) != [key]:
            raise BadRequest("The request body must hold exactly the item of the URL's key.")
        svc.set_metadata(auth(), server_id, meta)
        return json_response({"meta": meta})

    @app.delete("/v2.1/servers/<server_id>/metadata/<key>")
    def delete_metadata_item(server_id: str, key: str) -> Response:
        svc.set_metadata(auth(), server_id, {}, remove=key)
        return Response(status=204)

    @app.delete("/v2.1/servers/<server_id>")
    def delete_server(server_id: str) -> Response:
        svc.delete_server(auth(), server_id)
        return Response(status=204)

    @app.post("/v2.1/servers/<server_id>/action")
    def server_action(server_id: str) -> Response:
        body = json_body()
        if len(body) != 1:
            raise BadRequest("An action body holds exactly one action.")
        name, params = next(iter(body.items()))
        ctx = auth()
        if name == "os-stop":
            svc.start_action(ctx, server_id, "stop")
        elif name == "os-start":
            svc.start_action(ctx, server_id, "start")
        elif name == "reboot":
            kind = (params or {}).get("type", "SOFT") if isinstance(params, dict) else None
            if kind not in ("SOFT", "HARD"):
                raise BadRequest("Invalid reboot type: SOFT or HARD.")
            svc.start_action(ctx, server_id, "reboot_soft" if kind == "SOFT" else "reboot_hard")
        elif name == "os-getConsoleOutput":
            return json_response({"output": _console(server_id, params)})
        elif name == "createImage":
            if not isinstance(params, dict) or not isinstance(params.get("name"), str) \
                    or not params["name"].strip():
                raise BadRequest("Invalid input for field 'name' of createImage.")
            meta = params.get("metadata") or {}
            if not isinstance(meta, dict):
                raise BadRequest("Invalid input for field 'metadata' of createImage.")
            image_id = svc.snapshot(ctx, server_id, params["name"],
                                    {str(k): str(v) for k, v in meta.items()})
            body = {"image_id": image_id} if g.mv.at_least(45) else None
            location = f"{services.by_name('image').base_url(conf)}/v2/images/{image_id}"
            resp = json_response(body, 202, {"Location": location}) if body else \
                Response(status=202, headers={"Location": location})
            return resp
        else:
            raise BadRequest(f"Unsupported server action: {name}.")
        return Response(status=202)

    # -- volume attachments ----------------------------------------------------------------
    @app.get("/v2.1/servers/<server_id>/os-volume_attachments")
    def list_volume_attachments(server_id: str) -> Response:
        inst = svc.get_server(auth(), server_id)
        return json_response({"volumeAttachments": [attachment_view(inst, b)
                                                    for b in inst.block_devices]})

    @app.get("/v2.1/servers/<server_id>/os-volume_attachments/<volume_id>")
    def show_volume_attachment(server_id: str, volume_id: str) -> Response:
        inst = svc.get_server(auth(), server_id)
        for bdm in inst.block_devices:
            if bdm["volume_id"] == volume_id:
                return json_response({"volumeAttachment": attachment_view(inst, bdm)})
        raise NotFound(f"Volume {volume_id} is not attached to server {inst.id}.")

    @app.post("/v2.1/servers/<server_id>/os-volume_attachments")
    def attach_volume(server_id: str) -> Response:
        body = json_body().get("volumeAttachment")
        if not isinstance(body, dict) or not isinstance(body.get("volumeId"), str):
            raise BadRequest("Invalid input: 'volumeAttachment' needs a 'volumeId' string.")
        view = svc.attach_volume(auth(), server_id, body["volumeId"])
        return json_response({"volumeAttachment": view})

    @app.delete("/v2.1/servers/<server_id>/os-volume_attachments/<volume_id>")
    def detach_volume(server_id: str, volume_id: str) -> Response:
        svc.detach_volume(auth(), server_id, volume_id)
        return Response(status=202)

    def _console(server_id: str, params: object) -> str:
        inst = svc.get_server(auth(), server_id)
        length = params.get("length") if isinstance(params, dict) else None
        if length is not None:
            try:
                length = int(length)
            except (TypeError, ValueError):
                raise BadRequest("Invalid input for field 'length': an integer.") from None
            if length < -1:
                raise BadRequest("Invalid input for field 'length': -1 or more.")
        log = Path(instances_path) / inst.id / "console.log"
        try:
            text = log.read_bytes()[-(1 << 20):].decode(errors="replace")
        except FileNotFoundError:
            text = ""
        lines = text.splitlines(keepends=True)
        if length is not None and length >= 0:
            lines = lines[-length:] if length else []
        return "".join(lines)

    return app
