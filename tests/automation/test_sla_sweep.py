"""The periodic SLA sweep: warnings and breaches recorded once, audited, published live."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.automation import sweep
from sellerdesk.automation.sweep import SweepResult
from sellerdesk.channels.models import Channel
from sellerdesk.core.actor import SYSTEM
from sellerdesk.jobs import registry
from sellerdesk.jobs.models import Job
from sellerdesk.realtime.bus import bus
from sellerdesk.tickets import actions as tickets
from sellerdesk.tickets.models import AuditEvent
from tests.automation.conftest import add_policy, minutes, receive, targets, ticket_of

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def drain(queue: asyncio.Queue[dict[str, Any]]) -> list[dict[str, Any]]:
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return events


async def test_warning_then_breach_each_recorded_once(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    # given a ticket whose first response is due an hour after it arrived (warning at 80 %)
    await add_policy(db, store, "All", {"first_response": minutes(60)})
    ticket_id = await receive(db, api_channel[0], at=T0, external_id="a")
    due = (T0 + 60 * M).isoformat()

    async with bus.subscribe(store.id) as queue:
        early = await sweep.sweep(db, now=T0 + 47 * M)
        warned = await sweep.sweep(db, now=T0 + 50 * M)
        warned_again = await sweep.sweep(db, now=T0 + 55 * M)
        warning_events = drain(queue)
        breached = await sweep.sweep(db, now=T0 + 61 * M)
        breached_again = await sweep.sweep(db, now=T0 + 90 * M)
        breach_events = drain(queue)

    assert early == SweepResult(0, 0, 0)
    assert warned == SweepResult(examined=1, warnings=1, breaches=0)
    assert warned_again == SweepResult(0, 0, 0)
    assert breached == SweepResult(examined=1, warnings=0, breaches=1)
    assert breached_again == SweepResult(0, 0, 0)
    assert warning_events == [{"type": "sla.warning", "ticket_id": ticket_id,
                               "target": "first_response", "due_at": due}]
    assert breach_events == [{"type": "sla.breached", "ticket_id": ticket_id,
                              "target": "first_response", "due_at": due}]
    row = (await targets(db, ticket_id))["first_response"]
    assert (row.state, row.warned_at, row.breached_at, row.next_check_at) == (
        "breached", T0 + 50 * M, T0 + 60 * M, None)
    # still owed, so the ticket keeps its place at the top of the inbox
    assert (await ticket_of(db, ticket_id)).sla_due_at == T0 + 60 * M
    audit = [tuple(r) for r in await db.execute(
        select(AuditEvent.action, AuditEvent.actor_type, AuditEvent.after)
        .where(AuditEvent.ticket_id == ticket_id, AuditEvent.action.in_(
            ["sla.warning", "sla.breached"])).order_by(AuditEvent.id)
    )]
    assert audit == [
        ("sla.warning", "system", {"target": "first_response", "due_at": due}),
        ("sla.breached", "system", {"target": "first_response", "due_at": due}),
    ]
    # no job for rules yet: nobody would handle it
    assert await db.scalar(select(func.count()).select_from(Job)
                           .where(Job.name.like("sla.%"))) == 0


async def test_met_and_paused_targets_are_not_swept(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    await add_policy(db, store, "All", {"first_response": minutes(60)})
    met = await receive(db, api_channel[0], at=T0, external_id="a")
    paused = await receive(db, api_channel[0], at=T0, external_id="b", email="jan@example.pl")
    await tickets.record_sent_reply(db, ticket=await ticket_of(db, met), actor=SYSTEM,
                                    text="Już wysłane.", sent_at=T0 + 10 * M)
    await tickets.update_ticket(db, ticket=await ticket_of(db, paused), actor=SYSTEM,
                                changes={"status": "pending"})

    result = await sweep.sweep(db, now=T0 + timedelta(days=400))

    assert result == SweepResult(0, 0, 0)


async def test_a_breach_found_late_is_recorded_without_a_warning(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    await add_policy(db, store, "All", {"first_response": minutes(60),
                                        "resolution": minutes(120)})
    ticket_id = await receive(db, api_channel[0], at=T0, external_id="a")

    result = await sweep.sweep(db, now=T0 + 100 * M)

    # first response is past due; resolution (due at 120 min) has reached its warning
    assert result == SweepResult(examined=2, warnings=1, breaches=1)
    rows = await targets(db, ticket_id)
    assert (rows["first_response"].state, rows["first_response"].warned_at) == ("breached", None)
    assert (rows["resolution"].state, rows["resolution"].warned_at) == ("active", T0 + 100 * M)


async def test_the_sweep_works_in_batches_until_nothing_is_due(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    await add_policy(db, store, "All", {"first_response": minutes(60)}, warn_percent=None)
    for i in range(5):
        await receive(db, api_channel[0], at=T0 + i * M, external_id=f"m{i}",
                      email=f"c{i}@example.pl")

    result = await sweep.sweep(db, now=T0 + 2 * 60 * M, batch=2)

    assert result == SweepResult(examined=5, warnings=0, breaches=5)
    assert await sweep.sweep(db, now=T0 + 3 * 60 * M, batch=2) == SweepResult(0, 0, 0)


async def test_the_sweep_runs_periodically(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    await add_policy(db, store, "All", {"first_response": minutes(60)})
    await receive(db, api_channel[0], at=T0, external_id="a")

    work = registry.periodic_work()["sla.sweep"]
    found = await work(db)

    assert found == 1  # the breach (long past by the real clock); the warning is skipped
