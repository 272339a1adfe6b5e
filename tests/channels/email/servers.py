"""Real mail servers for tests, on loopback and free ports.

`SmtpSink` is an aiosmtpd server in its own thread. It captures every message it accepts, can
refuse chosen recipients (5xx), defer the next deliveries (4xx) and require a login, so a test
sees exactly what SellerDesk sent and how it reacts. `smtp_listener` is SellerDesk's own SMTP
listener on the test's event loop, sharing the test's rolled-back session.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels.email.smtp_in import SessionFactory, SmtpListener, start_listener
from sellerdesk.core import context
from sellerdesk.core.db import rollback


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Captured:
    """One message as the sink received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    login: str | None

    def message(self) -> EmailMessage:
        # Line ends as Python writes them, so contents compare equal to "…\n" strings.
        parsed = BytesParser(policy=policy.default).parsebytes(self.data.replace(b"\r\n", b"\n"))
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpSink:
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[Captured] = field(default_factory=list)
    # recipient (lowercased) → the full reply line to refuse it with, e.g. "550 5.1.1 no such user"
    refuse: dict[str, str] = field(default_factory=dict)
    # answer DATA with `defer_reply` this many more times before accepting
    defer: int = 0
    defer_reply: str = "451 4.3.0 Mailbox busy, try again later"
    # (username, password) a client logging in must use; None: every login fails
    credentials: tuple[str, str] | None = None
    # (username, access token) an XOAUTH2 login must present
    oauth: tuple[str, str] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        with self.lock:
            refusal = self.refuse.get(address.lower())
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        with self.lock:
            if self.defer > 0:
                self.defer -= 1
                return self.defer_reply
            login = session.auth_data.login.decode() if session.authenticated else None
            self.messages.append(Captured(
                envelope.mail_from or "", tuple(envelope.rcpt_tos),
                envelope.original_content or b"", login,
            ))
        return "250 2.0.0 Ok: queued"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (self.credentials is not None and isinstance(auth_data, LoginPassword)
              and (auth_data.login.decode(), auth_data.password.decode()) == self.credentials)
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        """Google's and Microsoft's SASL XOAUTH2: base64("user=U^Aauth=Bearer T^A^A")."""
        try:
            said = base64.b64decode(args[1]).decode() if len(args) > 1 else ""
        except (ValueError, UnicodeDecodeError):
            said = ""
        fields = dict(p.split("=", 1) for p in said.split("\x01") if "=" in p)
        ok = self.oauth is not None and (fields.get("user"), fields.get("auth")) == (
            self.oauth[0], f"Bearer {self.oauth[1]}")
        login = LoginPassword(fields.get("user", "").encode(), b"")
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

    def only(self) -> Captured:
        """The one message the sink received (fails if there were none or several)."""
        with self.lock:
            assert len(self.messages) == 1, f"sink holds {len(self.messages)} messages"
            return self.messages[0]


def start_sink(sink: SmtpSink, *, tls: str = "none", cert: Path | None = None) -> Controller:
    """Start `sink` on a free loopback port (sets sink.port); stop the returned controller.

    `tls` is "none", "starttls" (required before MAIL) or "ssl" (TLS from the first byte),
    with `cert` (a PEM holding certificate and key, see `self_signed_cert`).
    """
    sink.port = free_port()
    options: dict[str, Any] = {}
    if tls != "none":
        assert cert is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert)
        options = ({"tls_context": context, "require_starttls": True} if tls == "starttls"
                   else {"ssl_context": context})
    # AUTH is offered (without TLS too, on loopback) and succeeds only with sink.credentials.
    controller = Controller(sink, hostname=sink.host, port=sink.port, server_hostname="sink.test",
                            authenticator=sink.authenticate, auth_require_tls=False, **options)
    controller.start()
    return controller


def self_signed_cert(folder: Path) -> Path:
    """A PEM with a self-signed certificate for 127.0.0.1 and its key; trust it in a test with
    SSL_CERT_FILE pointing at it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    start = datetime.now(UTC) - timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = folder / "sink.pem"
    path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    )
    return path


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A running SMTP sink; configure refusals/deferrals on it before sending."""
    sink = SmtpSink()
    controller = start_sink(sink)
    try:
        yield sink
    finally:
        controller.stop()


def shared_session(db: AsyncSession) -> SessionFactory:
    """A session factory for the listener that hands out the test's own (rolled-back) session,
    one SMTP transaction at a time."""
    lock = asyncio.Lock()

    @asynccontextmanager
    async def open_session() -> AsyncIterator[AsyncSession]:
        async with lock:
            try:
                yield db
            except BaseException:
                await rollback(db)
                raise

    return open_session


async def start_test_listener(db: AsyncSession, **settings: Any) -> SmtpListener:
    """SellerDesk's SMTP listener on a free loopback port, on the test's event loop."""
    configured = context.get().settings.model_copy(update=settings)
    return await start_listener(configured, sessions=shared_session(db), host="127.0.0.1",
                                port=0)


@pytest.fixture
async def smtp_listener(db: AsyncSession) -> AsyncIterator[SmtpListener]:
    """The listener with a low sender rate (5 a minute) and a 64 KiB size limit."""
    listener = await start_test_listener(db, smtp_sender_rate=5,
                                         smtp_max_message_bytes=64 * 1024)
    try:
        yield listener
    finally:
        await listener.stop()


async def send_raw(listener: SmtpListener, raw: bytes, *, sender: str,
                   to: str | list[str]) -> tuple[int, str]:
    """Send raw bytes to the listener as a mail client would; the final reply's code and text."""
    recipients = [to] if isinstance(to, str) else to
    async with aiosmtplib.SMTP(hostname=listener.host, port=listener.port, timeout=30) as client:
        errors, reply = await client.sendmail(sender, recipients, raw)
    assert not errors, errors
    return reply_code(reply)


def reply_code(reply: str) -> tuple[int, str]:
    code, _, text = reply.partition(" ")
    return (int(code), text) if code.isdigit() else (250, reply)
