"""The email adapter through the one inbound path: identities, threading, relay mail,
forwards, auto-replies."""

from __future__ import annotations

import base64
import hashlib

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.channels import inbound
from sellerdesk.channels.email import actions as email_accounts
from sellerdesk.channels.email.adapter import EmailAdapter, reply_subject, reply_warnings
from sellerdesk.channels.email.models import EmailAccount
from sellerdesk.channels.models import Channel, RawPayload
from sellerdesk.customers.models import Customer, CustomerIdentity
from sellerdesk.tickets.models import Attachment, Message, Ticket

SUPPORT = "support@acme.example"


def mail(*, message_id: str | None = "m1@example.pl", sender: str = "Jan Kowalski <jan@example.pl>",
         subject: str = "Pytanie o zamówienie", body: str = "Dzień dobry, gdzie jest paczka?",
         to: str = SUPPORT, headers: str = "", content_type: str = "text/plain; charset=utf-8"
         ) -> bytes:
    mid = f"Message-ID: <{message_id}>\r\n" if message_id else ""
    return (f"{mid}From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: Tue, 24 Nov 2026 08:00:00 +0100\r\n{headers}MIME-Version: 1.0\r\n"
            f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            f"{body}\r\n").encode()


async def channel_of(db: AsyncSession, account: EmailAccount) -> Channel:
    channel = await db.get(Channel, account.channel_id)
    assert channel is not None
    return channel


async def mailbox(db: AsyncSession, store: Store) -> Channel:
    account = await email_accounts.create_account(db, store_id=store.id, address=SUPPORT)
    return await channel_of(db, account)


async def receive(db: AsyncSession, channel: Channel, raw: bytes) -> inbound.IngestResult:
    return await inbound.receive(db, channel=channel, body=raw, content_type="message/rfc822")


async def test_sender_is_the_lowercased_address_with_its_name(
    db: AsyncSession, store: Store
) -> None:
    channel = await mailbox(db, store)

    message = EmailAdapter().parse(
        RawPayload(id=7, body=mail(sender="=?utf-8?q?Jan_Kowalski?= <Jan.Kowalski@Example.PL>",
                                   headers="In-Reply-To: <a@x>\r\nReferences: <r@x> <a@x>\r\n")),
        channel)

    assert message.sender.kind.value == "email"
    assert message.sender.value == "jan.kowalski@example.pl"
    assert message.sender.name == "Jan Kowalski"
    assert message.external_id == "m1@example.pl"
    assert message.hints.references == ("a@x", "r@x")
    assert message.recipients == (SUPPORT,)
    assert message.raw_payload_id == 7
    assert message.auto_submitted is None
    assert message.on_behalf_of is None


async def test_mail_without_message_id_is_deduplicated_by_its_bytes(
    db: AsyncSession, store: Store
) -> None:
    channel = await mailbox(db, store)
    raw = mail(message_id=None)

    first = await receive(db, channel, raw)
    second = await receive(db, channel, raw)

    message = await db.get(Message, first.message_id)
    assert message is not None
    assert message.external_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert (first.outcome, second.outcome) == (inbound.Outcome.CREATED, inbound.Outcome.DUPLICATE)


async def test_subject_token_threads_only_within_the_same_store(
    db: AsyncSession, store: Store, other_store: Store
) -> None:
    channel = await mailbox(db, store)
    theirs = await channel_of(db, await email_accounts.create_account(
        db, store_id=other_store.id, address="help@other.example"))
    ours = await receive(db, channel, mail())
    foreign = await receive(db, theirs, mail(message_id="f1@example.pl"))

    same = await receive(db, channel, mail(message_id="m2@example.pl",
                                           subject=f"Re: Pytanie [#{ours.ticket_id}]"))
    stranger = await receive(db, channel, mail(message_id="m3@example.pl",
                                               subject=f"Re: Pytanie [#{foreign.ticket_id}]"))

    assert same.ticket_id == ours.ticket_id
    assert same.outcome == inbound.Outcome.APPENDED
    assert stranger.outcome == inbound.Outcome.CREATED
    assert stranger.ticket_id not in (ours.ticket_id, foreign.ticket_id)


async def test_auto_submitted_mail_is_ingested_and_marked(
    db: AsyncSession, store: Store
) -> None:
    channel = await mailbox(db, store)
    raw = mail(subject="Automatic reply: Pytanie", headers="Auto-Submitted: auto-replied\r\n")

    message = EmailAdapter().parse(RawPayload(id=1, body=raw), channel)
    result = await receive(db, channel, raw)

    assert message.auto_submitted == "Auto-Submitted: auto-replied"
    assert result.outcome == inbound.Outcome.CREATED
    vacation = EmailAdapter().parse(
        RawPayload(id=2, body=mail(subject="Poza biurem do 30.11")), channel)
    assert vacation.auto_submitted == "subject: looks like an out-of-office reply (Poza biurem)"
    bulk = EmailAdapter().parse(
        RawPayload(id=3, body=mail(headers="Precedence: bulk\r\n")), channel)
    assert bulk.auto_submitted == "Precedence: bulk"


# --- Amazon and eBay relay mail ----------------------------------------------------------------

AMAZON_BUYER = "Jan Kowalski - Marketplace <xyz123abc@marketplace.amazon.de>"


def amazon(order: str, message_id: str, body: str = "Wo bleibt meine Bestellung?") -> bytes:
    return mail(message_id=message_id, sender=AMAZON_BUYER,
                subject=f"Lieferanfrage von Amazon-Kunde Jan Kowalski (Bestellung: {order})",
                body=body)


async def test_amazon_relay_mail_threads_on_alias_and_order(
    db: AsyncSession, store: Store
) -> None:
    channel = await mailbox(db, store)

    first = await receive(db, channel, amazon("302-1234567-1234567", "amz-1@amazon.de"))
    second = await receive(db, channel, amazon("302-1234567-1234567", "amz-2@amazon.de",
                                               "Noch keine Antwort?"))
    other = await receive(db, channel, amazon("302-7654321-7654321", "amz-3@amazon.de"))

    assert second.ticket_id == first.ticket_id
    assert other.ticket_id != first.ticket_id
    ticket = await db.get(Ticket, first.ticket_id)
    assert ticket is not None
    assert ticket.marketplace == "amazon"
    assert ticket.thread_key == "amazon:xyz123abc@marketplace.amazon.de:302-1234567-1234567"
    # One buyer (the alias) with two orders: one customer, two tickets.
    assert await db.scalar(select(func.count()).select_from(Customer)) == 1
    identity = (await db.execute(select(CustomerIdentity))).scalar_one()
    assert (identity.kind, identity.value, identity.display_name) == (
        "email", "xyz123abc@marketplace.amazon.de", "Jan Kowalski")


async def test_an_ebay_member_message_replies_to_the_relay_alias(
    db: AsyncSession, store: Store
) -> None:
    channel = await mailbox(db, store)
    raw = mail(message_id="ebay-1@ebay.com", sender="eBay <ebay@ebay.com>",
               subject="jan_kowalski_77 sent a message about Czajnik, item #123456789012",
               headers="Reply-To: jan_kowalski_77.x8f2k@members.ebay.com\r\n",
               body="Czy czajnik jest jeszcze dostępny?")

    message = EmailAdapter().parse(RawPayload(id=1, body=raw), channel)
    result = await receive(db, channel, raw)

    assert message.sender.value == "jan_kowalski_77.x8f2k@members.ebay.com"
    assert message.sender.name == "jan_kowalski_77"
    assert message.marketplace == "ebay"
    assert message.hints.thread_key == "ebay:user:jan_kowalski_77:123456789012"
    ticket = await db.get(Ticket, result.ticket_id)
    assert ticket is not None
    assert ticket.marketplace == "ebay"


async def test_reply_warnings_apply_the_marketplace_rules(
    db: AsyncSession, store: Store
) -> None:
    channel = await mailbox(db, store)
    result = await receive(db, channel, amazon("302-1234567-1234567", "amz-1@amazon.de"))
    ticket = await db.get(Ticket, result.ticket_id)
    assert ticket is not None
    plain = await receive(db, channel, mail(message_id="plain@example.pl"))
    ordinary = await db.get(Ticket, plain.ticket_id)
    assert ordinary is not None

    fine = await reply_warnings(db, ticket=ticket, text="Ihre Bestellung ist unterwegs.")
    bad = await reply_warnings(db, ticket=ticket,
                               text="Details: https://myshop.example/track 🙂")
    none = await reply_warnings(db, ticket=ordinary, text="See https://myshop.example 🙂")

    assert fine == []
    assert [v.code.value for v in bad] == ["external_link", "emoji"]
    assert none == []


# --- forwarded mail ----------------------------------------------------------------------------

FORWARD_INLINE = """Klient pisał na mój adres, przekazuję.

---------- Forwarded message ---------
From: Ewa Nowak <Ewa.Nowak@Example.pl>
Date: Mon, Nov 23, 2026 at 9:12 AM
Subject: Uszkodzona paczka
To: Anna <anna@acme.example>

Dzień dobry, paczka przyszła uszkodzona.
"""

FORWARD_OUTLOOK_KO = """고객 문의 전달합니다.

________________________________
보낸 사람: 김민지 <minji@example.kr>
보낸 날짜: 2026년 11월 23일 월요일 오후 6:30
받는 사람: Anna
제목: 배송 문의

배송이 늦어지고 있습니다.
"""


async def agent(db: AsyncSession, store: Store, email: str = "anna@acme.example") -> None:
    await accounts.create_agent(db, store_id=store.id, email=email, name="Anna",
                                role=Role.AGENT)


async def test_a_forward_from_an_agent_opens_a_ticket_for_the_original_sender(
    db: AsyncSession, store: Store
) -> None:
    channel = await mailbox(db, store)
    await agent(db, store)

    result = await receive(db, channel, mail(
        message_id="fwd-1@acme.example", sender="Anna <Anna@Acme.example>",
        subject="Fwd: Uszkodzona paczka", body=FORWARD_INLINE))

    ticket = await db.get(Ticket, result.ticket_id)
    assert ticket is not None
    customer = await db.get(Customer, ticket.customer_id)
    assert customer is not None
    assert (customer.email, customer.name) == ("ewa.nowak@example.pl", "Ewa Nowak")
    message = await db.get(Message, result.message_id)
    assert message is not None
    assert message.author_name == "Ewa Nowak"
    assert "paczka przyszła uszkodzona" in message.text


async def test_an_outlook_forward_in_korean_from_an_agent_names_the_customer(
    db: AsyncSession, store: Store
) -> None:
    channel = await mailbox(db, store)
    await agent(db, store)

    result = await receive(db, channel, mail(
        message_id="fwd-2@acme.example", sender="anna@acme.example",
        subject="FW: 배송 문의", body=FORWARD_OUTLOOK_KO))

    ticket = await db.get(Ticket, result.ticket_id)
    assert ticket is not None
    customer = await db.get(Customer, ticket.customer_id)
    assert customer is not None
    assert (customer.email, customer.name) == ("minji@example.kr", "김민지")


async def test_a_forward_as_attachment_from_an_agent_threads_with_the_original(
    db: AsyncSession, store: Store
) -> None:
    channel = await mailbox(db, store)
    await agent(db, store)
    original = mail(message_id="orig-1@example.pl", sender="Ewa Nowak <ewa@example.pl>",
                    subject="Uszkodzona paczka", body="Paczka przyszła uszkodzona.")
    first = await receive(db, channel, original)
    wrapper = (
        "Message-ID: <fwd-3@acme.example>\r\nFrom: Anna <anna@acme.example>\r\n"
        f"To: {SUPPORT}\r\nSubject: Fw: Uszkodzona paczka\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nZobaczcie proszę.\r\n"
        "--b\r\nContent-Type: message/rfc822\r\n\r\n"
    ).encode() + original + b"\r\n--b--\r\n"

    result = await receive(db, channel, wrapper)

    assert result.ticket_id == first.ticket_id
    message = await db.get(Message, result.message_id)
    assert message is not None
    assert message.author_name == "Ewa Nowak"


async def test_a_forward_from_a_customer_stays_the_customers(
    db: AsyncSession, store: Store
) -> None:
    channel = await mailbox(db, store)
    await agent(db, store)

    result = await receive(db, channel, mail(
        message_id="fwd-4@example.com", sender="Piotr <piotr@example.com>",
        subject="Fwd: Uszkodzona paczka", body=FORWARD_INLINE))

    ticket = await db.get(Ticket, result.ticket_id)
    assert ticket is not None
    customer = await db.get(Customer, ticket.customer_id)
    assert customer is not None
    assert customer.email == "piotr@example.com"


async def test_an_outlook_reply_from_an_agent_is_not_taken_for_a_forward(
    db: AsyncSession, store: Store
) -> None:
    channel = await mailbox(db, store)

    message = EmailAdapter().parse(RawPayload(id=1, body=mail(
        sender="anna@acme.example", subject="RE: 배송 문의", body=FORWARD_OUTLOOK_KO)), channel)

    assert message.on_behalf_of is None


# --- the subject of our replies ----------------------------------------------------------------

def test_reply_subject_carries_one_token_and_one_prefix() -> None:
    assert reply_subject("Cracked kettle lid", 42, with_token=True) == (
        "Re: Cracked kettle lid [#42]")
    assert reply_subject("RE: Odp: Fwd: Zwrot [#7]", 42, with_token=True) == "Re: Zwrot [#42]"
    assert reply_subject("회신: 배송 문의", 3, with_token=True) == "Re: 배송 문의 [#3]"
    assert reply_subject("", 3, with_token=True) == "Re: (no subject) [#3]"


def test_relay_reply_subject_keeps_the_marketplace_subject_and_adds_no_token() -> None:
    subject = "Lieferanfrage von Amazon-Kunde Jan (Bestellung: 302-1234567-1234567)"

    assert reply_subject(subject, 42, with_token=False) == f"Re: {subject}"
    assert reply_subject(f"RE: {subject}", 42, with_token=False) == f"RE: {subject}"


# --- priority from mail headers ----------------------------------------------------------------

async def test_x_priority_1_opens_an_urgent_ticket(db: AsyncSession, store: Store) -> None:
    channel = await mailbox(db, store)
    raw = mail(headers="X-Priority: 1 (Highest)\r\n")

    message = EmailAdapter().parse(RawPayload(id=1, body=raw), channel)
    result = await receive(db, channel, raw)

    assert message.priority == "urgent"
    ticket = await db.get(Ticket, result.ticket_id)
    assert ticket is not None
    assert ticket.priority == "urgent"


async def test_importance_high_opens_a_high_ticket(db: AsyncSession, store: Store) -> None:
    channel = await mailbox(db, store)

    result = await receive(db, channel, mail(headers="importance: HIGH\r\n"))

    ticket = await db.get(Ticket, result.ticket_id)
    assert ticket is not None
    assert ticket.priority == "high"


async def test_mail_without_priority_headers_opens_a_normal_ticket(
    db: AsyncSession, store: Store
) -> None:
    channel = await mailbox(db, store)

    result = await receive(db, channel, mail())

    ticket = await db.get(Ticket, result.ticket_id)
    assert ticket is not None
    assert ticket.priority == "normal"


async def test_a_later_message_never_changes_the_tickets_priority(
    db: AsyncSession, store: Store
) -> None:
    # given an urgent ticket and a normal one
    channel = await mailbox(db, store)
    urgent = await receive(db, channel, mail(message_id="u1@example.pl",
                                             headers="X-Priority: 1\r\n"))
    normal = await receive(db, channel, mail(message_id="n1@example.pl"))

    # when the customer replies to the first with low priority and to the second with urgent
    low_reply = await receive(db, channel, mail(
        message_id="u2@example.pl", headers="In-Reply-To: <u1@example.pl>\r\nX-Priority: 5\r\n"))
    urgent_reply = await receive(db, channel, mail(
        message_id="n2@example.pl", headers="In-Reply-To: <n1@example.pl>\r\nX-Priority: 1\r\n"))

    # then both replies thread, and neither ticket's priority moves
    assert (low_reply.ticket_id, urgent_reply.ticket_id) == (urgent.ticket_id, normal.ticket_id)
    rows = await db.execute(select(Ticket.id, Ticket.priority).order_by(Ticket.id))
    assert list(rows) == [(urgent.ticket_id, "urgent"), (normal.ticket_id, "normal")]


# --- inline images and reply stripping ---------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def mail_with_inline_image() -> bytes:
    """multipart/mixed: (related: HTML naming cid:logo@acme + the PNG) and a PDF attachment."""
    png = base64.b64encode(PNG).decode()
    pdf = base64.b64encode(PDF).decode()
    return (
        "Message-ID: <img1@example.pl>\r\nFrom: Ewa Nowak <ewa@example.pl>\r\n"
        f"To: {SUPPORT}\r\nSubject: Uszkodzony czajnik\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
        '--outer\r\nContent-Type: multipart/related; boundary="rel"\r\n\r\n'
        "--rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        '<p>Pokrywka pęknięta:</p><img src="cid:Photo.1@Example.PL" alt="zdjęcie">\r\n'
        "--rel\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
        "Content-ID: <photo.1@example.pl>\r\n"
        'Content-Disposition: inline; filename="pokrywka.png"\r\n\r\n'
        f"{png}\r\n--rel--\r\n"
        "--outer\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        'Content-Disposition: attachment; filename="faktura.pdf"\r\n\r\n'
        f"{pdf}\r\n--outer--\r\n"
    ).encode()


async def test_an_inline_image_is_stored_with_its_content_id(
    db: AsyncSession, store: Store
) -> None:
    channel = await mailbox(db, store)

    result = await receive(db, channel, mail_with_inline_image())

    rows = await db.execute(
        select(Attachment.filename, Attachment.content_type, Attachment.content_id,
               Attachment.inline, Attachment.size)
        .where(Attachment.message_id == result.message_id).order_by(Attachment.id))
    assert list(rows) == [
        ("pokrywka.png", "image/png", "photo.1@example.pl", True, len(PNG)),
        ("faktura.pdf", "application/pdf", None, False, len(PDF)),
    ]
    message = await db.get(Message, result.message_id)
    assert message is not None
    # The stored HTML keeps the link as the mail wrote it; readers rewrite it.
    assert message.html == ('<p>Pokrywka pęknięta:</p>'
                            '<img src="cid:Photo.1@Example.PL" alt="zdjęcie">')


REPLY_PL = (
    "Dziękuję, paczka doszła.\r\n\r\nJan Kowalski\r\ntel. 600 100 200\r\n\r\n"
    "W dniu wt., 24 lis 2026 o 08:00 Acme Shop <support@acme.example> napisał(a):\r\n"
    "> Paczka wyjdzie jutro.\r\n> Pozdrawiamy\r\n"
)


async def test_a_reply_keeps_its_full_text_and_stores_the_new_part_for_display(
    db: AsyncSession, store: Store
) -> None:
    channel = await mailbox(db, store)

    result = await receive(db, channel, mail(subject="Odp: Zwrot", body=REPLY_PL))

    message = await db.get(Message, result.message_id)
    assert message is not None
    assert message.display_text == "Dziękuję, paczka doszła."
    assert message.text == REPLY_PL.replace("\r\n", "\n").strip()


async def test_a_message_with_nothing_to_strip_has_no_display_text(
    db: AsyncSession, store: Store
) -> None:
    channel = await mailbox(db, store)

    parsed = EmailAdapter().parse(RawPayload(id=1, body=mail()), channel)
    result = await receive(db, channel, mail())

    assert parsed.display_text is None
    message = await db.get(Message, result.message_id)
    assert message is not None
    assert (message.text, message.display_text) == ("Dzień dobry, gdzie jest paczka?", None)
