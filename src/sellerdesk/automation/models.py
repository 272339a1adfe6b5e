"""Business-hours calendars, SLA policies, and each ticket's SLA state."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Interval,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from sellerdesk.core.clock import now
from sellerdesk.core.db import Base, BigId, CreatedAt, IdPK, JsonType


class Calendar(Base):
    """A store's opening hours: time zone, weekly intervals, holidays (see calendars.py)."""

    __tablename__ = "business_calendars"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    # {"mon": [{"start": "09:00", "end": "12:00"}, ...], ...}
    hours: Mapped[dict[str, Any]] = mapped_column(JsonType)
    # [{"date": "2026-12-24", "name": "Wigilia", "open": [{"start": ..., "end": ...}]}, ...]
    holidays: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[datetime] = mapped_column(default=now)


class SlaPolicy(Base):
    """Targets for the tickets its conditions match; a store's policies are tried in order."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        UniqueConstraint("store_id", "name"),
        Index("ix_sla_policies_store_position", "store_id", "position"),
    )

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # {"channel_types": [...], "marketplaces": [...], "priorities": [...], "tags": [...],
    #  "customer_languages": [...]}: lists left out match anything.
    conditions: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    # {"first_response": {"minutes": 240, "business_hours": true}, ...}
    targets: Mapped[dict[str, Any]] = mapped_column(JsonType)
    calendar_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("business_calendars.id"), default=None, index=True
    )
    pause_on: Mapped[list[str]] = mapped_column(JsonType)
    warn_percent: Mapped[int | None] = mapped_column(Integer, default=None)
    warn_minutes_before: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[datetime] = mapped_column(default=now)


class TicketSla(Base):
    """Which policy a ticket is measured against (None: none matches now)."""

    __tablename__ = "ticket_slas"

    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id"), primary_key=True)
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    policy_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("sla_policies.id"), default=None, index=True
    )
    policy_name: Mapped[str | None] = mapped_column(String(100), default=None)
    # Copied from the policy when applied, so that a later edit of it changes nothing here
    # until the ticket is matched again.
    pause_on: Mapped[list[str]] = mapped_column(JsonType)
    applied_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now)


class TicketSlaTarget(Base):
    """One target's clock on one ticket (the fields of automation.sla.Target)."""

    __tablename__ = "ticket_sla_targets"
    __table_args__ = (
        UniqueConstraint("ticket_id", "kind"),
        # The sweep's only access path: targets whose warning or breach time has come, soonest
        # first. Targets with nothing left to check (met, paused, breached) are not in it.
        Index(
            "ix_ticket_sla_targets_next_check", "next_check_at",
            sqlite_where=text("next_check_at IS NOT NULL"),
            postgresql_where=text("next_check_at IS NOT NULL"),
        ),
        # Unfinished targets on business hours, by calendar: rescheduled when it changes.
        Index(
            "ix_ticket_sla_targets_open_calendar", "calendar_id", "id",
            sqlite_where=text("calendar_id IS NOT NULL AND completed_at IS NULL"),
            postgresql_where=text("calendar_id IS NOT NULL AND completed_at IS NULL"),
        ),
    )

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    goal: Mapped[timedelta] = mapped_column(Interval())
    warn_after: Mapped[timedelta | None] = mapped_column(Interval(), default=None)
    # The calendar whose open hours count (None: calendar time). No foreign key: finished
    # targets keep the id as history after the calendar is gone.
    calendar_id: Mapped[int | None] = mapped_column(BigId, default=None)
    started_at: Mapped[datetime]
    checkpoint_at: Mapped[datetime]
    elapsed: Mapped[timedelta] = mapped_column(Interval())
    running: Mapped[bool] = mapped_column(Boolean)
    paused_since: Mapped[datetime | None] = mapped_column(default=None)
    paused: Mapped[timedelta] = mapped_column(Interval())
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    warn_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    warned_at: Mapped[datetime | None] = mapped_column(default=None)
    breached_at: Mapped[datetime | None] = mapped_column(default=None)
    next_check_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=now)
