"""HTTP routes of routing: agents' availability and routing, teams' routing, store defaults."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from sellerdesk.accounts.permissions import Permission, Principal, require
from sellerdesk.api.deps import CanReadTickets, CanUpdateTickets, SessionDep, permitted
from sellerdesk.automation.routing import actions, queries
from sellerdesk.automation.routing.schemas import (
    AgentRoutingRead,
    AgentRoutingUpdate,
    AvailabilityUpdate,
    RoutingSettingsRead,
    RoutingSettingsUpdate,
    TeamQueueRead,
    TeamRoutingRead,
    TeamRoutingUpdate,
)
from sellerdesk.automation.routing.strategies import Availability, Mode
from sellerdesk.core.ids import IdPath

router = APIRouter(tags=["routing"])

CanManageRouting = Annotated[Principal, Depends(permitted(Permission.ROUTING_MANAGE))]


def _agent_read(view: queries.AgentView) -> AgentRoutingRead:
    agent = view.agent
    return AgentRoutingRead(
        id=agent.id, name=agent.name, email=agent.email, role=agent.role,
        is_active=agent.is_active, availability=Availability(view.availability),
        availability_changed_at=view.availability_changed_at, languages=view.languages,
        skills=view.skills, capacities=view.capacities,
        effective_capacities=view.effective_capacities, load=view.load.by_channel,
        weighted_load=view.load.weighted, team_ids=view.team_ids,
    )


async def _one_agent(db: SessionDep, store_id: int, agent_id: int) -> AgentRoutingRead:
    views = await queries.agent_views(db, store_id=store_id, agent_ids=[agent_id])
    return _agent_read(views[0])


def _team_read(view: queries.TeamView) -> TeamRoutingRead:
    return TeamRoutingRead(
        team_id=view.team.id, name=view.team.name, mode=Mode(view.mode),
        channel_ids=view.channel_ids, agent_ids=view.agent_ids, queued=view.queued,
        updated_at=view.updated_at,
    )


@router.get("/agents", response_model=list[AgentRoutingRead])
async def list_agents(db: SessionDep, principal: CanReadTickets) -> list[AgentRoutingRead]:
    """Active agents with availability, capacities, load and teams."""
    return [_agent_read(v) for v in await queries.agent_views(db, store_id=principal.store_id)]


@router.get("/agents/{agent_id}/routing", response_model=AgentRoutingRead)
async def get_agent_routing(agent_id: IdPath, db: SessionDep, principal: CanReadTickets
                            ) -> AgentRoutingRead:
    await queries.get_agent(db, store_id=principal.store_id, agent_id=agent_id)
    return await _one_agent(db, principal.store_id, agent_id)


@router.put("/agents/{agent_id}/availability", response_model=AgentRoutingRead)
async def set_availability(
    agent_id: IdPath, body: AvailabilityUpdate, db: SessionDep, principal: CanUpdateTickets
) -> AgentRoutingRead:
    """An agent sets their own; setting someone else's takes routing.manage (managers)."""
    agent = await queries.get_agent(db, store_id=principal.store_id, agent_id=agent_id)
    if principal.agent_id != agent.id:
        require(principal, Permission.ROUTING_MANAGE)
    await actions.set_availability(db, agent_id=agent.id, status=body.availability,
                                   actor=principal.actor)
    return await _one_agent(db, principal.store_id, agent.id)


@router.patch("/agents/{agent_id}/routing", response_model=AgentRoutingRead)
async def update_agent_routing(
    agent_id: IdPath, body: AgentRoutingUpdate, db: SessionDep, principal: CanManageRouting
) -> AgentRoutingRead:
    agent = await queries.get_agent(db, store_id=principal.store_id, agent_id=agent_id)
    await actions.update_agent_routing(db, agent=agent, actor=principal.actor,
                                       changes=body.changes())
    return await _one_agent(db, principal.store_id, agent.id)


@router.get("/teams/{team_id}/routing", response_model=TeamRoutingRead)
async def get_team_routing(team_id: IdPath, db: SessionDep, principal: CanReadTickets
                           ) -> TeamRoutingRead:
    team = await queries.get_team(db, store_id=principal.store_id, team_id=team_id)
    return _team_read(await queries.team_view(db, team=team))


@router.patch("/teams/{team_id}/routing", response_model=TeamRoutingRead)
async def update_team_routing(
    team_id: IdPath, body: TeamRoutingUpdate, db: SessionDep, principal: CanManageRouting
) -> TeamRoutingRead:
    team = await queries.get_team(db, store_id=principal.store_id, team_id=team_id)
    await actions.update_team_routing(db, team=team, actor=principal.actor,
                                      changes=body.changes())
    return _team_read(await queries.team_view(db, team=team))


@router.get("/teams/{team_id}/routing/queue", response_model=TeamQueueRead)
async def get_team_queue(team_id: IdPath, db: SessionDep, principal: CanReadTickets
                         ) -> TeamQueueRead:
    team = await queries.get_team(db, store_id=principal.store_id, team_id=team_id)
    return TeamQueueRead(team_id=team.id, ticket_ids=await queries.queued_tickets(
        db, store_id=principal.store_id, team_id=team.id))


@router.get("/routing/settings", response_model=RoutingSettingsRead)
async def get_settings(db: SessionDep, principal: CanReadTickets) -> RoutingSettingsRead:
    defaults = await queries.store_defaults(db, store_id=principal.store_id)
    return RoutingSettingsRead(capacities=defaults.capacities,
                               reroute_on_offline=list(defaults.reroute_on_offline),
                               updated_at=defaults.updated_at)


@router.patch("/routing/settings", response_model=RoutingSettingsRead)
async def update_settings(body: RoutingSettingsUpdate, db: SessionDep,
                          principal: CanManageRouting) -> RoutingSettingsRead:
    defaults = await actions.update_settings(db, store_id=principal.store_id,
                                             actor=principal.actor, changes=body.changes())
    return RoutingSettingsRead(capacities=defaults.capacities,
                               reroute_on_offline=list(defaults.reroute_on_offline),
                               updated_at=defaults.updated_at)
