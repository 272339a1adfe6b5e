"""Jobs of routing: route one ticket, serve a team's queue, and the periodic safety net."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.automation.routing import engine, queries
from sellerdesk.jobs.registry import job, periodic


@job("routing.route")
async def route(db: AsyncSession, *, ticket_id: int) -> None:
    """A ticket entered a team, lost its assignee or reopened: find it an agent or queue it."""
    await engine.route_ticket(db, ticket_id=ticket_id, trigger="ticket_changed")


@job("routing.drain")
async def drain(db: AsyncSession, *, team_id: int) -> None:
    """Seats may have freed in the team (mode or capacity changed, an agent left): serve it."""
    await engine.drain(db, team_id=team_id)


@job("routing.agent_freed")
async def agent_freed(db: AsyncSession, *, agent_id: int) -> None:
    """An agent has room again (a ticket solved or passed on, back online, more capacity):
    the queues of their teams are served."""
    for team_id in await queries.teams_with_queue(db, agent_id=agent_id):
        await engine.drain(db, team_id=team_id)


@periodic("routing.drain_queues")
async def drain_queues(db: AsyncSession) -> int:
    """Serve every non-empty queue, in case a job that should have was lost (one indexed
    query when nothing waits)."""
    assigned = 0
    for team_id in await queries.teams_with_queue(db):
        assigned += await engine.drain(db, team_id=team_id)
    return assigned
