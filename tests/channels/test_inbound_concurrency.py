"""Two first messages from one new sender, ingested at the same moment on real connections."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.pool import NullPool

from sellerdesk.accounts import actions as accounts
from sellerdesk.channels.base import IdentityKind, InboundMessage, SenderIdentity
from sellerdesk.channels.inbound import IngestResult, Outcome, ingest
from sellerdesk.core.db import Database
from sellerdesk.core.migrate import upgrade_connection
from sellerdesk.customers.models import Customer, CustomerIdentity
from sellerdesk.tickets.models import Message
from tests.conftest import TEST_DB_ENV, _create_private_database, _drop_private_database


@pytest.fixture
async def own_database(tmp_path: Path, database: Database) -> AsyncIterator[Database]:
    """A database of this test's own: committed rows must not leak into other tests (the
    session-wide `database` is asked for only for the process context it sets up)."""
    server = os.environ.get(TEST_DB_ENV)
    if server:
        server = server.replace("postgresql://", "postgresql+asyncpg://", 1)
        url = await _create_private_database(server)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'race.db'}"
    own = Database(url, poolclass=NullPool)
    async with own.engine.connect() as conn:
        await conn.run_sync(upgrade_connection)
        await conn.commit()
    yield own
    await own.dispose()
    if server:
        await _drop_private_database(server, url)


async def test_first_messages_from_one_new_sender_at_once_share_one_customer(
    own_database: Database,
) -> None:
    # given a store with an API channel, and a sender it has never seen
    async with own_database.sessionmaker() as db:
        store = await accounts.create_store(db, slug="race", name="Race")
        channel, _ = await accounts.create_channel(db, store_id=store.id, type="api",
                                                   name="API")
    sender = SenderIdentity(IdentityKind.EMAIL, "new@example.pl", "Nowa Klientka")

    async def arrive(n: int) -> IngestResult:
        message = InboundMessage(
            store_id=store.id, channel_id=channel.id, channel_type="api",
            external_id=f"first-{n}", sender=sender, subject=f"Pytanie {n}",
            text="Dzień dobry, gdzie jest moja paczka?",
        )
        async with own_database.sessionmaker() as db:
            return await ingest(db, message)

    # when both arrive together, each in its own session and transaction
    results = await asyncio.gather(arrive(1), arrive(2))

    # then both are stored, and the sender is one customer with one identity
    assert sorted(r.outcome for r in results) == [Outcome.CREATED, Outcome.CREATED]
    async with own_database.sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(Message)) == 2
        assert await db.scalar(select(func.count()).select_from(Customer)) == 1
        assert await db.scalar(select(func.count()).select_from(CustomerIdentity)) == 1
