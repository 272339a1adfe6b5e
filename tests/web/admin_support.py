"""Signing in as agents of each role for the admin page tests."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Agent, Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.channels import inbound
from sellerdesk.channels.email import actions as email_actions
from tests.web.support import PASSWORD, sign_in


async def make_agent(db: AsyncSession, store: Store, role: Role, *, language: str = "en",
                     email: str | None = None, password: str | None = PASSWORD) -> Agent:
    return await accounts.create_agent(
        db, store_id=store.id, email=email or f"{role.value}@{store.slug}.test",
        name=f"{role.value.title()} {store.name}", role=role, password=password,
        language=language)


async def sign_in_as(client: httpx.AsyncClient, db: AsyncSession, store: Store, role: Role, *,
                     language: str = "en") -> Agent:
    """A new agent of `role` signed in on `client` (cookie and CSRF header set)."""
    agent = await make_agent(db, store, role, language=language)
    client.cookies.clear()
    client.headers["X-CSRF-Token"] = await sign_in(client, agent.email)
    return agent


@dataclass(frozen=True)
class World:
    """One of each object the admin pages change, in a store."""

    agent: int
    team: int
    token: int
    account: int
    payload: int


async def build_world(db: AsyncSession, store: Store, *, prefix: str = "") -> World:
    agent = await make_agent(db, store, Role.AGENT, email=f"{prefix}worker@{store.slug}.test")
    team = await accounts.create_team(db, store_id=store.id, name=f"{prefix}Returns")
    token, _ = await accounts.create_api_token(db, store_id=store.id, role=Role.AGENT,
                                               name=f"{prefix}shop sync")
    channel, _ = await accounts.create_channel(db, store_id=store.id, type="api",
                                               name=f"{prefix}Shop API")
    account = await email_actions.create_account(
        db, store_id=store.id, address=f"{prefix}support@{store.slug}.test",
        imap_host="127.0.0.1", imap_port=9, imap_security="none", password="imap-secret",
        smtp_host="127.0.0.1", smtp_port=9, smtp_security="none")
    broken = await inbound.receive(db, channel=channel, body=b'{"external_id": ',
                                   content_type="application/json")
    assert broken.raw_payload_id is not None
    return World(agent.id, team.id, token.id, account.id, broken.raw_payload_id)
