"""Usage as Nova's admin APIs report it, computed from the catalog.

- ``os-simple-tenant-usage``: each project's servers over a time window, charged from
  ``launched_at`` (or the window's start) to ``terminated_at`` (or the window's end), in
  hours, times the flavor's vCPUs, MiB and GB; the servers that count are those launched
  before the window ends and not terminated before it starts (deleted ones included, as
  Nova's ``get_active_by_window``).
- ``os-hosts`` show: a host's capacity, what placement holds on it, and what its servers'
  flavors add up to, in all and per project.
- ``os-instance_usage_audit_log``: the audit period Nova's ``instance_usage_audit`` would
  cover. minicloud runs no such periodic audit (it is off by default in Nova too), so the
  log is Nova's answer with no task records: every compute host "not run".
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select

from compute import states
from compute.models import ComputeHost, Instance
from minicloud.db import Database, utcnow
from minicloud.errors import BadRequest

#: The forms Nova accepts for ``start`` / ``end``.
TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


def _stamp(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value else None


def parse_time(raw: str | None, now: dt.datetime) -> dt.datetime:
    """A ``start``/``end`` query value (naive UTC); absent or empty: ``now``."""
    if not raw:
        return now
    for fmt in TIME_FORMATS:
        try:
            return dt.datetime.strptime(raw, fmt)
        except ValueError:
            continue
    raise BadRequest("Invalid datetime string: Datetime is in invalid format")


@dataclass(frozen=True)
class Window:
    """The period a usage report covers (its end is never after now)."""

    start: dt.datetime
    stop: dt.datetime

    @classmethod
    def from_args(cls, start: str | None, end: str | None,
                  now: dt.datetime | None = None) -> Window:
        now = now or utcnow()
        begin, stop = parse_time(start, now), parse_time(end, now)
        # Both absent is an empty window at now (Nova reads the clock twice: no error).
        if begin > stop or (begin == stop and (start or end)):
            raise BadRequest("Invalid start time. The start time cannot occur after the "
                             "end time.")
        return cls(begin, min(stop, now))

    def hours(self, inst: Instance) -> float:
        """The hours of the window ``inst`` ran in (0 if it never launched)."""
        if inst.launched_at is None or inst.launched_at > self.stop or (
                inst.terminated_at is not None and inst.terminated_at < self.start):
            return 0.0
        begin = max(inst.launched_at, self.start)
        end = min(self.stop, inst.terminated_at) if inst.terminated_at else self.stop
        return (end - begin).total_seconds() / 3600.0


def server_usage(inst: Instance, window: Window, now: dt.datetime) -> dict:
    """One entry of ``server_usages``."""
    flavor = inst.flavor or {}
    ended = inst.terminated_at
    uptime = (ended or now) - inst.launched_at
    return {"instance_id": inst.id, "name": inst.name, "tenant_id": inst.project_id,
            "hours": window.hours(inst), "flavor": flavor.get("name", ""),
            "memory_mb": flavor.get("ram", 0), "vcpus": flavor.get("vcpus", 0),
            "local_gb": flavor.get("disk", 0) + flavor.get("ephemeral", 0),
            "started_at": _stamp(inst.launched_at), "ended_at": _stamp(ended),
            "state": "terminated" if ended else inst.vm_state,
            "uptime": int(uptime.total_seconds())}


def tenant_usages(servers: list[dict], window: Window, detailed: bool) -> list[dict]:
    """Per-project totals of ``servers`` (``server_usage`` entries), in their order; each
    with its ``server_usages`` when ``detailed``."""
    out: dict[str, dict] = {}
    for info in servers:
        summary = out.get(info["tenant_id"])
        if summary is None:
            summary = out[info["tenant_id"]] = {
                "tenant_id": info["tenant_id"], "total_local_gb_usage": 0.0,
                "total_vcpus_usage": 0.0, "total_memory_mb_usage": 0.0, "total_hours": 0.0,
                "start": _stamp(window.start), "stop": _stamp(window.stop)}
            if detailed:
                summary["server_usages"] = []
        hours = info["hours"]
        summary["total_local_gb_usage"] += info["local_gb"] * hours
        summary["total_vcpus_usage"] += info["vcpus"] * hours
        summary["total_memory_mb_usage"] += info["memory_mb"] * hours
        summary["total_hours"] += hours
        if detailed:
            summary["server_usages"].append(info)
    return list(out.values())


def audit_period(before: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The last monthly audit period completed before ``before`` (default now): Nova's
    ``last_completed_audit_period`` with its default ``instance_usage_audit_period``."""
    now = before or utcnow()
    end = dt.datetime(now.year, now.month, 1)
    if end >= now:
        end = _month_before(end)
    return _month_before(end), end


def _month_before(day: dt.datetime) -> dt.datetime:
    if day.month == 1:
        return day.replace(year=day.year - 1, month=12)
    return day.replace(month=day.month - 1)


def audit_log(hosts: list[str], before: dt.datetime | None = None) -> dict:
    """The usage audit log of ``hosts`` (every compute host, disabled ones too) for the
    period before ``before``: no host has run the audit."""
    begin, end = audit_period(before)
    done = "ALL" if not hosts else f"0 of {len(hosts)}"
    return {"period_beginning": str(begin), "period_ending": str(end),
            "num_hosts": len(hosts), "num_hosts_done": 0, "num_hosts_running": 0,
            "num_hosts_not_run": len(hosts), "hosts_not_run": sorted(hosts),
            "total_instances": 0, "total_errors": 0,
            "overall_status": f"{done} hosts done. 0 errors.", "log": {}}


def _resource(host: str, project: str, cpu: int, memory_mb: int, disk_gb: int) -> dict:
    return {"resource": {"host": host, "project": project, "cpu": cpu,
                         "memory_mb": memory_mb, "disk_gb": disk_gb}}


def host_resources(host: ComputeHost, used: tuple[int, int, int],
                   flavors: list[tuple[str, dict]]) -> list[dict]:
    """``os-hosts/{host}``: ``(total)`` (the host's capacity), ``(used_now)`` (what
    placement holds: ``used`` vCPUs, MiB, GB), ``(used_max)`` (the sum of its servers'
    flavors) and one row per project of those servers (``flavors``: project, flavor)."""
    def disk(f: dict) -> int:
        return f.get("disk", 0) + f.get("ephemeral", 0)

    rows = [_resource(host.name, "(total)", host.vcpus, host.memory_mib, host.disk_gb),
            _resource(host.name, "(used_now)", *used),
            _resource(host.name, "(used_max)", sum(f["vcpus"] for _, f in flavors),
                      sum(f["ram"] for _, f in flavors), sum(disk(f) for _, f in flavors))]
    for project in sorted({p for p, _ in flavors}):
        mine = [f for p, f in flavors if p == project]
        rows.append(_resource(host.name, project, sum(f["vcpus"] for f in mine),
                              sum(f["ram"] for f in mine), sum(disk(f) for f in mine)))
    return rows


class Usage:
    """The catalog queries behind the usage APIs (each one transaction, detached rows)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def servers(self, window: Window, project_id: str | None = None) -> list[Instance]:
        """The servers that ran during ``window`` (of one project, or all), ordered by
        project then id (the order pages follow)."""
        with self.db.session() as s:
            query = select(Instance).where(
                Instance.launched_at.is_not(None), Instance.launched_at < window.stop,
                or_(Instance.terminated_at.is_(None), Instance.terminated_at > window.start)
            ).order_by(Instance.project_id, Instance.id)
            if project_id is not None:
                query = query.where(Instance.project_id == project_id)
            return list(s.scalars(query))

    def host_flavors(self, host: str) -> list[tuple[str, dict]]:
        """(project, flavor snapshot) of each live server on ``host``."""
        with self.db.session() as s:
            return [(p, f) for p, f in s.execute(
                select(Instance.project_id, Instance.flavor).where(
                    Instance.host == host, Instance.vm_state != states.DELETED)
                .order_by(Instance.created_at))]
