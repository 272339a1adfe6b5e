"""The macros table: per store, one template per language and the actions applied on use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sellerdesk.core.clock import now
from sellerdesk.core.db import Base, BigId, CreatedAt, IdPK, JsonType


class Macro(Base):
    __tablename__ = "macros"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    # language code → template source, checked when saved (templating.check)
    variants: Mapped[dict[str, str]] = mapped_column(JsonType)
    # {"status"?: str, "priority"?: str, "tags"?: [str]}, validated when saved
    actions: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[datetime] = mapped_column(default=now)
