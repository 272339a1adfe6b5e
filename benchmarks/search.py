"""Search latency over a million messages in English, Polish and Korean, and agreement of the
two backends.

Messages (and their tickets, ~4 messages each) are generated deterministically and bulk-loaded
(not through the inbound path); their search documents come from the real analyzer,
`tickets.search.document_terms(store_id, text, subject)`, computed in a Pool of --workers
processes, and go into `search_fts(rowid, terms)` on SQLite or, through a staging table and
`array_to_tsvector`, into `search_docs(message_id, tsv)` on PostgreSQL: what
`tickets.search.index_message` writes, in batches. The index is built as rows arrive on
SQLite (as in production) and in one go after the COPY on PostgreSQL (GIN index re-created).

Then `tickets.queries.search_messages(db, store_id=1, q=..., limit=25)` is timed for a fixed
mix of queries (common and rare terms in each language, two-word queries, a term in ~25% of
messages, a term in none), --rounds times each in shuffled order after a warm-up.

--compare loads the same --n messages (default 20,000 there) into SQLite and PostgreSQL and
checks that both return the same message ids for every query (all matches, the first page of
25, and the second page through before_id).

    .venv/bin/python benchmarks/search.py [--n 1000000] [--backend sqlite|postgresql]
    .venv/bin/python benchmarks/search.py --compare [--n 20000]
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import re
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
from _corpus import Corpus

STORE_ID = 1
CHUNK = 10_000
T0 = datetime(2025, 11, 23, tzinfo=UTC)
MAX_REPLIES = 6  # replies per ticket: uniform 0..6, so ~4 messages per ticket

QUERIES: dict[str, tuple[str, str]] = {
    # name: (query, what it is)
    "en:refund": ("refund", "en common"),
    "en:order": ("order", "en very common"),
    "en:damaged": ("damaged", "en"),
    "en:kettle": ("kettle", "en rarer (one product)"),
    "en:tracking number": ("tracking number", "en two words"),
    "en:wrong size": ("wrong size", "en two words"),
    "en:invoice company": ("invoice company", "en two words, rarer"),
    "pl:zwrot": ("zwrot", "pl common (stemmed: zwrotu, zwrotną ...)"),
    "pl:paczka": ("paczka", "pl common"),
    "pl:zamówienie": ("zamówienie", "pl very common"),
    "pl:faktura": ("faktura", "pl"),
    "pl:uszkodzona paczka": ("uszkodzona paczka", "pl two words"),
    "pl:etykieta zwrotna": ("etykieta zwrotna", "pl two words, rarer"),
    "ko:환불": ("환불", "ko common (one bigram)"),
    "ko:배송": ("배송", "ko common"),
    "ko:교환": ("교환", "ko"),
    "ko:세금계산서": ("세금계산서", "ko rarer (4 bigrams)"),
    "ko:배송 조회": ("배송 조회", "ko two words"),
    "ko:재입고": ("재입고", "ko rarer (2 bigrams)"),
    "x:amazon": ("amazon", "~25% of all messages"),
    "x:amazon refund": ("amazon refund", "common + common"),
    "x:xylophone": ("xylophone", "matches nothing"),
    "x:order number": ("", "one exact tracking number (filled in at run time)"),
}

TICKET_COLUMNS = ("id", "store_id", "subject", "status", "priority", "channel_id",
                  "channel_type", "language", "thread_key", "message_count", "created_at",
                  "updated_at", "last_message_at")
MESSAGE_COLUMNS = ("id", "store_id", "ticket_id", "channel_id", "direction", "author_name",
                   "text", "external_id", "delivery_status", "delivery_attempts", "sent_at",
                   "created_at")


# --- generation + analysis (in pool workers) ---------------------------------------------------

def _init_worker() -> None:
    from sellerdesk.core.text import warm_up

    warm_up()


def make_chunk(task: tuple[int, int, int, str]) -> dict[str, Any]:
    """Tickets, messages and search terms for message ids chunk*CHUNK+1 .. +count."""
    from sellerdesk.tickets.search import document_terms

    chunk, seed, count, backend = task
    cpu0 = time.process_time()
    analyse = 0.0
    corpus = Corpus(seed * 1_000_003 + chunk)
    rng = corpus.rng
    first_id = chunk * CHUNK + 1
    tickets: list[tuple[Any, ...]] = []
    messages: list[tuple[Any, ...]] = []
    docs: list[tuple[int, Any]] = []

    def stamp(message_id: int) -> Any:
        at = T0 + timedelta(seconds=30 * message_id)
        return sqlite_dt(at) if backend == "sqlite" else at

    while len(messages) < count:
        ticket_id = first_id + len(tickets)  # sparse ids: at most CHUNK tickets per chunk
        sender = corpus.sender()
        replies = min(rng.randint(0, MAX_REPLIES), count - len(messages) - 1)
        texts = [corpus.first_message(sender)] + [corpus.reply(sender) for _ in range(replies)]
        subject = texts[0].subject
        ids = [first_id + len(messages) + i for i in range(len(texts))]
        status = "closed" if rng.random() < 0.85 else "open"
        tickets.append((ticket_id, STORE_ID, subject, status, "normal", 1, "api",
                        sender.language, f"t-{ticket_id}", len(texts), stamp(ids[0]),
                        stamp(ids[-1]), stamp(ids[-1])))
        for i, (message_id, text) in enumerate(zip(ids, texts, strict=True)):
            messages.append((message_id, STORE_ID, ticket_id, 1, "inbound", sender.name,
                             text.body, f"m-{message_id}", "received", 0, stamp(message_id),
                             stamp(message_id)))
            a0 = time.process_time()
            terms = document_terms(STORE_ID, text.body, subject if i == 0 else None)
            analyse += time.process_time() - a0
            docs.append((message_id, " ".join(terms) if backend == "sqlite" else terms))
    return {"chunk": chunk, "tickets": tickets, "messages": messages, "docs": docs,
            "cpu_s": time.process_time() - cpu0, "analyse_cpu_s": analyse}


def chunk_tasks(n: int, seed: int, backend: str) -> list[tuple[int, int, int, str]]:
    return [(c, seed, min(CHUNK, n - c * CHUNK), backend) for c in range((n + CHUNK - 1) // CHUNK)]


def generated_chunks(n: int, seed: int, backend: str, workers: int
                     ) -> Iterator[dict[str, Any]]:
    tasks = chunk_tasks(n, seed, backend)
    if workers <= 1:
        _init_worker()
        yield from map(make_chunk, tasks)
        return
    with multiprocessing.get_context("fork").Pool(workers, initializer=_init_worker) as pool:
        yield from pool.imap(make_chunk, tasks)


def tracking_number(seed: int) -> str:
    """A tracking number that occurs in the data (an agent pasting it into search)."""
    chunk = make_chunk((0, seed, 200, "sqlite"))
    for row in chunk["messages"]:
        found = re.findall(r"\b\d{12}\b", row[6])
        if found:
            return str(found[0])
    return "000000000000"


# --- loading -----------------------------------------------------------------------------------

def _reference(created: Any) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
    return {
        "stores": (("id", "slug", "name", "timezone", "default_language", "created_at"),
                   [(STORE_ID, "bench", "Benchmark store", "UTC", "en", created)]),
        "channels": (("id", "store_id", "type", "name", "marketplace", "config", "token_hash",
                      "is_active", "created_at"),
                     [(1, STORE_ID, "api", "bench api", None, "{}", None, True, created)]),
    }


def load_sqlite(dbh: BenchDatabase, n: int, seed: int, workers: int) -> dict[str, Any]:
    loader = SqliteLoader(str(dbh.sqlite_path))
    stats = {"tickets": 0, "generate_and_analyse_cpu_s": 0.0, "analyse_cpu_s": 0.0, "write_s": 0.0}
    try:
        loader.drop_indexes(("tickets", "messages"))
        for table, (cols, rows) in _reference(sqlite_dt(T0)).items():
            loader.insert(table, cols, rows)
        done = 0
        for chunk in generated_chunks(n, seed, "sqlite", workers):
            w0 = time.perf_counter()
            loader.conn.execute("BEGIN")
            _executemany(loader, "tickets", TICKET_COLUMNS, chunk["tickets"])
            _executemany(loader, "messages", MESSAGE_COLUMNS, chunk["messages"])
            loader.conn.executemany("INSERT INTO search_fts(rowid, terms) VALUES (?, ?)",
                                    chunk["docs"])
            loader.conn.execute("COMMIT")
            stats["write_s"] += time.perf_counter() - w0
            stats["tickets"] += len(chunk["tickets"])
            stats["generate_and_analyse_cpu_s"] += chunk["cpu_s"]
            stats["analyse_cpu_s"] += chunk["analyse_cpu_s"]
            done += len(chunk["messages"])
            if done % 100_000 == 0:
                log(f"  {done:,} messages loaded")
        i0 = time.perf_counter()
        loader.recreate_indexes()
        loader.analyze()
        stats["index_and_analyze_s"] = time.perf_counter() - i0
    finally:
        loader.close()
    return {"method": "sqlite3 executemany per 10k chunk; FTS5 rows inserted as they come",
            **{k: round(v, 1) for k, v in stats.items()}}


def _executemany(loader: SqliteLoader, table: str, cols: tuple[str, ...], rows: list[Any]
                 ) -> None:
    marks = ", ".join("?" * len(cols))
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})"  # noqa: S608 - ours
    loader.conn.executemany(sql, rows)


async def load_postgres(dbh: BenchDatabase, n: int, seed: int, workers: int) -> dict[str, Any]:
    loader = await PostgresLoader.connect(dbh.asyncpg_dsn)
    stats = {"tickets": 0, "generate_and_analyse_cpu_s": 0.0, "analyse_cpu_s": 0.0, "copy_s": 0.0}
    try:
        await loader.drop_indexes(("tickets", "messages", "search_docs"))
        for table, (cols, rows) in _reference(T0).items():
            await loader.copy(table, cols, rows)
        await loader.conn.execute(
            "CREATE UNLOGGED TABLE search_stage (message_id BIGINT, terms TEXT[])")
        done = 0
        for chunk in generated_chunks(n, seed, "postgresql", workers):
            w0 = time.perf_counter()
            await loader.copy("tickets", TICKET_COLUMNS, chunk["tickets"])
            await loader.copy("messages", MESSAGE_COLUMNS, chunk["messages"])
            await loader.copy("search_stage", ("message_id", "terms"), chunk["docs"])
            stats["copy_s"] += time.perf_counter() - w0
            stats["tickets"] += len(chunk["tickets"])
            stats["generate_and_analyse_cpu_s"] += chunk["cpu_s"]
            stats["analyse_cpu_s"] += chunk["analyse_cpu_s"]
            done += len(chunk["messages"])
            if done % 100_000 == 0:
                log(f"  {done:,} messages loaded")
        i0 = time.perf_counter()
        # What tickets.search.index_message does per message, for all of them at once.
        await loader.conn.execute(
            "INSERT INTO search_docs(message_id, tsv) "
            "SELECT message_id, array_to_tsvector(terms) FROM search_stage")
        await loader.conn.execute("DROP TABLE search_stage")
        stats["tsvector_insert_s"] = time.perf_counter() - i0
        i0 = time.perf_counter()
        await loader.recreate_indexes()
        for table in ("stores", "channels", "tickets", "messages"):
            await loader.fix_sequence(table)
        await loader.analyze()
        stats["index_and_analyze_s"] = time.perf_counter() - i0
        fk = not loader.replica_role
    finally:
        await loader.close()
    return {"method": "COPY per 10k chunk; search_docs from a staging table with "
                      "array_to_tsvector; GIN and other indexes built after, ANALYZE",
            "fk_checks_during_copy": fk, **{k: round(v, 1) for k, v in stats.items()}}


def load(dbh: BenchDatabase, n: int, seed: int, workers: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    with LoadMeter() as meter:
        if dbh.backend == "sqlite":
            out = load_sqlite(dbh, n, seed, workers)
        else:
            out = asyncio.run(load_postgres(dbh, n, seed, workers))
    out["seconds"] = round(time.perf_counter() - t0, 1)
    out["workers"] = workers
    out["machine_load"] = meter.result
    out["path"] = "bulk rows + real analyzer (not the inbound path)"
    if dbh.backend == "sqlite":
        out["db_file_mib"] = dir_size_mib(dbh.data_dir)
    return out


# --- queries -----------------------------------------------------------------------------------

def query_set(seed: int) -> dict[str, str]:
    out = {name: q for name, (q, _) in QUERIES.items()}
    out["x:order number"] = tracking_number(seed)
    return out


async def all_ids(database: Any, q: str) -> list[int]:
    from sellerdesk.tickets import search

    async with database.sessionmaker() as db:
        return await search.matching_message_ids(db, search.parse_query(STORE_ID, q),
                                                 limit=10**8)


async def measure(dbh: BenchDatabase, queries: dict[str, str], rounds: int, seed: int,
                  n: int) -> dict[str, Any]:
    from sellerdesk.core.db import Database
    from sellerdesk.tickets.queries import search_messages

    database = Database(dbh.url)
    try:
        # GET routes read through the read-only sessions (plain BEGIN on SQLite) where there are.
        sessions = getattr(database, "read_sessionmaker", database.sessionmaker)

        async def one(q: str) -> int:
            async with sessions() as db:
                return len(await search_messages(db, store_id=STORE_ID, q=q, limit=25))

        for q in queries.values():  # warm-up
            await one(q)
            await one(q)
        order = [name for name in queries for _ in range(rounds)]
        random.Random(seed).shuffle(order)
        per: dict[str, list[float]] = {name: [] for name in queries}
        returned: dict[str, int] = {}
        cpu0 = time.process_time()
        with LoadMeter() as meter:
            for name in order:
                t0 = time.perf_counter()
                returned[name] = await one(queries[name])
                per[name].append(time.perf_counter() - t0)
        cpu = time.process_time() - cpu0
        everything = [d for ds in per.values() for d in ds]
        by_query = {}
        for name, ds in per.items():
            hits = len(await all_ids(database, queries[name]))
            by_query[name] = {"q": queries[name], "kind": QUERIES[name][1],
                              "matches": hits, "match_share": round(hits / n, 4),
                              "returned": returned[name], **summary_ms(ds)}
            log(f"  {name:24} {hits:>8} hits  p50 {by_query[name]['p50_ms']:8.2f} ms  "
                f"p95 {by_query[name]['p95_ms']:8.2f} ms")
        overall = summary_ms(everything)
        overall["client_cpu_ms_per_call"] = round(cpu / len(order) * 1000, 3)
        return {"overall": overall, "by_query": by_query,
                "machine_load": meter.result}
    finally:
        await database.dispose()


async def explain_slowest(dbh: BenchDatabase, queries: dict[str, str], names: list[str]
                          ) -> dict[str, list[str]]:
    """The search statement's plan for the given queries (PostgreSQL: EXPLAIN ANALYZE)."""
    from sqlalchemy import text

    from sellerdesk.core.db import Database
    from sellerdesk.tickets import search

    database = Database(dbh.url)
    out = {}
    try:
        async with database.sessionmaker() as db:
            for name in names:
                parsed = search.parse_query(STORE_ID, queries[name])
                if dbh.backend == "sqlite":
                    sql = ("EXPLAIN QUERY PLAN SELECT rowid FROM search_fts WHERE search_fts "
                           "MATCH :q AND rowid < :before ORDER BY rowid DESC LIMIT 25")
                    params = {"q": search._fts5_query(STORE_ID, parsed.groups)}
                else:
                    sql = ("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT message_id FROM "
                           "search_docs WHERE tsv @@ CAST(:q AS tsquery) AND message_id < "
                           ":before ORDER BY message_id DESC LIMIT 25")
                    params = {"q": search._tsquery(STORE_ID, parsed.groups)}
                rows = await db.execute(text(sql), {**params, "before": 2**62})
                out[name] = [str(r[-1] if dbh.backend == "sqlite" else r[0]) for r in rows]
    finally:
        await database.dispose()
    return out


# --- the two backends agree --------------------------------------------------------------------

async def _ids_for(url: str, queries: dict[str, str]) -> dict[str, dict[str, list[int]]]:
    from sellerdesk.core.db import Database
    from sellerdesk.tickets.queries import search_messages

    database = Database(url)
    out: dict[str, dict[str, list[int]]] = {}
    try:
        for name, q in queries.items():
            async with database.sessionmaker() as db:
                page1 = [h.message.id for h in await search_messages(
                    db, store_id=STORE_ID, q=q, limit=25)]
                page2 = [h.message.id for h in await search_messages(
                    db, store_id=STORE_ID, q=q, limit=25, before_id=page1[-1])] if page1 else []
            out[name] = {"all": await all_ids(database, q), "page1": page1, "page2": page2}
    finally:
        await database.dispose()
    return out


def compare(args: Any) -> dict[str, Any]:
    queries = query_set(args.seed)
    ids: dict[str, Any] = {}
    loads: dict[str, Any] = {}
    for backend in ("sqlite", "postgresql"):
        args.backend = backend
        with bench_database("search_cmp", args, suffix=f"_{backend[:2]}") as dbh:
            log(f"compare: loading {args.n:,} messages into {backend}")
            loads[backend] = load(dbh, args.n, args.seed, args.workers)
            ids[backend] = asyncio.run(_ids_for(dbh.url, queries))
    per_query = {}
    for name in queries:
        a, b = ids["sqlite"][name], ids["postgresql"][name]
        per_query[name] = {
            "q": queries[name], "matches_sqlite": len(a["all"]),
            "matches_postgresql": len(b["all"]),
            "same_all": a["all"] == b["all"], "same_page1": a["page1"] == b["page1"],
            "same_page2": a["page2"] == b["page2"],
            "only_sqlite": sorted(set(a["all"]) - set(b["all"]))[:10],
            "only_postgresql": sorted(set(b["all"]) - set(a["all"]))[:10],
        }
    agree = all(v["same_all"] and v["same_page1"] and v["same_page2"]
                for v in per_query.values())
    return {"benchmark": "search-compare", "n": args.n, "all_queries_agree": agree,
            "queries": per_query, "load": loads, "machine": machine_info()}


def main() -> None:
    p = parser("search", 1_000_000, __doc__)
    p.add_argument("--rounds", type=int, default=15,
                   help="timed calls per query (x 23 queries)")
    p.add_argument("--workers", type=int, default=2, help="analyzer processes")
    p.add_argument("--compare", action="store_true",
                   help="check SQLite and PostgreSQL return the same ids (default --n 20000)")
    args = p.parse_args()
    if args.compare:
        if args.n == 1_000_000:
            args.n = 20_000
        emit(compare(args))
        return
    watch = Stopwatch()
    queries = query_set(args.seed)
    result: dict[str, Any] = {"benchmark": "search", "backend": args.backend, "n": args.n,
                              "rounds": args.rounds, "limit": 25,
                              "goal": {"p95_ms": 100}}
    with bench_database("search", args) as dbh:
        with watch("load"):
            result["load"] = load(dbh, args.n, args.seed, args.workers)
        with watch("queries"):
            result["latency"] = asyncio.run(measure(dbh, queries, args.rounds, args.seed,
                                                    args.n))
        slowest = sorted(result["latency"]["by_query"].items(),
                         key=lambda kv: -kv[1]["p95_ms"])[:3]
        result["plans_of_slowest"] = asyncio.run(
            explain_slowest(dbh, queries, [name for name, _ in slowest]))
        if dbh.backend == "postgresql":
            result["postgres"] = asyncio.run(pg_server_settings(dbh.asyncpg_dsn))
    overall = result["latency"]["overall"]
    result["goal"]["met"] = overall["p95_ms"] < 100
    result["goal"]["queries_over_p95_goal"] = [
        name for name, v in result["latency"]["by_query"].items() if v["p95_ms"] >= 100]
    result["phases_s"] = watch.phases
    result["machine"] = machine_info()
    emit(result)


if __name__ == "__main__":
    main()
