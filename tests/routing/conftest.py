"""Fixtures of the routing tests: agents, a team fed by a chat and an email channel, and
customers' messages that arrive through the one inbound path (its jobs run, routing included)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Agent, Store, Team
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.routing import actions
from sellerdesk.automation.routing.models import QueuedTicket
from sellerdesk.channels import inbound
from sellerdesk.channels.base import IdentityKind, InboundMessage, SenderIdentity
from sellerdesk.channels.models import Channel
from sellerdesk.core.actor import SYSTEM
from sellerdesk.jobs import outbox
from sellerdesk.tickets.models import AuditEvent, Ticket

TEXTS = {
    "ko": "안녕하세요, 주문한 상품이 아직 도착하지 않았습니다. 언제 배송되나요?",
    "pl": "Dzień dobry, moja paczka jeszcze nie dotarła. Kiedy zostanie wysłana?",
    "en": "Hello, my parcel has not arrived yet. When will it be shipped?",
}


async def add_agent(db: AsyncSession, store: Store, name: str, *, role: Role = Role.AGENT,
                    language: str = "en") -> Agent:
    return await accounts.create_agent(db, store_id=store.id, email=f"{name}@acme.test",
                                       name=name.title(), role=role, language=language)


async def go(db: AsyncSession, agent: Agent, availability: str) -> None:
    await actions.set_availability(db, agent_id=agent.id, status=availability, actor=SYSTEM)


@dataclass
class Desk:
    """One store's routing set-up: a team of three agents fed by a chat and an email channel."""

    store: Store
    team: Team
    agents: list[Agent]
    chat: Channel
    email: Channel

    async def receive(self, db: AsyncSession, n: int | str, *, channel: Channel | None = None,
                      language: str = "pl", priority: str | None = None,
                      run_jobs: bool = True) -> Ticket:
        """A new customer's first message, then the jobs it enqueued (routing among them)."""
        channel = channel or self.chat
        result = await inbound.ingest(db, InboundMessage(
            store_id=self.store.id, channel_id=channel.id, channel_type=channel.type,
            external_id=f"m-{n}",
            sender=SenderIdentity(IdentityKind.EMAIL, f"customer{n}@example.com", f"Klient {n}"),
            subject=f"Pytanie {n}", text=TEXTS[language], priority=priority,
        ))
        assert result.ticket_id is not None, result
        if run_jobs:
            await outbox.run_pending(db)
        return await ticket_of(db, result.ticket_id)


@pytest.fixture
async def desk(db: AsyncSession, store: Store) -> Desk:
    """Agents ann, bob, cat (all offline), team "Support" in manual mode, fed by both channels."""
    agents = [await add_agent(db, store, name) for name in ("ann", "bob", "cat")]
    team = await accounts.create_team(db, store_id=store.id, name="Support",
                                      agent_ids=[a.id for a in agents])
    chat, _ = await accounts.create_channel(db, store_id=store.id, type="chat", name="Chat")
    email, _ = await accounts.create_channel(db, store_id=store.id, type="email", name="Mail")
    await actions.update_team_routing(db, team=team, actor=SYSTEM,
                                      changes={"channel_ids": [chat.id, email.id]})
    return Desk(store, team, agents, chat, email)


async def set_mode(db: AsyncSession, desk: Desk, mode: str) -> None:
    await actions.update_team_routing(db, team=desk.team, actor=SYSTEM, changes={"mode": mode})
    await outbox.run_pending(db)


async def ticket_of(db: AsyncSession, ticket_id: int) -> Ticket:
    found = await db.get(Ticket, ticket_id, populate_existing=True)
    assert found is not None
    return found


async def assignee(db: AsyncSession, ticket: Ticket) -> int | None:
    return (await ticket_of(db, ticket.id)).assignee_id


async def queue_of(db: AsyncSession, team: Team) -> list[int]:
    rows = await db.execute(select(QueuedTicket.ticket_id).where(QueuedTicket.team_id == team.id)
                            .order_by(QueuedTicket.ticket_id))
    return list(rows.scalars())


async def routed_events(db: AsyncSession, ticket: Ticket) -> list[tuple[Any, Any]]:
    rows = await db.execute(
        select(AuditEvent.before, AuditEvent.after)
        .where(AuditEvent.ticket_id == ticket.id, AuditEvent.action == "ticket.routed")
        .order_by(AuditEvent.id))
    return [tuple(r) for r in rows]
