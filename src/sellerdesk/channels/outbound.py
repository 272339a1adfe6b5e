"""Sending queued outbound messages through their channel's adapter, exactly once, and
recording what channels report back about them (bounces)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels import registry
from sellerdesk.channels.base import (
    Bounce,
    DeliveryError,
    IdentityKind,
    InboundAttachment,
    OutboundDelivery,
    SenderIdentity,
)
from sellerdesk.channels.models import Channel
from sellerdesk.core import context
from sellerdesk.core.actor import Actor
from sellerdesk.core.clock import now
from sellerdesk.core.db import commit
from sellerdesk.core.errors import AppError
from sellerdesk.customers.models import CustomerIdentity
from sellerdesk.jobs.registry import RetryLater
from sellerdesk.tickets import audit
from sellerdesk.tickets.events import publish_after_commit
from sellerdesk.tickets.models import Attachment, Message, Ticket
from sellerdesk.tickets.states import DeliveryStatus, Direction

log = logging.getLogger(__name__)


async def _recipient(db: AsyncSession, ticket: Ticket) -> SenderIdentity | None:
    if ticket.customer_id is None:
        return None
    identity = (await db.execute(
        select(CustomerIdentity).where(CustomerIdentity.customer_id == ticket.customer_id)
        .order_by(CustomerIdentity.id).limit(1)
    )).scalar_one_or_none()
    if identity is None:
        return None
    return SenderIdentity(IdentityKind(identity.kind), identity.value, identity.display_name)


async def _references(db: AsyncSession, ticket_id: int) -> tuple[str, ...]:
    rows = await db.execute(
        select(Message.external_id).where(Message.ticket_id == ticket_id,
                                          Message.external_id.is_not(None))
        .order_by(Message.id)
    )
    return tuple(r for r in rows.scalars() if r)


async def _attachments(db: AsyncSession, message_id: int) -> tuple[InboundAttachment, ...]:
    blobs = context.get().blobs
    rows = await db.execute(select(Attachment).where(Attachment.message_id == message_id))
    return tuple(InboundAttachment(a.filename, a.content_type, blobs.get(a.sha256))
                 for a in rows.scalars())


async def deliver(db: AsyncSession, *, message_id: int) -> None:
    """Send one queued message; a sent one is never sent again. Raises RetryLater on a
    passing failure (the job layer retries with backoff)."""
    message = await db.get(Message, message_id)
    if message is None or message.delivery_status != DeliveryStatus.QUEUED:
        return
    ticket = await db.get(Ticket, message.ticket_id)
    channel = await db.get(Channel, message.channel_id) if message.channel_id else None
    if ticket is None or channel is None:
        await _fail(db, message, "the ticket has no channel to reply through")
        return
    message.delivery_attempts += 1
    delivery = OutboundDelivery(
        channel=channel,
        store_id=message.store_id,
        ticket_id=ticket.id,
        message_id=message.id,
        idempotency_key=message.idempotency_key or f"message-{message.id}",
        recipient=await _recipient(db, ticket),
        subject=ticket.subject,
        text=message.text,
        html=message.html,
        attachments=await _attachments(db, message.id),
        references=await _references(db, ticket.id),
        thread_key=ticket.thread_key,
    )
    try:
        adapter = registry.adapter_for(channel.type)
        result = await adapter.send(db, delivery)
    except AppError as exc:
        await _fail(db, message, exc.message)
        return
    except DeliveryError as exc:
        if not exc.retryable:
            await _fail(db, message, exc.reason)
            return
        message.delivery_error = exc.reason
        await commit(db)
        raise RetryLater(exc.reason) from exc
    message.delivery_status = DeliveryStatus.SENT
    message.delivery_error = None
    message.sent_at = now()
    if result.external_id:
        message.external_id = result.external_id
    publish_after_commit(db, message.store_id, {
        "type": "message.delivery", "ticket_id": message.ticket_id, "message_id": message.id,
        "status": DeliveryStatus.SENT.value,
    })
    await commit(db)


async def _fail(db: AsyncSession, message: Message, reason: str) -> None:
    message.delivery_status = DeliveryStatus.FAILED
    message.delivery_error = reason[:2000]
    publish_after_commit(db, message.store_id, {
        "type": "message.delivery", "ticket_id": message.ticket_id, "message_id": message.id,
        "status": DeliveryStatus.FAILED.value, "error": message.delivery_error,
    })
    await commit(db)


async def give_up(db: AsyncSession, error: str, *, message_id: int) -> None:
    """After the last retry: the message is marked failed with the last reason."""
    message = await db.get(Message, message_id)
    if message is not None and message.delivery_status == DeliveryStatus.QUEUED:
        await _fail(db, message, message.delivery_error or error)


async def record_bounce(
    db: AsyncSession, *, store_id: int, channel_id: int, report: Bounce
) -> Message | None:
    """Mark the outbound message a failure report is about as failed (no commit).

    Returns the message the report is about, or None when SellerDesk did not send it.
    A report that is not a failure ("delayed") and a repeated report change nothing.
    """
    if not report.original_ids:
        return None
    message = (await db.execute(
        select(Message)
        .where(Message.store_id == store_id, Message.direction == Direction.OUTBOUND,
               Message.external_id.in_(list(report.original_ids)))
        .order_by(Message.id.desc()).limit(1)
    )).scalar_one_or_none()
    if message is None or not report.is_failure:
        return message
    if message.delivery_status == DeliveryStatus.FAILED:
        return message
    before = message.delivery_status
    message.delivery_status = DeliveryStatus.FAILED
    message.delivery_error = report.reason[:2000]
    audit.record(
        db, store_id=store_id, actor=Actor("channel", channel_id), entity_type="message",
        entity_id=message.id, ticket_id=message.ticket_id, action="message.bounced",
        before={"delivery_status": before},
        after={"delivery_status": DeliveryStatus.FAILED.value,
               "delivery_error": message.delivery_error, "recipient": report.recipient},
    )
    publish_after_commit(db, store_id, {
        "type": "message.delivery", "ticket_id": message.ticket_id, "message_id": message.id,
        "status": DeliveryStatus.FAILED.value, "error": message.delivery_error,
        "bounced": True,
    })
    log.info("message %s bounced: %s", message.id, message.delivery_error)
    return message
