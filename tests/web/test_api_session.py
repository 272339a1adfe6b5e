"""A signed-in browser may call the REST API with its session; writes need the CSRF header."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent, Store
from sellerdesk.tickets.models import AuditEvent, Ticket
from tests.api.support import API, inbound


async def _ticket(client: httpx.AsyncClient, api_channel: tuple[object, str]) -> int:
    response = await inbound(client, api_channel[1], external_id="session-1",
                             subject="Zwrot", text="Proszę o zwrot.")
    return int(response["ticket_id"])


async def test_the_session_reads_the_api_as_its_agent(
    browser: httpx.AsyncClient, api_channel: tuple[object, str], store: Store
) -> None:
    ticket_id = await _ticket(browser, api_channel)

    response = await browser.get(f"{API}/tickets/{ticket_id}")

    assert response.status_code == 200
    assert response.json()["id"] == ticket_id


async def test_a_write_without_the_csrf_header_is_refused_and_changes_nothing(
    browser: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[object, str]
) -> None:
    ticket_id = await _ticket(browser, api_channel)
    del browser.headers["X-CSRF-Token"]

    response = await browser.patch(f"{API}/tickets/{ticket_id}", json={"priority": "urgent"})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "auth.bad_csrf"
    ticket = await db.get(Ticket, ticket_id)
    assert ticket is not None
    assert ticket.priority == "normal"


async def test_a_write_with_the_csrf_header_is_done_as_the_agent(
    browser: httpx.AsyncClient, db: AsyncSession, agent: Agent,
    api_channel: tuple[object, str]
) -> None:
    ticket_id = await _ticket(browser, api_channel)

    response = await browser.patch(f"{API}/tickets/{ticket_id}", json={"priority": "urgent"})

    assert response.status_code == 200, response.text
    event = (await db.execute(
        select(AuditEvent).where(AuditEvent.ticket_id == ticket_id,
                                 AuditEvent.action == "ticket.updated"))).scalar_one()
    assert (event.actor_type, event.actor_id) == ("agent", agent.id)


async def test_without_a_session_or_token_the_api_still_asks_for_a_token(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(f"{API}/tickets")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.missing_token"
