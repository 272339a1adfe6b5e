"""Crash test: `sellerdesk email poll --once` is killed (SIGKILL) in the middle of an IMAP batch
and started again; every message must end up stored exactly once and marked on the server.

The poller runs as a real subprocess against a database of this test's own: a SQLite file on
the SQLite pass, a private PostgreSQL database on the PostgreSQL pass (the per-test rolled-back
session cannot be shared with another process).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from sellerdesk.accounts import actions as accounts
from sellerdesk.channels.email import actions
from sellerdesk.core.config import load_settings
from sellerdesk.core.db import Database
from sellerdesk.core.migrate import upgrade_connection
from tests.channels.email.dovecot import (
    KEYWORD,
    Dovecot,
    dovecot_fixture,  # noqa: F401 (a fixture)
    mail,
    new_user,
    oauth_server_fixture,  # noqa: F401 (a fixture)
)
from tests.conftest import TEST_DB_ENV, _create_private_database, _drop_private_database

MESSAGES = 200
BATCH = 50  # the poller's default batch size
KILL_AFTER = 70  # messages stored before the kill: inside the second batch


@pytest.fixture
async def own_database(database: Database, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated database for the subprocesses: its URL. (`database` is the test run's: it
    sets up the context whose secret key seals the account's password.)"""
    server = os.environ.get(TEST_DB_ENV)
    if server:
        server = load_settings(database_url=server, data_dir=tmp_path).resolved_database_url
        url = await _create_private_database(server)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}"
    own = Database(url, poolclass=NullPool)
    async with own.engine.connect() as conn:
        await conn.run_sync(upgrade_connection)
        await conn.commit()
    await own.dispose()
    yield url
    if server:
        await _drop_private_database(server, url)


async def scalar_rows(url: str, sql: str) -> list[tuple[object, ...]]:
    """Read without taking SQLite's write lock (the poller holds it while it works)."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]

        def read() -> list[tuple[object, ...]]:
            with sqlite3.connect(path, timeout=10) as conn:
                return conn.execute(sql).fetchall()

        return await asyncio.to_thread(read)
    database = Database(url, poolclass=NullPool)
    try:
        async with database.engine.connect() as conn:
            return [tuple(r) for r in await conn.execute(text(sql))]
    finally:
        await database.dispose()


def poller(url: str, data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SELLERDESK_DATABASE_URL": url, "SELLERDESK_DATA_DIR": str(data_dir),
           "SELLERDESK_SECRET_KEY": "test-secret", "SELLERDESK_LOG_LEVEL": "warning"}
    env.pop(TEST_DB_ENV, None)
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "sellerdesk", "email", "poll", "--once"],
            env=env, stdout=out, stderr=subprocess.STDOUT)


async def test_a_poller_killed_mid_batch_loses_and_duplicates_nothing(
    own_database: str, dovecot: Dovecot, tmp_path: Path
) -> None:
    # given a mailbox with 200 messages and an account for it in the poller's database
    user = new_user("crash")
    database = Database(own_database, poolclass=NullPool)
    async with database.sessionmaker() as db:
        store = await accounts.create_store(db, slug="acme", name="Acme Shop")
        account = await actions.create_account(
            db, store_id=store.id, address=user, imap_host=dovecot.host, imap_port=dovecot.port,
            imap_security="none", password=Dovecot.PASSWORD)
        channel_id = account.channel_id
    await database.dispose()
    expected = {f"m{n}@crash.example" for n in range(1, MESSAGES + 1)}
    await asyncio.to_thread(dovecot.append, user,
                            *(mail(n, domain="crash.example") for n in range(1, MESSAGES + 1)))
    log = tmp_path / "poller.log"
    # The database is this test's alone: whole tables are this mailbox's.
    count = "SELECT count(*) FROM messages"

    # when the poller is killed in the middle of a batch
    first = poller(own_database, tmp_path / "data", log)
    deadline = time.monotonic() + 60
    while (await scalar_rows(own_database, count))[0][0] < KILL_AFTER:  # type: ignore[operator]
        assert first.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"the poller stored nothing: {log.read_text()}"
        await asyncio.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL

    # then what it left behind is consistent: whatever is marked on the server is stored
    stored = {str(r[0]) for r in await scalar_rows(
        own_database, "SELECT external_id FROM messages")}
    flags = await asyncio.to_thread(dovecot.flags, user)
    marked = {mid.strip("<>") for mid, f in flags.items() if KEYWORD in f}
    assert KILL_AFTER <= len(stored) < MESSAGES
    assert len(marked) < MESSAGES
    assert marked <= stored
    # the first batch was marked, the one it was killed in was not
    assert 0 < len(marked) < len(stored), (len(marked), len(stored))
    assert len(marked) % BATCH == 0, len(marked)

    # and when it is started again and runs to the end
    second = poller(own_database, tmp_path / "data", log)
    assert await asyncio.to_thread(second.wait, 120) == 0, log.read_text()

    # every message is stored exactly once, and all are marked processed on the server
    rows = await scalar_rows(
        own_database, "SELECT external_id, count(*) FROM messages GROUP BY external_id")
    assert {str(r[0]) for r in rows} == expected
    assert all(r[1] == 1 for r in rows)
    assert (await scalar_rows(own_database, count))[0][0] == MESSAGES
    tickets = await scalar_rows(own_database, "SELECT count(*), min(channel_id), max(channel_id) "
                                              "FROM tickets")
    assert tickets == [(MESSAGES, channel_id, channel_id)]
    flags = await asyncio.to_thread(dovecot.flags, user)
    assert len(flags) == MESSAGES
    assert all({b"\\Seen", KEYWORD} <= f for f in flags.values())
    state = await scalar_rows(
        own_database, "SELECT last_uid, last_error FROM email_accounts")
    assert state == [(MESSAGES, None)]
    quarantined = await scalar_rows(
        own_database, "SELECT count(*) FROM raw_payloads WHERE status = 'quarantined'")
    assert quarantined[0][0] == 0
