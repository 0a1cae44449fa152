"""Per-project volume quotas (volumes, gigabytes), counted atomically, and their limits.

Limits, as Cinder's: ``[volume] quota_volumes``/``quota_gigabytes`` (and Cinder's defaults for
snapshots, backups and for what minicloud does not count yet: groups) are the defaults; the
``default`` quota class (``PUT /os-quota-class-sets/default``) overrides them for every
project; a project's own limits (``PUT /os-quota-sets/{project}``) override those, and
``DELETE`` gives a project the defaults back. Rows of ``volume_quotas`` hold what was set
through the API, so a changed configuration still applies to everything nobody set.

Usage lives in ``volume_quota_usages``, one row per project, and changes only through a
conditional ``UPDATE ... SET volumes = volumes + :n ... WHERE volumes + :n <= :limit`` (one
function, :func:`_count`, for every resource): the database checks and counts in one
statement, so concurrent creates can never overshoot a limit, whatever the database. Callers run it in the transaction that inserts the volume, so
the count and the volume commit (or roll back) together.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minicloud.db import Database
from minicloud.errors import BadRequest, RequestTooLarge
from volumes.models import VolumeQuota, VolumeQuotaUsage

#: Every resource a quota set has, in Cinder's order.
RESOURCES = ("volumes", "gigabytes", "snapshots", "backups", "backup_gigabytes",
             "per_volume_gigabytes", "groups")
#: Cinder's defaults for what the configuration does not set.
CINDER_DEFAULTS = {"snapshots": 10, "backups": 10, "backup_gigabytes": 1000, "groups": 10,
                   "per_volume_gigabytes": -1}
PROJECT, CLASS, DEFAULT_CLASS = "project", "class", "default"


@dataclass(frozen=True)
class Limits:
    volumes: int      # -1: unlimited
    gigabytes: int
    per_volume_gigabytes: int = -1


def _rows(session: Session, scope: str, owner: str) -> dict[str, int]:
    rows = session.execute(select(VolumeQuota.resource, VolumeQuota.hard_limit).where(
        VolumeQuota.scope == scope, VolumeQuota.owner == owner))
    return {resource: limit for resource, limit in rows}


def class_limits(session: Session, config: Limits, class_name: str = DEFAULT_CLASS
                 ) -> dict[str, int]:
    """A quota class's limits: the configuration's, then what was set for the class (only
    ``default`` has a meaning; another class starts from the configuration too)."""
    base = {**CINDER_DEFAULTS, "volumes": config.volumes, "gigabytes": config.gigabytes,
            "per_volume_gigabytes": config.per_volume_gigabytes}
    base.update(_rows(session, CLASS, DEFAULT_CLASS))
    if class_name != DEFAULT_CLASS:
        base.update(_rows(session, CLASS, class_name))
    return {r: base[r] for r in RESOURCES}


def project_limits(session: Session, project_id: str, config: Limits) -> dict[str, int]:
    """The project's limits: the ``default`` class's, then its own."""
    return {**class_limits(session, config), **_rows(session, PROJECT, project_id)}


def _store(session: Session, scope: str, owner: str, values: dict[str, int]) -> None:
    for resource, limit in values.items():
        session.execute(delete(VolumeQuota).where(
            VolumeQuota.scope == scope, VolumeQuota.owner == owner,
            VolumeQuota.resource == resource))
        session.add(VolumeQuota(scope=scope, owner=owner, resource=resource,
                                hard_limit=limit))
    session.flush()


def set_project_limits(session: Session, project_id: str, values: dict[str, int]) -> None:
    """Set some of a project's limits; a limit below what the project holds is a 400."""
    _ensure_row(session, project_id)
    held = dict(zip(("volumes", "gigabytes"), usage(session, project_id), strict=True))
    held["snapshots"] = snapshot_usage(session, project_id)
    held.update(zip(("backups", "backup_gigabytes"), backup_usage(session, project_id),
                    strict=True))
    for resource, limit in values.items():
        if limit < -1:
            raise BadRequest(f"Invalid input received: Quota limit {limit} for {resource} "
                             f"must be -1 or greater.")
        used = held.get(resource, 0)
        if limit != -1 and limit < used:
            raise BadRequest(f"Invalid input received: Quota limit {limit} for {resource} "
                             f"must be equal or greater than existing resources. Current "
                             f"usage of {resource} is {used}.")
    _store(session, PROJECT, project_id, values)


def reset_project_limits(session: Session, project_id: str) -> None:
    session.execute(delete(VolumeQuota).where(VolumeQuota.scope == PROJECT,
                                              VolumeQuota.owner == project_id))


def set_class_limits(session: Session, class_name: str, values: dict[str, int]) -> None:
    for resource, limit in values.items():
        if limit < -1:
            raise BadRequest(f"Invalid input received: Quota limit {limit} for {resource} "
                             f"must be -1 or greater.")
    _store(session, CLASS, class_name, values)


def _ensure_row(session: Session, project_id: str) -> None:
    if session.get(VolumeQuotaUsage, project_id) is not None:
        return
    try:
        with session.begin_nested():
            session.execute(insert(VolumeQuotaUsage).values(
                project_id=project_id, volumes=0, gigabytes=0))
    except IntegrityError:
        pass  # another transaction made it first


def usage(session: Session, project_id: str) -> tuple[int, int]:
    row = session.execute(select(VolumeQuotaUsage.volumes, VolumeQuotaUsage.gigabytes).where(
        VolumeQuotaUsage.project_id == project_id)).first()
    return (row[0], row[1]) if row else (0, 0)


def _count(session: Session, project_id: str, limits: dict[str, int],
           deltas: dict[str, int]) -> str | None:
    """Add ``deltas`` ({column of ``volume_quota_usages``: amount}) to the project's usage in
    one conditional ``UPDATE`` that also checks every column against its limit in ``limits``
    (-1 or absent: unlimited). Returns None when counted, else the first column (in the order
    of ``deltas``) that would go over, with nothing counted."""
    _ensure_row(session, project_id)
    row = VolumeQuotaUsage
    cond = [row.project_id == project_id]
    for column, delta in deltas.items():
        if limits.get(column, -1) >= 0:
            cond.append(getattr(row, column) + delta <= limits[column])
    done = session.execute(update(row).where(*cond).values(
        {column: getattr(row, column) + delta for column, delta in deltas.items()})
        .execution_options(synchronize_session=False))
    if done.rowcount == 1:
        return None
    held = session.execute(select(*(getattr(row, c) for c in deltas)).where(
        row.project_id == project_id)).one()
    for (column, delta), used in zip(deltas.items(), held, strict=True):
        if 0 <= limits.get(column, -1) < used + delta:
            return column
    return next(iter(deltas))  # the row changed under us: report the first resource


def _gigabytes_over(limit: int, requested: int, used: int) -> RequestTooLarge:
    return RequestTooLarge(f"VolumeSizeExceedsAvailableQuota: Requested volume or snapshot "
                           f"exceeds allowed gigabytes quota. Requested {requested}G, quota "
                           f"is {limit}G and {used}G has been consumed.")


def reserve(session: Session, project_id: str, config: Limits, volumes: int,
            gigabytes: int, volume_size: int | None = None) -> None:
    """Count ``volumes`` more volumes and ``gigabytes`` more GB against the project's limits
    (``config`` as overridden through the API), or raise 413 ``overLimit``; a volume of
    ``volume_size`` GB must also fit ``per_volume_gigabytes``."""
    limits = project_limits(session, project_id, config)
    per_volume = limits["per_volume_gigabytes"]
    if volume_size is not None and 0 <= per_volume < volume_size:
        raise RequestTooLarge(f"VolumeSizeExceedsLimit: Requested volume size {volume_size}G "
                              f"is larger than maximum allowed limit {per_volume}G.")
    over = _count(session, project_id, limits, {"volumes": volumes, "gigabytes": gigabytes})
    if over == "volumes":
        raise RequestTooLarge(f"VolumeLimitExceeded: Maximum number of volumes allowed "
                              f"({limits['volumes']}) exceeded for quota 'volumes'.")
    if over:
        raise _gigabytes_over(limits["gigabytes"], gigabytes, usage(session, project_id)[1])


def release(session: Session, project_id: str, volumes: int, gigabytes: int) -> None:
    """Give back what :func:`reserve` counted (never below zero)."""
    _ensure_row(session, project_id)
    row = VolumeQuotaUsage
    session.execute(update(row).where(row.project_id == project_id).values(
        volumes=row.volumes - volumes, gigabytes=row.gigabytes - gigabytes)
        .execution_options(synchronize_session=False))
    session.execute(update(row).where(row.project_id == project_id, row.volumes < 0)
                    .values(volumes=0).execution_options(synchronize_session=False))
    session.execute(update(row).where(row.project_id == project_id, row.gigabytes < 0)
                    .values(gigabytes=0).execution_options(synchronize_session=False))


def snapshot_usage(session: Session, project_id: str) -> int:
    """How many snapshots the project holds."""
    return session.scalar(select(VolumeQuotaUsage.snapshots).where(
        VolumeQuotaUsage.project_id == project_id)) or 0


def reserve_snapshot(session: Session, project_id: str, config: Limits, gigabytes: int
                     ) -> None:
    """Count one snapshot of ``gigabytes`` GB (snapshots count against ``gigabytes`` too, as
    Cinder's default ``no_snapshot_gb_quota = False``) in one conditional ``UPDATE``, or
    raise 413 ``overLimit``."""
    limits = project_limits(session, project_id, config)
    over = _count(session, project_id, limits, {"snapshots": 1, "gigabytes": gigabytes})
    if over == "snapshots":
        raise RequestTooLarge(f"SnapshotLimitExceeded: Maximum number of snapshots allowed "
                              f"({limits['snapshots']}) exceeded for quota 'snapshots'.")
    if over:
        raise _gigabytes_over(limits["gigabytes"], gigabytes, usage(session, project_id)[1])


def release_snapshot(session: Session, project_id: str, gigabytes: int) -> None:
    """Give back what :func:`reserve_snapshot` counted (never below zero)."""
    release(session, project_id, 0, gigabytes)
    row = VolumeQuotaUsage
    session.execute(update(row).where(row.project_id == project_id, row.snapshots > 0)
                    .values(snapshots=row.snapshots - 1)
                    .execution_options(synchronize_session=False))


class QuotaLimits:
    """The limits as the API reads and sets them, each call its own transaction."""

    def __init__(self, db: Database, config: Limits) -> None:
        self.db, self.config = db, config

    def of_project(self, project_id: str) -> dict[str, int]:
        with self.db.session() as s:
            return project_limits(s, project_id, self.config)

    def of_class(self, class_name: str = DEFAULT_CLASS) -> dict[str, int]:
        with self.db.session() as s:
            return class_limits(s, self.config, class_name)

    def set_project(self, project_id: str, values: dict[str, int]) -> dict[str, int]:
        with self.db.session() as s:
            set_project_limits(s, project_id, values)
            return project_limits(s, project_id, self.config)

    def reset_project(self, project_id: str) -> None:
        with self.db.session() as s:
            reset_project_limits(s, project_id)

    def set_class(self, class_name: str, values: dict[str, int]) -> dict[str, int]:
        with self.db.session() as s:
            set_class_limits(s, class_name, values)
            return class_limits(s, self.config, class_name)


# -- backups -----------------------------------------------------------------------------------
def backup_usage(session: Session, project_id: str) -> tuple[int, int]:
    """(backups, backup gigabytes) the project holds."""
    row = session.execute(select(VolumeQuotaUsage.backups, VolumeQuotaUsage.backup_gigabytes)
                          .where(VolumeQuotaUsage.project_id == project_id)).first()
    return (row[0], row[1]) if row else (0, 0)


def reserve_backup(session: Session, project_id: str, config: Limits, gigabytes: int) -> None:
    """Count one backup of ``gigabytes`` against the project's ``backups`` and
    ``backup_gigabytes`` limits in one conditional UPDATE (as :func:`reserve`), or 413."""
    limits = project_limits(session, project_id, config)
    over = _count(session, project_id, limits, {"backups": 1, "backup_gigabytes": gigabytes})
    if over == "backups":
        raise RequestTooLarge(f"BackupLimitExceeded: Maximum number of backups allowed "
                              f"({limits['backups']}) exceeded.")
    if over:
        used_gb = backup_usage(session, project_id)[1]
        raise RequestTooLarge(f"VolumeBackupSizeExceedsAvailableQuota: Requested backup "
                              f"exceeds allowed Backup gigabytes quota. Requested {gigabytes}G,"
                              f" quota is {limits['backup_gigabytes']}G and {used_gb}G has "
                              f"been consumed.")


def release_backup(session: Session, project_id: str, gigabytes: int) -> None:
    """Give back what :func:`reserve_backup` counted (never below zero)."""
    _ensure_row(session, project_id)
    row = VolumeQuotaUsage
    session.execute(update(row).where(row.project_id == project_id).values(
        backups=func.max(row.backups - 1, 0),
        backup_gigabytes=func.max(row.backup_gigabytes - gigabytes, 0))
        .execution_options(synchronize_session=False))
