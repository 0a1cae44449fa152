"""Placement: pick a host with room and claim the flavor's resources there, atomically.

The claim runs inside the caller's transaction; on SQLite every write transaction begins
IMMEDIATE (see :mod:`minicloud.db`), and elsewhere the host rows are locked FOR UPDATE, so
two concurrent claims can never both take the last slot.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from compute.models import Allocation, ComputeHost
from minicloud.db import utcnow
from minicloud.errors import MinicloudError

#: An agent that has not reported for this long is not scheduled to.
HOST_DEAD_AFTER = dt.timedelta(seconds=120)


class NoValidHost(MinicloudError):
    status, kind, title = 500, "computeFault", "No valid host"

    def __init__(self, reason: str) -> None:
        super().__init__(f"No valid host was found. {reason}".strip())


def used(session: Session, host: str) -> tuple[int, int, int]:
    row = session.execute(
        select(func.coalesce(func.sum(Allocation.vcpus), 0),
               func.coalesce(func.sum(Allocation.memory_mib), 0),
               func.coalesce(func.sum(Allocation.disk_gb), 0))
        .where(Allocation.host == host)).one()
    return int(row[0]), int(row[1]), int(row[2])


def fits(host: ComputeHost, used: tuple[int, int, int], vcpus: int, ram: int,
         disk: int) -> str | None:
    """Why ``host`` cannot take the request, or None when it can."""
    if used[0] + vcpus > host.vcpus * host.cpu_allocation_ratio:
        return "not enough vCPUs"
    if used[1] + ram > host.memory_mib:
        return "not enough RAM"
    if used[2] + disk > host.disk_gb:
        return "not enough disk"
    return None


def claim(session: Session, instance_id: str, flavor: dict, forced_host: str | None = None,
          zone: str | None = None) -> str:
    """Claim ``flavor``'s resources for the instance on a host; return the host's name."""
    query = select(ComputeHost).where(ComputeHost.enabled).order_by(ComputeHost.name)
    if session.bind.dialect.name != "sqlite":
        query = query.with_for_update()
    hosts = list(session.scalars(query))
    alive_since = utcnow() - HOST_DEAD_AFTER
    if forced_host:
        hosts = [h for h in hosts if h.name == forced_host]
        if not hosts:
            raise NoValidHost(f"Host {forced_host} is unknown or disabled.")
    if zone:
        hosts = [h for h in hosts if h.zone == zone]
    hosts = [h for h in hosts if h.heartbeat_at >= alive_since]
    vcpus, ram = flavor["vcpus"], flavor["ram"]
    disk = flavor["disk"] + flavor.get("ephemeral", 0)
    best, best_free, reasons = None, -1, []
    for host in hosts:
        in_use = used(session, host.name)
        reason = fits(host, in_use, vcpus, ram, disk)
        if reason:
            reasons.append(f"{host.name}: {reason}")
            continue
        free = host.memory_mib - in_use[1]
        if free > best_free:  # spread: the host with the most free RAM
            best, best_free = host, free
    if best is None:
        detail = "; ".join(reasons) if reasons else "No compute host is up."
        raise NoValidHost(detail)
    session.add(Allocation(instance_id=instance_id, host=best.name, vcpus=vcpus,
                           memory_mib=ram, disk_gb=disk))
    return best.name


def release(session: Session, instance_id: str) -> None:
    alloc = session.get(Allocation, instance_id)
    if alloc is not None:
        session.delete(alloc)
