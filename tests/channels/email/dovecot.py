"""A throw-away Dovecot IMAP server and a small OAuth2 server, both on loopback, for the tests.

`Dovecot` runs Debian's dovecot in the foreground (`dovecot -F -c CONFIG`) with its own config,
run and state folders and maildirs under a temporary folder, listening on a free 127.0.0.1
port. Logins:
- PLAIN/LOGIN: any user name with the password `Dovecot.PASSWORD` (a static passdb), so each
  test takes a mailbox of its own by taking a user name of its own;
- XOAUTH2/OAUTHBEARER: an oauth2 passdb that asks `OAuthServer`'s token-introspection endpoint
  (RFC 7662) whether the bearer token is active and whose it is.

`OAuthServer` is a real HTTP server implementing an authorization endpoint (consent is
granted at once), the token endpoint (RFC 6749: authorization_code and refresh_token grants)
and the introspection endpoint Dovecot calls. Tests can expire and revoke tokens.

Without dovecot installed the fixtures skip saying why (CI turns a skip into a failure).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from click.testing import CliRunner, Result
from imapclient import IMAPClient

from sellerdesk.cli import main
from sellerdesk.core import context
from sellerdesk.jobs import outbox

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
KEYWORD = b"$SellerDesk"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mail(n: int, *, domain: str = "shop.example", sender: str = "ewa@example.pl",
         to: str = "support@acme.example", subject: str | None = None,
         body: str | None = None, message_id: str | None = None) -> bytes:
    """A plain customer message with a predictable Message-ID."""
    msg = EmailMessage()
    msg["From"] = f"Ewa Nowak <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject if subject is not None else f"Zamówienie {n}"
    msg["Date"] = format_datetime(datetime(2026, 1, 1, 12, 0, tzinfo=UTC))
    msg["Message-ID"] = message_id or f"<m{n}@{domain}>"
    msg.set_content(body if body is not None else f"Dzień dobry, pytanie numer {n}.")
    return msg.as_bytes()


# --------------------------------------------------------------------------------------------
# OAuth2 server


@dataclass
class _Grant:
    user: str
    client_id: str
    code_challenge: str | None = None


@dataclass
class OAuthServer:
    """Authorization, token (RFC 6749) and introspection (RFC 7662) endpoints on loopback."""

    client_id: str = "sellerdesk-test-client"
    client_secret: str = "sellerdesk-test-secret"  # noqa: S105 (a test server's own)
    expires_in: int = 3600
    host: str = "127.0.0.1"
    port: int = 0
    # who consents at /authorize (the mailbox owner signing in)
    consenting_user: str = "owner@acme.example"
    codes: dict[str, _Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, _Grant] = field(default_factory=dict)
    # access token -> (user, expires at as unix time)
    access_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    introspections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def authorize_url(self) -> str:
        return f"{self.base_url}/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def introspection_url(self) -> str:
        return f"{self.base_url}/introspect"

    def start(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                outer._authorize(self)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                path = urlsplit(self.path).path
                if path == "/token":
                    status, body = outer._token(form, self.headers.get("authorization"))
                elif path == "/introspect":
                    status, body = outer._introspect(form)
                else:
                    status, body = 404, {"error": "not_found"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- what tests do

    def issue(self, user: str, *, expires_in: int | None = None) -> tuple[str, str]:
        """An (access token, refresh token) pair for `user`, as if consent had been given."""
        with self.lock:
            refresh = "rt-" + secrets.token_urlsafe(16)
            self.refresh_tokens[refresh] = _Grant(user, self.client_id)
            return self._new_access(user, expires_in), refresh

    def revoke_all(self, user: str) -> None:
        """The mailbox owner withdrew consent: every token of theirs stops working."""
        with self.lock:
            for token in [t for t, g in self.refresh_tokens.items() if g.user == user]:
                del self.refresh_tokens[token]
            for token in [t for t, (u, _) in self.access_tokens.items() if u == user]:
                del self.access_tokens[token]

    def grants(self, grant_type: str) -> list[dict[str, str]]:
        with self.lock:
            return [r for r in self.token_requests if r.get("grant_type") == grant_type]

    # -- endpoints

    def _new_access(self, user: str, expires_in: int | None) -> str:
        token = "at-" + secrets.token_urlsafe(16)
        lifetime = self.expires_in if expires_in is None else expires_in
        self.access_tokens[token] = (user, time.time() + lifetime)
        return token

    def _authorize(self, request: BaseHTTPRequestHandler) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            request.send_response(400)
            request.end_headers()
            return
        code = "code-" + secrets.token_urlsafe(12)
        with self.lock:
            self.codes[code] = _Grant(self.consenting_user, self.client_id,
                                      query.get("code_challenge"))
        target = query["redirect_uri"] + "?" + urlencode({"code": code,
                                                           "state": query.get("state", "")})
        request.send_response(302)
        request.send_header("Location", target)
        request.send_header("Content-Length", "0")
        request.end_headers()

    def _client_ok(self, form: dict[str, str], authorization: str | None) -> bool:
        if authorization and authorization.lower().startswith("basic "):
            user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
            return (user, password) == (self.client_id, self.client_secret)
        return (form.get("client_id"), form.get("client_secret")) == (
            self.client_id, self.client_secret)

    def _token(self, form: dict[str, str], authorization: str | None
               ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.token_requests.append(form)
            if not self._client_ok(form, authorization):
                return 401, {"error": "invalid_client"}
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                grant = self.codes.pop(form.get("code", ""), None)
                if grant is None or not form.get("redirect_uri"):
                    return 400, {"error": "invalid_grant",
                                 "error_description": "unknown or used code"}
                if grant.code_challenge is not None and grant.code_challenge != _s256(
                        form.get("code_verifier", "")):
                    return 400, {"error": "invalid_grant",
                                 "error_description": "PKCE verification failed"}
                refresh = "rt-" + secrets.token_urlsafe(16)
                self.refresh_tokens[refresh] = grant
                return 200, {"access_token": self._new_access(grant.user, None),
                             "token_type": "Bearer", "expires_in": self.expires_in,
                             "refresh_token": refresh, "scope": "imap"}
            if grant_type == "refresh_token":
                grant = self.refresh_tokens.get(form.get("refresh_token", ""))
                if grant is None:
                    return 400, {"error": "invalid_grant",
                                 "error_description": "Token has been expired or revoked."}
                return 200, {"access_token": self._new_access(grant.user, None),
                             "token_type": "Bearer", "expires_in": self.expires_in}
            return 400, {"error": "unsupported_grant_type"}

    def _introspect(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.introspections += 1
            found = self.access_tokens.get(form.get("token", ""))
            if found is None or found[1] < time.time():
                return 200, {"active": False}
            user, expires = found
            return 200, {"active": True, "username": user, "client_id": self.client_id,
                         "exp": int(expires), "token_type": "Bearer"}


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# --------------------------------------------------------------------------------------------
# Dovecot


class Dovecot:
    """One dovecot process with everything under its own temporary folder."""

    PASSWORD = "dovecot-test-password"  # noqa: S105

    def __init__(self, *, introspection_url: str | None = None) -> None:
        self.introspection_url = introspection_url
        self.port = free_port()  # IMAP, STARTTLS offered
        self.tls_port = free_port()  # IMAP in TLS from the first byte (imaps)
        self.host = "127.0.0.1"
        # Not pytest's tmp_path: that is private to root, and the mail processes run as the
        # `dovecot` user, who must be able to reach the maildirs.
        self.root = Path(tempfile.mkdtemp(prefix="sellerdesk-dovecot-"))
        self.root.chmod(0o755)
        self.config = self.root / "dovecot.conf"
        self.log = self.root / "dovecot.log"
        self.cert = self.root / "cert.pem"  # self-signed for 127.0.0.1: trust it to connect
        self.process: subprocess.Popen[bytes] | None = None

    def mail_root(self) -> Path:
        return self.root / "mail"

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        base = self.mail_root() / user / "Maildir"
        return base if folder == "INBOX" else base / f".{folder}"

    def _write_config(self) -> None:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("dovecot")
            login_user, internal_user = "dovenull", "dovecot"
        else:
            owner = pwd.getpwuid(os.geteuid())
            login_user = internal_user = owner.pw_name
        uid, gid = owner.pw_uid, owner.pw_gid
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir()
        _self_signed(self.cert, self.root / "key.pem")
        os.chown(self.mail_root(), uid, gid)
        oauth = ""
        if self.introspection_url:
            args = self.root / "dovecot-oauth2.conf.ext"
            args.write_text(
                f"introspection_url = {self.introspection_url}\n"
                "introspection_mode = post\n"
                "username_attribute = username\n"
                "active_attribute = active\n"
                "active_value = true\n"
                "timeout_msecs = 5000\n"
            )
            oauth = f"""
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {args}
}}"""
        self.config.write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = sellerdesk-test-{self.port}
log_path = {self.log}
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{self.root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_verbose = yes
auth_failure_delay = 0
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = {min(uid, 500)}
first_valid_gid = {min(gid, 1)}
mail_location = maildir:~/Maildir
# Throw-away mail: no fsync per message.
mail_fsync = never
mail_uid = {uid}
mail_gid = {gid}
imap_idle_notify_interval = 2 mins
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
  }}
}}
# Failed logins are not slowed down per client IP (the auth penalty): tests fail them on purpose.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  inet_listener http {{
    port = 0
  }}
}}
passdb {{
  driver = static
  mechanisms = plain login
  args = password={self.PASSWORD}
}}{oauth}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={self.mail_root()}/%u allow_all_users=yes
}}
""")

    def start(self) -> None:
        self._write_config()
        self.process = subprocess.Popen(  # noqa: S603
            [DOVECOT, "-F", "-c", str(self.config)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                out = self.process.stdout.read().decode() if self.process.stdout else ""
                raise RuntimeError(f"dovecot exited at start: {out}\n{self._log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(
                    (self.host, self.port), timeout=0.5) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not start listening: {self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return self.log.read_text()[-3000:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- what tests do, as the mailbox owner

    @contextlib.contextmanager
    def client(self, user: str) -> Iterator[IMAPClient]:
        imap = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        try:
            imap.login(user, self.PASSWORD)
            yield imap
        finally:
            with contextlib.suppress(Exception):
                imap.logout()

    def append(self, user: str, *messages: bytes, folder: str = "INBOX") -> list[int]:
        """APPEND messages; return their UIDs."""
        uids: list[int] = []
        with self.client(user) as imap:
            if not imap.folder_exists(folder):
                imap.create_folder(folder)
            for raw in messages:
                response = imap.append(folder, raw)
                uids.append(_appended_uid(response))
        return uids

    def flags(self, user: str, folder: str = "INBOX") -> dict[str, set[bytes]]:
        """Message-ID -> flags of every message in the folder."""
        with self.client(user) as imap:
            imap.select_folder(folder, readonly=True)
            uids = imap.search(["ALL"])
            if not uids:
                return {}
            data = imap.fetch(uids, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        out: dict[str, set[bytes]] = {}
        for uid, item in data.items():
            header = item[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].decode().strip()
            key = header.split(":", 1)[1].strip() if ":" in header else f"uid:{uid}"
            out[key] = set(item[b"FLAGS"])
        return out

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        with self.client(user) as imap:
            return int(imap.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])


def _self_signed(cert_path: Path, key_path: Path) -> None:
    """A certificate for 127.0.0.1, signed by its own key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SellerDesk test IMAP")])
    start = datetime.now(UTC) - timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)


def _appended_uid(response: bytes) -> int:
    # "[APPENDUID <uidvalidity> <uid>] Append completed."
    text = response.decode()
    return int(text.split("]", 1)[0].split()[-1])


def dovecot_available() -> str | None:
    """Why Dovecot tests cannot run here, or None when they can."""
    if not Path(DOVECOT).exists():
        how = ("run scripts/test.sh as root to install it" if os.geteuid() != 0
               else "apt-get install dovecot-imapd")
        return f"Dovecot is not installed ({DOVECOT} missing): {how}"
    return None


_users = iter(range(1, 1_000_000))


def new_user(prefix: str = "support") -> str:
    """A mailbox no other test uses."""
    return f"{prefix}{next(_users)}-{secrets.token_hex(3)}@acme.example"


@pytest.fixture(name="oauth_server", scope="session")
def oauth_server_fixture() -> Iterator[OAuthServer]:
    server = OAuthServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="dovecot", scope="session")
def dovecot_fixture(oauth_server: OAuthServer) -> Iterator[Dovecot]:
    reason = dovecot_available()
    if reason:
        pytest.skip(reason)
    server = Dovecot(introspection_url=oauth_server.introspection_url)
    server.start()
    yield server
    server.stop()


# --------------------------------------------------------------------------------------------
# The `sellerdesk` command, against a data folder (and SQLite database) of its own


@pytest.fixture(name="cli_context")
def cli_context_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No SELLERDESK_* from outside; the process context the command replaces is restored."""
    for name in list(os.environ):
        if name.upper().startswith("SELLERDESK_") or name.upper() == "DATABASE_URL":
            monkeypatch.delenv(name)
    saved = context._current
    try:
        yield
    finally:
        context._current = saved
        outbox.set_dispatcher(None)


def sellerdesk(data_dir: Path, *args: str, **env: str) -> Result:
    environment = {"SELLERDESK_DATA_DIR": str(data_dir), "SELLERDESK_SECRET_KEY": "cli-test",
                   "SELLERDESK_LOG_LEVEL": "warning", **env}
    with ThreadPoolExecutor(1) as pool:  # the command runs an event loop of its own
        return pool.submit(CliRunner().invoke, main, list(args), None, environment).result()
