"""Replies leave over SMTP to a real SMTP sink on loopback: headers, MIME, retries, refusals,
and the customer's answer threading back through the SMTP listener."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.channels import inbound
from sellerdesk.channels.base import InboundAttachment
from sellerdesk.channels.email import actions as email_accounts
from sellerdesk.channels.email.models import EmailAccount
from sellerdesk.channels.email.smtp_in import SmtpListener
from sellerdesk.channels.email.smtp_out import thread_headers
from sellerdesk.channels.models import Channel
from sellerdesk.core.actor import Actor
from sellerdesk.jobs import outbox
from sellerdesk.jobs.models import Job
from sellerdesk.tickets import actions as tickets
from sellerdesk.tickets.models import Message, Ticket
from tests.channels.email.servers import (  # noqa: F401 (fixtures)
    SmtpSink,
    free_port,
    self_signed_cert,
    send_raw,
    smtp_listener,
    smtp_sink,
    start_sink,
)

EML = Path(__file__).parent / "eml"
SUPPORT = "support@acme.example"
SMTP_PASSWORD = "hasło-smtp-2026"
AGENT = Actor("agent", None)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
async def mailbox(db: AsyncSession, store: Store, smtp_sink: SmtpSink) -> EmailAccount:  # noqa: F811
    smtp_sink.credentials = (SUPPORT, SMTP_PASSWORD)
    return await email_accounts.create_account(
        db, store_id=store.id, address=SUPPORT, display_name="Acme Support",
        smtp_host=smtp_sink.host, smtp_port=smtp_sink.port, smtp_security="none",
        smtp_username=SUPPORT, smtp_password=SMTP_PASSWORD,
    )


async def receive(db: AsyncSession, account: EmailAccount, raw: bytes) -> Ticket:
    channel = await db.get(Channel, account.channel_id)
    assert channel is not None
    result = await inbound.receive(db, channel=channel, body=raw, content_type="message/rfc822")
    await outbox.run_pending(db)
    ticket = await db.get(Ticket, result.ticket_id)
    assert ticket is not None
    return ticket


@pytest.fixture
async def ticket(db: AsyncSession, mailbox: EmailAccount) -> Ticket:
    return await receive(db, mailbox, (EML / "english.eml").read_bytes())


async def reload(db: AsyncSession, message: Message) -> Message:
    await db.refresh(message)
    return message


async def deliver_jobs(db: AsyncSession) -> list[Job]:
    jobs = list((await db.execute(
        select(Job).where(Job.name == "message.deliver").order_by(Job.id))).scalars())
    for job in jobs:
        await db.refresh(job)
    return jobs


def body_parts(message: EmailMessage) -> list[str]:
    return [part.get_content_type() for part in message.walk()]


async def test_a_reply_reaches_the_sink_threaded_with_text_html_and_attachment(
    db: AsyncSession, ticket: Ticket, smtp_sink: SmtpSink  # noqa: F811
) -> None:
    reply = await tickets.reply(
        db, ticket=ticket, actor=AGENT, text="Dear John,\n\na new lid is on its way.\n\nAcme",
        attachments=[InboundAttachment("invoice.pdf", "application/pdf", PDF)],
    )

    await outbox.run_pending(db)

    sent = smtp_sink.only()
    assert sent.mail_from == SUPPORT
    assert sent.rcpt_tos == ("john.smith@example.com",)
    assert sent.login == SUPPORT
    msg = sent.message()
    assert msg["From"] == "Acme Support <support@acme.example>"
    assert msg["To"] == "John Smith <john.smith@example.com>"
    assert msg["Subject"] == f"Re: Cracked kettle lid [#{ticket.id}]"
    assert msg["In-Reply-To"] == "<a1b2c3.kettle@example.com>"
    assert msg["References"] == "<a1b2c3.kettle@example.com>"
    assert re.fullmatch(rf"<sd\.{reply.id}\.[0-9a-f]{{20}}@acme\.example>", msg["Message-ID"])
    assert body_parts(msg) == ["multipart/mixed", "multipart/alternative", "text/plain",
                               "text/html", "application/pdf"]
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content() == "Dear John,\n\na new lid is on its way.\n\nAcme\n"
    assert '<p dir="auto">Dear John,</p>' in html.get_content()
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == "invoice.pdf"
    assert attachment.get_content() == PDF
    reply = await reload(db, reply)
    assert reply.delivery_status == "sent"
    assert reply.external_id == msg["Message-ID"].strip("<>")
    assert await deliver_jobs(db) == []


async def test_the_agents_html_and_korean_text_go_out_intact(
    db: AsyncSession, ticket: Ticket, smtp_sink: SmtpSink  # noqa: F811
) -> None:
    await tickets.reply(db, ticket=ticket, actor=AGENT, text="새 뚜껑을 보내 드렸습니다. 똠얌꿍!",
                        html="<p>새 뚜껑을 <b>보내</b> 드렸습니다. 똠얌꿍!</p>")

    await outbox.run_pending(db)

    msg = smtp_sink.only().message()
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content() == "새 뚜껑을 보내 드렸습니다. 똠얌꿍!\n"
    assert html.get_content().strip() == "<p>새 뚜껑을 <b>보내</b> 드렸습니다. 똠얌꿍!</p>"


async def test_the_customers_answer_to_our_mail_threads_back_through_the_listener(
    db: AsyncSession, ticket: Ticket, smtp_sink: SmtpSink,  # noqa: F811
    smtp_listener: SmtpListener,  # noqa: F811
) -> None:
    await tickets.reply(db, ticket=ticket, actor=AGENT, text="Which colour was the kettle?")
    await outbox.run_pending(db)
    ours = smtp_sink.only().message()["Message-ID"]
    answer = (
        "Message-ID: <answer-1@example.com>\r\nFrom: John Smith <john.smith@example.com>\r\n"
        f"To: {SUPPORT}\r\nSubject: Re: Cracked kettle lid\r\nIn-Reply-To: {ours}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Blue.\r\n\r\nOn Mon, 23 Nov 2026 Acme Support wrote:\r\n> Which colour?\r\n"
    ).encode()

    code, _ = await send_raw(smtp_listener, answer, sender="john.smith@example.com", to=SUPPORT)

    assert code == 250
    message = (await db.execute(
        select(Message).where(Message.external_id == "answer-1@example.com"))).scalar_one()
    assert message.ticket_id == ticket.id
    await db.refresh(ticket)
    assert ticket.message_count == 3
    assert ticket.status == "open"


async def test_a_refused_recipient_fails_the_message_without_retry(
    db: AsyncSession, ticket: Ticket, smtp_sink: SmtpSink  # noqa: F811
) -> None:
    smtp_sink.refuse["john.smith@example.com"] = (
        "550 5.1.1 <john.smith@example.com>: Recipient address rejected: User unknown")
    reply = await tickets.reply(db, ticket=ticket, actor=AGENT, text="Hello?")

    await outbox.run_pending(db, max_attempts=5, backoff_seconds=1.0)

    reply = await reload(db, reply)
    assert reply.delivery_status == "failed"
    assert reply.delivery_error == (
        "SMTP refused the recipient: john.smith@example.com: 550 5.1.1 "
        "<john.smith@example.com>: Recipient address rejected: User unknown")
    assert reply.delivery_attempts == 1
    assert reply.sent_at is None
    assert smtp_sink.messages == []
    assert await deliver_jobs(db) == []


async def test_a_temporary_refusal_is_retried_with_the_same_message_id(
    db: AsyncSession, ticket: Ticket, smtp_sink: SmtpSink  # noqa: F811
) -> None:
    smtp_sink.defer = 1
    reply = await tickets.reply(db, ticket=ticket, actor=AGENT, text="Second try.")
    (job,) = await deliver_jobs(db)

    delay = await outbox.run_job(db, job.id, max_attempts=5, backoff_seconds=30.0)

    assert delay == 30.0
    reply = await reload(db, reply)
    assert reply.delivery_status == "queued"
    assert reply.delivery_error == "SMTP 451 4.3.0 Mailbox busy, try again later"
    (kept,) = await deliver_jobs(db)
    assert kept.attempts == 1

    again = await outbox.run_job(db, job.id, max_attempts=5, backoff_seconds=30.0)

    assert again is None
    reply = await reload(db, reply)
    assert reply.delivery_status == "sent"
    assert reply.delivery_attempts == 2
    assert f"<{reply.external_id}>" == smtp_sink.only().message()["Message-ID"]


async def test_an_unreachable_server_is_retried(
    db: AsyncSession, ticket: Ticket, mailbox: EmailAccount
) -> None:
    port = free_port()
    await email_accounts.update_account(db, account=mailbox, changes={"smtp_port": port})
    reply = await tickets.reply(db, ticket=ticket, actor=AGENT, text="Anyone there?")

    await outbox.run_pending(db, max_attempts=5, backoff_seconds=60.0)

    reply = await reload(db, reply)
    assert reply.delivery_status == "queued"
    assert (reply.delivery_error or "").startswith(f"SMTP server 127.0.0.1:{port} unreachable:")
    (kept,) = await deliver_jobs(db)
    assert kept.attempts == 1


async def test_a_wrong_password_fails_with_the_servers_answer(
    db: AsyncSession, ticket: Ticket, mailbox: EmailAccount, smtp_sink: SmtpSink  # noqa: F811
) -> None:
    await email_accounts.update_account(db, account=mailbox,
                                        changes={"smtp_password": "not-the-password"})
    reply = await tickets.reply(db, ticket=ticket, actor=AGENT, text="Hello.")

    await outbox.run_pending(db, max_attempts=5, backoff_seconds=1.0)

    reply = await reload(db, reply)
    assert reply.delivery_status == "failed"
    assert reply.delivery_error == "SMTP 535 5.7.8 Authentication credentials invalid"
    assert smtp_sink.messages == []


async def test_a_channel_without_smtp_settings_fails_with_the_reason(
    db: AsyncSession, ticket: Ticket, mailbox: EmailAccount
) -> None:
    await email_accounts.update_account(db, account=mailbox, changes={"smtp_host": None})
    reply = await tickets.reply(db, ticket=ticket, actor=AGENT, text="Hello.")

    await outbox.run_pending(db, max_attempts=5, backoff_seconds=1.0)

    reply = await reload(db, reply)
    assert reply.delivery_status == "failed"
    assert reply.delivery_error == "the email channel has no active account with an SMTP server"


async def test_a_reply_to_an_amazon_buyer_is_plain_text_without_our_token(
    db: AsyncSession, mailbox: EmailAccount, smtp_sink: SmtpSink  # noqa: F811
) -> None:
    subject = "Lieferanfrage von Amazon-Kunde Jan (Bestellung: 302-1234567-1234567)"
    relay_ticket = await receive(db, mailbox, (
        "Message-ID: <amz-1@amazon.de>\r\n"
        "From: Jan Kowalski - Marketplace <xyz123abc@marketplace.amazon.de>\r\n"
        f"To: {SUPPORT}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nWo bleibt meine Bestellung?\r\n"
    ).encode())

    await tickets.reply(db, ticket=relay_ticket, actor=AGENT,
                        text="Ihre Bestellung 302-1234567-1234567 ist unterwegs.",
                        html="<p>Ihre Bestellung <b>302-1234567-1234567</b> ist unterwegs.</p>")
    await outbox.run_pending(db)

    sent = smtp_sink.only()
    msg = sent.message()
    assert sent.rcpt_tos == ("xyz123abc@marketplace.amazon.de",)
    assert msg["Subject"] == f"Re: {subject}"
    assert body_parts(msg) == ["text/plain"]
    assert msg.get_content() == "Ihre Bestellung 302-1234567-1234567 ist unterwegs.\n"
    assert msg["In-Reply-To"] == "<amz-1@amazon.de>"


def test_thread_headers_name_the_customers_latest_mail_and_keep_the_chain_short() -> None:
    ids = tuple(f"m{i}@example.com" for i in range(30))

    parent, chain = thread_headers(("sha256:abc", *ids, "sd.9.abcdef@acme.example"))

    assert parent == "<m29@example.com>"
    assert chain is not None
    refs = chain.split(" ")
    assert len(refs) == 20
    assert refs[0] == "<m0@example.com>"
    assert refs[-1] == "<sd.9.abcdef@acme.example>"
    assert thread_headers(("sha256:abc",)) == (None, None)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


@pytest.mark.parametrize("security", ["starttls", "ssl"])
async def test_replies_go_out_over_tls_with_the_server_certificate_checked(
    db: AsyncSession, store: Store, certificate: Path, monkeypatch: pytest.MonkeyPatch,
    security: str,
) -> None:
    sink = SmtpSink(credentials=(SUPPORT, SMTP_PASSWORD))
    controller = start_sink(sink, tls=security, cert=certificate)
    try:
        account = await email_accounts.create_account(
            db, store_id=store.id, address=SUPPORT, smtp_host=sink.host, smtp_port=sink.port,
            smtp_security=security, smtp_password=SMTP_PASSWORD)
        ticket = await receive(db, account, (EML / "polish.eml").read_bytes())
        reply = await tickets.reply(db, ticket=ticket, actor=AGENT, text="Zwrot wysłany.")

        # Not trusted yet: the certificate check fails, and a failed check is retried.
        await outbox.run_pending(db, max_attempts=5, backoff_seconds=60.0)
        untrusted = (await reload(db, reply)).delivery_error
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
        (job,) = await deliver_jobs(db)
        await outbox.run_job(db, job.id, max_attempts=5, backoff_seconds=60.0)
    finally:
        controller.stop()

    assert "CERTIFICATE_VERIFY_FAILED" in (untrusted or "")
    reply = await reload(db, reply)
    assert reply.delivery_status == "sent"
    sent = sink.only()
    assert sent.login == SUPPORT
    assert sent.message()["Subject"] == (
        f"Re: Zwrot zamówienia - uszkodzona paczka [#{ticket.id}]")


async def test_an_oauth2_mailbox_logs_in_with_xoauth2(
    db: AsyncSession, store: Store, smtp_sink: SmtpSink  # noqa: F811
) -> None:
    smtp_sink.oauth = ("support@acme.example", "ya29.access-token")
    account = await email_accounts.create_account(
        db, store_id=store.id, address=SUPPORT, smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port, smtp_security="none", auth_method="oauth2",
        oauth_provider="google", oauth_access_token="ya29.access-token",
        oauth_refresh_token="1//refresh")
    ticket = await receive(db, account, (EML / "english.eml").read_bytes())
    reply = await tickets.reply(db, ticket=ticket, actor=AGENT, text="Sent with OAuth.")

    await outbox.run_pending(db)

    reply = await reload(db, reply)
    assert reply.delivery_status == "sent"
    assert smtp_sink.only().login == "support@acme.example"


async def test_an_oauth2_mailbox_without_consent_fails_with_the_reason(
    db: AsyncSession, store: Store, smtp_sink: SmtpSink  # noqa: F811
) -> None:
    account = await email_accounts.create_account(
        db, store_id=store.id, address=SUPPORT, smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port, smtp_security="none", auth_method="oauth2",
        oauth_provider="google")
    ticket = await receive(db, account, (EML / "english.eml").read_bytes())
    reply = await tickets.reply(db, ticket=ticket, actor=AGENT, text="No consent yet.")

    await outbox.run_pending(db, max_attempts=5)

    reply = await reload(db, reply)
    assert reply.delivery_status == "failed"
    assert (reply.delivery_error or "").startswith(
        "support@acme.example is not connected to Google")
    assert smtp_sink.messages == []
