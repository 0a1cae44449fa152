"""Per-project volume quotas, counted atomically, and their limits.

Limits, as Cinder's: ``[volume] quota_volumes``/``quota_gigabytes`` (and Cinder's defaults for
snapshots, backups and groups) are the defaults; the
``default`` quota class (``PUT /os-quota-class-sets/default``) overrides them for every
project; a project's own limits (``PUT /os-quota-sets/{project}``) override those, and
``DELETE`` gives a project the defaults back. Rows of ``volume_quotas`` hold what was set
through the API, so a changed configuration still applies to everything nobody set.
Every volume type adds ``volumes_<type>``, ``gigabytes_<type>`` and ``snapshots_<type>``
(default -1, unlimited), stored by the type's id and shown by its name, as Cinder's.

Usage lives in ``volume_quota_usages`` (one row per project) and
``volume_type_quota_usages`` (one per project and type), and changes only through a
conditional ``UPDATE ... SET volumes = volumes + :n ... WHERE volumes + :n <= :limit`` (one
function, :func:`_count`, for every resource): the database checks and counts in one
statement, so concurrent creates can never overshoot a limit, whatever the database.
Callers run it in the transaction that inserts the volume, so the count and the volume
commit (or roll back) together.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minicloud.db import Database
from minicloud.errors import BadRequest, RequestTooLarge
from volumes.models import VolumeQuota, VolumeQuotaUsage, VolumeType, VolumeTypeQuotaUsage

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


#: What a quota set has per volume type (Cinder's ``volumes_<type>`` and so on).
TYPE_RESOURCES = ("volumes", "gigabytes", "snapshots")


def type_key(resource: str, type_id: str) -> str:
    """The stored name of a per-type limit: by the type's id, so a renamed type keeps its
    limits (the API shows ``<resource>_<type name>``, see :func:`named`)."""
    return f"{resource}:{type_id}"


def _types(session: Session) -> dict[str, str]:
    """{id: name} of every volume type, by name."""
    return dict(session.execute(select(VolumeType.id, VolumeType.name)
                                .order_by(VolumeType.name)).all())


def _rows(session: Session, scope: str, owner: str) -> dict[str, int]:
    rows = session.execute(select(VolumeQuota.resource, VolumeQuota.hard_limit).where(
        VolumeQuota.scope == scope, VolumeQuota.owner == owner))
    return {resource: limit for resource, limit in rows}


def class_limits(session: Session, config: Limits, class_name: str = DEFAULT_CLASS
                 ) -> dict[str, int]:
    """A quota class's limits: the configuration's, then what was set for the class (only
    ``default`` has a meaning; another class starts from the configuration too). Per-type
    limits (keys of :func:`type_key`, one of each for every existing type) default to -1;
    those of deleted types are left out."""
    base = {**CINDER_DEFAULTS, "volumes": config.volumes, "gigabytes": config.gigabytes,
            "per_volume_gigabytes": config.per_volume_gigabytes}
    keys = [*RESOURCES, *(type_key(r, t) for t in _types(session) for r in TYPE_RESOURCES)]
    base.update(_rows(session, CLASS, DEFAULT_CLASS))
    if class_name != DEFAULT_CLASS:
        base.update(_rows(session, CLASS, class_name))
    return {k: base.get(k, -1) for k in keys}


def project_limits(session: Session, project_id: str, config: Limits) -> dict[str, int]:
    """The project's limits: the ``default`` class's, then its own."""
    limits = class_limits(session, config)
    own = _rows(session, PROJECT, project_id)
    return {k: own.get(k, v) for k, v in limits.items()}


def _label(key: str, names: dict[str, str]) -> str | None:
    """The API's name of a stored key (None: a per-type key of a deleted type)."""
    resource, _, type_id = key.partition(":")
    if not type_id:
        return key
    return f"{resource}_{names[type_id]}" if type_id in names else None


def named(session: Session, values: dict[str, int]) -> dict[str, int]:
    """``values`` with per-type keys as the API names them (``volumes_<type name>``)."""
    names = _types(session)
    labelled = ((_label(key, names), value) for key, value in values.items())
    return {label: value for label, value in labelled if label is not None}


def unnamed(session: Session, values: dict[str, int]) -> dict[str, int]:
    """The inverse of :func:`named`: a key that is no resource and no ``<resource>_<name>``
    of an existing type is a 400 (Cinder's "Bad key(s)")."""
    ids = {name: type_id for type_id, name in _types(session).items()}
    out, bad = {}, []
    for key, value in values.items():
        if key in RESOURCES:
            out[key] = value
            continue
        resource, _, name = key.partition("_")
        if resource in TYPE_RESOURCES and name in ids:
            out[type_key(resource, ids[name])] = value
        else:
            bad.append(key)
    if bad:
        raise BadRequest(f"Bad key(s) {','.join(sorted(bad))[:300]} in quota_set")
    return out


def _store(session: Session, scope: str, owner: str, values: dict[str, int]) -> None:
    for resource, limit in values.items():
        session.execute(delete(VolumeQuota).where(
            VolumeQuota.scope == scope, VolumeQuota.owner == owner,
            VolumeQuota.resource == resource))
        session.add(VolumeQuota(scope=scope, owner=owner, resource=resource,
                                hard_limit=limit))
    session.flush()


def _held(session: Session, project_id: str) -> dict[str, int]:
    """Everything the project holds, by resource (per-type keys of :func:`type_key`)."""
    held = dict(zip(("volumes", "gigabytes"), usage(session, project_id), strict=True))
    held["snapshots"] = snapshot_usage(session, project_id)
    held.update(zip(("backups", "backup_gigabytes"), backup_usage(session, project_id),
                    strict=True))
    held["groups"] = group_usage(session, project_id)
    row = VolumeTypeQuotaUsage
    for type_id, *counts in session.execute(select(
            row.volume_type_id, row.volumes, row.gigabytes, row.snapshots)
            .where(row.project_id == project_id)):
        held.update({type_key(r, type_id): n for r, n in zip(TYPE_RESOURCES, counts,
                                                              strict=True)})
    return held


def set_project_limits(session: Session, project_id: str, values: dict[str, int]) -> None:
    """Set some of a project's limits (keys as :func:`unnamed` gives them); a limit below
    what the project holds is a 400."""
    _ensure_row(session, project_id)
    held, names = _held(session, project_id), _types(session)
    for resource, limit in values.items():
        name = _label(resource, names) or resource
        if limit < -1:
            raise BadRequest(f"Invalid input received: Quota limit {limit} for {name} "
                             f"must be -1 or greater.")
        used = held.get(resource, 0)
        if limit != -1 and limit < used:
            raise BadRequest(f"Invalid input received: Quota limit {limit} for {name} "
                             f"must be equal or greater than existing resources. Current "
                             f"usage of {name} is {used}.")
    _store(session, PROJECT, project_id, values)


def in_use(session: Session, project_id: str) -> dict[str, int]:
    """What the project holds, keyed as :func:`project_limits` (for ``?usage=True``)."""
    return _held(session, project_id)


def reset_project_limits(session: Session, project_id: str) -> None:
    session.execute(delete(VolumeQuota).where(VolumeQuota.scope == PROJECT,
                                              VolumeQuota.owner == project_id))


def set_class_limits(session: Session, class_name: str, values: dict[str, int]) -> None:
    names = _types(session)
    for resource, limit in values.items():
        if limit < -1:
            raise BadRequest(f"Invalid input received: Quota limit {limit} for "
                             f"{_label(resource, names) or resource} "
                             f"must be -1 or greater.")
    _store(session, CLASS, class_name, values)


def _usage_row(project_id: str, volume_type_id: str | None) -> tuple[type, list]:
    """The usage table and the WHERE of the project's row (of one volume type, if given)."""
    if volume_type_id is None:
        return VolumeQuotaUsage, [VolumeQuotaUsage.project_id == project_id]
    row = VolumeTypeQuotaUsage
    return row, [row.project_id == project_id, row.volume_type_id == volume_type_id]


def _ensure_row(session: Session, project_id: str, volume_type_id: str | None = None) -> None:
    row, where = _usage_row(project_id, volume_type_id)
    if session.execute(select(row).where(*where)).first() is not None:
        return
    values = {"project_id": project_id, "volumes": 0, "gigabytes": 0}
    if volume_type_id is not None:
        values.update(volume_type_id=volume_type_id, snapshots=0)
    try:
        with session.begin_nested():
            session.execute(insert(row).values(**values))
    except IntegrityError:
        pass  # another transaction made it first


def usage(session: Session, project_id: str) -> tuple[int, int]:
    row = session.execute(select(VolumeQuotaUsage.volumes, VolumeQuotaUsage.gigabytes).where(
        VolumeQuotaUsage.project_id == project_id)).first()
    return (row[0], row[1]) if row else (0, 0)


def _count(session: Session, project_id: str, limits: dict[str, int],
           deltas: dict[str, int], volume_type_id: str | None = None) -> str | None:
    """Add ``deltas`` ({column: amount}) to the project's usage (its usage of
    ``volume_type_id`` when given) in one conditional ``UPDATE`` that also checks every
    column against ``limits[column]`` (-1 or absent: unlimited). Returns None when counted,
    else the first column (in the order of ``deltas``) that would go over, with nothing
    counted. A negative delta gives back; the callers of :func:`_give_back` floor at zero."""
    _ensure_row(session, project_id, volume_type_id)
    row, where = _usage_row(project_id, volume_type_id)
    cond = list(where)
    for column, delta in deltas.items():
        if delta > 0 and limits.get(column, -1) >= 0:
            cond.append(getattr(row, column) + delta <= limits[column])
    done = session.execute(update(row).where(*cond).values(
        {column: getattr(row, column) + delta for column, delta in deltas.items()})
        .execution_options(synchronize_session=False))
    if done.rowcount == 1:
        return None
    held = session.execute(select(*(getattr(row, c) for c in deltas)).where(*where)).one()
    for (column, delta), used in zip(deltas.items(), held, strict=True):
        if 0 <= limits.get(column, -1) < used + delta:
            return column
    return next(iter(deltas))  # the row changed under us: report the first resource


def _give_back(session: Session, project_id: str, deltas: dict[str, int],
               volume_type_id: str | None = None) -> None:
    """Subtract ``deltas`` from the usage row, never below zero."""
    _ensure_row(session, project_id, volume_type_id)
    row, where = _usage_row(project_id, volume_type_id)
    session.execute(update(row).where(*where).values(
        {c: func.max(getattr(row, c) - n, 0) for c, n in deltas.items()})
        .execution_options(synchronize_session=False))


def _type_limits(limits: dict[str, int], volume_type_id: str) -> dict[str, int]:
    return {r: limits.get(type_key(r, volume_type_id), -1) for r in TYPE_RESOURCES}


def _count_type(session: Session, project_id: str, limits: dict[str, int],
                volume_type_id: str | None, volumes: int, gigabytes: int,
                snapshots: int = 0) -> None:
    """Count against the per-type limits of ``volume_type_id`` (nothing when None), or 413
    naming the per-type quota (``volumes_<type>``) as Cinder's messages do."""
    if volume_type_id is None:
        return
    mine = _type_limits(limits, volume_type_id)
    deltas = {"volumes": volumes, "gigabytes": gigabytes, "snapshots": snapshots}
    over = _count(session, project_id, mine,
                  {c: n for c, n in deltas.items() if n or c == "gigabytes"}, volume_type_id)
    if over is None:
        return
    name = f"{over}_{_types(session).get(volume_type_id, volume_type_id)}"
    if over == "volumes":
        raise RequestTooLarge(f"VolumeLimitExceeded: Maximum number of volumes allowed "
                              f"({mine['volumes']}) exceeded for quota '{name}'.")
    if over == "snapshots":
        raise RequestTooLarge(f"SnapshotLimitExceeded: Maximum number of snapshots allowed "
                              f"({mine['snapshots']}) exceeded for quota '{name}'.")
    used = session.scalar(select(VolumeTypeQuotaUsage.gigabytes).where(
        *_usage_row(project_id, volume_type_id)[1]))
    raise _gigabytes_over(mine["gigabytes"], gigabytes, used, name)


def _gigabytes_over(limit: int, requested: int, used: int, name: str = "gigabytes"
                    ) -> RequestTooLarge:
    return RequestTooLarge(f"VolumeSizeExceedsAvailableQuota: Requested volume or snapshot "
                           f"exceeds allowed {name} quota. Requested {requested}G, quota "
                           f"is {limit}G and {used}G has been consumed.")


def reserve(session: Session, project_id: str, config: Limits, volumes: int,
            gigabytes: int, volume_size: int | None = None,
            volume_type_id: str | None = None) -> None:
    """Count ``volumes`` more volumes and ``gigabytes`` more GB against the project's limits
    (``config`` as overridden through the API) and, given ``volume_type_id``, against that
    type's (``volumes_<type>``, ``gigabytes_<type>``), or raise 413 ``overLimit``; a volume
    of ``volume_size`` GB must also fit ``per_volume_gigabytes``. A 413 after the project's
    count leaves it to the caller's transaction to roll back, as every caller does."""
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
    _count_type(session, project_id, limits, volume_type_id, volumes, gigabytes)


def release(session: Session, project_id: str, volumes: int, gigabytes: int,
            volume_type_id: str | None = None) -> None:
    """Give back what :func:`reserve` counted (never below zero)."""
    deltas = {"volumes": volumes, "gigabytes": gigabytes}
    _give_back(session, project_id, deltas)
    if volume_type_id is not None:
        _give_back(session, project_id, deltas, volume_type_id)


def retype(session: Session, project_id: str, config: Limits, old_type_id: str,
           new_type_id: str, volume_gigabytes: int, snapshots: int,
           snapshot_gigabytes: int) -> None:
    """Move a volume (and its live snapshots) from one type's usage to another's, checking
    the new type's limits (413 as :func:`reserve`); the project's totals do not change."""
    limits = project_limits(session, project_id, config)
    _count_type(session, project_id, limits, new_type_id, 1,
                volume_gigabytes + snapshot_gigabytes, snapshots)
    _give_back(session, project_id, {"volumes": 1, "snapshots": snapshots,
                                     "gigabytes": volume_gigabytes + snapshot_gigabytes},
               old_type_id)


def snapshot_usage(session: Session, project_id: str) -> int:
    """How many snapshots the project holds."""
    return session.scalar(select(VolumeQuotaUsage.snapshots).where(
        VolumeQuotaUsage.project_id == project_id)) or 0


def reserve_snapshot(session: Session, project_id: str, config: Limits, gigabytes: int,
                     volume_type_id: str | None = None) -> None:
    """Count one snapshot of ``gigabytes`` GB (snapshots count against ``gigabytes`` too, as
    Cinder's default ``no_snapshot_gb_quota = False``) in one conditional ``UPDATE``, and
    against the per-type limits of its volume's type ``volume_type_id``, or raise 413
    ``overLimit``."""
    limits = project_limits(session, project_id, config)
    over = _count(session, project_id, limits, {"snapshots": 1, "gigabytes": gigabytes})
    if over == "snapshots":
        raise RequestTooLarge(f"SnapshotLimitExceeded: Maximum number of snapshots allowed "
                              f"({limits['snapshots']}) exceeded for quota 'snapshots'.")
    if over:
        raise _gigabytes_over(limits["gigabytes"], gigabytes, usage(session, project_id)[1])
    _count_type(session, project_id, limits, volume_type_id, 0, gigabytes, 1)


def release_snapshot(session: Session, project_id: str, gigabytes: int,
                     volume_type_id: str | None = None) -> None:
    """Give back what :func:`reserve_snapshot` counted (never below zero)."""
    deltas = {"snapshots": 1, "gigabytes": gigabytes}
    _give_back(session, project_id, deltas)
    if volume_type_id is not None:
        _give_back(session, project_id, deltas, volume_type_id)


class QuotaLimits:
    """The limits as the API reads and sets them (per-type keys by type name, see
    :func:`named`), each call its own transaction."""

    def __init__(self, db: Database, config: Limits) -> None:
        self.db, self.config = db, config

    def of_project(self, project_id: str) -> dict[str, int]:
        with self.db.session() as s:
            return named(s, project_limits(s, project_id, self.config))

    def in_use(self, project_id: str) -> dict[str, int]:
        """What the project holds, keyed as :meth:`of_project`."""
        with self.db.session() as s:
            return named(s, in_use(s, project_id))

    def of_class(self, class_name: str = DEFAULT_CLASS) -> dict[str, int]:
        with self.db.session() as s:
            return named(s, class_limits(s, self.config, class_name))

    def set_project(self, project_id: str, values: dict[str, int]) -> dict[str, int]:
        with self.db.session() as s:
            set_project_limits(s, project_id, unnamed(s, values))
            return named(s, project_limits(s, project_id, self.config))

    def reset_project(self, project_id: str) -> None:
        with self.db.session() as s:
            reset_project_limits(s, project_id)

    def set_class(self, class_name: str, values: dict[str, int]) -> dict[str, int]:
        with self.db.session() as s:
            set_class_limits(s, class_name, unnamed(s, values))
            return named(s, class_limits(s, self.config, class_name))


# -- groups ----------------------------------------------------------------------------------
def group_usage(session: Session, project_id: str) -> int:
    """How many groups (volumes.groups) the project holds."""
    return session.scalar(select(VolumeQuotaUsage.groups).where(
        VolumeQuotaUsage.project_id == project_id)) or 0


def reserve_group(session: Session, project_id: str, config: Limits) -> None:
    """Count one group against the project's ``groups`` limit (:func:`_count`), or 413."""
    limits = project_limits(session, project_id, config)
    if _count(session, project_id, limits, {"groups": 1}):
        raise RequestTooLarge(f"GroupLimitExceeded: Maximum number of groups allowed "
                              f"({limits['groups']}) exceeded for quota 'groups'.")


def release_group(session: Session, project_id: str) -> None:
    """Give back what :func:`reserve_group` counted (never below zero)."""
    _give_back(session, project_id, {"groups": 1})


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
    _give_back(session, project_id, {"backups": 1, "backup_gigabytes": gigabytes})
