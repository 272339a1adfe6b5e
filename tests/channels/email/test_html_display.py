"""HTML mail is shown without its quoted history: the quote the sender's client marked in the
HTML is cut from the stored display text, and the full original stays stored."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.channels import inbound
from sellerdesk.channels.email import actions as email_accounts
from sellerdesk.channels.email.quotes import strip_reply
from sellerdesk.channels.models import Channel
from sellerdesk.tickets.models import Message

GMAIL_PL = (
    '<div dir="ltr">Dzień dobry,<div>paczka nadal nie dotarła, proszę o numer przesyłki.</div>'
    '</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">W dniu pon., '
    '3 lis 2025 o 10:12 Acme Support &lt;support@acme.example&gt; napisał(a):<br></div>'
    '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid '
    'rgb(204,204,204);padding-left:1ex">Dzień dobry, paczka została wysłana 2 listopada.<br>'
    'Pozdrawiamy, Acme</blockquote></div>'
)
OUTLOOK_KO = (
    '<html><head><meta charset="utf-8"><style>p {margin:0}</style></head><body>'
    '<div>안녕하세요, 환불은 언제 처리되나요?</div><div id="appendonsend"></div>'
    '<hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" '
    'dir="ltr"><font face="Calibri, sans-serif"><b>보낸 사람:</b> Acme Support '
    '&lt;support@acme.example&gt;<br><b>보낸 날짜:</b> 2025년 11월 3일 월요일 오후 3:12<br>'
    '<b>받는 사람:</b> 김민수 &lt;minsu@example.kr&gt;<br><b>제목:</b> Re: 환불 문의</font>'
    '<div>&nbsp;</div></div><div>환불 요청이 접수되었습니다. 3일 이내에 처리됩니다.</div>'
    '</body></html>'
)
APPLE_EN = (
    '<html><body dir="auto">Thanks, the new lid fits perfectly.<br><br>'
    '<blockquote type="cite"><div>We have sent you a new lid today, tracking number '
    '954185183303.</div><div>Acme Support</div></blockquote></body></html>'
)
GMAIL_EN_TEXT = (
    "Could you send the invoice again?\n\n"
    "On Mon, 3 Nov 2025 at 10:12, Acme Support <support@acme.example> wrote:\n"
    "> Your invoice is attached.\n> Acme Support\n"
)
GMAIL_EN_HTML = (
    '<div dir="ltr">Could you send the invoice again?</div><br><div class="gmail_quote">'
    '<div dir="ltr" class="gmail_attr">On Mon, 3 Nov 2025 at 10:12, Acme Support &lt;'
    'support@acme.example&gt; wrote:<br></div><blockquote class="gmail_quote">Your invoice is '
    'attached.<br>Acme Support</blockquote></div>'
)


def html_mail(n: int, html: str, *, text: str | None = None,
              sender: str = "Minsu Kim <minsu@example.kr>") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@acme.example"
    msg["Subject"] = "Re: Zamówienie"
    msg["Message-ID"] = f"<html{n}@example.kr>"
    if text is None:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


@pytest.fixture
async def channel(db: AsyncSession, store: Store) -> Channel:
    account = await email_accounts.create_account(db, store_id=store.id,
                                                  address="support@acme.example")
    found = await db.get(Channel, account.channel_id)
    assert found is not None
    return found


async def stored(db: AsyncSession, channel: Channel, raw: bytes) -> Message:
    result = await inbound.receive(db, channel=channel, body=raw, content_type="message/rfc822")
    assert result.outcome is inbound.Outcome.CREATED, result
    message = await db.get(Message, result.message_id)
    assert message is not None
    return message


@pytest.mark.parametrize(("html", "shown", "quoted"), [
    (GMAIL_PL, "Dzień dobry,\npaczka nadal nie dotarła, proszę o numer przesyłki.",
     "paczka została wysłana 2 listopada"),
    (OUTLOOK_KO, "안녕하세요, 환불은 언제 처리되나요?", "환불 요청이 접수되었습니다"),
    (APPLE_EN, "Thanks, the new lid fits perfectly.", "tracking number 954185183303"),
], ids=["gmail-pl", "outlook-ko", "apple-mail-en"])
async def test_html_only_mail_is_displayed_without_its_quoted_history(
    db: AsyncSession, channel: Channel, html: str, shown: str, quoted: str
) -> None:
    message = await stored(db, channel, html_mail(1, html))

    assert message.display_text == shown
    # the full original stays: in the text and in the (sanitized) HTML
    assert quoted in message.text
    assert message.html is not None
    assert quoted in message.html


async def test_a_quote_marked_only_in_the_html_is_cut_from_the_display(
    db: AsyncSession, channel: Channel
) -> None:
    # given Apple Mail's reply: no "On ... wrote:" line, so its text shows no quote at all;
    # only <blockquote type="cite"> in the HTML marks it
    message = await stored(db, channel, html_mail(2, APPLE_EN))

    assert message.text == ("Thanks, the new lid fits perfectly.\n\nWe have sent you a new lid "
                            "today, tracking number 954185183303.\n\nAcme Support")
    assert strip_reply(message.text) == message.text
    assert message.display_text == "Thanks, the new lid fits perfectly."


async def test_mail_with_a_text_part_keeps_the_text_part_s_stripping(
    db: AsyncSession, channel: Channel
) -> None:
    message = await stored(db, channel, html_mail(3, GMAIL_EN_HTML, text=GMAIL_EN_TEXT,
                                                  sender="Tom <tom@example.com>"))

    assert message.display_text == "Could you send the invoice again?"
    assert message.text.startswith(GMAIL_EN_TEXT.rstrip("\n").split("\n")[0])


async def test_html_mail_without_a_quote_has_no_separate_display_text(
    db: AsyncSession, channel: Channel
) -> None:
    message = await stored(db, channel, html_mail(
        4, "<div>Dzień dobry, proszę o fakturę VAT do zamówienia 1042.</div>"))

    assert message.display_text is None
