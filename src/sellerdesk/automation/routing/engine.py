"""The routing engine: lock, count, choose, assign — for one ticket or a team's whole queue.

Fair under concurrency: every assignment happens with the team's routing row and then the
rows of its online agents locked (SELECT ... FOR UPDATE, agents in id order), and each
router counts loads only after it holds those locks. Two routers of one team therefore take
turns, and routers of two teams sharing an agent meet on that agent's row; the lock order
(team, then agents by id, then tickets) is the same everywhere, so they cannot deadlock.
On SQLite every writing transaction begins IMMEDIATE (core/db.py), which serializes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent, TeamMember
from sellerdesk.accounts.permissions import ROLE_PERMISSIONS, Permission
from sellerdesk.automation.routing import queries
from sellerdesk.automation.routing.models import (
    AgentRouting,
    ChannelTeam,
    QueuedTicket,
    TeamRouting,
)
from sellerdesk.automation.routing.strategies import (
    SEAT_STATUSES,
    Availability,
    Candidate,
    Choice,
    Mode,
    TicketFacts,
    choose,
)
from sellerdesk.core.actor import SYSTEM
from sellerdesk.core.clock import now
from sellerdesk.core.db import commit
from sellerdesk.jobs import outbox
from sellerdesk.tickets import audit
from sellerdesk.tickets.events import publish_after_commit
from sellerdesk.tickets.models import Ticket
from sellerdesk.tickets.queries import tags_by_ticket, ticket_tag_names

# Only roles that may answer customers are given tickets.
ROUTABLE_ROLES = tuple(sorted(r.value for r, perms in ROLE_PERMISSIONS.items()
                              if Permission.TICKET_REPLY in perms))
DRAIN_BATCH = 200


@dataclass(frozen=True, slots=True)
class Routed:
    ticket_id: int
    agent_id: int
    team_id: int
    mode: str
    reason: str


def waiting(ticket: Ticket) -> bool:
    """A ticket routing should find an agent for: in a team, nobody's, needing an answer."""
    return (ticket.assignee_id is None and ticket.team_id is not None
            and ticket.status in SEAT_STATUSES and ticket.merged_into_id is None)


async def _lock_team(db: AsyncSession, team_id: int) -> TeamRouting | None:
    return (await db.execute(
        select(TeamRouting).where(TeamRouting.team_id == team_id).with_for_update()
        .execution_options(populate_existing=True)
    )).scalar_one_or_none()


@dataclass(slots=True)
class _Seats:
    """The team's online agents, locked for this transaction, and what each holds now."""

    candidates: list[Candidate]
    rows: dict[int, AgentRouting]

    def took(self, choice: Choice, ticket: Ticket) -> None:
        at = now()
        self.rows[choice.agent_id].last_routed_at = at
        self.candidates = [c.took(ticket.channel_type, ticket.priority, at)
                           if c.agent_id == choice.agent_id else c for c in self.candidates]


async def _lock_seats(db: AsyncSession, team: TeamRouting) -> _Seats:
    rows = list((await db.execute(
        select(AgentRouting, Agent.language)
        .join(TeamMember, TeamMember.agent_id == AgentRouting.agent_id)
        .join(Agent, Agent.id == AgentRouting.agent_id)
        .where(TeamMember.team_id == team.team_id, Agent.store_id == team.store_id,
               AgentRouting.availability == Availability.ONLINE.value,
               Agent.is_active.is_(True), Agent.role.in_(ROUTABLE_ROLES))
        .order_by(AgentRouting.agent_id)
        .with_for_update(of=AgentRouting)
        .execution_options(populate_existing=True)
    )).all())
    if not rows:
        return _Seats([], {})
    # Counted after the locks are held, so another router's committed assignment is seen.
    defaults = await queries.store_defaults(db, store_id=team.store_id)
    loads = await queries.loads(db, store_id=team.store_id, agent_ids=[r.agent_id for r, _ in rows])
    candidates = [
        Candidate(
            agent_id=row.agent_id,
            languages=frozenset(row.languages or [language]),
            skills=frozenset(row.skills),
            capacities=queries.effective_capacities(defaults.capacities, row.capacities),
            load=dict(loads[row.agent_id].by_channel),
            weighted_load=loads[row.agent_id].weighted,
            last_routed_at=row.last_routed_at,
        )
        for row, language in rows
    ]
    return _Seats(candidates, {row.agent_id: row for row, _ in rows})


async def _facts(db: AsyncSession, ticket: Ticket, tags: list[str] | None = None
                 ) -> TicketFacts:
    wants = set(tags if tags is not None else await ticket_tag_names(db, ticket_id=ticket.id))
    if ticket.marketplace:
        wants.add(ticket.marketplace.casefold())
    return TicketFacts(channel_type=ticket.channel_type, priority=ticket.priority,
                       language=ticket.language, wants=frozenset(wants))


def _assign(db: AsyncSession, ticket: Ticket, team: TeamRouting, choice: Choice,
            trigger: str) -> Routed:
    ticket.assignee_id = choice.agent_id
    ticket.updated_at = now()
    team.rr_last_agent_id = choice.agent_id
    audit.record(
        db, store_id=ticket.store_id, actor=SYSTEM, entity_type="ticket", entity_id=ticket.id,
        ticket_id=ticket.id, action="ticket.routed", before={"assignee_id": None},
        after={"assignee_id": choice.agent_id, "team_id": team.team_id, "mode": team.mode,
               "reason": choice.reason, "trigger": trigger},
    )
    publish_after_commit(db, ticket.store_id, {
        "type": "ticket.routed", "ticket_id": ticket.id, "team_id": team.team_id,
        "assignee_id": choice.agent_id, "mode": team.mode, "reason": choice.reason,
    })
    return Routed(ticket.id, choice.agent_id, team.team_id, team.mode, choice.reason)


async def _dequeue(db: AsyncSession, ticket_id: int) -> None:
    await db.execute(delete(QueuedTicket).where(QueuedTicket.ticket_id == ticket_id))


async def _enqueue(db: AsyncSession, ticket: Ticket, team_id: int, reason: str) -> None:
    """Into the team's queue (once; a ticket already waiting keeps its place)."""
    row = await db.get(QueuedTicket, ticket.id, populate_existing=True)
    if row is not None and row.team_id == team_id:
        return
    if row is None:
        db.add(QueuedTicket(ticket_id=ticket.id, store_id=ticket.store_id, team_id=team_id,
                            queued_at=now()))
    else:
        row.team_id, row.queued_at = team_id, now()
    audit.record(
        db, store_id=ticket.store_id, actor=SYSTEM, entity_type="ticket", entity_id=ticket.id,
        ticket_id=ticket.id, action="ticket.queued", after={"team_id": team_id, "reason": reason},
    )


async def route(db: AsyncSession, *, ticket_id: int, trigger: str) -> Routed | None:
    """Give a waiting ticket to an agent of its team, or queue it (no commit)."""
    ticket = await db.get(Ticket, ticket_id, populate_existing=True)
    if ticket is None:
        return None
    if not waiting(ticket) or ticket.team_id is None:
        await _dequeue(db, ticket_id)
        return None
    team = await _lock_team(db, ticket.team_id)
    if team is None or team.mode == Mode.MANUAL:
        await _dequeue(db, ticket_id)
        return None
    seats = await _lock_seats(db, team)
    # Re-read under its own lock: the ticket may have changed while the locks were awaited.
    ticket = (await db.execute(
        select(Ticket).where(Ticket.id == ticket_id).with_for_update()
        .execution_options(populate_existing=True)
    )).scalar_one_or_none()
    if ticket is None or not waiting(ticket) or ticket.team_id != team.team_id:
        await _dequeue(db, ticket_id)
        return None
    choice = choose(Mode(team.mode), seats.candidates, await _facts(db, ticket),
                    last_agent_id=team.rr_last_agent_id)
    if choice is None:
        await _enqueue(db, ticket, team.team_id,
                       "all_agents_full" if seats.candidates else "no_agent_online")
        return None
    seats.took(choice, ticket)
    await _dequeue(db, ticket.id)
    return _assign(db, ticket, team, choice, trigger)


async def route_ticket(db: AsyncSession, *, ticket_id: int, trigger: str) -> Routed | None:
    """`route`, committed."""
    routed = await route(db, ticket_id=ticket_id, trigger=trigger)
    await commit(db)
    return routed


async def ticket_arrived(db: AsyncSession, *, ticket_id: int) -> Routed | None:
    """The inbound job's step (commits): a ticket without a team enters its channel's team,
    then a waiting ticket is routed. Runs after rules, so a rule's team choice counts."""
    ticket = await db.get(Ticket, ticket_id, populate_existing=True)
    if ticket is None or ticket.assignee_id is not None:
        return None
    if ticket.team_id is None and ticket.channel_id is not None and waiting_status(ticket):
        team_id = await db.scalar(
            select(ChannelTeam.team_id).where(ChannelTeam.channel_id == ticket.channel_id))
        if team_id is None:
            return None
        ticket.team_id = team_id
        ticket.updated_at = now()
        audit.record(
            db, store_id=ticket.store_id, actor=SYSTEM, entity_type="ticket",
            entity_id=ticket.id, ticket_id=ticket.id, action="ticket.updated",
            before={"team_id": None}, after={"team_id": team_id},
        )
        publish_after_commit(db, ticket.store_id, {"type": "ticket.updated",
                                                   "ticket_id": ticket.id, "fields": ["team_id"]})
        # Committed before routing takes its locks, which come in team → agents → ticket order.
        await commit(db)
    if not waiting(ticket):
        return None
    return await route_ticket(db, ticket_id=ticket.id, trigger="inbound")


def waiting_status(ticket: Ticket) -> bool:
    return ticket.status in SEAT_STATUSES and ticket.merged_into_id is None


async def drain(db: AsyncSession, *, team_id: int, limit: int = DRAIN_BATCH) -> int:
    """Serve a team's queue, most urgent and oldest first, while agents have room (commits).

    Returns how many tickets were assigned; a full batch asks for another drain.
    """
    team = await _lock_team(db, team_id)
    if team is None or team.mode == Mode.MANUAL:
        await db.execute(delete(QueuedTicket).where(QueuedTicket.team_id == team_id))
        await commit(db)
        return 0
    seats = await _lock_seats(db, team)
    # A ticket someone is editing right now is skipped: their change routes it again.
    queued = list((await db.execute(
        select(Ticket).join(QueuedTicket, QueuedTicket.ticket_id == Ticket.id)
        .where(QueuedTicket.team_id == team_id)
        .order_by(*queries.queue_order()).limit(limit)
        .with_for_update(of=Ticket, skip_locked=True)
        .execution_options(populate_existing=True)
    )).scalars())
    tags = await tags_by_ticket(db, [t.id for t in queued]) if seats.candidates else {}
    done: list[int] = []  # assigned, or no longer waiting here: out of the queue
    full: set[str] = set()  # channel types nobody has room for any more in this drain
    assigned = 0
    for ticket in queued:
        if not waiting(ticket) or ticket.team_id != team_id:
            done.append(ticket.id)
            continue
        if ticket.channel_type in full or not seats.candidates:
            continue
        choice = choose(Mode(team.mode), seats.candidates,
                        await _facts(db, ticket, tags[ticket.id]),
                        last_agent_id=team.rr_last_agent_id)
        if choice is None:
            full.add(ticket.channel_type)
            continue
        seats.took(choice, ticket)
        _assign(db, ticket, team, choice, "queue")
        done.append(ticket.id)
        assigned += 1
    if done:
        await db.execute(delete(QueuedTicket).where(QueuedTicket.ticket_id.in_(done)))
    if len(queued) == limit and assigned:
        outbox.enqueue(db, "routing.drain", team_id=team_id)
    await commit(db)
    return assigned


async def release(db: AsyncSession, *, agent_id: int, store_id: int,
                  channel_types: Sequence[str]) -> list[int]:
    """An agent went offline: their open tickets on live channel types go back to their
    teams' queues, audited (no commit). Returns the ticket ids; drains are enqueued."""
    if not channel_types:
        return []
    tickets = list((await db.execute(
        select(Ticket).where(Ticket.store_id == store_id, Ticket.assignee_id == agent_id,
                             Ticket.status.in_(SEAT_STATUSES),
                             Ticket.channel_type.in_(list(channel_types)))
        .order_by(Ticket.id).with_for_update()
        .execution_options(populate_existing=True)
    )).scalars())
    modes: dict[int, str] = {}
    for ticket in tickets:
        mode = Mode.MANUAL.value
        if ticket.team_id is not None:
            if ticket.team_id not in modes:
                row = await db.get(TeamRouting, ticket.team_id)
                modes[ticket.team_id] = row.mode if row is not None else Mode.MANUAL.value
            mode = modes[ticket.team_id]
        ticket.assignee_id = None
        ticket.updated_at = now()
        after: dict[str, Any] = {"assignee_id": None, "team_id": ticket.team_id, "mode": mode,
                                 "reason": "agent_offline", "trigger": "availability"}
        audit.record(
            db, store_id=store_id, actor=SYSTEM, entity_type="ticket", entity_id=ticket.id,
            ticket_id=ticket.id, action="ticket.routed", before={"assignee_id": agent_id},
            after=after,
        )
        publish_after_commit(db, store_id, {
            "type": "ticket.routed", "ticket_id": ticket.id, "team_id": ticket.team_id,
            "assignee_id": None, "mode": mode, "reason": "agent_offline",
        })
        if ticket.team_id is not None and mode != Mode.MANUAL:
            await _enqueue(db, ticket, ticket.team_id, "agent_offline")
    for team_id in sorted(t for t, mode in modes.items() if mode != Mode.MANUAL):
        outbox.enqueue(db, "routing.drain", team_id=team_id)
    return [t.id for t in tickets]
