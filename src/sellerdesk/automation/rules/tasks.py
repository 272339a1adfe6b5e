"""Jobs of rules, and the entry point the inbound job calls for each customer message."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.automation.rules import engine, webhook
from sellerdesk.automation.rules.effects import WEBHOOK_JOB
from sellerdesk.automation.rules.events import RuleEvent
from sellerdesk.automation.rules.hooks import JOB
from sellerdesk.automation.rules.models import Rule
from sellerdesk.core.clock import now
from sellerdesk.jobs.registry import job
from sellerdesk.tickets.models import Message, Ticket
from sellerdesk.tickets.states import Direction


async def message_received(db: AsyncSession, *, ticket: Ticket, message: Message
                           ) -> list[engine.Fired]:
    """A customer's message: message.received, and ticket.created when it opened the ticket.
    Safe to run again for the same message (each rule runs once per message)."""
    if message.direction != Direction.INBOUND:
        return []
    earlier = await db.scalar(select(Message.id).where(
        Message.ticket_id == ticket.id, Message.id < message.id,
        Message.direction == Direction.INBOUND).limit(1))
    events = {RuleEvent.MESSAGE_RECEIVED.value}
    if earlier is None:
        events.add(RuleEvent.TICKET_CREATED.value)
    occurrence = engine.Occurrence(frozenset(events), key=f"message:{message.id}",
                                   at=message.created_at, message_text=message.text)
    return await engine.handle(db, ticket=ticket, occurrence=occurrence)


@job(JOB)
async def rule_event(db: AsyncSession, *, event: str, ticket_id: int, key: str,
                     chain: list[int] | None = None, depth: int = 0,
                     previous_status: str | None = None, sla_target: str | None = None
                     ) -> None:
    """A status change or SLA warning/breach (hooks.py) evaluated against the store's rules."""
    ticket = await db.get(Ticket, ticket_id)
    if ticket is None:
        return
    occurrence = engine.Occurrence(frozenset({RuleEvent(event).value}), key=key, at=now(),
                                   chain=tuple(chain or ()), depth=depth,
                                   previous_status=previous_status,
                                   sla_target=sla_target)
    await engine.handle(db, ticket=ticket, occurrence=occurrence)


async def _webhook_gave_up(db: AsyncSession, error: str, *, rule_id: int, action: int,
                           ticket_id: int, event: str, key: str) -> None:
    rule = await db.get(Rule, rule_id)
    url = rule.actions[action].get("url") if rule is not None and action < len(
        rule.actions) else None
    await webhook.record_failure(db, rule_id=rule_id, ticket_id=ticket_id, url=url, error=error)


@job(WEBHOOK_JOB, on_give_up=_webhook_gave_up)
async def rule_webhook(db: AsyncSession, *, rule_id: int, action: int, ticket_id: int,
                       event: str, key: str) -> None:
    await webhook.deliver(db, rule_id=rule_id, action=action, ticket_id=ticket_id, event=event,
                          key=key)
