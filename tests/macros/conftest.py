"""Fixtures of the macro tests: an agent with a name, a ticket from a Polish customer about an
Amazon order (relay thread key), and a macro in English, Korean and Polish."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Agent, Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.macros import actions
from sellerdesk.automation.macros.models import Macro
from sellerdesk.channels.models import Channel
from sellerdesk.core.actor import SYSTEM
from sellerdesk.core.db import commit
from sellerdesk.tickets.models import Ticket
from tests.api.support import inbound
from tests.conftest import TokenFactory, bearer

ORDER = "302-5555555-1234567"

VARIANTS = {
    "en": "Hello {{ customer.first_name }},\n"
          "your order {{ order.number }} is on its way.\n"
          "{{ agent.name }}, {{ store.name }}",
    "ko": "{{ customer.name }} 님, 안녕하세요.\n"
          "주문 {{ order.number }} 상품이 발송되었습니다.\n"
          "{{ store.name }} {{ agent.name }} 드림",
    "pl": "Dzień dobry {{ customer.first_name }},\n"
          "zamówienie {{ order.number }} jest w drodze."
          "{% if order.tracking_url %} Śledzenie: {{ order.tracking_url }}{% endif %}\n"
          "{{ agent.name }}, {{ store.name }}",
}
ACTIONS = {"status": "pending", "priority": "high", "tags": ["Shipping", "macro"]}


def macro_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Order shipped", "description": "Tell where the order is",
                            "variants": dict(VARIANTS), "actions": dict(ACTIONS)}
    body.update(overrides)
    return body


@pytest.fixture
async def agent_row(db: AsyncSession, store: Store) -> Agent:
    return await accounts.create_agent(db, store_id=store.id, email="jan@acme.example",
                                       name="Jan Kowalski", role=Role.AGENT)


@pytest.fixture
async def agent(store: Store, agent_row: Agent, make_token: TokenFactory) -> dict[str, str]:
    """Authorization headers of the agent Jan Kowalski."""
    return bearer(await make_token(store, Role.AGENT, agent_id=agent_row.id))


@pytest.fixture
async def viewer(store: Store, make_token: TokenFactory) -> dict[str, str]:
    return bearer(await make_token(store, Role.VIEWER))


@pytest.fixture
async def macro(db: AsyncSession, store: Store) -> Macro:
    return await actions.create_macro(db, store_id=store.id, actor=SYSTEM, name="Order shipped",
                                      variants=VARIANTS, actions=ACTIONS)


async def new_ticket(client: httpx.AsyncClient, db: AsyncSession, channel_token: str, *,
                     language: str | None = None, **overrides: Any) -> Ticket:
    """A customer's message through the API channel; the ticket's language set as given."""
    result = await inbound(client, channel_token, **overrides)
    ticket = await db.get(Ticket, result["ticket_id"])
    assert ticket is not None
    ticket.language = language
    await commit(db)
    return ticket


@pytest.fixture
async def ticket(client: httpx.AsyncClient, db: AsyncSession,
                 api_channel: tuple[Channel, str]) -> Ticket:
    """Ewa Nowak's Polish ticket about Amazon order 302-5555555-1234567."""
    return await new_ticket(client, db, api_channel[1], language="pl", marketplace="amazon",
                            thread_key=f"amazon:x7k2mq9v:{ORDER}")


async def fresh(db: AsyncSession, ticket_id: int) -> Ticket:
    found = await db.get(Ticket, ticket_id, populate_existing=True)
    assert found is not None
    return found
