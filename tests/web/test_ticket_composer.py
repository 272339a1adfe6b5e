"""The ticket page's composer: replies, notes, files, statuses, macros, marketplace rules."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent, Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.macros import actions as macros
from sellerdesk.channels.models import Channel
from sellerdesk.core import context
from sellerdesk.core.actor import Actor
from sellerdesk.tickets import actions
from sellerdesk.tickets.models import Attachment
from sellerdesk.tickets.queries import ticket_tag_names
from tests.api.support import snapshot
from tests.web.test_ticket_page import (
    HX,
    PNG,
    audit_actions,
    fresh,
    jobs,
    messages_of,
    receive,
    signed_in_as,
    text_of,
)


async def test_a_reply_from_the_composer_is_queued_through_the_reply_path(
        browser: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str],
        agent: Agent) -> None:
    # given a new ticket
    ticket = await receive(db, api_channel[0])

    # when the agent replies with a file
    response = await browser.post(
        f"/tickets/{ticket.id}/messages", headers=HX,
        data={"mode": "reply", "text": "Paczka wyszła dziś.", "status": ""},
        files={"files": ("etykieta.png", PNG, "image/png")})

    # then an outbound message is queued with its file, the thread and composer come back
    assert response.status_code == 200, response.text
    assert response.headers["hx-retarget"] == "#composer"
    assert response.headers["hx-reswap"] == "outerHTML"
    [_, message] = await messages_of(db, ticket.id)
    assert (message.direction, message.text, message.delivery_status, message.author_agent_id) \
        == ("outbound", "Paczka wyszła dziś.", "queued", agent.id)
    files = (await db.execute(select(Attachment).where(Attachment.message_id == message.id)
                              )).scalars().all()
    assert [(f.filename, f.content_type, f.size) for f in files] == [
        ("etykieta.png", "image/png", len(PNG))]
    assert await jobs(db, "message.deliver") == [{"message_id": message.id}]
    assert (await fresh(db, ticket)).status == "open"
    assert "message.replied" in await audit_actions(db, ticket.id)
    assert '<section id="thread"' in response.text
    assert 'hx-swap-oob="true"' in response.text
    assert "Paczka wyszła dziś." in response.text
    assert '<textarea id="composer-text"' in response.text
    assert "Paczka wyszła dziś.</textarea>" not in response.text
    assert '<p class="notice" role="status">Wysłano.</p>' in response.text


async def test_send_and_set_solved_solves_the_ticket(
        browser: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str]) -> None:
    ticket = await receive(db, api_channel[0])

    response = await browser.post(f"/tickets/{ticket.id}/messages", headers=HX,
                                  data={"mode": "reply", "text": "Gotowe.", "status": "solved"})

    assert response.status_code == 200, response.text
    ticket = await fresh(db, ticket)
    assert ticket.status == "solved"
    assert ticket.solved_at is not None
    assert len(await jobs(db, "message.deliver")) == 1


async def test_a_note_is_stored_and_never_sent(
        browser: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str],
        agent: Agent) -> None:
    ticket = await receive(db, api_channel[0])

    response = await browser.post(f"/tickets/{ticket.id}/messages", headers=HX,
                                  data={"mode": "note", "text": "Sprawdzić w magazynie."})

    assert response.status_code == 200, response.text
    [_, note] = await messages_of(db, ticket.id)
    assert (note.direction, note.text, note.delivery_status, note.author_agent_id) == (
        "note", "Sprawdzić w magazynie.", "internal", agent.id)
    assert await jobs(db, "message.deliver") == []
    assert (await fresh(db, ticket)).status == "new"


async def test_a_plain_form_post_without_htmx_goes_back_to_the_page(
        browser: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str]) -> None:
    ticket = await receive(db, api_channel[0])
    token = browser.headers.pop("X-CSRF-Token")

    response = await browser.post(f"/tickets/{ticket.id}/messages",
                                  data={"mode": "note", "text": "Bez JS.", "csrf_token": token})

    assert response.status_code == 303
    assert response.headers["location"] == f"/tickets/{ticket.id}"
    assert [m.text for m in await messages_of(db, ticket.id)][1:] == ["Bez JS."]


@pytest.mark.parametrize(("data", "status", "says"), [
    ({"mode": "reply", "text": "   "}, 422, "Najpierw napisz wiadomość lub załącz plik."),
    ({"mode": "note", "text": ""}, 422, "Najpierw napisz wiadomość lub załącz plik."),
    ({"mode": "reply", "text": "x" * 200_001}, 413,
     "Wiadomość może mieć najwyżej 200000 znaków."),
    ({"mode": "reply", "text": "Hej", "status": "pending"}, 409,
     "Zgłoszenia nie można teraz przestawić na ten status."),
    ({"mode": "reply", "text": "Hej", "status": "archived"}, 422,
     "Część przesłanych danych jest nieprawidłowa."),
    ({"mode": "shout", "text": "Hej"}, 422, "Część przesłanych danych jest nieprawidłowa."),
    ({"mode": "reply", "text": "Hej", "macro_id": "999999"}, 404, "Wybierz makro z listy."),
])
async def test_bad_composer_input_is_refused_in_polish_and_changes_nothing(
        browser: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str],
        agent: Agent, data: dict[str, str], status: int, says: str) -> None:
    # given a solved ticket (which cannot become pending)
    ticket = await receive(db, api_channel[0])
    await actions.update_ticket(db, ticket=ticket, actor=Actor("agent", agent.id),
                                changes={"status": "solved"})
    before = await snapshot(db)

    response = await browser.post(f"/tickets/{ticket.id}/messages", headers=HX, data=data)

    assert response.status_code == status
    assert says in text_of(response.text)
    assert await snapshot(db) == before


async def test_a_file_over_the_limit_is_refused_and_nothing_is_stored(
        browser: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = await receive(db, api_channel[0])
    monkeypatch.setattr(context.get().blobs, "max_bytes", 1024 * 1024)
    before = await snapshot(db)

    response = await browser.post(
        f"/tickets/{ticket.id}/messages", headers=HX, data={"mode": "reply", "text": "Plik"},
        files={"files": ("duzy.bin", b"\x00" * (1024 * 1024 + 1), "application/octet-stream")})

    assert response.status_code == 413
    assert text_of(response.text) == "Plik duzy.bin jest większy niż 1,0 MB."
    assert await snapshot(db) == before


async def test_a_viewer_cannot_reply_but_can_leave_a_note(
        client: httpx.AsyncClient, db: AsyncSession, store: Store,
        api_channel: tuple[Channel, str]) -> None:
    ticket = await receive(db, api_channel[0])
    viewer = await signed_in_as(client, db, store, role=Role.VIEWER, language="pl",
                                email="viewer@acme.test")
    page = await client.get(f"/tickets/{ticket.id}")
    before = await snapshot(db)

    reply = await client.post(f"/tickets/{ticket.id}/messages", headers=HX,
                              data={"mode": "reply", "text": "Hej"})
    solving_note = await client.post(f"/tickets/{ticket.id}/messages", headers=HX,
                                     data={"mode": "note", "text": "Hej", "status": "solved"})
    after_refusals = await snapshot(db)
    note = await client.post(f"/tickets/{ticket.id}/messages", headers=HX,
                             data={"mode": "note", "text": "Widzę to."})

    assert 'id="mode-reply"' not in page.text
    assert 'id="mode-note" checked' in page.text
    assert 'id="send-solved"' not in page.text
    assert (reply.status_code, solving_note.status_code) == (403, 403)
    assert text_of(reply.text) == "Twoja rola na to nie pozwala."
    assert after_refusals == before
    assert note.status_code == 200
    [_, stored] = await messages_of(db, ticket.id)
    assert (stored.direction, stored.author_agent_id) == ("note", viewer.id)


# --- macros ---------------------------------------------------------------------------------------

async def _macro(db: AsyncSession, store: Store, **actions_: object) -> int:
    macro = await macros.create_macro(
        db, store_id=store.id, actor=Actor("system"), name="Wysyłka",
        variants={"pl": "Dzień dobry {{ customer.first_name }}, zamówienie {{ order.number }} "
                        "wyszło.", "en": "Hello {{ customer.first_name }}"},
        actions=dict(actions_))
    return macro.id


async def test_a_macro_preview_fills_what_it_knows_and_lists_what_is_missing(
        browser: httpx.AsyncClient, db: AsyncSession, store: Store,
        api_channel: tuple[Channel, str]) -> None:
    ticket = await receive(db, api_channel[0], language="pl")
    macro_id = await _macro(db, store)

    missing = await browser.get(f"/tickets/{ticket.id}/macro-preview",
                                params={"macro_id": macro_id}, headers=HX)
    filled = await browser.get(f"/tickets/{ticket.id}/macro-preview",
                               params={"macro_id": macro_id, "var.order.number": "A-17"},
                               headers=HX)
    page = await browser.get(f"/tickets/{ticket.id}")

    assert missing.status_code == 200
    assert '<pre class="preview-text" id="macro-text">Dzień dobry Ewa, zamówienie ' \
        '{{ order.number }} wyszło.</pre>' in missing.text
    assert 'data-testid="macro-missing"' in missing.text
    assert '<label for="var-1">Numer zamówienia</label>' in missing.text
    assert 'name="var.order.number"' in missing.text
    assert "Dzień dobry Ewa, zamówienie A-17 wyszło.</pre>" in filled.text
    assert 'data-testid="macro-missing"' not in filled.text
    assert f'<option value="{macro_id}">Wysyłka (pl)</option>' in page.text


async def test_a_macro_preview_of_an_unknown_macro_or_variable_is_refused(
        browser: httpx.AsyncClient, db: AsyncSession, store: Store,
        api_channel: tuple[Channel, str]) -> None:
    ticket = await receive(db, api_channel[0])
    macro_id = await _macro(db, store)

    unknown = await browser.get(f"/tickets/{ticket.id}/macro-preview",
                                params={"macro_id": "987654"}, headers=HX)
    bad_variable = await browser.get(f"/tickets/{ticket.id}/macro-preview",
                                     params={"macro_id": macro_id, "var.secret.key": "x"},
                                     headers=HX)

    assert (unknown.status_code, text_of(unknown.text)) == (404, "Wybierz makro z listy.")
    assert (bad_variable.status_code, text_of(bad_variable.text)) == (
        422, "Wybierz makro z listy.")


async def test_sending_with_a_macro_applies_its_actions(
        browser: httpx.AsyncClient, db: AsyncSession, store: Store,
        api_channel: tuple[Channel, str]) -> None:
    ticket = await receive(db, api_channel[0], language="pl")
    macro_id = await _macro(db, store, tags=["wysyłka"], priority="high", status="pending")

    response = await browser.post(f"/tickets/{ticket.id}/messages", headers=HX, data={
        "mode": "reply", "macro_id": str(macro_id), "var.order.number": "A-17",
        "text": "Dzień dobry Ewa, zamówienie A-17 wyszło. Pozdrawiam!"})

    assert response.status_code == 200, response.text
    ticket = await fresh(db, ticket)
    assert (ticket.priority, ticket.status) == ("high", "pending")
    assert await ticket_tag_names(db, ticket_id=ticket.id) == ["wysyłka"]
    [_, message] = await messages_of(db, ticket.id)
    assert message.text == "Dzień dobry Ewa, zamówienie A-17 wyszło. Pozdrawiam!"
    assert "macro.applied" in await audit_actions(db, ticket.id)


async def test_a_macro_placeholder_left_unfilled_is_refused(
        browser: httpx.AsyncClient, db: AsyncSession, store: Store,
        api_channel: tuple[Channel, str]) -> None:
    ticket = await receive(db, api_channel[0], language="pl")
    macro_id = await _macro(db, store, priority="high")
    before = await snapshot(db)

    response = await browser.post(f"/tickets/{ticket.id}/messages", headers=HX, data={
        "mode": "reply", "macro_id": str(macro_id),
        "text": "Dzień dobry Ewa, zamówienie {{ order.number }} wyszło."})

    assert response.status_code == 422
    assert text_of(response.text) == "Najpierw uzupełnij brakujące wartości."
    assert await snapshot(db) == before


# --- marketplace rules ----------------------------------------------------------------------------

async def test_marketplace_rules_are_shown_first_and_the_agent_may_send_anyway(
        browser: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str]) -> None:
    # given an Amazon ticket without an order in its thread
    ticket = await receive(db, api_channel[0], marketplace="amazon")
    text = "Proszę napisać na sklep@example.pl"
    before = await snapshot(db)

    # when the agent sends a reply that breaks Amazon's rules
    held = await browser.post(f"/tickets/{ticket.id}/messages", headers=HX,
                              data={"mode": "reply", "text": text})
    held_snapshot = await snapshot(db)
    check = await browser.post(f"/tickets/{ticket.id}/rules-check", headers=HX,
                               data={"mode": "reply", "text": text})
    sent = await browser.post(f"/tickets/{ticket.id}/messages", headers=HX,
                              data={"mode": "reply", "text": text, "confirm_rules": "1"})

    # then the warnings come in Polish and nothing is sent until the agent confirms
    assert held.status_code == 409
    warnings = text_of(held.text)
    assert "Ta odpowiedź narusza zasady komunikacji marketplace:" in warnings
    assert "Wiadomości w Amazon muszą dotyczyć zamówienia" in warnings
    assert ("Amazon nie pozwala podawać adresów e-mail w wiadomościach do kupujących: "
            "sklep@example.pl") in warnings
    assert 'name="confirm_rules" value="1"' in held.text
    assert held_snapshot == before
    assert check.status_code == 200
    assert "sklep@example.pl" in text_of(check.text)
    assert sent.status_code == 200, sent.text
    assert [m.text for m in await messages_of(db, ticket.id)][1:] == [text]


async def test_notes_and_ordinary_tickets_skip_the_marketplace_rules(
        browser: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str]) -> None:
    amazon = await receive(db, api_channel[0], marketplace="amazon")
    plain = await receive(db, api_channel[0], external_id="m-2", email="jan@example.pl")

    note = await browser.post(f"/tickets/{amazon.id}/messages", headers=HX,
                              data={"mode": "note", "text": "Mail: jan@example.pl"})
    reply = await browser.post(f"/tickets/{plain.id}/messages", headers=HX,
                               data={"mode": "reply", "text": "Mail: jan@example.pl"})

    assert (note.status_code, reply.status_code) == (200, 200)
