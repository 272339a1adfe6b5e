"""Enqueue jobs inside a transaction; run them after commit, with retries and backoff."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.core.clock import now
from sellerdesk.core.db import commit, on_commit, rollback
from sellerdesk.jobs import registry
from sellerdesk.jobs.models import Job

log = logging.getLogger(__name__)

# Set by the process at start-up: hands job ids to the queue (Huey) once their rows are committed.
Dispatcher = Callable[[list[int], float], Awaitable[None]]
_dispatcher: Dispatcher | None = None


def set_dispatcher(dispatcher: Dispatcher | None) -> None:
    global _dispatcher
    _dispatcher = dispatcher


def enqueue(db: AsyncSession, name: str, **payload: Any) -> Job:
    """Add a job row to the current transaction; it is dispatched only if the commit succeeds."""
    job = Job(name=name, payload=payload, run_after=now())
    db.add(job)
    pending: list[Job] = db.info.setdefault("sellerdesk.jobs", [])
    if not pending:
        on_commit(db, lambda: _dispatch_committed(db))
    pending.append(job)
    return job


async def _dispatch_committed(db: AsyncSession) -> None:
    jobs: list[Job] = db.info.pop("sellerdesk.jobs", [])
    if _dispatcher is not None and jobs:
        await _dispatcher([j.id for j in jobs], 0.0)


def backoff(attempts: int, base_seconds: float, cap_seconds: float = 3600.0) -> float:
    """Exponential backoff: base, 2*base, 4*base ... capped."""
    return float(min(cap_seconds, base_seconds * (2 ** max(0, attempts - 1))))


async def run_job(
    db: AsyncSession, job_id: int, *, max_attempts: int, backoff_seconds: float
) -> float | None:
    """Run one job; return a delay in seconds if it must be retried, None when it is finished."""
    job = await db.get(Job, job_id)
    if job is None:
        return None  # already done by another worker
    name, payload = job.name, dict(job.payload)
    try:
        await registry.call(db, name, payload)
    except registry.RetryLater as exc:
        await rollback(db)
        return await _schedule_retry(db, job_id, str(exc), max_attempts, backoff_seconds)
    except Exception as exc:
        log.exception("job %s %s failed", name, job_id)
        await rollback(db)
        return await _schedule_retry(db, job_id, repr(exc), max_attempts, backoff_seconds)
    await db.execute(delete(Job).where(Job.id == job_id))
    await commit(db)
    return None


async def _schedule_retry(
    db: AsyncSession, job_id: int, error: str, max_attempts: int, backoff_seconds: float
) -> float | None:
    job = await db.get(Job, job_id)
    if job is None:
        return None
    job.attempts += 1
    job.last_error = error[:2000]
    if job.attempts >= max_attempts:
        log.error("job %s %s dropped after %s attempts: %s", job.name, job_id, job.attempts, error)
        try:
            await registry.call_give_up(db, job.name, dict(job.payload), error)
        except Exception:
            # A job that can't be given up on (unknown name, bad payload) must still go,
            # or the sweep would dispatch it forever.
            log.exception("give-up handler of job %s %s failed", job.name, job_id)
            await rollback(db)
            job = await db.get(Job, job_id)
            if job is None:
                return None
        await db.delete(job)
        await commit(db)
        return None
    delay = backoff(job.attempts, backoff_seconds)
    job.run_after = now() + timedelta(seconds=delay)
    await commit(db)
    return delay


async def due_job_ids(db: AsyncSession, *, older_than: timedelta, limit: int = 500) -> list[int]:
    """Jobs whose time has come long enough ago that their dispatch was probably lost."""
    cutoff = now() - older_than
    rows = await db.execute(
        select(Job.id).where(Job.run_after <= cutoff).order_by(Job.id).limit(limit)
    )
    return list(rows.scalars())


async def run_pending(
    db: AsyncSession, *, max_attempts: int = 1, backoff_seconds: float = 1.0
) -> int:
    """Run every job whose time has come, in this session (tests and `sellerdesk` one-shots)."""
    done = 0
    while True:
        rows = await db.execute(
            select(Job.id).where(Job.run_after <= now()).order_by(Job.id).limit(100)
        )
        ids = list(rows.scalars())
        if not ids:
            return done
        for job_id in ids:
            await run_job(db, job_id, max_attempts=max_attempts, backoff_seconds=backoff_seconds)
            done += 1
