"""Writes on calendars and SLA policies (admin settings): validated, audited, one transaction.

A policy edit applies to a ticket the next time the ticket is matched (priority, tags or
marketplace change); targets already running keep the terms they started with until then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.automation import calendars, policies
from sellerdesk.automation.errors import CalendarError, SlaError
from sellerdesk.automation.models import Calendar, SlaPolicy, TicketSla, TicketSlaTarget
from sellerdesk.core.actor import Actor
from sellerdesk.core.clock import now
from sellerdesk.core.db import commit
from sellerdesk.core.errors import Conflict, Invalid
from sellerdesk.jobs import outbox
from sellerdesk.tickets import audit


def _calendar_snapshot(row: Calendar) -> dict[str, Any]:
    return {"name": row.name, "timezone": row.timezone, "hours": row.hours,
            "holidays": row.holidays}


def _normalized_calendar(timezone: str, hours: Mapping[str, Any],
                         holidays: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    built = calendars.build_calendar(timezone=timezone, hours=hours, holidays=holidays)
    return {"timezone": timezone, "hours": calendars.weekly_json(built.weekly),
            "holidays": calendars.holidays_json(built.holidays)}


async def _check_calendar_name(db: AsyncSession, store_id: int, name: str,
                               exclude_id: int | None = None) -> None:
    stmt = select(Calendar.id).where(Calendar.store_id == store_id, Calendar.name == name)
    if exclude_id is not None:
        stmt = stmt.where(Calendar.id != exclude_id)
    if await db.scalar(stmt) is not None:
        raise Conflict(CalendarError.NAME_TAKEN, f"a calendar {name!r} exists", field="name")


async def create_calendar(
    db: AsyncSession, *, store_id: int, actor: Actor, name: str, timezone: str,
    hours: Mapping[str, Any], holidays: Sequence[Mapping[str, Any]] = (),
) -> Calendar:
    row = await add_calendar(db, store_id=store_id, actor=actor, name=name, timezone=timezone,
                             hours=hours, holidays=holidays)
    await commit(db)
    return row


async def add_calendar(
    db: AsyncSession, *, store_id: int, actor: Actor, name: str, timezone: str,
    hours: Mapping[str, Any], holidays: Sequence[Mapping[str, Any]] = (),
) -> Calendar:
    """create_calendar without the commit, for callers that write more in one transaction."""
    values = _normalized_calendar(timezone, hours, holidays)
    await _check_calendar_name(db, store_id, name)
    row = Calendar(store_id=store_id, name=name, **values)
    db.add(row)
    await db.flush()
    audit.record(db, store_id=store_id, actor=actor, entity_type="calendar", entity_id=row.id,
                 action="calendar.created", after=_calendar_snapshot(row))
    return row


async def update_calendar(
    db: AsyncSession, *, calendar: Calendar, actor: Actor, changes: Mapping[str, Any]
) -> Calendar:
    """Change name, zone, hours or holidays; a job then reschedules the running targets that
    count its hours (tracking.calendar_changed)."""
    before = _calendar_snapshot(calendar)
    values = _normalized_calendar(
        changes.get("timezone", calendar.timezone), changes.get("hours", calendar.hours),
        changes.get("holidays", calendar.holidays),
    )
    if "name" in changes:
        await _check_calendar_name(db, calendar.store_id, changes["name"], calendar.id)
        calendar.name = changes["name"]
    for key, value in values.items():
        setattr(calendar, key, value)
    old, new = audit.diff(before, _calendar_snapshot(calendar))
    if new:
        calendar.updated_at = now()
        audit.record(db, store_id=calendar.store_id, actor=actor, entity_type="calendar",
                     entity_id=calendar.id, action="calendar.updated", before=old, after=new)
    if set(new) - {"name"}:
        outbox.enqueue(db, "sla.calendar_changed", calendar_id=calendar.id)
    await commit(db)
    return calendar


async def delete_calendar(db: AsyncSession, *, calendar: Calendar, actor: Actor) -> None:
    """Refused while a policy or an unfinished ticket target counts its hours."""
    policy = await db.scalar(select(SlaPolicy.name).where(SlaPolicy.calendar_id == calendar.id)
                             .limit(1))
    if policy is not None:
        raise Conflict(CalendarError.IN_USE, f"SLA policy {policy!r} uses this calendar",
                       field="calendar_id")
    running = await db.scalar(select(TicketSlaTarget.ticket_id).where(
        TicketSlaTarget.calendar_id == calendar.id, TicketSlaTarget.completed_at.is_(None),
    ).limit(1))
    if running is not None:
        raise Conflict(CalendarError.IN_USE,
                       f"ticket {running} has an SLA target counting this calendar's hours",
                       field="calendar_id")
    audit.record(db, store_id=calendar.store_id, actor=actor, entity_type="calendar",
                 entity_id=calendar.id, action="calendar.deleted",
                 before=_calendar_snapshot(calendar))
    await db.delete(calendar)
    await commit(db)


# --- policies ----------------------------------------------------------------------------------

def _policy_snapshot(row: SlaPolicy) -> dict[str, Any]:
    return {
        "name": row.name, "is_active": row.is_active, "conditions": row.conditions,
        "targets": row.targets, "calendar_id": row.calendar_id, "pause_on": row.pause_on,
        "warn_percent": row.warn_percent, "warn_minutes_before": row.warn_minutes_before,
    }


async def _check_policy_name(db: AsyncSession, store_id: int, name: str,
                             exclude_id: int | None = None) -> None:
    stmt = select(SlaPolicy.id).where(SlaPolicy.store_id == store_id, SlaPolicy.name == name)
    if exclude_id is not None:
        stmt = stmt.where(SlaPolicy.id != exclude_id)
    if await db.scalar(stmt) is not None:
        raise Conflict(SlaError.NAME_TAKEN, f"an SLA policy {name!r} exists", field="name")


async def _check_calendar(db: AsyncSession, store_id: int, calendar_id: int | None) -> None:
    if calendar_id is None:
        return
    found = await db.scalar(select(Calendar.id).where(Calendar.id == calendar_id,
                                                      Calendar.store_id == store_id))
    if found is None:
        raise Invalid(SlaError.UNKNOWN_CALENDAR, f"no calendar {calendar_id} in this store",
                      field="calendar_id")


def _normalized_policy(values: Mapping[str, Any]) -> dict[str, Any]:
    """The stored form of a policy's settings, or Invalid naming the field."""
    conditions = policies.normalize_conditions(values.get("conditions") or {})
    targets = policies.normalize_targets(values.get("targets") or {})
    policies.check_calendar_needed(targets, values.get("calendar_id"))
    policies.check_warning(values.get("warn_percent"), values.get("warn_minutes_before"))
    return {
        "conditions": conditions, "targets": targets, "calendar_id": values.get("calendar_id"),
        "pause_on": policies.normalize_pause_on(values.get("pause_on")),
        "warn_percent": values.get("warn_percent"),
        "warn_minutes_before": values.get("warn_minutes_before"),
    }


async def create_policy(
    db: AsyncSession, *, store_id: int, actor: Actor, name: str, targets: Mapping[str, Any],
    conditions: Mapping[str, Any] | None = None, calendar_id: int | None = None,
    pause_on: Iterable[str] | None = None, warn_percent: int | None = 80,
    warn_minutes_before: int | None = None, is_active: bool = True,
) -> SlaPolicy:
    """A policy tried after the store's existing ones."""
    row = await add_policy(
        db, store_id=store_id, actor=actor, name=name, targets=targets, conditions=conditions,
        calendar_id=calendar_id, pause_on=pause_on, warn_percent=warn_percent,
        warn_minutes_before=warn_minutes_before, is_active=is_active,
    )
    await commit(db)
    return row


async def add_policy(
    db: AsyncSession, *, store_id: int, actor: Actor, name: str, targets: Mapping[str, Any],
    conditions: Mapping[str, Any] | None = None, calendar_id: int | None = None,
    pause_on: Iterable[str] | None = None, warn_percent: int | None = 80,
    warn_minutes_before: int | None = None, is_active: bool = True,
) -> SlaPolicy:
    """create_policy without the commit."""
    values = _normalized_policy({
        "conditions": conditions, "targets": targets, "calendar_id": calendar_id,
        "pause_on": pause_on, "warn_percent": warn_percent,
        "warn_minutes_before": warn_minutes_before,
    })
    await _check_calendar(db, store_id, calendar_id)
    await _check_policy_name(db, store_id, name)
    last = await db.scalar(select(func.max(SlaPolicy.position))
                           .where(SlaPolicy.store_id == store_id))
    row = SlaPolicy(store_id=store_id, name=name, is_active=is_active,
                    position=(last or 0) + 1, **values)
    db.add(row)
    await db.flush()
    audit.record(db, store_id=store_id, actor=actor, entity_type="sla_policy", entity_id=row.id,
                 action="sla_policy.created",
                 after={**_policy_snapshot(row), "position": row.position})
    return row


async def update_policy(
    db: AsyncSession, *, policy: SlaPolicy, actor: Actor, changes: Mapping[str, Any]
) -> SlaPolicy:
    before = _policy_snapshot(policy)
    merged = {**before, **changes}
    values = _normalized_policy(merged)
    if "calendar_id" in changes:
        await _check_calendar(db, policy.store_id, changes["calendar_id"])
    if "name" in changes:
        await _check_policy_name(db, policy.store_id, changes["name"], policy.id)
        policy.name = changes["name"]
    if "is_active" in changes:
        policy.is_active = bool(changes["is_active"])
    for key, value in values.items():
        setattr(policy, key, value)
    old, new = audit.diff(before, _policy_snapshot(policy))
    if new:
        policy.updated_at = now()
        audit.record(db, store_id=policy.store_id, actor=actor, entity_type="sla_policy",
                     entity_id=policy.id, action="sla_policy.updated", before=old, after=new)
    await commit(db)
    return policy


async def delete_policy(db: AsyncSession, *, policy: SlaPolicy, actor: Actor) -> None:
    """Tickets measured by it keep their targets; they just no longer name a policy."""
    await db.execute(update(TicketSla).where(TicketSla.policy_id == policy.id)
                     .values(policy_id=None))
    audit.record(db, store_id=policy.store_id, actor=actor, entity_type="sla_policy",
                 entity_id=policy.id, action="sla_policy.deleted", before=_policy_snapshot(policy))
    await db.delete(policy)
    await commit(db)


async def reorder_policies(
    db: AsyncSession, *, store_id: int, actor: Actor, ids: Sequence[int]
) -> list[SlaPolicy]:
    """Set the order policies are tried in; `ids` must list each of the store's exactly once."""
    rows = {p.id: p for p in (await db.execute(
        select(SlaPolicy).where(SlaPolicy.store_id == store_id)
    )).scalars()}
    if len(set(ids)) != len(ids) or set(ids) != set(rows):
        raise Invalid(SlaError.ORDER_MISMATCH,
                      f"ids must list each of this store's {len(rows)} SLA policies once",
                      field="ids")
    before = [p.id for p in sorted(rows.values(), key=lambda p: (p.position, p.id))]
    for position, policy_id in enumerate(ids, start=1):
        rows[policy_id].position = position
    if before != list(ids):
        audit.record(db, store_id=store_id, actor=actor, entity_type="store",
                     entity_id=store_id, action="sla_policy.reordered",
                     before={"ids": before}, after={"ids": list(ids)})
    await commit(db)
    return [rows[i] for i in ids]
