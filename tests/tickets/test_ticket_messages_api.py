"""Replies, internal notes, the message list with attachments, and attachment downloads."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.channels.email import actions as email_accounts
from sellerdesk.channels.inbound import receive
from sellerdesk.channels.models import Channel
from sellerdesk.core.db import commit
from sellerdesk.jobs.models import Job
from sellerdesk.tickets.models import AuditEvent, Message, Ticket
from tests.api.support import API, error_of, inbound, snapshot
from tests.conftest import TokenFactory, bearer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
async def ticket(client: httpx.AsyncClient, db: AsyncSession,
                 api_channel: tuple[Channel, str]) -> Ticket:
    result = await inbound(client, api_channel[1])
    found = await db.get(Ticket, result["ticket_id"])
    assert found is not None
    return found


@pytest.fixture
async def agent_headers(db: AsyncSession, store: Store, make_token: TokenFactory
                        ) -> tuple[int, dict[str, str]]:
    """An agent and the headers of a token acting as that agent."""
    agent = await accounts.create_agent(db, store_id=store.id, email="anna@acme.test",
                                        name="Anna", role=Role.AGENT)
    return agent.id, bearer(await make_token(store, Role.AGENT, agent_id=agent.id))


async def fresh(db: AsyncSession, ticket_id: int) -> Ticket:
    found = await db.get(Ticket, ticket_id, populate_existing=True)
    assert found is not None
    return found


async def jobs(db: AsyncSession, name: str) -> list[dict[str, Any]]:
    rows = await db.execute(select(Job.payload).where(Job.name == name).order_by(Job.id))
    return list(rows.scalars())


async def actions_of(db: AsyncSession, ticket_id: int) -> list[tuple[Any, ...]]:
    rows = await db.execute(
        select(AuditEvent.action, AuditEvent.actor_type, AuditEvent.actor_id,
               AuditEvent.before, AuditEvent.after)
        .where(AuditEvent.ticket_id == ticket_id).order_by(AuditEvent.id)
    )
    return [tuple(r) for r in rows][2:]  # after ticket.created and message.received


async def test_reply_is_queued_for_delivery_and_opens_the_ticket(
    client: httpx.AsyncClient, db: AsyncSession, ticket: Ticket,
    agent_headers: tuple[int, dict[str, str]],
) -> None:
    # given a new ticket and an agent's token
    agent_id, headers = agent_headers

    # when the agent replies
    response = await client.post(f"{API}/tickets/{ticket.id}/replies",
                                 json={"text": "Paczka wyjdzie jutro."}, headers=headers)

    # then a queued outbound message exists, with a delivery job
    assert response.status_code == 201, response.text
    body = response.json()
    message = await db.get(Message, body["id"])
    assert message is not None
    assert body == {
        "id": message.id, "ticket_id": ticket.id, "direction": "outbound",
        "author_agent_id": agent_id, "author_customer_id": None, "author_name": None,
        "text": "Paczka wyjdzie jutro.", "display_text": None, "html": None,
        "external_id": None,
        "delivery_status": "queued", "delivery_error": None, "sent_at": None,
        "created_at": message.created_at.isoformat().replace("+00:00", "Z"),
        "attachments": [],
    }
    assert message.idempotency_key is not None
    assert len(message.idempotency_key) == 32
    assert await jobs(db, "message.deliver") == [{"message_id": message.id}]
    # and the ticket is open, answered now, with two messages
    row = await fresh(db, ticket.id)
    assert row.status == "open"
    assert row.first_response_at == message.created_at
    assert row.last_message_at == message.created_at
    assert row.message_count == 2
    assert await actions_of(db, ticket.id) == [
        ("message.replied", "agent", agent_id, None, {"attachments": 0}),
        ("ticket.updated", "agent", agent_id, {"status": "new"}, {"status": "open"}),
    ]


async def test_second_reply_keeps_the_first_response_time(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket
) -> None:
    first = await client.post(f"{API}/tickets/{ticket.id}/replies", json={"text": "Jeden"},
                              headers=admin)
    second = await client.post(f"{API}/tickets/{ticket.id}/replies", json={"text": "Dwa"},
                               headers=admin)

    assert (first.status_code, second.status_code) == (201, 201)
    row = await fresh(db, ticket.id)
    assert row.first_response_at is not None
    assert row.first_response_at.isoformat().replace("+00:00", "Z") == first.json()[
        "created_at"]
    assert row.last_message_at is not None
    assert row.last_message_at.isoformat().replace("+00:00", "Z") == second.json()[
        "created_at"]
    assert [p["message_id"] for p in await jobs(db, "message.deliver")] == [
        first.json()["id"], second.json()["id"]]


async def test_reply_with_a_status_solves_the_ticket(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket
) -> None:
    response = await client.post(f"{API}/tickets/{ticket.id}/replies",
                                 json={"text": "Zwrot zlecony.", "status": "solved"},
                                 headers=admin)

    assert response.status_code == 201
    row = await fresh(db, ticket.id)
    assert row.status == "solved"
    assert row.solved_at is not None


async def test_reply_with_a_refused_status_stores_nothing(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket
) -> None:
    ticket.status = "solved"
    await commit(db)
    before = await snapshot(db)

    response = await client.post(f"{API}/tickets/{ticket.id}/replies",
                                 json={"text": "Jeszcze jedno", "status": "pending"},
                                 headers=admin)

    assert response.status_code == 409
    assert error_of(response)["code"] == "ticket.invalid_transition"
    assert await snapshot(db) == before


@pytest.mark.parametrize("kind", ["replies", "notes"])
async def test_a_closed_ticket_takes_no_messages(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket,
    kind: str,
) -> None:
    ticket.status = "closed"
    await commit(db)
    before = await snapshot(db)

    response = await client.post(f"{API}/tickets/{ticket.id}/{kind}", json={"text": "Hej"},
                                 headers=admin)

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "ticket.closed"
    assert error["field"] == "ticket_id"
    assert await snapshot(db) == before


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "  \n "}, {"html": "<p> </p>"}])
async def test_an_empty_reply_is_422(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket,
    body: dict[str, Any],
) -> None:
    before = await snapshot(db)

    response = await client.post(f"{API}/tickets/{ticket.id}/replies", json=body,
                                 headers=admin)

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "ticket.empty_message"
    assert error["field"] == "text"
    assert await snapshot(db) == before


async def test_html_reply_is_sanitised_and_gets_a_text_body(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket
) -> None:
    html = ('<p onclick="steal()">Dzień dobry,</p><script>alert(1)</script>'
            '<p><b>zwrot</b> został zlecony.</p>')

    response = await client.post(f"{API}/tickets/{ticket.id}/replies", json={"html": html},
                                 headers=admin)

    assert response.status_code == 201
    body = response.json()
    assert body["html"] == "<p>Dzień dobry,</p><p><b>zwrot</b> został zlecony.</p>"
    assert body["text"] == "Dzień dobry,\n\nzwrot został zlecony."


async def test_reply_with_an_attachment(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket
) -> None:
    response = await client.post(
        f"{API}/tickets/{ticket.id}/replies",
        json={"text": "Etykieta zwrotna w załączniku.",
              "attachments": [{"filename": "etykieta.png", "content_base64": b64(PNG)}]},
        headers=admin,
    )

    assert response.status_code == 201
    [attachment] = response.json()["attachments"]
    assert attachment["filename"] == "etykieta.png"
    assert attachment["content_type"] == "image/png"
    assert attachment["size"] == len(PNG)
    assert attachment["sha256"] == hashlib.sha256(PNG).hexdigest()
    download = await client.get(attachment["url"], headers=admin)
    assert download.content == PNG
    replied = await db.scalar(select(AuditEvent.after).where(
        AuditEvent.action == "message.replied", AuditEvent.entity_id == response.json()["id"]))
    assert replied == {"attachments": 1}


async def test_note_is_internal_and_sends_nothing(
    client: httpx.AsyncClient, db: AsyncSession, ticket: Ticket, store: Store,
    make_token: TokenFactory,
) -> None:
    # given a viewer ("light agent") bound to an agent
    viewer = await accounts.create_agent(db, store_id=store.id, email="v@acme.test",
                                         name="Viewer", role=Role.VIEWER)
    headers = bearer(await make_token(store, Role.VIEWER, agent_id=viewer.id))

    # when the viewer leaves a note
    response = await client.post(f"{API}/tickets/{ticket.id}/notes",
                                 json={"text": "Klient dzwonił, prosi o pośpiech."},
                                 headers=headers)

    # then the note is stored as internal, no job is queued, the ticket keeps its status
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["direction"], body["delivery_status"], body["author_agent_id"]) == (
        "note", "internal", viewer.id)
    assert body["text"] == "Klient dzwonił, prosi o pośpiech."
    message = await db.get(Message, body["id"])
    assert message is not None
    assert message.idempotency_key is None
    assert await jobs(db, "message.deliver") == []
    row = await fresh(db, ticket.id)
    assert (row.status, row.first_response_at, row.message_count) == ("new", None, 2)
    assert await actions_of(db, ticket.id) == [
        ("message.noted", "agent", viewer.id, None, {"attachments": 0})]


async def test_messages_list_in_order_with_attachments(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    api_channel: tuple[Channel, str],
) -> None:
    # given an inbound message with two attachments, a reply and a note
    invoice = "Faktura 1/2026, zwrot środków\n".encode()
    result = await inbound(client, api_channel[1], attachments=[
        {"filename": "zdjęcie paczki.png", "content_type": "image/png",
         "content_base64": b64(PNG)},
        {"filename": "faktura.txt", "content_base64": b64(invoice)},
    ])
    ticket_id = result["ticket_id"]
    reply = await client.post(f"{API}/tickets/{ticket_id}/replies", json={"text": "Dziękuję"},
                              headers=admin)
    note = await client.post(f"{API}/tickets/{ticket_id}/notes", json={"text": "Sprawdzić"},
                             headers=admin)

    # when
    response = await client.get(f"{API}/tickets/{ticket_id}/messages", headers=admin)

    # then
    assert response.status_code == 200
    messages = response.json()
    assert [m["id"] for m in messages] == [result["message_id"], reply.json()["id"],
                                           note.json()["id"]]
    assert [m["direction"] for m in messages] == ["inbound", "outbound", "note"]
    assert [m["delivery_status"] for m in messages] == ["received", "queued", "internal"]
    assert messages[0]["author_name"] == "Ewa Nowak"
    assert messages[0]["author_customer_id"] is not None
    assert messages[0]["external_id"] == "ext-1"
    photo, text = messages[0]["attachments"]
    assert {k: v for k, v in photo.items() if k not in ("id", "url")} == {
        "filename": "zdjęcie paczki.png", "content_type": "image/png", "size": len(PNG),
        "sha256": hashlib.sha256(PNG).hexdigest(), "content_id": None, "inline": False}
    assert photo["url"] == f"/api/v1/attachments/{photo['id']}"
    assert (text["filename"], text["content_type"], text["size"]) == (
        "faktura.txt", "text/plain", len(invoice))
    assert messages[1]["attachments"] == messages[2]["attachments"] == []


async def test_attachment_download_is_never_rendered_inline(
    client: httpx.AsyncClient, admin: dict[str, str], api_channel: tuple[Channel, str]
) -> None:
    # given an attachment with a non-ASCII name
    result = await inbound(client, api_channel[1], attachments=[
        {"filename": "zdjęcie paczki.png", "content_base64": b64(PNG)}])
    messages = await client.get(f"{API}/tickets/{result['ticket_id']}/messages",
                                headers=admin)
    url = messages.json()[0]["attachments"][0]["url"]

    # when
    response = await client.get(url, headers=admin)

    # then
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"zdj?cie paczki.png\"; "
        "filename*=UTF-8''zdj%C4%99cie%20paczki.png")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "sandbox"


async def test_html_attachment_is_served_as_a_sandboxed_download(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    api_channel: tuple[Channel, str],
) -> None:
    page = b"<html><body><script>document.cookie</script></body></html>"
    result = await inbound(client, api_channel[1], attachments=[
        {"filename": 'x".html', "content_type": "text/plain", "content_base64": b64(page)}])
    messages = await client.get(f"{API}/tickets/{result['ticket_id']}/messages",
                                headers=admin)
    url = messages.json()[0]["attachments"][0]["url"]

    response = await client.get(url, headers=admin)

    assert response.content == page
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"x_.html\"; filename*=UTF-8''x%22.html")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "sandbox"


async def test_unknown_attachment_is_404(
    client: httpx.AsyncClient, admin: dict[str, str], store: Store
) -> None:
    response = await client.get(f"{API}/attachments/987654", headers=admin)

    assert response.status_code == 404
    error = error_of(response)
    assert (error["code"], error["field"]) == ("attachment.not_found", "attachment_id")


async def test_messages_of_an_unknown_ticket_is_404(
    client: httpx.AsyncClient, admin: dict[str, str], store: Store
) -> None:
    response = await client.get(f"{API}/tickets/987654/messages", headers=admin)

    assert response.status_code == 404
    assert error_of(response)["code"] == "ticket.not_found"


async def test_reply_with_bad_base64_is_422_and_stores_nothing(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket
) -> None:
    before = await snapshot(db)

    response = await client.post(
        f"{API}/tickets/{ticket.id}/replies",
        json={"text": "x", "attachments": [
            {"filename": "a.png", "content_base64": b64(PNG)},
            {"filename": "b.png", "content_base64": "not base64!"}]},
        headers=admin,
    )

    assert response.status_code == 422
    assert error_of(response)["field"] == "attachments.1.content_base64"
    assert await snapshot(db) == before
    count = await db.scalar(select(func.count()).select_from(Message))
    assert count == 1


def inline_image_reply() -> bytes:
    """A reply whose HTML shows a photo by cid:, with quoted history below the new text."""
    png = b64(PNG)
    return (
        "Message-ID: <photo-reply@example.pl>\r\nFrom: Ewa Nowak <ewa@example.pl>\r\n"
        "To: support@acme.example\r\nSubject: Odp: Zwrot\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/related; boundary="rel"\r\n\r\n'
        "--rel\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
        "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Zdjęcie w załączniku.\r\n\r\n"
        "W dniu 24.11.2026 o 08:00 Acme <support@acme.example> napisał(a):\r\n"
        "> Prosimy o zdjęcie.\r\n"
        "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        '<p>Zdjęcie w załączniku.</p><img src="cid:zdjecie@example.pl">\r\n'
        "--alt--\r\n"
        "--rel\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
        "Content-ID: <zdjecie@example.pl>\r\n"
        'Content-Disposition: inline; filename="zdjecie.png"\r\n\r\n'
        f"{png}\r\n--rel--\r\n"
    ).encode()


async def test_messages_show_inline_images_by_url_and_the_stripped_reply(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, admin: dict[str, str]
) -> None:
    # given an email whose HTML shows an inline image and whose text quotes our reply
    account = await email_accounts.create_account(db, store_id=store.id,
                                                  address="support@acme.example")
    channel = await db.get(Channel, account.channel_id)
    assert channel is not None
    result = await receive(db, channel=channel, body=inline_image_reply(),
                           content_type="message/rfc822")

    # when
    response = await client.get(f"{API}/tickets/{result.ticket_id}/messages", headers=admin)

    # then the image is linked to its download URL, and the reply's new part is shown
    assert response.status_code == 200
    (message,) = response.json()
    (photo,) = message["attachments"]
    assert {k: v for k, v in photo.items() if k != "id"} == {
        "filename": "zdjecie.png", "content_type": "image/png", "size": len(PNG),
        "sha256": hashlib.sha256(PNG).hexdigest(), "url": f"/api/v1/attachments/{photo['id']}",
        "content_id": "zdjecie@example.pl", "inline": True}
    assert message["html"] == (
        f'<p>Zdjęcie w załączniku.</p><img src="/api/v1/attachments/{photo["id"]}">')
    assert message["display_text"] == "Zdjęcie w załączniku."
    assert message["text"] == (
        "Zdjęcie w załączniku.\n\n"
        "W dniu 24.11.2026 o 08:00 Acme <support@acme.example> napisał(a):\n"
        "> Prosimy o zdjęcie.")
    # and what is stored stays as received
    stored = await db.get(Message, result.message_id)
    assert stored is not None
    assert stored.html == '<p>Zdjęcie w załączniku.</p><img src="cid:zdjecie@example.pl">'


async def test_a_message_with_nothing_stripped_has_null_display_text(
    client: httpx.AsyncClient, admin: dict[str, str], api_channel: tuple[Channel, str]
) -> None:
    result = await inbound(client, api_channel[1])

    response = await client.get(f"{API}/tickets/{result['ticket_id']}/messages",
                                headers=admin)

    (message,) = response.json()
    assert message["display_text"] is None
    assert message["attachments"] == []
