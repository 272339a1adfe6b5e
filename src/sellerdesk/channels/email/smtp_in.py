"""The SMTP listener: sellers forward support@ here and the mail enters the one inbound path.

Every answer means what it says to the sending server:
- 250 only after the raw message is committed; one we cannot parse is quarantined with its
  reason (kept, retryable), so it is accepted too.
- 550 for a recipient no active email account owns; 552 for a message over the size limit.
- 451 for a sender over its rate, and for any failure of ours (database down, a bug): the
  sending server keeps the message and tries again, and the inbound path's idempotency on
  Message-ID makes that retry harmless even if our first attempt got further than it seemed.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels import inbound
from sellerdesk.channels.email.loops import FloodGuard
from sellerdesk.channels.email.queries import receiving_account
from sellerdesk.channels.models import Channel
from sellerdesk.core import context
from sellerdesk.core.config import Settings
from sellerdesk.core.errors import ConfigError

log = logging.getLogger(__name__)

# Opens a database session for one SMTP transaction: the real sessionmaker in production,
# something that hands out the test's own session in tests.
SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]

TEMPORARY_FAILURE = "451 4.3.0 Temporary local problem, please try again later"


class InboundHandler:
    """aiosmtpd hooks: who may send, to whom, and what happens to the message."""

    def __init__(self, sessions: SessionFactory, *, max_bytes: int, sender_rate: FloodGuard,
                 timeout: float = 120.0) -> None:
        self.sessions = sessions
        self.max_bytes = max_bytes
        self.rate = sender_rate
        self.timeout = timeout

    async def handle_MAIL(  # noqa: N802 (aiosmtpd's hook names)
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        mail_options: list[str],
    ) -> str:
        # Bounces come from the null sender "<>"; they are counted per sending host instead.
        key = address.lower() if address != "<>" else f"<>@{_peer_host(session)}"
        if not self.rate.allow(key):
            log.warning("smtp: %s is over its rate of %s a minute", key, self.rate.limit)
            return "451 4.7.1 Too many messages from this sender, please try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        try:
            async with self.sessions() as db:
                account = await receiving_account(db, address=address)
        except Exception:
            log.exception("smtp: looking up recipient %s failed", address)
            return TEMPORARY_FAILURE
        if account is None:
            return f"550 5.1.1 <{address}>: no SellerDesk mailbox has this address"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        body = envelope.original_content or b""
        if len(body) > self.max_bytes:
            return f"552 5.3.4 Message too big: the limit is {self.max_bytes} bytes"
        try:
            stored = await asyncio.wait_for(self._store(envelope, body), self.timeout)
        except Exception:
            log.exception("smtp: storing a message from %s failed", envelope.mail_from)
            return TEMPORARY_FAILURE
        if not stored:
            return TEMPORARY_FAILURE  # every recipient's account went away since RCPT
        return "250 2.0.0 Message accepted for delivery"

    async def handle_exception(self, error: Exception) -> str:
        log.exception("smtp: session failed", exc_info=error)
        return TEMPORARY_FAILURE

    async def _store(self, envelope: Envelope, body: bytes) -> int:
        """Hand the message to the inbound path once per channel it is addressed to."""
        stored = 0
        async with self.sessions() as db:
            seen: set[int] = set()
            for rcpt in envelope.rcpt_tos:
                account = await receiving_account(db, address=rcpt)
                if account is None or account.channel_id in seen:
                    continue
                seen.add(account.channel_id)
                channel = await db.get(Channel, account.channel_id)
                if channel is None:
                    continue
                result = await inbound.receive(
                    db, channel=channel, body=_trace(envelope.mail_from, rcpt) + body,
                    content_type="message/rfc822",
                )
                log.info("smtp: %s for %s → %s (raw payload %s)", envelope.mail_from, rcpt,
                         result.outcome.value, result.raw_payload_id)
                stored += 1
        return stored


def _trace(mail_from: str | None, rcpt: str) -> bytes:
    """The trace fields a delivering MTA adds: who the envelope came from and was for."""
    sender = (mail_from or "").strip("<>")
    return f"Return-Path: <{sender}>\r\nDelivered-To: {rcpt}\r\n".encode()


def _peer_host(session: Session) -> str:
    peer = session.peer
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer)


class _Smtp(SMTP):
    # RFC 5321 caps lines at 1000 octets, but generated HTML mail often comes as one long line
    # and Postfix passes it on; refusing it (aiosmtpd says 500) would lose a customer's mail.
    line_length_limit = 1 << 20


@dataclass
class SmtpListener:
    """A running listener on the current event loop."""

    server: asyncio.AbstractServer
    handler: InboundHandler
    host: str
    port: int

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


async def start_listener(
    settings: Settings,
    *,
    sessions: SessionFactory | None = None,
    host: str | None = None,
    port: int | None = None,
) -> SmtpListener:
    """Listen for SMTP on the running loop (host/port default to the settings; port 0: any)."""
    factory: SessionFactory = sessions or context.get().database.sessionmaker
    bind_host = host or settings.smtp_listen_host
    bind_port = settings.smtp_listen_port if port is None else port
    if bind_port is None:
        raise ValueError("no SMTP port: set smtp_listen_port")
    handler = InboundHandler(
        factory, max_bytes=settings.smtp_max_message_bytes,
        sender_rate=FloodGuard(settings.smtp_sender_rate, window=60.0),
    )
    loop = asyncio.get_running_loop()
    hostname = socket.gethostname()
    # aiosmtpd logs every command at INFO; our own line per message says what matters.
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    def protocol() -> SMTP:
        return _Smtp(handler, data_size_limit=settings.smtp_max_message_bytes,
                    enable_SMTPUTF8=True, hostname=hostname, ident="SellerDesk", loop=loop)

    try:
        server = await loop.create_server(protocol, host=bind_host, port=bind_port)
    except OSError as exc:
        raise ConfigError(
            f"setting 'smtp_listen_port': cannot listen on {bind_host}:{bind_port}: {exc}"
        ) from exc
    actual = int(server.sockets[0].getsockname()[1])
    log.info("smtp: listening on %s:%s", bind_host, actual)
    return SmtpListener(server, handler, bind_host, actual)
