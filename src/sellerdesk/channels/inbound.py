"""The one inbound path: every channel's messages enter SellerDesk through `receive`/`ingest`.

1. The raw payload is stored and committed first.
2. The channel's adapter parses it; what can't be parsed goes to quarantine with its reason.
3. (channel, external id) is unique, so a replay is a no-op that returns the first result.
4. The sender's identity finds or creates the customer; thread hints find the ticket. A new
   ticket takes the sender's priority; a later message never changes an existing ticket's.
5. One transaction writes message, attachments, index, ticket changes, audit and job records;
   jobs are dispatched and live events published only after it commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent
from sellerdesk.channels import registry
from sellerdesk.channels.base import (
    Bounce,
    IdentityKind,
    InboundMessage,
    ParseError,
    SenderIdentity,
)
from sellerdesk.channels.models import Channel, RawPayload
from sellerdesk.channels.outbound import record_bounce
from sellerdesk.core.actor import Actor
from sellerdesk.core.clock import now
from sellerdesk.core.db import commit, rollback
from sellerdesk.core.errors import AppError
from sellerdesk.core.html import html_to_text, sanitize
from sellerdesk.customers.actions import resolve_identity
from sellerdesk.jobs import outbox
from sellerdesk.tickets import audit, search
from sellerdesk.tickets.attachments import store_attachments
from sellerdesk.tickets.events import publish_after_commit
from sellerdesk.tickets.models import Message, Ticket
from sellerdesk.tickets.states import DeliveryStatus, Direction, Priority, Status

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    CREATED = "created"  # a new ticket
    APPENDED = "appended"  # a message on an existing ticket
    DUPLICATE = "duplicate"  # seen before; nothing changed
    QUARANTINED = "quarantined"
    BOUNCE = "bounce"  # a delivery report on a message we sent; no ticket


class RawStatus(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"


@dataclass(frozen=True, slots=True)
class IngestResult:
    outcome: Outcome
    raw_payload_id: int | None
    ticket_id: int | None = None
    message_id: int | None = None
    error_code: str | None = None
    error_reason: str | None = None
    error_field: str | None = None


REOPEN_ON_CUSTOMER_REPLY = {Status.PENDING, Status.ON_HOLD, Status.SOLVED}


async def receive(
    db: AsyncSession, *, channel: Channel, body: bytes, content_type: str
) -> IngestResult:
    """Store a payload exactly as it arrived, then parse and ingest it."""
    raw = RawPayload(
        store_id=channel.store_id, channel_id=channel.id, content_type=content_type, body=body
    )
    db.add(raw)
    await commit(db)
    return await process_raw(db, raw=raw, channel=channel)


STALE_AFTER = timedelta(minutes=2)


async def recover_stale(db: AsyncSession, *, limit: int = 200) -> int:
    """Process payloads that were stored but never parsed (the process died in between)."""
    rows = await db.execute(
        select(RawPayload, Channel).join(Channel, Channel.id == RawPayload.channel_id)
        .where(RawPayload.status == RawStatus.RECEIVED,
               RawPayload.received_at < now() - STALE_AFTER)
        .order_by(RawPayload.id).limit(limit)
    )
    pairs = list(rows)
    for raw, channel in pairs:
        await process_raw(db, raw=raw, channel=channel)
    return len(pairs)


async def process_raw(db: AsyncSession, *, raw: RawPayload, channel: Channel) -> IngestResult:
    """Parse a stored payload with its channel's adapter and ingest it (also quarantine retry)."""
    raw.attempts += 1
    try:
        message = registry.adapter_for(channel.type).parse(raw, channel)
    except ParseError as exc:
        return await _quarantine(db, raw, exc.code, exc.reason, exc.field)
    except Bounce as report:
        return await _bounce(db, raw, channel, report)
    except Exception as exc:
        # Whatever an adapter trips over, the payload is kept and the worker lives on.
        log.exception("adapter %s failed on raw payload %s", channel.type, raw.id)
        return await _quarantine(db, raw, "inbound.parser_crashed", repr(exc)[:2000], None)
    return await ingest(db, message, raw=raw)


async def _bounce(
    db: AsyncSession, raw: RawPayload, channel: Channel, report: Bounce
) -> IngestResult:
    """A report that mail we sent bounced: the sent message is marked, no ticket is opened."""
    sent = await record_bounce(db, store_id=channel.store_id, channel_id=channel.id,
                               report=report)
    if sent is None:
        ids = ", ".join(report.original_ids) or "none"
        return await _quarantine(db, raw, "inbound.unmatched_bounce",
                                 f"a delivery report on mail SellerDesk did not send "
                                 f"(original Message-ID: {ids}): {report.reason}", None)
    raw.status = RawStatus.PROCESSED
    raw.message_id = sent.id
    raw.error_code = raw.error_reason = None
    raw.processed_at = now()
    await commit(db)
    return IngestResult(Outcome.BOUNCE, raw.id, sent.ticket_id, sent.id)


async def _quarantine(
    db: AsyncSession, raw: RawPayload, code: str, reason: str, field: str | None
) -> IngestResult:
    raw.status = RawStatus.QUARANTINED
    raw.error_code = code
    raw.error_reason = reason
    raw.processed_at = now()
    await commit(db)
    return IngestResult(Outcome.QUARANTINED, raw.id, error_code=code, error_reason=reason,
                        error_field=field)


WRITE_ATTEMPTS = 3


async def ingest(
    db: AsyncSession, message: InboundMessage, *, raw: RawPayload | None = None
) -> IngestResult:
    """Thread and store one parsed message in one transaction."""
    raw_id = raw.id if raw is not None else None
    # process_raw counted this attempt; a rollback below would forget it.
    attempts = raw.attempts if raw is not None else 0
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        existing = await _existing(db, message)
        if existing is not None:
            return await _mark_duplicate(db, raw, existing)
        try:
            result = await _write(db, message, raw)
            await commit(db)
        except IntegrityError:
            # A concurrent ingest stored the same message (then it is a duplicate) or created
            # the same sender's customer or tag first (then writing again finds them).
            await rollback(db)
            raw = await _reload(db, raw_id, attempts)
            if attempt == WRITE_ATTEMPTS:
                raise
            continue
        except AppError as exc:
            await rollback(db)
            raw = await _reload(db, raw_id, attempts)
            if raw is None:
                raise
            return await _quarantine(db, raw, exc.code, exc.message, exc.field)
        return result
    raise AssertionError("unreachable")  # pragma: no cover


async def _reload(db: AsyncSession, raw_id: int | None, attempts: int) -> RawPayload | None:
    """The raw payload after a rollback, with the attempt count the rollback undid."""
    if raw_id is None:
        return None
    raw = await db.get(RawPayload, raw_id)
    if raw is not None:
        raw.attempts = attempts
    return raw


async def _existing(db: AsyncSession, message: InboundMessage) -> tuple[int, int] | None:
    row = await db.execute(
        select(Message.id, Message.ticket_id).where(
            Message.channel_id == message.channel_id, Message.external_id == message.external_id
        )
    )
    found = row.first()
    return (found[0], found[1]) if found else None


async def _mark_duplicate(
    db: AsyncSession, raw: RawPayload | None, existing: tuple[int, int]
) -> IngestResult:
    message_id, ticket_id = existing
    if raw is not None:
        raw.status = RawStatus.DUPLICATE
        raw.message_id = message_id
        raw.processed_at = now()
        await commit(db)
    return IngestResult(Outcome.DUPLICATE, raw.id if raw else None, ticket_id, message_id)


async def _write(
    db: AsyncSession, message: InboundMessage, raw: RawPayload | None
) -> IngestResult:
    actor = Actor("channel", message.channel_id)
    author = await _author(db, message)
    customer = await resolve_identity(db, store_id=message.store_id, sender=author)
    ticket = await _find_ticket(db, message)
    stamp = message.received_at or now()
    created = ticket is None
    if ticket is None:
        ticket = Ticket(
            store_id=message.store_id,
            subject=message.subject.strip()[:500] or _subject_from(message.text),
            status=Status.NEW,
            channel_id=message.channel_id,
            channel_type=message.channel_type,
            marketplace=message.marketplace,
            customer_id=customer.id,
            thread_key=message.hints.thread_key,
            language=customer.language,
            priority=_priority(message),
            created_at=stamp,
        )
        db.add(ticket)
        await db.flush()
    elif Status(ticket.status) in REOPEN_ON_CUSTOMER_REPLY:
        audit.record(
            db, store_id=ticket.store_id, actor=actor, entity_type="ticket", entity_id=ticket.id,
            ticket_id=ticket.id, action="ticket.reopened",
            before={"status": ticket.status}, after={"status": Status.OPEN.value},
        )
        ticket.status = Status.OPEN
        ticket.solved_at = None
    html = sanitize(message.html) if message.html else None
    body = message.text if message.text.strip() else (html_to_text(html) if html else "")
    row = Message(
        store_id=message.store_id,
        ticket_id=ticket.id,
        channel_id=message.channel_id,
        direction=Direction.INBOUND,
        author_customer_id=customer.id,
        author_name=author.name or customer.name,
        text=body,
        html=html,
        display_text=message.display_text,
        external_id=message.external_id,
        raw_payload_id=raw.id if raw is not None else None,
        delivery_status=DeliveryStatus.RECEIVED,
        sent_at=message.sent_at,
        created_at=stamp,
    )
    db.add(row)
    await db.flush()
    store_attachments(db, store_id=message.store_id, message_id=row.id,
                      files=message.attachments)
    await search.index_message(
        db, message_id=row.id, store_id=message.store_id, body=body,
        subject=ticket.subject if created else None,
    )
    ticket.message_count += 1
    ticket.last_message_at = stamp
    ticket.updated_at = stamp
    if created:
        audit.record(
            db, store_id=ticket.store_id, actor=actor, entity_type="ticket", entity_id=ticket.id,
            ticket_id=ticket.id, action="ticket.created",
            after={"subject": ticket.subject, "channel_type": ticket.channel_type,
                   "marketplace": ticket.marketplace, "customer_id": customer.id,
                   "priority": ticket.priority},
        )
    audit.record(
        db, store_id=ticket.store_id, actor=actor, entity_type="message", entity_id=row.id,
        ticket_id=ticket.id, action="message.received",
        after={"external_id": message.external_id, "attachments": len(message.attachments)},
    )
    if raw is not None:
        raw.status = RawStatus.PROCESSED
        raw.message_id = row.id
        raw.error_code = raw.error_reason = None
        raw.processed_at = stamp
    outbox.enqueue(db, "inbound.received", message_id=row.id)
    publish_after_commit(
        db, ticket.store_id,
        {"type": "ticket.created" if created else "message.created",
         "ticket_id": ticket.id, "message_id": row.id},
    )
    return IngestResult(
        Outcome.CREATED if created else Outcome.APPENDED,
        raw.id if raw is not None else None, ticket.id, row.id,
    )


async def _author(db: AsyncSession, message: InboundMessage) -> SenderIdentity:
    """Who wrote it: the sender, or the original author of mail an agent of the store passed on."""
    original = message.on_behalf_of
    if original is None or message.sender.kind is not IdentityKind.EMAIL:
        return message.sender
    agent = await db.scalar(select(Agent.id).where(
        Agent.store_id == message.store_id, Agent.email == message.sender.value,
        Agent.is_active.is_(True)))
    return original if agent is not None else message.sender


_PRIORITIES = frozenset(p.value for p in Priority)


def _priority(message: InboundMessage) -> str:
    """A new ticket's priority: the sender's, when the channel gives a known one.

    Later messages leave an existing ticket's priority alone (see InboundMessage.priority).
    """
    given = message.priority
    return given if given is not None and given in _PRIORITIES else Priority.NORMAL.value


def _subject_from(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first[:120] or "(no subject)"


async def _find_ticket(db: AsyncSession, message: InboundMessage) -> Ticket | None:
    """The conversation this message continues, if any; a closed ticket starts a follow-up."""
    hints = message.hints
    ticket: Ticket | None = None
    if hints.ticket_id is not None:
        ticket = (await db.execute(
            select(Ticket).where(Ticket.id == hints.ticket_id,
                                 Ticket.store_id == message.store_id)
        )).scalar_one_or_none()
    if ticket is None and hints.references:
        ticket_id = (await db.execute(
            select(Message.ticket_id)
            .where(Message.store_id == message.store_id,
                   Message.external_id.in_(list(hints.references)))
            .order_by(Message.id.desc()).limit(1)
        )).scalar_one_or_none()
        if ticket_id is not None:
            ticket = await db.get(Ticket, ticket_id)
    if ticket is None and hints.thread_key is not None:
        ticket = (await db.execute(
            select(Ticket)
            .where(Ticket.store_id == message.store_id, Ticket.channel_id == message.channel_id,
                   Ticket.thread_key == hints.thread_key)
            .order_by(Ticket.id.desc()).limit(1)
        )).scalar_one_or_none()
    ticket = await _follow_merges(db, ticket)
    if ticket is not None and ticket.status == Status.CLOSED:
        return None
    return ticket


async def _follow_merges(db: AsyncSession, ticket: Ticket | None) -> Ticket | None:
    seen: set[int] = set()
    while ticket is not None and ticket.merged_into_id is not None and ticket.id not in seen:
        seen.add(ticket.id)
        ticket = await db.get(Ticket, ticket.merged_into_id)
    return ticket
