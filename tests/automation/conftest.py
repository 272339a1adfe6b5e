"""Fixtures of the automation tests: an office-hours calendar, policies, and tickets that
arrive through the one inbound path at explicit times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.automation import actions
from sellerdesk.automation.models import Calendar, SlaPolicy, TicketSla, TicketSlaTarget
from sellerdesk.channels import inbound
from sellerdesk.channels.base import IdentityKind, InboundMessage, SenderIdentity, ThreadHints
from sellerdesk.channels.models import Channel
from sellerdesk.core.actor import SYSTEM
from sellerdesk.jobs import outbox
from sellerdesk.tickets.models import AuditEvent, Ticket

WEEKDAYS_9_TO_5 = {d: [{"start": "09:00", "end": "17:00"}]
                   for d in ("mon", "tue", "wed", "thu", "fri")}


@pytest.fixture
async def office(db: AsyncSession, store: Store) -> Calendar:
    """Mon-Fri 09:00-17:00 in Warsaw."""
    return await actions.create_calendar(db, store_id=store.id, actor=SYSTEM, name="Office",
                                         timezone="Europe/Warsaw", hours=WEEKDAYS_9_TO_5)


async def add_policy(db: AsyncSession, store: Store, name: str, targets: dict[str, Any],
                     **kwargs: Any) -> SlaPolicy:
    return await actions.create_policy(db, store_id=store.id, actor=SYSTEM, name=name,
                                       targets=targets, **kwargs)


def minutes(n: int, *, business: bool = False) -> dict[str, Any]:
    return {"minutes": n, "business_hours": business}


async def receive(db: AsyncSession, channel: Channel, *, at: datetime, external_id: str,
                  thread_key: str | None = None, marketplace: str | None = None,
                  email: str = "ewa@example.pl") -> int:
    """A customer's message through channels.inbound.ingest, then the jobs it enqueued."""
    result = await inbound.ingest(db, InboundMessage(
        store_id=channel.store_id, channel_id=channel.id, channel_type=channel.type,
        external_id=external_id, sender=SenderIdentity(IdentityKind.EMAIL, email, "Ewa Nowak"),
        subject="Zamówienie 1234", text="Dzień dobry, kiedy wyślecie paczkę?",
        hints=ThreadHints(thread_key=thread_key), marketplace=marketplace, received_at=at,
    ))
    assert result.ticket_id is not None, result
    await outbox.run_pending(db)
    return result.ticket_id


async def ticket_of(db: AsyncSession, ticket_id: int) -> Ticket:
    found = await db.get(Ticket, ticket_id, populate_existing=True)
    assert found is not None
    return found


async def sla_state(db: AsyncSession, ticket_id: int) -> TicketSla | None:
    return await db.get(TicketSla, ticket_id, populate_existing=True)


async def targets(db: AsyncSession, ticket_id: int) -> dict[str, TicketSlaTarget]:
    rows = await db.execute(
        select(TicketSlaTarget).where(TicketSlaTarget.ticket_id == ticket_id)
        .execution_options(populate_existing=True)
    )
    return {r.kind: r for r in rows.scalars()}


async def sla_audit(db: AsyncSession, ticket_id: int) -> list[tuple[str, dict[str, Any] | None]]:
    rows = await db.execute(
        select(AuditEvent.action, AuditEvent.after)
        .where(AuditEvent.ticket_id == ticket_id, AuditEvent.action.like("sla.%"))
        .order_by(AuditEvent.id)
    )
    return [(a, after) for a, after in rows]
