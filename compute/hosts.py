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
from dataclasses import dataclass

from sqlalchemy import func, select

from compute import aggregates, scheduler, states
from compute.models import ComputeHost, Instance
from minicloud.db import Database, utcnow
from minicloud.errors import Conflict, NotFound

BINARY = "nova-compute"
_SERVICE_NS = uuid.UUID("6d696e69-636c-6f75-6400-736572766963")     # "minicloud" "servic"
_HYPERVISOR_NS = uuid.UUID("6d696e69-636c-6f75-6400-687970657276")  # "minicloud" "hyperv"


def service_id(host: str) -> str:
    return str(uuid.uuid5(_SERVICE_NS, host))


def hypervisor_id(host: str) -> str:
    return str(uuid.uuid5(_HYPERVISOR_NS, host))


def legacy_id(uuid_id: str) -> int:
    """The integer id Nova shows before 2.53, derived from the UUID (stable, positive)."""
    return uuid.UUID(uuid_id).int % (2 ** 31 - 1) + 1


def ids(host: str, minor: int) -> tuple[str | int, str | int]:
    """(hypervisor id, service id) as a client at 2.``minor`` sees them: UUIDs from 2.53,
    integers before."""
    if minor >= 53:
        return hypervisor_id(host), service_id(host)
    return legacy_id(hypervisor_id(host)), legacy_id(service_id(host))


@dataclass(frozen=True)
class HostUsage:
    """What placement holds on a host, and the servers living there."""

    vcpus: int
    memory_mib: int
    disk_gb: int
    servers: tuple[tuple[str, str], ...]  # (uuid, name)


def is_up(host: ComputeHost) -> bool:
    return host.heartbeat_at >= utcnow() - scheduler.HOST_DEAD_AFTER


def host_status(host: ComputeHost | None) -> str:
    """A server's ``host_status`` (Nova's): UP, DOWN, MAINTENANCE (disabled) or UNKNOWN."""
    if host is None:
        return "UNKNOWN"
    if not host.enabled:
        return "MAINTENANCE"
    return "UP" if is_up(host) else "DOWN"


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
            own = id_of(host.name)
            if ident in (own, host.name, str(legacy_id(own))):
                return host
        raise NotFound(f"Compute host {ident} could not be found.")

    def service(self, ident: str) -> ComputeHost:
        return self._by(ident, service_id)

    def hypervisor(self, ident: str) -> ComputeHost:
        return self._by(ident, hypervisor_id)

    def usage(self, name: str) -> HostUsage:
        """What placement holds on the host (vCPUs, MiB, GB) and the servers living there."""
        with self.db.session() as s:
            servers = s.execute(select(Instance.id, Instance.name).where(
                Instance.host == name, Instance.vm_state != states.DELETED)
                .order_by(Instance.created_at)).all()
            vcpus, ram, disk = scheduler.used(s, name)
        return HostUsage(vcpus, ram, disk, tuple((i, n) for i, n in servers))

    def delete(self, ident: str) -> None:
        """Forget a host (``openstack compute service delete``): refused while servers live
        there; an agent still running registers it again at its next start."""
        host = self.service(ident)
        with self.db.session() as s:
            if s.scalar(select(func.count()).select_from(Instance).where(
                    Instance.host == host.name, Instance.vm_state != states.DELETED)):
                raise Conflict(f"Unable to delete compute service that is hosting "
                               f"instances: {host.name}")
            aggregates.forget_host(s, host.name)
            s.delete(s.get(ComputeHost, host.name))

    def set_status(self, ident: str, enabled: bool, reason: str | None = None) -> ComputeHost:
        """Enable or disable the host's service (``disabled_reason`` only when disabled)."""
        host = self.service(ident)
        with self.db.session() as s:
            row = s.get(ComputeHost, host.name)
            row.enabled = enabled
            row.disabled_reason = None if enabled else reason
        return self.service(ident)
