"""Checks inside the catalog: unfinished tasks and placement claims."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from compute import scheduler
from compute.models import Allocation, ComputeTask
from minicloud.audit import catalog
from minicloud.audit.core import MISSING, ORPHAN, STALE, Finding
from minicloud.db import Database, utcnow
from minicloud.taskqueue import PENDING, RUNNING
from volumes.models import VolumeTask


@dataclass
class Tasks:
    """Tasks of every host's queues still pending or running after ``max_age`` seconds.

    Reported, never fixed: a task is the catalog's own record of work owed. The agent of its
    host finishes or fails it (an interrupted one at its next start, docs/architecture.md);
    a stale task usually means that agent is down."""

    db: Database
    max_age: float
    name: str = "task"

    def findings(self) -> list[Finding]:
        limit = utcnow() - dt.timedelta(seconds=self.max_age)
        found = []
        with self.db.session() as s:
            for model, subject, kind in ((ComputeTask, "instance_id", "compute"),
                                         (VolumeTask, "volume_id", "volume")):
                rows = s.scalars(select(model).where(model.state.in_((PENDING, RUNNING)),
                                                     model.updated_at < limit)
                                 .order_by(model.id))
                found += [Finding(self.name, STALE, f"{kind} task {t.id}",
                                  f"{t.action} of {getattr(t, subject)} on {t.host}: "
                                  f"{t.state} since {t.updated_at:%Y-%m-%d %H:%M:%S}")
                          for t in rows]
        return found


@dataclass
class Claims:
    """Placement claims (``allocations``) vs servers: a claim of a server deleted or unknown
    is an orphan; a server that has its guest without a claim is missing one."""

    db: Database
    name: str = "claim"

    def findings(self) -> list[Finding]:
        live = catalog.live_server_ids(self.db)
        with self.db.session() as s:
            claims = {a.instance_id: a.host for a in s.scalars(select(Allocation))}
        found = [Finding(self.name, ORPHAN, server_id, f"on {host}; server gone",
                         lambda i=server_id: self._release(i))
                 for server_id, host in sorted(claims.items()) if server_id not in live]
        hosts = self._hosts()
        for host in hosts:
            busy = catalog.busy(self.db, host)
            found += [Finding(self.name, MISSING, s.id, f"server is {s.vm_state} on {host}")
                      for s in catalog.servers(self.db, host).values()
                      if s.expects_guest and s.id not in claims and s.id not in busy]
        return found

    def _hosts(self) -> list[str]:
        from compute.models import Instance

        with self.db.session() as s:
            return sorted(h for h in s.scalars(select(Instance.host).distinct()) if h)

    def _release(self, server_id: str) -> None:
        if server_id in catalog.live_server_ids(self.db):  # asked again, now
            return
        with self.db.session() as s:
            scheduler.release(s, server_id)
