"""The compute hosts as operators see them: Nova's ``os-services`` and ``os-hypervisors``.

Each compute agent registers its host (``compute_hosts``) and reports a heartbeat every
``[compute] periodic_interval``; a host is ``up`` while its last heartbeat is younger than
:data:`compute.scheduler.HOST_DEAD_AFTER`. Disabling the service of a host (``openstack
compute service set --disable HOST nova-compute``) keeps the scheduler away from it; what runs
there keeps running. Service and hypervisor ids are UUIDs derived from the host name, so they
are stable across agent restarts without being stored.
"""
from __future__ import annotations

import uuid

from sqlalchemy import func, select

from compute import scheduler, states
from compute.models import ComputeHost, Instance
from minicloud.db import Database, utcnow
from minicloud.errors import BadRequest, Conflict, NotFound

BINARY = "nova-compute"
_SERVICE_NS = uuid.UUID("6d696e69-636c-6f75-6400-736572766963")     # "minicloud" "servic"
_HYPERVISOR_NS = uuid.UUID("6d696e69-636c-6f75-6400-687970657276")  # "minicloud" "hyperv"


def service_id(host: str) -> str:
    return str(uuid.uuid5(_SERVICE_NS, host))


def hypervisor_id(host: str) -> str:
    return str(uuid.uuid5(_HYPERVISOR_NS, host))


def _ts(value) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000000") if value else None


def is_up(host: ComputeHost) -> bool:
    return host.heartbeat_at >= utcnow() - scheduler.HOST_DEAD_AFTER


def service_view(host: ComputeHost) -> dict:
    return {"id": service_id(host.name), "binary": BINARY, "host": host.name,
            "zone": host.zone, "status": "enabled" if host.enabled else "disabled",
            "state": "up" if is_up(host) else "down", "updated_at": _ts(host.heartbeat_at),
            "disabled_reason": host.disabled_reason, "forced_down": False}


def hypervisor_view(host: ComputeHost, used: tuple[int, int, int], running: int,
                    detail: bool) -> dict:
    view = {"id": hypervisor_id(host.name), "hypervisor_hostname": host.name,
            "state": "up" if is_up(host) else "down",
            "status": "enabled" if host.enabled else "disabled"}
    if detail:
        view.update({
            "hypervisor_type": "QEMU", "hypervisor_version": 0, "host_ip": "127.0.0.1",
            "service": {"host": host.name, "id": service_id(host.name),
                        "disabled_reason": host.disabled_reason},
            # Resource figures (dropped from Nova's API at 2.88, kept here for labs):
            # what placement counts on this host.
            "vcpus": int(host.vcpus * host.cpu_allocation_ratio), "vcpus_used": used[0],
            "memory_mb": host.memory_mib, "memory_mb_used": used[1],
            "local_gb": host.disk_gb, "local_gb_used": used[2], "running_vms": running,
            "uptime": None})
    return view


class Hosts:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list(self, host: str | None = None) -> list[ComputeHost]:
        with self.db.session() as s:
            query = select(ComputeHost).order_by(ComputeHost.name)
            if host:
                query = query.where(ComputeHost.name == host)
            return list(s.scalars(query))

    def _by(self, ident: str, id_of) -> ComputeHost:
        for host in self.list():
            if ident in (id_of(host.name), host.name):
                return host
        raise NotFound(f"Compute host {ident} could not be found.")

    def service(self, ident: str) -> ComputeHost:
        return self._by(ident, service_id)

    def hypervisor(self, ident: str) -> ComputeHost:
        return self._by(ident, hypervisor_id)

    def usage(self, name: str) -> tuple[tuple[int, int, int], int]:
        """What placement holds on the host (vCPUs, MiB, GB) and how many servers live there."""
        with self.db.session() as s:
            running = s.scalar(select(func.count()).select_from(Instance).where(
                Instance.host == name, Instance.vm_state != states.DELETED))
            return scheduler.used(s, name), int(running or 0)

    def delete(self, ident: str) -> None:
        """Forget a host (``openstack compute service delete``): refused while servers live
        there; an agent still running registers it again at its next start."""
        host = self.service(ident)
        with self.db.session() as s:
            if s.scalar(select(func.count()).select_from(Instance).where(
                    Instance.host == host.name, Instance.vm_state != states.DELETED)):
                raise Conflict(f"Unable to delete compute service that is hosting "
                               f"instances: {host.name}")
            s.delete(s.get(ComputeHost, host.name))

    def set_status(self, ident: str, body: dict) -> ComputeHost:
        """``PUT /os-services/{id}`` (2.53+): ``status`` enabled|disabled, an optional
        ``disabled_reason`` (only with disabled); ``forced_down`` is not supported."""
        status, reason = body.get("status"), body.get("disabled_reason")
        if "forced_down" in body:
            raise BadRequest("forced_down is not supported: a host is down when its agent "
                             "stops reporting.")
        if status not in ("enabled", "disabled"):
            raise BadRequest("Invalid input for field 'status': 'enabled' or 'disabled' is "
                             "required.")
        if reason is not None and (status != "disabled" or not isinstance(reason, str)
                                   or len(reason) > 255):
            raise BadRequest("disabled_reason is a string of at most 255 characters, given "
                             "only with status 'disabled'.")
        host = self.service(ident)
        with self.db.session() as s:
            row = s.get(ComputeHost, host.name)
            row.enabled = status == "enabled"
            row.disabled_reason = reason if status == "disabled" else None
        return self.service(ident)
