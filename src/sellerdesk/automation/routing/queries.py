"""Reads of routing state, scoped to a store; another store's agents and teams are not found."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent, Team, TeamMember
from sellerdesk.automation.routing.errors import RoutingError
from sellerdesk.automation.routing.models import (
    AgentRouting,
    ChannelTeam,
    QueuedTicket,
    RoutingSettings,
    TeamRouting,
)
from sellerdesk.automation.routing.strategies import (
    PRIORITY_RANK,
    SEAT_STATUSES,
    Availability,
    Mode,
    weight,
)
from sellerdesk.channels.registry import CHANNEL_TYPES
from sellerdesk.core.errors import NotFound
from sellerdesk.tickets.models import Ticket

# Live chat is one conversation at a time per seat; asynchronous channels queue up in an inbox.
DEFAULT_CAPACITIES: dict[str, int | None] = {"chat": 3}
DEFAULT_REROUTE: tuple[str, ...] = ("chat",)


async def get_agent(db: AsyncSession, *, store_id: int, agent_id: int,
                    field: str = "agent_id") -> Agent:
    agent = (await db.execute(
        select(Agent).where(Agent.id == agent_id, Agent.store_id == store_id)
    )).scalar_one_or_none()
    if agent is None:
        raise NotFound(RoutingError.AGENT_NOT_FOUND, f"agent {agent_id} not found", field=field)
    return agent


async def get_team(db: AsyncSession, *, store_id: int, team_id: int,
                   field: str = "team_id") -> Team:
    team = (await db.execute(
        select(Team).where(Team.id == team_id, Team.store_id == store_id)
    )).scalar_one_or_none()
    if team is None:
        raise NotFound(RoutingError.TEAM_NOT_FOUND, f"team {team_id} not found", field=field)
    return team


def queue_order() -> tuple[Any, ...]:
    """Most urgent first, then oldest (the order a team's queue is served in)."""
    rank = case(PRIORITY_RANK, value=Ticket.priority, else_=PRIORITY_RANK["normal"])
    return rank.desc(), Ticket.created_at, Ticket.id


@dataclass(frozen=True, slots=True)
class StoreDefaults:
    capacities: dict[str, int | None]
    reroute_on_offline: tuple[str, ...]
    updated_at: datetime | None = None


async def store_defaults(db: AsyncSession, *, store_id: int) -> StoreDefaults:
    row = await db.get(RoutingSettings, store_id)
    if row is None:
        return StoreDefaults(dict(DEFAULT_CAPACITIES), DEFAULT_REROUTE)
    return StoreDefaults(dict(row.capacities), tuple(row.reroute_on_offline), row.updated_at)


def effective_capacities(store: Mapping[str, Any], agent: Mapping[str, Any]
                         ) -> dict[str, int | None]:
    """Seats per channel type: the agent's own number, else the store's, else unlimited."""
    result: dict[str, int | None] = {}
    for channel_type in CHANNEL_TYPES:
        source = agent if channel_type in agent else store
        value = source.get(channel_type)
        result[channel_type] = int(value) if value is not None else None
    return result


def effective_languages(agent: Agent, routing: AgentRouting | None) -> list[str]:
    if routing is not None and routing.languages:
        return list(routing.languages)
    return [agent.language]


@dataclass(slots=True)
class Load:
    by_channel: dict[str, int] = field(default_factory=dict)
    weighted: int = 0


async def loads(db: AsyncSession, *, store_id: int, agent_ids: Iterable[int]
                ) -> dict[int, Load]:
    """Each agent's tickets that take a seat, per channel type, and their priority weight."""
    ids = list(agent_ids)
    result: dict[int, Load] = {i: Load() for i in ids}
    if not ids:
        return result
    rows = await db.execute(
        select(Ticket.assignee_id, Ticket.channel_type, Ticket.priority, func.count())
        .where(Ticket.store_id == store_id, Ticket.assignee_id.in_(ids),
               Ticket.status.in_(SEAT_STATUSES))
        .group_by(Ticket.assignee_id, Ticket.channel_type, Ticket.priority)
    )
    for agent_id, channel_type, priority, count in rows.all():
        if agent_id is None:  # filtered out by the query; here for the type checker
            continue
        load = result[agent_id]
        load.by_channel[channel_type] = load.by_channel.get(channel_type, 0) + count
        load.weighted += weight(priority) * count
    return result


@dataclass(frozen=True, slots=True)
class AgentView:
    agent: Agent
    availability: str
    availability_changed_at: datetime | None
    languages: list[str]
    skills: list[str]
    capacities: dict[str, int | None]  # the agent's own overrides
    effective_capacities: dict[str, int | None]
    load: Load
    team_ids: list[int]


async def agent_views(db: AsyncSession, *, store_id: int, agent_ids: list[int] | None = None
                      ) -> list[AgentView]:
    """Active agents (or the given ones) with availability, capacities, load and teams."""
    stmt = (select(Agent, AgentRouting)
            .outerjoin(AgentRouting, AgentRouting.agent_id == Agent.id)
            .where(Agent.store_id == store_id).order_by(Agent.name, Agent.id))
    stmt = (stmt.where(Agent.id.in_(agent_ids)) if agent_ids is not None
            else stmt.where(Agent.is_active.is_(True)))
    rows = list((await db.execute(stmt)).all())
    ids = [agent.id for agent, _ in rows]
    defaults = await store_defaults(db, store_id=store_id)
    load = await loads(db, store_id=store_id, agent_ids=ids)
    teams: dict[int, list[int]] = defaultdict(list)
    if ids:
        members = await db.execute(
            select(TeamMember.agent_id, TeamMember.team_id)
            .where(TeamMember.agent_id.in_(ids)).order_by(TeamMember.team_id))
        for agent_id, team_id in members:
            teams[agent_id].append(team_id)
    views = []
    for agent, routing in rows:
        own = dict(routing.capacities) if routing is not None else {}
        views.append(AgentView(
            agent=agent,
            availability=routing.availability if routing else Availability.OFFLINE.value,
            availability_changed_at=routing.availability_changed_at if routing else None,
            languages=effective_languages(agent, routing),
            skills=list(routing.skills) if routing else [],
            capacities=own,
            effective_capacities=effective_capacities(defaults.capacities, own),
            load=load[agent.id], team_ids=teams[agent.id],
        ))
    return views


@dataclass(frozen=True, slots=True)
class TeamView:
    team: Team
    mode: str
    channel_ids: list[int]
    agent_ids: list[int]
    queued: int
    updated_at: datetime | None


async def team_view(db: AsyncSession, *, team: Team) -> TeamView:
    routing = await db.get(TeamRouting, team.id)
    channels = await db.execute(
        select(ChannelTeam.channel_id).where(ChannelTeam.team_id == team.id)
        .order_by(ChannelTeam.channel_id))
    members = await db.execute(
        select(TeamMember.agent_id).where(TeamMember.team_id == team.id)
        .order_by(TeamMember.agent_id))
    queued = await db.scalar(
        select(func.count()).select_from(QueuedTicket).where(QueuedTicket.team_id == team.id))
    return TeamView(
        team=team, mode=routing.mode if routing else Mode.MANUAL.value,
        channel_ids=list(channels.scalars()), agent_ids=list(members.scalars()),
        queued=int(queued or 0), updated_at=routing.updated_at if routing else None,
    )


async def queued_tickets(db: AsyncSession, *, store_id: int, team_id: int) -> list[int]:
    """The team's queue in the order it is served: most urgent first, then oldest."""
    rows = await db.execute(
        select(QueuedTicket.ticket_id).join(Ticket, Ticket.id == QueuedTicket.ticket_id)
        .where(QueuedTicket.team_id == team_id, QueuedTicket.store_id == store_id)
        .order_by(*queue_order())
    )
    return list(rows.scalars())


async def teams_with_queue(db: AsyncSession, *, agent_id: int | None = None) -> list[int]:
    """Teams with someone waiting (those of one agent, when given)."""
    stmt = select(QueuedTicket.team_id).distinct()
    if agent_id is not None:
        stmt = stmt.join(TeamMember, TeamMember.team_id == QueuedTicket.team_id).where(
            TeamMember.agent_id == agent_id)
    return sorted((await db.execute(stmt)).scalars())
