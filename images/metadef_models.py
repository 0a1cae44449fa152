"""Metadata definition tables (Glance's metadef catalog).

A namespace owns its objects, properties and tags (deleted with it) and its associations
with resource types; resource types are shared by every namespace and outlive them.
Property and object definitions are stored as the JSON-schema fragments clients send.
``metadef_catalog_loads`` remembers which namespaces of minicloud's shipped catalog were
loaded once, so that ``minicloud up`` never recreates what an operator deleted nor
overwrites what they changed.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from minicloud.db import Base, utcnow


class MetadefNamespace(Base):
    __tablename__ = "metadef_namespaces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(80), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    visibility: Mapped[str] = mapped_column(String(32), default="private")
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    objects: Mapped[list[MetadefObject]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="MetadefObject.id")
    properties: Mapped[list[MetadefProperty]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="MetadefProperty.id")
    tags: Mapped[list[MetadefTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="MetadefTag.id")
    associations: Mapped[list[MetadefAssociation]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="MetadefAssociation.created_at")


class MetadefResourceType(Base):
    __tablename__ = "metadef_resource_types"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class MetadefAssociation(Base):
    __tablename__ = "metadef_namespace_resource_types"
    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("metadef_namespaces.id", ondelete="CASCADE"), primary_key=True)
    resource_type_id: Mapped[int] = mapped_column(
        ForeignKey("metadef_resource_types.id"), primary_key=True)
    prefix: Mapped[str | None] = mapped_column(String(80), nullable=True)
    properties_target: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    resource_type: Mapped[MetadefResourceType] = relationship(lazy="joined")


class MetadefObject(Base):
    __tablename__ = "metadef_objects"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("metadef_namespaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    required: Mapped[list] = mapped_column(JSON, default=list)
    properties: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class MetadefProperty(Base):
    __tablename__ = "metadef_properties"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("metadef_namespaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    definition: Mapped[dict] = mapped_column(JSON)   # the JSON-schema fragment, no name
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class MetadefTag(Base):
    __tablename__ = "metadef_tags"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("metadef_namespaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class MetadefCatalogLoad(Base):
    """A namespace of the shipped catalog that ``minicloud up`` loaded (once, ever)."""

    __tablename__ = "metadef_catalog_loads"
    namespace: Mapped[str] = mapped_column(String(80), primary_key=True)
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
