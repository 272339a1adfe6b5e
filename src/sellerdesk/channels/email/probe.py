"""The "Test connection" check of an email account: IMAP login + folder, SMTP EHLO/TLS/AUTH.

Nothing is fetched, flagged or sent, and the account's fetch state and last error stay as they
are (only an OAuth2 access token may be refreshed, as a poll would). The check tells an admin
whether the settings work and, when they do not, which step failed and what the server (or the
network) said, sorted into outcomes the page can explain (unknown host, refused, timeout, TLS,
login, folder).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiosmtplib
from imapclient import IMAPClient, SocketTimeout  # type: ignore[import-untyped]
from imapclient.exceptions import IMAPClientError, LoginError  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels.base import DeliveryError
from sellerdesk.channels.email import imap
from sellerdesk.channels.email.adapter import smtp_server
from sellerdesk.channels.email.models import EmailAccount

# An admin waits for the answer on the page: fail faster than a poll would.
PROBE_TIMEOUT_SECONDS = 10.0


class ProbeOutcome(StrEnum):
    OK = "ok"
    NOT_CONFIGURED = "not_configured"
    UNKNOWN_HOST = "unknown_host"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    TLS_FAILED = "tls_failed"
    AUTH_FAILED = "auth_failed"
    FOLDER_FAILED = "folder_failed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ServerCheck:
    """How far one server got, and in its own words why it stopped."""

    protocol: str  # imap | smtp
    host: str | None
    port: int | None
    security: str
    outcome: ProbeOutcome
    detail: str = ""  # the server's or the system's message; empty when all went well
    passed: tuple[str, ...] = ()  # the steps that worked: connect, tls, login, folder, ehlo

    @property
    def ok(self) -> bool:
        return self.outcome == ProbeOutcome.OK


@dataclass(frozen=True, slots=True)
class ProbeResult:
    imap: ServerCheck
    smtp: ServerCheck

    @property
    def ok(self) -> bool:
        return all(c.outcome in (ProbeOutcome.OK, ProbeOutcome.NOT_CONFIGURED)
                   for c in (self.imap, self.smtp)) and (self.imap.ok or self.smtp.ok)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def classify(exc: BaseException) -> ProbeOutcome:
    """The outcome an exception (or what caused it) stands for."""
    for cause in _chain(exc):
        if isinstance(cause, socket.gaierror):
            return ProbeOutcome.UNKNOWN_HOST
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return ProbeOutcome.TLS_FAILED
        if isinstance(cause, TimeoutError | socket.timeout | aiosmtplib.SMTPTimeoutError):
            return ProbeOutcome.TIMEOUT
        if isinstance(cause, ConnectionRefusedError):
            return ProbeOutcome.REFUSED
        if isinstance(cause, LoginError | aiosmtplib.SMTPAuthenticationError):
            return ProbeOutcome.AUTH_FAILED
    return ProbeOutcome.FAILED


def _words(exc: BaseException) -> str:
    """The most specific message in the chain, as the server or the system put it."""
    for cause in reversed(list(_chain(exc))):
        if isinstance(cause, aiosmtplib.SMTPResponseException):
            return f"{cause.code} {cause.message}"[:500]
        text = imap._server_text(cause)
        if text and text != cause.__class__.__name__:
            return text
    return imap._server_text(exc)


# --------------------------------------------------------------------------------------------
# IMAP


def _imap_connect_sync(host: str, port: int, security: str, context: ssl.SSLContext,
                       timeout: float) -> Any:
    client = IMAPClient(host, port=port, ssl=security == "ssl", ssl_context=context,
                        timeout=SocketTimeout(connect=timeout, read=timeout))
    if security == "starttls":
        try:
            client.starttls(context)
        except Exception:
            imap._close_sync(client)
            raise
    return client


async def check_imap(db: AsyncSession, account: EmailAccount, *, timeout: float,
                     ssl_context: ssl.SSLContext | None = None) -> ServerCheck:
    security = account.imap_security
    port = account.imap_port or (993 if security == "ssl" else 143)
    host = account.imap_host

    def result(outcome: ProbeOutcome, detail: str = "", *passed: str) -> ServerCheck:
        return ServerCheck("imap", host, port if host else None, security, outcome,
                           detail, passed)

    if not host:
        return result(ProbeOutcome.NOT_CONFIGURED)
    try:
        secret = await imap._credentials(db, account)
    except imap.MailboxError as exc:
        outcome = (ProbeOutcome.NOT_CONFIGURED if exc.code == imap.ImapErrorCode.NOT_CONFIGURED
                   else ProbeOutcome.AUTH_FAILED)
        return result(outcome, exc.message)
    context = ssl_context or ssl.create_default_context()
    try:
        client = await asyncio.to_thread(_imap_connect_sync, host, port, security, context,
                                         timeout)
    except (OSError, IMAPClientError) as exc:
        return result(classify(exc), _words(exc))
    passed = ["connect"] + (["tls"] if security != "none" else [])
    try:
        try:
            await imap._login(db, account, client, secret)
        except imap.MailboxError as exc:
            return result(classify(exc), exc.message, *passed)
        except (OSError, IMAPClientError) as exc:
            return result(classify(exc), _words(exc), *passed)
        passed.append("login")
        folder = account.imap_folder or "INBOX"
        try:
            await asyncio.to_thread(client.select_folder, folder, readonly=True)
        except IMAPClientError as exc:
            return result(ProbeOutcome.FOLDER_FAILED, _words(exc), *passed)
        except OSError as exc:
            return result(classify(exc), _words(exc), *passed)
        passed.append("folder")
        return result(ProbeOutcome.OK, "", *passed)
    finally:
        await asyncio.to_thread(imap._close_sync, client)


# --------------------------------------------------------------------------------------------
# SMTP


async def check_smtp(db: AsyncSession, account: EmailAccount, *, timeout: float,
                     ssl_context: ssl.SSLContext | None = None) -> ServerCheck:
    security = account.smtp_security
    host = account.smtp_host
    if not host:
        return ServerCheck("smtp", None, None, security, ProbeOutcome.NOT_CONFIGURED)
    try:
        server = await smtp_server(db, account)
    except DeliveryError as exc:
        return ServerCheck("smtp", host, account.smtp_port, security,
                           ProbeOutcome.NOT_CONFIGURED, exc.reason)
    passed: list[str] = []

    def result(outcome: ProbeOutcome, detail: str = "") -> ServerCheck:
        return ServerCheck("smtp", server.host, server.port, security, outcome, detail,
                           tuple(passed))

    context = (ssl_context or ssl.create_default_context()) if security != "none" else None
    client = aiosmtplib.SMTP(hostname=server.host, port=server.port,
                             use_tls=security == "ssl", start_tls=False,
                             timeout=min(timeout, server.timeout), tls_context=context)
    try:
        await client.connect()
        passed.extend(["connect", "tls"] if security == "ssl" else ["connect"])
        await client.ehlo()
        passed.append("ehlo")
        if security == "starttls":
            await client.starttls(tls_context=context)
            await client.ehlo()
            passed.append("tls")
        if server.oauth_token is not None:
            await client.auth_xoauth2(server.username or account.address, server.oauth_token)
            passed.append("login")
        elif server.password:
            await client.login(server.username or account.address, server.password)
            passed.append("login")
        return result(ProbeOutcome.OK)
    except (aiosmtplib.SMTPException, OSError) as exc:
        return result(classify(exc), _words(exc))
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


async def probe_account(db: AsyncSession, account: EmailAccount, *,
                        timeout: float | None = None,
                        ssl_context: ssl.SSLContext | None = None) -> ProbeResult:
    """Try the account's IMAP and SMTP servers (each for at most `timeout` seconds a step)."""
    timeout = PROBE_TIMEOUT_SECONDS if timeout is None else timeout
    # One after the other: both may refresh an OAuth token through the same session.
    reading = await check_imap(db, account, timeout=timeout, ssl_context=ssl_context)
    sending = await check_smtp(db, account, timeout=timeout, ssl_context=ssl_context)
    return ProbeResult(imap=reading, smtp=sending)
