"""Tickets, messages, attachments, tags and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from sellerdesk.core.clock import now
from sellerdesk.core.db import Base, BigId, CreatedAt, IdPK, JsonType

ACTIVE_STATUSES = ("new", "open", "pending", "on_hold")

ticket_tags = Table(
    "ticket_tags",
    Base.metadata,
    Column("ticket_id", BigId, ForeignKey("tickets.id"), primary_key=True),
    Column("tag_id", BigId, ForeignKey("tags.id"), primary_key=True),
    Index("ix_ticket_tags_tag_id_ticket_id", "tag_id", "ticket_id"),
)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_store_updated", "store_id", "updated_at", "id"),
        Index("ix_tickets_store_status_updated", "store_id", "status", "updated_at", "id"),
        Index(
            "ix_tickets_active_team_sla", "store_id", "team_id", "sla_due_at", "id",
            sqlite_where=text("status IN ('new', 'open', 'pending', 'on_hold')"),
            postgresql_where=text("status IN ('new', 'open', 'pending', 'on_hold')"),
        ),
        Index(
            "ix_tickets_active_sla", "store_id", "sla_due_at", "id",
            sqlite_where=text("status IN ('new', 'open', 'pending', 'on_hold')"),
            postgresql_where=text("status IN ('new', 'open', 'pending', 'on_hold')"),
        ),
        Index("ix_tickets_store_assignee_status", "store_id", "assignee_id", "status"),
        Index("ix_tickets_thread_key", "store_id", "channel_id", "thread_key"),
        Index("ix_tickets_customer", "customer_id", "id"),
    )

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    subject: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="new")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    channel_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("channels.id"))
    channel_type: Mapped[str] = mapped_column(String(32))
    marketplace: Mapped[str | None] = mapped_column(String(32), default=None)
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id"))
    assignee_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("agents.id"), default=None)
    team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("teams.id"), default=None)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    thread_key: Mapped[str | None] = mapped_column(String(255), default=None)
    merged_into_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("tickets.id"), default=None
    )
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[datetime] = mapped_column(default=now)
    last_message_at: Mapped[datetime | None] = mapped_column(default=None)
    first_response_at: Mapped[datetime | None] = mapped_column(default=None)
    solved_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    sla_due_at: Mapped[datetime | None] = mapped_column(default=None)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id"),
        Index("ix_messages_ticket", "ticket_id", "id"),
        Index("ix_messages_store_external", "store_id", "external_id"),
    )

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id"))
    channel_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("channels.id"))
    direction: Mapped[str] = mapped_column(String(16))
    author_agent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("agents.id"), default=None
    )
    author_customer_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("customers.id"), default=None
    )
    author_name: Mapped[str | None] = mapped_column(String(200), default=None)
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str | None] = mapped_column(Text, default=None)
    # The new part of an inbound reply for display (quoted history and signature removed);
    # None when it is all of `text`, which always keeps the full original.
    display_text: Mapped[str | None] = mapped_column(Text, default=None)
    external_id: Mapped[str | None] = mapped_column(String(512), default=None)
    raw_payload_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("raw_payloads.id"), default=None
    )
    delivery_status: Mapped[str] = mapped_column(String(16), default="received")
    delivery_error: Mapped[str | None] = mapped_column(Text, default=None)
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(64), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    # Imported from an archive (mbox, maildir, .eml): history, which started no automation.
    is_historical: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[CreatedAt]


class Attachment(Base):
    """A file on a message; the bytes live once in the blob store under their SHA-256."""

    __tablename__ = "attachments"

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    message_id: Mapped[int] = mapped_column(BigId, ForeignKey("messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # The Content-ID (without <>) that the message's HTML names in cid: links, and whether the
    # HTML shows it inline; readers rewrite those links to the attachment's URL.
    content_id: Mapped[str | None] = mapped_column(String(255), default=None)
    inline: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[CreatedAt]


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    name: Mapped[str] = mapped_column(String(64))


class AuditEvent(Base):
    """Who changed what, from what to what, and when."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_store_id_id", "store_id", "id"),
        Index("ix_audit_events_ticket", "ticket_id", "id"),
        Index("ix_audit_events_entity", "store_id", "entity_type", "entity_id"),
    )

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    ticket_id: Mapped[int | None] = mapped_column(BigId, default=None)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(BigId)
    action: Mapped[str] = mapped_column(String(64))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(BigId, default=None)
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)
    created_at: Mapped[CreatedAt]
