"""Per-project compute quotas (Nova's ``instances``, ``cores``, ``ram``), counted at create.

Usage is counted from the live instances of the project (their flavor snapshots), inside the
transaction that inserts the new instance: on SQLite every write transaction begins
IMMEDIATE (:mod:`minicloud.db`), so two creates cannot both take the last slot. Limits come
from ``[compute] quota_*`` (-1: unlimited); going over is Nova's 403 "Quota exceeded".
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from compute import states
from compute.models import Instance
from minicloud.config import Config
from minicloud.errors import Forbidden

#: Nova's fixed per-server limit on metadata items, reported with the quotas.
MAX_METADATA_ITEMS = 128
RESOURCES = ("instances", "cores", "ram")


@dataclass(frozen=True)
class Limits:
    instances: int  # -1: unlimited
    cores: int
    ram: int        # MiB

    @classmethod
    def from_conf(cls, conf: Config) -> Limits:
        c = conf.compute
        return cls(c.quota_instances, c.quota_cores, c.quota_ram)


def usage(s: Session, project_id: str) -> dict[str, int]:
    """What the project's live servers hold: instances, vCPUs, MiB of RAM."""
    flavors = list(s.scalars(select(Instance.flavor).where(
        Instance.project_id == project_id, Instance.vm_state != states.DELETED)))
    return {"instances": len(flavors), "cores": sum(f["vcpus"] for f in flavors),
            "ram": sum(f["ram"] for f in flavors)}


def check(s: Session, project_id: str, flavor: dict, limits: Limits) -> None:
    """Refuse one more server of ``flavor`` when it would exceed a limit (403)."""
    used = usage(s, project_id)
    wanted = {"instances": 1, "cores": flavor["vcpus"], "ram": flavor["ram"]}
    for name in RESOURCES:
        limit = getattr(limits, name)
        if limit >= 0 and used[name] + wanted[name] > limit:
            raise Forbidden(f"Quota exceeded for {name}: Requested {wanted[name]}, but "
                            f"already used {used[name]} of {limit} {name}")


def quota_set(project_id: str, limits: Limits, used: dict[str, int] | None = None) -> dict:
    """``os-quota-sets``: the limits, or with ``used`` each as limit / in_use / reserved."""
    values: dict[str, int] = {name: getattr(limits, name) for name in RESOURCES}
    values.update(metadata_items=MAX_METADATA_ITEMS, key_pairs=100, server_groups=10,
                  server_group_members=10)
    if used is None:
        return {"id": project_id, **values}
    return {"id": project_id, **{name: {"limit": limit, "in_use": used.get(name, 0),
                                        "reserved": 0} for name, limit in values.items()}}
