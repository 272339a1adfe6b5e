"""The email channel's adapter: raw MIME in as an InboundMessage, replies out over SMTP."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from email.utils import parseaddr

from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels.base import (
    Bounce,
    DeliveryError,
    DeliveryResult,
    IdentityKind,
    InboundAttachment,
    InboundMessage,
    OutboundDelivery,
    ParseError,
    SenderIdentity,
    ThreadHints,
)
from sellerdesk.channels.email import oauth, relay, threading
from sellerdesk.channels.email.bounces import plain_bounce
from sellerdesk.channels.email.loops import auto_reply_reason
from sellerdesk.channels.email.mime import DeliveryReport, ParsedEmail, parse_email
from sellerdesk.channels.email.models import EmailAccount
from sellerdesk.channels.email.queries import account_for_channel
from sellerdesk.channels.email.quotes import strip_reply
from sellerdesk.channels.email.smtp_out import (
    SmtpServer,
    build_message,
    new_message_id,
    send_message,
)
from sellerdesk.channels.models import Channel, RawPayload
from sellerdesk.core import context
from sellerdesk.core.crypto import SecretError, unseal
from sellerdesk.core.html import html_to_text
from sellerdesk.tickets.models import Ticket

# Message ids are stored as external ids (String(512)); a longer one is kept as its hash.
_MAX_ID = 500


class EmailAdapter:
    type = "email"

    def parse(self, raw: RawPayload, channel: Channel) -> InboundMessage:
        settings = context.get().settings
        mail = parse_email(raw.body, max_attachment_bytes=settings.max_attachment_bytes)
        report = mail.dsn if mail.is_dsn else plain_bounce(mail)
        if report is not None:
            raise _bounce(report)
        info = relay.detect_marketplace(mail.from_address, mail.to, mail.subject, mail.text)
        sender = _sender(mail, info)
        original = _forwarded_original(mail, settings.max_attachment_bytes)
        references = tuple(dict.fromkeys(_external_id(i) for i in (
            *mail.in_reply_to, *mail.references, *(original[1] if original else ()))))
        return InboundMessage(
            store_id=channel.store_id,
            channel_id=channel.id,
            channel_type=self.type,
            external_id=_external_id(mail.message_id) if mail.message_id
            else "sha256:" + hashlib.sha256(raw.body).hexdigest(),
            sender=sender,
            subject=mail.subject,
            text=mail.text,
            html=mail.html,
            recipients=(*mail.to, *mail.cc),
            attachments=[InboundAttachment(a.filename, a.content_type, a.data,
                                           content_id=a.content_id, inline=a.inline)
                         for a in mail.attachments],
            hints=ThreadHints(
                references=references,
                ticket_id=_ticket_token(mail),
                thread_key=info.thread_key if info is not None else None,
                order_id=info.order_id if info is not None else None,
            ),
            sent_at=mail.date,
            marketplace=(info.marketplace if info is not None else None) or channel.marketplace,
            raw_payload_id=raw.id,
            auto_submitted=auto_reply_reason({**mail.headers, "subject": mail.subject},
                                             mail.from_address),
            on_behalf_of=original[0] if original else None,
            priority=mail.priority,
            display_text=_display_text(mail),
        )

    async def send(self, db: AsyncSession, delivery: OutboundDelivery) -> DeliveryResult:
        return await _send(db, delivery)


async def _send(db: AsyncSession, delivery: OutboundDelivery) -> DeliveryResult:
    account = await account_for_channel(db, channel_id=delivery.channel.id)
    if account is None or not account.smtp_host:
        raise DeliveryError("the email channel has no active account with an SMTP server",
                            retryable=False)
    recipient = delivery.recipient
    if recipient is None or recipient.kind is not IdentityKind.EMAIL:
        raise DeliveryError("the customer has no email address to reply to", retryable=False)
    server = await smtp_server(db, account)
    domain = account.address.rpartition("@")[2]
    message_id = new_message_id(delivery.message_id, delivery.idempotency_key, domain)
    rules = _relay_rules(recipient.value)
    try:
        message = build_message(
            from_address=account.address, from_name=account.display_name,
            to_address=recipient.value, to_name=recipient.name,
            subject=reply_subject(delivery.subject, delivery.ticket_id,
                                  with_token=rules is None),
            message_id=message_id, text=delivery.text, html_body=delivery.html,
            attachments=delivery.attachments, references=delivery.references,
            plain_only=rules is not None and rules.plain_text_only,
        )
    except ValueError as exc:  # an address or header the email package cannot write
        raise DeliveryError(f"the reply cannot be written as mail: {exc}",
                            retryable=False) from exc
    await send_message(message, server, sender=account.address, recipients=[recipient.value])
    return DeliveryResult(external_id=message_id.strip("<>"))


def _sender(mail: ParsedEmail, info: relay.RelayInfo | None) -> SenderIdentity:
    """The From address; for a buyer's relay mail sent from the platform's own address, the
    relay alias in Reply-To instead, since replies must go there to reach the buyer."""
    name = (info.buyer_name if info is not None and info.is_buyer_message else None)
    address = mail.from_address
    if info is not None and info.is_buyer_message and info.buyer_alias is None:
        for _, reply_to in mail.reply_to:
            alias = relay.detect_marketplace(reply_to, (), "", "")
            if alias is not None and alias.buyer_alias is not None:
                address = reply_to
                break
    return SenderIdentity(IdentityKind.EMAIL, address.lower(), name or mail.from_name)


def _display_text(mail: ParsedEmail) -> str | None:
    """The reply without quoted history and signature; None when stripping removes nothing.

    For HTML mail, the quote the sender's client marked in the HTML is the surer cut when the
    text was made from that HTML (no text/plain part), or when the text shows no quote.
    """
    sender = mail.from_address
    if mail.from_name:  # quoted, so that a comma in the name does not split it
        name = mail.from_name.replace("\\", "\\\\").replace('"', '\\"')
        sender = f'"{name}" <{mail.from_address}>'
    whole = mail.text.strip()
    stripped = strip_reply(mail.text, sender=sender)
    from_text = stripped if stripped.strip() != whole else None
    if mail.html_reply is not None and (mail.text_from_html or from_text is None):
        from_html = strip_reply(html_to_text(mail.html_reply), sender=sender)
        if from_html.strip() and from_html.strip() != whole:
            return from_html
    return from_text


def reply_subject(subject: str, ticket_id: int, *, with_token: bool) -> str:
    """`Re: <subject> [#id]`: the token threads the customer's answer even when their client
    drops In-Reply-To. A reply through a marketplace relay keeps the marketplace's subject
    as it is (its order and item references must stay) and gets no token of ours: relay mail
    threads on alias + order id, and eBay shows the subject to the buyer."""
    if not with_token:
        base = subject.strip()
        return base if re.match(r"(?i)^re\s*:", base) else f"Re: {base}".strip()
    base = threading.normalize_subject(subject) or "(no subject)"
    return f"Re: {base} {threading.format_ticket_token(ticket_id)}"


async def reply_warnings(
    db: AsyncSession, *, ticket: Ticket, text: str, attachments: Sequence[str] = ()
) -> list[relay.RuleViolation]:
    """What in a draft reply breaks the marketplace's messaging rules, for the agent to see
    before sending; empty for ordinary mail. The thread's order id comes from the ticket's
    relay mail."""
    if ticket.marketplace is None or relay.reply_rules(ticket.marketplace) is None:
        return []
    order_id = _order_id(ticket.thread_key)
    return relay.check_reply(ticket.marketplace, text, order_id=order_id,
                             attachments=attachments)


def _order_id(thread_key: str | None) -> str | None:
    """The order id at the end of a relay thread key ("amazon:<alias>:<order id>")."""
    if not thread_key or thread_key.count(":") < 2:
        return None
    return thread_key.rsplit(":", 1)[1] or None


def _relay_rules(address: str) -> relay.ReplyRules | None:
    """The marketplace's rules when the recipient is a buyer relay alias."""
    info = relay.detect_marketplace("", (address,), "", "")
    return info.reply_rules if info is not None else None


async def smtp_server(db: AsyncSession, account: EmailAccount) -> SmtpServer:
    password: str | None = None
    token: str | None = None
    try:
        if account.auth_method == "oauth2":
            token = await oauth.access_token(db, account=account)
        else:
            sealed = account.smtp_password_sealed or account.password_sealed
            password = unseal(sealed) if sealed else None
    except SecretError as exc:
        raise DeliveryError(f"the SMTP password of {account.address} cannot be read: {exc}",
                            retryable=False) from exc
    except oauth.OAuthError as exc:
        passing = exc.code in (oauth.OAuthErrorCode.PROVIDER_ERROR,
                               oauth.OAuthErrorCode.UNREACHABLE)
        raise DeliveryError(exc.message, retryable=passing) from exc
    security = account.smtp_security
    return SmtpServer(
        host=account.smtp_host or "",
        port=account.smtp_port or {"ssl": 465, "starttls": 587}.get(security, 25),
        security=security,
        username=account.smtp_username or account.imap_username or account.address,
        password=password,
        oauth_token=token,
        timeout=context.get().settings.smtp_timeout_seconds,
    )


def _external_id(message_id: str) -> str:
    if len(message_id) <= _MAX_ID:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()


def _ticket_token(mail: ParsedEmail) -> int | None:
    """A ticket id we put in an earlier reply: the subject's [#123], else support+t123@."""
    found = threading.extract_ticket_token(mail.subject)
    if found is not None:
        return found
    # The envelope recipient (Delivered-To) first: it is the address the mail really reached.
    return threading.ticket_id_from_plus_address((*mail.delivered_to, *mail.to, *mail.cc))


def _bounce(report: DeliveryReport) -> Bounce:
    status = report.status or ""
    action = report.action or ("failed" if status.startswith("5")
                               else "delayed" if status.startswith("4") else "unknown")
    diagnostic = report.diagnostic or ""
    # "550 5.1.1 <x@y>: User unknown" names its status already; a bare reason gets it in front.
    reason = diagnostic if status and status in diagnostic else f"{status} {diagnostic}".strip()
    reason = reason or "the receiving mail server reported the message undeliverable"
    recipient = report.failed_recipients[0] if report.failed_recipients else None
    if recipient and recipient.casefold() not in reason.casefold():
        reason = f"{reason} (to {recipient})"
    ids = (report.original_message_id,) if report.original_message_id else ()
    return Bounce(original_ids=ids, action=action, reason=reason, recipient=recipient)


# --- forwarded mail --------------------------------------------------------------------------

# Lines that open a forwarded message in the clients agents use (en/pl/ko).
_FORWARD_MARKER = re.compile(
    r"^[ \t>]*-*\s*(?:forwarded message|begin forwarded message|wiadomość przekazana(?: dalej)?|"
    r"przekazana wiadomość|전달된 메일|전달된 메시지|전달 메시지)\s*:?\s*-*[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
# Outlook opens replies and forwards alike; these count only under a forward's subject.
_OUTLOOK_MARKER = re.compile(
    r"^[ \t>]*(?:-{2,}\s*(?:original message|wiadomość oryginalna|oryginalna wiadomość|"
    r"원본 메시지|원본 메일)\s*-{2,}|_{10,})[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_FORWARD_SUBJECT = re.compile(r"^\s*(?:\[[^\]]*\]\s*)?(?:fwd?|fw|pd|wg|tr|przekaż|전달)\s*:",
                              re.IGNORECASE)
_FROM_LINE = re.compile(
    r"^[ \t>]*\*{0,2}(?:from|od|보낸\s*사람|보낸사람)\*{0,2}[ \t]*[:：]\*{0,2}[ \t]*(.+)$",
    re.IGNORECASE,
)
_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def _forwarded_original(
    mail: ParsedEmail, max_bytes: int
) -> tuple[SenderIdentity, tuple[str, ...]] | None:
    """The author of a forwarded message, and its Message-ID when the forward carries it.

    A forward as attachment (message/rfc822) says it exactly; an inline forward names the
    author in the first "From:" line after the client's forward marker.
    """
    for att in mail.attachments:
        if att.content_type != "message/rfc822":
            continue
        try:
            inner = parse_email(att.data, max_attachment_bytes=max_bytes)
        except ParseError:
            continue
        ids = (_external_id(inner.message_id),) if inner.message_id else ()
        return SenderIdentity(IdentityKind.EMAIL, inner.from_address.lower(),
                              inner.from_name), ids
    marker = _FORWARD_MARKER.search(mail.text)
    if marker is None and _FORWARD_SUBJECT.match(mail.subject):
        marker = _OUTLOOK_MARKER.search(mail.text)
    if marker is None:
        return None
    for line in mail.text[marker.end():].lstrip("\n").splitlines()[:8]:
        match = _FROM_LINE.match(line)
        if match is None:
            continue
        value = match.group(1).replace("[mailto:", "<").replace("mailto:", "").replace("]", ">")
        name, address = parseaddr(value)
        found = _ADDRESS.search(address if "@" in address else value)
        if found is None:
            return None
        clean = name.strip(" \"'*") if name and "@" not in name else None
        return SenderIdentity(IdentityKind.EMAIL, found.group(0).lower(), clean or None), ()
    return None
