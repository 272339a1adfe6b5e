"""Writes on stores, agents, teams, tokens and channels (set-up, CLI and admin)."""

from __future__ import annotations

import re
import secrets
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.errors import AccountError
from sellerdesk.accounts.models import Agent, ApiToken, Store, Team, TeamMember
from sellerdesk.accounts.permissions import Role
from sellerdesk.channels.models import Channel
from sellerdesk.channels.registry import check_type
from sellerdesk.core.actor import SYSTEM, Actor
from sellerdesk.core.db import commit
from sellerdesk.core.errors import Conflict, Invalid
from sellerdesk.core.security import hash_password, hash_token, new_token
from sellerdesk.tickets import audit


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise Invalid(AccountError.INVALID_ROLE, f"role must be one of {allowed}",
                      field="role") from None


SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def check_timezone(value: str, *, field: str = "timezone") -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(AccountError.INVALID_TIMEZONE,
                      f"{value!r} is not an IANA time zone such as Europe/Warsaw",
                      field=field) from None
    return value


async def create_store(
    db: AsyncSession, *, slug: str, name: str, timezone: str = "UTC",
    default_language: str = "en",
) -> Store:
    if not SLUG.match(slug):
        raise Invalid(AccountError.INVALID_SLUG,
                      "slug must be 1-64 lowercase letters, digits or dashes", field="slug")
    check_timezone(timezone)
    if await db.scalar(select(Store.id).where(Store.slug == slug)) is not None:
        raise Conflict(AccountError.STORE_EXISTS, f"a store {slug!r} exists", field="slug")
    store = Store(slug=slug, name=name, timezone=timezone, default_language=default_language)
    db.add(store)
    await db.flush()
    audit.record(db, store_id=store.id, actor=SYSTEM, entity_type="store",
                 entity_id=store.id, action="store.created", after={"slug": slug, "name": name})
    await commit(db)
    return store


async def create_agent(
    db: AsyncSession, *, store_id: int, email: str, name: str, role: Role,
    password: str | None = None, language: str = "en", actor: Actor = SYSTEM,
) -> Agent:
    email = email.strip().lower()
    exists = await db.scalar(
        select(Agent.id).where(Agent.store_id == store_id, Agent.email == email)
    )
    if exists is not None:
        raise Conflict(AccountError.AGENT_EXISTS, f"an agent {email!r} exists", field="email")
    agent = Agent(
        store_id=store_id, email=email, name=name, role=role.value, language=language,
        password_hash=hash_password(password) if password else None,
    )
    db.add(agent)
    await db.flush()
    audit.record(db, store_id=store_id, actor=actor, entity_type="agent", entity_id=agent.id,
                 action="agent.created", after={"email": email, "role": role.value})
    await commit(db)
    return agent


async def create_team(
    db: AsyncSession, *, store_id: int, name: str, language: str | None = None,
    agent_ids: list[int] | None = None, actor: Actor = SYSTEM,
) -> Team:
    if await db.scalar(
        select(Team.id).where(Team.store_id == store_id, Team.name == name)
    ) is not None:
        raise Conflict(AccountError.TEAM_EXISTS, f"a team {name!r} exists", field="name")
    team = Team(store_id=store_id, name=name, language=language)
    db.add(team)
    await db.flush()
    for agent_id in agent_ids or []:
        db.add(TeamMember(team_id=team.id, agent_id=agent_id))
    audit.record(db, store_id=store_id, actor=actor, entity_type="team", entity_id=team.id,
                 action="team.created", after={"name": name, "agent_ids": agent_ids or []})
    await commit(db)
    return team


async def create_api_token(
    db: AsyncSession, *, store_id: int, role: Role, name: str, agent_id: int | None = None,
    actor: Actor = SYSTEM,
) -> tuple[ApiToken, str]:
    """Create a token; the plain token is returned once and never stored."""
    plain = new_token()
    token = ApiToken(store_id=store_id, agent_id=agent_id, name=name, role=role.value,
                     token_hash=hash_token(plain), prefix=plain[:10])
    db.add(token)
    await db.flush()
    audit.record(db, store_id=store_id, actor=actor, entity_type="api_token",
                 entity_id=token.id, action="token.created",
                 after={"name": name, "role": role.value, "prefix": token.prefix})
    await commit(db)
    return token, plain


async def create_channel(
    db: AsyncSession, *, store_id: int, type: str, name: str, marketplace: str | None = None,
    config: dict[str, Any] | None = None, actor: Actor = SYSTEM,
) -> tuple[Channel, str]:
    """Create a channel with its own inbound token (returned once)."""
    check_type(type)
    plain = new_token()
    cfg = dict(config or {})
    if type == "api":
        cfg.setdefault("webhook_secret", secrets.token_urlsafe(32))
    channel = Channel(store_id=store_id, type=type, name=name, marketplace=marketplace,
                      config=cfg, token_hash=hash_token(plain))
    db.add(channel)
    await db.flush()
    audit.record(db, store_id=store_id, actor=actor, entity_type="channel",
                 entity_id=channel.id, action="channel.created",
                 after={"type": type, "name": name, "marketplace": marketplace})
    await commit(db)
    return channel, plain
