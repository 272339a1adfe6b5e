"""Jobs of the automation domain."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.automation import sweep, tracking
from sellerdesk.core.clock import now
from sellerdesk.jobs.registry import job, periodic


@periodic("sla.sweep")
async def sla_sweep(db: AsyncSession) -> int:
    """Warnings and breaches whose time has come (see automation.sweep)."""
    result = await sweep.sweep(db, now=now())
    return result.warnings + result.breaches


@job("sla.calendar_changed")
async def calendar_changed(db: AsyncSession, *, calendar_id: int) -> None:
    """New opening hours, holidays or zone: the running targets on them are rescheduled."""
    await tracking.calendar_changed(db, calendar_id=calendar_id)
