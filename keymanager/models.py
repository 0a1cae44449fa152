"""Key manager tables: one row per secret, its payload sealed (``keymanager.sealing``)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from minicloud.db import Base, utcnow


class Secret(Base):
    __tablename__ = "km_secrets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    creator_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    secret_type: Mapped[str] = mapped_column(String(20), default="opaque")
    algorithm: Mapped[str | None] = mapped_column(String(255), nullable=True)
    bit_length: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mode: Mapped[str | None] = mapped_column(String(255), nullable=True)
    expiration: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    #: The payload's content type (``content_types.default``); null until it has one.
    content_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: The payload, sealed with the key manager's key (Fernet); null: metadata only.
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
