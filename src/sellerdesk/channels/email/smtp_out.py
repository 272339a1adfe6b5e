"""Outgoing mail: the MIME message of a reply, and handing it to the store's SMTP server."""

from __future__ import annotations

import hashlib
import html
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import format_datetime

import aiosmtplib

from sellerdesk.channels.base import DeliveryError, InboundAttachment
from sellerdesk.core.clock import now

# Keep References short: the first id (the thread's root) and the most recent ones, as RFC 5322
# suggests when a chain grows long; clients thread on those.
MAX_REFERENCES = 20
_MSG_ID = re.compile(r"^[^<>\s@]+@[^<>\s@]+$")


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where and how to hand over mail; the password is already unsealed."""

    host: str
    port: int
    security: str  # ssl | starttls | none
    username: str | None
    password: str | None
    oauth_token: str | None  # XOAUTH2 instead of a password (Google, Microsoft 365)
    timeout: float


def new_message_id(message_id: int, idempotency_key: str, domain: str) -> str:
    """`<sd.{message id}.{random}@{domain}>`, the same for every attempt of one message.

    The random part comes from the message's secret idempotency key: a retry after a lost
    answer carries the same Message-ID, so the customer's mail client shows it once, and a
    stranger cannot guess an id to thread their mail into someone else's ticket.
    """
    token = hashlib.sha256(f"message-id:{idempotency_key}".encode()).hexdigest()[:20]
    return f"<sd.{message_id}.{token}@{domain}>"


def thread_headers(references: tuple[str, ...]) -> tuple[str | None, str | None]:
    """In-Reply-To and References for a reply in a thread whose message ids (stored without
    angle brackets, oldest first) are `references`. In-Reply-To names the latest message the
    customer sent (ours start with `sd.`); ids that are not Message-IDs are left out."""
    ids = [f"<{r}>" for r in dict.fromkeys(references) if _MSG_ID.match(r)]
    if not ids:
        return None, None
    theirs = [r for r in ids if not r.startswith("<sd.")]
    parent = theirs[-1] if theirs else ids[-1]
    if len(ids) > MAX_REFERENCES:
        ids = ids[:1] + ids[-(MAX_REFERENCES - 1):]
    return parent, " ".join(ids)


def text_to_html(text: str) -> str:
    """A minimal HTML version of a plain reply: escaped, paragraphs and line breaks kept."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    body = "\n".join(
        '<p dir="auto">' + html.escape(p).replace("\n", "<br>\n") + "</p>" for p in paragraphs
    )
    return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n'
            f"{body}\n</body></html>")


def build_message(
    *,
    from_address: str,
    from_name: str | None,
    to_address: str,
    to_name: str | None,
    subject: str,
    message_id: str,
    text: str,
    html_body: str | None,
    attachments: tuple[InboundAttachment, ...],
    references: tuple[str, ...],
    plain_only: bool = False,
) -> EmailMessage:
    """The reply as MIME: text/plain (+ text/html alternative unless `plain_only`) and files."""
    # 7-bit transfer encodings (quoted-printable/base64) for every part: any server takes them.
    msg = EmailMessage(policy=default.clone(cte_type="7bit"))
    msg["From"] = _address(from_address, from_name)
    msg["To"] = _address(to_address, to_name)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now())
    msg["Message-ID"] = message_id
    parent, chain = thread_headers(references)
    if parent is not None and chain is not None:
        msg["In-Reply-To"] = parent
        msg["References"] = chain
    msg.set_content(text if text.endswith("\n") else text + "\n")
    if not plain_only:
        msg.add_alternative(html_body or text_to_html(text), subtype="html")
    for att in attachments:
        maintype, subtype = _mime_type(att.content_type)
        # Always as bytes (base64): a text file's own encoding reaches the customer untouched.
        msg.add_attachment(att.data, maintype=maintype, subtype=subtype, filename=att.filename)
    return msg


def _mime_type(content_type: str | None) -> tuple[str, str]:
    maintype, _, subtype = (content_type or "").split(";", 1)[0].strip().lower().partition("/")
    if not maintype or not subtype or maintype in ("multipart", "message"):
        # Nested messages go as opaque files: re-encoding them could alter what they say.
        return "application", "octet-stream"
    return maintype, subtype


def _token(token: str | None) -> Callable[[], Awaitable[str]] | None:
    if token is None:
        return None

    async def give() -> str:
        return token

    return give


def _address(address: str, name: str | None) -> Address:
    local, _, domain = address.rpartition("@")
    return Address(display_name=(name or "").strip(), username=local, domain=domain)


def render(message: EmailMessage) -> bytes:
    """The message's bytes on the wire (CRLF).

    Python folds some ASCII subjects ("… (Order: 302-…)") before their first word, which
    readers show as a leading space; an ASCII subject therefore stays on one line (RFC 5322
    allows 998 characters). A non-ASCII one folds at 78, keeping RFC 2047's encoded words short.
    """
    subject = str(message.get("Subject", ""))
    wide = subject.isascii() and len(subject) < 900
    policy = SMTP.clone(max_line_length=998) if wide else SMTP
    return message.as_bytes(policy=policy)


async def send_message(message: EmailMessage, server: SmtpServer, *, sender: str,
                       recipients: list[str]) -> None:
    """Hand one message to the server; raise DeliveryError, retryable unless the server
    refused it for good (5xx)."""
    try:
        await aiosmtplib.send(
            render(message), sender=sender, recipients=recipients,
            hostname=server.host, port=server.port,
            use_tls=server.security == "ssl",
            start_tls=server.security == "starttls",
            username=server.username if server.password or server.oauth_token else None,
            password=server.password or None, oauth_token_generator=_token(server.oauth_token),
            timeout=server.timeout,
            tls_context=ssl.create_default_context() if server.security != "none" else None,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients
        permanent = bool(refused) and all(r.code >= 500 for r in refused)
        reason = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in refused)
        raise DeliveryError(f"SMTP refused the recipient: {reason}",
                            retryable=not permanent) from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise DeliveryError(f"SMTP {exc.code} {exc.message}", retryable=exc.code < 500) from exc
    except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected,
            aiosmtplib.SMTPTimeoutError, OSError, TimeoutError) as exc:
        raise DeliveryError(
            f"SMTP server {server.host}:{server.port} unreachable: {exc!r}", retryable=True
        ) from exc
    except aiosmtplib.SMTPException as exc:
        # The server lacks what the account's settings need (AUTH, STARTTLS): fix the settings.
        raise DeliveryError(f"SMTP with {server.host}:{server.port} failed: {exc}",
                            retryable=False) from exc
