"""Placement: pick a host with room and claim the flavor's resources there, atomically.

The claim runs inside the caller's transaction; on SQLite every write transaction begins
IMMEDIATE (see :mod:`minicloud.db`), and elsewhere the host rows are locked FOR UPDATE, so
two concurrent claims can never both take the last slot, nor both break a server group's
rule: the members' hosts are read in the same transaction.

The choice, in order: the enabled hosts that are up (of the requested zone, or the forced
host); those with room for the flavor; those a hard server-group rule allows (``affinity``:
the host of the group's servers once it has any; ``anti-affinity``: a host running fewer
than ``max_server_per_host`` of them) and the ``same_host``/``different_host`` hints allow;
those whose local image store holds the image when they require it (edge sites);
then the best by weight: a soft rule first (most
members for ``soft-affinity``, fewest for ``soft-anti-affinity``), then the most free RAM
(spreading). No host left: :class:`NoValidHost` with each host's reason.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from compute import server_groups, states
from compute.models import Allocation, ComputeHost, Instance
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


def group_refusal(group: server_groups.Group | None, members: Counter[str],
                  host: str) -> str | None:
    """Why a hard rule of ``group`` keeps the server off ``host`` (``members``: how many of
    the group's servers each host runs), or None."""
    if group is None:
        return None
    if group.policy == server_groups.AFFINITY and members and host not in members:
        return (f"server group {group.id} is affinity and its servers run on "
                f"{', '.join(sorted(members))}")
    if group.policy == server_groups.ANTI_AFFINITY and members[host] >= group.max_per_host:
        return (f"server group {group.id} is anti-affinity and {members[host]} of its "
                f"servers already run here (at most {group.max_per_host} per host)")
    return None


@dataclass(frozen=True)
class HostHints:
    """The ``same_host``/``different_host`` scheduler hints: servers (of ``project_id``;
    None: of any project) whose hosts the new server must share, or avoid."""

    same_host: tuple[str, ...] = ()
    different_host: tuple[str, ...] = ()
    project_id: str | None = None

    def hosts(self, session: Session, ids: tuple[str, ...]) -> set[str]:
        """The hosts the named live servers run on."""
        if not ids:
            return set()
        query = select(Instance.host).where(Instance.id.in_(ids), Instance.host.is_not(None),
                                            Instance.vm_state != states.DELETED)
        if self.project_id is not None:
            query = query.where(Instance.project_id == self.project_id)
        return set(session.scalars(query))


def hint_refusal(hints: HostHints | None, same: set[str], apart: set[str], host: str
                 ) -> str | None:
    """Why the host hints keep the server off ``host`` (``same``/``apart``: the hosts of the
    servers they name), or None."""
    if hints is None:
        return None
    if hints.same_host and host not in same:
        return f"same_host: it runs none of {', '.join(hints.same_host)}"
    if host in apart:
        return "different_host: it runs one of " + ", ".join(hints.different_host)
    return None


def group_weight(group: server_groups.Group | None, members: Counter[str], host: str) -> int:
    """How much a soft rule of ``group`` wants ``host`` (higher is better)."""
    if group is None:
        return 0
    if group.policy == server_groups.SOFT_AFFINITY:
        return members[host]
    if group.policy == server_groups.SOFT_ANTI_AFFINITY:
        return -members[host]
    return 0


def store_refusal(host: ComputeHost, image_stores: frozenset[str] | None) -> str | None:
    """A host that requires its images locally (``[compute] require_local_image``) refuses
    an image its store does not hold yet (``image_stores``: the image's ``stores``; None
    when the server does not boot from an image)."""
    if image_stores is None or not host.image_store_required or not host.image_store:
        return None
    if host.image_store in image_stores:
        return None
    return (f"the image is not in its image store {host.image_store} (copy it there first: "
            "copy-image)")


def claim(session: Session, instance_id: str, flavor: dict, forced_host: str | None = None,
          zone: str | None = None, group: server_groups.Group | None = None,
          hints: HostHints | None = None, image_stores: frozenset[str] | None = None) -> str:
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
    members = (server_groups.member_hosts(session, group.id, instance_id) if group
               else Counter())
    same = hints.hosts(session, hints.same_host) if hints else set()
    apart = hints.hosts(session, hints.different_host) if hints else set()
    vcpus, ram = flavor["vcpus"], flavor["ram"]
    disk = flavor["disk"] + flavor.get("ephemeral", 0)
    best, best_key, reasons = None, None, []
    for host in hosts:
        in_use = used(session, host.name)
        reason = (fits(host, in_use, vcpus, ram, disk)
                  or group_refusal(group, members, host.name)
                  or hint_refusal(hints, same, apart, host.name)
                  or store_refusal(host, image_stores))
        if reason:
            reasons.append(f"{host.name}: {reason}")
            continue
        key = (group_weight(group, members, host.name), host.memory_mib - in_use[1])
        if best_key is None or key > best_key:
            best, best_key = host, key
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
