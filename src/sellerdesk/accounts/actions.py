"""Writes on stores, agents, teams, tokens and channels (set-up, CLI and admin)."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import queries
from sellerdesk.accounts.errors import AccountError
from sellerdesk.accounts.models import (
    Agent,
    ApiToken,
    PasswordReset,
    Store,
    Team,
    TeamMember,
    WebSession,
)
from sellerdesk.accounts.permissions import Principal, Role
from sellerdesk.channels.models import Channel
from sellerdesk.channels.registry import check_type
from sellerdesk.core.actor import SYSTEM, Actor
from sellerdesk.core.clock import now
from sellerdesk.core.crypto import seal
from sellerdesk.core.db import commit
from sellerdesk.core.errors import Conflict, Forbidden, Invalid, NotFound
from sellerdesk.core.i18n import LANGUAGES
from sellerdesk.core.security import hash_password, hash_token, new_token
from sellerdesk.jobs import outbox
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


# --------------------------------------------------------------------------------------------
# Admin pages: store settings, invitations, roles, deactivation, teams, token revocation

INVITE_LIFETIME = timedelta(days=7)
_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
_TEAM_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def check_name(value: str, *, limit: int = 200, field: str = "name") -> str:
    name = value.strip()
    if not name or len(name) > limit:
        raise Invalid(AccountError.INVALID_NAME, f"{field} must be 1-{limit} characters",
                      field=field)
    return name


def check_language(value: str, *, field: str = "language") -> str:
    """One of the interface languages (en, ko, pl)."""
    if value not in LANGUAGES:
        raise Invalid(AccountError.INVALID_LANGUAGE,
                      f"{value[:20]!r} is not one of {', '.join(LANGUAGES)}", field=field)
    return value


def check_team_language(value: str | None) -> str | None:
    """A team's customer language: empty for any, else a code such as ko, pl or de."""
    code = (value or "").strip().lower()
    if not code:
        return None
    if not _TEAM_LANGUAGE.match(code):
        raise Invalid(AccountError.INVALID_LANGUAGE,
                      f"{code[:20]!r} is not a language code such as ko, pl or en",
                      field="language")
    return code


def _check_grant(by: Principal, role: Role) -> None:
    """Only an owner hands out the owner role (to an agent or a token)."""
    if role == Role.OWNER and by.role != Role.OWNER:
        raise Forbidden(AccountError.OWNER_ONLY, "only an owner may give the owner role",
                        field="role")


async def update_store(
    db: AsyncSession, *, store_id: int, name: str, timezone: str, default_language: str,
    actor: Actor,
) -> Store:
    """Change a store's name, time zone and default language; all checked before any change."""
    values = {"name": check_name(name), "timezone": check_timezone(timezone),
              "default_language": check_language(default_language, field="default_language")}
    store = await db.get(Store, store_id)
    if store is None:
        raise NotFound(AccountError.STORE_NOT_FOUND, f"store {store_id} not found",
                       field="store_id")
    before = {k: getattr(store, k) for k, v in values.items() if getattr(store, k) != v}
    after = {k: values[k] for k in before}
    for key, value in after.items():
        setattr(store, key, value)
    if after:
        audit.record(db, store_id=store_id, actor=actor, entity_type="store", entity_id=store_id,
                     action="store.updated", before=before, after=after)
    await commit(db)
    return store


async def _send_invitation(db: AsyncSession, agent: Agent) -> PasswordReset:
    token = secrets.token_urlsafe(32)
    reset = PasswordReset(agent_id=agent.id, token_hash=hash_token(token),
                          expires_at=now() + INVITE_LIFETIME)
    db.add(reset)
    await db.flush()
    # The job needs the token itself for the link; it waits in the outbox sealed.
    outbox.enqueue(db, "accounts.invitation_mail", reset_id=reset.id, sealed_token=seal(token))
    return reset


async def invite_agent(
    db: AsyncSession, *, store_id: int, email: str, name: str, role: Role, language: str,
    by: Principal,
) -> Agent:
    """Add an agent without a password and mail them a link to choose one (7 days)."""
    address = email.strip().lower()
    if len(address) > 320 or not _EMAIL.match(address):
        raise Invalid(AccountError.INVALID_EMAIL,
                      f"{email[:80]!r} is not an email address like ola@shop.example",
                      field="email")
    values = {"name": check_name(name), "language": check_language(language)}
    _check_grant(by, role)
    exists = await db.scalar(
        select(Agent.id).where(Agent.store_id == store_id, Agent.email == address))
    if exists is not None:
        raise Conflict(AccountError.AGENT_EXISTS, f"an agent {address!r} exists", field="email")
    agent = Agent(store_id=store_id, email=address, role=role.value, password_hash=None,
                  **values)
    db.add(agent)
    await db.flush()
    await _send_invitation(db, agent)
    audit.record(db, store_id=store_id, actor=by.actor, entity_type="agent", entity_id=agent.id,
                 action="agent.invited", after={"email": address, "role": role.value,
                                                "language": values["language"]})
    await commit(db)
    return agent


async def resend_invitation(
    db: AsyncSession, *, store_id: int, agent_id: int, by: Principal
) -> PasswordReset:
    """A new invitation link for an agent who has not chosen a password yet."""
    agent = await queries.get_agent(db, store_id=store_id, agent_id=agent_id)
    if agent.password_hash is not None:
        raise Conflict(AccountError.ALREADY_ACTIVE,
                       f"agent {agent_id} has already chosen a password", field="agent_id")
    if not agent.is_active:
        raise Conflict(AccountError.ALREADY_ACTIVE, f"agent {agent_id} is deactivated",
                       field="agent_id")
    reset = await _send_invitation(db, agent)
    audit.record(db, store_id=store_id, actor=by.actor, entity_type="agent", entity_id=agent.id,
                 action="agent.invitation_resent")
    await commit(db)
    return reset


async def _guard_owner(db: AsyncSession, agent: Agent, by: Principal) -> None:
    """An owner's account is changed only by an owner, and the last owner stays one."""
    if agent.role != Role.OWNER.value:
        return
    if by.role != Role.OWNER:
        raise Forbidden(AccountError.OWNER_ONLY, "only an owner may change an owner",
                        field="agent_id")
    if agent.is_active and await queries.active_owners(db, store_id=agent.store_id) <= 1:
        raise Conflict(AccountError.LAST_OWNER,
                       "the store's last owner must stay an active owner", field="agent_id")


async def change_role(
    db: AsyncSession, *, store_id: int, agent_id: int, role: Role, by: Principal
) -> Agent:
    agent = await queries.get_agent(db, store_id=store_id, agent_id=agent_id)
    if agent.role == role.value:
        return agent
    _check_grant(by, role)
    await _guard_owner(db, agent, by)
    before = agent.role
    agent.role = role.value
    audit.record(db, store_id=store_id, actor=by.actor, entity_type="agent", entity_id=agent.id,
                 action="agent.role_changed", before={"role": before},
                 after={"role": role.value})
    await commit(db)
    return agent


async def set_agent_active(
    db: AsyncSession, *, store_id: int, agent_id: int, active: bool, by: Principal
) -> Agent:
    """Deactivate (signed out everywhere, API tokens revoked) or reactivate an agent."""
    agent = await queries.get_agent(db, store_id=store_id, agent_id=agent_id)
    if agent.is_active == active:
        return agent
    after: dict[str, Any] = {"is_active": active}
    if not active:
        if agent.id == by.agent_id:
            raise Conflict(AccountError.NOT_YOURSELF, "you cannot deactivate yourself",
                           field="agent_id")
        await _guard_owner(db, agent, by)
        ended = await db.execute(delete(WebSession).where(WebSession.agent_id == agent.id))
        revoked = await db.execute(
            update(ApiToken).where(ApiToken.agent_id == agent.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now()))
        after["sessions_ended"] = getattr(ended, "rowcount", 0)
        after["tokens_revoked"] = getattr(revoked, "rowcount", 0)
    elif agent.role == Role.OWNER.value and by.role != Role.OWNER:
        raise Forbidden(AccountError.OWNER_ONLY, "only an owner may change an owner",
                        field="agent_id")
    agent.is_active = active
    audit.record(db, store_id=store_id, actor=by.actor, entity_type="agent", entity_id=agent.id,
                 action="agent.reactivated" if active else "agent.deactivated",
                 before={"is_active": not active}, after=after)
    await commit(db)
    return agent


async def update_team(
    db: AsyncSession, *, store_id: int, team_id: int, name: str, language: str | None,
    actor: Actor,
) -> Team:
    """Rename a team and set its customer language (None: any)."""
    team = await queries.get_team(db, store_id=store_id, team_id=team_id)
    values = {"name": check_name(name, limit=100), "language": check_team_language(language)}
    if values["name"] != team.name and await db.scalar(
        select(Team.id).where(Team.store_id == store_id, Team.name == values["name"])
    ) is not None:
        raise Conflict(AccountError.TEAM_EXISTS, f"a team {values['name']!r} exists",
                       field="name")
    before = {k: getattr(team, k) for k, v in values.items() if getattr(team, k) != v}
    after = {k: values[k] for k in before}
    for key, value in after.items():
        setattr(team, key, value)
    if after:
        audit.record(db, store_id=store_id, actor=actor, entity_type="team", entity_id=team.id,
                     action="team.updated", before=before, after=after)
    await commit(db)
    return team


async def set_team_member(
    db: AsyncSession, *, store_id: int, team_id: int, agent_id: int, member: bool,
    actor: Actor,
) -> Team:
    """Add an agent of the store to a team, or take them out (doing it twice changes nothing)."""
    team = await queries.get_team(db, store_id=store_id, team_id=team_id)
    agent = await queries.get_agent(db, store_id=store_id, agent_id=agent_id)
    found = await db.get(TeamMember, (team.id, agent.id))
    if (found is not None) == member:
        return team
    if member:
        db.add(TeamMember(team_id=team.id, agent_id=agent.id))
    else:
        await db.delete(found)
    audit.record(db, store_id=store_id, actor=actor, entity_type="team", entity_id=team.id,
                 action="team.member_added" if member else "team.member_removed",
                 after={"agent_id": agent.id})
    await commit(db)
    return team


async def issue_api_token(
    db: AsyncSession, *, store_id: int, name: str, role: Role, by: Principal
) -> tuple[ApiToken, str]:
    """A token made on the admin page: named, and never above its maker's reach."""
    label = check_name(name, limit=100)
    _check_grant(by, role)
    return await create_api_token(db, store_id=store_id, role=role, name=label, actor=by.actor)


async def revoke_api_token(
    db: AsyncSession, *, store_id: int, token_id: int, actor: Actor
) -> ApiToken:
    token = await queries.get_token(db, store_id=store_id, token_id=token_id)
    if token.revoked_at is not None:
        return token
    token.revoked_at = now()
    audit.record(db, store_id=store_id, actor=actor, entity_type="api_token", entity_id=token.id,
                 action="token.revoked", after={"name": token.name, "prefix": token.prefix})
    await commit(db)
    return token
