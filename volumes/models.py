"""Volume tables: volumes, their attachments, the agents' hosts and work queue, quota usage.

Deleted volumes keep their row (status ``deleted``, ``deleted_at`` set) so an id is never
reused; every API query leaves them out. CHAP credentials live on the volume row only while
it is exported (``auth_username`` set means "an export should exist on the host").
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from minicloud.db import Base, utcnow


class Volume(Base):
    __tablename__ = "volumes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)                       # GB (GiB, as Cinder)
    status: Mapped[str] = mapped_column(String(32), index=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    image_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    image_metadata: Mapped[dict] = mapped_column(JSON, default=dict)  # volume_image_metadata
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    auth_username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    auth_password: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)   # last failure (admins)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    attachments: Mapped[list[VolumeAttachment]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="VolumeAttachment.created_at")


class VolumeAttachment(Base):
    """One attachment of a volume to an instance (Cinder's attachments API, v3.27+)."""

    __tablename__ = "volume_attachments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(ForeignKey("volumes.id", ondelete="CASCADE"),
                                           index=True)
    server_id: Mapped[str] = mapped_column(String(36), index=True)   # instance uuid
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)  # connector host
    device: Mapped[str | None] = mapped_column(String(64), nullable=True)  # /dev/vdc
    status: Mapped[str] = mapped_column(String(32))
    connector: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    attach_mode: Mapped[str] = mapped_column(String(8), default="rw")
    attached_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class VolumeHost(Base):
    """A volume agent's host (registered at start, heartbeat while it runs)."""

    __tablename__ = "volume_hosts"
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    backend: Mapped[str] = mapped_column(String(32))
    target_helper: Mapped[str] = mapped_column(String(32))
    heartbeat_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class VolumeTask(Base):
    """Durable work for a host's volume agent: survives restarts, runs exactly once."""

    __tablename__ = "volume_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    action: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class VolumeQuotaUsage(Base):
    """What a project holds, changed only by compare-and-swap updates (volumes.quotas)."""

    __tablename__ = "volume_quota_usages"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    volumes: Mapped[int] = mapped_column(Integer, default=0)
    gigabytes: Mapped[int] = mapped_column(Integer, default=0)
