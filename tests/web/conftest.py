from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Agent, Store
from sellerdesk.accounts.permissions import Role
from tests.web.support import PASSWORD, sign_in


@pytest.fixture
async def agent(db: AsyncSession, store: Store) -> Agent:
    return await accounts.create_agent(db, store_id=store.id, email="ola@acme.test",
                                       name="Ola Nowak", role=Role.AGENT, password=PASSWORD,
                                       language="pl")


@pytest.fixture
async def owner(db: AsyncSession, store: Store) -> Agent:
    return await accounts.create_agent(db, store_id=store.id, email="owner@acme.test",
                                       name="Jan Owner", role=Role.OWNER, password=PASSWORD)


@pytest.fixture
async def browser(client: httpx.AsyncClient, agent: Agent) -> AsyncIterator[httpx.AsyncClient]:
    """The app client signed in as `agent` (Polish UI); `browser.headers` carries the CSRF
    token as htmx sends it."""
    token = await sign_in(client, agent.email)
    client.headers["X-CSRF-Token"] = token
    return client
