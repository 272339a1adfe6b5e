"""Inbox list latency with a million tickets: the agent's "my team's active tickets, soonest
SLA first" view, as GET /api/v1/tickets runs it (list_tickets + tags_by_ticket).

Data is bulk-loaded (executemany / COPY, not the inbound path): one store, 10 teams with a
skewed share each, 40 agents, ~85% solved/closed and ~15% active (new/open/pending/on_hold,
created in the last two weeks, 90% of them with an SLA due time), a customer per ~3 tickets,
8 tags on ~30% of tickets. Then ANALYZE. Timed server-side in-process, a session per call:
  sla_due       statuses=active, team=T (random), sort=sla_due, limit 50, + tags_by_ticket
  sla_due_p2    the same, second page through the cursor of the first
  sla_due_p20   page 20 of the biggest team's list (keyset pagination should not care)
  sla_due_tail  the part of the list without an SLA (cursor phase 1: what every page is for
                a store with no SLA policies yet), random team
  updated_open  status=open, sort=updated, limit 50, + tags_by_ticket (and pages 2 and 20)
EXPLAIN QUERY PLAN / EXPLAIN ANALYZE of the statements each issues is in the JSON, with
whether the partial index ix_tickets_active_team_sla is used.

    .venv/bin/python benchmarks/inbox.py [--n 1000000] [--backend sqlite|postgresql]
        [--iterations 600]
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from _bulk import PostgresLoader, SqliteLoader, sqlite_dt
from _common import (
    BenchDatabase,
    LoadMeter,
    Stopwatch,
    bench_database,
    dir_size_mib,
    emit,
    log,
    machine_info,
    parser,
    pg_server_settings,
    summary_ms,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TEAMS = 10
TEAM_WEIGHTS = (25, 18, 14, 10, 8, 7, 6, 5, 4, 3)  # percent; 5% of tickets have no team
AGENTS = 40
TAGS = ("refund", "shipping", "damaged", "vip", "wrong-item", "invoice", "return", "urgent")
STATUS_MIX = (("closed", 0.60), ("solved", 0.25), ("open", 0.07), ("new", 0.03),
              ("pending", 0.03), ("on_hold", 0.02))
ACTIVE = {"new", "open", "pending", "on_hold"}
PRIORITY_MIX = (("normal", 0.70), ("high", 0.15), ("low", 0.10), ("urgent", 0.05))
CHANNELS = (("email", None, 0.50), ("chat", None, 0.15), ("api", None, 0.10),
            ("amazon", "amazon", 0.15), ("ebay", "ebay", 0.10))
SUBJECTS = ("Refund request", "Where is my order?", "Damaged item", "Wrong size", "Return label",
            "Zwrot", "Gdzie jest moja paczka?", "Reklamacja", "환불 문의", "배송 문의",
            "Charged twice", "Missing item", "Faktura", "교환 요청", "Cancel order")

SHAPES = ("sla_due", "sla_due_p2", "sla_due_p20", "sla_due_tail", "updated_open",
          "updated_open_p2", "updated_open_p20")

TICKET_COLUMNS = (
    "id", "store_id", "subject", "status", "priority", "channel_id", "channel_type",
    "marketplace", "customer_id", "assignee_id", "team_id", "language", "thread_key",
    "merged_into_id", "message_count", "created_at", "updated_at", "last_message_at",
    "first_response_at", "solved_at", "closed_at", "sla_due_at",
)


def _pick(rng: random.Random, table: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    x = rng.random()
    for row in table:
        x -= row[-1]
        if x < 0:
            return row
    return table[-1]


def ticket_rows(n: int, seed: int) -> Iterator[tuple[Any, ...]]:
    """Ticket rows with aware datetimes (SQLite callers convert them)."""
    rng = random.Random(seed)
    customers = max(1, n // 3)
    team_table = tuple((i + 1, w / 100 * 0.95) for i, w in enumerate(TEAM_WEIGHTS))
    team_table = (*team_table, (None, 0.05))
    channel_ids = {c[0]: i + 1 for i, c in enumerate(CHANNELS)}
    for ticket_id in range(1, n + 1):
        status = _pick(rng, STATUS_MIX)[0]
        active = status in ACTIVE
        ctype, marketplace, _ = _pick(rng, CHANNELS)
        if active:
            created = NOW - timedelta(seconds=rng.uniform(0, 14 * 86400))
            updated = min(NOW, created + timedelta(seconds=rng.uniform(0, 2 * 86400)))
            sla = created + timedelta(hours=rng.uniform(4, 72)) if rng.random() < 0.9 else None
            assignee = rng.randint(1, AGENTS) if rng.random() < 0.7 else None
            solved = closed = None
        else:
            created = NOW - timedelta(seconds=rng.uniform(14 * 86400, 730 * 86400))
            updated = created + timedelta(seconds=rng.uniform(3600, 10 * 86400))
            sla = None
            assignee = rng.randint(1, AGENTS) if rng.random() < 0.95 else None
            solved = updated
            closed = updated + timedelta(days=4) if status == "closed" else None
        first_response = created + timedelta(minutes=rng.uniform(5, 600))
        yield (
            ticket_id, 1, rng.choice(SUBJECTS), status, _pick(rng, PRIORITY_MIX)[0],
            channel_ids[ctype], ctype, marketplace, rng.randint(1, customers), assignee,
            _pick(rng, team_table)[0], rng.choice(("en", "pl", "ko")), f"t-{ticket_id}",
            None, rng.randint(1, 8), created, updated, updated,
            first_response if rng.random() < 0.9 else None, solved, closed, sla,
        )


def tag_rows(n: int, seed: int) -> Iterator[tuple[int, int]]:
    rng = random.Random(seed + 7)
    for ticket_id in range(1, n + 1):
        if rng.random() < 0.30:
            for tag_id in sorted(rng.sample(range(1, len(TAGS) + 1), rng.choice((1, 1, 2)))):
                yield ticket_id, tag_id


def _reference_rows(n: int) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
    created = NOW - timedelta(days=800)
    return {
        "stores": (("id", "slug", "name", "timezone", "default_language", "created_at"),
                   [(1, "bench", "Benchmark store", "UTC", "en", created)]),
        "teams": (("id", "store_id", "name", "language", "created_at"),
                  [(i, 1, f"Team {i}", None, created) for i in range(1, TEAMS + 1)]),
        "agents": (("id", "store_id", "email", "name", "role", "password_hash", "language",
                    "timezone", "is_active", "created_at"),
                   [(i, 1, f"agent{i}@example.com", f"Agent {i}", "agent", None, "en", "UTC",
                     True, created) for i in range(1, AGENTS + 1)]),
        "channels": (("id", "store_id", "type", "name", "marketplace", "config", "token_hash",
                      "is_active", "created_at"),
                     [(i + 1, 1, c[0], c[0], c[1], "{}", None, True, created)
                      for i, c in enumerate(CHANNELS)]),
        "tags": (("id", "store_id", "name"),
                 [(i + 1, 1, t) for i, t in enumerate(TAGS)]),
        "customers": (("id", "store_id", "name", "email", "language", "note", "merged_into_id",
                       "created_at", "updated_at"),
                      [(i, 1, f"Customer {i}", f"customer{i}@example.com", None, None, None,
                        created, created) for i in range(1, max(1, n // 3) + 1)]),
    }


# --- loading -----------------------------------------------------------------------------------

def load_sqlite(dbh: BenchDatabase, n: int, seed: int) -> dict[str, Any]:
    loader = SqliteLoader(str(dbh.sqlite_path))
    try:
        loader.drop_indexes(("tickets", "ticket_tags", "customers"))
        for table, (cols, rows) in _reference_rows(n).items():
            loader.insert(table, cols, [
                tuple(sqlite_dt(v) if isinstance(v, datetime) else v for v in row)
                for row in rows])
        dt_cols = [i for i, c in enumerate(TICKET_COLUMNS) if c.endswith("_at")]

        def sqlite_tickets() -> Iterator[list[Any]]:
            for row in ticket_rows(n, seed):
                out = list(row)
                for i in dt_cols:
                    out[i] = sqlite_dt(out[i])
                yield out

        loader.insert("tickets", TICKET_COLUMNS, sqlite_tickets())
        loader.insert("ticket_tags", ("ticket_id", "tag_id"), tag_rows(n, seed))
        loader.recreate_indexes()
        loader.analyze()
        return {"method": "sqlite3 executemany, indexes re-created after, ANALYZE"}
    finally:
        loader.close()


async def load_postgres(dbh: BenchDatabase, n: int, seed: int) -> dict[str, Any]:
    loader = await PostgresLoader.connect(dbh.asyncpg_dsn)
    try:
        await loader.drop_indexes(("tickets", "ticket_tags", "customers"))
        for table, (cols, rows) in _reference_rows(n).items():
            await loader.copy(table, cols, rows)
        await loader.copy("tickets", TICKET_COLUMNS, ticket_rows(n, seed))
        await loader.copy("ticket_tags", ("ticket_id", "tag_id"), tag_rows(n, seed))
        await loader.recreate_indexes()
        for table in ("stores", "teams", "agents", "channels", "tags", "customers", "tickets"):
            await loader.fix_sequence(table)
        await loader.analyze()
        return {"method": "COPY (asyncpg), indexes re-created after, ANALYZE",
                "fk_checks_during_copy": not loader.replica_role}
    finally:
        await loader.close()


# --- timing ------------------------------------------------------------------------------------

class StatementLog:
    """Collects the SQL (and parameters) a block of code sends, for EXPLAIN afterwards."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.statements: list[tuple[str, Any]] = []
        self.active = False
        self._engine = engine.sync_engine

        @event.listens_for(self._engine, "before_cursor_execute")
        def _record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                    executemany: bool) -> None:
            if self.active and statement.lstrip().upper().startswith("SELECT"):
                self.statements.append((statement, parameters))


async def explain(database: Any, statements: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    out = []
    async with database.engine.connect() as conn:
        for statement, parameters in statements:
            if database.dialect == "sqlite":
                rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                plan = [str(r[-1]) for r in rows]
            else:
                rows = await conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters)
                plan = [str(r[0]) for r in rows]
            out.append({"sql": " ".join(statement.split())[:600], "plan": plan})
    return out


async def measure(dbh: BenchDatabase, iterations: int, seed: int) -> dict[str, Any]:
    from sellerdesk.core.db import Database
    from sellerdesk.core.pagination import encode_cursor
    from sellerdesk.tickets import queries
    from sellerdesk.tickets.queries import TicketFilters
    from sellerdesk.tickets.states import Status

    database = Database(dbh.url)
    log_ = StatementLog(database.engine)
    rng = random.Random(seed + 99)
    active = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)

    # GET routes read through the read-only sessions (plain BEGIN on SQLite) where there are.
    sessions = getattr(database, "read_sessionmaker", database.sessionmaker)

    async def page(filters: TicketFilters, sort: str, cursor: str | None = None
                   ) -> tuple[int, str | None]:
        async with sessions() as db:
            result = await queries.list_tickets(db, store_id=1, filters=filters, sort=sort,
                                                limit=50, cursor=cursor)
            await queries.tags_by_ticket(db, [t.id for t in result.items])
        return len(result.items), result.next_cursor

    def sla_filters() -> TicketFilters:
        return TicketFilters(statuses=active, team_id=rng.randint(1, TEAMS))

    open_filters = TicketFilters(statuses=(Status.OPEN,))
    cursors_sla: list[tuple[TicketFilters, str]] = []
    open_cursor: str | None = None
    tail_cursor = encode_cursor([1, None, 0])
    try:
        # Warm-up (and the cursors for the page-2 runs).
        for _ in range(50):
            f = sla_filters()
            _, cur = await page(f, "sla_due")
            if cur:
                cursors_sla.append((f, cur))
            _, open_cursor = await page(open_filters, "updated")
        big_team = TicketFilters(statuses=active, team_id=1)
        deep_sla = await _cursor_after(page, big_team, "sla_due", 19)
        deep_open = await _cursor_after(page, open_filters, "updated", 19)
        plans: dict[str, Any] = {}
        for name, call in (
            ("sla_due", lambda: page(TicketFilters(statuses=active, team_id=3), "sla_due")),
            ("sla_due_p2", lambda: page(cursors_sla[0][0], "sla_due", cursors_sla[0][1])),
            ("sla_due_p20", lambda: page(big_team, "sla_due", deep_sla)),
            ("sla_due_tail", lambda: page(TicketFilters(statuses=active, team_id=TEAMS),
                                          "sla_due", tail_cursor)),
            ("updated_open", lambda: page(open_filters, "updated")),
            ("updated_open_p20", lambda: page(open_filters, "updated", deep_open)),
        ):
            log_.statements.clear()
            log_.active = True
            await call()
            log_.active = False
            plans[name] = await explain(database, list(log_.statements))

        results: dict[str, Any] = {}
        sizes: dict[str, list[int]] = {}
        with LoadMeter() as load:
            for name in SHAPES:
                durations = []
                sizes[name] = []
                cpu0 = time.process_time()
                for _ in range(iterations):
                    if name == "sla_due":
                        f, cur = sla_filters(), None
                        sort = "sla_due"
                    elif name == "sla_due_p2":
                        f, cur = rng.choice(cursors_sla)
                        sort = "sla_due"
                    elif name == "sla_due_p20":
                        f, cur, sort = big_team, deep_sla, "sla_due"
                    elif name == "sla_due_tail":
                        f, cur, sort = sla_filters(), tail_cursor, "sla_due"
                    elif name == "updated_open":
                        f, cur, sort = open_filters, None, "updated"
                    elif name == "updated_open_p2":
                        f, cur, sort = open_filters, open_cursor, "updated"
                    else:
                        f, cur, sort = open_filters, deep_open, "updated"
                    t0 = time.perf_counter()
                    count, _ = await page(f, sort, cur)
                    durations.append(time.perf_counter() - t0)
                    sizes[name].append(count)
                results[name] = summary_ms(durations)
                # CPU of this process per call (event loop, ORM, driver; not the PostgreSQL
                # server): the part of the latency that a busy machine stretches.
                results[name]["client_cpu_ms_per_call"] = round(
                    (time.process_time() - cpu0) / iterations * 1000, 3)
                results[name]["rows_per_page_mean"] = round(statistics.fmean(sizes[name]), 1)
                log(f"{name}: p50 {results[name]['p50_ms']} ms, p95 {results[name]['p95_ms']} "
                    f"ms, p99 {results[name]['p99_ms']} ms")
        results["machine_load"] = load.result
        team_plan = " | ".join(" ".join(s["plan"]) for s in plans["sla_due"])
        results["partial_index_used"] = {
            "ix_tickets_active_team_sla": "ix_tickets_active_team_sla" in team_plan,
            "any_partial_index": "ix_tickets_active" in team_plan,
        }
        results["plans"] = plans
        return results
    finally:
        await database.dispose()


async def _cursor_after(page: Any, filters: Any, sort: str, pages: int) -> str | None:
    """The cursor of page pages+1 (following next_cursor from the first page)."""
    cursor = None
    for _ in range(pages):
        _, cursor = await page(filters, sort, cursor)
        if cursor is None:
            break
    return cursor


async def data_facts(dbh: BenchDatabase) -> dict[str, Any]:
    from sqlalchemy import text

    from sellerdesk.core.db import Database

    database = Database(dbh.url)
    try:
        async with database.sessionmaker() as db:
            total = await db.scalar(text("SELECT count(*) FROM tickets"))
            by_status = dict((await db.execute(text(
                "SELECT status, count(*) FROM tickets GROUP BY status"))).all())
            per_team = [r[1] for r in (await db.execute(text(
                "SELECT team_id, count(*) FROM tickets WHERE status IN "
                "('new','open','pending','on_hold') AND team_id IS NOT NULL "
                "GROUP BY team_id ORDER BY team_id"))).all()]
            tagged = await db.scalar(text("SELECT count(*) FROM ticket_tags"))
            customers = await db.scalar(text("SELECT count(*) FROM customers"))
        return {"tickets": total, "by_status": by_status, "active_per_team": per_team,
                "ticket_tag_rows": tagged, "customers": customers}
    finally:
        await database.dispose()


def main() -> None:
    p = parser("inbox", 1_000_000, __doc__)
    p.add_argument("--iterations", type=int, default=600, help="timed calls per query shape")
    args = p.parse_args()
    watch = Stopwatch()
    result: dict[str, Any] = {"benchmark": "inbox", "backend": args.backend, "n": args.n,
                              "iterations": args.iterations, "page_size": 50,
                              "goal": {"p99_ms": 25}}
    with bench_database("inbox", args) as dbh:
        with watch("load"):
            if dbh.backend == "sqlite":
                result["load"] = load_sqlite(dbh, args.n, args.seed)
            else:
                result["load"] = asyncio.run(load_postgres(dbh, args.n, args.seed))
        result["load"]["seconds"] = watch.phases["load"]
        result["load"]["path"] = "bulk rows (not the inbound path)"
        if dbh.backend == "sqlite":
            result["load"]["db_file_mib"] = dir_size_mib(dbh.data_dir)
        result["data"] = asyncio.run(data_facts(dbh))
        with watch("queries"):
            result["latency"] = asyncio.run(measure(dbh, args.iterations, args.seed))
        if dbh.backend == "postgresql":
            result["postgres"] = asyncio.run(pg_server_settings(dbh.asyncpg_dsn))
    lat = result["latency"]
    result["goal"]["met"] = {k: lat[k]["p99_ms"] < 25 for k in SHAPES}
    result["phases_s"] = watch.phases
    result["machine"] = machine_info()
    emit(result)


if __name__ == "__main__":
    main()
