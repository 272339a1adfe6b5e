"""Limits hold when agents grant at the same moment, each on its own connection: on
PostgreSQL the action's row lock serializes them, on SQLite the write lock does."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.pool import NullPool

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.permissions import Principal, Role
from sellerdesk.automation.empowerment import actions, queries
from sellerdesk.automation.empowerment.models import Grant
from sellerdesk.channels.base import IdentityKind, InboundMessage, SenderIdentity, ThreadHints
from sellerdesk.channels.inbound import ingest
from sellerdesk.core.actor import SYSTEM
from sellerdesk.core.db import Database
from sellerdesk.core.migrate import upgrade_connection
from sellerdesk.tickets.models import Ticket
from tests.conftest import TEST_DB_ENV, _create_private_database, _drop_private_database


@pytest.fixture
async def own_database(tmp_path: Path, database: Database) -> AsyncIterator[Database]:
    """A database of this test's own, so that committed rows stay out of the other tests."""
    server = os.environ.get(TEST_DB_ENV)
    if server:
        server = server.replace("postgresql://", "postgresql+asyncpg://", 1)
        url = await _create_private_database(server)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'grants.db'}"
    own = Database(url, poolclass=NullPool)
    async with own.engine.connect() as conn:
        await conn.run_sync(upgrade_connection)
        await conn.commit()
    yield own
    await own.dispose()
    if server:
        await _drop_private_database(server, url)


async def _setup(database: Database) -> tuple[list[Principal], list[int], int]:
    """Two agents, two tickets of one customer, a refund at most twice per customer (one
    granted already)."""
    async with database.sessionmaker() as db:
        store = await accounts.create_store(db, slug="race", name="Race")
        agents = [await accounts.create_agent(db, store_id=store.id, name=f"Agent {n}",
                                              email=f"a{n}@race.example", role=Role.AGENT)
                  for n in range(2)]
        channel, _ = await accounts.create_channel(db, store_id=store.id, type="api",
                                                   name="API")
        action = await actions.create_action(
            db, store_id=store.id, actor=SYSTEM, name="Refund", kind="refund",
            currency="EUR", max_amount=Decimal(30),
            limits_=[{"kind": "customer", "count": 2, "period_days": 30}])
        sender = SenderIdentity(IdentityKind.EMAIL, "ewa@example.pl", "Ewa")
        tickets = []
        for n in range(3):
            result = await ingest(db, InboundMessage(
                store_id=store.id, channel_id=channel.id, channel_type="api",
                external_id=f"m-{n}", sender=sender, subject=f"Zwrot {n}", text="Zwrot",
                hints=ThreadHints(thread_key=f"order:{n}")))
            tickets.append(result.ticket_id)
    principals = [Principal(store_id=store.id, role=Role.AGENT, agent_id=a.id) for a in agents]
    async with database.sessionmaker() as db:
        ticket = await db.get_one(Ticket, tickets[0])
        first = await actions.request_grant(db, ticket=ticket, action_id=action.id,
                                            principal=principals[0], amount=Decimal(5),
                                            reason="first")
        assert first.status == "granted"
    return principals, tickets[1:], action.id


async def _grant(database: Database, principal: Principal, ticket_id: int, action_id: int
                 ) -> str:
    async with database.sessionmaker() as db:
        ticket = await db.get_one(Ticket, ticket_id)
        grant = await actions.request_grant(db, ticket=ticket, action_id=action_id,
                                            principal=principal, amount=Decimal(5),
                                            reason="at the same time")
        return grant.status


async def test_two_grants_at_the_per_customer_limit_at_once_one_is_granted(
    own_database: Database,
) -> None:
    # given one grant left for this customer
    principals, tickets, action_id = await _setup(own_database)

    # when two agents grant at the same moment, on two tickets of the customer
    statuses = await asyncio.gather(
        _grant(own_database, principals[0], tickets[0], action_id),
        _grant(own_database, principals[1], tickets[1], action_id))

    # then exactly one gets through, the other waits for approval
    assert sorted(statuses) == ["granted", "pending_approval"]


async def test_a_grant_waits_for_one_in_flight_and_then_counts_it(
    own_database: Database,
) -> None:
    # given a transaction that holds the action and has written the last allowed grant
    principals, tickets, action_id = await _setup(own_database)
    async with own_database.sessionmaker() as holder:
        action = await queries.get_action(holder, store_id=principals[0].store_id,
                                          action_id=action_id, lock=True)
        ticket = await holder.get_one(Ticket, tickets[0])
        holder.add(Grant(store_id=action.store_id, action_id=action.id, ticket_id=ticket.id,
                         customer_id=ticket.customer_id, agent_id=principals[0].agent_id,
                         role="agent", action_name=action.name, kind=action.kind,
                         currency="EUR", amount=500, reason="in flight", status="granted",
                         exceeded=[], macro_values={}, granted_at=ticket.created_at))
        await holder.flush()

        # when another agent asks meanwhile
        other = asyncio.create_task(_grant(own_database, principals[1], tickets[1],
                                           action_id))
        await asyncio.sleep(0.5)

        # then it waits until the first commits, and sees its grant
        assert not other.done()
        await holder.commit()
    assert await asyncio.wait_for(other, timeout=20) == "pending_approval"
