"""Channels (where conversations come from) and raw payloads (what arrived, kept first)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from sellerdesk.core.db import Base, BigId, CreatedAt, IdPK, JsonType


class Channel(Base):
    __tablename__ = "channels"

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    marketplace: Mapped[str | None] = mapped_column(String(32), default=None)
    config: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[CreatedAt]


class RawPayload(Base):
    """Exactly what a channel received, stored before parsing so nothing is ever lost."""

    __tablename__ = "raw_payloads"
    __table_args__ = (Index("ix_raw_payloads_store_status", "store_id", "status", "id"),)

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    channel_id: Mapped[int] = mapped_column(BigId, ForeignKey("channels.id"))
    content_type: Mapped[str] = mapped_column(String(127))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="received")
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_reason: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[int | None] = mapped_column(BigId, default=None)
    # Imported history (an mbox, say): whenever it is processed, it starts no automation.
    is_historical: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    received_at: Mapped[CreatedAt]
    processed_at: Mapped[datetime | None] = mapped_column(default=None)
