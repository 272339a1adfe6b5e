"""Rules per store, their runs (one per rule and event, for idempotency), and a per-store
version counter that tells every process when its compiled rules are stale."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sellerdesk.core.clock import now
from sellerdesk.core.db import Base, BigId, CreatedAt, IdPK, JsonType


class Rule(Base):
    __tablename__ = "rules"
    __table_args__ = (
        UniqueConstraint("store_id", "name"),
        Index("ix_rules_store_position", "store_id", "position"),
    )

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    position: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # event names (events.RuleEvent) the rule listens to
    events: Mapped[list[str]] = mapped_column(JsonType)
    # {"all" | "any": [node, ...]}, node: a group or {"field", "op", "value"} (conditions.py)
    conditions: Mapped[dict[str, Any]] = mapped_column(JsonType)
    # [{"type": ..., ...}, ...] (effects.py), validated when saved
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    times_fired: Mapped[int] = mapped_column(Integer, default=0)
    last_fired_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[datetime] = mapped_column(default=now)


class RuleRun(Base):
    """A rule fired for one event: a retried job finds it and does not fire the rule again."""

    __tablename__ = "rule_runs"
    __table_args__ = (
        UniqueConstraint("rule_id", "event_key"),
        Index("ix_rule_runs_ticket", "ticket_id", "id"),
    )

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    rule_id: Mapped[int] = mapped_column(BigId, ForeignKey("rules.id"))
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id"))
    # what happened, e.g. "message:42", "status:<uuid>", "sla.warning:first_response:<due>"
    event_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[CreatedAt]


class RuleSet(Base):
    """A new version with every change to a store's rules; compiled rules are cached per
    version. Random rather than counted, so a version number never comes back (a restored
    backup, a rolled-back test) to name a different set of rules."""

    __tablename__ = "rule_sets"

    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"), primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(default=now)
