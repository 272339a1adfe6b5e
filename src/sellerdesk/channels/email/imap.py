"""Reading a store's mailbox over IMAP into the one inbound path.

For every message, in this order:
1. fetched with BODY.PEEK[] (fetching alone marks nothing as read);
2. handed to `inbound.receive_batch` (INGEST_CHUNK at a time), which commits the raw bytes
   before it parses anything;
3. only then marked processed on the server (\\Seen and the `$SellerDesk` keyword, or moved to
   the account's processed folder);
4. then `last_uid` moves past it (committed).
A crash anywhere re-fetches at most what came after the committed `last_uid`, and the inbound
path's idempotency on (channel, Message-ID) turns those re-fetches into no-ops: no message is
lost, none is stored twice. A UID is only trusted under the UIDVALIDITY it was read with.

imapclient is synchronous; its calls run in a worker thread (`asyncio.to_thread`), one
connection per poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from imapclient import IMAPClient, SocketTimeout  # type: ignore[import-untyped]
from imapclient.exceptions import IMAPClientError, LoginError  # type: ignore[import-untyped]
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels import inbound
from sellerdesk.channels.email import oauth
from sellerdesk.channels.email.models import EmailAccount
from sellerdesk.channels.models import Channel
from sellerdesk.core import context
from sellerdesk.core.clock import now
from sellerdesk.core.crypto import SecretError, unseal
from sellerdesk.core.db import commit, rollback

log = logging.getLogger(__name__)

KEYWORD = b"$SellerDesk"
SEEN = b"\\Seen"
CONNECT_TIMEOUT_SECONDS = 15.0
READ_TIMEOUT_SECONDS = 120.0
# RFC 2177: a client re-issues IDLE at least every 29 minutes, or the server may log it off.
IDLE_REFRESH_SECONDS = 25 * 60.0
# At most this much mail in one FETCH (a batch of large messages is split).
FETCH_BYTES = 32 * 1024 * 1024
# Messages stored and written per transaction of the inbound path: a crash loses at most
# this much work (the messages come back on the next poll, unmarked), and the database's
# write lock is held for a fraction of a second.
INGEST_CHUNK = 25

T = TypeVar("T")
SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class ImapErrorCode(StrEnum):
    NOT_CONFIGURED = "imap.not_configured"
    CONNECT_FAILED = "imap.connect_failed"
    LOGIN_FAILED = "imap.login_failed"
    NEEDS_AUTHORIZATION = "imap.needs_authorization"
    FOLDER_FAILED = "imap.folder_failed"
    CONNECTION_LOST = "imap.connection_lost"
    STORE_FAILED = "imap.store_failed"


class MailboxError(Exception):
    """Reading a mailbox failed; the sentence is also the account's `last_error`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class PollResult:
    account_id: int
    fetched: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    uidvalidity_reset: bool = False
    last_uid: int = 0
    skipped: str | None = None  # why the mailbox was not read this time
    more: bool = False  # stopped at the limit: more mail is waiting


# One poll per account at a time in this process: the scheduler's sweep and an IDLE watcher
# may both want the same mailbox (threads of one process share this set).
_busy: set[int] = set()
_busy_lock = threading.Lock()


@contextlib.contextmanager
def _exclusive(account_id: int) -> Iterator[bool]:
    with _busy_lock:
        taken = account_id not in _busy
        if taken:
            _busy.add(account_id)
    try:
        yield taken
    finally:
        if taken:
            with _busy_lock:
                _busy.discard(account_id)


async def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)


def _server_text(exc: BaseException) -> str:
    """The server's own words from an imapclient error, without Python's bytes repr."""
    text = str(exc).strip()
    if len(text) > 3 and text[:2] in ("b'", 'b"') and text[-1] == text[1]:
        text = text[2:-1]
    return text[:500] or exc.__class__.__name__


def _who(account: EmailAccount) -> str:
    return account.imap_username or account.address


async def _fresh(db: AsyncSession, obj: Any) -> None:
    """Reload an ORM object that a rollback (ours or the inbound path's) expired."""
    if inspect(obj).expired_attributes:
        await db.refresh(obj)


async def _record_error(db: AsyncSession, account: EmailAccount, error: MailboxError) -> None:
    """Say on the account why reading it failed; never let recording hide the failure."""
    try:
        await rollback(db)
        await db.refresh(account)
        account.last_error = error.message
        account.last_checked_at = now()
        await commit(db)
    except Exception:
        log.exception("could not record the IMAP error of email account %s", account.id)


# --------------------------------------------------------------------------------------------
# Connecting and logging in


def _connect_sync(host: str, port: int, security: str, ssl_context: ssl.SSLContext | None
                  ) -> Any:
    context_ = ssl_context or ssl.create_default_context()
    timeout = SocketTimeout(connect=CONNECT_TIMEOUT_SECONDS, read=READ_TIMEOUT_SECONDS)
    client = IMAPClient(host, port=port, ssl=security == "ssl", ssl_context=context_,
                        timeout=timeout)
    if security == "starttls":
        try:
            client.starttls(context_)
        except Exception:
            with contextlib.suppress(Exception):
                client.shutdown()
            raise
    return client


def _close_sync(client: Any) -> None:
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):
            client.shutdown()


async def _credentials(db: AsyncSession, account: EmailAccount, *, force_refresh: bool = False
                       ) -> str:
    """The password, or a current OAuth2 access token (refreshed when near expiry)."""
    if account.auth_method == "oauth2":
        try:
            return await oauth.access_token(db, account=account, force_refresh=force_refresh)
        except oauth.OAuthError as exc:
            # oauth.py has already written the reason on the account.
            code = (ImapErrorCode.NEEDS_AUTHORIZATION if exc.code in (
                oauth.OAuthErrorCode.REVOKED, oauth.OAuthErrorCode.NOT_AUTHORIZED)
                else ImapErrorCode.LOGIN_FAILED)
            raise MailboxError(code, exc.message) from exc
    if account.password_sealed is None:
        raise MailboxError(ImapErrorCode.NOT_CONFIGURED,
                           f"the email account {account.address} has no IMAP password")
    try:
        return unseal(account.password_sealed)
    except SecretError as exc:
        raise MailboxError(ImapErrorCode.NOT_CONFIGURED,
                           f"the IMAP password of {account.address} cannot be used: {exc}"
                           ) from exc


async def _login(db: AsyncSession, account: EmailAccount, client: Any, secret: str) -> None:
    user = _who(account)
    if account.auth_method != "oauth2":
        try:
            await _run(client.login, user, secret)
        except LoginError as exc:
            raise MailboxError(ImapErrorCode.LOGIN_FAILED,
                               f"IMAP login failed for {user}: {_server_text(exc)}") from exc
        return
    try:
        await _run(client.oauth2_login, user, secret)
        return
    except LoginError:
        # The token may have been revoked before its expiry: one more try with a new one.
        log.info("XOAUTH2 login of %s refused; retrying with a refreshed token", user)
    secret = await _credentials(db, account, force_refresh=True)
    try:
        await _run(client.oauth2_login, user, secret)
    except LoginError as exc:
        raise MailboxError(
            ImapErrorCode.LOGIN_FAILED,
            f"IMAP login failed for {user}: {_server_text(exc)} (XOAUTH2: the server refused "
            f"a freshly issued access token; the mailbox owner must sign in to "
            f"{oauth.provider_name(account)} as {user}, with IMAP access granted)") from exc


async def _open(db: AsyncSession, account: EmailAccount, ssl_context: ssl.SSLContext | None
                ) -> Any:
    """A logged-in connection to the account's IMAP server."""
    if not account.imap_host:
        raise MailboxError(ImapErrorCode.NOT_CONFIGURED,
                           f"the email account {account.address} has no IMAP server")
    security = account.imap_security
    port = account.imap_port or (993 if security == "ssl" else 143)
    # Credentials first: an OAuth refresh writes to the database, and no connection should
    # sit idle on the server while it does.
    secret = await _credentials(db, account)
    try:
        client = await _run(_connect_sync, account.imap_host, port, security, ssl_context)
    except (OSError, ssl.SSLError, IMAPClientError) as exc:
        raise MailboxError(ImapErrorCode.CONNECT_FAILED,
                           f"cannot connect to the IMAP server {account.imap_host}:{port} "
                           f"({security}) of {account.address}: {_server_text(exc)}") from exc
    try:
        await _login(db, account, client, secret)
    except BaseException:
        await _run(_close_sync, client)
        raise
    return client


@asynccontextmanager
async def _session(db: AsyncSession, account: EmailAccount,
                   ssl_context: ssl.SSLContext | None) -> AsyncIterator[Any]:
    client = await _open(db, account, ssl_context)
    try:
        yield client
    finally:
        await _run(_close_sync, client)


# --------------------------------------------------------------------------------------------
# Polling


@dataclass(frozen=True, slots=True)
class _Folder:
    uidvalidity: int
    uidnext: int | None
    keywords: bool  # the server keeps our $SellerDesk keyword
    move: bool
    uidplus: bool


async def _select(account: EmailAccount, client: Any) -> _Folder:
    folder = account.imap_folder or "INBOX"
    try:
        info = await _run(client.select_folder, folder)
        capabilities = set(await _run(client.capabilities))
    except IMAPClientError as exc:
        raise MailboxError(ImapErrorCode.FOLDER_FAILED,
                           f"the IMAP folder {folder!r} of {_who(account)} cannot be opened: "
                           f"{_server_text(exc)}") from exc
    target = account.processed_folder
    try:
        if target and not await _run(client.folder_exists, target):
            await _run(client.create_folder, target)
    except IMAPClientError as exc:
        raise MailboxError(ImapErrorCode.FOLDER_FAILED,
                           f"the processed folder {target!r} of {_who(account)} cannot be "
                           f"created: {_server_text(exc)}") from exc
    uidnext = info.get(b"UIDNEXT")
    return _Folder(
        uidvalidity=int(info[b"UIDVALIDITY"]),
        uidnext=int(uidnext) if uidnext is not None else None,
        keywords=b"\\*" in tuple(info.get(b"PERMANENTFLAGS", ())),
        move=b"MOVE" in capabilities,
        uidplus=b"UIDPLUS" in capabilities,
    )


def _mark_sync(client: Any, uids: list[int], folder: _Folder, processed_folder: str | None
               ) -> None:
    client.add_flags(uids, [SEEN, KEYWORD] if folder.keywords else [SEEN], silent=True)
    if not processed_folder:
        return
    if folder.move:
        client.move(uids, processed_folder)
        return
    client.copy(uids, processed_folder)
    client.delete_messages(uids, silent=True)
    # Without UIDPLUS an EXPUNGE would also remove what the mailbox's owner deleted; the
    # copies stay marked \Deleted instead (below last_uid, so never fetched again).
    if folder.uidplus:
        client.uid_expunge(uids)


async def poll_account(
    db: AsyncSession,
    account: EmailAccount,
    *,
    batch_size: int = 50,
    limit: int | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> PollResult:
    """Fetch the messages after `last_uid` (at most about `limit`, in whole batches) into the
    inbound path; raise MailboxError (also recorded on the account) when the mailbox cannot be
    read or a message cannot be stored."""
    result = PollResult(account.id, last_uid=account.last_uid)
    if oauth.needs_authorization(account):
        result.skipped = "needs authorization"
        return result
    host, who = account.imap_host, _who(account)
    with _exclusive(account.id) as mine:
        if not mine:
            result.skipped = "busy"
            return result
        try:
            channel = await db.get(Channel, account.channel_id)
            if channel is None:
                raise MailboxError(ImapErrorCode.NOT_CONFIGURED,
                                   f"the channel of {account.address} no longer exists")
            async with _session(db, account, ssl_context) as client:
                await _drain(db, account, channel, client, batch_size, limit, result)
        except MailboxError as exc:
            await _record_error(db, account, exc)
            raise
        except (OSError, IMAPClientError) as exc:
            error = MailboxError(
                ImapErrorCode.CONNECTION_LOST,
                f"the IMAP connection to {host} for {who} broke: "
                f"{_server_text(exc)}; {result.fetched} messages were stored, the rest are "
                "fetched by the next poll")
            await _record_error(db, account, error)
            raise error from exc
    await _fresh(db, account)
    account.last_error = None
    account.last_checked_at = now()
    await commit(db)
    result.last_uid = account.last_uid
    return result


async def _drain(db: AsyncSession, account: EmailAccount, channel: Channel, client: Any,
                 batch_size: int, limit: int | None, result: PollResult) -> None:
    folder = await _select(account, client)
    if account.uidvalidity != folder.uidvalidity:
        if account.uidvalidity is not None:
            # The server renumbered the folder: every UID we knew means nothing now. Start
            # over; messages already stored come back as duplicates and change nothing.
            log.warning("UIDVALIDITY of %s changed from %s to %s: reading the folder again",
                        _who(account), account.uidvalidity, folder.uidvalidity)
            result.uidvalidity_reset = True
        account.uidvalidity = folder.uidvalidity
        account.last_uid = 0
        await commit(db)
    if folder.uidnext is not None and folder.uidnext <= account.last_uid + 1:
        return  # nothing new since the last poll: no SEARCH needed
    criteria: list[Any] = ["UID", f"{account.last_uid + 1}:*"]
    if folder.keywords and not account.processed_folder:
        # Marked by an earlier poll whose last_uid never got committed (a crash, a reset).
        criteria += ["NOT", "KEYWORD", KEYWORD]
    found = await _run(client.search, criteria)
    # "n:*" always matches the newest message, even one below n.
    uids = sorted(uid for uid in found if uid > account.last_uid)
    for start in range(0, len(uids), batch_size):
        if limit is not None and result.fetched >= limit:
            result.more = True
            return
        for part in await _by_size(client, uids[start:start + batch_size]):
            await _batch(db, account, channel, client, part, folder, result)


async def _by_size(client: Any, uids: list[int]) -> list[list[int]]:
    """Split a batch so that no single FETCH holds more than FETCH_BYTES in memory."""
    sizes = await _run(client.fetch, uids, ["RFC822.SIZE"])
    parts: list[list[int]] = [[]]
    total = 0
    for uid in uids:
        size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
        if parts[-1] and total + size > FETCH_BYTES:
            parts.append([])
            total = 0
        parts[-1].append(uid)
        total += size
    return parts


async def _batch(db: AsyncSession, account: EmailAccount, channel: Channel, client: Any,
                 uids: list[int], folder: _Folder, result: PollResult) -> None:
    who = _who(account)  # read now: a failed commit below expires the account
    data = await _run(client.fetch, uids, ["BODY.PEEK[]"])
    consumed: list[int] = []
    failure: MailboxError | None = None
    # The inbound path stores and writes a chunk of messages per transaction.
    size = min(INGEST_CHUNK, max(1, len(uids)))
    for start in range(0, len(uids), size):
        chunk = uids[start:start + size]
        # A UID without a body was expunged since the SEARCH: nothing left to read.
        present = [(uid, data[uid][b"BODY[]"]) for uid in chunk
                   if data.get(uid, {}).get(b"BODY[]") is not None]
        try:
            await _fresh(db, channel)
            outcomes = await inbound.receive_batch(
                db, channel=channel, bodies=[bytes(body) for _, body in present],
                content_type="message/rfc822")
        except Exception as exc:
            # Not stored (or not known to be): these messages stay unmarked and last_uid stays
            # before them, so the next poll reads them again. Nothing behind them is read now,
            # since last_uid cannot skip them.
            first = present[0][0] if present else chunk[0]
            log.exception("storing UID %s (and the %s after it) of %s failed", first,
                          len(present) - 1, who)
            await rollback(db)
            failure = MailboxError(
                ImapErrorCode.STORE_FAILED,
                f"storing message UID {first} of {who} failed ({exc!r}); it stays "
                "unmarked on the server and is read again by the next poll")
            break
        consumed.extend(chunk)
        result.fetched += len(present)
        for outcome in outcomes:
            result.outcomes[outcome.outcome.value] += 1
    if consumed:
        await _fresh(db, account)
        stored = [uid for uid in consumed if uid in data]
        if stored:
            await _run(_mark_sync, client, stored, folder, account.processed_folder)
        account.last_uid = consumed[-1]
        await commit(db)
        result.last_uid = account.last_uid
    if failure is not None:
        raise failure


# --------------------------------------------------------------------------------------------
# Watching: IDLE where the server offers it, polling otherwise


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def _news(responses: list[Any]) -> bool:
    return any(isinstance(r, tuple) and len(r) >= 2 and r[1] in (b"EXISTS", b"RECENT")
               for r in responses)


async def _idle_until_news(client: Any, stop: asyncio.Event, seconds: float,
                           check_every: float) -> bool:
    """IDLE until the server reports new mail (True), `seconds` pass or stop is set."""
    await _run(client.idle)
    deadline = time.monotonic() + seconds
    try:
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if _news(await _run(client.idle_check, min(check_every, left))):
                return True
        return False
    finally:
        await _run(client.idle_done)


async def watch_account(
    account_id: int,
    *,
    stop: asyncio.Event,
    sessions: SessionFactory | None = None,
    poll_interval: float = 60.0,
    idle_refresh: float = IDLE_REFRESH_SECONDS,
    check_every: float = 1.0,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Keep one mailbox read until `stop` is set: a poll, then IDLE until the server reports
    new mail (re-issued every `idle_refresh` seconds), or a poll every `poll_interval` seconds
    where the server has no IDLE. Failures are recorded on the account and retried with
    back-off; an account that is removed, switched off or needs a new sign-in ends the watch."""
    factory: SessionFactory = sessions or context.get().database.sessionmaker
    failures = 0
    client: Any = None  # the IDLE connection, kept between wake-ups
    try:
        while not stop.is_set():
            idle = False
            try:
                async with factory() as db:
                    account = await db.get(EmailAccount, account_id)
                    if account is None or not account.is_active or not account.imap_host:
                        return
                    await poll_account(db, account, ssl_context=ssl_context)
                    if oauth.needs_authorization(account):
                        return
                    if client is None:
                        client = await _open(db, account, ssl_context)
                        await _select(account, client)
                idle = bool(await _run(client.has_capability, "IDLE"))
                failures = 0
                if idle:
                    await _idle_until_news(client, stop, idle_refresh, check_every)
            except MailboxError as exc:
                failures += 1
                log.warning("watching email account %s: %s", account_id, exc.message)
            except (OSError, IMAPClientError) as exc:
                failures += 1
                log.warning("watching email account %s: connection broke: %s", account_id, exc)
            except Exception:
                failures += 1
                log.exception("watching email account %s failed", account_id)
            if failures or not idle:
                if client is not None:
                    await _run(_close_sync, client)
                    client = None
                backoff = poll_interval * 2 ** min(failures - 1, 5) if failures else 0.0
                await _sleep(stop, min(backoff, 900.0) if failures else poll_interval)
    finally:
        if client is not None:
            await _run(_close_sync, client)
