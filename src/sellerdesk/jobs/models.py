"""Job records written in the same transaction as the change that needs them (an outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sellerdesk.core.clock import now
from sellerdesk.core.db import Base, CreatedAt, IdPK, JsonType


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_run_after", "run_after"),)

    id: Mapped[IdPK]
    name: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(default=now)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[CreatedAt]
