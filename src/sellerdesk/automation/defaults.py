"""SLA policies a seller can start from: ordinary, editable rows installed by an action."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.automation import actions
from sellerdesk.automation.errors import SlaError
from sellerdesk.automation.models import Calendar, SlaPolicy
from sellerdesk.core.actor import SYSTEM, Actor
from sellerdesk.core.db import commit
from sellerdesk.core.errors import Conflict, NotFound

OFFICE_HOURS_NAME = "Office hours (Mon-Fri 9-17)"
OFFICE_HOURS = {day: [{"start": "09:00", "end": "17:00"}]
                for day in ("mon", "tue", "wed", "thu", "fri")}


def _goal(minutes: int, *, business: bool) -> dict[str, Any]:
    return {"minutes": minutes, "business_hours": business}


def _calendar_time(first: int, following: int, resolution: int) -> dict[str, Any]:
    return {"first_response": _goal(first, business=False),
            "next_response": _goal(following, business=False),
            "resolution": _goal(resolution, business=False)}


def _business(first: int, following: int, resolution: int) -> dict[str, Any]:
    return {"first_response": _goal(first, business=True),
            "next_response": _goal(following, business=True),
            "resolution": _goal(resolution, business=True)}


HOUR = 60
DAY = 24 * HOUR

# In the order they are tried: the first whose conditions match a ticket applies.
DEFAULT_POLICIES: tuple[dict[str, Any], ...] = (
    {"name": "Chat", "conditions": {"channel_types": ["chat"]},
     "targets": {"first_response": _goal(1, business=False),
                 "next_response": _goal(3, business=False)}},
    # Marketplaces measure sellers around the clock, weekends and holidays included.
    {"name": "Marketplaces: urgent and high",
     "conditions": {"marketplaces": ["amazon", "ebay"], "priorities": ["urgent", "high"]},
     "targets": _calendar_time(4 * HOUR, 4 * HOUR, 2 * DAY)},
    {"name": "Amazon buyer messages", "conditions": {"marketplaces": ["amazon"]},
     "targets": _calendar_time(DAY, DAY, 3 * DAY)},
    {"name": "eBay messages", "conditions": {"marketplaces": ["ebay"]},
     "targets": _calendar_time(DAY, DAY, 3 * DAY)},
    {"name": "Urgent", "conditions": {"priorities": ["urgent"]},
     "targets": _business(1 * HOUR, 2 * HOUR, 8 * HOUR)},
    {"name": "High priority", "conditions": {"priorities": ["high"]},
     "targets": _business(2 * HOUR, 4 * HOUR, 16 * HOUR)},
    {"name": "Email", "conditions": {"channel_types": ["email"]},
     "targets": _business(4 * HOUR, 8 * HOUR, 40 * HOUR)},
    {"name": "Everything else", "conditions": {},
     "targets": _business(8 * HOUR, 8 * HOUR, 40 * HOUR)},
)


async def install_default_sla(
    db: AsyncSession, *, store_id: int, actor: Actor = SYSTEM
) -> list[SlaPolicy]:
    """An office-hours calendar in the store's time zone and the default policies, in one
    transaction; refused when the store already has SLA policies."""
    store = await db.get(Store, store_id)
    if store is None:
        raise NotFound("store.not_found", f"store {store_id} not found", field="store_id")
    existing = await db.scalar(select(SlaPolicy.id).where(SlaPolicy.store_id == store_id)
                               .limit(1))
    if existing is not None:
        raise Conflict(SlaError.DEFAULTS_EXIST,
                       "this store has SLA policies already; edit them instead",
                       field="store_id")
    calendar = await db.scalar(select(Calendar).where(Calendar.store_id == store_id,
                                                      Calendar.name == OFFICE_HOURS_NAME))
    if calendar is None:
        calendar = await actions.add_calendar(
            db, store_id=store_id, actor=actor, name=OFFICE_HOURS_NAME,
            timezone=store.timezone, hours=OFFICE_HOURS)
    policies = []
    for spec in DEFAULT_POLICIES:
        business = any(t["business_hours"] for t in spec["targets"].values())
        policies.append(await actions.add_policy(
            db, store_id=store_id, actor=actor, name=spec["name"], targets=spec["targets"],
            conditions=spec["conditions"], calendar_id=calendar.id if business else None,
        ))
    await commit(db)
    return policies
