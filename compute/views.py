"""Representations of the compute API, each shaped by the negotiated microversion.

A field appears from the microversion that introduced it and disappears at the one that
removed it: the ``*_SINCE`` and ``*_UNTIL`` tables below are that history, as data (checked
against Tempest 47's response schemas, ``tempest/lib/api_schema/response/compute``).
Fields that depend on the caller rather than the version (the admin-only
``OS-EXT-SRV-ATTR:*``, ``host_status``, a flavor's extra specs) are decided by the route's
policy checks and handed in through :class:`Viewer`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from compute import states
from compute.aggregates import AggregateRecord
from compute.hosts import HostUsage
from compute.keypairs import KeyRecord
from compute.models import ComputeHost, Flavor, Instance, InstanceAction, InstanceActionEvent
from compute.server_groups import Group
from minicloud.microversion import Version, shape

# -- servers -----------------------------------------------------------------------------------
SERVER_SINCE: Mapping[str, int] = {
    "OS-EXT-SRV-ATTR:hostname": 3, "OS-EXT-SRV-ATTR:reservation_id": 3,
    "OS-EXT-SRV-ATTR:launch_index": 3, "OS-EXT-SRV-ATTR:kernel_id": 3,
    "OS-EXT-SRV-ATTR:ramdisk_id": 3, "OS-EXT-SRV-ATTR:root_device_name": 3,
    "OS-EXT-SRV-ATTR:user_data": 3,
    "locked": 9, "host_status": 16, "description": 19, "tags": 26,
    "trusted_image_certificates": 63, "server_groups": 71, "locked_reason": 73,
    "pinned_availability_zone": 96,
}
#: What ``PUT /servers/{id}`` returns before 2.75 (from 2.75: the same body as a show).
UPDATE_FIELDS = frozenset({
    "id", "name", "status", "image", "flavor", "fault", "user_id", "tenant_id", "created",
    "updated", "progress", "metadata", "links", "addresses", "hostId", "OS-DCF:diskConfig",
    "accessIPv4", "accessIPv6", "locked", "description", "tags",
    "trusted_image_certificates", "server_groups", "locked_reason"})
#: The statuses whose servers report ``progress`` (Nova's list).
PROGRESS_STATUSES = frozenset({"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE",
                               "MIGRATING"})
#: ``OS-EXT-SRV-ATTR:hostname`` is shown to everyone from 2.90.
HOSTNAME_PUBLIC_SINCE = 90


@dataclass(frozen=True)
class Viewer:
    """Who is looking, at which version, and what the policies let them see."""

    mv: Version
    base_url: str                      # scheme://host:port, no trailing slash
    extended_attributes: bool = False  # os-extended-server-attributes
    flavor_extra_specs: bool = False   # servers:show:flavor-extra-specs / extra-specs:index
    host_status: Callable[[str | None], str] | None = None  # servers:show:host_status
    server_groups: Callable[[str], list[str]] | None = None  # a server's groups (2.71+)

    def links(self, kind: str, ident: str) -> list[dict]:
        return [{"rel": "self", "href": f"{self.base_url}/v2.1/{kind}/{ident}"},
                {"rel": "bookmark", "href": f"{self.base_url}/{kind}/{ident}"}]

    def bookmark(self, kind: str, ident: str) -> list[dict]:
        return [{"rel": "bookmark", "href": f"{self.base_url}/{kind}/{ident}"}]


def timestamp(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def usage_timestamp(value: dt.datetime | None) -> str | None:
    """``OS-SRV-USG:*`` and hosts' ``updated_at``: Nova's microsecond form, no zone."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value else None


def server_summary(inst: Instance, viewer: Viewer) -> dict:
    """A server in ``GET /servers``: id, name, links."""
    return {"id": inst.id, "name": inst.name, "links": viewer.links("servers", inst.id)}


def _flavor(inst: Instance, viewer: Viewer) -> dict:
    flavor = dict(inst.flavor)
    if not viewer.mv.at_least(47):
        return {"id": flavor["id"], "links": viewer.bookmark("flavors", flavor["id"])}
    out = {"vcpus": flavor["vcpus"], "ram": flavor["ram"], "disk": flavor["disk"],
           "ephemeral": flavor["ephemeral"], "swap": flavor["swap"],
           "original_name": flavor["name"]}
    if viewer.flavor_extra_specs:
        out["extra_specs"] = dict(flavor.get("extra_specs") or {})
    return out


def _volumes_attached(inst: Instance, viewer: Viewer) -> list[dict]:
    out = []
    for bdm in inst.block_devices:
        item = {"id": bdm["volume_id"]}
        if viewer.mv.at_least(3):
            item["delete_on_termination"] = bool(bdm.get("delete_on_termination", False))
        out.append(item)
    return out


def _extended(inst: Instance) -> dict:
    """The admin-only ``OS-EXT-SRV-ATTR:*`` attributes (the 2.3 ones are shaped later)."""
    meta = inst.image_meta or {}
    return {"OS-EXT-SRV-ATTR:host": inst.host,
            "OS-EXT-SRV-ATTR:hypervisor_hostname": inst.host,
            "OS-EXT-SRV-ATTR:instance_name": f"minicloud-{inst.id}",
            "OS-EXT-SRV-ATTR:reservation_id": reservation_id(inst),
            "OS-EXT-SRV-ATTR:launch_index": inst.launch_index or 0,
            "OS-EXT-SRV-ATTR:hostname": inst.guest_hostname,
            "OS-EXT-SRV-ATTR:kernel_id": meta.get("kernel_id", ""),
            "OS-EXT-SRV-ATTR:ramdisk_id": meta.get("ramdisk_id", ""),
            "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
            "OS-EXT-SRV-ATTR:user_data": inst.user_data}


def reservation_id(inst: Instance) -> str:
    """The server's reservation id (servers made before they were kept: one of its own)."""
    return inst.reservation_id or f"r-{inst.id[:8]}"


def host_id(project_id: str | None, host: str | None) -> str:
    """Nova's ``hostId``: the host hashed with the project (the same host looks different
    to each project); empty without a host."""
    return hashlib.sha224(f"{project_id}{host}".encode()).hexdigest() if host else ""


def _full(inst: Instance, viewer: Viewer) -> dict:
    status = states.api_status(inst.vm_state, inst.task_state)
    body = {
        "id": inst.id, "name": inst.name, "status": status,
        "tenant_id": inst.project_id, "user_id": inst.user_id,
        "metadata": dict(inst.metadata_ or {}), "hostId": host_id(inst.project_id, inst.host),
        "image": ({"id": inst.image_id, "links": viewer.bookmark("images", inst.image_id)}
                  if inst.image_id else ""),
        "flavor": _flavor(inst, viewer),
        "created": timestamp(inst.created_at), "updated": timestamp(inst.updated_at),
        "addresses": {}, "accessIPv4": inst.access_ip_v4 or "",
        "accessIPv6": inst.access_ip_v6 or "", "links":
        viewer.links("servers", inst.id), "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": inst.availability_zone or "",
        "config_drive": "True" if inst.config_drive else "", "key_name": inst.key_name,
        "OS-SRV-USG:launched_at": usage_timestamp(inst.launched_at),
        "OS-SRV-USG:terminated_at": usage_timestamp(inst.terminated_at),
        "OS-EXT-STS:task_state": inst.task_state, "OS-EXT-STS:vm_state": inst.vm_state,
        "OS-EXT-STS:power_state": inst.power_state,
        "os-extended-volumes:volumes_attached": _volumes_attached(inst, viewer),
        "locked": inst.locked_by is not None, "locked_reason": inst.locked_reason,
        "description": inst.description, "tags": [t.tag for t in inst.tags],
        "trusted_image_certificates": inst.trusted_certs, "server_groups": [],
        "pinned_availability_zone": None,
    }
    if inst.group_names:  # Nova leaves the key out when the server is in no group
        body["security_groups"] = [{"name": n} for n in inst.group_names]
    if status in PROGRESS_STATUSES:
        body["progress"] = 100 if inst.vm_state == states.ACTIVE else inst.progress or 0
    if inst.vm_state in (states.ERROR, states.DELETED) and inst.fault:
        body["fault"] = dict(inst.fault)
    if viewer.extended_attributes:
        body.update(_extended(inst))
    elif viewer.mv.at_least(HOSTNAME_PUBLIC_SINCE):
        body["OS-EXT-SRV-ATTR:hostname"] = inst.guest_hostname
    if viewer.host_status is not None:
        body["host_status"] = viewer.host_status(inst.host)
    return body


def server_detail(inst: Instance, viewer: Viewer, show: bool = True) -> dict:
    """A server as ``GET /servers/{id}`` (``show``) or one of ``GET /servers/detail``
    shows it (the list never carries ``server_groups``)."""
    body = shape(_full(inst, viewer), viewer.mv, SERVER_SINCE)
    if not show:
        body.pop("server_groups", None)
    elif "server_groups" in body and viewer.server_groups is not None:
        body["server_groups"] = viewer.server_groups(inst.id)
    return body


def server_updated(inst: Instance, viewer: Viewer) -> dict:
    """The body of ``PUT /servers/{id}``: a few fields before 2.75, a full show after."""
    body = server_detail(inst, viewer)
    if viewer.mv.at_least(75):
        return body
    return {k: v for k, v in body.items() if k in UPDATE_FIELDS}


#: What a rebuild adds to the short body before 2.75 (from 2.75: a full show).
REBUILD_SINCE: Mapping[str, int] = {"key_name": 54, "user_data": 57}


def server_rebuilt(inst: Instance, viewer: Viewer, admin_pass: str = "") -> dict:
    """The body of a ``rebuild`` action: the update's short body (with ``key_name`` from
    2.54 and ``user_data`` from 2.57) before 2.75, a full show after (``user_data`` in
    place of ``OS-EXT-SRV-ATTR:user_data``); always ``adminPass`` (Nova's
    ``enable_instance_password`` default)."""
    full = server_detail(inst, viewer)
    full.pop("OS-EXT-SRV-ATTR:user_data", None)
    extra = shape({"key_name": inst.key_name, "user_data": inst.user_data}, viewer.mv,
                  REBUILD_SINCE)
    body = full if viewer.mv.at_least(75) else {
        k: v for k, v in full.items() if k in UPDATE_FIELDS}
    return {**body, **extra, "adminPass": admin_pass}


def server_created(inst: Instance, viewer: Viewer, admin_pass: str = "") -> dict:
    return {"id": inst.id, "links": viewer.links("servers", inst.id),
            "OS-DCF:diskConfig": "MANUAL",
            "security_groups": [{"name": n} for n in inst.group_names],
            "adminPass": admin_pass}


# -- instance actions ------------------------------------------------------------------------
ACTION_SINCE: Mapping[str, int] = {"updated_at": 58}
EVENT_SINCE: Mapping[str, int] = {"hostId": 62, "host": 62, "details": 84}


@dataclass(frozen=True)
class EventAccess:
    """What the instance-action policies let the caller see of events."""

    events: bool = False   # os-instance-actions:events: every field, traceback and host
    details: bool = False  # os-instance-actions:events:details: ``details`` (2.84+)


def action_view(action: InstanceAction, mv: Version) -> dict:
    """An ``instanceAction`` without its events (as listed)."""
    body = {"action": action.action, "instance_uuid": action.instance_id,
            "request_id": action.request_id, "user_id": action.user_id,
            "project_id": action.project_id, "start_time": usage_timestamp(action.start_time),
            "message": action.message, "updated_at": usage_timestamp(action.updated_at)}
    return shape(body, mv, ACTION_SINCE)


def event_view(event: InstanceActionEvent, project_id: str | None, mv: Version,
               access: EventAccess) -> dict:
    """An event of an action: before 2.51 only those with ``access.events`` see events at
    all (the route decides); ``traceback`` and ``host`` need it, ``details`` needs
    ``access.details``; ``hostId`` (2.62) everyone sees."""
    body = {"event": event.event, "start_time": usage_timestamp(event.start_time),
            "finish_time": usage_timestamp(event.finish_time), "result": event.result,
            "hostId": host_id(project_id, event.host)}
    if access.events:
        body["traceback"] = event.traceback
        body["host"] = event.host or ""
    if access.details:
        body["details"] = event.details
    return shape(body, mv, EVENT_SINCE)


# -- flavors -----------------------------------------------------------------------------------
FLAVOR_SINCE: Mapping[str, int] = {"description": 55, "extra_specs": 61}


def flavor_view(flavor: Flavor, viewer: Viewer, full: bool = True) -> dict:
    """A flavor (``full``: as shown, else as in ``GET /flavors``). ``swap`` is ``""`` when
    there is none before 2.75, as Nova's."""
    body: dict = {"id": flavor.id, "name": flavor.name,
                  "links": viewer.links("flavors", flavor.id),
                  "description": flavor.description}
    if full:
        swap: int | str = flavor.swap if flavor.swap or viewer.mv.at_least(75) else ""
        body.update({
            "ram": flavor.ram, "disk": flavor.disk, "vcpus": flavor.vcpus, "swap": swap,
            "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral,
            "OS-FLV-DISABLED:disabled": flavor.disabled,
            "os-flavor-access:is_public": flavor.is_public,
            "rxtx_factor": flavor.rxtx_factor})
        if viewer.flavor_extra_specs:
            body["extra_specs"] = extra_specs(flavor)
    return shape(body, viewer.mv, FLAVOR_SINCE)


def extra_specs(flavor: Flavor) -> dict[str, str]:
    return {e.key: e.value for e in flavor.extra_specs}


# -- volume attachments --------------------------------------------------------------------
ATTACHMENT_SINCE: Mapping[str, int] = {"tag": 70, "delete_on_termination": 79,
                                       "attachment_id": 89, "bdm_uuid": 89}
ATTACHMENT_UNTIL: Mapping[str, int] = {"id": 89}


def attachment_view(server_id: str, bdm: dict, mv: Version, created: bool = False) -> dict:
    """A ``volumeAttachment``; the body of the attach (``created``) keeps ``id`` and never
    carries ``attachment_id``/``bdm_uuid``, as Nova's."""
    body = {"id": bdm["volume_id"], "serverId": server_id, "volumeId": bdm["volume_id"],
            "device": bdm.get("device"), "tag": bdm.get("tag"),
            "delete_on_termination": bool(bdm.get("delete_on_termination", False)),
            "attachment_id": bdm.get("attachment_id"), "bdm_uuid": bdm.get("attachment_id")}
    if created:
        body.pop("attachment_id")
        body.pop("bdm_uuid")
        return shape(body, mv, ATTACHMENT_SINCE)
    return shape(body, mv, ATTACHMENT_SINCE, ATTACHMENT_UNTIL)


# -- hosts -----------------------------------------------------------------------------------
SERVICE_SINCE: Mapping[str, int] = {"forced_down": 11}
HYPERVISOR_RESOURCES = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
                        "local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload",
                        "running_vms", "disk_available_least", "cpu_info")
#: Resource figures were dropped at 2.88 (``uptime`` arrived instead).
HYPERVISOR_UNTIL: Mapping[str, int] = {name: 88 for name in HYPERVISOR_RESOURCES}
HYPERVISOR_SINCE: Mapping[str, int] = {"uptime": 88}


def service_view(host: ComputeHost, up: bool, mv: Version, service_id: str | int) -> dict:
    body = {"id": service_id, "binary": "nova-compute", "host": host.name,
            "zone": host.zone, "status": "enabled" if host.enabled else "disabled",
            "state": "up" if up else "down", "updated_at": usage_timestamp(host.heartbeat_at),
            "disabled_reason": host.disabled_reason, "forced_down": False}
    return shape(body, mv, SERVICE_SINCE)


def hypervisor_view(host: ComputeHost, up: bool, usage: HostUsage, mv: Version,
                    ids: tuple[str | int, str | int], detail: bool,
                    with_servers: bool = False) -> dict:
    """A hypervisor (``ids``: its own id and its service's id)."""
    body: dict = {"id": ids[0], "hypervisor_hostname": host.name,
                  "state": "up" if up else "down",
                  "status": "enabled" if host.enabled else "disabled"}
    if detail:
        vcpus = int(host.vcpus * host.cpu_allocation_ratio)
        cpu_info = {"arch": "x86_64", "model": "qemu64", "vendor": "QEMU",
                    "topology": {"sockets": 1, "cores": host.vcpus, "threads": 1}}
        body.update({
            "hypervisor_type": "QEMU", "hypervisor_version": 0, "host_ip": "127.0.0.1",
            "service": {"host": host.name, "id": ids[1],
                        "disabled_reason": host.disabled_reason},
            "vcpus": vcpus, "vcpus_used": usage.vcpus, "memory_mb": host.memory_mib,
            "memory_mb_used": usage.memory_mib, "local_gb": host.disk_gb,
            "local_gb_used": usage.disk_gb, "free_ram_mb": host.memory_mib - usage.memory_mib,
            "free_disk_gb": host.disk_gb - usage.disk_gb, "current_workload": 0,
            "running_vms": len(usage.servers), "disk_available_least": None,
            "cpu_info": cpu_info if mv.at_least(28) else json.dumps(cpu_info),
            "uptime": host.uptime if up else None})  # a down host's is unknown (Nova)
        body = shape(body, mv, HYPERVISOR_SINCE, HYPERVISOR_UNTIL)
    if with_servers and (usage.servers or mv.at_least(75)):
        body["servers"] = [{"uuid": uuid, "name": name} for uuid, name in usage.servers]
    return body


def zone_view(name: str, hosts: list[ComputeHost] | None, up: Callable[[ComputeHost], bool],
              available: bool = True) -> dict:
    """An availability zone; with ``hosts`` (the detail view) each host's nova-compute."""
    detail = None
    if hosts is not None:
        detail = {h.name: {"nova-compute": {"available": h.enabled and up(h),
                                            "active": h.enabled,
                                            "updated_at": usage_timestamp(h.heartbeat_at)}}
                  for h in hosts}
    return {"zoneName": name, "zoneState": {"available": available}, "hosts": detail}


# -- quotas and limits ---------------------------------------------------------------------
QUOTA_UNTIL: Mapping[str, int] = {
    "floating_ips": 36, "fixed_ips": 36, "security_groups": 36, "security_group_rules": 36,
    "injected_files": 57, "injected_file_content_bytes": 57, "injected_file_path_bytes": 57}
LIMITS_UNTIL: Mapping[str, int] = {
    "maxSecurityGroups": 36, "maxSecurityGroupRules": 36, "maxTotalFloatingIps": 36,
    "totalFloatingIpsUsed": 36, "totalSecurityGroupsUsed": 36, "maxImageMeta": 39,
    "maxPersonality": 57, "maxPersonalitySize": 57}


def quota_set_view(values: Mapping[str, int], mv: Version, project_id: str | None = None,
                   used: Mapping[str, int] | None = None) -> dict:
    """A ``quota_set``: the limits (with ``id`` unless it answers an update) or, with
    ``used``, each as limit / in_use / reserved."""
    body: dict = {name: ({"limit": limit, "in_use": used.get(name, 0), "reserved": 0}
                         if used is not None else limit) for name, limit in values.items()}
    body = shape(body, mv, {}, QUOTA_UNTIL)
    return {"id": project_id, **body} if project_id is not None else body


#: Quota classes: the server group quotas appear at 2.50, when the network ones go; the file
#: ones go at 2.57 (Nova's ``os-quota-class-sets``).
QUOTA_CLASS_SINCE: Mapping[str, int] = {"server_groups": 50, "server_group_members": 50}
QUOTA_CLASS_UNTIL: Mapping[str, int] = {
    "floating_ips": 50, "fixed_ips": 50, "security_groups": 50, "security_group_rules": 50,
    "injected_files": 57, "injected_file_content_bytes": 57, "injected_file_path_bytes": 57}


def quota_class_view(values: Mapping[str, int], mv: Version, class_name: str | None = None
                     ) -> dict:
    """A ``quota_class_set`` (with ``id`` unless it answers an update)."""
    body = shape(dict(values), mv, QUOTA_CLASS_SINCE, QUOTA_CLASS_UNTIL)
    return {"id": class_name, **body} if class_name is not None else body


def limits_view(values: Mapping[str, int], used: Mapping[str, int], mv: Version) -> dict:
    absolute = {
        "maxTotalInstances": values["instances"], "maxTotalCores": values["cores"],
        "maxTotalRAMSize": values["ram"], "maxServerMeta": values["metadata_items"],
        "maxPersonality": values["injected_files"],
        "maxPersonalitySize": values["injected_file_content_bytes"],
        "maxImageMeta": values["metadata_items"], "maxTotalKeypairs": values["key_pairs"],
        "maxServerGroups": values["server_groups"],
        "maxServerGroupMembers": values["server_group_members"],
        "maxSecurityGroups": values["security_groups"],
        "maxSecurityGroupRules": values["security_group_rules"],
        "maxTotalFloatingIps": values["floating_ips"],
        "totalInstancesUsed": used["instances"], "totalCoresUsed": used["cores"],
        "totalRAMUsed": used["ram"], "totalServerGroupsUsed": used.get("server_groups", 0),
        "totalFloatingIpsUsed": 0, "totalSecurityGroupsUsed": 1}
    return {"limits": {"rate": [], "absolute": shape(absolute, mv, {}, LIMITS_UNTIL)}}


# -- server groups ---------------------------------------------------------------------------
SERVER_GROUP_SINCE: Mapping[str, int] = {"project_id": 13, "user_id": 13, "policy": 64,
                                         "rules": 64}
#: 2.64 replaced the ``policies`` list (and the always-empty ``metadata``) by ``policy``.
SERVER_GROUP_UNTIL: Mapping[str, int] = {"policies": 64, "metadata": 64}


def server_group_view(group: Group, mv: Version) -> dict:
    body = {"id": group.id, "name": group.name, "policies": [group.policy],
            "members": list(group.members), "metadata": {}, "project_id": group.project_id,
            "user_id": group.user_id, "policy": group.policy, "rules": dict(group.rules)}
    return shape(body, mv, SERVER_GROUP_SINCE, SERVER_GROUP_UNTIL)


# -- aggregates ------------------------------------------------------------------------------
AGGREGATE_SINCE: Mapping[str, int] = {"uuid": 41}


def aggregate_view(agg: AggregateRecord, mv: Version, created: bool = False) -> dict:
    """An aggregate; the body of its create has neither ``hosts`` nor ``metadata``, as
    Nova's."""
    body = {"id": agg.id, "uuid": agg.uuid, "name": agg.name,
            "availability_zone": agg.availability_zone,
            "created_at": usage_timestamp(agg.created_at),
            "updated_at": usage_timestamp(agg.updated_at), "deleted": False,
            "deleted_at": None}
    if not created:
        body.update(hosts=list(agg.hosts), metadata=dict(agg.metadata))
    return shape(body, mv, AGGREGATE_SINCE)
# -- keypairs --------------------------------------------------------------------------------
KEYPAIR_SINCE: Mapping[str, int] = {"type": 2}


def keypair_view(key: KeyRecord, mv: Version, kind: str = "show",
                 private_key: str | None = None) -> dict:
    """A keypair as ``kind`` shows it: ``list`` (name, key, fingerprint), ``create`` (with
    its user and, when generated, the private key) or ``show`` (the stored record, with
    Nova's soft-delete fields); ``type`` from 2.2."""
    body: dict = {"name": key.name, "public_key": key.public_key,
                  "fingerprint": key.fingerprint, "type": key.type}
    if kind == "create":
        body["user_id"] = key.user_id
        if private_key is not None:
            body["private_key"] = private_key
    elif kind == "show":
        body.update({"user_id": key.user_id, "deleted": False,
                     "created_at": usage_timestamp(key.created_at), "updated_at": None,
                     "deleted_at": None, "id": key.id})
    return shape(body, mv, KEYPAIR_SINCE)
