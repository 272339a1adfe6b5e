"""Fair under concurrency: many routers at once, each on its own connection, never give an
agent more than their capacity. Meant for PostgreSQL (row locks); on SQLite the same test
checks that serialized writers give the same answer."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.pool import NullPool

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Team
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.routing import actions, engine
from sellerdesk.automation.routing.models import QueuedTicket
from sellerdesk.channels.base import IdentityKind, InboundMessage, SenderIdentity
from sellerdesk.channels.inbound import ingest
from sellerdesk.core.actor import SYSTEM
from sellerdesk.core.db import Database
from sellerdesk.core.migrate import upgrade_connection
from sellerdesk.jobs.models import Job
from sellerdesk.tickets.models import AuditEvent, Ticket
from tests.conftest import TEST_DB_ENV, _create_private_database, _drop_private_database

ROUTERS = 20
SEATS_EACH = 2  # three agents: six seats in all


@pytest.fixture
async def own_database(tmp_path: Path, database: Database) -> AsyncIterator[Database]:
    """A database of this test's own: the routers commit for real, on separate connections."""
    server = os.environ.get(TEST_DB_ENV)
    if server:
        server = server.replace("postgresql://", "postgresql+asyncpg://", 1)
        url = await _create_private_database(server)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'routing-race.db'}"
    own = Database(url, poolclass=NullPool)
    async with own.engine.connect() as conn:
        await conn.run_sync(upgrade_connection)
        await conn.commit()
    yield own
    await own.dispose()
    if server:
        await _drop_private_database(server, url)


@dataclass
class Floor:
    store_id: int
    teams: list[Team]
    agent_ids: list[int]
    ticket_ids: list[int]


async def _floor(database: Database, *, teams: int) -> Floor:
    """Three online agents with two chat seats each, in `teams` teams that all hold all three,
    and ROUTERS chats spread over the teams, nobody's yet."""
    async with database.sessionmaker() as db:
        store = await accounts.create_store(db, slug="race", name="Race")
        agents = [await accounts.create_agent(db, store_id=store.id, email=f"a{i}@race.test",
                                              name=f"Agent {i}", role=Role.AGENT)
                  for i in range(3)]
        ids = [a.id for a in agents]
        made = [await accounts.create_team(db, store_id=store.id, name=f"Team {n}",
                                           agent_ids=ids) for n in range(teams)]
        channel, _ = await accounts.create_channel(db, store_id=store.id, type="chat",
                                                   name="Chat")
        await actions.update_settings(db, store_id=store.id, actor=SYSTEM,
                                      changes={"capacities": {"chat": SEATS_EACH}})
        for agent in agents:
            await actions.set_availability(db, agent_id=agent.id, status="online", actor=SYSTEM)
        tickets = []
        for n in range(ROUTERS):
            result = await ingest(db, InboundMessage(
                store_id=store.id, channel_id=channel.id, channel_type="chat",
                external_id=f"chat-{n}",
                sender=SenderIdentity(IdentityKind.EMAIL, f"c{n}@example.com", f"Klient {n}"),
                subject=f"Czat {n}", text="Dzień dobry, gdzie jest moja paczka?",
            ))
            assert result.ticket_id is not None
            await db.execute(update(Ticket).where(Ticket.id == result.ticket_id)
                             .values(team_id=made[n % teams].id))
            tickets.append(result.ticket_id)
        # The inbound jobs would route one by one; this test routes them all at once itself.
        await db.execute(delete(Job))
        await db.commit()
        return Floor(store.id, made, ids, tickets)


async def _set_mode(database: Database, floor: Floor, mode: str) -> None:
    async with database.sessionmaker() as db:
        for team in floor.teams:
            await actions.update_team_routing(db, team=team, actor=SYSTEM,
                                              changes={"mode": mode})
        # Turning routing on queues and enqueues a drain; the test runs its own routers.
        await db.execute(delete(QueuedTicket))
        await db.execute(delete(Job))
        await db.commit()


async def _reset(database: Database, floor: Floor) -> None:
    async with database.sessionmaker() as db:
        await db.execute(update(Ticket).values(assignee_id=None))
        await db.execute(delete(QueuedTicket))
        await db.execute(delete(Job))
        await db.commit()


async def _route(database: Database, ticket_id: int) -> None:
    async with database.sessionmaker() as db:
        await engine.route_ticket(db, ticket_id=ticket_id, trigger="race")


async def _drain(database: Database, team_id: int) -> None:
    async with database.sessionmaker() as db:
        await engine.drain(db, team_id=team_id)


async def _outcome(database: Database, floor: Floor) -> tuple[Counter[int | None], int, int]:
    async with database.sessionmaker() as db:
        holders = Counter((await db.execute(select(Ticket.assignee_id))).scalars())
        queued = await db.scalar(select(func.count()).select_from(QueuedTicket))
        routed = await db.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "ticket.routed"))
    return holders, int(queued or 0), int(routed or 0)


@pytest.mark.parametrize("teams", [1, 2], ids=["one team", "two teams sharing agents"])
async def test_twenty_routers_at_once_fill_exactly_the_six_seats(
    own_database: Database, backend: str, teams: int
) -> None:
    # given three online agents with two chat seats each, and twenty waiting chats
    floor = await _floor(own_database, teams=teams)
    routed_before = 0

    for mode in ("load_balanced", "round_robin", "skills", "load_balanced"):
        await _set_mode(own_database, floor, mode)

        # when twenty routers run at the same moment, each on its own connection
        await asyncio.gather(*(_route(own_database, t) for t in floor.ticket_ids))

        # then exactly six are assigned, two per agent, and the other fourteen wait in queues
        holders, queued, routed = await _outcome(own_database, floor)
        assert holders == Counter({None: ROUTERS - 6, **dict.fromkeys(floor.agent_ids, 2)}), (
            backend, mode)
        assert queued == ROUTERS - 6
        assert routed - routed_before == 6
        routed_before = routed
        await _reset(own_database, floor)


async def test_routers_and_drains_racing_never_exceed_capacity(own_database: Database) -> None:
    # given the same floor, half the chats already queued
    floor = await _floor(own_database, teams=1)
    await _set_mode(own_database, floor, "round_robin")
    team_id = floor.teams[0].id

    for _ in range(3):
        async with own_database.sessionmaker() as db:
            db.add_all(QueuedTicket(ticket_id=t, store_id=floor.store_id, team_id=team_id)
                       for t in floor.ticket_ids[::2])
            await db.commit()

        # when routers for the other half and five drains of the queue run together
        await asyncio.gather(
            *(_route(own_database, t) for t in floor.ticket_ids[1::2]),
            *(_drain(own_database, team_id) for _ in range(5)),
        )

        # then still six seats filled, two each, and everyone else waiting
        holders, queued, _ = await _outcome(own_database, floor)
        assert holders == Counter({None: ROUTERS - 6, **dict.fromkeys(floor.agent_ids, 2)})
        assert queued == ROUTERS - 6
        await _reset(own_database, floor)
