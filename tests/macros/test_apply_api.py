"""Preview and apply a macro on a ticket: language fallback, missing variables, the reply
through the outbound queue, the macro's actions, permissions and tenancy."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent, Store
from sellerdesk.automation.macros import actions
from sellerdesk.automation.macros.models import Macro
from sellerdesk.channels.models import Channel
from sellerdesk.core.actor import SYSTEM
from sellerdesk.core.db import commit
from sellerdesk.jobs.models import Job
from sellerdesk.tickets.actions import set_tags
from sellerdesk.tickets.models import AuditEvent, Message, Ticket
from sellerdesk.tickets.queries import ticket_tag_names
from tests.api.support import API, error_of, inbound, snapshot
from tests.macros.conftest import ORDER, fresh, new_ticket


async def preview(client: httpx.AsyncClient, headers: dict[str, str], macro_id: int,
                  ticket_id: int, **values: str) -> httpx.Response:
    return await client.post(f"{API}/macros/{macro_id}/preview", headers=headers,
                             json={"ticket_id": ticket_id, "values": values})


async def apply(client: httpx.AsyncClient, headers: dict[str, str], ticket_id: int,
                macro_id: int, *, send: bool, values: dict[str, str] | None = None
                ) -> httpx.Response:
    return await client.post(f"{API}/tickets/{ticket_id}/macros/{macro_id}/apply",
                             headers=headers, json={"send": send, "values": values or {}})


async def actions_of(db: AsyncSession, ticket_id: int) -> list[str]:
    rows = await db.execute(select(AuditEvent.action).where(AuditEvent.ticket_id == ticket_id)
                            .order_by(AuditEvent.id))
    return list(rows.scalars())


# --- preview -----------------------------------------------------------------------------------

async def test_preview_renders_the_tickets_language_with_its_variables(
    client: httpx.AsyncClient, agent: dict[str, str], macro: Macro, ticket: Ticket,
) -> None:
    response = await preview(client, agent, macro.id, ticket.id)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "language": "pl",
        "text": f"Dzień dobry Ewa,\nzamówienie {ORDER} jest w drodze.\n"
                "Jan Kowalski, Acme Shop",
        "missing": [],
    }


@pytest.mark.parametrize(("ticket_language", "store_language", "expected", "starts"), [
    ("ko", "en", "ko", "Ewa Nowak 님, 안녕하세요."),
    ("ko-KR", "en", "ko", "Ewa Nowak 님, 안녕하세요."),
    ("pl", "ko", "pl", "Dzień dobry Ewa,"),
    ("de", "pl", "pl", "Dzień dobry Ewa,"),
    ("de", "fr", "en", "Hello Ewa,"),
    (None, "ko", "ko", "Ewa Nowak 님, 안녕하세요."),
])
async def test_preview_falls_back_from_ticket_to_store_to_english(
    client: httpx.AsyncClient, db: AsyncSession, agent: dict[str, str], store: Store,
    macro: Macro, ticket: Ticket, ticket_language: str | None, store_language: str,
    expected: str, starts: str,
) -> None:
    # given
    ticket.language = ticket_language
    store.default_language = store_language
    await commit(db)

    # when
    response = await preview(client, agent, macro.id, ticket.id)

    # then
    assert response.status_code == 200, response.text
    assert response.json()["language"] == expected
    assert response.json()["text"].startswith(starts)


async def test_missing_variables_are_reported_and_shown_not_blanked(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], macro: Macro,
    api_channel: tuple[Channel, str],
) -> None:
    # given a Korean ticket with no order in its thread, previewed by a token without an agent
    ticket = await new_ticket(client, db, api_channel[1], language="ko", external_id="ext-ko",
                              **{"from": {"name": "김민준", "email": "minjun@example.kr"}})

    # when
    response = await preview(client, admin, macro.id, ticket.id)

    # then
    assert response.status_code == 200, response.text
    assert response.json() == {
        "language": "ko",
        "text": "김민준 님, 안녕하세요.\n주문 {{ order.number }} 상품이 발송되었습니다.\n"
                "Acme Shop {{ agent.name }} 드림",
        "missing": ["order.number", "agent.name"],
    }


async def test_values_fill_what_the_ticket_does_not_tell(
    client: httpx.AsyncClient, db: AsyncSession, agent: dict[str, str], macro: Macro,
    ticket: Ticket,
) -> None:
    response = await preview(client, agent, macro.id, ticket.id,
                             **{"order.tracking_url": "https://track.example/PL123"})

    assert response.status_code == 200, response.text
    assert response.json()["missing"] == []
    assert "Śledzenie: https://track.example/PL123\n" in response.json()["text"]


@pytest.mark.parametrize(("values", "code", "field"), [
    ({"order.secret": "x"}, "macro.unknown_variable", "values.order.secret"),
    ({"order.number": " "}, "macro.missing_variables", "values.order.number"),
    ({"order.number": ""}, "request.invalid", "values.order.number"),
])
async def test_bad_values_are_refused(
    client: httpx.AsyncClient, agent: dict[str, str], macro: Macro, ticket: Ticket,
    values: dict[str, str], code: str, field: str,
) -> None:
    response = await preview(client, agent, macro.id, ticket.id, **values)

    assert response.status_code == 422
    assert (error_of(response)["code"], error_of(response)["field"]) == (code, field)


# --- apply -------------------------------------------------------------------------------------

async def test_apply_sends_the_reply_through_the_outbound_queue_and_applies_the_actions(
    client: httpx.AsyncClient, db: AsyncSession, agent: dict[str, str], agent_row: Agent,
    macro: Macro, ticket: Ticket,
) -> None:
    # given a ticket already tagged
    await set_tags(db, ticket=ticket, names=["vip"])
    await commit(db)

    # when
    response = await apply(client, agent, ticket.id, macro.id, send=True)

    # then the reply is queued for delivery
    assert response.status_code == 200, response.text
    body = response.json()
    expected = f"Dzień dobry Ewa,\nzamówienie {ORDER} jest w drodze.\nJan Kowalski, Acme Shop"
    assert body["language"] == "pl"
    assert body["text"] == expected
    assert body["missing"] == []
    message = await db.get(Message, body["message_id"])
    assert message is not None
    assert (message.direction, message.delivery_status, message.text) == (
        "outbound", "queued", expected)
    assert message.author_agent_id == agent_row.id
    jobs = (await db.execute(select(Job).where(Job.name == "message.deliver"))).scalars().all()
    assert [j.payload for j in jobs] == [{"message_id": message.id}]
    # and the macro's actions are applied, the tags added to the ticket's own
    current = await fresh(db, ticket.id)
    assert (current.status, current.priority) == ("pending", "high")
    assert await ticket_tag_names(db, ticket_id=ticket.id) == ["macro", "shipping", "vip"]
    assert body["ticket"]["status"] == "pending"
    assert body["ticket"]["tags"] == ["macro", "shipping", "vip"]
    # and everything is audited
    assert (await actions_of(db, ticket.id))[-4:] == [
        "ticket.updated", "message.replied", "ticket.updated", "macro.applied"]
    applied = (await db.execute(select(AuditEvent).where(
        AuditEvent.action == "macro.applied"))).scalar_one()
    assert (applied.entity_type, applied.entity_id, applied.actor_type) == (
        "macro", macro.id, "agent")
    assert applied.after == {
        "macro": "Order shipped", "language": "pl", "sent": True, "message_id": message.id,
        "changes": {"priority": "high", "tags": ["vip", "shipping", "macro"],
                    "status": "pending"},
        "values_given": [],
    }


async def test_apply_refuses_to_send_while_variables_are_missing(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], agent: dict[str, str],
    macro: Macro, api_channel: tuple[Channel, str],
) -> None:
    # given a ticket without an order number
    ticket = await new_ticket(client, db, api_channel[1], language="en", external_id="ext-en")
    before = await snapshot(db)

    # when
    response = await apply(client, agent, ticket.id, macro.id, send=True)

    # then nothing is sent or changed, and the agent is told what is missing
    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["field"]) == ("macro.missing_variables", "values")
    assert "order.number" in error["message"]
    assert await snapshot(db) == before

    # when the agent gives the value
    response = await apply(client, agent, ticket.id, macro.id, send=True,
                           values={"order.number": "028-1111111-2222222"})

    # then it is sent with it
    assert response.status_code == 200, response.text
    assert response.json()["text"] == ("Hello Ewa,\nyour order 028-1111111-2222222 is on its "
                                       "way.\nJan Kowalski, Acme Shop")


async def test_apply_without_send_applies_the_actions_and_returns_the_draft(
    client: httpx.AsyncClient, db: AsyncSession, agent: dict[str, str], macro: Macro,
    api_channel: tuple[Channel, str],
) -> None:
    ticket = await new_ticket(client, db, api_channel[1], language="en", external_id="ext-en")

    response = await apply(client, agent, ticket.id, macro.id, send=False)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message_id"] is None
    assert body["missing"] == ["order.number"]
    assert "{{ order.number }}" in body["text"]
    current = await fresh(db, ticket.id)
    assert (current.status, current.priority, current.message_count) == ("pending", "high", 1)
    assert (await db.execute(select(Job).where(Job.name == "message.deliver"))).first() is None
    assert (await actions_of(db, ticket.id))[-2:] == ["ticket.updated", "macro.applied"]


async def test_a_macro_that_solves_solves_with_its_reply(
    client: httpx.AsyncClient, db: AsyncSession, agent: dict[str, str], store: Store,
    ticket: Ticket,
) -> None:
    macro = await actions.create_macro(db, store_id=store.id, actor=SYSTEM, name="Done",
                                       variants={"en": "Thanks, {{ customer.first_name }}!"},
                                       actions={"status": "solved"})

    response = await apply(client, agent, ticket.id, macro.id, send=True)

    assert response.status_code == 200, response.text
    assert response.json()["text"] == "Thanks, Ewa!"  # no Polish variant: English
    current = await fresh(db, ticket.id)
    assert current.status == "solved"
    assert current.solved_at is not None


async def test_a_closed_ticket_takes_no_macro(
    client: httpx.AsyncClient, db: AsyncSession, agent: dict[str, str], macro: Macro,
    ticket: Ticket,
) -> None:
    ticket.status = "closed"
    await commit(db)
    before = await snapshot(db)

    response = await apply(client, agent, ticket.id, macro.id, send=True)

    assert response.status_code == 409
    assert error_of(response)["code"] == "ticket.closed"
    assert await snapshot(db) == before


async def test_a_status_the_ticket_cannot_take_is_refused_before_anything_is_sent(
    client: httpx.AsyncClient, db: AsyncSession, agent: dict[str, str], macro: Macro,
    ticket: Ticket,
) -> None:
    # given a solved ticket (solved may only reopen or close) and a macro setting pending
    ticket.status = "solved"
    await commit(db)
    before = await snapshot(db)

    response = await apply(client, agent, ticket.id, macro.id, send=True)

    assert response.status_code == 409
    assert (error_of(response)["code"], error_of(response)["field"]) == (
        "ticket.invalid_transition", "actions.status")
    assert await snapshot(db) == before


# --- permissions and tenancy -------------------------------------------------------------------

@pytest.mark.parametrize("send", [True, False])
async def test_a_viewer_cannot_apply_but_can_preview(
    client: httpx.AsyncClient, db: AsyncSession, viewer: dict[str, str], macro: Macro,
    ticket: Ticket, send: bool,
) -> None:
    before = await snapshot(db)

    response = await apply(client, viewer, ticket.id, macro.id, send=send,
                           values={"order.tracking_url": "https://t.example/1"})

    assert response.status_code == 403
    assert error_of(response)["code"] == "access.forbidden"
    assert await snapshot(db) == before
    assert (await preview(client, viewer, macro.id, ticket.id)).status_code == 200


async def test_another_stores_ticket_or_macro_is_not_found_and_nothing_changes(
    client: httpx.AsyncClient, db: AsyncSession, agent: dict[str, str], macro: Macro,
    ticket: Ticket, other_store: Store, other_channel: tuple[Channel, str],
) -> None:
    # given the other store's ticket and macro
    other_ticket_id = (await inbound(client, other_channel[1], external_id="other-1"))[
        "ticket_id"]
    other_macro = await actions.create_macro(db, store_id=other_store.id, actor=SYSTEM,
                                             name="Theirs", variants={"en": "Hi"},
                                             actions={"status": "solved"})
    before = await snapshot(db)

    # when this store's agent uses them
    responses: list[tuple[httpx.Response, str, str]] = [
        (await apply(client, agent, other_ticket_id, macro.id, send=True),
         "ticket.not_found", "ticket_id"),
        (await apply(client, agent, ticket.id, other_macro.id, send=True),
         "macro.not_found", "macro_id"),
        (await preview(client, agent, macro.id, other_ticket_id), "ticket.not_found",
         "ticket_id"),
        (await preview(client, agent, other_macro.id, ticket.id), "macro.not_found",
         "macro_id"),
    ]

    # then
    for response, code, field in responses:
        assert response.status_code == 404, response.text
        assert (error_of(response)["code"], error_of(response)["field"]) == (code, field)
    assert await snapshot(db) == before


@pytest.mark.parametrize(("body", "field"), [
    ({"values": {}}, "send"),
    ({"send": True, "to": "x@example.com"}, "to"),
    ({"send": "yes please"}, "send"),
    ({"send": True, "values": {"order.number": "x" * 2001}}, "values.order.number"),
])
async def test_bad_apply_bodies_are_refused_naming_the_field(
    client: httpx.AsyncClient, db: AsyncSession, agent: dict[str, str], macro: Macro,
    ticket: Ticket, body: dict[str, Any], field: str,
) -> None:
    before = await snapshot(db)

    response = await client.post(f"{API}/tickets/{ticket.id}/macros/{macro.id}/apply",
                                 json=body, headers=agent)

    assert response.status_code == 422
    assert (error_of(response)["code"], error_of(response)["field"]) == ("request.invalid",
                                                                         field)
    assert await snapshot(db) == before
