"""Per-project compute quotas (Nova's ``instances``, ``cores``, ``ram``...), counted at create.

Usage is counted from the live instances of the project (their flavor snapshots), inside the
transaction that inserts the new instance: on SQLite every write transaction begins
IMMEDIATE (:mod:`minicloud.db`), so two creates cannot both take the last slot. The default
limits come from ``[compute] quota_*`` (-1: unlimited) and Nova's fixed defaults for the
rest, each replaced by the ``default`` quota class's value where an admin set one (``PUT
/os-quota-class-sets/default``, rows of ``compute_quota_classes``: Nova's quota classes, of
which only ``default`` is used); an admin sets a project's own limits with ``PUT
/os-quota-sets/{project_id}`` (rows of ``compute_quotas``) and resets them with ``DELETE``.
Going over is Nova's 403 "Quota exceeded".
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from compute import states
from compute.models import Instance, ProjectQuota, QuotaClassLimit, ServerGroup
from minicloud.config import Config
from minicloud.errors import BadRequest, Forbidden

#: Nova's fixed per-server limit on metadata items, reported with the quotas.
MAX_METADATA_ITEMS = 128
RESOURCES = ("instances", "cores", "ram")
#: Nova's defaults of the other quotas (``server_groups`` and ``server_group_members`` are
#: counted where groups are made and joined: :mod:`compute.server_groups`).
FIXED_DEFAULTS: Mapping[str, int] = {
    "metadata_items": MAX_METADATA_ITEMS, "key_pairs": 100, "server_groups": 10,
    "server_group_members": 10, "injected_files": 5, "injected_file_content_bytes": 10240,
    "injected_file_path_bytes": 255, "floating_ips": 10, "fixed_ips": -1,
    "security_groups": 10, "security_group_rules": 20}


@dataclass(frozen=True)
class Limits:
    """The default limits of the counted resources."""

    instances: int  # -1: unlimited
    cores: int
    ram: int        # MiB

    @classmethod
    def from_conf(cls, conf: Config) -> Limits:
        c = conf.compute
        return cls(c.quota_instances, c.quota_cores, c.quota_ram)

    def defaults(self) -> dict[str, int]:
        """Every quota resource with its default limit."""
        return {"instances": self.instances, "cores": self.cores, "ram": self.ram,
                **FIXED_DEFAULTS}


def check_metadata(metadata: Mapping[str, str]) -> None:
    """A server's metadata fits ``metadata_items`` (Nova: 403 beyond, at create or update)."""
    if len(metadata) > MAX_METADATA_ITEMS:
        raise Forbidden(f"Quota exceeded for metadata_items: at most {MAX_METADATA_ITEMS} "
                        "per server.")


def usage(s: Session, project_id: str) -> dict[str, int]:
    """What the project holds: its live servers (instances, vCPUs, MiB of RAM) and its
    server groups."""
    flavors = list(s.scalars(select(Instance.flavor).where(
        Instance.project_id == project_id, Instance.vm_state != states.DELETED)))
    groups = s.scalar(select(func.count()).select_from(ServerGroup)
                      .where(ServerGroup.project_id == project_id)) or 0
    return {"instances": len(flavors), "cores": sum(f["vcpus"] for f in flavors),
            "ram": sum(f["ram"] for f in flavors), "server_groups": groups}


#: The quota class whose limits are every project's defaults.
DEFAULT_CLASS = "default"


def class_limits(s: Session, class_name: str, limits: Limits) -> dict[str, int]:
    """A quota class's limits: its own rows over the configured defaults."""
    values = limits.defaults()
    for row in s.scalars(select(QuotaClassLimit).where(
            QuotaClassLimit.class_name == class_name)):
        if row.resource in values:
            values[row.resource] = row.hard_limit
    return values


def update_class(s: Session, class_name: str, values: Mapping[str, int], limits: Limits
                 ) -> dict[str, int]:
    """Set a quota class's limits (for ``default``: every project's defaults); returns the
    class's limits after the change."""
    for name, value in values.items():
        row = s.get(QuotaClassLimit, (class_name, name))
        if row is None:
            s.add(QuotaClassLimit(class_name=class_name, resource=name, hard_limit=value))
        else:
            row.hard_limit = value
    s.flush()
    return class_limits(s, class_name, limits)


def project_limits(s: Session, project_id: str, limits: Limits) -> dict[str, int]:
    """The project's limits: its own where an admin set them, else the defaults (the
    ``default`` class's)."""
    values = class_limits(s, DEFAULT_CLASS, limits)
    for row in s.scalars(select(ProjectQuota).where(ProjectQuota.project_id == project_id)):
        if row.resource in values:
            values[row.resource] = row.hard_limit
    return values


def check(s: Session, project_id: str, flavor: dict, limits: Limits) -> None:
    """Refuse one more server of ``flavor`` when it would exceed a limit (403)."""
    used = usage(s, project_id)
    allowed = project_limits(s, project_id, limits)
    wanted = {"instances": 1, "cores": flavor["vcpus"], "ram": flavor["ram"]}
    for name in RESOURCES:
        limit = allowed[name]
        if limit >= 0 and used[name] + wanted[name] > limit:
            raise Forbidden(f"Quota exceeded for {name}: Requested {wanted[name]}, but "
                            f"already used {used[name]} of {limit} {name}")


def update(s: Session, project_id: str, values: Mapping[str, int], limits: Limits,
           force: bool = False) -> dict[str, int]:
    """Set the project's own ``values``; a limit below what is in use is a 400 unless
    ``force``. Returns the project's limits after the change."""
    used = usage(s, project_id)
    for name, value in values.items():
        if not force and value >= 0 and value < used.get(name, 0):
            raise BadRequest(f"Quota limit {value} for {name} must be greater than or "
                             f"equal to already used and reserved {used[name]}.")
    for name, value in values.items():
        row = s.get(ProjectQuota, (project_id, name))
        if row is None:
            s.add(ProjectQuota(project_id=project_id, resource=name, hard_limit=value))
        else:
            row.hard_limit = value
    s.flush()
    return project_limits(s, project_id, limits)


def reset(s: Session, project_id: str) -> None:
    """Drop the project's own limits: the defaults apply again."""
    s.execute(delete(ProjectQuota).where(ProjectQuota.project_id == project_id))
