"""Evaluating rules: each store's active rules compiled once per version of its rule set and
cached in the process, evaluated on an in-memory snapshot of the ticket, and the matching ones
run in order, each at most once per event, with the chain of rules carried along (events.py).

A run is claimed (a rule_runs row, committed) before its actions start, so a retried job never
applies a rule twice for the same event: a run that failed half-way is not repeated either,
which is the lesser harm for actions such as replies and webhooks.
"""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.automation import queries as sla_queries
from sellerdesk.automation.calendars import BusinessCalendar
from sellerdesk.automation.models import Calendar
from sellerdesk.automation.rules import conditions, effects
from sellerdesk.automation.rules.events import MAX_DEPTH, RuleEvent, acting
from sellerdesk.automation.rules.facts import ABSENT, Facts
from sellerdesk.automation.rules.models import Rule, RuleRun, RuleSet
from sellerdesk.core.actor import Actor
from sellerdesk.core.clock import now
from sellerdesk.core.db import BigId, commit, dialect_name, rollback
from sellerdesk.customers.models import Customer
from sellerdesk.tickets import audit
from sellerdesk.tickets.models import Tag, Ticket, ticket_tags

log = logging.getLogger(__name__)

CACHE_STORES = 1024


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: int
    name: str
    events: frozenset[str]
    predicate: conditions.Predicate
    actions: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class RuleBook:
    """A store's active rules in order, compiled, with what their conditions need loaded."""

    version: str | None
    rules: tuple[CompiledRule, ...] = ()
    calendar_ids: frozenset[int] = frozenset()

    def listening(self, events: Iterable[str], *, skip: Iterable[int] = ()
                  ) -> list[CompiledRule]:
        wanted, skipped = frozenset(events), frozenset(skip)
        return [r for r in self.rules if not r.events.isdisjoint(wanted) and r.id not in skipped]


EMPTY = RuleBook(None)


def compile_rule(*, id: int, name: str, events: Sequence[str], tree: Mapping[str, Any],
                 actions: list[dict[str, Any]]) -> CompiledRule:
    return CompiledRule(id, name, frozenset(events), conditions.compile_tree(tree), actions)


def build(version: str | None, rows: Iterable[Rule]) -> RuleBook:
    rules, calendars = [], set()
    for row in rows:
        rules.append(compile_rule(id=row.id, name=row.name, events=row.events,
                                  tree=row.conditions, actions=row.actions))
        calendars |= conditions.calendar_ids(row.conditions)
    return RuleBook(version, tuple(rules), frozenset(calendars))


_books: OrderedDict[int, RuleBook] = OrderedDict()


async def rulebook(db: AsyncSession, *, store_id: int) -> RuleBook:
    """The store's compiled rules: one primary-key read when the cached ones are current."""
    version = await db.scalar(select(RuleSet.version).where(RuleSet.store_id == store_id))
    return await _book(db, store_id, version)


async def _book(db: AsyncSession, store_id: int, version: str | None) -> RuleBook:
    if version is None:
        return EMPTY
    cached = _books.get(store_id)
    if cached is not None and cached.version == version:
        _books.move_to_end(store_id)
        return cached
    rows = (await db.execute(
        select(Rule).where(Rule.store_id == store_id, Rule.is_active.is_(True))
        .order_by(Rule.position, Rule.id)
    )).scalars()
    book = build(version, rows)
    _books[store_id] = book
    while len(_books) > CACHE_STORES:
        _books.popitem(last=False)
    return book


async def listens(db: AsyncSession, *, store_id: int, event: RuleEvent) -> bool:
    """Whether any active rule of the store listens to the event."""
    book = await rulebook(db, store_id=store_id)
    return any(event in r.events for r in book.rules)


_calendars: dict[tuple[int, datetime], BusinessCalendar] = {}


async def load_calendars(db: AsyncSession, ids: Iterable[int]) -> dict[int, BusinessCalendar]:
    """The calendars by id, each built once per edit (keyed by its updated_at)."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = (await db.execute(select(Calendar).where(Calendar.id.in_(wanted)))).scalars()
    result = {}
    for row in rows:
        key = (row.id, row.updated_at)
        built = _calendars.get(key)
        if built is None:
            if len(_calendars) > 1000:
                _calendars.clear()
            built = _calendars[key] = sla_queries.engine_calendar(row)
        result[row.id] = built
    return result


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One event on one ticket, as rules see it."""

    events: frozenset[str]
    key: str  # unique per event: a rule runs at most once per key
    at: datetime
    chain: tuple[int, ...] = ()  # the rules that caused it (they do not fire for it)
    depth: int = 0  # how many rule-caused events lead to it
    message_text: str | None = None
    previous_status: str | None = None
    sla_target: str | None = None

    @property
    def primary(self) -> str:
        """The event named in audits and webhooks: a new ticket's first message is created."""
        return next((e.value for e in RuleEvent if e in self.events), sorted(self.events)[0])


class CustomerFacts(NamedTuple):
    email: str | None
    name: str | None
    language: str | None


def ticket_values(ticket: Ticket, *, tags: Iterable[str], customer: CustomerFacts | None,
                  message_text: str | None = None, previous_status: str | None = None,
                  sla_target: str | None = None) -> dict[str, Any]:
    """The fields of conditions.FIELDS for one ticket (tags and customer loaded by the caller)."""
    return {
        "ticket.subject": ticket.subject,
        "ticket.status": ticket.status,
        "ticket.priority": ticket.priority,
        "ticket.marketplace": ticket.marketplace,
        "ticket.language": ticket.language,
        "ticket.tags": frozenset(tags),
        "ticket.team_id": ticket.team_id,
        "ticket.assignee_id": ticket.assignee_id,
        "ticket.intent": getattr(ticket, "intent", ABSENT),
        "message.text": message_text,
        "customer.email": customer.email if customer is not None else None,
        "customer.name": customer.name if customer is not None else None,
        "customer.language": customer.language if customer is not None else None,
        "channel.type": ticket.channel_type,
        "channel.id": ticket.channel_id,
        "event.previous_status": previous_status,
        "event.sla_target": sla_target,
    }


@functools.cache
def _state_query(dialect: str) -> Select[Any]:
    """One round trip for everything an evaluation reads: the rule set's version, a stamp
    of the store's calendars, the ticket's tags (commas never occur in a tag) and customer.
    Built once per dialect: constructing and compiling it anew cost more than running it."""
    agg = (func.string_agg(Tag.name, ",") if dialect == "postgresql"
           else func.group_concat(Tag.name, ","))
    store_id = bindparam("store_id", type_=BigId)
    tags = (select(agg).select_from(ticket_tags.join(Tag, Tag.id == ticket_tags.c.tag_id))
            .where(ticket_tags.c.ticket_id == bindparam("ticket_id", type_=BigId))
            .scalar_subquery())
    count = (select(func.count(Calendar.id)).where(Calendar.store_id == store_id)
             .scalar_subquery())
    latest = (select(func.max(Calendar.updated_at)).where(Calendar.store_id == store_id)
              .scalar_subquery())
    return (select(RuleSet.version, count, latest, tags, Customer.email, Customer.name,
                   Customer.language)
            .select_from(RuleSet)
            .outerjoin(Customer, Customer.id == bindparam("customer_id", type_=BigId))
            .where(RuleSet.store_id == store_id))


_store_calendars: dict[int, tuple[Any, dict[int, BusinessCalendar]]] = {}


async def snapshot(db: AsyncSession, *, ticket: Ticket, occurrence: Occurrence
                   ) -> tuple[RuleBook, Facts]:
    """The store's rules and the ticket's facts, in one query while nothing has changed."""
    row = (await db.execute(_state_query(dialect_name(db)), {
        "store_id": ticket.store_id, "ticket_id": ticket.id,
        "customer_id": ticket.customer_id or 0})).first()
    if row is None:
        return EMPTY, Facts({}, at=occurrence.at)
    version, count, latest, tags, email, name, language = row
    book = await _book(db, ticket.store_id, version)
    calendars: dict[int, BusinessCalendar] = {}
    if book.calendar_ids:
        stamp = (count, str(latest), book.version)
        cached = _store_calendars.get(ticket.store_id)
        if cached is None or cached[0] != stamp:
            cached = stamp, await load_calendars(db, book.calendar_ids)
            _store_calendars[ticket.store_id] = cached
        calendars = cached[1]
    customer = CustomerFacts(email, name, language) if ticket.customer_id else None
    values = ticket_values(ticket, tags=tags.split(",") if tags else (), customer=customer,
                           message_text=occurrence.message_text,
                           previous_status=occurrence.previous_status,
                           sla_target=occurrence.sla_target)
    return book, Facts(values, at=occurrence.at, calendars=calendars)


async def evaluate(db: AsyncSession, *, ticket: Ticket, occurrence: Occurrence
                   ) -> tuple[RuleBook, list[CompiledRule], Facts | None]:
    """The rules that match now, in order, without running anything."""
    if occurrence.depth >= MAX_DEPTH:
        log.warning("rules on ticket %s: an event %s deep (chain %s) runs no rules", ticket.id,
                    occurrence.depth, occurrence.chain)
        return EMPTY, [], None
    book, facts = await snapshot(db, ticket=ticket, occurrence=occurrence)
    candidates = book.listening(occurrence.events, skip=occurrence.chain)
    if not candidates:
        return book, [], None
    return book, [r for r in candidates if r.predicate(facts)], facts


@dataclass(frozen=True, slots=True)
class Fired:
    rule_id: int
    outcome: effects.Outcome = field(default_factory=effects.Outcome)


async def handle(db: AsyncSession, *, ticket: Ticket, occurrence: Occurrence) -> list[Fired]:
    """Run every matching rule once for this event, in order; later rules see earlier changes.

    The rules that fire in one pass join the chain, so the events their actions cause carry
    all of them: no rule of the pass fires again in what follows from it."""
    book, matched, facts = await evaluate(db, ticket=ticket, occurrence=occurrence)
    if facts is None:
        return []
    fired: list[Fired] = []
    chain = occurrence.chain
    first_matches = {r.id for r in matched}
    stale = False
    for rule in book.listening(occurrence.events, skip=occurrence.chain):
        if fired:
            if stale:
                # An earlier rule changed the ticket: look again with what it is now.
                _, facts = await snapshot(db, ticket=ticket, occurrence=occurrence)
                stale = False
            if not rule.predicate(facts):
                continue
        elif rule.id not in first_matches:
            continue
        if not await _claim(db, rule, ticket, occurrence.key):
            continue
        chain = (*chain, rule.id)
        fired.append(Fired(rule.id, await _run(db, rule, ticket, occurrence, chain)))
        stale = True
    return fired


async def _claim(db: AsyncSession, rule: CompiledRule, ticket: Ticket, key: str) -> bool:
    done = await db.scalar(select(RuleRun.id).where(RuleRun.rule_id == rule.id,
                                                    RuleRun.event_key == key))
    if done is not None:
        return False
    db.add(RuleRun(store_id=ticket.store_id, rule_id=rule.id, ticket_id=ticket.id,
                   event_key=key))
    try:
        await commit(db)
    except IntegrityError:
        # Another worker claimed it first, or the rule was deleted since it was compiled.
        await rollback(db)
        await db.refresh(ticket)
        return False
    return True


async def _run(db: AsyncSession, rule: CompiledRule, ticket: Ticket,
               occurrence: Occurrence, chain: tuple[int, ...]) -> effects.Outcome:
    with acting(chain, occurrence.depth):
        outcome = await effects.run(
            db, rule_id=rule.id, rule_name=rule.name, actions=rule.actions, ticket=ticket,
            actor=Actor("rule", rule.id), event=occurrence.primary,
            event_key=occurrence.key)
    stamp = now()
    audit.record(
        db, store_id=ticket.store_id, actor=Actor("rule", rule.id), entity_type="rule",
        entity_id=rule.id, ticket_id=ticket.id, action="rule.applied",
        after={"rule": rule.name, "events": sorted(occurrence.events),
               "event_key": occurrence.key, "chain": list(chain),
               "changes": outcome.changes, "actions": outcome.done},
    )
    await db.execute(update(Rule).where(Rule.id == rule.id).values(
        times_fired=Rule.times_fired + 1, last_fired_at=stamp))
    await commit(db)
    return outcome
