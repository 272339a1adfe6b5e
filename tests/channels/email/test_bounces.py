"""Bounces: a delivery status notification marks the outbound message failed, opens no ticket."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.channels import inbound
from sellerdesk.channels.email import actions as email_accounts
from sellerdesk.channels.email.models import EmailAccount
from sellerdesk.channels.email.smtp_in import SmtpListener
from sellerdesk.channels.models import Channel, RawPayload
from sellerdesk.core.actor import Actor
from sellerdesk.jobs import outbox
from sellerdesk.realtime.bus import bus
from sellerdesk.tickets import actions as tickets
from sellerdesk.tickets.models import AuditEvent, Message, Ticket
from tests.channels.email.servers import (  # noqa: F401 (fixtures)
    SmtpSink,
    send_raw,
    smtp_listener,
    smtp_sink,
)

EML = Path(__file__).parent / "eml"
SUPPORT = "support@acme.example"
AGENT = Actor("agent", None)
REASON = ("550 5.1.1 <john.smith@example.com>: Recipient address rejected: User unknown "
          "in virtual mailbox table")


def dsn(original_id: str, *, action: str = "failed", status: str = "5.1.1") -> bytes:
    raw = (EML / "dsn_postfix.eml").read_bytes().replace(b"ORIGINAL-MESSAGE-ID",
                                                         original_id.encode())
    return raw.replace(b"Action: failed", f"Action: {action}".encode()).replace(
        b"Status: 5.1.1", f"Status: {status}".encode())


@pytest.fixture
async def mailbox(db: AsyncSession, store: Store, smtp_sink: SmtpSink) -> EmailAccount:  # noqa: F811
    return await email_accounts.create_account(
        db, store_id=store.id, address=SUPPORT, display_name="Acme Support",
        smtp_host=smtp_sink.host, smtp_port=smtp_sink.port, smtp_security="none",
    )


@pytest.fixture
async def sent(db: AsyncSession, mailbox: EmailAccount) -> Message:
    """A reply that went out through the sink, to a customer whose mailbox does not exist."""
    channel = await db.get(Channel, mailbox.channel_id)
    assert channel is not None
    result = await inbound.receive(db, channel=channel, body=(EML / "english.eml").read_bytes(),
                                   content_type="message/rfc822")
    ticket = await db.get(Ticket, result.ticket_id)
    assert ticket is not None
    reply = await tickets.reply(db, ticket=ticket, actor=AGENT, text="A new lid is on its way.")
    await outbox.run_pending(db)
    await db.refresh(reply)
    assert reply.delivery_status == "sent"
    assert reply.external_id is not None
    return reply


async def count(db: AsyncSession, model: type) -> int:
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_bounce_through_the_listener_fails_the_sent_message_and_opens_no_ticket(
    db: AsyncSession, store: Store, sent: Message, smtp_listener: SmtpListener  # noqa: F811
) -> None:
    tickets_before = await count(db, Ticket)
    messages_before = await count(db, Message)
    assert sent.external_id is not None

    async with bus.subscribe(store.id) as events:
        code, _ = await send_raw(smtp_listener, dsn(f"<{sent.external_id}>"), sender="",
                                 to=SUPPORT)
        event = await asyncio.wait_for(events.get(), 5)

    assert code == 250
    await db.refresh(sent)
    assert sent.delivery_status == "failed"
    assert sent.delivery_error == REASON
    assert await count(db, Ticket) == tickets_before
    assert await count(db, Message) == messages_before
    assert event == {"type": "message.delivery", "ticket_id": sent.ticket_id,
                     "message_id": sent.id, "status": "failed", "error": REASON,
                     "bounced": True}
    (audit,) = (await db.execute(
        select(AuditEvent).where(AuditEvent.action == "message.bounced"))).scalars()
    assert (audit.entity_type, audit.entity_id, audit.ticket_id) == (
        "message", sent.id, sent.ticket_id)
    assert audit.before == {"delivery_status": "sent"}
    assert audit.after == {"delivery_status": "failed", "delivery_error": REASON,
                           "recipient": "john.smith@example.com"}
    raw = (await db.execute(select(RawPayload).order_by(RawPayload.id.desc()))).scalars().first()
    assert raw is not None
    assert (raw.status, raw.message_id) == ("processed", sent.id)


async def test_the_same_bounce_twice_records_one_failure(
    db: AsyncSession, mailbox: EmailAccount, sent: Message
) -> None:
    channel = await db.get(Channel, mailbox.channel_id)
    assert channel is not None
    assert sent.external_id is not None
    report = dsn(f"<{sent.external_id}>")

    first = await inbound.receive(db, channel=channel, body=report, content_type="message/rfc822")
    second = await inbound.receive(db, channel=channel, body=report, content_type="message/rfc822")

    assert (first.outcome, second.outcome) == (inbound.Outcome.BOUNCE, inbound.Outcome.BOUNCE)
    assert first.message_id == second.message_id == sent.id
    bounced = await db.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "message.bounced"))
    assert bounced == 1


async def test_a_delay_notice_changes_nothing(
    db: AsyncSession, mailbox: EmailAccount, sent: Message
) -> None:
    channel = await db.get(Channel, mailbox.channel_id)
    assert channel is not None
    assert sent.external_id is not None
    tickets_before = await count(db, Ticket)

    result = await inbound.receive(
        db, channel=channel, body=dsn(f"<{sent.external_id}>", action="delayed", status="4.4.1"),
        content_type="message/rfc822")

    assert result.outcome == inbound.Outcome.BOUNCE
    await db.refresh(sent)
    assert sent.delivery_status == "sent"
    assert sent.delivery_error is None
    assert await count(db, Ticket) == tickets_before


async def test_a_bounce_of_mail_we_did_not_send_is_quarantined_with_the_reason(
    db: AsyncSession, mailbox: EmailAccount
) -> None:
    channel = await db.get(Channel, mailbox.channel_id)
    assert channel is not None

    result = await inbound.receive(db, channel=channel, body=dsn("<elsewhere@acme.example>"),
                                   content_type="message/rfc822")

    assert result.outcome == inbound.Outcome.QUARANTINED
    assert result.error_code == "inbound.unmatched_bounce"
    assert result.error_reason == (
        "a delivery report on mail SellerDesk did not send (original Message-ID: "
        f"elsewhere@acme.example): {REASON}")
    assert await count(db, Ticket) == 0


async def test_a_bounce_never_reaches_another_stores_message(
    db: AsyncSession, other_store: Store, sent: Message
) -> None:
    theirs = await email_accounts.create_account(db, store_id=other_store.id,
                                                 address="help@other.example")
    channel = await db.get(Channel, theirs.channel_id)
    assert channel is not None
    assert sent.external_id is not None

    result = await inbound.receive(db, channel=channel, body=dsn(f"<{sent.external_id}>"),
                                   content_type="message/rfc822")

    assert result.outcome == inbound.Outcome.QUARANTINED
    await db.refresh(sent)
    assert sent.delivery_status == "sent"


# --- bounces without a delivery status notification (plain-text reports) -------------------


def plain_bounce(name: str, original_id: str) -> bytes:
    return (EML / f"{name}.eml").read_bytes().replace(b"ORIGINAL-MESSAGE-ID",
                                                      original_id.encode())


@pytest.mark.parametrize(("name", "reason", "recipient"), [
    ("bounce_qmail", "550 5.1.1 <jan.kowalski@example.pl>: Recipient address rejected: "
                     "User unknown in local recipient table", "jan.kowalski@example.pl"),
    ("bounce_exim", "552 5.2.2 <minsu.kim@example.kr>: Mailbox full", "minsu.kim@example.kr"),
])
async def test_a_plain_text_bounce_fails_the_sent_message_like_a_dsn(
    db: AsyncSession, mailbox: EmailAccount, sent: Message, name: str, reason: str,
    recipient: str,
) -> None:
    # given a qmail- or Exim-style bounce quoting the headers of a reply we sent
    channel = await db.get(Channel, mailbox.channel_id)
    assert channel is not None
    assert sent.external_id is not None
    tickets_before = await count(db, Ticket)

    result = await inbound.receive(db, channel=channel,
                                   body=plain_bounce(name, f"<{sent.external_id}>"),
                                   content_type="message/rfc822")

    # then the reply is failed with the server's answer, and no ticket is opened
    assert result.outcome == inbound.Outcome.BOUNCE
    assert result.message_id == sent.id
    await db.refresh(sent)
    assert (sent.delivery_status, sent.delivery_error) == ("failed", reason)
    assert await count(db, Ticket) == tickets_before
    (audit,) = (await db.execute(
        select(AuditEvent).where(AuditEvent.action == "message.bounced"))).scalars()
    assert audit.after == {"delivery_status": "failed", "delivery_error": reason,
                           "recipient": recipient}


async def test_a_plain_text_delay_warning_changes_nothing(
    db: AsyncSession, mailbox: EmailAccount, sent: Message
) -> None:
    channel = await db.get(Channel, mailbox.channel_id)
    assert channel is not None
    assert sent.external_id is not None

    result = await inbound.receive(
        db, channel=channel, body=plain_bounce("bounce_exim_delay", f"<{sent.external_id}>"),
        content_type="message/rfc822")

    assert result.outcome == inbound.Outcome.BOUNCE
    await db.refresh(sent)
    assert (sent.delivery_status, sent.delivery_error) == ("sent", None)


async def test_a_plain_text_bounce_of_mail_we_did_not_send_is_quarantined(
    db: AsyncSession, mailbox: EmailAccount
) -> None:
    channel = await db.get(Channel, mailbox.channel_id)
    assert channel is not None

    result = await inbound.receive(
        db, channel=channel, body=plain_bounce("bounce_exim", "<elsewhere@acme.example>"),
        content_type="message/rfc822")

    assert result.outcome == inbound.Outcome.QUARANTINED
    assert result.error_code == "inbound.unmatched_bounce"
    assert result.error_reason == (
        "a delivery report on mail SellerDesk did not send (original Message-ID: "
        "elsewhere@acme.example): 552 5.2.2 <minsu.kim@example.kr>: Mailbox full")
    assert await count(db, Ticket) == 0


async def test_a_customer_writing_about_a_failed_delivery_is_not_a_bounce(
    db: AsyncSession, mailbox: EmailAccount
) -> None:
    # given a customer's mail that reads like a bounce but does not come from a mail system
    channel = await db.get(Channel, mailbox.channel_id)
    assert channel is not None
    raw = (b"From: Jan Kowalski <jan.kowalski@example.pl>\r\nTo: support@acme.example\r\n"
           b"Subject: Undelivered Mail Returned to Sender\r\n"
           b"Message-ID: <customer-1@example.pl>\r\n\r\n"
           b"Your message could not be delivered to one or more of its recipients, says my\r\n"
           b"mail program. 550 5.1.1 User unknown. Please write to my other address.\r\n")

    result = await inbound.receive(db, channel=channel, body=raw,
                                   content_type="message/rfc822")

    assert result.outcome == inbound.Outcome.CREATED
