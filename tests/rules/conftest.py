"""Fixtures of the rule tests: tickets that arrive through the one inbound path (with the jobs
they enqueue run), rules saved through the actions, and a team, agent and macro to act with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Agent, Store, Team
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.rules import actions
from sellerdesk.automation.rules.models import Rule
from sellerdesk.channels import inbound
from sellerdesk.channels.base import IdentityKind, InboundMessage, SenderIdentity, ThreadHints
from sellerdesk.channels.models import Channel
from sellerdesk.core.actor import SYSTEM
from sellerdesk.jobs import outbox
from sellerdesk.tickets.models import AuditEvent, Ticket
from sellerdesk.tickets.queries import ticket_tag_names


async def receive(db: AsyncSession, channel: Channel, *, text: str, external_id: str,
                  subject: str = "Pytanie", email: str = "ewa@example.pl",
                  name: str = "Ewa Nowak", thread_key: str | None = None,
                  marketplace: str | None = None, at: datetime | None = None,
                  run_jobs: bool = True) -> int:
    """A customer's message through channels.inbound.ingest; then the jobs it enqueued."""
    result = await inbound.ingest(db, InboundMessage(
        store_id=channel.store_id, channel_id=channel.id, channel_type=channel.type,
        external_id=external_id, sender=SenderIdentity(IdentityKind.EMAIL, email, name),
        subject=subject, text=text, hints=ThreadHints(thread_key=thread_key),
        marketplace=marketplace, received_at=at,
    ))
    assert result.ticket_id is not None, result
    if run_jobs:
        await outbox.run_pending(db)
    return result.ticket_id


async def add_rule(db: AsyncSession, store: Store, name: str, *, actions_: list[dict[str, Any]],
                   events: list[str] | None = None, conditions: dict[str, Any] | None = None,
                   **kwargs: Any) -> Rule:
    return await actions.create_rule(
        db, store_id=store.id, actor=SYSTEM, name=name,
        events=events or ["message.received"], conditions_tree=conditions or {"all": []},
        actions=actions_, **kwargs)


async def fresh(db: AsyncSession, ticket_id: int) -> Ticket:
    found = await db.get(Ticket, ticket_id, populate_existing=True)
    assert found is not None
    return found


async def tags_of(db: AsyncSession, ticket_id: int) -> list[str]:
    return await ticket_tag_names(db, ticket_id=ticket_id)


async def audits(db: AsyncSession, ticket_id: int, action: str) -> list[AuditEvent]:
    rows = await db.execute(select(AuditEvent).where(AuditEvent.ticket_id == ticket_id,
                                                     AuditEvent.action == action)
                            .order_by(AuditEvent.id))
    return list(rows.scalars())


def leaf(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op} | ({} if value is None else {"value": value})


@pytest.fixture
async def team(db: AsyncSession, store: Store) -> Team:
    return await accounts.create_team(db, store_id=store.id, name="Zwroty")


@pytest.fixture
async def agent_row(db: AsyncSession, store: Store) -> Agent:
    return await accounts.create_agent(db, store_id=store.id, email="jan@acme.example",
                                       name="Jan Kowalski", role=Role.AGENT)
