"""Compute tables: flavors, hosts and their claims, instances (tags, actions and their events)
and the agent's work queue."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from minicloud.db import Base, utcnow


def sanitize_hostname(name: str) -> str:
    """The guest hostname Nova derives from a display name (``sanitize_hostname``)."""
    text = re.sub(r"[ _.]", "-", name.lower())
    text = re.sub(r"[^\w-]+", "", text, flags=re.ASCII).strip(".-")[:63]
    return text or "server"


class Flavor(Base):
    __tablename__ = "flavors"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    ram: Mapped[int] = mapped_column(Integer)          # MiB
    disk: Mapped[int] = mapped_column(Integer)         # root disk, GB
    ephemeral: Mapped[int] = mapped_column(Integer, default=0)  # GB
    swap: Mapped[int] = mapped_column(Integer, default=0)       # MiB
    rxtx_factor: Mapped[float] = mapped_column(Float, default=1.0)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    extra_specs: Mapped[list[FlavorExtraSpec]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")
    #: The projects that see this flavor when it is private (Nova's flavor access list).
    projects: Mapped[list[FlavorProject]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="FlavorProject.project_id")


class FlavorExtraSpec(Base):
    __tablename__ = "flavor_extra_specs"
    flavor_id: Mapped[str] = mapped_column(ForeignKey("flavors.id", ondelete="CASCADE"),
                                           primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class FlavorProject(Base):
    """A project on a private flavor's access list (``addTenantAccess``)."""

    __tablename__ = "flavor_projects"
    flavor_id: Mapped[str] = mapped_column(ForeignKey("flavors.id", ondelete="CASCADE"),
                                           primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class QuotaClassLimit(Base):
    """One limit of a quota class (``os-quota-class-sets``); the ``default`` class's rows
    replace the configured defaults for every project without a limit of its own."""

    __tablename__ = "compute_quota_classes"
    class_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class ProjectQuota(Base):
    """A project's own limit for one compute quota resource (``os-quota-sets`` updates);
    resources without a row use the defaults of ``[compute] quota_*``."""

    __tablename__ = "compute_quotas"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class ComputeHost(Base):
    """A compute agent's host and its capacity (registered by the agent at start)."""

    __tablename__ = "compute_hosts"
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    zone: Mapped[str] = mapped_column(String(255), default="nova")
    vcpus: Mapped[int] = mapped_column(Integer)
    cpu_allocation_ratio: Mapped[float] = mapped_column(Float, default=4.0)
    memory_mib: Mapped[int] = mapped_column(Integer)
    disk_gb: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: The host's ``uptime`` line, as its agent last reported it (Nova's host uptime).
    uptime: Mapped[str | None] = mapped_column(String(255), nullable=True)


class Allocation(Base):
    """Resources an instance holds on its host (placement's claim)."""

    __tablename__ = "allocations"
    instance_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    host: Mapped[str] = mapped_column(ForeignKey("compute_hosts.name"), index=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mib: Mapped[int] = mapped_column(Integer)
    disk_gb: Mapped[int] = mapped_column(Integer)


class Instance(Base):
    __tablename__ = "instances"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    image_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    flavor_id: Mapped[str] = mapped_column(String(255))
    flavor: Mapped[dict] = mapped_column(JSON)           # snapshot taken at create time
    image_meta: Mapped[dict] = mapped_column(JSON, default=dict)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    availability_zone: Mapped[str | None] = mapped_column(String(255), nullable=True)
    vm_state: Mapped[str] = mapped_column(String(32), index=True)
    task_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    key_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # accessIPv4/accessIPv6: addresses the user says the server is reached at (Nova keeps them)
    access_ip_v4: Mapped[str | None] = mapped_column(String(39), nullable=True)
    access_ip_v6: Mapped[str | None] = mapped_column(String(39), nullable=True)
    # A copy of the keypair's public key taken at create: deleting the keypair later does
    # not change what the guest was given (Nova's instance.key_data).
    key_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_data: Mapped[str | None] = mapped_column(Text, nullable=True)  # base64, as given
    config_drive: Mapped[bool] = mapped_column(Boolean, default=False)
    block_devices: Mapped[list] = mapped_column(JSON, default=list)
    # lock: who locked it ("owner" or "admin", None: unlocked) and why (2.73)
    locked_by: Mapped[str | None] = mapped_column(String(5), nullable=True)
    locked_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: ``trusted_image_certificates`` (2.63): key manager ids of the certificates trusted to
    #: have signed the image (``compute.signing``); None: not given.
    trusted_certs: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # The guest's hostname (set at create from 2.90, else derived from the name then; a
    # rename does not change it, as Nova's) and its security group names (None: ["default"]).
    hostname: Mapped[str | None] = mapped_column(String(255), nullable=True)
    security_groups: Mapped[list | None] = mapped_column(JSON, nullable=True)
    fault: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    launched_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    terminated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    # Several servers of one request share a reservation id; each has its launch index.
    reservation_id: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    launch_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    @property
    def guest_hostname(self) -> str:
        """The hostname the guest is given and ``OS-EXT-SRV-ATTR:hostname`` shows."""
        return self.hostname or sanitize_hostname(self.name)

    @property
    def group_names(self) -> list[str]:
        """The security groups the server belongs to (only ``default`` exists here)."""
        return ["default"] if self.security_groups is None else list(self.security_groups)

    tags: Mapped[list[InstanceTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InstanceTag.tag")


class InstanceTag(Base):
    """A server tag (2.26): a string of 1 to 60 characters without ``/`` or ``,``."""

    __tablename__ = "instance_tags"
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"),
                                             primary_key=True)
    tag: Mapped[str] = mapped_column(String(60), primary_key=True)


class InstanceAction(Base):
    """One API operation on a server (``os-instance-actions``): what, who, which request."""

    __tablename__ = "instance_actions"
    __table_args__ = (Index("ix_instance_actions_instance_request", "instance_id",
                            "request_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    project_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    start_time: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finish_time: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    message: Mapped[str | None] = mapped_column(String(255), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    events: Mapped[list[InstanceActionEvent]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InstanceActionEvent.id")


class InstanceActionEvent(Base):
    """A step of an action done by a service (the agent's task): start, finish, result."""

    __tablename__ = "instance_action_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("instance_actions.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(255))
    start_time: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finish_time: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    result: Mapped[str | None] = mapped_column(String(255), nullable=True)  # Success, Error
    traceback: Mapped[str | None] = mapped_column(Text, nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    details: Mapped[str | None] = mapped_column(Text, nullable=True)


class KeyPair(Base):
    """A user's public key (``os-keypairs``): per user, its name unique for that user."""

    __tablename__ = "key_pairs"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(8), default="ssh")  # "ssh" or "x509"
    fingerprint: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ComputeTask(Base):
    """Durable work for a host's agent: survives API and agent restarts, runs exactly once."""

    __tablename__ = "compute_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    action: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ServerGroup(Base):
    """A server group (``os-server-groups``): where its members may run, as one policy."""

    __tablename__ = "server_groups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(32))  # affinity, anti-affinity, soft-*
    rules: Mapped[dict] = mapped_column(JSON, default=dict)  # max_server_per_host
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ServerGroupMember(Base):
    """An instance in a server group (at most one group per instance, as Nova)."""

    __tablename__ = "server_group_members"
    instance_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("server_groups.id", ondelete="CASCADE"),
                                          index=True)


class Aggregate(Base):
    """A host aggregate (``os-aggregates``); its ``availability_zone`` metadata makes its
    hosts that zone."""

    __tablename__ = "aggregates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class AggregateHost(Base):
    """A compute host in an aggregate."""

    __tablename__ = "aggregate_hosts"
    aggregate_id: Mapped[int] = mapped_column(ForeignKey("aggregates.id", ondelete="CASCADE"),
                                              primary_key=True)
    host: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)
