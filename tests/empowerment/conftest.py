"""Fixtures of the empowerment tests: an agent, a manager, a Polish customer's ticket, a
macro that tells the customer, and helpers to call the API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Agent, Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.macros import actions as macro_actions
from sellerdesk.automation.macros.models import Macro
from sellerdesk.channels.models import Channel
from sellerdesk.core.actor import SYSTEM
from sellerdesk.core.db import commit
from sellerdesk.tickets.models import AuditEvent, Message, Ticket
from tests.api.support import API, inbound
from tests.conftest import TokenFactory, bearer

Headers = dict[str, str]


@pytest.fixture
async def agent_row(db: AsyncSession, store: Store) -> Agent:
    return await accounts.create_agent(db, store_id=store.id, email="jan@acme.example",
                                       name="Jan Kowalski", role=Role.AGENT, language="pl")


@pytest.fixture
async def agent(store: Store, agent_row: Agent, make_token: TokenFactory) -> Headers:
    """Authorization headers of the agent Jan Kowalski."""
    return bearer(await make_token(store, Role.AGENT, agent_id=agent_row.id))


@pytest.fixture
async def agent2_row(db: AsyncSession, store: Store) -> Agent:
    return await accounts.create_agent(db, store_id=store.id, email="ola@acme.example",
                                       name="Ola Nowak", role=Role.AGENT)


@pytest.fixture
async def agent2(store: Store, agent2_row: Agent, make_token: TokenFactory) -> Headers:
    return bearer(await make_token(store, Role.AGENT, agent_id=agent2_row.id))


@pytest.fixture
async def manager_row(db: AsyncSession, store: Store) -> Agent:
    return await accounts.create_agent(db, store_id=store.id, email="anna@acme.example",
                                       name="Anna Manager", role=Role.MANAGER)


@pytest.fixture
async def manager(store: Store, manager_row: Agent, make_token: TokenFactory) -> Headers:
    return bearer(await make_token(store, Role.MANAGER, agent_id=manager_row.id))


@pytest.fixture
async def notify_macro(db: AsyncSession, store: Store) -> Macro:
    return await macro_actions.create_macro(
        db, store_id=store.id, actor=SYSTEM, name="Refund granted",
        variants={"en": "Hello {{ customer.first_name }}, your refund is approved.",
                  "pl": "Dzień dobry {{ customer.first_name }}, zwrot zatwierdzony. "
                        "{{ store.name }}"})


async def new_ticket(client: httpx.AsyncClient, db: AsyncSession, channel_token: str,
                     **overrides: Any) -> Ticket:
    result = await inbound(client, channel_token, **overrides)
    ticket = await db.get(Ticket, result["ticket_id"])
    assert ticket is not None
    return ticket


@pytest.fixture
async def ticket(client: httpx.AsyncClient, db: AsyncSession,
                 api_channel: tuple[Channel, str]) -> Ticket:
    """Ewa Nowak's ticket, in Polish."""
    found = await new_ticket(client, db, api_channel[1])
    found.language = "pl"
    await commit(db)
    return found


def action_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Refund", "kind": "refund", "currency": "EUR",
                            "max_amount": "30.00", "limits": []}
    body.update(overrides)
    return body


async def make_action(client: httpx.AsyncClient, admin: Headers, **overrides: Any
                      ) -> dict[str, Any]:
    response = await client.post(f"{API}/pre-approved-actions", json=action_body(**overrides),
                                 headers=admin)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def grant(client: httpx.AsyncClient, headers: Headers, ticket_id: int, action_id: int,
                amount: str | None = None, reason: str = "Damaged in transit",
                **extra: Any) -> httpx.Response:
    body: dict[str, Any] = {"action_id": action_id, "reason": reason, **extra}
    if amount is not None:
        body["amount"] = amount
    return await client.post(f"{API}/tickets/{ticket_id}/grants", json=body, headers=headers)


async def granted(client: httpx.AsyncClient, headers: Headers, ticket_id: int, action_id: int,
                  amount: str | None = None) -> dict[str, Any]:
    response = await grant(client, headers, ticket_id, action_id, amount)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def audit_actions(db: AsyncSession, *, entity_type: str) -> list[str]:
    rows = await db.execute(select(AuditEvent.action).where(
        AuditEvent.entity_type == entity_type).order_by(AuditEvent.id))
    return list(rows.scalars())


async def outbound(db: AsyncSession, ticket_id: int) -> list[Message]:
    rows = await db.execute(select(Message).where(Message.ticket_id == ticket_id,
                                                  Message.direction == "outbound")
                            .order_by(Message.id))
    return list(rows.scalars())
