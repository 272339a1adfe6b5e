"""The ticket page: thread, badges, notes, quoted history, files, fragments, tenancy, languages.

Helpers here are shared by the other test_ticket_*.py files."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Agent, Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.channels import inbound
from sellerdesk.channels.base import (
    IdentityKind,
    InboundAttachment,
    InboundMessage,
    SenderIdentity,
    ThreadHints,
)
from sellerdesk.channels.models import Channel
from sellerdesk.core.actor import Actor
from sellerdesk.jobs import outbox
from sellerdesk.jobs.models import Job
from sellerdesk.tickets import actions
from sellerdesk.tickets.models import Attachment, AuditEvent, Message, Ticket
from tests.api.support import snapshot
from tests.web.support import sign_in

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8"
       b"\x8d\xb2\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def receive(db: AsyncSession, channel: Channel, *, external_id: str = "m-1",
                  text: str = "Dzień dobry, kiedy wyślecie paczkę?", html: str | None = None,
                  display_text: str | None = None, marketplace: str | None = None,
                  thread_key: str | None = None, email: str = "ewa@example.pl",
                  name: str = "Ewa Kowalska", files: list[InboundAttachment] | None = None,
                  language: str | None = None) -> Ticket:
    """A customer's message through the one inbound path, and the jobs it enqueued."""
    result = await inbound.ingest(db, InboundMessage(
        store_id=channel.store_id, channel_id=channel.id, channel_type=channel.type,
        external_id=external_id, sender=SenderIdentity(IdentityKind.EMAIL, email, name),
        subject="Zamówienie 1234", text=text, html=html, display_text=display_text,
        attachments=files or [], marketplace=marketplace,
        hints=ThreadHints(thread_key=thread_key),
    ))
    assert result.ticket_id is not None, result
    await outbox.run_pending(db)
    ticket = await db.get(Ticket, result.ticket_id, populate_existing=True)
    assert ticket is not None
    if language is not None:
        await actions.update_ticket(db, ticket=ticket, actor=Actor("system"),
                                    changes={"language": language})
    return ticket


async def fresh(db: AsyncSession, ticket: Ticket) -> Ticket:
    found = await db.get(Ticket, ticket.id, populate_existing=True)
    assert found is not None
    return found


async def messages_of(db: AsyncSession, ticket_id: int) -> list[Message]:
    rows = await db.execute(select(Message).where(Message.ticket_id == ticket_id)
                            .order_by(Message.id).execution_options(populate_existing=True))
    return list(rows.scalars())


async def jobs(db: AsyncSession, name: str) -> list[dict[str, Any]]:
    rows = await db.execute(select(Job.payload).where(Job.name == name).order_by(Job.id))
    return list(rows.scalars())


async def audit_actions(db: AsyncSession, ticket_id: int) -> list[str]:
    rows = await db.execute(select(AuditEvent.action).where(AuditEvent.ticket_id == ticket_id)
                            .order_by(AuditEvent.id))
    return list(rows.scalars())


async def signed_in_as(client: httpx.AsyncClient, db: AsyncSession, store: Store, *,
                       role: Role, language: str, email: str) -> Agent:
    """A new agent of `store`, and the client signed in as them."""
    agent = await accounts.create_agent(db, store_id=store.id, email=email, name=f"{role} one",
                                        role=role, password="correct horse battery",
                                        language=language)
    client.headers["X-CSRF-Token"] = await sign_in(client, email)
    return agent


def text_of(html: str) -> str:
    """What a reader sees: tags removed, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


HX = {"HX-Request": "true"}


# --- the page -----------------------------------------------------------------------------------

async def test_page_shows_the_thread_with_badges_notes_quoted_history_and_files(
        browser: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str],
        agent: Agent) -> None:
    # given a customer's mail with quoted history, HTML with a script and an inline image,
    # and two files; then an agent's note and reply
    channel, _ = api_channel
    ticket = await receive(
        db, channel, marketplace="amazon",
        text="Gdzie jest paczka?\n\n> Dnia 1.05 napisaliście:\n> Wysłaliśmy wczoraj.",
        display_text="Gdzie jest paczka?",
        html='<p>Gdzie jest <b>paczka</b>?</p><script>alert(1)</script>'
             '<img src="cid:logo@x" alt="logo"><blockquote>Wysłaliśmy wczoraj.</blockquote>',
        files=[InboundAttachment("zdjecie.png", "image/png", PNG),
               InboundAttachment("faktura.pdf", "application/pdf", PDF),
               InboundAttachment("logo.png", "image/png", PNG, content_id="logo@x",
                                 inline=True)])
    await actions.add_note(db, ticket=ticket, actor=Actor("agent", agent.id),
                           text="Klient pisał już wczoraj.", author_agent_id=agent.id)
    await actions.reply(db, ticket=ticket, actor=Actor("agent", agent.id),
                        text="Paczka jest w drodze.", author_agent_id=agent.id)
    files = {a.filename: a.id for a in (await db.execute(select(Attachment))).scalars()}

    # when the agent opens the ticket
    response = await browser.get(f"/tickets/{ticket.id}")

    # then the thread shows all of it, in Polish
    assert response.status_code == 200
    html = response.text
    assert f'data-ticket="{ticket.id}"' in html
    assert 'data-testid="channel-badge"><span class="visually-hidden">Kanał:</span> API sklepu' \
        in html
    assert 'data-testid="marketplace-badge"><span class="visually-hidden">Marketplace:</span> ' \
        'Amazon' in html
    assert html.count('data-testid="message"') == 3
    assert '<li class="msg note"' in html
    assert '<article aria-label="Notatka wewnętrzna: Ola Nowak">' in html
    assert '<span class="badge note-label">Notatka wewnętrzna</span>' in html
    assert '<div class="text">Gdzie jest paczka?</div>' in html
    assert "<summary>Pokaż całą wiadomość</summary>" in html
    assert "<script>alert(1)</script>" not in html
    assert "<b>paczka</b>" in html
    assert f'<img src="/tickets/{ticket.id}/attachments/{files["logo.png"]}" alt="logo">' in html
    png_url = f"/tickets/{ticket.id}/attachments/{files['zdjecie.png']}"
    assert f'<img src="{png_url}" alt="zdjecie.png"' in html
    pdf_url = f"/tickets/{ticket.id}/attachments/{files['faktura.pdf']}"
    assert f'<a href="{pdf_url}" download>faktura.pdf</a>' in html
    assert f'<img src="{pdf_url}"' not in html
    assert "application/pdf, 45 B" in html
    assert "logo.png</a>" not in html  # shown inside the HTML, not listed again
    assert 'data-delivery="queued"' in html
    assert "W kolejce" in html
    assert 'id="composer-text"' in html


async def test_the_thread_and_a_delivery_state_come_as_fragments(
        browser: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str],
        agent: Agent) -> None:
    channel, _ = api_channel
    ticket = await receive(db, channel)
    message = await actions.reply(db, ticket=ticket, actor=Actor("agent", agent.id),
                                  text="Wysłane.", author_agent_id=agent.id)
    message.delivery_status, message.delivery_error = "failed", "550 mailbox unavailable"
    await db.commit()

    thread = await browser.get(f"/tickets/{ticket.id}/thread", headers=HX)
    status = await browser.get(f"/tickets/{ticket.id}/messages/{message.id}/status",
                               headers=HX)

    assert thread.status_code == 200
    assert thread.text.startswith('<section id="thread"')
    assert "<html" not in thread.text
    assert status.status_code == 200
    assert status.text.startswith(f'<span class="delivery failed" data-message-id="{message.id}"'
                                  ' data-delivery="failed"')
    assert text_of(status.text) == "Nie wysłano: 550 mailbox unavailable"


async def test_files_are_served_to_agents_images_inline_others_as_downloads(
        browser: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str]) -> None:
    channel, _ = api_channel
    ticket = await receive(db, channel, files=[
        InboundAttachment("zdjecie.png", "image/png", PNG),
        InboundAttachment("strona.html", "text/html", b"<html><script>x()</script></html>")])
    files = {a.filename: a.id for a in (await db.execute(select(Attachment))).scalars()}

    image = await browser.get(f"/tickets/{ticket.id}/attachments/{files['zdjecie.png']}")
    page = await browser.get(f"/tickets/{ticket.id}/attachments/{files['strona.html']}")

    assert image.status_code == 200
    assert image.content == PNG
    assert image.headers["content-type"] == "image/png"
    assert image.headers["content-disposition"].startswith('inline; filename="zdjecie.png"')
    assert image.headers["x-content-type-options"] == "nosniff"
    assert page.status_code == 200
    assert page.headers["content-disposition"].startswith('attachment; filename="strona.html"')
    assert page.headers["content-security-policy"] == "sandbox"


async def test_another_stores_ticket_is_not_found_and_nothing_changes(
        browser: httpx.AsyncClient, db: AsyncSession, other_channel: tuple[Channel, str],
        api_channel: tuple[Channel, str]) -> None:
    # given a ticket with a file in another store, and one in ours
    channel, _ = other_channel
    theirs = await receive(db, channel, files=[InboundAttachment("a.png", "image/png", PNG)])
    ours = await receive(db, api_channel[0], external_id="ours")
    their_file = (await db.execute(select(Attachment.id))).scalar_one()
    their_message = (await messages_of(db, theirs.id))[0]
    before = await snapshot(db)

    # when the agent asks for it in every way the page does
    responses = [
        await browser.get(f"/tickets/{theirs.id}"),
        await browser.get(f"/tickets/{theirs.id}/thread", headers=HX),
        await browser.get(f"/tickets/{theirs.id}/sidebar", headers=HX),
        await browser.get(f"/tickets/{theirs.id}/timeline", headers=HX),
        await browser.get(f"/tickets/{theirs.id}/messages/{their_message.id}/status"),
        await browser.get(f"/tickets/{ours.id}/messages/{their_message.id}/status"),
        await browser.get(f"/tickets/{theirs.id}/attachments/{their_file}"),
        await browser.get(f"/tickets/{ours.id}/attachments/{their_file}"),
        await browser.get(f"/tickets/{theirs.id}/macro-preview"),
        await browser.post(f"/tickets/{theirs.id}/messages",
                           data={"mode": "reply", "text": "Hej"}, headers=HX),
        await browser.post(f"/tickets/{theirs.id}/messages",
                           data={"mode": "note", "text": "Hej"}, headers=HX),
        await browser.post(f"/tickets/{theirs.id}/properties",
                           data={"name": "priority", "value": "high"}, headers=HX),
        await browser.post(f"/tickets/{theirs.id}/tags", data={"tag": "vip"}, headers=HX),
        await browser.post(f"/tickets/{theirs.id}/customer-note", data={"note": "x"},
                           headers=HX),
        await browser.post(f"/tickets/{theirs.id}/rules-check", data={"text": "x"},
                           headers=HX),
    ]

    # then each is a 404 and nothing changed
    assert [r.status_code for r in responses] == [404] * len(responses)
    assert responses[0].headers["x-error-code"] == "ticket.not_found"
    assert await snapshot(db) == before


async def test_signed_out_visitors_are_sent_to_sign_in(
        client: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str]) -> None:
    ticket = await receive(db, api_channel[0])

    page = await client.get(f"/tickets/{ticket.id}")
    fragment = await client.get(f"/tickets/{ticket.id}/thread", headers=HX)

    assert page.status_code == 303
    assert page.headers["location"] == f"/login?next=/tickets/{ticket.id}"
    assert fragment.status_code == 204
    assert fragment.headers["hx-redirect"] == f"/login?next=/tickets/{ticket.id}/thread"


# English texts of this page that must not show in a Korean or Polish page.
ENGLISH = ["Internal note", "Reply to the customer", "Send and set solved", "Send and set pending",
           "Attach files", "Show the full message", "Customer", "Earlier tickets",
           "Priority", "Assignee", "Team", "Tags", "Add a tag", "Service level", "History",
           "Note about the customer", "Save the note", "Queued", "Ticket updated",
           "Reply written", "Message received", "Ticket created", "First response",
           "Resolution", "Open", "Normal", "Nobody", "No team", "Macro", "No macro",
           "Shop API", "Assign to me", "Solve", "Ticket details", "Write your reply"]


@pytest.mark.parametrize("language", ["ko", "pl"])
async def test_korean_and_polish_pages_show_no_english_texts(
        client: httpx.AsyncClient, db: AsyncSession, store: Store,
        api_channel: tuple[Channel, str], language: str) -> None:
    # given a ticket with an SLA, a reply, a note, a macro and a timeline
    from sellerdesk.automation.defaults import install_default_sla
    from sellerdesk.automation.macros import actions as macros

    await install_default_sla(db, store_id=store.id)
    agent = await signed_in_as(client, db, store, role=Role.AGENT, language=language,
                               email=f"{language}@acme.test")
    ticket = await receive(db, api_channel[0])
    await actions.update_ticket(db, ticket=ticket, actor=Actor("agent", agent.id),
                                changes={"status": "open", "tags": ["vip"]})
    await actions.reply(db, ticket=ticket, actor=Actor("agent", agent.id), text="OK",
                        author_agent_id=agent.id)
    await actions.add_note(db, ticket=ticket, actor=Actor("agent", agent.id), text="N",
                           author_agent_id=agent.id)
    await macros.create_macro(db, store_id=store.id, actor=Actor("system"), name="Dzięki",
                              variants={"pl": "Dziękujemy"})

    # when the agent opens the ticket
    response = await client.get(f"/tickets/{ticket.id}")

    # then none of this page's English texts shows
    assert response.status_code == 200
    visible = text_of(response.text)
    attributes = " ".join(re.findall(r'(?:aria-label|placeholder|title)="([^"]*)"',
                                     response.text))
    leaked = [t for t in ENGLISH if re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])",
                                              visible + " " + attributes)]
    assert leaked == []
    assert ("내부 메모" if language == "ko" else "Notatka wewnętrzna") in visible


async def test_the_page_runs_as_many_queries_for_fifty_messages_as_for_two(
        browser: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str],
        agent: Agent) -> None:
    # given a short ticket and a long one with notes, replies and files
    from sqlalchemy import event

    short = await receive(db, api_channel[0], external_id="s", thread_key="short")
    long = await receive(db, api_channel[0], external_id="l", thread_key="long",
                         files=[InboundAttachment("a.png", "image/png", PNG)])
    for i in range(24):
        await actions.reply(db, ticket=long, actor=Actor("agent", agent.id), text=f"R{i}",
                            author_agent_id=agent.id,
                            attachments=[InboundAttachment(f"f{i}.png", "image/png", PNG)])
        await actions.add_note(db, ticket=long, actor=Actor("agent", agent.id), text=f"N{i}",
                               author_agent_id=agent.id)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = db.bind.engine.sync_engine  # type: ignore[union-attr]
    event.listen(engine, "before_cursor_execute", count)
    try:
        await browser.get(f"/tickets/{short.id}")
        short_count = len(statements)
        statements.clear()
        page = await browser.get(f"/tickets/{long.id}")
        long_count = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert page.text.count('data-testid="message"') == 49
    assert long_count == short_count
