"""Signing agents in to the web workspace: sessions, lockout after failures, password resets."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.errors import AccountError
from sellerdesk.accounts.models import Agent, LoginFailure, PasswordReset, WebSession
from sellerdesk.core.actor import Actor
from sellerdesk.core.clock import now
from sellerdesk.core.crypto import seal
from sellerdesk.core.db import commit
from sellerdesk.core.errors import AppError, Invalid, Unauthorized
from sellerdesk.core.security import hash_password, hash_token, verify_password
from sellerdesk.jobs import outbox
from sellerdesk.tickets import audit

SESSION_LIFETIME = timedelta(days=14)
LOCK_AFTER = 5  # failed attempts for one address within LOCK_WINDOW lock it
LOCK_WINDOW = timedelta(minutes=15)
RESET_LIFETIME = timedelta(hours=1)
MIN_PASSWORD_LENGTH = 10

# Verified when the address is unknown, so an unknown address takes as long as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


class Locked(AppError):
    status_code = 429

    def __init__(self, retry_after: timedelta) -> None:
        minutes = max(1, int(retry_after.total_seconds() // 60) + 1)
        super().__init__(AccountError.LOCKED,
                         f"too many failed sign-ins; try again in {minutes} minutes",
                         field="email")
        self.minutes = minutes


@dataclass(frozen=True, slots=True)
class SignedIn:
    session: WebSession
    agent: Agent
    token: str  # goes into the cookie; only its hash is stored


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def _lock_remaining(db: AsyncSession, email: str) -> timedelta | None:
    since = now() - LOCK_WINDOW
    rows = (await db.execute(
        select(func.count(), func.max(LoginFailure.created_at))
        .where(LoginFailure.email == email, LoginFailure.created_at > since)
    )).one()
    count, last = rows
    if count < LOCK_AFTER or last is None:
        return None
    return last + LOCK_WINDOW - now()


async def sign_in(db: AsyncSession, *, email: str, password: str, ip: str | None) -> SignedIn:
    """Check the password of an active agent and open a session; failures count to a lockout."""
    email = normalize_email(email)
    remaining = await _lock_remaining(db, email)
    if remaining is not None:
        raise Locked(remaining)
    candidates = (await db.execute(
        select(Agent).where(Agent.email == email, Agent.is_active.is_(True),
                            Agent.password_hash.is_not(None)).order_by(Agent.id)
    )).scalars().all()
    agent = next((a for a in candidates
                  if a.password_hash and verify_password(a.password_hash, password)), None)
    if not candidates:
        verify_password(_DUMMY_HASH, password)
    if agent is None:
        db.add(LoginFailure(email=email, ip=ip))
        await commit(db)
        remaining = await _lock_remaining(db, email)
        if remaining is not None:
            raise Locked(remaining)
        raise Unauthorized(AccountError.BAD_CREDENTIALS, "the email or password is wrong",
                           field="password")
    await db.execute(delete(LoginFailure).where(LoginFailure.email == email))
    token = secrets.token_urlsafe(32)
    session = WebSession(token_hash=hash_token(token), agent_id=agent.id, store_id=agent.store_id,
                         csrf_token=secrets.token_urlsafe(32), expires_at=now() + SESSION_LIFETIME)
    db.add(session)
    audit.record(db, store_id=agent.store_id, actor=Actor("agent", agent.id), entity_type="agent",
                 entity_id=agent.id, action="agent.signed_in", after={"ip": ip})
    await commit(db)
    return SignedIn(session=session, agent=agent, token=token)


async def session_agent(db: AsyncSession, *, token: str) -> tuple[WebSession, Agent] | None:
    """The live session and its active agent for a cookie token, or None."""
    row = (await db.execute(
        select(WebSession, Agent).join(Agent, Agent.id == WebSession.agent_id)
        .where(WebSession.token_hash == hash_token(token), WebSession.expires_at > now(),
               Agent.is_active.is_(True))
    )).one_or_none()
    return None if row is None else (row[0], row[1])


def csrf_matches(session: WebSession, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(session.csrf_token, presented)


async def sign_out(db: AsyncSession, *, token: str) -> None:
    await db.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))
    await commit(db)


def check_password(password: str, *, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(AccountError.WEAK_PASSWORD,
                      f"the password needs at least {MIN_PASSWORD_LENGTH} characters", field=field)


async def request_password_reset(db: AsyncSession, *, email: str) -> int:
    """Mail a reset link to every active agent with this address; how many were sent is never
    shown to the requester (it would tell which addresses exist)."""
    agents = (await db.execute(
        select(Agent).where(Agent.email == normalize_email(email), Agent.is_active.is_(True))
    )).scalars().all()
    for agent in agents:
        token = secrets.token_urlsafe(32)
        reset = PasswordReset(agent_id=agent.id, token_hash=hash_token(token),
                              expires_at=now() + RESET_LIFETIME)
        db.add(reset)
        await db.flush()
        # The job needs the token itself for the link; it waits in the outbox sealed.
        outbox.enqueue(db, "accounts.password_reset_mail", reset_id=reset.id,
                       sealed_token=seal(token))
        audit.record(db, store_id=agent.store_id, actor=Actor("agent", agent.id),
                     entity_type="agent", entity_id=agent.id,
                     action="agent.password_reset_requested")
    await commit(db)
    return len(agents)


async def reset_target(db: AsyncSession, *, token: str) -> tuple[PasswordReset, Agent]:
    row = (await db.execute(
        select(PasswordReset, Agent).join(Agent, Agent.id == PasswordReset.agent_id)
        .where(PasswordReset.token_hash == hash_token(token), PasswordReset.used_at.is_(None),
               PasswordReset.expires_at > now(), Agent.is_active.is_(True))
    )).one_or_none()
    if row is None:
        raise Invalid(AccountError.RESET_INVALID,
                      "this reset link is unknown, used or expired; ask for a new one",
                      field="token")
    return row[0], row[1]


async def reset_password(db: AsyncSession, *, token: str, password: str) -> Agent:
    """Set a new password from a reset link; every session of the agent is signed out."""
    check_password(password)
    reset, agent = await reset_target(db, token=token)
    reset.used_at = now()
    agent.password_hash = hash_password(password)
    await db.execute(delete(WebSession).where(WebSession.agent_id == agent.id))
    await db.execute(delete(LoginFailure).where(LoginFailure.email == agent.email))
    audit.record(db, store_id=agent.store_id, actor=Actor("agent", agent.id), entity_type="agent",
                 entity_id=agent.id, action="agent.password_reset")
    await commit(db)
    return agent
