"""Per-project volume quotas (volumes, gigabytes), counted atomically.

Usage lives in ``volume_quota_usages``, one row per project, and changes only through a
conditional ``UPDATE ... SET volumes = volumes + :n ... WHERE volumes + :n <= :limit``: the
database checks and counts in one statement, so concurrent creates can never overshoot a
limit, whatever the database. Callers run it in the transaction that inserts the volume, so
the count and the volume commit (or roll back) together.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minicloud.errors import RequestTooLarge
from volumes.models import VolumeQuotaUsage


@dataclass(frozen=True)
class Limits:
    volumes: int      # -1: unlimited
    gigabytes: int


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


def reserve(session: Session, project_id: str, limits: Limits, volumes: int,
            gigabytes: int) -> None:
    """Count ``volumes`` more volumes and ``gigabytes`` more GB, or raise 413 ``overLimit``."""
    _ensure_row(session, project_id)
    usage_row = VolumeQuotaUsage
    cond = [usage_row.project_id == project_id]
    if limits.volumes >= 0:
        cond.append(usage_row.volumes + volumes <= limits.volumes)
    if limits.gigabytes >= 0:
        cond.append(usage_row.gigabytes + gigabytes <= limits.gigabytes)
    done = session.execute(update(usage_row).where(*cond).values(
        volumes=usage_row.volumes + volumes, gigabytes=usage_row.gigabytes + gigabytes)
        .execution_options(synchronize_session=False))
    if done.rowcount == 1:
        return
    used_volumes, used_gb = usage(session, project_id)
    if limits.volumes >= 0 and used_volumes + volumes > limits.volumes:
        raise RequestTooLarge(f"VolumeLimitExceeded: Maximum number of volumes allowed "
                              f"({limits.volumes}) exceeded for quota 'volumes'.")
    raise RequestTooLarge(f"VolumeSizeExceedsAvailableQuota: Requested volume or snapshot "
                          f"exceeds allowed gigabytes quota. Requested {gigabytes}G, quota is "
                          f"{limits.gigabytes}G and {used_gb}G has been consumed.")


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
