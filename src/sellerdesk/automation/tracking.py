"""Writes on tickets' SLA state, called explicitly by the ticket actions and the inbound job.

- A ticket is matched against the store's policies (first match in order) when its first
  message has been received, and again when its priority, tags or marketplace change.
- First response and resolution start when the ticket was created; next response starts on
  each customer message that follows an agent reply.
- An agent reply fulfils first and next response; solving or closing fulfils every target;
  reopening a solved ticket makes its resolution owed again, with the time already counted.
- While the ticket's status is in the policy's pause_on, clocks stop; on resume the paused
  span is left out (in business time for business-hours targets).

Ticket.sla_due_at is the soonest due time among the running targets still owed (breached
ones included, so the most overdue tickets stay first in the inbox). The functions here
write into the caller's transaction and do not commit, except the job's entry point.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.automation import queries, sla
from sellerdesk.automation.models import SlaPolicy, TicketSla, TicketSlaTarget
from sellerdesk.core.actor import SYSTEM, Actor
from sellerdesk.core.clock import now
from sellerdesk.core.db import commit
from sellerdesk.customers.models import Customer
from sellerdesk.tickets import audit
from sellerdesk.tickets.events import publish_after_commit
from sellerdesk.tickets.models import ACTIVE_STATUSES, Message, Ticket
from sellerdesk.tickets.queries import ticket_tag_names
from sellerdesk.tickets.states import Direction, Status

MATCH_FIELDS = frozenset({"priority", "tags", "marketplace"})
DONE_STATUSES = (Status.SOLVED.value, Status.CLOSED.value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass
class _Session:
    """A ticket's SLA rows loaded for one change, and what the change did to them."""

    ticket: Ticket
    state: TicketSla | None
    rows: dict[sla.TargetKind, TicketSlaTarget]
    clocks: dict[int | None, sla.Clock]
    before_due: datetime | None
    met: list[dict[str, Any]] = field(default_factory=list)
    dirty: bool = False

    def target(self, kind: sla.TargetKind) -> sla.Target | None:
        row = self.rows.get(kind)
        return queries.to_target(row) if row is not None else None

    def clock(self, calendar_id: int | None) -> sla.Clock:
        return self.clocks.get(calendar_id) or sla.Clock()


async def _load(db: AsyncSession, ticket: Ticket) -> _Session:
    # One change of a ticket's SLA state at a time (PostgreSQL; SQLite writers queue anyway).
    state = await db.get(TicketSla, ticket.id, with_for_update=True, populate_existing=True)
    rows = {
        sla.TargetKind(r.kind): r for r in (await db.execute(
            select(TicketSlaTarget).where(TicketSlaTarget.ticket_id == ticket.id)
            # The sweep writes these rows with Core statements, past the identity map.
            .execution_options(populate_existing=True)
        )).scalars()
    }
    clocks = await queries.clocks(db, (r.calendar_id for r in rows.values()))
    return _Session(ticket, state, rows, clocks, ticket.sla_due_at)


async def _ensure_clock(db: AsyncSession, session: _Session, calendar_id: int | None) -> None:
    if calendar_id not in session.clocks:
        session.clocks.update(await queries.clocks(db, [calendar_id]))


def _write(db: AsyncSession, session: _Session, target: sla.Target) -> None:
    row = session.rows.get(target.kind)
    if row is None:
        row = TicketSlaTarget(store_id=session.ticket.store_id, ticket_id=session.ticket.id,
                              kind=target.kind.value)
        db.add(row)
        session.rows[target.kind] = row
    _set(row, target)
    session.dirty = True


def _set(row: TicketSlaTarget, target: sla.Target) -> None:
    row.state = target.state.value
    row.goal = target.goal
    row.warn_after = target.warn_after
    row.calendar_id = target.calendar_id
    row.started_at = target.started_at
    row.checkpoint_at = target.checkpoint
    row.elapsed = target.elapsed
    row.running = target.running
    row.paused_since = target.paused_since
    row.paused = target.paused
    row.due_at = target.due_at
    row.warn_at = target.warn_at
    row.completed_at = target.completed_at
    row.warned_at = target.warned_at
    row.breached_at = target.breached_at
    row.next_check_at = target.next_check_at
    row.updated_at = now()


def _complete(db: AsyncSession, session: _Session, target: sla.Target, at: datetime) -> None:
    done = sla.complete(target, session.clock(target.calendar_id), at=at)
    if done is target:
        return
    _write(db, session, done)
    session.met.append({"target": done.kind.value, "due_at": _iso(done.due_at),
                        "met_at": _iso(done.completed_at),
                        "on_time": done.breached_at is None})


def _targets(session: _Session) -> list[sla.Target]:
    return [queries.to_target(r) for r in session.rows.values()]


def _finish(db: AsyncSession, session: _Session, actor: Actor) -> None:
    """Ticket.sla_due_at, the audit trail of fulfilled targets, and the live event."""
    ticket = session.ticket
    active = ticket.status in ACTIVE_STATUSES
    ticket.sla_due_at = sla.earliest_due(_targets(session)) if active else None
    for met in session.met:
        action = "sla.met" if met.pop("on_time") else "sla.met_late"
        audit.record(db, store_id=ticket.store_id, actor=actor, entity_type="ticket",
                     entity_id=ticket.id, ticket_id=ticket.id, action=action, after=met)
    session.met = []
    if session.dirty or ticket.sla_due_at != session.before_due:
        publish_after_commit(db, ticket.store_id, {
            "type": "sla.updated", "ticket_id": ticket.id,
            "sla_due_at": _iso(ticket.sla_due_at),
        })


# --- status: pause, resume, fulfil, reopen -----------------------------------------------------

def _follow_status(db: AsyncSession, session: _Session, at: datetime) -> None:
    if session.state is None:
        return
    status = session.ticket.status
    pause_on = set(session.state.pause_on)
    for kind in list(session.rows):
        target = session.target(kind)
        if target is None:
            continue
        clock = session.clock(target.calendar_id)
        if status in DONE_STATUSES:
            _complete(db, session, target, at)
            continue
        if not target.open and kind == sla.TargetKind.RESOLUTION:
            target = sla.reopen(target, clock, at=at)
        if status in pause_on:
            changed = sla.pause(target, clock, at=at)
        else:
            changed = sla.resume(target, clock, at=at)
        if changed != queries.to_target(session.rows[kind]):
            _write(db, session, changed)


# --- matching a policy -------------------------------------------------------------------------

async def _facts(db: AsyncSession, ticket: Ticket) -> sla.TicketFacts:
    language = None
    if ticket.customer_id is not None:
        language = await db.scalar(select(Customer.language)
                                   .where(Customer.id == ticket.customer_id))
    return sla.TicketFacts(
        channel_type=ticket.channel_type, marketplace=ticket.marketplace,
        priority=ticket.priority, tags=frozenset(await ticket_tag_names(db, ticket_id=ticket.id)),
        customer_language=language,
    )


async def _match(db: AsyncSession, ticket: Ticket) -> sla.Policy | None:
    rows = await queries.list_policies(db, store_id=ticket.store_id, active_only=True)
    if not rows:
        return None
    return sla.match_policy([queries.engine_policy(r) for r in rows], await _facts(db, ticket))


async def _awaiting_since(db: AsyncSession, ticket_id: int, *, after_message_id: int = 0
                          ) -> datetime | None:
    """When the customer started waiting for a next response: their first message after the
    latest agent reply (None before any agent reply, or when the latest message is a reply)."""
    last_reply = await db.scalar(select(func.max(Message.id)).where(
        Message.ticket_id == ticket_id, Message.direction == Direction.OUTBOUND))
    if last_reply is None:
        return None
    return await db.scalar(
        select(Message.created_at).where(
            Message.ticket_id == ticket_id, Message.direction == Direction.INBOUND,
            Message.id > max(last_reply, after_message_id),
        ).order_by(Message.id).limit(1)
    )


async def _start(db: AsyncSession, session: _Session, kind: sla.TargetKind, terms: sla.Terms
                 ) -> None:
    """Start a target the ticket did not have, from what has already happened on it."""
    ticket = session.ticket
    await _ensure_clock(db, session, terms.calendar_id)
    clock = session.clock(terms.calendar_id)
    started: datetime | None = ticket.created_at
    fulfilled: datetime | None = None
    if kind == sla.TargetKind.FIRST_RESPONSE:
        fulfilled = ticket.first_response_at
    elif kind == sla.TargetKind.RESOLUTION:
        fulfilled = ticket.solved_at or ticket.closed_at
    else:
        started = await _awaiting_since(db, ticket.id)
    if started is None:
        return
    target = sla.start(kind, terms, clock, at=started)
    _write(db, session, target)
    if fulfilled is not None:
        _complete(db, session, target, fulfilled)


async def _apply(db: AsyncSession, session: _Session, policy: sla.Policy | None,
                 actor: Actor, at: datetime) -> None:
    """Measure the ticket against `policy` from now on, keeping the time already counted."""
    ticket = session.ticket
    before = {k.value: _iso(r.due_at) for k, r in session.rows.items() if r.completed_at is None}
    old_policy = session.state.policy_id if session.state is not None else None
    if session.state is None:
        if policy is None:
            return
        session.state = TicketSla(ticket_id=ticket.id, store_id=ticket.store_id, applied_at=at)
        db.add(session.state)
    state = session.state
    state.policy_id = policy.id if policy else None
    state.policy_name = policy.name if policy else None
    state.pause_on = sorted(policy.pause_on) if policy else list(sla.DEFAULT_PAUSE_ON)
    state.updated_at = at
    for kind in sla.TargetKind:
        terms = sla.terms(policy, kind) if policy is not None else None
        row = session.rows.get(kind)
        if row is None:
            if terms is not None:
                await _start(db, session, kind, terms)
            continue
        if row.completed_at is not None:
            continue
        if terms is None:
            await db.delete(row)
            del session.rows[kind]
            session.dirty = True
            continue
        target = queries.to_target(row)
        if (target.goal, target.warn_after, target.calendar_id) != (
                terms.goal, terms.warn_after, terms.calendar_id):
            await _ensure_clock(db, session, terms.calendar_id)
            _write(db, session, sla.retarget(target, session.clock(target.calendar_id),
                                             session.clock(terms.calendar_id), terms, at=at))
    _follow_status(db, session, at)
    after = {k.value: _iso(r.due_at) for k, r in session.rows.items() if r.completed_at is None}
    if old_policy != state.policy_id or before != after:
        audit.record(db, store_id=ticket.store_id, actor=actor, entity_type="ticket",
                     entity_id=ticket.id, ticket_id=ticket.id, action="sla.applied",
                     before={"policy_id": old_policy, "due": before},
                     after={"policy_id": state.policy_id, "policy_name": state.policy_name,
                            "due": after})


# --- the hooks ---------------------------------------------------------------------------------

async def ticket_changed(db: AsyncSession, *, ticket: Ticket, actor: Actor,
                         fields: Collection[str], at: datetime | None = None) -> None:
    """After a ticket's fields changed (no commit): re-match on priority, tags or marketplace;
    pause, resume or fulfil on status."""
    if not MATCH_FIELDS & set(fields) and "status" not in fields:
        return
    at = at or now()
    await db.flush()
    session = await _load(db, ticket)
    if MATCH_FIELDS & set(fields):
        await _apply(db, session, await _match(db, ticket), actor, at)
    elif session.state is not None:
        _follow_status(db, session, at)
    _finish(db, session, actor)


async def agent_replied(db: AsyncSession, *, ticket: Ticket, actor: Actor, at: datetime) -> None:
    """After an agent's reply to the customer (no commit): first and next response are met;
    the reply may also have changed the status."""
    session = await _load(db, ticket)
    if session.state is None:
        return
    for kind in (sla.TargetKind.FIRST_RESPONSE, sla.TargetKind.NEXT_RESPONSE):
        target = session.target(kind)
        if target is not None:
            _complete(db, session, target, at)
    _follow_status(db, session, at)
    _finish(db, session, actor)


async def customer_wrote(db: AsyncSession, *, ticket: Ticket, message: Message,
                         at: datetime | None = None) -> None:
    """The `inbound.received` job's step (commits): apply a policy to a new ticket; on a later
    message, follow a reopen and start the next-response clock. Safe to run twice."""
    session = await _load(db, ticket)
    at = at or now()
    if session.state is None:
        await _apply(db, session, await _match(db, ticket), SYSTEM, at)
    else:
        # A customer's message reopens a pending or solved ticket when it arrives.
        _follow_status(db, session, message.created_at)
        await _next_response(db, session, message)
    _finish(db, session, SYSTEM)
    await commit(db)


async def _next_response(db: AsyncSession, session: _Session, message: Message) -> None:
    state = session.state
    current = session.target(sla.TargetKind.NEXT_RESPONSE)
    if state is None or state.policy_id is None or (current is not None and current.open):
        return
    if session.ticket.status not in ACTIVE_STATUSES:
        return
    if current is not None and current.started_at >= message.created_at:
        return  # this message (or a later one) already started the current cycle
    replied_before = await db.scalar(select(Message.id).where(
        Message.ticket_id == message.ticket_id, Message.direction == Direction.OUTBOUND,
        Message.id < message.id).limit(1))
    if replied_before is None:
        return
    replied_after = await db.scalar(select(func.min(Message.created_at)).where(
        Message.ticket_id == message.ticket_id, Message.direction == Direction.OUTBOUND,
        Message.id > message.id))
    row = await db.get(SlaPolicy, state.policy_id)
    terms = sla.terms(queries.engine_policy(row), sla.TargetKind.NEXT_RESPONSE) if row else None
    if terms is None:
        return
    await _ensure_clock(db, session, terms.calendar_id)
    clock = session.clock(terms.calendar_id)
    target = sla.start(sla.TargetKind.NEXT_RESPONSE, terms, clock, at=message.created_at)
    _write(db, session, target)
    if replied_after is not None:
        _complete(db, session, target, replied_after)
    elif session.ticket.status in state.pause_on:
        _write(db, session, sla.pause(target, clock, at=message.created_at))


# --- a calendar's hours changed ----------------------------------------------------------------

async def calendar_changed(db: AsyncSession, *, calendar_id: int, batch: int = 500) -> int:
    """Reschedule the unfinished targets that count this calendar's hours (the
    `sla.calendar_changed` job; commits per batch, safe to run twice): their due and warning
    times are recounted from each target's last checkpoint with the new hours."""
    clock = (await queries.clocks(db, [calendar_id]))[calendar_id]
    last_id, moved = 0, 0
    while True:
        rows = list((await db.execute(
            select(TicketSlaTarget).where(
                TicketSlaTarget.calendar_id == calendar_id,
                TicketSlaTarget.completed_at.is_(None), TicketSlaTarget.id > last_id,
            ).order_by(TicketSlaTarget.id).limit(batch)
        )).scalars())
        if not rows:
            return moved
        changed: set[int] = set()
        for row in rows:
            target = queries.to_target(row)
            rescheduled = sla.reschedule(target, clock)
            if rescheduled != target:
                _set(row, rescheduled)
                changed.add(row.ticket_id)
        await _refresh_due(db, changed)
        moved += len(changed)
        last_id = rows[-1].id
        await commit(db)


async def _refresh_due(db: AsyncSession, ticket_ids: Collection[int]) -> None:
    if not ticket_ids:
        return
    await db.flush()
    by_ticket: dict[int, list[sla.Target]] = {i: [] for i in ticket_ids}
    for row in (await db.execute(
        select(TicketSlaTarget).where(TicketSlaTarget.ticket_id.in_(list(ticket_ids)))
    )).scalars():
        by_ticket[row.ticket_id].append(queries.to_target(row))
    for ticket in (await db.execute(select(Ticket).where(Ticket.id.in_(list(ticket_ids))))
                   ).scalars():
        due = sla.earliest_due(by_ticket[ticket.id]) if ticket.status in ACTIVE_STATUSES else None
        if due != ticket.sla_due_at:
            ticket.sla_due_at = due
            publish_after_commit(db, ticket.store_id, {
                "type": "sla.updated", "ticket_id": ticket.id, "sla_due_at": _iso(due)})
