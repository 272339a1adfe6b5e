"""Writes on tickets: update, reply, note, merge. One transaction each, audited, events after."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent, Team
from sellerdesk.automation import tracking as sla
from sellerdesk.automation.routing import hooks as routing
from sellerdesk.automation.rules import hooks as rules
from sellerdesk.channels.base import InboundAttachment
from sellerdesk.core.actor import Actor
from sellerdesk.core.clock import now
from sellerdesk.core.db import commit
from sellerdesk.core.errors import Conflict, Invalid
from sellerdesk.core.html import html_to_text, sanitize
from sellerdesk.jobs import outbox
from sellerdesk.tickets import audit, search
from sellerdesk.tickets.attachments import store_attachments
from sellerdesk.tickets.errors import TicketError
from sellerdesk.tickets.events import publish_after_commit
from sellerdesk.tickets.models import Message, Tag, Ticket, ticket_tags
from sellerdesk.tickets.queries import ticket_tag_names
from sellerdesk.tickets.states import DeliveryStatus, Direction, Status, can_transition
from sellerdesk.tickets.tags import normalize_tag


def _snapshot(ticket: Ticket) -> dict[str, Any]:
    return {
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee_id": ticket.assignee_id,
        "team_id": ticket.team_id,
        "marketplace": ticket.marketplace,
        "language": ticket.language,
    }


def _apply_status(ticket: Ticket, target: Status) -> None:
    current = Status(ticket.status)
    if current == target:
        return
    if not can_transition(current, target):
        raise Conflict(TicketError.INVALID_TRANSITION,
                       f"a {current.value} ticket cannot become {target.value}", field="status")
    ticket.status = target
    stamp = now()
    if target == Status.SOLVED:
        ticket.solved_at = stamp
    elif target == Status.CLOSED:
        ticket.closed_at = stamp
    elif current == Status.SOLVED:
        ticket.solved_at = None


async def _check_agent(db: AsyncSession, store_id: int, agent_id: int) -> None:
    found = await db.scalar(
        select(Agent.id).where(Agent.id == agent_id, Agent.store_id == store_id,
                               Agent.is_active.is_(True))
    )
    if found is None:
        raise Invalid(TicketError.UNKNOWN_AGENT, f"no active agent {agent_id} in this store",
                      field="assignee_id")


async def _check_team(db: AsyncSession, store_id: int, team_id: int) -> None:
    found = await db.scalar(select(Team.id).where(Team.id == team_id, Team.store_id == store_id))
    if found is None:
        raise Invalid(TicketError.UNKNOWN_TEAM, f"no team {team_id} in this store",
                      field="team_id")


async def set_tags(db: AsyncSession, *, ticket: Ticket, names: list[str]) -> list[str]:
    """Replace the ticket's tags, creating store tags as needed (no commit)."""
    wanted = list(dict.fromkeys(normalize_tag(n) for n in names))
    existing = {
        t.name: t for t in (await db.execute(
            select(Tag).where(Tag.store_id == ticket.store_id, Tag.name.in_(wanted))
        )).scalars()
    }
    for name in wanted:
        if name not in existing:
            tag = Tag(store_id=ticket.store_id, name=name)
            db.add(tag)
            existing[name] = tag
    await db.flush()
    await db.execute(delete(ticket_tags).where(ticket_tags.c.ticket_id == ticket.id))
    if wanted:
        await db.execute(
            insert(ticket_tags),
            [{"ticket_id": ticket.id, "tag_id": existing[n].id} for n in wanted],
        )
    return wanted


async def update_ticket(
    db: AsyncSession, *, ticket: Ticket, actor: Actor, changes: dict[str, Any]
) -> Ticket:
    """Change fields of a ticket (status through the allowed transitions), audit, commit."""
    if ticket.status == Status.CLOSED:
        raise Conflict(TicketError.CLOSED, "a closed ticket cannot be changed", field="status")
    before = _snapshot(ticket)
    before_tags = await ticket_tag_names(db, ticket_id=ticket.id)
    if changes.get("assignee_id") is not None:
        await _check_agent(db, ticket.store_id, changes["assignee_id"])
    if changes.get("team_id") is not None:
        await _check_team(db, ticket.store_id, changes["team_id"])
    for key in ("subject", "priority", "assignee_id", "team_id", "marketplace", "language"):
        if key in changes:
            setattr(ticket, key, changes[key])
    if "status" in changes:
        _apply_status(ticket, Status(changes["status"]))
    old, new = audit.diff(before, _snapshot(ticket))
    if "tags" in changes:
        after_tags = await set_tags(db, ticket=ticket, names=changes["tags"])
        if sorted(after_tags) != sorted(before_tags):
            old["tags"], new["tags"] = before_tags, after_tags
    if new:
        ticket.updated_at = now()
        audit.record(
            db, store_id=ticket.store_id, actor=actor, entity_type="ticket", entity_id=ticket.id,
            ticket_id=ticket.id, action="ticket.updated", before=old, after=new,
        )
        publish_after_commit(db, ticket.store_id,
                             {"type": "ticket.updated", "ticket_id": ticket.id,
                              "fields": sorted(new)})
        await sla.ticket_changed(db, ticket=ticket, actor=actor, fields=new.keys(),
                                 at=ticket.updated_at)
        await routing.ticket_changed(db, ticket=ticket, before=old, after=new)
        await rules.status_changed(db, store_id=ticket.store_id, ticket_id=ticket.id,
                                   before=old.get("status"), after=new.get("status"))
    await commit(db)
    return ticket


async def _add_message(
    db: AsyncSession,
    *,
    ticket: Ticket,
    actor: Actor,
    direction: Direction,
    text: str,
    html: str | None,
    author_agent_id: int | None,
    author_name: str | None,
    attachments: list[InboundAttachment],
    at: datetime | None = None,
) -> Message:
    if ticket.status == Status.CLOSED:
        raise Conflict(TicketError.CLOSED, "a closed ticket takes no new messages",
                       field="ticket_id")
    clean_html = sanitize(html) if html else None
    body = text if text.strip() else (html_to_text(clean_html) if clean_html else "")
    if not body.strip() and not attachments:
        raise Invalid(TicketError.EMPTY_MESSAGE, "text must not be empty", field="text")
    outbound = direction == Direction.OUTBOUND
    stamp = at or now()
    message = Message(
        store_id=ticket.store_id,
        ticket_id=ticket.id,
        channel_id=ticket.channel_id,
        direction=direction,
        author_agent_id=author_agent_id,
        author_name=author_name,
        text=body,
        html=clean_html,
        delivery_status=DeliveryStatus.QUEUED if outbound else DeliveryStatus.INTERNAL,
        idempotency_key=uuid.uuid4().hex if outbound else None,
        created_at=stamp,
    )
    db.add(message)
    await db.flush()
    store_attachments(db, store_id=ticket.store_id, message_id=message.id, files=attachments)
    await search.index_message(db, message_id=message.id, store_id=ticket.store_id, body=body)
    ticket.message_count += 1
    ticket.updated_at = stamp
    if outbound:
        ticket.last_message_at = stamp
        if ticket.first_response_at is None:
            ticket.first_response_at = stamp
    audit.record(
        db, store_id=ticket.store_id, actor=actor, entity_type="message", entity_id=message.id,
        ticket_id=ticket.id, action="message.replied" if outbound else "message.noted",
        after={"attachments": len(attachments)},
    )
    return message


async def reply(
    db: AsyncSession,
    *,
    ticket: Ticket,
    actor: Actor,
    text: str,
    html: str | None = None,
    author_agent_id: int | None = None,
    author_name: str | None = None,
    status: Status | None = None,
    attachments: list[InboundAttachment] | None = None,
) -> Message:
    """Queue a reply to the customer in the same transaction as the ticket change."""
    message = await _add_message(
        db, ticket=ticket, actor=actor, direction=Direction.OUTBOUND, text=text, html=html,
        author_agent_id=author_agent_id, author_name=author_name, attachments=attachments or [],
    )
    target = status or (Status.OPEN if ticket.status == Status.NEW else None)
    if target is not None and target != ticket.status:
        before = ticket.status
        _apply_status(ticket, target)
        audit.record(
            db, store_id=ticket.store_id, actor=actor, entity_type="ticket", entity_id=ticket.id,
            ticket_id=ticket.id, action="ticket.updated",
            before={"status": before}, after={"status": ticket.status},
        )
        await routing.ticket_changed(db, ticket=ticket, before={"status": before},
                                     after={"status": ticket.status})
        await rules.status_changed(db, store_id=ticket.store_id, ticket_id=ticket.id,
                                   before=before, after=ticket.status)
    await sla.agent_replied(db, ticket=ticket, actor=actor, at=message.created_at)
    outbox.enqueue(db, "message.deliver", message_id=message.id)
    publish_after_commit(db, ticket.store_id, {"type": "message.created", "ticket_id": ticket.id,
                                               "message_id": message.id})
    await commit(db)
    return message


async def record_sent_reply(
    db: AsyncSession,
    *,
    ticket: Ticket,
    actor: Actor,
    text: str,
    sent_at: datetime,
    author_agent_id: int | None = None,
    author_name: str | None = None,
    external_id: str | None = None,
) -> Message:
    """Record a reply that was already sent elsewhere (history imports): stored, never sent."""
    message = await _add_message(
        db, ticket=ticket, actor=actor, direction=Direction.OUTBOUND, text=text, html=None,
        author_agent_id=author_agent_id, author_name=author_name, attachments=[], at=sent_at,
    )
    message.delivery_status = DeliveryStatus.SENT
    message.idempotency_key = None
    message.sent_at = sent_at
    message.external_id = external_id
    await sla.agent_replied(db, ticket=ticket, actor=actor, at=sent_at)
    await commit(db)
    return message


async def add_note(
    db: AsyncSession,
    *,
    ticket: Ticket,
    actor: Actor,
    text: str,
    author_agent_id: int | None = None,
    author_name: str | None = None,
    attachments: list[InboundAttachment] | None = None,
) -> Message:
    """An internal note: visible to agents only, never sent."""
    message = await _add_message(
        db, ticket=ticket, actor=actor, direction=Direction.NOTE, text=text, html=None,
        author_agent_id=author_agent_id, author_name=author_name, attachments=attachments or [],
    )
    publish_after_commit(db, ticket.store_id, {"type": "message.created", "ticket_id": ticket.id,
                                               "message_id": message.id})
    await commit(db)
    return message


async def merge_tickets(
    db: AsyncSession, *, source: Ticket, target: Ticket, actor: Actor
) -> Ticket:
    """Move source's messages and tags into target and close source as merged."""
    if source.id == target.id:
        raise Conflict(TicketError.MERGE_SELF, "a ticket cannot be merged into itself",
                       field="into_ticket_id")
    if source.status == Status.CLOSED or target.status == Status.CLOSED:
        raise Conflict(TicketError.MERGE_INVALID, "closed tickets cannot be merged",
                       field="into_ticket_id")
    moved = (await db.execute(
        update(Message).where(Message.ticket_id == source.id).values(ticket_id=target.id)
        .returning(Message.id)
    )).scalars().all()
    source_tags = await ticket_tag_names(db, ticket_id=source.id)
    target_tags = await ticket_tag_names(db, ticket_id=target.id)
    if source_tags:
        await set_tags(db, ticket=target, names=target_tags + source_tags)
    count = await db.scalar(select(func.count()).where(Message.ticket_id == target.id))
    target.message_count = int(count or 0)
    source.message_count = 0
    stamp = now()
    target.updated_at = stamp
    if source.last_message_at and (not target.last_message_at
                                   or source.last_message_at > target.last_message_at):
        target.last_message_at = source.last_message_at
    before_status = source.status
    source.status = Status.CLOSED
    source.closed_at = stamp
    source.merged_into_id = target.id
    source.updated_at = stamp
    audit.record(
        db, store_id=source.store_id, actor=actor, entity_type="ticket", entity_id=source.id,
        ticket_id=source.id, action="ticket.merged",
        before={"status": before_status, "merged_into_id": None},
        after={"status": Status.CLOSED.value, "merged_into_id": target.id,
               "message_ids": list(moved)},
    )
    audit.record(
        db, store_id=target.store_id, actor=actor, entity_type="ticket", entity_id=target.id,
        ticket_id=target.id, action="ticket.merge_received",
        after={"from_ticket_id": source.id, "message_count": len(moved)},
    )
    publish_after_commit(db, target.store_id, {"type": "ticket.merged", "ticket_id": source.id,
                                               "into_ticket_id": target.id})
    await sla.ticket_changed(db, ticket=source, actor=actor, fields={"status"}, at=stamp)
    await commit(db)
    return target
