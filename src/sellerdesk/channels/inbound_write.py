"""Writing parsed inbound messages: customers, threading, messages, index, audit, jobs.

`write_batch` writes any number of messages into the current transaction (the caller
commits) with a fixed number of statements per batch rather than per message: one lookup
each for duplicates, identities, thread hints; one INSERT each for customers, tickets,
messages, index rows, audit events and jobs. Within a batch, messages are decided in order
exactly as if they had arrived one by one: two mails of one new sender share one customer, a
reply threads onto the ticket that an earlier mail of the same batch opened, and a mail seen
twice is stored once.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent
from sellerdesk.channels.base import IdentityKind, InboundMessage, SenderIdentity
from sellerdesk.channels.models import RawPayload
from sellerdesk.core.actor import Actor
from sellerdesk.core.clock import now
from sellerdesk.core.db import Base, dialect_name
from sellerdesk.core.html import html_to_text, sanitize
from sellerdesk.core.text import detect_language
from sellerdesk.customers.models import Customer, CustomerIdentity
from sellerdesk.jobs import outbox
from sellerdesk.jobs.models import Job
from sellerdesk.tickets import audit, search
from sellerdesk.tickets.attachments import store_attachments
from sellerdesk.tickets.events import publish_after_commit
from sellerdesk.tickets.models import Attachment, AuditEvent, Message, Ticket
from sellerdesk.tickets.states import DeliveryStatus, Direction, Priority, Status

T = TypeVar("T")


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


@dataclass(frozen=True, slots=True)
class WriteItem:
    message: InboundMessage
    raw: RawPayload | None
    historical: bool = False

    def stamp(self) -> datetime:
        """When the message counts as received: now, or for imported history its own date."""
        if self.message.received_at is not None:
            return self.message.received_at
        current = now()
        sent = self.message.sent_at
        if self.historical and sent is not None:
            return min(sent, current)
        return current


@dataclass(slots=True)
class _Plan:
    """Where one message goes, decided before anything of the batch is inserted."""

    item: WriteItem
    author: SenderIdentity
    customer: Customer
    ticket: Ticket
    created: bool
    reopened_from: str | None
    stamp: datetime
    row: Message | None = None


async def number_pending(db: AsyncSession, *models: type[Base]) -> None:
    """Give the session's new rows of these tables their ids now, on SQLite.

    SQLAlchemy inserts rows whose ids the database assigns one INSERT ... RETURNING at a time
    on SQLite (it cannot match RETURNING rows to parameters there); with the ids known it
    sends one executemany. They are the ids SQLite would hand out itself: max(id) + 1 ...,
    and no other writer can insert meanwhile, since every write transaction holds SQLite's
    write lock from its start (BEGIN IMMEDIATE, core/db.py).
    """
    if dialect_name(db) != "sqlite":
        return  # PostgreSQL batches the INSERT ... RETURNING itself
    for model in models:
        pending = [obj for obj in db.new
                   if type(obj) is model and getattr(obj, "id", None) is None]
        pending.sort(key=lambda obj: int(inspect(obj).insert_order or 0))
        if len(pending) < 3:  # SELECT max + one INSERT: no gain over one INSERT each
            continue
        column = model.__table__.c.id
        last = int(await db.scalar(select(func.max(column))) or 0)
        for number, obj in enumerate(pending, start=last + 1):
            obj.id = number  # type: ignore[attr-defined]


# Values per IN (...) list: far below SQLite's 32,766 variables and PostgreSQL's 65,535.
_CHUNK = 1000


def _chunks(values: Iterable[T]) -> Iterator[list[T]]:
    iterator = iter(values)
    while chunk := list(itertools.islice(iterator, _CHUNK)):
        yield chunk


async def write_batch(db: AsyncSession, items: Sequence[WriteItem]) -> list[IngestResult]:
    """Thread and store the messages in the current transaction (no commit); one result each."""
    if not items:
        return []
    results: list[IngestResult | None] = [None] * len(items)
    stored = await _stored(db, items)
    first_of: dict[tuple[int, str], int] = {}
    repeats: dict[int, int] = {}  # index -> index of the same message earlier in the batch
    fresh: list[int] = []
    for i, item in enumerate(items):
        key = (item.message.channel_id, item.message.external_id)
        if key in stored:
            results[i] = _mark_duplicate(item.raw, stored[key])
        elif key in first_of:
            repeats[i] = first_of[key]
        else:
            first_of[key] = i
            fresh.append(i)
    plans = await _plan(db, [items[i] for i in fresh])
    # New tickets get their ids (and existing ones their counters) in one flush.
    await number_pending(db, Ticket, CustomerIdentity)
    await db.flush()
    rows = [_message_row(plan) for plan in plans]
    db.add_all(rows)
    await number_pending(db, Message)
    await db.flush()
    docs: list[tuple[int, int, str, str | None]] = []
    for i, plan, row in zip(fresh, plans, rows, strict=True):
        plan.row = row
        results[i] = _record(db, plan, row, docs)
    await search.index_messages(db, docs)
    await number_pending(db, AuditEvent, Job, Attachment)
    for i, first in repeats.items():
        done = results[first]
        if done is not None and done.message_id is not None:
            results[i] = _mark_duplicate(items[i].raw, (done.message_id, done.ticket_id or 0))
    return [r for r in results if r is not None]


async def _stored(db: AsyncSession, items: Sequence[WriteItem]
                  ) -> dict[tuple[int, str], tuple[int, int]]:
    """(channel, external id) -> (message id, ticket id) of the messages stored before."""
    wanted: dict[int, set[str]] = {}
    for item in items:
        wanted.setdefault(item.message.channel_id, set()).add(item.message.external_id)
    found: dict[tuple[int, str], tuple[int, int]] = {}
    for channel_id, external_ids in wanted.items():
        for chunk in _chunks(sorted(external_ids)):
            rows = await db.execute(
                select(Message.external_id, Message.id, Message.ticket_id).where(
                    Message.channel_id == channel_id, Message.external_id.in_(chunk)))
            for external_id, message_id, ticket_id in rows:
                found[(channel_id, str(external_id))] = (message_id, ticket_id)
    return found


def _mark_duplicate(raw: RawPayload | None, existing: tuple[int, int]) -> IngestResult:
    message_id, ticket_id = existing
    if raw is not None:
        raw.status = RawStatus.DUPLICATE
        raw.message_id = message_id
        raw.processed_at = now()
    return IngestResult(Outcome.DUPLICATE, raw.id if raw else None, ticket_id, message_id)


# --- deciding: who wrote it, and which ticket it belongs to ----------------------------------


async def _plan(db: AsyncSession, items: list[WriteItem]) -> list[_Plan]:
    if not items:
        return []
    messages = [item.message for item in items]
    authors = await _authors(db, messages)
    customers = await _customers(db, [(m.store_id, a) for m, a in zip(messages, authors,
                                                                       strict=True)])
    threads = await _Threads.load(db, messages)
    plans: list[_Plan] = []
    for item, author, customer in zip(items, authors, customers, strict=True):
        message = item.message
        stamp = item.stamp()
        ticket = await threads.find(db, message)
        created = ticket is None
        reopened_from: str | None = None
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
                message_count=0,
                created_at=stamp,
            )
            if item.historical and ticket.language is None:
                # No `inbound.received` job will look at it: tell its language now.
                ticket.language = detect_language(message.text)
                if customer.language is None:
                    customer.language = ticket.language
            db.add(ticket)
        elif not item.historical and Status(ticket.status) in REOPEN_ON_CUSTOMER_REPLY:
            reopened_from = ticket.status
            ticket.status = Status.OPEN
            ticket.solved_at = None
        ticket.message_count += 1
        if not item.historical or ticket.last_message_at is None or (
                stamp > ticket.last_message_at):
            ticket.last_message_at = stamp
            ticket.updated_at = stamp
        threads.remember(message, ticket, created=created)
        plans.append(_Plan(item, author, customer, ticket, created, reopened_from, stamp))
    return plans


async def _authors(db: AsyncSession, messages: list[InboundMessage]) -> list[SenderIdentity]:
    """Who wrote each: the sender, or the original author of mail an agent of the store
    passed on."""
    asked = {m.sender.value for m in messages
             if m.on_behalf_of is not None and m.sender.kind is IdentityKind.EMAIL}
    agents: set[tuple[int, str]] = set()
    for chunk in _chunks(sorted(asked)):
        rows = await db.execute(select(Agent.store_id, Agent.email).where(
            Agent.email.in_(chunk), Agent.is_active.is_(True)))
        agents.update((store_id, email) for store_id, email in rows)
    return [m.on_behalf_of if m.on_behalf_of is not None and m.sender.kind is IdentityKind.EMAIL
            and (m.store_id, m.sender.value) in agents else m.sender for m in messages]


async def _customers(db: AsyncSession, senders: list[tuple[int, SenderIdentity]]
                     ) -> list[Customer]:
    """The customer behind each identity; new identities get a new customer (one per
    identity, however often it occurs in the batch)."""
    keys = {(store_id, s.kind.value, s.value) for store_id, s in senders}
    stores = sorted({k[0] for k in keys})
    kinds = sorted({k[1] for k in keys})
    known: dict[tuple[int, str, str], Customer] = {}
    for chunk in _chunks(sorted({k[2] for k in keys})):
        rows = await db.execute(
            select(CustomerIdentity.store_id, CustomerIdentity.kind, CustomerIdentity.value,
                   Customer)
            .join(Customer, Customer.id == CustomerIdentity.customer_id)
            .where(CustomerIdentity.store_id.in_(stores), CustomerIdentity.kind.in_(kinds),
                   CustomerIdentity.value.in_(chunk)))
        for store_id, kind, value, customer in rows:
            if (store_id, kind, value) in keys:
                known[(store_id, kind, value)] = customer
    for key, found in known.items():
        if found.merged_into_id is not None:
            known[key] = await _follow_customer_merges(db, found)
    new: dict[tuple[int, str, str], tuple[Customer, SenderIdentity]] = {}
    result: list[Customer] = []
    for store_id, sender in senders:
        key = (store_id, sender.kind.value, sender.value)
        existing = known.get(key)
        if existing is None:
            if key not in new:
                new[key] = (Customer(
                    store_id=store_id, name=sender.name,
                    email=sender.value if sender.kind is IdentityKind.EMAIL else None,
                    language=None), sender)
            existing = new[key][0]
        result.append(existing)
    if new:
        db.add_all(customer for customer, _ in new.values())
        await number_pending(db, Customer)
        await db.flush()
        db.add_all(CustomerIdentity(store_id=key[0], customer_id=customer.id, kind=key[1],
                                    value=key[2], display_name=sender.name)
                   for key, (customer, sender) in new.items())
    return result


async def _follow_customer_merges(db: AsyncSession, customer: Customer) -> Customer:
    seen = {customer.id}
    while customer.merged_into_id is not None:
        target = await db.get(Customer, customer.merged_into_id)
        if target is None or target.id in seen:
            break
        seen.add(target.id)
        customer = target
    return customer


class _Threads:
    """Thread hints of a batch, looked up together, plus what the batch itself creates."""

    def __init__(self) -> None:
        self.tickets: dict[int, Ticket] = {}
        self.latest_by_reference: dict[tuple[int, str], tuple[int, int]] = {}
        self.latest_by_key: dict[tuple[int, int | None, str], Ticket] = {}
        # Earlier messages of this batch: (store, external id) -> (order, its ticket).
        self.batch_messages: dict[tuple[int, str], tuple[int, Ticket]] = {}
        self.batch_keys: dict[tuple[int, int | None, str], Ticket] = {}

    @classmethod
    async def load(cls, db: AsyncSession, messages: list[InboundMessage]) -> _Threads:
        threads = cls()
        stores = sorted({m.store_id for m in messages})
        ticket_ids = {m.hints.ticket_id for m in messages if m.hints.ticket_id is not None}
        await threads._load_tickets(db, ticket_ids)
        references = sorted({r for m in messages for r in m.hints.references})
        for chunk in _chunks(references):
            rows = await db.execute(
                select(Message.store_id, Message.external_id, Message.id, Message.ticket_id)
                .where(Message.store_id.in_(stores), Message.external_id.in_(chunk)))
            for store_id, external_id, message_id, ticket_id in rows:
                ref = (store_id, str(external_id))
                if ref not in threads.latest_by_reference or (
                        message_id > threads.latest_by_reference[ref][0]):
                    threads.latest_by_reference[ref] = (message_id, ticket_id)
        thread_keys = sorted({m.hints.thread_key for m in messages
                              if m.hints.thread_key is not None})
        channels = sorted({m.channel_id for m in messages})
        for chunk in _chunks(thread_keys):
            found = await db.execute(select(Ticket).where(
                Ticket.store_id.in_(stores), Ticket.channel_id.in_(channels),
                Ticket.thread_key.in_(chunk)))
            for ticket in found.scalars():
                threads.tickets[ticket.id] = ticket
                key = (ticket.store_id, ticket.channel_id, ticket.thread_key or "")
                if key not in threads.latest_by_key or ticket.id > threads.latest_by_key[key].id:
                    threads.latest_by_key[key] = ticket
        await threads._load_tickets(
            db, {ticket_id for _, ticket_id in threads.latest_by_reference.values()})
        return threads

    async def _load_tickets(self, db: AsyncSession, ids: set[int]) -> None:
        for chunk in _chunks(sorted(ids - self.tickets.keys())):
            found = await db.execute(select(Ticket).where(Ticket.id.in_(chunk)))
            self.tickets.update((t.id, t) for t in found.scalars())

    async def find(self, db: AsyncSession, message: InboundMessage) -> Ticket | None:
        """The conversation this message continues, if any; a closed ticket starts a
        follow-up. The same order of hints as ever: ticket token, Message-ID chain, thread
        key; within each, the newest match."""
        hints = message.hints
        ticket: Ticket | None = None
        if hints.ticket_id is not None:
            ticket = self.tickets.get(hints.ticket_id)
            if ticket is not None and ticket.store_id != message.store_id:
                ticket = None
        if ticket is None and hints.references:
            ticket = await self._by_references(db, message)
        if ticket is None and hints.thread_key is not None:
            key = (message.store_id, message.channel_id, hints.thread_key)
            ticket = self.batch_keys.get(key) or self.latest_by_key.get(key)
        ticket = await self._follow_merges(db, ticket)
        if ticket is not None and ticket.status == Status.CLOSED:
            return None
        return ticket

    async def _by_references(self, db: AsyncSession, message: InboundMessage) -> Ticket | None:
        store_id = message.store_id
        in_batch = [self.batch_messages[(store_id, r)] for r in message.hints.references
                    if (store_id, r) in self.batch_messages]
        if in_batch:  # newer than anything stored before
            return max(in_batch, key=lambda found: found[0])[1]
        stored = [self.latest_by_reference[(store_id, r)] for r in message.hints.references
                  if (store_id, r) in self.latest_by_reference]
        if not stored:
            return None
        ticket_id = max(stored)[1]
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            ticket = await db.get(Ticket, ticket_id)
        return ticket

    async def _follow_merges(self, db: AsyncSession, ticket: Ticket | None) -> Ticket | None:
        seen: set[int] = set()
        while ticket is not None and ticket.merged_into_id is not None and ticket.id not in seen:
            seen.add(ticket.id)
            target = self.tickets.get(ticket.merged_into_id)
            ticket = target if target is not None else await db.get(Ticket,
                                                                     ticket.merged_into_id)
        return ticket

    def remember(self, message: InboundMessage, ticket: Ticket, *, created: bool) -> None:
        """A later message of the batch may reply to this one or share its thread key (a
        ticket the batch opens is newer than any stored one with that key)."""
        self.batch_messages[(message.store_id, message.external_id)] = (
            len(self.batch_messages), ticket)
        if created and message.hints.thread_key is not None:
            key = (message.store_id, message.channel_id, message.hints.thread_key)
            self.batch_keys[key] = ticket


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


# --- writing ---------------------------------------------------------------------------------


def _body(message: InboundMessage) -> tuple[str, str | None]:
    html = sanitize(message.html) if message.html else None
    body = message.text if message.text.strip() else (html_to_text(html) if html else "")
    return body, html


def _message_row(plan: _Plan) -> Message:
    message, raw = plan.item.message, plan.item.raw
    body, html = _body(message)
    return Message(
        store_id=message.store_id,
        ticket_id=plan.ticket.id,
        channel_id=message.channel_id,
        direction=Direction.INBOUND,
        author_customer_id=plan.customer.id,
        author_name=plan.author.name or plan.customer.name,
        text=body,
        html=html,
        display_text=message.display_text,
        external_id=message.external_id,
        raw_payload_id=raw.id if raw is not None else None,
        delivery_status=DeliveryStatus.RECEIVED,
        sent_at=message.sent_at,
        is_historical=plan.item.historical,
        created_at=plan.stamp,
    )


def _record(db: AsyncSession, plan: _Plan, row: Message,
            docs: list[tuple[int, int, str, str | None]]) -> IngestResult:
    """Everything about one stored message besides its row: files, index, audit, raw
    payload, job and live event."""
    message, raw, ticket = plan.item.message, plan.item.raw, plan.ticket
    actor = Actor("channel", message.channel_id)
    store_attachments(db, store_id=message.store_id, message_id=row.id,
                      files=message.attachments)
    docs.append((row.id, message.store_id, row.text, ticket.subject if plan.created else None))
    if plan.reopened_from is not None:
        audit.record(
            db, store_id=ticket.store_id, actor=actor, entity_type="ticket", entity_id=ticket.id,
            ticket_id=ticket.id, action="ticket.reopened",
            before={"status": plan.reopened_from}, after={"status": Status.OPEN.value},
        )
    if plan.created:
        audit.record(
            db, store_id=ticket.store_id, actor=actor, entity_type="ticket", entity_id=ticket.id,
            ticket_id=ticket.id, action="ticket.created",
            after={"subject": ticket.subject, "channel_type": ticket.channel_type,
                   "marketplace": ticket.marketplace, "customer_id": plan.customer.id,
                   "priority": ticket.priority},
        )
    after: dict[str, object] = {"external_id": message.external_id,
                                "attachments": len(message.attachments)}
    if plan.item.historical:
        after["historical"] = True
    audit.record(
        db, store_id=ticket.store_id, actor=actor, entity_type="message", entity_id=row.id,
        ticket_id=ticket.id, action="message.received", after=after,
    )
    if raw is not None:
        raw.status = RawStatus.PROCESSED
        raw.message_id = row.id
        raw.error_code = raw.error_reason = None
        raw.processed_at = now() if plan.item.historical else plan.stamp
    if not plan.item.historical:
        # Imported history starts no automation: no SLA clocks, rules, routing or replies.
        outbox.enqueue(db, "inbound.received", message_id=row.id)
    publish_after_commit(
        db, ticket.store_id,
        {"type": "ticket.created" if plan.created else "message.created",
         "ticket_id": ticket.id, "message_id": row.id},
    )
    return IngestResult(
        Outcome.CREATED if plan.created else Outcome.APPENDED,
        raw.id if raw is not None else None, ticket.id, row.id,
    )
