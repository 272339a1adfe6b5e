"""Reads on agents, teams, API tokens and channels of one store (admin pages)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.errors import AccountError
from sellerdesk.accounts.models import Agent, ApiToken, Team, TeamMember
from sellerdesk.accounts.permissions import Role
from sellerdesk.channels.models import Channel
from sellerdesk.core.errors import NotFound


async def store_agents(db: AsyncSession, *, store_id: int) -> list[Agent]:
    rows = await db.execute(
        select(Agent).where(Agent.store_id == store_id).order_by(Agent.name, Agent.id))
    return list(rows.scalars())


async def get_agent(db: AsyncSession, *, store_id: int, agent_id: int) -> Agent:
    agent = (await db.execute(
        select(Agent).where(Agent.id == agent_id, Agent.store_id == store_id)
    )).scalar_one_or_none()
    if agent is None:
        raise NotFound(AccountError.AGENT_NOT_FOUND, f"agent {agent_id} not found",
                       field="agent_id")
    return agent


async def active_owners(db: AsyncSession, *, store_id: int) -> int:
    return int(await db.scalar(
        select(func.count()).select_from(Agent)
        .where(Agent.store_id == store_id, Agent.role == Role.OWNER.value,
               Agent.is_active.is_(True))
    ) or 0)


async def store_teams(db: AsyncSession, *, store_id: int) -> list[Team]:
    rows = await db.execute(
        select(Team).where(Team.store_id == store_id).order_by(Team.name, Team.id))
    return list(rows.scalars())


async def get_team(db: AsyncSession, *, store_id: int, team_id: int) -> Team:
    team = (await db.execute(
        select(Team).where(Team.id == team_id, Team.store_id == store_id)
    )).scalar_one_or_none()
    if team is None:
        raise NotFound(AccountError.TEAM_NOT_FOUND, f"team {team_id} not found",
                       field="team_id")
    return team


async def team_members(db: AsyncSession, *, store_id: int) -> dict[int, list[int]]:
    """Each team of the store → the ids of its agents."""
    rows = await db.execute(
        select(TeamMember.team_id, TeamMember.agent_id)
        .join(Team, Team.id == TeamMember.team_id)
        .where(Team.store_id == store_id)
        .order_by(TeamMember.team_id, TeamMember.agent_id)
    )
    members: dict[int, list[int]] = defaultdict(list)
    for team_id, agent_id in rows:
        members[team_id].append(agent_id)
    return dict(members)


async def store_tokens(db: AsyncSession, *, store_id: int) -> list[ApiToken]:
    """Live tokens first, then revoked ones; newest first within each."""
    rows = await db.execute(
        select(ApiToken).where(ApiToken.store_id == store_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc()))
    return list(rows.scalars())


async def get_token(db: AsyncSession, *, store_id: int, token_id: int) -> ApiToken:
    token = (await db.execute(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.store_id == store_id)
    )).scalar_one_or_none()
    if token is None:
        raise NotFound(AccountError.TOKEN_NOT_FOUND, f"API token {token_id} not found",
                       field="token_id")
    return token


async def channel_names(db: AsyncSession, *, store_id: int) -> dict[int, tuple[str, str]]:
    """Each channel of the store → (name, type)."""
    rows = await db.execute(
        select(Channel.id, Channel.name, Channel.type).where(Channel.store_id == store_id))
    return {channel_id: (name, type_) for channel_id, name, type_ in rows}
