"""The SLA sweep over a million open tickets: how long one pass takes to find and record every
warning and breach that has come due (goal: under 10 s on SQLite), and what a pass costs when
nothing is due (the steady state: the scheduler runs it every 30 s).

Data is bulk-loaded (sqlite3 executemany / asyncpg COPY, not the inbound path; indexes dropped
first and re-created after, then ANALYZE): one store, one SLA policy (first response 24 h,
resolution 7 days, calendar time, warning at 80 %), N open tickets, each with its ticket_slas
row and two target rows (first response, resolution: 2N rows). Of the tickets, --due-fraction
(default 2 %) have something due at NOW: half a first-response warning, half a breach (already
warned); about a third wait for a first response that is not due yet; the rest were answered
and have only their resolution running, due in days.

The timed part is `sellerdesk.automation.sweep.sweep(db, now=NOW)` itself: the index range
read, the decisions, the bulk UPDATE of the target rows, the audit events and commit, in
batches of 2,000. It runs --repeat times (the swept rows are put back in between) and the
median is reported, with each run's CPU time and how busy the machine was meanwhile. Then
the steady state: the same sweep again (nothing left) and one 30 s later. EXPLAIN of its
SELECT is in the JSON.

    .venv/bin/python benchmarks/sla_sweep.py [--n 1000000] [--backend sqlite|postgresql]
        [--due-fraction 0.02] [--repeat 3]
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from _bulk import PostgresLoader, SqliteLoader
from _common import (
    BenchDatabase,
    LoadMeter,
    Stopwatch,
    bench_database,
    emit,
    log,
    machine_info,
    parser,
    pg_server_settings,
    rss_mib,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIRST = timedelta(hours=24)
RESOLUTION = timedelta(days=7)
GOAL_SECONDS = 10.0

TICKET_COLUMNS = ("id", "store_id", "subject", "status", "priority", "channel_id",
                  "channel_type", "message_count", "created_at", "updated_at",
                  "first_response_at", "sla_due_at")
STATE_COLUMNS = ("ticket_id", "store_id", "policy_id", "policy_name", "pause_on", "applied_at",
                 "updated_at")
TARGET_COLUMNS = ("id", "store_id", "ticket_id", "kind", "state", "goal", "warn_after",
                  "calendar_id", "started_at", "checkpoint_at", "elapsed", "running",
                  "paused_since", "paused", "due_at", "warn_at", "completed_at", "warned_at",
                  "breached_at", "next_check_at", "updated_at")
PAUSE_ON = json.dumps(["pending", "on_hold"])


US = 1_000_000
HOUR_US = 3600 * US
DAY_US = 24 * HOUR_US
NOW_US = int(NOW.timestamp()) * US
FIRST_US = int(FIRST.total_seconds()) * US
RESOLUTION_US = int(RESOLUTION.total_seconds()) * US

# Times and durations are integer microseconds (since the epoch / long) until the loader
# turns them into what its database stores; these say which columns hold which.
TICKET_TIMES = frozenset({8, 9, 10, 11})
STATE_TIMES = frozenset({5, 6})
TARGET_TIMES = frozenset({8, 9, 12, 14, 15, 16, 17, 18, 19, 20})
TARGET_INTERVALS = frozenset({5, 6, 10, 13})


def _target(target_id: int, ticket_id: int, kind: str, goal: int, started: int,
            completed: int | None = None, warned: int | None = None) -> tuple[Any, ...]:
    warn_after = goal * 4 // 5
    due, warn = started + goal, started + warn_after
    if completed is not None:
        state, next_check, elapsed = "met", None, completed - started
    else:
        state, next_check, elapsed = "active", (due if warned else warn), 0
    return (target_id, 1, ticket_id, kind, state, goal, warn_after, None, started,
            completed or started, elapsed, completed is None, None, 0, due,
            None if warned or completed else warn, completed, warned, None, next_check,
            completed or started)


def rows(n: int, seed: int, due_fraction: float
         ) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...], tuple[tuple[Any, ...], ...]]]:
    """(ticket, ticket_slas row, target rows) per ticket, times in integer microseconds."""
    rng = random.Random(seed)
    warn_us = FIRST_US * 4 // 5
    for ticket_id in range(1, n + 1):
        r = rng.random()
        answered = None
        if r < due_fraction / 2:  # first-response warning due now
            created = NOW_US - warn_us - rng.randrange(US, 4 * HOUR_US)
            first = _target(2 * ticket_id - 1, ticket_id, "first_response", FIRST_US, created)
        elif r < due_fraction:  # warned, breach due now
            created = NOW_US - FIRST_US - rng.randrange(US, 2 * HOUR_US)
            first = _target(2 * ticket_id - 1, ticket_id, "first_response", FIRST_US, created,
                            warned=created + warn_us)
        elif r < 0.35:  # waiting for a first response, not due yet
            created = NOW_US - rng.randrange(60 * US, warn_us - 60 * US)
            first = _target(2 * ticket_id - 1, ticket_id, "first_response", FIRST_US, created)
        else:  # answered; only the resolution runs
            created = NOW_US - rng.randrange(DAY_US, 5 * DAY_US)
            answered = created + rng.randrange(5 * 60 * US, 10 * HOUR_US)
            first = _target(2 * ticket_id - 1, ticket_id, "first_response", FIRST_US, created,
                            completed=answered)
        resolution = _target(2 * ticket_id, ticket_id, "resolution", RESOLUTION_US, created)
        due = min(t[14] for t in (first, resolution) if t[11])
        ticket = (ticket_id, 1, f"Order question {ticket_id}", "open", "normal", 1, "email",
                  2 if answered else 1, created, answered or created, answered, due)
        state = (ticket_id, 1, 1, "Default", PAUSE_ON, created, created)
        yield ticket, state, (first, resolution)


def _reference() -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
    created = NOW - timedelta(days=400)
    targets = json.dumps({"first_response": {"minutes": 1440, "business_hours": False},
                          "resolution": {"minutes": 10080, "business_hours": False}})
    return {
        "stores": (("id", "slug", "name", "timezone", "default_language", "created_at"),
                   [(1, "bench", "Benchmark store", "Europe/Warsaw", "en", created)]),
        "channels": (("id", "store_id", "type", "name", "marketplace", "config", "token_hash",
                      "is_active", "created_at"),
                     [(1, 1, "email", "Mail", None, "{}", None, True, created)]),
        "sla_policies": (("id", "store_id", "name", "position", "is_active", "conditions",
                          "targets", "calendar_id", "pause_on", "warn_percent",
                          "warn_minutes_before", "created_at", "updated_at"),
                         [(1, 1, "Default", 1, True, "{}", targets, None, PAUSE_ON, 80, None,
                           created, created)]),
    }


_DAYS: dict[int, str] = {}


def _sqlite_us(us: int | None) -> str | None:
    """Microseconds since the epoch as SQLAlchemy stores a datetime on SQLite (also its
    Interval, which is stored as epoch + the interval)."""
    if us is None:
        return None
    seconds, micro = divmod(us, US)
    days, rest = divmod(seconds, 86400)
    day = _DAYS.get(days)
    if day is None:
        day = _DAYS[days] = (EPOCH + timedelta(days=days)).date().isoformat()
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{day} {hours:02d}:{minutes:02d}:{secs:02d}.{micro:06d}"


def _pg_time(us: int | None) -> datetime | None:
    return None if us is None else EPOCH + timedelta(microseconds=us)


def _pg_interval(us: int | None) -> timedelta | None:
    return None if us is None else timedelta(microseconds=us)


def _convert(row: tuple[Any, ...], times: frozenset[int], intervals: frozenset[int],
             time_fn: Any, interval_fn: Any) -> tuple[Any, ...]:
    return tuple(time_fn(v) if i in times else interval_fn(v) if i in intervals else v
                 for i, v in enumerate(row))


TABLES = ("tickets", "ticket_slas", "ticket_sla_targets")
CHUNK = 100_000


def _chunks(n: int, seed: int, due_fraction: float, time_fn: Any, interval_fn: Any
            ) -> Iterator[tuple[list[Any], list[Any], list[Any]]]:
    tickets: list[Any] = []
    states: list[Any] = []
    targets: list[Any] = []
    none: frozenset[int] = frozenset()
    for ticket, state, pair in rows(n, seed, due_fraction):
        tickets.append(_convert(ticket, TICKET_TIMES, none, time_fn, interval_fn))
        states.append(_convert(state, STATE_TIMES, none, time_fn, interval_fn))
        targets.extend(_convert(t, TARGET_TIMES, TARGET_INTERVALS, time_fn, interval_fn)
                       for t in pair)
        if len(tickets) >= CHUNK:
            yield tickets, states, targets
            tickets, states, targets = [], [], []
    if tickets:
        yield tickets, states, targets


def load_sqlite(dbh: BenchDatabase, n: int, seed: int, due_fraction: float) -> dict[str, Any]:
    loader = SqliteLoader(str(dbh.sqlite_path))
    try:
        loader.drop_indexes(TABLES)
        for table, (cols, values) in _reference().items():
            loader.insert(table, cols, [
                tuple(_sqlite_us(int(v.timestamp() * US)) if isinstance(v, datetime) else v
                      for v in row) for row in values])
        for tickets, states, targets in _chunks(n, seed, due_fraction, _sqlite_us, _sqlite_us):
            loader.insert("tickets", TICKET_COLUMNS, tickets)
            loader.insert("ticket_slas", STATE_COLUMNS, states)
            loader.insert("ticket_sla_targets", TARGET_COLUMNS, targets)
        loader.recreate_indexes()
        loader.analyze()
        return {"method": "sqlite3 executemany, indexes re-created after, ANALYZE"}
    finally:
        loader.close()


async def load_postgres(dbh: BenchDatabase, n: int, seed: int, due_fraction: float
                        ) -> dict[str, Any]:
    loader = await PostgresLoader.connect(dbh.asyncpg_dsn)
    try:
        await loader.drop_indexes(TABLES)
        for table, (cols, values) in _reference().items():
            await loader.copy(table, cols, values)
        for tickets, states, targets in _chunks(n, seed, due_fraction, _pg_time, _pg_interval):
            await loader.copy("tickets", TICKET_COLUMNS, tickets)
            await loader.copy("ticket_slas", STATE_COLUMNS, states)
            await loader.copy("ticket_sla_targets", TARGET_COLUMNS, targets)
        await loader.recreate_indexes()
        for table in ("stores", "channels", "sla_policies", "tickets", "ticket_sla_targets"):
            await loader.fix_sequence(table)
        await loader.analyze()
        return {"method": "COPY (asyncpg), indexes re-created after, ANALYZE",
                "fk_checks_during_copy": not loader.replica_role}
    finally:
        await loader.close()


# --- the sweep ---------------------------------------------------------------------------------

class FirstSelect:
    """Keeps the first SELECT (and its parameters) the engine sends, for EXPLAIN afterwards."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.statement: tuple[str, Any] | None = None

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                    executemany: bool) -> None:
            if self.statement is None and statement.lstrip().upper().startswith("SELECT"):
                self.statement = (statement, parameters)


async def explain(database: Any, captured: tuple[str, Any] | None) -> list[str]:
    if captured is None:
        return []
    statement, parameters = captured
    async with database.engine.connect() as conn:
        if database.dialect == "sqlite":
            rows_ = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            return [str(r[-1]) for r in rows_]
        rows_ = await conn.exec_driver_sql("EXPLAIN (COSTS OFF) " + statement, parameters)
        return [str(r[0]) for r in rows_]


async def _undo(db: Any) -> None:
    """Put the rows one sweep at NOW changed back as they were loaded, for the next run."""
    from sqlalchemy import text

    from sellerdesk.core.db import commit

    # Loaded: warning-due rows unwarned; breach-due rows warned (warn_at NULL), not breached.
    sqlite = db.get_bind().dialect.name == "sqlite"
    now: Any = _sqlite_us(int(NOW.timestamp()) * US) if sqlite else NOW
    await db.execute(text("UPDATE ticket_sla_targets SET warned_at = NULL, "
                          "next_check_at = warn_at WHERE warned_at = :now"), {"now": now})
    await db.execute(text("UPDATE ticket_sla_targets SET state = 'active', breached_at = NULL, "
                          "next_check_at = due_at WHERE breached_at IS NOT NULL"))
    await db.execute(text("DELETE FROM audit_events WHERE action IN "
                          "('sla.warning', 'sla.breached')"))
    await commit(db)


async def measure(dbh: BenchDatabase, repeat: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from sellerdesk.automation import sweep
    from sellerdesk.core.db import Database
    from sellerdesk.tickets.models import AuditEvent

    database = Database(dbh.url)
    first_select = FirstSelect(database.engine)
    runs: list[dict[str, Any]] = []
    try:
        async with database.sessionmaker() as db:
            for run in range(repeat):
                if run:
                    await _undo(db)
                with LoadMeter() as load:
                    cpu0 = time.process_time()
                    t0 = time.perf_counter()
                    result = await sweep.sweep(db, now=NOW)
                    seconds = time.perf_counter() - t0
                    cpu = time.process_time() - cpu0
                log(f"sweep {run + 1}/{repeat}: {seconds:.2f} s, {cpu:.2f} CPU s, {result}")
                runs.append({"seconds": round(seconds, 3), "client_cpu_seconds": round(cpu, 3),
                             "examined": result.examined, "warnings": result.warnings,
                             "breaches": result.breaches, "machine_load": load.result})
            t0 = time.perf_counter()
            steady = await sweep.sweep(db, now=NOW)
            steady_ms = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            later = await sweep.sweep(db, now=NOW + timedelta(seconds=30))
            next_ms = (time.perf_counter() - t0) * 1000
            audits = dict((await db.execute(  # type: ignore[arg-type]
                select(AuditEvent.action, func.count()).group_by(AuditEvent.action))).all())
        times = sorted(r["seconds"] for r in runs)
        return {
            "sweep_seconds": times[len(times) // 2],  # the median run
            "sweep_seconds_best": times[0],
            "sweep_client_cpu_seconds": runs[0]["client_cpu_seconds"],
            "examined": runs[0]["examined"], "warnings": runs[0]["warnings"],
            "breaches": runs[0]["breaches"],
            "runs": runs,
            "repeat_sweep_ms": round(steady_ms, 2), "repeat_found": steady.examined,
            "sweep_30s_later_ms": round(next_ms, 2),
            "sweep_30s_later": {"examined": later.examined, "warnings": later.warnings,
                                "breaches": later.breaches},
            "audit_events_after_last_run": audits,
            "plan": await explain(database, first_select.statement),
        }
    finally:
        await database.dispose()


def main() -> None:
    p = parser("sla_sweep", 1_000_000, __doc__)
    p.add_argument("--due-fraction", type=float, default=0.02,
                   help="share of tickets with a warning or breach due at NOW")
    p.add_argument("--repeat", type=int, default=3,
                   help="sweeps timed, the swept rows put back between them (median reported)")
    args = p.parse_args()
    watch = Stopwatch()
    with bench_database("sla_sweep", args) as dbh:
        log(f"loading {args.n:,} open tickets with SLA state into {dbh.backend}")
        with watch("load"):
            if dbh.backend == "sqlite":
                loaded = load_sqlite(dbh, args.n, args.seed, args.due_fraction)
            else:
                loaded = asyncio.run(load_postgres(dbh, args.n, args.seed, args.due_fraction))
        with watch("sweep"):
            figures = asyncio.run(measure(dbh, max(1, args.repeat)))
        server = (asyncio.run(pg_server_settings(dbh.asyncpg_dsn))
                  if dbh.backend == "postgresql" else None)
    emit({
        "benchmark": "sla_sweep",
        "backend": args.backend,
        "open_tickets": args.n,
        "target_rows": 2 * args.n,
        "due_fraction": args.due_fraction,
        "goal_seconds": GOAL_SECONDS,
        "within_goal": figures["sweep_seconds"] < GOAL_SECONDS,
        **figures,
        "load": {**loaded, "seconds": watch.phases["load"]},
        "rss_mib": rss_mib(),
        "postgresql": server,
        "machine": machine_info(),
    })


if __name__ == "__main__":
    main()
