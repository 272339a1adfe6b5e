"""The SMTP listener, driven over a real socket by an SMTP client, into the one inbound path."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiosmtplib
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.channels import inbound
from sellerdesk.channels.email import actions as email_accounts
from sellerdesk.channels.email.models import EmailAccount
from sellerdesk.channels.email.smtp_in import SmtpListener, start_listener
from sellerdesk.channels.models import RawPayload
from sellerdesk.core import context
from sellerdesk.core.errors import ConfigError
from sellerdesk.customers.models import CustomerIdentity
from sellerdesk.tickets.models import Attachment, Message, Ticket
from tests.channels.email.servers import (  # noqa: F401 (fixture)
    send_raw,
    shared_session,
    smtp_listener,
)

EML = Path(__file__).parent / "eml"
SUPPORT = "support@acme.example"


def eml(name: str) -> bytes:
    return (EML / name).read_bytes()


@pytest.fixture
async def mailbox(db: AsyncSession, store: Store) -> EmailAccount:
    return await email_accounts.create_account(db, store_id=store.id, address=SUPPORT,
                                               display_name="Acme Support")


async def count(db: AsyncSession, model: type) -> int:
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def ticket_of(db: AsyncSession, external_id: str) -> Ticket:
    message = (await db.execute(
        select(Message).where(Message.external_id == external_id))).scalar_one()
    ticket = await db.get(Ticket, message.ticket_id)
    assert ticket is not None
    await db.refresh(ticket)
    return ticket


def simple_mail(*, message_id: str, sender: str = "jan@example.pl", subject: str = "Pytanie",
                body: str = "Dzień dobry, mam pytanie.", extra: str = "",
                to: str = SUPPORT) -> bytes:
    return (f"Message-ID: <{message_id}>\r\nFrom: Jan <{sender}>\r\nTo: {to}\r\n"
            f"Subject: {subject}\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n{extra}"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n").encode()


async def test_korean_mail_from_outlook_opens_a_ticket_without_mojibake(
    db: AsyncSession, mailbox: EmailAccount, smtp_listener: SmtpListener  # noqa: F811
) -> None:
    code, text = await send_raw(smtp_listener, eml("korean.eml"),
                                sender="minji.kim@example.kr", to=SUPPORT)

    assert (code, text) == (250, "2.0.0 Message accepted for delivery")
    ticket = await ticket_of(db, "20261123093012.4F2A@mail.example.kr")
    assert ticket.subject == "배송 문의 - 환불 요청"
    assert (ticket.channel_id, ticket.channel_type, ticket.status) == (
        mailbox.channel_id, "email", "new")
    message = (await db.execute(select(Message).where(Message.ticket_id == ticket.id))).scalar_one()
    assert "똠얌꿍 소스 2병" in message.text
    assert "환불을 요청합니다." in message.text
    assert message.author_name == "김민지"
    assert message.sent_at == datetime(2026, 11, 23, 9, 30, 12, tzinfo=UTC)
    identity = (await db.execute(select(CustomerIdentity))).scalar_one()
    assert (identity.kind, identity.value, identity.customer_id) == (
        "email", "minji.kim@example.kr", ticket.customer_id)
    raw = await db.get(RawPayload, message.raw_payload_id)
    assert raw is not None
    assert raw.status == "processed"
    assert raw.content_type == "message/rfc822"
    assert raw.body == (b"Return-Path: <minji.kim@example.kr>\r\nDelivered-To: "
                        b"support@acme.example\r\n" + eml("korean.eml"))


async def test_polish_mail_keeps_diacritics_and_backslashes(
    db: AsyncSession, mailbox: EmailAccount, smtp_listener: SmtpListener  # noqa: F811
) -> None:
    code, _ = await send_raw(smtp_listener, eml("polish.eml"), sender="ewa.nowak@example.pl",
                             to=SUPPORT)

    assert code == 250
    ticket = await ticket_of(db, "CAF3x9Q=pl.8812@mail.gmail.com")
    assert ticket.subject == "Zwrot zamówienia - uszkodzona paczka"
    message = (await db.execute(select(Message).where(Message.ticket_id == ticket.id))).scalar_one()
    assert "proszę o zwrot pieniędzy za uszkodzoną paczkę (zamówienie 4471)." in message.text
    assert "C:\\Users\\Ewa\\Nowy folder." in message.text
    assert message.author_name == "Ewa Nowak"


async def test_english_html_mail_keeps_html_and_attachment(
    db: AsyncSession, mailbox: EmailAccount, smtp_listener: SmtpListener  # noqa: F811
) -> None:
    code, _ = await send_raw(smtp_listener, eml("english.eml"),
                             sender="john.smith@example.com", to=SUPPORT)

    assert code == 250
    ticket = await ticket_of(db, "a1b2c3.kettle@example.com")
    assert ticket.subject == "Cracked kettle lid"
    message = (await db.execute(select(Message).where(Message.ticket_id == ticket.id))).scalar_one()
    assert message.text.startswith("Hello,\n\nThe blue kettle I ordered arrived with a cracked")
    assert message.html is not None
    assert "<b>blue kettle</b>" in message.html
    (attachment,) = (await db.execute(
        select(Attachment).where(Attachment.message_id == message.id))).scalars()
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "lid.png", "image/png", 70)


async def test_a_reply_carrying_only_references_threads_onto_the_first_ticket(
    db: AsyncSession, mailbox: EmailAccount, smtp_listener: SmtpListener  # noqa: F811
) -> None:
    await send_raw(smtp_listener, eml("polish.eml"), sender="ewa.nowak@example.pl", to=SUPPORT)
    first = await ticket_of(db, "CAF3x9Q=pl.8812@mail.gmail.com")
    reply = simple_mail(
        message_id="reply-2@mail.gmail.com", sender="ewa.nowak@example.pl",
        subject="Paczka nadal nie dotarła", body="Czy są jakieś wieści?",
        extra="References: <CAF3x9Q=pl.8812@mail.gmail.com>\r\n",
    )

    code, _ = await send_raw(smtp_listener, reply, sender="ewa.nowak@example.pl", to=SUPPORT)

    assert code == 250
    second = await ticket_of(db, "reply-2@mail.gmail.com")
    assert second.id == first.id
    assert second.message_count == 2
    assert await count(db, Ticket) == 1


async def test_plus_address_token_threads_onto_that_ticket(
    db: AsyncSession, mailbox: EmailAccount, smtp_listener: SmtpListener  # noqa: F811
) -> None:
    await send_raw(smtp_listener, eml("english.eml"), sender="john.smith@example.com",
                   to=SUPPORT)
    first = await ticket_of(db, "a1b2c3.kettle@example.com")
    follow_up = simple_mail(message_id="fu-1@example.com", sender="john.smith@example.com",
                            subject="One more photo", body="Another angle.",
                            to=f"support+t{first.id}@acme.example")

    code, _ = await send_raw(smtp_listener, follow_up, sender="john.smith@example.com",
                             to=f"support+t{first.id}@acme.example")

    assert code == 250
    assert (await ticket_of(db, "fu-1@example.com")).id == first.id


async def test_unknown_recipient_gets_550_and_nothing_is_stored(
    db: AsyncSession, mailbox: EmailAccount, smtp_listener: SmtpListener  # noqa: F811
) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as err:
        await send_raw(smtp_listener, simple_mail(message_id="x@example.pl"),
                       sender="jan@example.pl", to="sales@acme.example")

    (refused,) = err.value.recipients
    assert refused.code == 550
    assert refused.message == (
        "5.1.1 <sales@acme.example>: no SellerDesk mailbox has this address")
    assert await count(db, RawPayload) == 0


async def test_an_inactive_mailbox_is_an_unknown_recipient(
    db: AsyncSession, mailbox: EmailAccount, smtp_listener: SmtpListener  # noqa: F811
) -> None:
    await email_accounts.update_account(db, account=mailbox, changes={"is_active": False})

    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as err:
        await send_raw(smtp_listener, simple_mail(message_id="x@example.pl"),
                       sender="jan@example.pl", to=SUPPORT)

    assert err.value.recipients[0].code == 550
    assert await count(db, RawPayload) == 0


async def test_oversize_mail_gets_552_and_nothing_is_stored(
    db: AsyncSession, mailbox: EmailAccount, smtp_listener: SmtpListener  # noqa: F811
) -> None:
    big = simple_mail(message_id="big@example.pl", body="zażółć gęślą jaźń\r\n" * 5000)
    assert len(big) > 64 * 1024

    with pytest.raises(aiosmtplib.SMTPResponseException) as err:
        await send_raw(smtp_listener, big, sender="jan@example.pl", to=SUPPORT)

    assert err.value.code == 552
    assert await count(db, RawPayload) == 0


async def test_oversize_mail_without_a_size_announcement_gets_552_after_data(
    db: AsyncSession, mailbox: EmailAccount, smtp_listener: SmtpListener  # noqa: F811
) -> None:
    big = simple_mail(message_id="big@example.pl", body="x" * 70 * 1024 + "\r\n" + "y" * 100)
    async with aiosmtplib.SMTP(hostname=smtp_listener.host, port=smtp_listener.port) as client:
        # HELO (not EHLO): the client cannot announce the size, so the server sees it in DATA.
        await client.helo()
        await client.mail("jan@example.pl")
        await client.rcpt(SUPPORT)
        with pytest.raises(aiosmtplib.SMTPDataError) as err:
            await client.data(big)

    assert err.value.code == 552
    assert await count(db, RawPayload) == 0


async def test_a_very_long_line_is_accepted_as_sent(
    db: AsyncSession, mailbox: EmailAccount, smtp_listener: SmtpListener  # noqa: F811
) -> None:
    html = "<p>" + "Zamówienie dotarło uszkodzone. " * 1000 + "</p>"
    mail = simple_mail(message_id="long@example.pl", body=html).replace(
        b"text/plain", b"text/html")

    code, _ = await send_raw(smtp_listener, mail, sender="jan@example.pl", to=SUPPORT)

    assert code == 250
    message = (await db.execute(select(Message))).scalar_one()
    assert message.text.count("Zamówienie dotarło uszkodzone.") == 1000


async def test_a_flooding_sender_gets_451_after_the_limit_others_still_get_through(
    db: AsyncSession, mailbox: EmailAccount, smtp_listener: SmtpListener  # noqa: F811
) -> None:
    for i in range(5):
        code, _ = await send_raw(smtp_listener, simple_mail(message_id=f"auto-{i}@bot.example"),
                                 sender="Auto@Bot.example", to=SUPPORT)
        assert code == 250

    with pytest.raises(aiosmtplib.SMTPSenderRefused) as err:
        await send_raw(smtp_listener, simple_mail(message_id="auto-5@bot.example"),
                       sender="auto@bot.example", to=SUPPORT)
    other, _ = await send_raw(smtp_listener, simple_mail(message_id="ok@example.pl"),
                              sender="jan@example.pl", to=SUPPORT)

    assert err.value.code == 451
    assert err.value.message == (
        "4.7.1 Too many messages from this sender, please try again later")
    assert other == 250
    assert await count(db, RawPayload) == 6


async def test_a_broken_mail_is_quarantined_and_still_accepted(
    db: AsyncSession, mailbox: EmailAccount, smtp_listener: SmtpListener  # noqa: F811
) -> None:
    broken = b"Subject: no sender at all\r\nTo: support@acme.example\r\n\r\nwho am I?\r\n"

    code, _ = await send_raw(smtp_listener, broken, sender="jan@example.pl", to=SUPPORT)

    assert code == 250
    raw = (await db.execute(select(RawPayload))).scalar_one()
    assert raw.status == "quarantined"
    assert raw.error_code == "email.no_from"
    assert raw.body.endswith(broken)
    assert await count(db, Ticket) == 0


async def test_a_crash_while_storing_answers_451_and_the_listener_lives_on(
    db: AsyncSession, mailbox: EmailAccount, smtp_listener: SmtpListener,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def crash(*args: object, **kwargs: object) -> inbound.IngestResult:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(inbound, "receive", crash)
    with pytest.raises(aiosmtplib.SMTPDataError) as err:
        await send_raw(smtp_listener, simple_mail(message_id="m1@example.pl"),
                       sender="jan@example.pl", to=SUPPORT)
    monkeypatch.undo()

    code, _ = await send_raw(smtp_listener, simple_mail(message_id="m1@example.pl"),
                             sender="jan@example.pl", to=SUPPORT)

    assert err.value.code == 451
    assert err.value.message == "4.3.0 Temporary local problem, please try again later"
    assert code == 250
    assert await count(db, Message) == 1


async def test_a_database_outage_answers_451_not_550(
    db: AsyncSession, mailbox: EmailAccount
) -> None:
    @asynccontextmanager
    async def down() -> AsyncIterator[AsyncSession]:
        raise ConnectionRefusedError("database is down")
        yield db  # pragma: no cover

    listener = await start_listener(context.get().settings, sessions=down, host="127.0.0.1",
                                    port=0)
    try:
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as err:
            await send_raw(listener, simple_mail(message_id="m@example.pl"),
                           sender="jan@example.pl", to=SUPPORT)
    finally:
        await listener.stop()

    assert err.value.recipients[0].code == 451


async def test_one_mail_to_two_addresses_of_one_mailbox_is_stored_once(
    db: AsyncSession, mailbox: EmailAccount, smtp_listener: SmtpListener  # noqa: F811
) -> None:
    code, _ = await send_raw(smtp_listener, simple_mail(message_id="both@example.pl"),
                             sender="jan@example.pl",
                             to=[SUPPORT, "Support+T9@Acme.Example"])

    assert code == 250
    assert await count(db, RawPayload) == 1
    assert await count(db, Message) == 1


async def test_the_same_mail_sent_again_is_a_duplicate(
    db: AsyncSession, mailbox: EmailAccount, smtp_listener: SmtpListener  # noqa: F811
) -> None:
    mail = simple_mail(message_id="again@example.pl")
    await send_raw(smtp_listener, mail, sender="jan@example.pl", to=SUPPORT)

    code, _ = await send_raw(smtp_listener, mail, sender="jan@example.pl", to=SUPPORT)

    assert code == 250
    statuses = list((await db.execute(
        select(RawPayload.status).order_by(RawPayload.id))).scalars())
    assert statuses == ["processed", "duplicate"]
    assert await count(db, Message) == 1


async def test_mail_for_two_stores_goes_to_each_stores_channel(
    db: AsyncSession, mailbox: EmailAccount, other_store: Store,
    smtp_listener: SmtpListener,  # noqa: F811
) -> None:
    theirs = await email_accounts.create_account(db, store_id=other_store.id,
                                                 address="help@other.example")

    code, _ = await send_raw(smtp_listener, simple_mail(message_id="two@example.pl"),
                             sender="jan@example.pl", to=[SUPPORT, "help@other.example"])

    assert code == 250
    rows = list((await db.execute(
        select(Ticket.store_id, Ticket.channel_id).order_by(Ticket.store_id))).all())
    assert [tuple(r) for r in rows] == [(mailbox.store_id, mailbox.channel_id),
                                        (other_store.id, theirs.channel_id)]


async def test_a_port_in_use_stops_start_up_naming_the_setting(db: AsyncSession) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = context.get().settings.model_copy(update={"smtp_listen_port": port})

        with pytest.raises(ConfigError) as err:
            await start_listener(settings, sessions=shared_session(db))

    assert str(err.value).startswith(
        f"setting 'smtp_listen_port': cannot listen on 127.0.0.1:{port}:")
