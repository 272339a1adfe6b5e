"""Reads of calendars, SLA policies and tickets' SLA state, scoped to a store."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.automation import calendars, sla
from sellerdesk.automation.errors import CalendarError, SlaError
from sellerdesk.automation.models import Calendar, SlaPolicy, TicketSla, TicketSlaTarget
from sellerdesk.automation.policies import build_policy
from sellerdesk.core.errors import NotFound

log = logging.getLogger(__name__)


async def get_calendar(db: AsyncSession, *, store_id: int, calendar_id: int) -> Calendar:
    row = (await db.execute(
        select(Calendar).where(Calendar.id == calendar_id, Calendar.store_id == store_id)
    )).scalar_one_or_none()
    if row is None:
        raise NotFound(CalendarError.NOT_FOUND, f"calendar {calendar_id} not found",
                       field="calendar_id")
    return row


async def list_calendars(db: AsyncSession, *, store_id: int) -> list[Calendar]:
    rows = await db.execute(
        select(Calendar).where(Calendar.store_id == store_id).order_by(Calendar.name, Calendar.id)
    )
    return list(rows.scalars())


async def get_policy(db: AsyncSession, *, store_id: int, policy_id: int) -> SlaPolicy:
    row = (await db.execute(
        select(SlaPolicy).where(SlaPolicy.id == policy_id, SlaPolicy.store_id == store_id)
    )).scalar_one_or_none()
    if row is None:
        raise NotFound(SlaError.POLICY_NOT_FOUND, f"SLA policy {policy_id} not found",
                       field="policy_id")
    return row


async def list_policies(
    db: AsyncSession, *, store_id: int, active_only: bool = False
) -> list[SlaPolicy]:
    """The store's policies in the order they are tried."""
    stmt = select(SlaPolicy).where(SlaPolicy.store_id == store_id)
    if active_only:
        stmt = stmt.where(SlaPolicy.is_active.is_(True))
    rows = await db.execute(stmt.order_by(SlaPolicy.position, SlaPolicy.id))
    return list(rows.scalars())


def engine_calendar(row: Calendar) -> calendars.BusinessCalendar:
    return calendars.build_calendar(timezone=row.timezone, hours=row.hours,
                                    holidays=row.holidays)


def engine_policy(row: SlaPolicy) -> sla.Policy:
    return build_policy(
        id=row.id, name=row.name, conditions=row.conditions, targets=row.targets,
        calendar_id=row.calendar_id, pause_on=row.pause_on, warn_percent=row.warn_percent,
        warn_minutes_before=row.warn_minutes_before,
    )


async def clocks(db: AsyncSession, calendar_ids: Iterable[int | None]) -> dict[int | None,
                                                                               sla.Clock]:
    """The clock of each calendar id (None: calendar time)."""
    wanted = {i for i in calendar_ids if i is not None}
    result: dict[int | None, sla.Clock] = {None: sla.Clock()}
    if wanted:
        rows = await db.execute(select(Calendar).where(Calendar.id.in_(wanted)))
        for row in rows.scalars():
            result[row.id] = sla.Clock(engine_calendar(row))
    for missing in wanted - set(result):
        # Calendars in use by a policy or an unfinished target cannot be deleted; this is
        # only reachable by editing the database by hand.
        log.warning("calendar %s is gone; counting its targets in calendar time", missing)
        result[missing] = sla.Clock()
    return result


def to_target(row: TicketSlaTarget) -> sla.Target:
    return sla.Target(
        kind=sla.TargetKind(row.kind), goal=row.goal, warn_after=row.warn_after,
        calendar_id=row.calendar_id, started_at=row.started_at, checkpoint=row.checkpoint_at,
        elapsed=row.elapsed, running=row.running, paused_since=row.paused_since,
        paused=row.paused, due_at=row.due_at, warn_at=row.warn_at,
        completed_at=row.completed_at, warned_at=row.warned_at, breached_at=row.breached_at,
    )


@dataclass(frozen=True, slots=True)
class TicketSlaView:
    state: TicketSla | None
    targets: list[sla.Target]
    clocks: dict[int | None, sla.Clock]


TARGET_ORDER = {kind: i for i, kind in enumerate(sla.TargetKind)}


async def ticket_sla(db: AsyncSession, *, ticket_id: int) -> TicketSlaView:
    """A ticket's SLA state (the ticket itself comes through tickets.queries.get_ticket)."""
    state = await db.get(TicketSla, ticket_id)
    rows = (await db.execute(
        select(TicketSlaTarget).where(TicketSlaTarget.ticket_id == ticket_id)
    )).scalars()
    targets = sorted((to_target(r) for r in rows), key=lambda t: TARGET_ORDER[t.kind])
    return TicketSlaView(state, targets, await clocks(db, (t.calendar_id for t in targets)))
