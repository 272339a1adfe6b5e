"""Ingest throughput: API-channel JSON messages through the one inbound path.

Two measurements, each on a fresh database:
  batch       the same messages through inbound.receive_batch(...), --batch-size a call (a
              session each), as bulk sources (IMAP, imports) use the inbound path;
  in-process  inbound.receive(...) called sequentially from one task (a session per message,
              as the HTTP route has): raw payload stored and committed, parsed, customer,
              threading, message, search index, audit, job row, commit, job id handed to Huey
              (SqliteHuey in the data folder; nobody consumes it, the enqueue is what is timed).
  http        `sellerdesk serve --no-worker` as a subprocess on the same kind of data folder,
              POST /api/v1/inbound from httpx.AsyncClient at --concurrency (default 8); with the
              serve process's RSS idle after warm-up and its peak during the run (100 ms samples).

    .venv/bin/python benchmarks/ingest.py [--n 5000] [--backend sqlite|postgresql]
        [--repeat 3] [--concurrency 8] [--batch-size 100] [--skip-http] [--skip-batch]
        [--profile FILE]
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import io
import json
import pstats
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil

from _common import (
    BenchDatabase,
    LoadMeter,
    RssSampler,
    bench_database,
    emit,
    log,
    machine_info,
    parser,
    pg_server_settings,
    rss_mib,
    summary_ms,
)
from _corpus import Corpus, Sender

REPLY_SHARE = 0.30
RETURNING_CUSTOMER_SHARE = 0.20
WARMUP = 100


# --- payloads ----------------------------------------------------------------------------------

def make_payloads(n: int, seed: int, prefix: str) -> list[bytes]:
    """n JSON bodies; ~30% continue an earlier thread (same thread_key, same sender)."""
    corpus = Corpus(seed)
    rng = random.Random(seed + 1)
    threads: list[tuple[str, Sender]] = []
    senders: list[Sender] = []
    start = datetime(2026, 11, 1, tzinfo=UTC)
    bodies = []
    for i in range(n):
        # Reply to a recent thread, but not one of the last few: at concurrency 8 its first
        # message may still be in flight.
        if len(threads) > 20 and rng.random() < REPLY_SHARE:
            key, sender = rng.choice(threads[-500:-10])
            text = corpus.reply(sender)
        else:
            if senders and rng.random() < RETURNING_CUSTOMER_SHARE:
                sender = rng.choice(senders)
            else:
                sender = corpus.sender(number=i)
                senders.append(sender)
            key = f"{prefix}-thread-{i}"
            threads.append((key, sender))
            text = corpus.first_message(sender)
        body: dict[str, Any] = {
            "external_id": f"{prefix}-msg-{i}",
            "from": {"name": sender.name, "email": sender.email},
            "text": text.body,
            "thread_key": key,
            "sent_at": (start + timedelta(seconds=7 * i)).isoformat(),
        }
        if text.subject:
            body["subject"] = text.subject
        bodies.append(json.dumps(body, ensure_ascii=False).encode())
    return bodies


def payload_stats(bodies: list[bytes]) -> dict[str, Any]:
    langs: Counter[str] = Counter()
    threads: set[str] = set()
    replies = 0
    for raw in bodies:
        body = json.loads(raw)
        if body["thread_key"] in threads:
            replies += 1
        threads.add(body["thread_key"])
        text = body["text"]
        langs["ko" if any("\uac00" <= c <= "\ud7a3" for c in text) else
              "pl" if any(c in "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ" for c in text + body.get("subject", ""))
              else "en/other"] += 1
    return {
        "count": len(bodies),
        "mean_bytes": round(statistics.fmean(len(b) for b in bodies)),
        "replies_on_existing_thread": round(replies / len(bodies), 3),
        "languages_guess": dict(langs),
    }


# --- in-process --------------------------------------------------------------------------------

async def _set_up_store() -> tuple[Any, Any]:
    from sellerdesk.accounts.actions import create_channel, create_store
    from sellerdesk.core import context

    ctx = context.get()
    async with ctx.database.sessionmaker() as db:
        store = await create_store(db, slug="bench", name="Benchmark store")
        channel, token = await create_channel(db, store_id=store.id, type="api",
                                              name="bench api")
    return channel, token


async def _counts(database: Any) -> dict[str, int]:
    from sqlalchemy import text

    out = {}
    async with database.sessionmaker() as db:
        for table in ("tickets", "messages", "customers", "raw_payloads", "audit_events",
                      "jobs"):
            sql = f"SELECT count(*) FROM {table}"  # noqa: S608 - our own table names
            out[table] = int(await db.scalar(text(sql)) or 0)
        out["raw_payloads_not_processed"] = int(await db.scalar(
            text("SELECT count(*) FROM raw_payloads WHERE status <> 'processed'")) or 0)
    return out


async def _inprocess(dbh: BenchDatabase, warm: list[bytes], bodies: list[bytes],
                     profile: cProfile.Profile | None, batch_size: int = 0) -> dict[str, Any]:
    """batch_size 0: one receive per message (a session each, as the HTTP route has);
    otherwise receive_batch with that many messages (a session each), as bulk sources do."""
    from sellerdesk.channels import inbound
    from sellerdesk.core import context
    from sellerdesk.core.text import warm_up
    from sellerdesk.jobs import outbox
    from sellerdesk.jobs.runtime import JobQueue

    settings = dbh.settings()
    ctx = context.init(settings)
    queue = JobQueue(settings)
    outbox.set_dispatcher(queue.dispatch)
    warm_up()
    try:
        channel, _ = await _set_up_store()

        async def many(group: list[bytes]) -> list[str]:
            async with ctx.database.sessionmaker() as db:
                if batch_size:
                    results = await inbound.receive_batch(db, channel=channel, bodies=group,
                                                          content_type="application/json")
                else:
                    results = [await inbound.receive(db, channel=channel, body=group[0],
                                                     content_type="application/json")]
            return [r.outcome.value for r in results]

        size = batch_size or 1
        for i in range(0, len(warm), size):
            await many(warm[i:i + size])
        outcomes: Counter[str] = Counter()
        durations = []
        if profile is not None:
            profile.enable()
        with LoadMeter() as load:
            cpu0 = time.process_time()
            start = time.perf_counter()
            for i in range(0, len(bodies), size):
                t0 = time.perf_counter()
                group = bodies[i:i + size]
                outcomes.update(await many(group))
                # A message's share of its call: the call's time spread evenly.
                durations.extend([(time.perf_counter() - t0) / len(group)] * len(group))
            elapsed = time.perf_counter() - start
            cpu = time.process_time() - cpu0
        if profile is not None:
            profile.disable()
        half = len(durations) // 2
        counts = await _counts(ctx.database)
        return {
            "path": f"receive_batch, {batch_size} a call" if batch_size else "receive",
            "messages": len(bodies),
            "seconds": round(elapsed, 3),
            "messages_per_s": round(len(bodies) / elapsed, 1),
            "first_half_per_s": round(half / sum(durations[:half]), 1),
            "second_half_per_s": round((len(durations) - half) / sum(durations[half:]), 1),
            "latency": summary_ms(durations),
            # CPU of this process (event loop + aiosqlite thread) per message: less sensitive
            # to other work on the machine than messages/s.
            "cpu_ms_per_message": round(cpu / len(bodies) * 1000, 3),
            "messages_per_cpu_second": round(len(bodies) / cpu, 1),
            "machine_load": load.result,
            "outcomes": dict(outcomes),
            "huey_pending": queue.huey.pending_count(),
            "rows_after": counts,
            "rss_mib_after": rss_mib(),
        }
    finally:
        outbox.set_dispatcher(None)
        await ctx.database.dispose()
        context.reset()


def run_inprocess(args: Any, warm: list[bytes], bodies: list[bytes], repeat: int,
                  profile_path: str | None, batch_size: int = 0) -> dict[str, Any]:
    runs = []
    for i in range(repeat):
        profile = cProfile.Profile() if profile_path and i == 0 else None
        with bench_database("ingest", args, suffix="_inproc") as dbh:
            log(f"in-process run {i + 1}/{repeat} on {dbh.backend}"
                + (f", batches of {batch_size}" if batch_size else ""))
            run = asyncio.run(_inprocess(dbh, warm, bodies, profile, batch_size))
        log(f"  {run['messages_per_s']} msg/s, p99 {run['latency']['p99_ms']} ms")
        runs.append(run)
        if profile is not None:
            _write_profile(profile, profile_path or "")
    rates = [r["messages_per_s"] for r in runs]
    return {"median_messages_per_s": statistics.median(rates), "runs_messages_per_s": rates,
            "median_cpu_ms_per_message": statistics.median(
                r["cpu_ms_per_message"] for r in runs),
            "profiled_first_run": bool(profile_path), "runs": runs}


def _write_profile(profile: cProfile.Profile, path: str) -> None:
    profile.dump_stats(path)
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(key).print_stats(40)
        Path(f"{path}.{key}.txt").write_text(out.getvalue())
    log(f"profile written to {path} (+ .cumulative.txt, .tottime.txt)")


# --- over HTTP ---------------------------------------------------------------------------------

def _cpu_seconds(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sellerdesk_cli() -> str:
    return str(Path(sys.executable).parent / "sellerdesk")


def _create_channel_with_cli(dbh: BenchDatabase) -> str:
    """A store in-process (the CLI has no `store create`), then `sellerdesk channel create`."""
    from sellerdesk.accounts.actions import create_store
    from sellerdesk.core.db import Database

    async def make_store() -> None:
        database = Database(dbh.url)
        try:
            async with database.sessionmaker() as db:
                await create_store(db, slug="bench", name="Benchmark store")
        finally:
            await database.dispose()

    asyncio.run(make_store())
    out = subprocess.run(
        [_sellerdesk_cli(), "channel", "create", "--store", "bench", "--name", "bench api"],
        env=dbh.env(), capture_output=True, text=True, check=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("inbound token:"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError(f"no token in `sellerdesk channel create` output: {out!r}")


async def _wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{base}/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError("serve did not become healthy")


async def _post_all(base: str, token: str, bodies: list[bytes], concurrency: int
                    ) -> tuple[float, list[float], Counter[int], list[str]]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    durations: list[float] = []
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    it = iter(bodies)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        async def worker() -> None:
            for body in it:
                t0 = time.perf_counter()
                try:
                    response = await client.post("/api/v1/inbound", content=body,
                                                 headers=headers)
                except httpx.HTTPError as exc:
                    statuses[0] += 1
                    errors.append(repr(exc)[:300])
                    continue
                durations.append(time.perf_counter() - t0)
                statuses[response.status_code] += 1
                if response.status_code >= 300 and len(errors) < 5:
                    errors.append(response.text[:300])

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return elapsed, durations, statuses, errors


def _http_once(args: Any, warm: list[bytes], bodies: list[bytes]) -> dict[str, Any]:
    with bench_database("ingest", args, suffix="_http") as dbh:
        token = _create_channel_with_cli(dbh)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server_log = (dbh.data_dir / "serve.log").open("wb")
        proc = subprocess.Popen(
            [_sellerdesk_cli(), "serve", "--no-worker", "--port", str(port)],
            env=dbh.env(), stdout=server_log, stderr=subprocess.STDOUT,
        )
        try:
            asyncio.run(_wait_healthy(base, proc))
            rss_started = rss_mib(proc.pid)
            asyncio.run(_post_all(base, token, warm, 1))
            time.sleep(2.0)
            with RssSampler(proc.pid) as idle:
                time.sleep(1.0)
            serve_cpu0 = _cpu_seconds(proc.pid)
            with LoadMeter() as load, RssSampler(proc.pid) as busy:
                elapsed, durations, statuses, errors = asyncio.run(
                    _post_all(base, token, bodies, args.concurrency))
            serve_cpu = _cpu_seconds(proc.pid) - serve_cpu0
            time.sleep(1.0)
            rss_after = rss_mib(proc.pid)
            ok = sum(c for s, c in statuses.items() if 200 <= s < 300)
            result = {
                "concurrency": args.concurrency,
                "messages": len(bodies),
                "accepted_2xx": ok,
                "seconds": round(elapsed, 3),
                "messages_per_s": round(ok / elapsed, 1),
                "latency_client_side": summary_ms(durations),
                "serve_cpu_ms_per_message": round(serve_cpu / len(bodies) * 1000, 3),
                "machine_load": load.result,
                "status_counts": {str(k): v for k, v in statuses.items()},
                "error_samples": errors[:5],
                "serve_rss_mib": {
                    "after_start": rss_started,
                    "idle_after_warmup": idle.peak_mib,
                    "peak_during_ingest": busy.peak_mib,
                    "after_ingest": rss_after,
                    "samples_during_ingest": len(busy.samples),
                },
            }
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            server_log.close()
        log_text = (dbh.data_dir / "serve.log").read_text(errors="replace")
        # The exception lines themselves (e.g. "sqlite3.OperationalError: database is locked"),
        # not the tracebacks' frames.
        result["serve_log_errors"] = [
            line[:300] for line in log_text.splitlines()
            if re.match(r"^[\w.]*(Error|Exception)\b.*:", line) or "ERROR" in line[:40]
        ][:10]
        with contextlib.suppress(Exception):
            from sellerdesk.core.db import Database

            async def counts() -> dict[str, int]:
                database = Database(dbh.url)
                try:
                    return await _counts(database)
                finally:
                    await database.dispose()

            result["rows_after"] = asyncio.run(counts())
        return result


def run_http(args: Any, warm: list[bytes], bodies: list[bytes], repeat: int) -> dict[str, Any]:
    runs = []
    for i in range(repeat):
        log(f"HTTP run {i + 1}/{repeat}, concurrency {args.concurrency}")
        run = _http_once(args, warm, bodies)
        log(f"  {run['messages_per_s']} msg/s, p50 {run['latency_client_side'].get('p50_ms')} "
            f"ms, p99 {run['latency_client_side'].get('p99_ms')} ms, "
            f"statuses {run['status_counts']}, rss {run['serve_rss_mib']}")
        runs.append(run)
    rates = [r["messages_per_s"] for r in runs]

    def median_of(key: str) -> float:
        return statistics.median(r["latency_client_side"].get(key, float("nan")) for r in runs)

    return {
        "median_messages_per_s": statistics.median(rates),
        "runs_messages_per_s": rates,
        "median_p50_ms": median_of("p50_ms"),
        "median_p99_ms": median_of("p99_ms"),
        "median_serve_cpu_ms_per_message": statistics.median(
            r["serve_cpu_ms_per_message"] for r in runs),
        "median_serve_rss_idle_mib": statistics.median(
            r["serve_rss_mib"]["idle_after_warmup"] or 0 for r in runs),
        "median_serve_rss_peak_mib": statistics.median(
            r["serve_rss_mib"]["peak_during_ingest"] or 0 for r in runs),
        "runs": runs,
    }


def main() -> None:
    p = parser("ingest", 5000, __doc__)
    p.add_argument("--repeat", type=int, default=3, help="fresh-database runs per mode")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--skip-http", action="store_true")
    p.add_argument("--skip-inprocess", action="store_true")
    p.add_argument("--batch-size", type=int, default=100,
                   help="messages per receive_batch call in the in-process batch mode")
    p.add_argument("--skip-batch", action="store_true",
                   help="skip the in-process batch mode (receive_batch, as bulk sources use)")
    p.add_argument("--profile", default=None, metavar="FILE",
                   help="cProfile the first in-process run into FILE (slows that run)")
    args = p.parse_args()

    warm = make_payloads(WARMUP, args.seed + 1000, "warm")
    bodies = make_payloads(args.n, args.seed, "bench")
    result: dict[str, Any] = {
        "benchmark": "ingest",
        "backend": args.backend,
        "n": args.n,
        "warmup_messages": WARMUP,
        "repeat": args.repeat,
        "payloads": payload_stats(bodies),
        "path": "inbound.receive -> process_raw -> ingest (API adapter), Huey dispatcher "
                "installed (SqliteHuey, not consumed)",
        "goal": {"messages_per_s_sqlite": 1000},
    }
    if not args.skip_inprocess:
        result["inprocess"] = run_inprocess(args, warm, bodies, args.repeat, args.profile)
    if not args.skip_batch:
        result["inprocess_batch"] = run_inprocess(args, warm, bodies, args.repeat, None,
                                                  args.batch_size)
    if not args.skip_http:
        result["http"] = run_http(args, warm, bodies, args.repeat)
    if args.backend == "postgresql":
        with bench_database("ingest", args, suffix="_info", migrate=False) as dbh:
            result["postgres"] = asyncio.run(pg_server_settings(dbh.asyncpg_dsn))
    if "inprocess_batch" in result:
        result["goal"]["met_inprocess_batch"] = (
            result["inprocess_batch"]["median_messages_per_s"] >= 1000
            if args.backend == "sqlite" else None)
    if "inprocess" in result:
        result["goal"]["met_inprocess"] = (
            result["inprocess"]["median_messages_per_s"] >= 1000 if args.backend == "sqlite"
            else None)
    result["machine"] = machine_info()
    emit(result)


if __name__ == "__main__":
    main()
