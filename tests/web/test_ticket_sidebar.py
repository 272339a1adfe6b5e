"""The ticket page's sidebar: customer, past tickets, inline edits, SLA state and timeline."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Agent, Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.defaults import install_default_sla
from sellerdesk.channels.models import Channel
from sellerdesk.core.actor import Actor
from sellerdesk.core.db import commit
from sellerdesk.customers.models import Customer, CustomerIdentity
from sellerdesk.tickets import actions, audit
from sellerdesk.tickets.models import AuditEvent
from sellerdesk.tickets.queries import ticket_tag_names
from tests.api.support import snapshot
from tests.web.test_ticket_page import HX, fresh, receive, signed_in_as, text_of


async def test_the_sidebar_shows_the_customer_their_identities_and_earlier_tickets(
        browser: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str]) -> None:
    # given a customer with an email and an Amazon buyer identity and two tickets
    earlier = await receive(db, api_channel[0], external_id="m-1", thread_key="t-1")
    ticket = await receive(db, api_channel[0], external_id="m-2", thread_key="t-2")
    assert earlier.customer_id == ticket.customer_id is not None
    db.add(CustomerIdentity(store_id=ticket.store_id, customer_id=ticket.customer_id,
                            kind="marketplace", value="amazon:A2XYZBUYER"))
    await db.commit()

    response = await browser.get(f"/tickets/{ticket.id}")

    html = response.text
    assert '<p class="customer-name">Ewa Kowalska</p>' in html
    assert "<dt>E-mail</dt><dd>Ewa Kowalska · ewa@example.pl</dd>" in html
    assert "<dt>Kupujący w marketplace</dt><dd>amazon:A2XYZBUYER</dd>" in html
    assert (f'<li><a href="/tickets/{earlier.id}">#{earlier.id} Zamówienie 1234</a> '
            '<span class="badge status-new">Nowe</span></li>') in html
    assert f'href="/tickets/{ticket.id}">#' not in html


@pytest.mark.parametrize(("name", "value", "field", "expected"), [
    ("priority", "urgent", "priority", "urgent"),
    ("status", "pending", "status", "pending"),
    ("assignee", "me", "assignee_id", "agent"),
    ("team", "team", "team_id", "team"),
])
async def test_inline_edits_change_the_ticket_and_are_audited(
        browser: httpx.AsyncClient, db: AsyncSession, store: Store, agent: Agent,
        api_channel: tuple[Channel, str], name: str, value: str, field: str,
        expected: str) -> None:
    ticket = await receive(db, api_channel[0])
    team = await accounts.create_team(db, store_id=store.id, name="Wysyłki")
    ids = {"agent": agent.id, "team": team.id}
    sent = str(ids[value]) if value in ids else value

    response = await browser.post(f"/tickets/{ticket.id}/properties", headers=HX,
                                  data={"name": name, "value": sent})

    assert response.status_code == 200, response.text
    assert response.text.startswith('<section id="ticket-props"')
    assert '<p class="notice" role="status">Zapisano.</p>' in response.text
    assert response.headers["hx-trigger"] == "ticket:refresh"
    want = ids.get(expected, expected)
    assert getattr(await fresh(db, ticket), field) == want
    event = (await db.execute(select(AuditEvent).where(
        AuditEvent.ticket_id == ticket.id, AuditEvent.action == "ticket.updated",
        AuditEvent.actor_id == agent.id))).scalars().one()
    assert event.after is not None
    assert event.after[field] == want


async def test_tags_are_added_and_removed_inline(
        browser: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str]) -> None:
    ticket = await receive(db, api_channel[0])

    added = await browser.post(f"/tickets/{ticket.id}/tags", headers=HX,
                               data={"tag": "  Zwrot  ", "op": "add"})
    await browser.post(f"/tickets/{ticket.id}/tags", headers=HX, data={"tag": "vip"})
    removed = await browser.post(f"/tickets/{ticket.id}/tags", headers=HX,
                                 data={"tag": "zwrot", "op": "remove"})

    assert added.status_code == removed.status_code == 200
    assert '<span class="badge">zwrot</span>' in added.text
    assert 'aria-label="Usuń tag zwrot"' in added.text
    assert await ticket_tag_names(db, ticket_id=ticket.id) == ["vip"]


@pytest.mark.parametrize(("path", "data", "status", "says"), [
    ("properties", {"name": "assignee", "value": "{other}"}, 422,
     "Wybierz aktywnego konsultanta ze swojego sklepu."),
    ("properties", {"name": "team", "value": "123456789"}, 422,
     "Wybierz zespół ze swojego sklepu."),
    ("properties", {"name": "priority", "value": "extreme"}, 422,
     "Część przesłanych danych jest nieprawidłowa."),
    ("properties", {"name": "status", "value": "new"}, 422,
     "Część przesłanych danych jest nieprawidłowa."),
    ("properties", {"name": "status", "value": "pending"}, 409,
     "Zgłoszenia nie można teraz przestawić na ten status."),
    ("properties", {"name": "subject", "value": "x"}, 422,
     "Część przesłanych danych jest nieprawidłowa."),
    ("tags", {"tag": "a,b"}, 422, "Tag musi mieć od 1 do 64 znaków"),
    ("tags", {"tag": "   "}, 422, "Tag musi mieć od 1 do 64 znaków"),
    ("customer-note", {"note": "x" * 5001}, 422, "Notatka może mieć najwyżej 5000 znaków."),
])
async def test_bad_inline_edits_are_refused_in_polish_and_change_nothing(
        browser: httpx.AsyncClient, db: AsyncSession, store: Store, other_store: Store,
        agent: Agent, api_channel: tuple[Channel, str], path: str, data: dict[str, str],
        status: int, says: str) -> None:
    # given a solved ticket (it cannot become pending) and an agent of another store
    ticket = await receive(db, api_channel[0])
    await actions.update_ticket(db, ticket=ticket, actor=Actor("agent", agent.id),
                                changes={"status": "solved"})
    other = await accounts.create_agent(db, store_id=other_store.id, email="x@other.test",
                                        name="Obcy", role=Role.AGENT)
    data = {k: v.replace("{other}", str(other.id)) for k, v in data.items()}
    before = await snapshot(db)

    response = await browser.post(f"/tickets/{ticket.id}/{path}", headers=HX, data=data)

    assert response.status_code == status
    assert says in text_of(response.text)
    assert await snapshot(db) == before


async def test_the_customer_note_is_saved_through_the_customers_action(
        browser: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str],
        agent: Agent) -> None:
    ticket = await receive(db, api_channel[0])

    response = await browser.post(f"/tickets/{ticket.id}/customer-note", headers=HX,
                                  data={"note": "Woli kontakt po 16:00."})

    assert response.status_code == 200
    assert response.text.startswith('<section id="customer-card"')
    assert "Woli kontakt po 16:00.</textarea>" in response.text
    customer = await db.get(Customer, ticket.customer_id, populate_existing=True)
    assert customer is not None
    assert customer.note == "Woli kontakt po 16:00."
    event = (await db.execute(select(AuditEvent).where(
        AuditEvent.action == "customer.updated"))).scalars().one()
    assert (event.actor_id, event.after) == (agent.id, {"note": "Woli kontakt po 16:00."})


async def test_a_viewer_sees_the_sidebar_but_cannot_edit_it(
        client: httpx.AsyncClient, db: AsyncSession, store: Store,
        api_channel: tuple[Channel, str]) -> None:
    ticket = await receive(db, api_channel[0])
    await signed_in_as(client, db, store, role=Role.VIEWER, language="pl",
                       email="viewer@acme.test")
    before = await snapshot(db)

    page = await client.get(f"/tickets/{ticket.id}")
    edits = [
        await client.post(f"/tickets/{ticket.id}/properties", headers=HX,
                          data={"name": "priority", "value": "high"}),
        await client.post(f"/tickets/{ticket.id}/tags", headers=HX, data={"tag": "vip"}),
        await client.post(f"/tickets/{ticket.id}/customer-note", headers=HX,
                          data={"note": "x"}),
    ]

    assert page.status_code == 200
    assert '<select id="prop-priority" name="value" disabled>' in page.text
    assert 'id="assign-me"' not in page.text
    assert 'id="ticket-timeline"' not in page.text  # viewers may not read the audit trail
    assert (await client.get(f"/tickets/{ticket.id}/timeline", headers=HX)).status_code == 403
    assert [e.status_code for e in edits] == [403, 403, 403]
    assert all("Twoja rola na to nie pozwala." in text_of(e.text) for e in edits)
    assert await snapshot(db) == before


async def test_sla_state_and_the_translated_timeline_are_shown(
        browser: httpx.AsyncClient, db: AsyncSession, store: Store, agent: Agent,
        api_channel: tuple[Channel, str]) -> None:
    # given a store with the default SLA, a ticket raised to high, and an unknown audit code
    await install_default_sla(db, store_id=store.id)
    ticket = await receive(db, api_channel[0])
    await actions.update_ticket(db, ticket=ticket, actor=Actor("agent", agent.id),
                                changes={"priority": "high"})
    audit.record(db, store_id=store.id, actor=Actor("system"), entity_type="ticket",
                 entity_id=ticket.id, ticket_id=ticket.id, action="plugin.did_something")
    await commit(db)

    response = await browser.get(f"/tickets/{ticket.id}/sidebar", headers=HX)
    history = await browser.get(f"/tickets/{ticket.id}/timeline", headers=HX)

    assert response.status_code == 200
    html = response.text
    assert 'data-testid="sla-first_response"' in html
    first = html.split('data-testid="sla-first_response"')[1].split("</li>")[0]
    assert "Pierwsza odpowiedź" in first
    assert "Termin za" in first
    assert f'hx-get="/tickets/{ticket.id}/timeline" hx-trigger="toggle once"' in html
    assert history.status_code == 200
    timeline = text_of(history.text)
    assert "Ola Nowak : Zmieniono zgłoszenie Priorytet: Normalny → Wysoki" in timeline
    assert "Kanał : Utworzono zgłoszenie" in timeline
    assert "SellerDesk : plugin.did_something" in timeline


async def test_a_paused_sla_says_so(
        browser: httpx.AsyncClient, db: AsyncSession, store: Store, agent: Agent,
        api_channel: tuple[Channel, str]) -> None:
    await install_default_sla(db, store_id=store.id)
    ticket = await receive(db, api_channel[0])
    await actions.reply(db, ticket=ticket, actor=Actor("agent", agent.id), text="Sprawdzam.",
                        author_agent_id=agent.id, status=None)
    await actions.update_ticket(db, ticket=ticket, actor=Actor("agent", agent.id),
                                changes={"status": "pending"})

    response = await browser.get(f"/tickets/{ticket.id}/sidebar", headers=HX)

    resolution = response.text.split('data-testid="sla-resolution"')[1].split("</li>")[0]
    assert "Rozwiązanie" in resolution
    assert "Wstrzymano" in resolution
    first = response.text.split('data-testid="sla-first_response"')[1].split("</li>")[0]
    assert "Dotrzymano" in first
