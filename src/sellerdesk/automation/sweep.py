"""The SLA sweep: warnings before a target's due time and breaches after it, recorded once.

Each target row carries `next_check_at`: its warning time until warned, then its due time,
and NULL once there is nothing left to watch (met, paused, breached). A partial index holds
only the rows with a time, so a sweep reads exactly the rows whose time has come, soonest
first, however many open tickets there are (benchmarks/sla_sweep.py). The tickets' own
`ix_tickets_active_sla` index orders the inbox by `sla_due_at`, but it cannot find warnings:
how long before the due time a warning falls depends on each target's goal and calendar
(80 % of 4 business hours may be three days of wall-clock time before a Monday due time).

Recording an event sets the row's `warned_at` / `breached_at` and moves `next_check_at` on
in the same statement, so running the sweep twice (or on two schedulers at once: PostgreSQL
rows are taken FOR UPDATE SKIP LOCKED, SQLite writers queue) records nothing twice.

What an event leaves behind: an audit event (`sla.warning` / `sla.breached`, actor system,
after = {target, due_at}) on the ticket's trail, and a live event of the same type on the
store's bus after the commit; and, for stores with an active rule on that event, a
"rules.event" job in the same transaction (automation/rules/hooks.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.automation import sla
from sellerdesk.automation.models import TicketSlaTarget
from sellerdesk.automation.rules import hooks as rules
from sellerdesk.core.actor import SYSTEM
from sellerdesk.core.clock import UTCDateTime
from sellerdesk.core.db import commit, dialect_name, on_commit
from sellerdesk.realtime.bus import bus
from sellerdesk.tickets.models import ACTIVE_STATUSES, AuditEvent, Ticket

BATCH = 2000

_target = cast(Table, TicketSlaTarget.__table__)
_ticket = cast(Table, Ticket.__table__)
_audit = cast(Table, AuditEvent.__table__)
_t = _target.c


def _at(name: str) -> Any:
    return bindparam(name, type_=UTCDateTime())


# Core statements run once per batch with many parameter sets (executemany): the ORM's
# per-row bookkeeping would cost more than the rest of the sweep together.
# (Core, not ORM: at 20,000 events the ORM's per-row work was a third of the sweep.)
_WATCHED = select(_t.id, _t.store_id, _t.ticket_id, _t.kind, _t.due_at, _t.warn_at,
                  _t.warned_at, _t.breached_at, _ticket.c.status).select_from(
    _target.join(_ticket, _ticket.c.id == _t.ticket_id))
_WARNED = (
    update(_target).where(_t.id == bindparam("_id"))
    .values(warned_at=_at("_now"), next_check_at=_at("_next"), updated_at=_at("_now"))
)
_BREACHED = (
    update(_target).where(_t.id == bindparam("_id"))
    .values(state=sla.TargetState.BREACHED.value, breached_at=_at("_breached_at"),
            warn_at=None, next_check_at=None, updated_at=_at("_now"))
)
_STOP = (
    update(_target).where(_t.id == bindparam("_id"))
    .values(next_check_at=_at("_next"), updated_at=_at("_now"))
)


@dataclass(slots=True)
class SweepResult:
    examined: int = 0
    warnings: int = 0
    breaches: int = 0


@dataclass(slots=True)
class _Batch:
    warned: list[dict[str, Any]] = field(default_factory=list)
    breached: list[dict[str, Any]] = field(default_factory=list)
    stopped: list[dict[str, Any]] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)
    live: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


async def sweep(db: AsyncSession, *, now: datetime, batch: int = BATCH) -> SweepResult:
    """Record every warning and breach due by `now`; one transaction per batch."""
    result = SweepResult()
    while True:
        found = await _sweep_batch(db, now, batch, result)
        if found < batch:
            return result


async def _sweep_batch(db: AsyncSession, now: datetime, batch: int, result: SweepResult) -> int:
    stmt = _WATCHED.where(_t.next_check_at < now).order_by(_t.next_check_at).limit(batch)
    if dialect_name(db) == "postgresql":
        stmt = stmt.with_for_update(of=_target, skip_locked=True)
    rows = (await db.execute(stmt)).all()
    work = _Batch()
    for row in rows:
        _decide(row, now, work, result)
    if work.warned:
        await db.execute(_WARNED, work.warned)
    if work.breached:
        await db.execute(_BREACHED, work.breached)
    if work.stopped:
        await db.execute(_STOP, work.stopped)
    if work.audits:
        await db.execute(insert(_audit), work.audits)
    if work.live:
        live = work.live

        async def publish() -> None:
            for store_id, payload in live:
                await bus.publish(store_id, payload)

        on_commit(db, publish)
    await rules.sla_events(db, work.live)  # jobs for stores whose rules listen
    result.examined += len(rows)
    await commit(db)
    return len(rows)


def _decide(row: Any, now: datetime, work: _Batch, result: SweepResult) -> None:
    watch = sla.Watch(row.due_at, row.warn_at, row.warned_at, row.breached_at)
    event = watch.event(now) if row.status in ACTIVE_STATUSES else None
    if event is None:
        # Only a row out of step with its ticket gets here (a ticket closed by a path that
        # did not stop its clocks): stop watching it rather than find it on every sweep.
        upcoming = watch.next_check_at if row.status in ACTIVE_STATUSES else None
        work.stopped.append({"_id": row.id, "_now": now,
                             "_next": upcoming if upcoming and upcoming > now else None})
        return
    after = watch.recorded(event, now)
    breached = event == sla.SlaEvent.BREACHED
    if breached:
        work.breached.append({"_id": row.id, "_now": now, "_breached_at": after.breached_at})
    else:
        work.warned.append({"_id": row.id, "_now": now, "_next": after.next_check_at})
    due = after.due_at.isoformat() if after.due_at else None
    work.audits.append({
        "store_id": row.store_id, "ticket_id": row.ticket_id, "entity_type": "ticket",
        "entity_id": row.ticket_id, "action": event.value, "actor_type": SYSTEM.type,
        "actor_id": SYSTEM.id, "before": None, "after": {"target": row.kind, "due_at": due},
        "created_at": now,
    })
    work.live.append((row.store_id, {"type": event.value, "ticket_id": row.ticket_id,
                                     "target": row.kind, "due_at": due}))
    if breached:
        result.breaches += 1
    else:
        result.warnings += 1
