"""What every channel adapter speaks: inbound messages in, deliveries out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels.models import Channel, RawPayload


class IdentityKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    MARKETPLACE = "marketplace"
    SOCIAL = "social"
    HANDLE = "handle"


@dataclass(frozen=True, slots=True)
class SenderIdentity:
    kind: IdentityKind
    value: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class InboundAttachment:
    filename: str
    content_type: str | None
    data: bytes
    content_id: str | None = None  # without angle brackets; what the HTML's cid: links name
    inline: bool = False  # shown inside the HTML body rather than listed as a file


@dataclass(frozen=True, slots=True)
class ThreadHints:
    """Everything that may tie a message to an existing conversation."""

    references: tuple[str, ...] = ()  # external ids of earlier messages (Message-ID chain)
    ticket_id: int | None = None  # a ticket token we put in an earlier reply
    thread_key: str | None = None  # a channel's own conversation id
    order_id: str | None = None


@dataclass(slots=True)
class InboundMessage:
    """A message from any channel, in the one shape the inbound path accepts."""

    store_id: int
    channel_id: int
    channel_type: str
    external_id: str
    sender: SenderIdentity
    subject: str
    text: str
    html: str | None = None
    recipients: tuple[str, ...] = ()
    attachments: list[InboundAttachment] = field(default_factory=list)
    hints: ThreadHints = field(default_factory=ThreadHints)
    sent_at: datetime | None = None
    marketplace: str | None = None
    raw_payload_id: int | None = None
    # When it reached us; only importers of history set it, everyone else gets now().
    received_at: datetime | None = None
    # Why the message was sent by a machine (auto-reply, bulk, list...): never answer it
    # automatically. None for a person's message.
    auto_submitted: str | None = None
    # The original author when the sender passed on someone else's message (an agent
    # forwarding a customer's mail); honoured only when the sender is an agent of the store.
    on_behalf_of: SenderIdentity | None = None
    # The sender's priority (low | normal | high | urgent), e.g. from mail headers. It sets a
    # new ticket's priority only: on an existing ticket, priority is the agents' and rules'
    # decision, which a customer's later message neither raises nor lowers.
    priority: str | None = None
    # The new part of the message for display (quoted history and signature removed); None
    # when it is the whole text. `text` always keeps the full original.
    display_text: str | None = None


class ParseError(Exception):
    """A payload that can't become an InboundMessage; it goes to quarantine with this reason."""

    def __init__(self, code: str, reason: str, *, field: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.field = field


class Bounce(Exception):
    """A payload that reports on a message we sent (a mail DSN, a marketplace delivery
    failure), not a message from a customer: the inbound path records it on that message."""

    def __init__(self, *, original_ids: tuple[str, ...], action: str, reason: str,
                 recipient: str | None = None) -> None:
        super().__init__(reason)
        self.original_ids = original_ids  # external ids of the messages it reports on
        self.action = action  # failed | delayed | delivered | relayed | expanded
        self.reason = reason
        self.recipient = recipient

    @property
    def is_failure(self) -> bool:
        return self.action == "failed"


class DeliveryError(Exception):
    """Sending failed; `retryable` says whether trying again may help."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class OutboundDelivery:
    """One outbound message as the adapter needs it."""

    channel: Channel
    store_id: int
    ticket_id: int
    message_id: int
    idempotency_key: str
    recipient: SenderIdentity | None
    subject: str
    text: str
    html: str | None
    attachments: tuple[InboundAttachment, ...]
    references: tuple[str, ...]
    thread_key: str | None


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    external_id: str | None


class ChannelAdapter(Protocol):
    type: str

    def parse(self, raw: RawPayload, channel: Channel) -> InboundMessage:
        """Turn a stored raw payload into an InboundMessage or raise ParseError."""
        ...

    async def send(self, db: AsyncSession, delivery: OutboundDelivery) -> DeliveryResult:
        """Deliver one outbound message, or raise DeliveryError. `db` is the delivering job's
        session, for adapters that need their account (e.g. SMTP settings) or commit a token."""
        ...
