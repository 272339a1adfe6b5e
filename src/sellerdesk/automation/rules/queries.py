"""Reads on rules, scoped to a store, and the dry-run (evaluates, never writes)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.automation.rules import effects, engine
from sellerdesk.automation.rules.conditions import calendar_ids
from sellerdesk.automation.rules.errors import RuleError
from sellerdesk.automation.rules.facts import Facts
from sellerdesk.automation.rules.models import Rule
from sellerdesk.core.errors import NotFound
from sellerdesk.customers.models import Customer
from sellerdesk.tickets.models import Message, Ticket
from sellerdesk.tickets.queries import tags_by_ticket
from sellerdesk.tickets.states import Direction

DRY_RUN_DEFAULT = 200
DRY_RUN_MAX = 1000


async def get_rule(db: AsyncSession, *, store_id: int, rule_id: int,
                   field: str = "rule_id") -> Rule:
    rule = (await db.execute(
        select(Rule).where(Rule.id == rule_id, Rule.store_id == store_id)
    )).scalar_one_or_none()
    if rule is None:
        raise NotFound(RuleError.NOT_FOUND, f"rule {rule_id} not found", field=field)
    return rule


async def list_rules(db: AsyncSession, *, store_id: int) -> list[Rule]:
    rows = await db.execute(select(Rule).where(Rule.store_id == store_id)
                            .order_by(Rule.position, Rule.id))
    return list(rows.scalars())


@dataclass(frozen=True, slots=True)
class DryRunMatch:
    ticket: Ticket
    actions: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class DryRun:
    examined: int
    matches: list[DryRunMatch]


async def dry_run(
    db: AsyncSession, *, store_id: int, conditions: Mapping[str, Any],
    actions: list[dict[str, Any]], limit: int = DRY_RUN_DEFAULT,
) -> DryRun:
    """Which of the store's `limit` most recent tickets a (checked) rule matches, and what it
    would do to each: evaluated on their current state and latest customer message."""
    rule = engine.compile_rule(id=0, name="dry-run", events=(), tree=conditions,
                               actions=actions)
    tickets = list((await db.execute(
        select(Ticket).where(Ticket.store_id == store_id)
        .order_by(Ticket.id.desc()).limit(min(limit, DRY_RUN_MAX))
    )).scalars())
    ids = [t.id for t in tickets]
    tags = await tags_by_ticket(db, ids)
    customers = await _customers(db, [t.customer_id for t in tickets if t.customer_id])
    messages = await _latest_inbound(db, ids)
    calendars = await engine.load_calendars(db, calendar_ids(conditions))
    matches = []
    for ticket in tickets:
        text, at = messages.get(ticket.id, (None, ticket.created_at))
        row = customers.get(ticket.customer_id) if ticket.customer_id else None
        customer = engine.CustomerFacts(row.email, row.name, row.language) if row else None
        values = engine.ticket_values(ticket, tags=tags[ticket.id], customer=customer,
                                      message_text=text)
        if rule.predicate(Facts(values, at=at, calendars=calendars)):
            state = effects.ticket_state(ticket, tags[ticket.id])
            matches.append(DryRunMatch(ticket, effects.plan(actions, state)))
    return DryRun(len(tickets), matches)


async def _customers(db: AsyncSession, ids: list[int]) -> dict[int, Customer]:
    if not ids:
        return {}
    rows = await db.execute(select(Customer).where(Customer.id.in_(set(ids))))
    return {c.id: c for c in rows.scalars()}


async def _latest_inbound(db: AsyncSession, ticket_ids: list[int]
                          ) -> dict[int, tuple[str, Any]]:
    if not ticket_ids:
        return {}
    latest = (select(func.max(Message.id)).where(Message.ticket_id.in_(ticket_ids),
                                                 Message.direction == Direction.INBOUND)
              .group_by(Message.ticket_id))
    rows = await db.execute(select(Message.ticket_id, Message.text, Message.created_at)
                            .where(Message.id.in_(latest)))
    return {r.ticket_id: (r.text, r.created_at) for r in rows}
