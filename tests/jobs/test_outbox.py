"""The job outbox: rows in the caller's transaction, run after commit, retried with backoff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.core.clock import now
from sellerdesk.core.db import commit, rollback
from sellerdesk.jobs import outbox
from sellerdesk.jobs.models import Job


async def jobs(db: AsyncSession) -> list[Job]:
    rows = list((await db.execute(select(Job).order_by(Job.id))).scalars())
    for row in rows:
        await db.refresh(row)
    return rows


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [(0, 5.0), (1, 5.0), (2, 10.0), (3, 20.0), (4, 40.0), (10, 2560.0), (11, 3600.0),
     (50, 3600.0)],
)
def test_backoff_doubles_from_the_base_up_to_the_cap(attempts: int, expected: float) -> None:
    assert outbox.backoff(attempts, 5.0) == expected


def test_backoff_respects_a_custom_cap() -> None:
    assert [outbox.backoff(n, 1.0, cap_seconds=6.0) for n in range(1, 6)] == [
        1.0, 2.0, 4.0, 6.0, 6.0]


async def test_enqueue_writes_a_due_job_row(db: AsyncSession) -> None:
    before = now()

    job = outbox.enqueue(db, "inbound.received", message_id=12345)
    await commit(db)

    (row,) = await jobs(db)
    assert row.id == job.id
    assert row.name == "inbound.received"
    assert row.payload == {"message_id": 12345}
    assert row.attempts == 0
    assert row.last_error is None
    assert before <= row.run_after <= now()


async def test_rolled_back_enqueue_leaves_nothing_and_dispatches_nothing(
    db: AsyncSession,
) -> None:
    calls: list[list[int]] = []

    async def record(job_ids: list[int], delay: float) -> None:
        calls.append(job_ids)

    outbox.set_dispatcher(record)
    try:
        outbox.enqueue(db, "inbound.received", message_id=1)
        await db.flush()
        await rollback(db)

        assert await jobs(db) == []
        assert calls == []

        # The next transaction on the same session dispatches its own jobs, once.
        job = outbox.enqueue(db, "inbound.received", message_id=2)
        await commit(db)
        assert calls == [[job.id]]
    finally:
        outbox.set_dispatcher(None)


async def test_jobs_of_one_transaction_are_dispatched_together(db: AsyncSession) -> None:
    calls: list[tuple[list[int], float]] = []

    async def record(job_ids: list[int], delay: float) -> None:
        calls.append((job_ids, delay))

    outbox.set_dispatcher(record)
    try:
        first = outbox.enqueue(db, "inbound.received", message_id=1)
        second = outbox.enqueue(db, "inbound.received", message_id=2)
        assert calls == []
        await commit(db)
    finally:
        outbox.set_dispatcher(None)

    assert calls == [([first.id, second.id], 0.0)]


async def test_run_job_of_a_missing_row_is_a_no_op(db: AsyncSession) -> None:
    assert await outbox.run_job(db, 987654, max_attempts=3, backoff_seconds=1.0) is None


async def test_run_pending_skips_jobs_not_yet_due(db: AsyncSession) -> None:
    job = outbox.enqueue(db, "inbound.received", message_id=987654)
    job.run_after = now() + timedelta(minutes=5)
    await commit(db)

    assert await outbox.run_pending(db) == 0

    (row,) = await jobs(db)
    assert row.id == job.id
    assert row.attempts == 0


async def test_a_finished_job_is_deleted(db: AsyncSession) -> None:
    # inbound.received for a message that does not exist (any more) has nothing to do.
    outbox.enqueue(db, "inbound.received", message_id=987654)
    await commit(db)

    assert await outbox.run_pending(db) == 1

    assert await jobs(db) == []


async def test_a_failing_job_is_retried_then_dropped(db: AsyncSession) -> None:
    # A payload the handler does not accept fails on every attempt.
    job = outbox.enqueue(db, "inbound.received", wrong_key=1)
    await commit(db)

    delay = await outbox.run_job(db, job.id, max_attempts=2, backoff_seconds=7.0)

    assert delay == 7.0
    (row,) = await jobs(db)
    assert row.attempts == 1
    assert "wrong_key" in (row.last_error or "")
    assert row.run_after > now() + timedelta(seconds=5)

    last = await outbox.run_job(db, job.id, max_attempts=2, backoff_seconds=7.0)

    assert last is None
    assert await jobs(db) == []


async def test_a_job_whose_give_up_handler_fails_is_still_dropped(db: AsyncSession) -> None:
    # message.deliver's give-up handler takes the same (here wrong) payload and fails too.
    job = outbox.enqueue(db, "message.deliver", msg=1)
    await commit(db)

    assert await outbox.run_job(db, job.id, max_attempts=1, backoff_seconds=1.0) is None

    assert await jobs(db) == []


async def test_a_job_with_an_unknown_name_is_dropped_after_its_attempts(
    db: AsyncSession,
) -> None:
    job = outbox.enqueue(db, "no.such.job", x=1)
    await commit(db)

    first = await outbox.run_job(db, job.id, max_attempts=2, backoff_seconds=1.0)
    (row,) = await jobs(db)
    assert row.attempts == 1
    assert row.last_error == "KeyError('no.such.job')"
    last = await outbox.run_job(db, job.id, max_attempts=2, backoff_seconds=1.0)

    assert first == 1.0
    assert last is None
    assert await jobs(db) == []
