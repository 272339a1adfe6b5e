"""The inbox's views (mine, unassigned, my teams, ...): what each holds, counts, row details.

A view is a fixed scope (statuses, assignee, teams, SLA window) that the agent's own filters
narrow further; a filter that contradicts the view leaves it empty rather than widening it.
Counts stop at COUNT_CAP so each one is a bounded index range, whatever the store's size.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent, Team, TeamMember
from sellerdesk.customers.models import Customer
from sellerdesk.tickets import queries
from sellerdesk.tickets.models import Ticket
from sellerdesk.tickets.queries import Sort, TicketFilters, TicketPage
from sellerdesk.tickets.states import Status

ACTIVE = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)
# "Breaching SLA soon": due within this window, or already overdue.
BREACH_WINDOW = timedelta(hours=1)
COUNT_CAP = 1000


class View(StrEnum):
    MINE = "mine"
    UNASSIGNED = "unassigned"
    MY_TEAMS = "teams"
    OPEN = "open"
    BREACHING = "breaching"
    PENDING = "pending"
    SOLVED = "solved"


def default_sort(view: View) -> str:
    if view in (View.PENDING, View.SOLVED):
        return Sort.UPDATED
    return Sort.SLA_DUE


@dataclass(frozen=True, slots=True)
class Narrowing:
    """The agent's own filters on top of a view (None: not filtered on that)."""

    status: Status | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    team_id: int | None = None
    channel: str | None = None
    marketplace: str | None = None
    tag: str | None = None
    priority: str | None = None


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who looks at the inbox: their store, their agent id and the teams they belong to."""

    store_id: int
    agent_id: int
    team_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Scope:
    filters: TicketFilters
    extra: tuple[ColumnElement[bool], ...] = ()


def _view_scope(view: View, viewer: Viewer, at: datetime) -> _Scope | None:
    if view == View.MINE:
        return _Scope(TicketFilters(statuses=ACTIVE, assignee_id=viewer.agent_id))
    if view == View.UNASSIGNED:
        return _Scope(TicketFilters(statuses=ACTIVE, unassigned=True))
    if view == View.MY_TEAMS:
        if not viewer.team_ids:
            return None
        if len(viewer.team_ids) == 1:  # an equality keeps the team index's SLA order
            return _Scope(TicketFilters(statuses=ACTIVE, team_id=viewer.team_ids[0]))
        return _Scope(TicketFilters(statuses=ACTIVE),
                      (Ticket.team_id.in_(viewer.team_ids),))
    if view == View.BREACHING:
        return _Scope(TicketFilters(statuses=ACTIVE),
                      (Ticket.sla_due_at <= at + BREACH_WINDOW,))
    if view == View.PENDING:
        return _Scope(TicketFilters(statuses=(Status.PENDING,)))
    if view == View.SOLVED:
        return _Scope(TicketFilters(statuses=(Status.SOLVED,)))
    return _Scope(TicketFilters(statuses=ACTIVE))


def _narrow(scope: _Scope, viewer: Viewer, view: View, by: Narrowing) -> _Scope | None:
    f = scope.filters
    changes: dict[str, object] = {}
    if by.status is not None:
        if by.status not in f.statuses:
            return None
        changes["statuses"] = (by.status,)
    if by.unassigned or by.assignee_id is not None:
        if f.assignee_id is not None and (by.unassigned or by.assignee_id != f.assignee_id):
            return None
        if f.unassigned and not by.unassigned:
            return None
        changes["unassigned"] = by.unassigned
        changes["assignee_id"] = None if by.unassigned else by.assignee_id
    extra = scope.extra
    if by.team_id is not None:
        if view == View.MY_TEAMS and by.team_id not in viewer.team_ids:
            return None
        if f.team_id is not None and f.team_id != by.team_id:
            return None
        changes["team_id"] = by.team_id
        if view == View.MY_TEAMS:
            extra = ()
    for name in ("channel", "marketplace", "tag", "priority"):
        value = getattr(by, name)
        if value is not None:
            changes[name] = value
    return _Scope(dataclasses.replace(f, **changes), extra)  # type: ignore[arg-type]


async def _statement(
    db: AsyncSession, scope: _Scope | None, store_id: int
) -> Select[Ticket] | None:
    if scope is None:
        return None
    base = await queries.filtered_tickets(db, store_id=store_id, filters=scope.filters)
    if base is None:
        return None
    return base.where(*scope.extra) if scope.extra else base


async def viewer_for(db: AsyncSession, *, store_id: int, agent_id: int) -> Viewer:
    rows = await db.execute(
        select(TeamMember.team_id).join(Team, Team.id == TeamMember.team_id)
        .where(TeamMember.agent_id == agent_id, Team.store_id == store_id)
        .order_by(TeamMember.team_id)
    )
    return Viewer(store_id=store_id, agent_id=agent_id, team_ids=tuple(rows.scalars()))


async def view_page(
    db: AsyncSession,
    *,
    viewer: Viewer,
    view: View,
    narrowing: Narrowing,
    sort: str,
    at: datetime,
    limit: int = 50,
    cursor: str | None = None,
) -> TicketPage:
    """One keyset page of a view narrowed by the agent's filters."""
    scope = _view_scope(view, viewer, at)
    base = await _statement(db, _narrow(scope, viewer, view, narrowing) if scope else None,
                            viewer.store_id)
    if base is None:
        return TicketPage([], None)
    return await queries.page_tickets(db, base=base, sort=sort, limit=limit, cursor=cursor)


@dataclass(frozen=True, slots=True)
class ViewCounts:
    """Tickets per view, and active tickets per channel type and per marketplace."""

    views: dict[View, int]
    channels: dict[str, int] = field(default_factory=dict)
    marketplaces: dict[str, int] = field(default_factory=dict)


async def view_counts(
    db: AsyncSession, *, viewer: Viewer, at: datetime, with_channels: bool = True
) -> ViewCounts:
    """The sidebar's numbers: one capped index count per view, one grouped count of the rest
    (which reads every active ticket: ~60 ms at 100k tickets on SQLite, hence optional)."""
    counts = []
    for view in View:
        base = await _statement(db, _view_scope(view, viewer, at), viewer.store_id)
        counts.append(None if base is None else queries.count_statement(base, cap=COUNT_CAP))
    # One round trip for all of them (each a bounded index range, see count_statement).
    found = list((await db.execute(select(*(c for c in counts if c is not None)))).one())
    views = {view: 0 if c is None else int(found.pop(0) or 0) for view, c in zip(
        View, counts, strict=True)}
    if not with_channels:
        return ViewCounts(views)
    active = await queries.filtered_tickets(db, store_id=viewer.store_id,
                                            filters=TicketFilters(statuses=ACTIVE))
    assert active is not None  # noqa: S101 (no search term: there is always a statement)
    rows = await db.execute(
        active.with_only_columns(Ticket.channel_type, Ticket.marketplace, func.count())
        .group_by(Ticket.channel_type, Ticket.marketplace)
    )
    channels: dict[str, int] = {}
    marketplaces: dict[str, int] = {}
    for channel_type, marketplace, count in rows:
        channels[channel_type] = channels.get(channel_type, 0) + count
        if marketplace:
            marketplaces[marketplace] = marketplaces.get(marketplace, 0) + count
    return ViewCounts(views, dict(sorted(channels.items())), dict(sorted(marketplaces.items())))


@dataclass(frozen=True, slots=True)
class InboxRow:
    ticket: Ticket
    customer: str
    tags: list[str]


async def inbox_rows(db: AsyncSession, *, store_id: int, tickets: list[Ticket]) -> list[InboxRow]:
    """The tickets with their customers' names and their tags: two queries for any page."""
    customer_ids = sorted({t.customer_id for t in tickets if t.customer_id is not None})
    names: dict[int, str] = {}
    if customer_ids:
        found = await db.execute(
            select(Customer.id, Customer.name, Customer.email)
            .where(Customer.id.in_(customer_ids), Customer.store_id == store_id)
        )
        names = {cid: name or email or "" for cid, name, email in found}
    tags = await queries.tags_by_ticket(db, [t.id for t in tickets])
    return [InboxRow(t, names.get(t.customer_id, "") if t.customer_id else "", tags[t.id])
            for t in tickets]


async def store_agents(db: AsyncSession, *, store_id: int) -> list[tuple[int, str]]:
    """Active agents of the store (id, name), by name: for assignee names and choices."""
    rows = await db.execute(
        select(Agent.id, Agent.name).where(Agent.store_id == store_id, Agent.is_active.is_(True))
        .order_by(Agent.name, Agent.id)
    )
    return [(i, n) for i, n in rows]


async def store_teams(db: AsyncSession, *, store_id: int) -> list[tuple[int, str]]:
    rows = await db.execute(
        select(Team.id, Team.name).where(Team.store_id == store_id).order_by(Team.name, Team.id)
    )
    return [(i, n) for i, n in rows]


async def existing_ids(db: AsyncSession, *, store_id: int, ticket_ids: list[int]) -> set[int]:
    """Which of these ids are tickets of this store (the rest are unknown or another's)."""
    if not ticket_ids:
        return set()
    rows = await db.execute(
        select(Ticket.id).where(Ticket.id.in_(ticket_ids), Ticket.store_id == store_id))
    return set(rows.scalars())
