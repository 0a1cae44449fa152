"""Volume tables: volumes, their attachments, the agents' hosts and work queue, quota usage,
volume types (with their project access lists), quota limits and transfers.

Deleted volumes keep their row (status ``deleted``, ``deleted_at`` set) so an id is never
reused; every API query leaves them out. CHAP credentials live on the volume row only while
it is exported (``auth_username`` set means "an export should exist on the host").
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from minicloud.db import Base, utcnow

#: The id of ``__DEFAULT__``, the type the volume types migration made (older volumes point at it).
DEFAULT_TYPE_ID = "4ee21aa8-9f8c-4bd2-9d6b-a1f7e1c0c001"


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
    volume_type_id: Mapped[str] = mapped_column(
        String(36), default=DEFAULT_TYPE_ID, server_default=text(f"'{DEFAULT_TYPE_ID}'"),
        index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    # What the volume was made from (Cinder's snapshot_id / source_volid), if anything.
    snapshot_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    source_volid: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    # The generic volume group it belongs to (volumes.groups), if any.
    group_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
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
    # os-services: {binary: reason} of its disabled services, and whether it is frozen
    disabled: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    frozen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    def reason(self, binary: str) -> str | None:
        """Why ``binary`` is disabled here ("" when no reason was given); None: enabled."""
        return (self.disabled or {}).get(binary)


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
    gigabytes: Mapped[int] = mapped_column(Integer, default=0)  # volumes' and snapshots' GB
    snapshots: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    backups: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    backup_gigabytes: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    groups: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class QosSpecs(Base):
    """Named quality-of-service limits (``read_iops_sec``...), associated with volume types.
    Stored and shown; applying them on attach (libvirt ``<iotune>``) is compute's side."""

    __tablename__ = "volume_qos_specs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    consumer: Mapped[str] = mapped_column(String(16), default="back-end")
    specs: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class VolumeType(Base):
    """A volume type: a name, extra specs and who may use it (public, or the listed
    projects and admins)."""

    __tablename__ = "volume_types"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    extra_specs: Mapped[dict] = mapped_column(JSON, default=dict)
    qos_specs_id: Mapped[str | None] = mapped_column(
        ForeignKey("volume_qos_specs.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class VolumeTypeAccess(Base):
    """A project allowed to use a private volume type (``os-volume-type-access``)."""

    __tablename__ = "volume_type_projects"
    volume_type_id: Mapped[str] = mapped_column(
        ForeignKey("volume_types.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class VolumeQuota(Base):
    """A quota limit set through the API: of one project (``scope`` "project", ``owner`` its
    id) or of a quota class (``scope`` "class", ``owner`` the class name, e.g. ``default``).
    Whatever is not set here comes from the configuration (volumes.quotas)."""

    __tablename__ = "volume_quotas"
    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class VolumeTransfer(Base):
    """An offer to hand a volume to another project. Only a salted hash of the auth key is
    kept; an accepted or deleted transfer keeps its row with ``deleted_at`` set."""

    __tablename__ = "volume_transfers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    salt: Mapped[str] = mapped_column(String(32))
    crypt_hash: Mapped[str] = mapped_column(String(128))
    source_project_id: Mapped[str] = mapped_column(String(64), index=True)
    destination_project_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    no_snapshots: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class VolumeBackup(Base):
    """A backup of a volume in the backup store (:mod:`volumes.backup_store`): ``location``
    names its objects there (``<container>/backup-<id>``; an imported record may share
    another backup's), ``volume_meta`` what a restore gives the volume back (its metadata,
    bootable flag, image metadata). A deleted backup keeps its row with ``deleted_at``."""

    __tablename__ = "volume_backups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    size: Mapped[int] = mapped_column(Integer)                      # GB of the volume
    status: Mapped[str] = mapped_column(String(32), index=True)
    fail_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    availability_zone: Mapped[str | None] = mapped_column(String(255), nullable=True)
    container: Mapped[str] = mapped_column(String(255))
    location: Mapped[str] = mapped_column(String(600))
    parent_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    snapshot_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # its source
    is_incremental: Mapped[bool] = mapped_column(Boolean, default=False)
    object_count: Mapped[int] = mapped_column(Integer, default=0)
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    volume_meta: Mapped[dict] = mapped_column(JSON, default=dict)
    data_timestamp: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class VolumeSnapshot(Base):
    """A point-in-time copy of a volume's bytes (Cinder's snapshot), kept on the volume's
    host. Deleted snapshots keep their row (status ``deleted``, ``deleted_at`` set)."""

    __tablename__ = "volume_snapshots"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    size: Mapped[int] = mapped_column(Integer)            # GB: the volume's size when taken
    status: Mapped[str] = mapped_column(String(32), index=True)
    progress: Mapped[str] = mapped_column(String(255), default="0%")
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The group snapshot it was taken for (volumes.group_snapshots), if any.
    group_snapshot_id: Mapped[str | None] = mapped_column(String(36), nullable=True,
                                                          index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class VolumeTypeQuotaUsage(Base):
    """What a project holds of one volume type (Cinder's ``volumes_<type>``,
    ``gigabytes_<type>``, ``snapshots_<type>``), changed only by the same compare-and-swap
    updates as :class:`VolumeQuotaUsage` (volumes.quotas). Keyed by the type's id, so a
    renamed type keeps its usage."""

    __tablename__ = "volume_type_quota_usages"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    volume_type_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volumes: Mapped[int] = mapped_column(Integer, default=0)
    gigabytes: Mapped[int] = mapped_column(Integer, default=0)
    snapshots: Mapped[int] = mapped_column(Integer, default=0)


class VolumeTypeEncryption(Base):
    """A volume type's encryption spec (``/types/{id}/encryption``), stored and shown: which
    front end would encrypt, how. minicloud encrypts nothing (volumes.encryption)."""

    __tablename__ = "volume_type_encryption"
    volume_type_id: Mapped[str] = mapped_column(
        ForeignKey("volume_types.id", ondelete="CASCADE"), primary_key=True)
    encryption_id: Mapped[str] = mapped_column(String(36), unique=True)
    provider: Mapped[str] = mapped_column(String(255))
    cipher: Mapped[str | None] = mapped_column(String(255), nullable=True)
    key_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    control_location: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class GroupType(Base):
    """A group type (Cinder's generic volume groups, 3.11): a name, ``group_specs`` and
    whether every project may use it (a private one: admins only)."""

    __tablename__ = "volume_group_types"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    group_specs: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class VolumeGroup(Base):
    """A generic volume group (3.13): volumes of the listed volume types, snapshotted
    together. A deleted group keeps its row (status ``deleted``, ``deleted_at`` set)."""

    __tablename__ = "volume_groups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), index=True)
    availability_zone: Mapped[str] = mapped_column(String(255))
    group_type_id: Mapped[str] = mapped_column(String(36), index=True)
    volume_type_ids: Mapped[list] = mapped_column(JSON, default=list)
    group_snapshot_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    source_group_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class GroupSnapshot(Base):
    """A snapshot of every volume of a group at once (3.14): one volume snapshot per member
    (``volume_snapshots.group_snapshot_id``). A deleted one keeps its row."""

    __tablename__ = "volume_group_snapshots"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(36), index=True)
    group_type_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class VolumeMessage(Base):
    """A user message (Cinder's ``messages``, 3.3): why an asynchronous request of the
    project failed. Kept until ``expires_at`` (``[volume] message_ttl`` after it was made),
    then reaped (:func:`volumes.messages.reap`); deleting one removes its row."""

    __tablename__ = "volume_messages"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    request_id: Mapped[str] = mapped_column(String(255))
    resource_type: Mapped[str | None] = mapped_column(String(36), nullable=True)
    resource_uuid: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    event_id: Mapped[str] = mapped_column(String(64))
    message_level: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)     # the event's user_message
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
