"""Routing cost: what one automatic assignment costs, serving a queue, and the periodic
safety net when nothing waits.

One store, one team of --agents agents (all online, chat capacity 3 each, email unlimited),
--n open email tickets already assigned among them (the load that load-balancing counts;
rows bulk-inserted). Then, per mode (round_robin, load_balanced, skills), --k new email
tickets waiting in the team are routed one after another with `engine.route_ticket` (one
transaction each: team lock, agents' locks, load count, choice, audit, commit) and each
call is timed. Then --k chats are queued and the queue is served by `engine.drain` (the
first drain fills every chat seat; a second one finds everybody full). Then the periodic
`routing.drain_queues` with an empty queue (its steady state, every 30 s). Last, --k more
tickets are routed by --workers concurrent routers on their own connections (throughput,
and a check that nobody got more chats than their capacity).

    .venv/bin/python benchmarks/routing.py [--n 20000] [--backend sqlite|postgresql]
        [--agents 50] [--k 300] [--workers 4]
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.pool import NullPool

from _common import bench_database, emit, log, machine_info, parser, summary_ms
from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.routing import actions, engine
from sellerdesk.automation.routing.models import QueuedTicket
from sellerdesk.automation.routing.tasks import drain_queues
from sellerdesk.core.actor import SYSTEM
from sellerdesk.core.db import Database
from sellerdesk.jobs.models import Job
from sellerdesk.tickets.models import Ticket

START = datetime(2026, 11, 1, tzinfo=UTC)
PRIORITIES = ("low", "normal", "normal", "normal", "high", "urgent")


async def _setup(database: Database, *, agents: int, n: int) -> dict[str, Any]:
    async with database.sessionmaker() as db:
        store = await accounts.create_store(db, slug="bench", name="Bench")
        people = [await accounts.create_agent(db, store_id=store.id, email=f"a{i}@bench.test",
                                              name=f"Agent {i:03}", role=Role.AGENT,
                                              language=("ko", "pl", "en")[i % 3])
                  for i in range(agents)]
        team = await accounts.create_team(db, store_id=store.id, name="Support",
                                          agent_ids=[a.id for a in people])
        chat, _ = await accounts.create_channel(db, store_id=store.id, type="chat", name="Chat")
        email, _ = await accounts.create_channel(db, store_id=store.id, type="email",
                                                 name="Mail")
        for agent in people:
            await actions.set_availability(db, agent_id=agent.id, status="online", actor=SYSTEM)
        await db.execute(delete(Job))
        await db.commit()
        rows = [_ticket(store.id, email.id, "email", i, assignee=people[i % agents].id,
                        team_id=team.id) for i in range(n)]
        for start in range(0, n, 5000):
            await db.execute(insert(Ticket), rows[start:start + 5000])
        await db.commit()
    return {"store_id": store.id, "team": team, "agent_ids": [a.id for a in people],
            "chat_id": chat.id, "email_id": email.id}


def _ticket(store_id: int, channel_id: int, channel_type: str, i: int, *,
            assignee: int | None, team_id: int) -> dict[str, Any]:
    at = START + timedelta(seconds=i)
    return {"store_id": store_id, "subject": f"T{i}", "status": "open",
            "priority": PRIORITIES[i % len(PRIORITIES)], "channel_id": channel_id,
            "channel_type": channel_type, "assignee_id": assignee, "team_id": team_id,
            "language": ("ko", "pl", "en")[i % 3], "message_count": 1, "created_at": at,
            "updated_at": at}


async def _waiting(database: Database, world: dict[str, Any], channel: str, k: int,
                   offset: int) -> list[int]:
    channel_id = world["chat_id"] if channel == "chat" else world["email_id"]
    async with database.sessionmaker() as db:
        rows = [_ticket(world["store_id"], channel_id, channel, offset + i, assignee=None,
                        team_id=world["team"].id) for i in range(k)]
        result = await db.execute(insert(Ticket).returning(Ticket.id), rows)
        ids = list(result.scalars())
        await db.commit()
    return ids


async def _mode(database: Database, world: dict[str, Any], mode: str) -> None:
    async with database.sessionmaker() as db:
        await actions.update_team_routing(db, team=world["team"], actor=SYSTEM,
                                          changes={"mode": mode})
        await db.execute(delete(Job))
        await db.commit()


async def _route_each(database: Database, ids: list[int]) -> list[float]:
    times = []
    async with database.sessionmaker() as db:
        for ticket_id in ids:
            start = time.perf_counter()
            routed = await engine.route_ticket(db, ticket_id=ticket_id, trigger="bench")
            times.append(time.perf_counter() - start)
            assert routed is not None
    return times


async def run(database: Database, args: Any) -> dict[str, Any]:
    world = await _setup(database, agents=args.agents, n=args.n)
    log(f"{args.n:,} open tickets among {args.agents} agents")
    result: dict[str, Any] = {"route_one": {}}
    offset = args.n
    for mode in ("round_robin", "load_balanced", "skills"):
        await _mode(database, world, mode)
        ids = await _waiting(database, world, "email", args.k, offset)
        offset += args.k
        result["route_one"][mode] = summary_ms(await _route_each(database, ids))
        log(mode, result["route_one"][mode])

    chats = await _waiting(database, world, "chat", args.k, offset)
    offset += args.k
    async with database.sessionmaker() as db:
        await db.execute(insert(QueuedTicket), [
            {"ticket_id": t, "store_id": world["store_id"], "team_id": world["team"].id,
             "queued_at": START} for t in chats])
        await db.commit()
        start = time.perf_counter()
        first = await engine.drain(db, team_id=world["team"].id, limit=args.k)
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        second = await engine.drain(db, team_id=world["team"].id, limit=args.k)
        second_s = time.perf_counter() - start
        await db.execute(delete(QueuedTicket))
        await db.execute(delete(Job))
        await db.commit()
        empty = []
        for _ in range(50):
            start = time.perf_counter()
            await drain_queues(db)
            empty.append(time.perf_counter() - start)
    result["drain"] = {"queued": args.k, "first_assigned": first,
                       "first_ms": round(first_s * 1000, 1), "second_assigned": second,
                       "second_ms_all_full": round(second_s * 1000, 1)}
    result["periodic_empty"] = summary_ms(empty)
    log("drain", result["drain"], "periodic empty", result["periodic_empty"])

    ids = await _waiting(database, world, "email", args.k, offset)
    own = Database(database.url, poolclass=NullPool)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for t in ids:
        queue.put_nowait(t)

    async def worker() -> None:
        async with own.sessionmaker() as db:
            while not queue.empty():
                await engine.route_ticket(db, ticket_id=queue.get_nowait(), trigger="bench")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.workers)))
    elapsed = time.perf_counter() - start
    await own.dispose()
    async with database.sessionmaker() as db:
        assigned = await db.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.id.in_(ids), Ticket.assignee_id.is_not(None)))
        chat_load = Counter((await db.execute(
            select(Ticket.assignee_id).where(Ticket.channel_type == "chat",
                                             Ticket.assignee_id.is_not(None),
                                             Ticket.status.in_(("new", "open")))
        )).scalars())
        await db.execute(update(Ticket).where(Ticket.id.in_(ids)).values(assignee_id=None))
        await db.commit()
    result["concurrent"] = {"workers": args.workers, "tickets": args.k, "assigned": assigned,
                            "tickets_per_s": round(args.k / elapsed, 1),
                            "max_chats_per_agent": max(chat_load.values(), default=0)}
    log("concurrent", result["concurrent"])
    return result


def main() -> None:
    p = parser("routing", 20_000, __doc__)
    p.add_argument("--agents", type=int, default=50)
    p.add_argument("--k", type=int, default=300)
    p.add_argument("--workers", type=int, default=4)
    args = p.parse_args()
    with bench_database("routing", args) as dbh:
        database = Database(dbh.url)

        async def go() -> dict[str, Any]:
            try:
                return await run(database, args)
            finally:
                await database.dispose()

        figures = asyncio.run(go())
    emit({"benchmark": "routing", "backend": args.backend, "n": args.n, "agents": args.agents,
          "k": args.k, **figures, "machine": machine_info()})


if __name__ == "__main__":
    main()
