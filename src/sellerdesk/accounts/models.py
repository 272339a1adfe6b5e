"""Stores (tenants), agents, teams and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sellerdesk.core.db import Base, BigId, CreatedAt, IdPK


class Store(Base):
    __tablename__ = "stores"

    id: Mapped[IdPK]
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    default_language: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[CreatedAt]


class Agent(Base):
    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("store_id", "email"),)

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    language: Mapped[str] = mapped_column(String(8), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[CreatedAt]


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    created_at: Mapped[CreatedAt]


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(BigId, ForeignKey("teams.id"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("agents.id"), primary_key=True, index=True
    )


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_store_id", "store_id"),)

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    agent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("agents.id"), default=None)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[CreatedAt]
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class WebSession(Base):
    """A signed-in browser: the cookie carries the token, only its SHA-256 is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[IdPK]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[int] = mapped_column(BigId, ForeignKey("agents.id"), index=True)
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[CreatedAt]
    expires_at: Mapped[datetime]


class LoginFailure(Base):
    """One failed sign-in; enough of them in a window locks the address for a while."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_email_at", "email", "created_at"),)

    id: Mapped[IdPK]
    email: Mapped[str] = mapped_column(String(320))
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[CreatedAt]


class PasswordReset(Base):
    """A password-reset link sent by email: single use, short-lived, stored as SHA-256."""

    __tablename__ = "password_resets"

    id: Mapped[IdPK]
    agent_id: Mapped[int] = mapped_column(BigId, ForeignKey("agents.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[CreatedAt]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
