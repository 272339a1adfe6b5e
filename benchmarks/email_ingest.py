"""Email ingest throughput: raw RFC 5322 mail through parse -> thread -> store -> index.

A deterministic mix (benchmarks/_mail_mix.py: en/pl/ko, legacy charsets, QP/base64/8-bit,
HTML, attachments, 30% replies, Amazon relay mail) through the one inbound path, two ways,
each on a fresh database:

  single  one mail at a time, `inbound.receive(db, channel=<email channel>, body=raw,
          content_type="message/rfc822")`, as the SMTP listener does: the raw payload is
          stored and committed, EmailAdapter.parse runs (MIME, charsets, threading hints,
          relay, reply stripping), then customer, threading, message, attachments (blob
          store), search index, audit, job row and commit;
  batch   --batch-size mails at a time (default 100), `inbound.receive_batch(...)`, as the
          IMAP poller and the importer do: the raw payloads stored in one commit, all parsed,
          then the whole batch written in one transaction.

Job ids are handed to Huey after each commit (SqliteHuey in the data folder, as
benchmarks/ingest.py installs it; nobody consumes it). Mails are generated between
measurements; the times and mails/s count only `receive` / `receive_batch`.

    .venv/bin/python benchmarks/email_ingest.py [--n 10000] [--backend sqlite|postgresql]
        [--mode both|single|batch] [--batch-size 100] [--database-url URL] [--seed 42]
        [--profile FILE]
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import os
import pstats
import resource
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
from _mail_mix import SUPPORT, Mail, MailMix

WARMUP = 200
GOAL_MAILS_PER_S = 500
GOAL_RSS_MIB = 300
DJANGO_HELPDESK_MAILS_PER_S = 52  # issue 5's figure for django-helpdesk 2.6.1, not measured here


async def _set_up(ctx: Any) -> Any:
    from sellerdesk.accounts.actions import create_store
    from sellerdesk.channels.email.actions import create_account
    from sellerdesk.channels.models import Channel

    async with ctx.database.sessionmaker() as db:
        store = await create_store(db, slug="bench", name="Benchmark store")
        account = await create_account(db, store_id=store.id, address=SUPPORT)
        return await db.get(Channel, account.channel_id)


async def _run(dbh: BenchDatabase, args: Any, profile: cProfile.Profile | None,
               batch_size: int) -> dict[str, Any]:
    """One mode on a fresh database: batch_size 0 is the single-message path."""
    from sellerdesk.channels import inbound
    from sellerdesk.core import context
    from sellerdesk.core.text import warm_up
    from sellerdesk.jobs import outbox
    from sellerdesk.jobs.runtime import JobQueue

    settings = dbh.settings()
    ctx = context.init(settings)
    queue = JobQueue(settings) if args.dispatcher == "huey" else None
    outbox.set_dispatcher(queue.dispatch if queue is not None else None)
    warm_up()
    try:
        channel = await _set_up(ctx)
        mix = MailMix(args.n, args.seed)
        outcomes: Counter[str] = Counter()
        durations: list[float] = []
        placed: list[tuple[int | None, int | None]] = []  # (ticket id, message id) per mail
        parents: list[int | None] = []
        expected: list[str] = []
        batch_seconds: list[float] = []
        async with ctx.database.sessionmaker() as db:
            warm = [mail.raw for mail in MailMix(WARMUP, args.seed + 1000, prefix="warm")]
            if batch_size:
                for start in range(0, len(warm), batch_size):
                    await inbound.receive_batch(db, channel=channel,
                                                bodies=warm[start:start + batch_size],
                                                content_type="message/rfc822")
            else:
                for raw in warm:
                    await inbound.receive(db, channel=channel, body=raw,
                                          content_type="message/rfc822")
            rss_before = rss_mib()
            with LoadMeter() as load, RssSampler(os.getpid()) as rss:
                cpu0 = time.process_time()
                for mails in _batches(mix, batch_size or 1):
                    if profile is not None:
                        profile.enable()
                    t0 = time.perf_counter()
                    if batch_size:
                        results = await inbound.receive_batch(
                            db, channel=channel, bodies=[mail.raw for mail in mails],
                            content_type="message/rfc822")
                    else:
                        results = [await inbound.receive(db, channel=channel,
                                                         body=mails[0].raw,
                                                         content_type="message/rfc822")]
                    elapsed = time.perf_counter() - t0
                    if profile is not None:
                        profile.disable()
                    batch_seconds.append(elapsed)
                    # A mail's share of its batch: the batch's time spread evenly.
                    durations.extend([elapsed / len(mails)] * len(mails))
                    for mail, result in zip(mails, results, strict=True):
                        outcomes[result.outcome.value] += 1
                        placed.append((result.ticket_id, result.message_id))
                        parents.append(mail.parent)
                        expected.append(mail.expected)
                cpu = time.process_time() - cpu0
        checks = await _checks(ctx.database, placed, parents, expected)
        seconds = sum(durations)
        half = len(durations) // 2
        return {
            "mode": f"batch of {batch_size}" if batch_size else "single",
            "batch_size": batch_size or None,
            "mails": len(durations),
            "seconds_in_receive": round(seconds, 3),
            "wall_seconds_with_generation": load.result["wall_s"],
            "mails_per_s": round(len(durations) / seconds, 1),
            # A growing database that slowed threading or indexing would show here.
            "first_half_mails_per_s": round(half / sum(durations[:half]), 1),
            "second_half_mails_per_s": round((len(durations) - half) / sum(durations[half:]), 1),
            "latency": summary_ms(durations) if not batch_size else None,
            "batch_latency": summary_ms(batch_seconds) if batch_size else None,
            "cpu_ms_per_mail": round(cpu / len(durations) * 1000, 3),
            "machine_load": load.result,
            "rss_mib": {"before_run": rss_before, "peak_sampled": rss.peak_mib,
                        "after_run": rss_mib(),
                        "maxrss_getrusage": round(
                            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)},
            "outcomes": dict(outcomes),
            "checks": checks,
            "huey_pending": queue.huey.pending_count() if queue is not None else None,
            "mix": mix.mix.as_dict(),
        }
    finally:
        outbox.set_dispatcher(None)
        await ctx.database.dispose()
        context.reset()


async def _checks(database: Any, placed: list[tuple[int | None, int | None]],
                  parents: list[int | None], expected: list[str]) -> dict[str, Any]:
    """Did it come out right: replies on their parent's ticket, text decoded exactly."""
    from sqlalchemy import func, select

    from sellerdesk.tickets.models import Attachment, Message, Ticket

    misthreaded = sum(1 for i, parent in enumerate(parents)
                      if parent is not None and placed[i][0] != placed[parent][0])
    async with database.sessionmaker() as db:
        texts = {row[0]: row[1] for row in await db.execute(select(Message.id, Message.text))}
        missing = [i for i, (_, message_id) in enumerate(placed)
                   if expected[i] not in texts.get(message_id or -1, "")]
        priorities = {row[0]: row[1] for row in await db.execute(
            select(Ticket.priority, func.count()).group_by(Ticket.priority))}
        return {
            "replies_on_their_parents_ticket": sum(p is not None for p in parents) - misthreaded,
            "replies_misthreaded": misthreaded,
            "mails_whose_text_lacks_the_expected_sentence": len(missing),
            "first_such_mails": missing[:5],
            "tickets": await db.scalar(select(func.count()).select_from(Ticket)),
            "tickets_by_priority": priorities,
            "amazon_tickets": await db.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.marketplace == "amazon")),
            "messages_with_display_text": await db.scalar(
                select(func.count()).select_from(Message).where(
                    Message.display_text.is_not(None))),
            "attachments": await db.scalar(select(func.count()).select_from(Attachment)),
            "inline_attachments": await db.scalar(
                select(func.count()).select_from(Attachment).where(Attachment.inline)),
        }


def _batches(mix: MailMix, size: int) -> Iterator[list[Mail]]:
    """The mix in lists of `size` mails, generated as they are needed."""
    batch: list[Mail] = []
    for mail in mix:
        batch.append(mail)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_profile(profile: cProfile.Profile, path: str) -> None:
    profile.dump_stats(path)
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(key).print_stats(50)
        Path(f"{path}.{key}.txt").write_text(out.getvalue())
    log(f"profile written to {path} (+ .cumulative.txt, .tottime.txt)")


def _summary(run: dict[str, Any]) -> dict[str, Any]:
    peak = max(run["rss_mib"]["peak_sampled"] or 0, run["rss_mib"]["maxrss_getrusage"])
    latency = run["latency"] or run["batch_latency"]
    return {"mails_per_s": run["mails_per_s"], "cpu_ms_per_mail": run["cpu_ms_per_mail"],
            "p50_ms": latency["p50_ms"], "p99_ms": latency["p99_ms"],
            "latency_of": "one mail" if run["latency"] else f"one {run['mode']}",
            "peak_rss_mib": peak}


def main() -> None:
    p = parser("email_ingest", 10_000, __doc__)
    p.add_argument("--mode", choices=("both", "single", "batch"), default="both")
    p.add_argument("--batch-size", type=int, default=100,
                   help="mails per receive_batch call in batch mode (default 100)")
    p.add_argument("--dispatcher", choices=("huey", "none"), default="huey",
                   help="hand job ids to Huey after each commit (default), or to nobody "
                        "(to see what the enqueue costs)")
    p.add_argument("--profile", default=None, metavar="FILE",
                   help="cProfile the receive calls of the last mode run into FILE (slows it)")
    args = p.parse_args()
    modes = {"both": (0, args.batch_size), "single": (0,), "batch": (args.batch_size,)}
    runs: dict[str, dict[str, Any]] = {}
    profile: cProfile.Profile | None = None
    for size in modes[args.mode]:
        name = "batch" if size else "single"
        profile = cProfile.Profile() if args.profile else None
        with bench_database("email_ingest", args, suffix=f"_{name}") as dbh:
            log(f"{args.n} mails on {dbh.backend}, {name}" + (f" ({size} a batch)" if size
                                                                else ""))
            runs[name] = asyncio.run(_run(dbh, args, profile, size))
            if dbh.backend == "postgresql":
                runs[name]["postgres"] = asyncio.run(pg_server_settings(dbh.asyncpg_dsn))
        summary = _summary(runs[name])
        log(f"{name}: {summary['mails_per_s']} mails/s, {summary['cpu_ms_per_mail']} ms CPU a "
            f"mail, p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms "
            f"({summary['latency_of']}), peak RSS {summary['peak_rss_mib']} MiB")
    if profile is not None:
        _write_profile(profile, args.profile)
    summaries = {name: _summary(run) for name, run in runs.items()}
    main_figure = summaries.get("batch") or summaries["single"]
    emit({
        "benchmark": "email_ingest",
        "backend": args.backend,
        "n": args.n,
        "seed": args.seed,
        "warmup_mails": WARMUP,
        "profiled": bool(args.profile),
        "paths": {
            "single": "inbound.receive(message/rfc822) -> process_raw -> EmailAdapter.parse -> "
                      "ingest, one session, sequential",
            "batch": f"inbound.receive_batch({args.batch_size} mails) -> raw payloads in one "
                     "commit -> EmailAdapter.parse each -> one transaction for the batch "
                     "(what the IMAP poller and the importer use)",
        },
        "dispatcher": "Huey (SqliteHuey in the data folder, not consumed)"
        if args.dispatcher == "huey" else "none (job rows written, ids handed to nobody)",
        "mails_per_s": main_figure["mails_per_s"],
        "figures": summaries,
        "peak_rss_mib": max(s["peak_rss_mib"] for s in summaries.values()),
        "goal": {"mails_per_s": GOAL_MAILS_PER_S, "rss_mib_below": GOAL_RSS_MIB,
                 "met": main_figure["mails_per_s"] >= GOAL_MAILS_PER_S
                 and max(s["peak_rss_mib"] for s in summaries.values()) < GOAL_RSS_MIB,
                 "measured_on": "batch" if "batch" in summaries else "single"},
        "reference": {"django_helpdesk_2_6_1_mails_per_s": DJANGO_HELPDESK_MAILS_PER_S,
                      "source": "issue 5 (not measured by this script)"},
        "runs": runs,
        "machine": machine_info(),
    })


if __name__ == "__main__":
    main()
