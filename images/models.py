"""Image tables. Deleted images keep their row (status ``deleted``) and lose everything else."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from minicloud.db import Base, utcnow


class Image(Base):
    __tablename__ = "images"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(30), index=True)
    visibility: Mapped[str] = mapped_column(String(20), default="shared")
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    os_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    checksum: Mapped[str | None] = mapped_column(String(32), nullable=True)
    os_hash_algo: Mapped[str | None] = mapped_column(String(64), nullable=True)
    os_hash_value: Mapped[str | None] = mapped_column(String(128), nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    disk_format: Mapped[str | None] = mapped_column(String(20), nullable=True)
    container_format: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    properties: Mapped[list[ImageProperty]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")
    tags: Mapped[list[ImageTag]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    members: Mapped[list[ImageMember]] = relationship(cascade="all, delete-orphan",
                                                      lazy="selectin")


class ImageProperty(Base):
    __tablename__ = "image_properties"
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"),
                                          primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ImageTag(Base):
    __tablename__ = "image_tags"
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"),
                                          primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)


class ImageMember(Base):
    __tablename__ = "image_members"
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"),
                                          primary_key=True)
    member: Mapped[str] = mapped_column(String(255), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ImageTask(Base):
    """A Glance task (``/v2/tasks``): one per import. Finished tasks expire (``expires_at``)
    and are then removed."""

    __tablename__ = "image_tasks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30), index=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    image_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    input: Mapped[dict] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True,
                                                           index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
