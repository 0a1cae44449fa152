"""Identity tables: domains, projects (and their tags), users, groups, roles, implied roles,
role assignments and revoked tokens.

Assignments are one polymorphic table, as Keystone keeps them: ``type`` says who holds the role
(a user or a group) and where (a project, a domain or the system), ``actor_id`` and
``target_id`` name them (``target_id`` is ``"system"`` for the system). Actors and targets have
no foreign key there (they live in different tables), so deleting a user, group, project or
domain deletes its assignments explicitly (:mod:`minicloud.identity.assignments`); deleting a
role cascades.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from minicloud.db import Base, utcnow


class Domain(Base):
    __tablename__ = "domains"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id"))
    description: Mapped[str] = mapped_column(String(1024), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: The parent project; None for a top-level project (whose parent is its domain).
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id"), nullable=True,
                                                  index=True)
    #: Extra attributes a client set (JSON object), returned as top-level keys.
    extra: Mapped[str] = mapped_column(Text, default="{}")


class DomainConfig(Base):
    """One option of a domain's identity configuration (``/v3/domains/{id}/config``); the
    value is JSON."""

    __tablename__ = "domain_config"
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"),
                                           primary_key=True)
    group: Mapped[str] = mapped_column(String(255), primary_key=True)
    option: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ProjectTag(Base):
    __tablename__ = "project_tags"
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"),
                                            primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id"))
    #: "" for a user without a password (it cannot authenticate with one).
    password_hash: Mapped[str] = mapped_column(String(255))
    default_project_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: Extra attributes (email, description, ...: a JSON object), returned as top-level keys.
    extra: Mapped[str] = mapped_column(Text, default="{}")
    #: Tokens issued at or before this instant are invalid (set when the password changes).
    tokens_valid_after: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id"))
    description: Mapped[str] = mapped_column(Text, default="")


class UserGroupMembership(Base):
    __tablename__ = "user_group_membership"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"),
                                          primary_key=True, index=True)


class Role(Base):
    """A role: global (``domain_id`` None) or specific to one domain. Domain-specific roles
    only matter through the roles they imply: they never appear in tokens themselves."""

    __tablename__ = "roles"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    #: No ``ON DELETE`` here: deleting a domain deletes its roles explicitly.
    domain_id: Mapped[str | None] = mapped_column(ForeignKey("domains.id"), nullable=True,
                                                  index=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)


class ImpliedRole(Base):
    """``prior_role_id`` implies ``implied_role_id``: holding the first grants the second."""

    __tablename__ = "implied_roles"
    prior_role_id: Mapped[str] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"),
                                               primary_key=True)
    implied_role_id: Mapped[str] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"),
                                                 primary_key=True)


class Assignment(Base):
    """A role granted to a user or group on a project, a domain or the system."""

    __tablename__ = "assignments"
    #: UserProject, GroupProject, UserDomain, GroupDomain, UserSystem or GroupSystem.
    type: Mapped[str] = mapped_column(String(16), primary_key=True)
    actor_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    target_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"),
                                         primary_key=True)
    inherited: Mapped[bool] = mapped_column(Boolean, primary_key=True, default=False)


class RevokedToken(Base):
    """A revoked token, by its audit id, kept until the token would have expired anyway."""

    __tablename__ = "revoked_tokens"
    audit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
