"""IMAP polling against a real Dovecot: tickets from mail, nothing twice, nothing lost."""

from __future__ import annotations

import asyncio
import sqlite3
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.channels.email import actions, imap, tasks
from sellerdesk.channels.email.models import EmailAccount
from sellerdesk.channels.models import RawPayload
from sellerdesk.core import context
from sellerdesk.tickets.models import Message, Ticket
from tests.channels.email.dovecot import (
    KEYWORD,
    Dovecot,
    cli_context_fixture,  # noqa: F401 (a fixture)
    dovecot_fixture,  # noqa: F401 (a fixture)
    free_port,
    mail,
    new_user,
    oauth_server_fixture,  # noqa: F401 (a fixture)
    sellerdesk,
)

SEEN = b"\\Seen"
AccountFactory = Callable[..., Awaitable[EmailAccount]]


@pytest.fixture
def make_account(db: AsyncSession, store: Store, dovecot: Dovecot) -> AccountFactory:
    async def make(**settings: Any) -> EmailAccount:
        user = settings.pop("user", None) or new_user()
        values: dict[str, Any] = {
            "imap_host": dovecot.host, "imap_port": dovecot.port, "imap_security": "none",
            "imap_username": user, "password": Dovecot.PASSWORD, **settings,
        }
        return await actions.create_account(db, store_id=store.id, address=user, **values)

    return make


async def external_ids(db: AsyncSession, account: EmailAccount) -> list[str]:
    rows = await db.execute(select(Message.external_id).where(
        Message.channel_id == account.channel_id).order_by(Message.external_id))
    return [str(r) for r in rows.scalars()]


async def ticket_count(db: AsyncSession, account: EmailAccount) -> int:
    return int(await db.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.channel_id == account.channel_id)) or 0)


def processed(flags: set[bytes]) -> bool:
    return {SEEN, KEYWORD} <= flags


async def test_poll_turns_new_mail_into_tickets_and_marks_it_processed(
    db: AsyncSession, dovecot: Dovecot, make_account: AccountFactory
) -> None:
    account = await make_account()
    dovecot.append(account.address, mail(1), mail(2), mail(3))

    result = await imap.poll_account(db, account)

    assert (result.fetched, result.outcomes["created"], result.last_uid) == (3, 3, 3)
    assert await external_ids(db, account) == ["m1@shop.example", "m2@shop.example",
                                               "m3@shop.example"]
    assert await ticket_count(db, account) == 3
    flags = dovecot.flags(account.address)
    assert all(processed(f) for f in flags.values()), flags
    assert account.uidvalidity == dovecot.uidvalidity(account.address)
    assert account.last_uid == 3
    assert account.last_error is None
    assert account.last_checked_at is not None


async def test_a_second_poll_fetches_only_what_is_new(
    db: AsyncSession, dovecot: Dovecot, make_account: AccountFactory
) -> None:
    account = await make_account()
    dovecot.append(account.address, mail(1), mail(2))
    await imap.poll_account(db, account)

    again = await imap.poll_account(db, account)
    dovecot.append(account.address, mail(3))
    third = await imap.poll_account(db, account)

    assert again.fetched == 0
    assert (third.fetched, third.outcomes["created"], third.last_uid) == (1, 1, 3)
    assert len(await external_ids(db, account)) == 3
    assert await ticket_count(db, account) == 3


async def test_a_poll_stops_at_its_limit_and_the_next_one_goes_on(
    db: AsyncSession, dovecot: Dovecot, make_account: AccountFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = await make_account()
    dovecot.append(account.address, *(mail(n, body="x" * 2000) for n in range(1, 6)))
    monkeypatch.setattr(imap, "FETCH_BYTES", 3000)  # one message per FETCH

    first = await imap.poll_account(db, account, batch_size=2, limit=3)
    second = await imap.poll_account(db, account, batch_size=2, limit=3)

    assert (first.fetched, first.more, first.last_uid) == (4, True, 4)
    assert (second.fetched, second.more, second.last_uid) == (1, False, 5)
    assert len(await external_ids(db, account)) == 5
    assert all(processed(f) for f in dovecot.flags(account.address).values())


async def test_a_reply_in_the_mailbox_joins_its_ticket(
    db: AsyncSession, dovecot: Dovecot, make_account: AccountFactory
) -> None:
    account = await make_account()
    reply = mail(2, subject="Re: Zamówienie 1").replace(
        b"Message-ID:", b"In-Reply-To: <m1@shop.example>\r\nMessage-ID:", 1)
    dovecot.append(account.address, mail(1), reply)

    result = await imap.poll_account(db, account)

    assert (result.outcomes["created"], result.outcomes["appended"]) == (1, 1)
    assert await ticket_count(db, account) == 1


async def test_a_message_is_marked_only_after_its_raw_payload_is_committed(
    db: AsyncSession, dovecot: Dovecot, make_account: AccountFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given five messages, and a database whose commit fails once: when the raw payload of
    # the third message is being committed
    account = await make_account()
    dovecot.append(account.address, *(mail(n) for n in range(1, 6)))
    real_commit = db.commit
    failed: list[bytes] = []

    async def flaky_commit() -> None:
        pending = [o for o in db.new if isinstance(o, RawPayload)]
        if not failed and any(b"<m3@shop.example>" in o.body for o in pending):
            failed.append(pending[0].body)
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))
        await real_commit()

    monkeypatch.setattr(db, "commit", flaky_commit)

    # when the mailbox is polled two messages at a time (the inbound path stores each batch
    # in one commit: m1+m2, then m3+m4, whose commit fails)
    with pytest.raises(imap.MailboxError) as err:
        await imap.poll_account(db, account, batch_size=2)

    # then the two before it are stored and marked, it and those behind it are neither
    assert err.value.code == imap.ImapErrorCode.STORE_FAILED
    assert failed
    assert await external_ids(db, account) == ["m1@shop.example", "m2@shop.example"]
    flags = dovecot.flags(account.address)
    assert [processed(flags[f"<m{n}@shop.example>"]) for n in range(1, 6)] == [
        True, True, False, False, False]
    assert SEEN not in flags["<m3@shop.example>"]  # fetching did not mark it read either
    assert account.last_uid == 2
    assert account.last_error is not None
    assert account.last_error.startswith("storing message UID 3 of ")
    assert "read again by the next poll" in account.last_error

    # and the next poll reads it (and the rest) again
    result = await imap.poll_account(db, account)

    assert (result.fetched, result.outcomes["created"]) == (3, 3)
    assert await external_ids(db, account) == [f"m{n}@shop.example" for n in range(1, 6)]
    assert all(processed(f) for f in dovecot.flags(account.address).values())
    assert account.last_error is None


async def test_a_broken_message_is_quarantined_and_does_not_block_the_rest(
    db: AsyncSession, dovecot: Dovecot, make_account: AccountFactory
) -> None:
    account = await make_account()
    broken = b"%PDF-1.4\r\n%\xe2\xe3\xcf\xd3\r\n1 0 obj << >> endobj\r\n"
    dovecot.append(account.address, mail(1), broken, mail(3))

    result = await imap.poll_account(db, account)

    assert (result.fetched, result.outcomes["created"], result.outcomes["quarantined"]) == (
        3, 2, 1)
    raw = (await db.execute(select(RawPayload).where(
        RawPayload.channel_id == account.channel_id, RawPayload.status == "quarantined"))
    ).scalar_one()
    assert raw.body == broken
    assert raw.error_code == "email.not_mime"
    assert all(processed(f) for f in dovecot.flags(account.address).values())


async def test_a_changed_uidvalidity_reads_the_folder_again_without_duplicates(
    db: AsyncSession, dovecot: Dovecot, make_account: AccountFactory
) -> None:
    account = await make_account(imap_folder="Support")
    dovecot.append(account.address, mail(1), mail(2), folder="Support")
    await imap.poll_account(db, account)
    old_validity = account.uidvalidity
    # the server rebuilds the folder: same mail, new UIDs under a new UIDVALIDITY, one new
    with dovecot.client(account.address) as owner:
        owner.delete_folder("Support")
    dovecot.append(account.address, mail(1), mail(2), mail(3), folder="Support")
    new_validity = dovecot.uidvalidity(account.address, "Support")
    assert new_validity != old_validity

    result = await imap.poll_account(db, account)

    assert result.uidvalidity_reset
    assert (result.fetched, result.outcomes["duplicate"], result.outcomes["created"]) == (
        3, 2, 1)
    assert await external_ids(db, account) == [f"m{n}@shop.example" for n in (1, 2, 3)]
    assert (account.uidvalidity, account.last_uid) == (new_validity, 3)
    assert all(processed(f) for f in dovecot.flags(account.address, "Support").values())


async def test_processed_mail_is_moved_to_the_processed_folder(
    db: AsyncSession, dovecot: Dovecot, make_account: AccountFactory
) -> None:
    account = await make_account(processed_folder="Processed")
    dovecot.append(account.address, mail(1), mail(2))

    result = await imap.poll_account(db, account)
    again = await imap.poll_account(db, account)

    assert (result.fetched, again.fetched) == (2, 0)
    assert dovecot.flags(account.address) == {}
    moved = dovecot.flags(account.address, "Processed")
    assert sorted(moved) == ["<m1@shop.example>", "<m2@shop.example>"]
    assert all(processed(f) for f in moved.values())


async def test_a_wrong_password_is_a_clear_error_on_the_account(
    db: AsyncSession, dovecot: Dovecot, make_account: AccountFactory
) -> None:
    account = await make_account(password="not-the-password")
    dovecot.append(account.address, mail(1))

    with pytest.raises(imap.MailboxError) as err:
        await imap.poll_account(db, account)

    expected = (f"IMAP login failed for {account.address}: "
                "[AUTHENTICATIONFAILED] Authentication failed.")
    assert (err.value.code, err.value.message) == (imap.ImapErrorCode.LOGIN_FAILED, expected)
    assert account.last_error == expected
    assert account.last_uid == 0
    assert await external_ids(db, account) == []
    assert dovecot.flags(account.address)["<m1@shop.example>"] == {b"\\Recent"}


async def test_an_unreachable_server_is_a_clear_error(
    db: AsyncSession, make_account: AccountFactory
) -> None:
    port = free_port()  # nothing listens there
    account = await make_account(imap_port=port)

    with pytest.raises(imap.MailboxError) as err:
        await imap.poll_account(db, account)

    assert err.value.code == imap.ImapErrorCode.CONNECT_FAILED
    assert account.last_error is not None
    assert account.last_error.startswith(
        f"cannot connect to the IMAP server 127.0.0.1:{port} (none) of {account.address}: ")
    assert "refused" in account.last_error.lower()


@pytest.mark.parametrize("security", ["ssl", "starttls"])
async def test_tls_is_verified_and_a_trusted_server_is_read(
    db: AsyncSession, dovecot: Dovecot, make_account: AccountFactory, security: str
) -> None:
    port = dovecot.tls_port if security == "ssl" else dovecot.port
    account = await make_account(imap_security=security, imap_port=port)
    dovecot.append(account.address, mail(1))

    # the test server's certificate is self-signed: refused unless trusted
    with pytest.raises(imap.MailboxError) as untrusted:
        await imap.poll_account(db, account)
    trusted = ssl.create_default_context(cafile=str(dovecot.cert))
    result = await imap.poll_account(db, account, ssl_context=trusted)

    assert untrusted.value.code == imap.ImapErrorCode.CONNECT_FAILED
    assert untrusted.value.message.startswith(
        f"cannot connect to the IMAP server 127.0.0.1:{port} ({security}) of "
        f"{account.address}: ")
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.value.message
    assert result.fetched == 1
    assert account.last_error is None


async def test_a_missing_folder_is_a_clear_error(
    db: AsyncSession, make_account: AccountFactory
) -> None:
    account = await make_account(imap_folder="Nie ma takiego")

    with pytest.raises(imap.MailboxError) as err:
        await imap.poll_account(db, account)

    assert err.value.code == imap.ImapErrorCode.FOLDER_FAILED
    assert account.last_error is not None
    assert account.last_error.startswith(
        f"the IMAP folder 'Nie ma takiego' of {account.address} cannot be opened: ")


async def test_the_periodic_sweep_polls_every_account_and_survives_a_broken_one(
    db: AsyncSession, dovecot: Dovecot, make_account: AccountFactory
) -> None:
    broken = await make_account(password="wrong")
    first = await make_account()
    second = await make_account()
    dovecot.append(first.address, mail(1, domain="a.example"))
    dovecot.append(second.address, mail(1, domain="b.example"), mail(2, domain="b.example"))

    fetched = await tasks.poll_mailboxes(db)

    assert fetched == 3
    assert broken.last_error is not None
    assert broken.last_error.startswith("IMAP login failed")
    assert await external_ids(db, first) == ["m1@a.example"]
    assert await external_ids(db, second) == ["m1@b.example", "m2@b.example"]


async def test_idle_wakes_up_on_new_mail_within_seconds(
    db: AsyncSession, dovecot: Dovecot, make_account: AccountFactory
) -> None:
    account = await make_account()
    dovecot.append(account.address, mail(1))

    @asynccontextmanager
    async def shared() -> AsyncIterator[AsyncSession]:
        yield db

    stop = asyncio.Event()
    # Polling every 10 minutes: only IDLE can bring the second message in quickly.
    watcher = asyncio.create_task(imap.watch_account(
        account.id, stop=stop, sessions=shared, poll_interval=600, check_every=0.2))
    try:
        await _until(lambda: processed(dovecot.flags(account.address).get(
            "<m1@shop.example>", set())), 10)
        await asyncio.sleep(0.5)  # in IDLE by now
        started = time.monotonic()
        await asyncio.to_thread(dovecot.append, account.address, mail(2))
        await _until(lambda: processed(dovecot.flags(account.address).get(
            "<m2@shop.example>", set())), 10)
        waited = time.monotonic() - started
    finally:
        stop.set()
        await asyncio.wait_for(watcher, 10)

    assert waited < 5
    assert await external_ids(db, account) == ["m1@shop.example", "m2@shop.example"]


async def _until(check: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {seconds} s")
        await asyncio.sleep(0.1)


@pytest.mark.usefixtures("cli_context")
def test_the_email_commands_add_a_mailbox_and_poll_it_once(
    dovecot: Dovecot, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    good, bad = new_user(), new_user()
    dovecot.append(good, mail(1), mail(2))
    assert sellerdesk(data, "store", "create", "--slug", "acme", "--name", "Acme").exit_code == 0
    server = ["--imap-host", dovecot.host, "--imap-port", str(dovecot.port),
              "--imap-security", "none"]

    added = sellerdesk(data, "email", "add-account", "--store", "acme", "--address", good,
                       *server, SELLERDESK_IMAP_PASSWORD=Dovecot.PASSWORD)
    sellerdesk(data, "email", "add-account", "--store", "acme", "--address", bad, *server,
               "--password", "wrong")
    polled = sellerdesk(data, "email", "poll", "--once")
    again = sellerdesk(data, "email", "poll", "--once", "--account", "1")

    assert added.exit_code == 0, added.output
    assert added.output == "email account 1 created (channel 1)\n"
    assert polled.exit_code == 1
    assert f"{good}: 2 fetched (2 created)" in polled.output
    assert (f"{bad}: FAILED: IMAP login failed for {bad}: [AUTHENTICATIONFAILED] "
            "Authentication failed.") in polled.output
    assert (again.exit_code, again.output) == (0, f"{good}: nothing new\n")
    with sqlite3.connect(data / "sellerdesk.db") as conn:
        stored = conn.execute("SELECT password_sealed FROM email_accounts").fetchall()
        ids = conn.execute("SELECT external_id FROM messages ORDER BY 1").fetchall()
    assert all(Dovecot.PASSWORD not in str(row) and "wrong" not in str(row) for row in stored)
    assert ids == [("m1@shop.example",), ("m2@shop.example",)]


async def test_serve_keeps_one_watcher_per_readable_mailbox_and_stops_them(
    db: AsyncSession, make_account: AccountFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    readable = await make_account()
    await make_account(is_active=False)
    await make_account(auth_method="oauth2", oauth_provider="google")  # never signed in
    watching: list[int] = []

    async def watch(account_id: int, *, stop: asyncio.Event) -> None:
        watching.append(account_id)
        await stop.wait()
        watching.remove(account_id)

    @asynccontextmanager
    async def shared() -> AsyncIterator[AsyncSession]:
        yield db

    monkeypatch.setattr(imap, "watch_account", watch)
    monkeypatch.setattr(context.get().database, "sessionmaker", shared)
    stop = asyncio.Event()
    supervisor = asyncio.create_task(tasks.run_watchers(stop))
    await _until(lambda: bool(watching), 5)

    assert watching == [readable.id]
    assert readable.id in tasks._watched
    assert await tasks.poll_mailboxes(db) == 0  # the sweep leaves a watched mailbox alone
    stop.set()
    await asyncio.wait_for(supervisor, 5)
    assert (watching, tasks._watched) == ([], set())
