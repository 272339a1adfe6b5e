"""Routing state: agents' availability and capacities, teams' modes, the waiting queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from sellerdesk.core.clock import now
from sellerdesk.core.db import Base, BigId, JsonType


class RoutingSettings(Base):
    """A store's defaults; a store without a row uses DEFAULT_CAPACITIES and DEFAULT_REROUTE."""

    __tablename__ = "routing_settings"

    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"), primary_key=True)
    # channel type → open tickets an agent takes at once; a type left out is unlimited
    capacities: Mapped[dict[str, Any]] = mapped_column(JsonType)
    # channel types whose open tickets go back to routing when their agent goes offline
    reroute_on_offline: Mapped[list[str]] = mapped_column(JsonType)
    updated_at: Mapped[datetime] = mapped_column(default=now)


class AgentRouting(Base):
    """One agent's availability, languages, skills and capacity overrides.

    The row is also the lock that keeps two routers from filling the same seat twice.
    """

    __tablename__ = "routing_agents"

    agent_id: Mapped[int] = mapped_column(BigId, ForeignKey("agents.id"), primary_key=True)
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"), index=True)
    availability: Mapped[str] = mapped_column(String(16), default="offline")
    availability_changed_at: Mapped[datetime | None] = mapped_column(default=None)
    # empty: the agent's own interface language (accounts.Agent.language)
    languages: Mapped[list[str]] = mapped_column(JsonType, default=list)
    skills: Mapped[list[str]] = mapped_column(JsonType, default=list)
    # channel type → capacity (null: unlimited); a type left out follows the store's default
    capacities: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    last_routed_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=now)


class TeamRouting(Base):
    """A team's routing mode and its round-robin pointer (kept here so it survives restarts)."""

    __tablename__ = "routing_teams"

    team_id: Mapped[int] = mapped_column(BigId, ForeignKey("teams.id"), primary_key=True)
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"), index=True)
    mode: Mapped[str] = mapped_column(String(16), default="manual")
    rr_last_agent_id: Mapped[int | None] = mapped_column(BigId, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=now)


class ChannelTeam(Base):
    """New tickets of a channel enter this team when nothing (a rule) chose one before."""

    __tablename__ = "routing_channels"

    channel_id: Mapped[int] = mapped_column(BigId, ForeignKey("channels.id"), primary_key=True)
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    team_id: Mapped[int] = mapped_column(BigId, ForeignKey("teams.id"), index=True)


class QueuedTicket(Base):
    """A ticket waiting in its team's queue for an agent with room (everyone was full)."""

    __tablename__ = "routing_queue"
    __table_args__ = (Index("ix_routing_queue_team_queued", "team_id", "queued_at"),)

    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id"), primary_key=True)
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    team_id: Mapped[int] = mapped_column(BigId, ForeignKey("teams.id"))
    queued_at: Mapped[datetime] = mapped_column(default=now)
