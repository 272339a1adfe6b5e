"""Huey underneath the outbox: real worker threads on a fresh SQLite file database.

These tests do not use the rolled-back `db` fixture: the workers open their own sessions and
must see committed rows. The process-wide context is swapped for the test and restored.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sellerdesk.accounts import actions as accounts
from sellerdesk.channels import inbound
from sellerdesk.core import context
from sellerdesk.core.clock import now
from sellerdesk.core.config import load_settings
from sellerdesk.core.db import commit
from sellerdesk.core.migrate import upgrade
from sellerdesk.jobs import outbox
from sellerdesk.jobs.models import Job
from sellerdesk.jobs.runtime import SWEEP_AFTER, EmbeddedWorkers, JobQueue
from sellerdesk.tickets.models import AuditEvent, Ticket


@dataclass
class Runtime:
    ctx: context.Context
    queue: JobQueue


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'runtime.db'}"
    settings = load_settings(data_dir=tmp_path, database_url=url, secret_key="runtime-secret",
                             job_max_attempts=3, job_backoff_seconds=0.2)
    await asyncio.to_thread(upgrade, url)
    saved = context._current
    ctx = context.init(settings)
    try:
        yield Runtime(ctx, JobQueue(settings))
    finally:
        outbox.set_dispatcher(None)
        await ctx.database.dispose()
        context._current = saved


INBOUND = {
    "external_id": "wa-1",
    "from": {"name": "Ewa Nowak", "email": "ewa@example.pl"},
    "subject": "Zwrot zamówienia",
    "text": "Dzień dobry, proszę o zwrot pieniędzy za uszkodzoną paczkę. Paczka przyszła "
            "zgnieciona i produkt nie działa.",
}


async def test_workers_run_the_inbound_job_after_commit(runtime: Runtime) -> None:
    sessions = runtime.ctx.database.sessionmaker
    async with sessions() as db:
        store = await accounts.create_store(db, slug="rt", name="Runtime Shop")
        channel, _ = await accounts.create_channel(db, store_id=store.id, type="api",
                                                   name="API")
    workers = EmbeddedWorkers(runtime.queue, 2)
    workers.start()
    outbox.set_dispatcher(runtime.queue.dispatch)
    try:
        async with sessions() as db:
            result = await inbound.receive(db, channel=channel,
                                           body=json.dumps(INBOUND).encode(),
                                           content_type="application/json")
        assert result.ticket_id is not None

        language, jobs_left = None, -1
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            async with sessions() as db:
                jobs_left = int(await db.scalar(
                    select(func.count()).select_from(Job).where(Job.name == "inbound.received")
                ) or 0)
                language = await db.scalar(
                    select(Ticket.language).where(Ticket.id == result.ticket_id))
            if jobs_left == 0 and language is not None:
                break
            await asyncio.sleep(0.1)
    finally:
        await asyncio.to_thread(workers.stop)

    assert jobs_left == 0
    assert language == "pl"
    async with sessions() as db:
        actions = list((await db.execute(
            select(AuditEvent.action).where(AuditEvent.ticket_id == result.ticket_id)
            .order_by(AuditEvent.id)
        )).scalars())
    assert actions == ["ticket.created", "message.received", "ticket.language_detected"]
    assert all(not t.is_alive() for t in workers._threads)


async def test_a_failing_job_is_redispatched_with_delay_then_dropped(runtime: Runtime) -> None:
    sessions = runtime.ctx.database.sessionmaker
    workers = EmbeddedWorkers(runtime.queue, 1)
    workers.start()
    outbox.set_dispatcher(runtime.queue.dispatch)
    try:
        async with sessions() as db:
            job = outbox.enqueue(db, "no.such.job", x=1)
            await commit(db)
        remaining = -1
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            async with sessions() as db:
                remaining = int(await db.scalar(select(func.count()).select_from(Job)) or 0)
            if remaining == 0:
                break
            await asyncio.sleep(0.1)
    finally:
        await asyncio.to_thread(workers.stop)

    # job_max_attempts=3: two retries through Huey's schedule, then the row is dropped.
    assert remaining == 0
    assert job.id is not None


async def test_sweep_redispatches_only_jobs_overdue_by_a_minute(runtime: Runtime) -> None:
    sessions = runtime.ctx.database.sessionmaker
    async with sessions() as db:
        lost = outbox.enqueue(db, "inbound.received", message_id=1)
        lost.run_after = now() - SWEEP_AFTER - timedelta(seconds=5)
        fresh = outbox.enqueue(db, "inbound.received", message_id=2)
        fresh.run_after = now() - timedelta(seconds=30)
        later = outbox.enqueue(db, "inbound.received", message_id=3)
        later.run_after = now() + timedelta(minutes=5)
        await commit(db)
    huey = runtime.queue.huey
    assert huey.pending_count() == 0

    swept = await runtime.queue.sweep()

    assert swept == 1
    assert [task.args for task in huey.pending()] == [(lost.id,)]
    assert timedelta(seconds=60) == SWEEP_AFTER


async def test_dispatch_with_delay_goes_to_the_schedule(runtime: Runtime) -> None:
    huey = runtime.queue.huey

    await runtime.queue.dispatch([41, 42], 0.0)
    await runtime.queue.dispatch([43], 30.0)

    # Huey keeps a delayed task in the queue with an eta; a worker moves it to the schedule.
    tasks = huey.pending()
    assert [task.args for task in tasks] == [(41,), (42,), (43,)]
    assert [task.eta is None for task in tasks] == [True, True, False]
    assert tasks[0].name == tasks[2].name == runtime.queue.run_task.name
    assert (runtime.ctx.settings.data_dir / "jobs.db").is_file()
