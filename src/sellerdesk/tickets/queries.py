"""Reads on tickets, scoped to a store; other stores' objects are simply not found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Integer,
    ScalarSelect,
    Select,
    bindparam,
    func,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.core.errors import Invalid, NotFound
from sellerdesk.core.ids import MAX_ID
from sellerdesk.core.pagination import decode_cursor, encode_cursor
from sellerdesk.tickets import search
from sellerdesk.tickets.errors import TicketError
from sellerdesk.tickets.models import (
    ACTIVE_STATUSES,
    Attachment,
    AuditEvent,
    Message,
    Tag,
    Ticket,
    ticket_tags,
)
from sellerdesk.tickets.states import Status
from sellerdesk.tickets.tags import normalize_tag

SEARCH_CANDIDATES = 1000


async def get_ticket(
    db: AsyncSession, *, store_id: int, ticket_id: int, field: str = "ticket_id"
) -> Ticket:
    ticket = (await db.execute(
        select(Ticket).where(Ticket.id == ticket_id, Ticket.store_id == store_id)
    )).scalar_one_or_none()
    if ticket is None:
        raise NotFound(TicketError.NOT_FOUND, f"ticket {ticket_id} not found", field=field)
    return ticket


async def ticket_tag_names(db: AsyncSession, *, ticket_id: int) -> list[str]:
    rows = await db.execute(
        select(Tag.name).join(ticket_tags, ticket_tags.c.tag_id == Tag.id)
        .where(ticket_tags.c.ticket_id == ticket_id).order_by(Tag.name)
    )
    return list(rows.scalars())


async def tags_by_ticket(db: AsyncSession, ticket_ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {i: [] for i in ticket_ids}
    if not ticket_ids:
        return result
    rows = await db.execute(
        select(ticket_tags.c.ticket_id, Tag.name).join(Tag, Tag.id == ticket_tags.c.tag_id)
        .where(ticket_tags.c.ticket_id.in_(ticket_ids)).order_by(Tag.name)
    )
    for ticket_id, name in rows:
        result[ticket_id].append(name)
    return result


@dataclass(frozen=True, slots=True)
class TicketFilters:
    statuses: tuple[Status, ...] = ()
    assignee_id: int | None = None
    unassigned: bool = False
    team_id: int | None = None
    channel: str | None = None
    marketplace: str | None = None
    tag: str | None = None
    priority: str | None = None
    customer_id: int | None = None
    q: str | None = None


class Sort:
    UPDATED = "updated"  # newest activity first
    SLA_DUE = "sla_due"  # soonest due first, tickets without an SLA last
    ALL = (UPDATED, SLA_DUE)


@dataclass(frozen=True, slots=True)
class TicketPage:
    items: list[Ticket]
    next_cursor: str | None


def _dt(value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise Invalid("request.invalid_cursor", "cursor is not one this API gave out",
                      field="cursor") from exc
    if at.tzinfo is None:
        # A naive time would fail only at the database (UTCDateTime rejects it): a 500.
        raise Invalid("request.invalid_cursor", "cursor is not one this API gave out",
                      field="cursor")
    return at


def _cursor_id(value: object) -> int:
    """The ticket id in a cursor; anything else (a forged cursor) is a 422, not a crash."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise Invalid("request.invalid_cursor", "cursor is not one this API gave out",
                      field="cursor")
    return value


async def _apply_filters(
    db: AsyncSession, stmt: Select[Ticket], store_id: int, f: TicketFilters
) -> Select[Ticket] | None:
    stmt = stmt.where(Ticket.store_id == store_id)
    if f.statuses:
        values = [s.value for s in f.statuses]
        if set(values) == set(ACTIVE_STATUSES):
            # Spelled exactly like the partial indexes' predicate so the planner can use them:
            # as literals, because neither SQLite nor a generic PostgreSQL plan can prove that
            # `status IN (?, ?, ?, ?)` implies it (benchmarks/inbox.py: a full scan, 1.5 s at
            # 1M tickets on SQLite, instead of < 1 ms).
            stmt = stmt.where(Ticket.status.in_(bindparam(
                "active_statuses", list(ACTIVE_STATUSES), expanding=True, literal_execute=True,
            )))
        else:
            stmt = stmt.where(Ticket.status.in_(values))
    if f.unassigned:
        stmt = stmt.where(Ticket.assignee_id.is_(None))
    elif f.assignee_id is not None:
        stmt = stmt.where(Ticket.assignee_id == f.assignee_id)
    if f.team_id is not None:
        stmt = stmt.where(Ticket.team_id == f.team_id)
    if f.channel is not None:
        stmt = stmt.where(Ticket.channel_type == f.channel)
    if f.marketplace is not None:
        stmt = stmt.where(Ticket.marketplace == f.marketplace)
    if f.priority is not None:
        stmt = stmt.where(Ticket.priority == f.priority)
    if f.customer_id is not None:
        stmt = stmt.where(Ticket.customer_id == f.customer_id)
    if f.tag is not None:
        stmt = stmt.where(Ticket.id.in_(
            select(ticket_tags.c.ticket_id).join(Tag, Tag.id == ticket_tags.c.tag_id)
            .where(Tag.store_id == store_id, Tag.name == normalize_tag(f.tag, field="tag"))
        ))
    if f.q:
        query = search.parse_query(store_id, f.q)
        message_ids = await search.matching_message_ids(db, query, limit=SEARCH_CANDIDATES)
        if not message_ids:
            return None
        stmt = stmt.where(Ticket.id.in_(
            select(Message.ticket_id).where(Message.id.in_(message_ids))
        ))
    return stmt


async def list_tickets(
    db: AsyncSession,
    *,
    store_id: int,
    filters: TicketFilters,
    sort: str = Sort.UPDATED,
    limit: int = 25,
    cursor: str | None = None,
) -> TicketPage:
    """One page of tickets, keyset-paginated so page 1,000 costs what page 1 costs."""
    base = await _apply_filters(db, select(Ticket), store_id, filters)
    if base is None:
        return TicketPage([], None)
    if sort == Sort.SLA_DUE:
        return await _by_sla_due(db, base, limit, cursor)
    stmt = base
    if cursor is not None:
        updated, last_id = decode_cursor(cursor, length=2)
        at = _dt(updated)
        # A row comparison, not `a < x OR (a = x AND id < y)`: both backends turn it into an
        # index range, so page 1,000 costs what page 1 does (benchmarks/inbox.py).
        stmt = stmt.where(tuple_(Ticket.updated_at, Ticket.id) < tuple_(at, _cursor_id(last_id)))
    rows = list((await db.execute(
        stmt.order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(limit + 1)
    )).scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([last.updated_at.isoformat(), last.id])
    return TicketPage(rows, next_cursor)


async def _by_sla_due(
    db: AsyncSession, base: Select[Ticket], limit: int, cursor: str | None, *,
    literal_limit: bool = False,
) -> TicketPage:
    # Two index-ordered phases instead of NULLS LAST, which neither backend serves from a
    # plain index: first tickets with a due time, soonest first, then those without, by id.
    phase, due, last_id = decode_cursor(cursor, length=3) if cursor else (0, None, 0)
    rows: list[Ticket] = []
    if phase == 0:
        stmt = base.where(Ticket.sla_due_at.is_not(None))
        if due is not None:
            at = _dt(due)
            stmt = stmt.where(
                tuple_(Ticket.sla_due_at, Ticket.id) > tuple_(at, _cursor_id(last_id)))
        rows = list((await db.execute(
            stmt.order_by(Ticket.sla_due_at, Ticket.id).limit(_limit(limit + 1, literal_limit))
        )).scalars())
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            due_at = last.sla_due_at.isoformat() if last.sla_due_at else None
            return TicketPage(rows, encode_cursor([0, due_at, last.id]))
        last_id = 0
    remaining = limit - len(rows)
    tail = list((await db.execute(
        base.where(Ticket.sla_due_at.is_(None), Ticket.id > _cursor_id(last_id))
        # sla_due_at is NULL in every row here; ordering by it too makes the order the partial
        # index's, which PostgreSQL otherwise replaces by a primary-key scan (0.1 s+ at 1M).
        .order_by(Ticket.sla_due_at, Ticket.id).limit(_limit(remaining + 1, literal_limit))
    )).scalars())
    next_cursor = None
    if len(tail) > remaining:
        tail = tail[:remaining]
        next_cursor = encode_cursor([1, None, tail[-1].id]) if tail else encode_cursor(
            [1, None, 0])
    return TicketPage(rows + tail, next_cursor)


async def ticket_messages(db: AsyncSession, *, ticket: Ticket) -> list[Message]:
    rows = await db.execute(
        select(Message).where(Message.ticket_id == ticket.id, Message.store_id == ticket.store_id)
        .order_by(Message.id)
    )
    return list(rows.scalars())


async def attachments_by_message(
    db: AsyncSession, message_ids: list[int]
) -> dict[int, list[Attachment]]:
    result: dict[int, list[Attachment]] = {i: [] for i in message_ids}
    if not message_ids:
        return result
    rows = await db.execute(
        select(Attachment).where(Attachment.message_id.in_(message_ids)).order_by(Attachment.id)
    )
    for att in rows.scalars():
        result[att.message_id].append(att)
    return result


async def get_attachment(db: AsyncSession, *, store_id: int, attachment_id: int) -> Attachment:
    att = (await db.execute(
        select(Attachment).where(Attachment.id == attachment_id, Attachment.store_id == store_id)
    )).scalar_one_or_none()
    if att is None:
        raise NotFound(TicketError.ATTACHMENT_NOT_FOUND, f"attachment {attachment_id} not found",
                       field="attachment_id")
    return att


async def audit_events(
    db: AsyncSession,
    *,
    store_id: int,
    ticket_id: int | None = None,
    entity_type: str | None = None,
    entity_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.store_id == store_id)
    if ticket_id is not None:
        stmt = stmt.where(AuditEvent.ticket_id == ticket_id)
    if entity_type is not None:
        stmt = stmt.where(AuditEvent.entity_type == entity_type)
    if entity_id is not None:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    rows = await db.execute(stmt.order_by(AuditEvent.id.desc()).limit(limit))
    return list(rows.scalars())


@dataclass(frozen=True, slots=True)
class SearchHit:
    message: Message
    ticket: Ticket


async def search_messages(
    db: AsyncSession, *, store_id: int, q: str, limit: int = 25, before_id: int | None = None
) -> list[SearchHit]:
    """Messages matching q in this store, newest first, with their tickets."""
    query = search.parse_query(store_id, q)
    ids = await search.matching_message_ids(db, query, limit=limit, before_id=before_id)
    if not ids:
        return []
    rows = await db.execute(
        select(Message, Ticket).join(Ticket, Ticket.id == Message.ticket_id)
        .where(Message.id.in_(ids), Message.store_id == store_id)
        .order_by(Message.id.desc())
    )
    return [SearchHit(m, t) for m, t in rows]


# --- building blocks for lists beyond list_tickets (the workspace's inbox views) --------------

SORT_PRIORITY = "priority"  # most urgent first, newest activity first within a priority
PRIORITY_ORDER = ("urgent", "high", "normal", "low")


async def filtered_tickets(
    db: AsyncSession, *, store_id: int, filters: TicketFilters
) -> Select[Ticket] | None:
    """The store's tickets matching filters, as a statement to refine; None: nothing matches."""
    return await _apply_filters(db, select(Ticket), store_id, filters)


async def page_tickets(
    db: AsyncSession, *, base: Select[Ticket], sort: str, limit: int = 25,
    cursor: str | None = None,
) -> TicketPage:
    """One keyset page of a statement from filtered_tickets, in updated, SLA or priority order."""
    if sort == Sort.SLA_DUE:
        return await _by_sla_due(db, base, limit, cursor, literal_limit=True)
    if sort == SORT_PRIORITY:
        return await _by_priority(db, base, limit, cursor)
    return await _by_updated(db, base, limit, cursor)


def _limit(n: int, literal: bool) -> int | ColumnElement[int]:
    """LIMIT n as a literal where asked: with `LIMIT ?` SQLite plans for an unknown size and
    walks the SLA index over every active ticket to find one agent's few (130 ms for an agent
    with none at 100k tickets); with the number written in, it takes the assignee index."""
    return literal_column(str(int(n)), Integer) if literal else n


async def _by_updated(
    db: AsyncSession, base: Select[Ticket], limit: int, cursor: str | None
) -> TicketPage:
    stmt = base
    if cursor is not None:
        updated, last_id = decode_cursor(cursor, length=2)
        stmt = stmt.where(
            tuple_(Ticket.updated_at, Ticket.id) < tuple_(_dt(updated), _cursor_id(last_id)))
    rows = list((await db.execute(
        stmt.order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(_limit(limit + 1, True))
    )).scalars())
    if len(rows) <= limit:
        return TicketPage(rows, None)
    rows = rows[:limit]
    return TicketPage(rows, encode_cursor([rows[-1].updated_at.isoformat(), rows[-1].id]))


async def _by_priority(
    db: AsyncSession, base: Select[Ticket], limit: int, cursor: str | None
) -> TicketPage:
    # One index-ordered phase per priority (newest activity first inside each) instead of
    # ORDER BY CASE, which would sort every matching ticket for each page.
    phase, updated, last_id = decode_cursor(cursor, length=3) if cursor else (0, None, 0)
    if isinstance(phase, bool) or not isinstance(phase, int) or not 0 <= phase < len(
            PRIORITY_ORDER):
        raise Invalid("request.invalid_cursor", "cursor is not one this API gave out",
                      field="cursor")
    rows: list[tuple[int, Ticket]] = []
    for index in range(phase, len(PRIORITY_ORDER)):
        stmt = base.where(Ticket.priority == PRIORITY_ORDER[index])
        if index == phase and updated is not None:
            stmt = stmt.where(tuple_(Ticket.updated_at, Ticket.id)
                              < tuple_(_dt(updated), _cursor_id(last_id)))
        need = limit - len(rows)
        found = list((await db.execute(
            stmt.order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(_limit(need + 1, True))
        )).scalars())
        if len(found) > need:
            rows.extend((index, t) for t in found[:need])
            last_phase, last = rows[-1]
            return TicketPage([t for _, t in rows], encode_cursor(
                [last_phase, last.updated_at.isoformat(), last.id]))
        rows.extend((index, t) for t in found)
    return TicketPage([t for _, t in rows], None)


def count_statement(base: Select[Ticket], *, cap: int) -> ScalarSelect[int]:
    """How many tickets a statement matches, counting no further than cap, as a scalar
    subquery: a bounded index range (index-only on PostgreSQL), whatever the table's size."""
    limited = base.with_only_columns(literal_column("1")).limit(cap).subquery()
    return select(func.count()).select_from(limited).scalar_subquery()


async def count_matching(db: AsyncSession, *, base: Select[Ticket], cap: int) -> int:
    """How many tickets a statement matches, counting no further than cap."""
    return int(await db.scalar(select(count_statement(base, cap=cap))) or 0)
