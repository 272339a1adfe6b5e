"""GET /api/v1/tickets: every filter, both sort orders, and keyset pagination."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.channels.base import IdentityKind, InboundMessage, SenderIdentity
from sellerdesk.channels.inbound import ingest
from sellerdesk.channels.models import Channel
from sellerdesk.core.db import commit
from sellerdesk.tickets.actions import set_tags
from sellerdesk.tickets.models import Ticket
from tests.api.support import API, inbound

BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Inbox:
    """Six tickets of one store that differ in every filtered field, plus a decoy elsewhere."""

    tickets: dict[str, int] = field(default_factory=dict)
    agents: dict[str, int] = field(default_factory=dict)
    teams: dict[str, int] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    decoy: int = 0


# name, status, assignee, team, marketplace, tags, priority, customer, subject, text;
# listed newest first (each row's updated_at is a minute older than the row above).
ROWS: list[tuple[str, str, str | None, str | None, str | None, list[str], str, str, str, str]] = [
    ("new", "new", None, None, "amazon", ["vip"], "normal", "ewa",
     "Zamówienie 1001", "Gdzie jest moja paczka?"),
    ("open", "open", "anna", "support", "amazon", [], "high", "ewa",
     "Zamówienie 1002", "Proszę o zwrot pieniędzy."),
    ("pending", "pending", "anna", None, "ebay", ["vip", "refund"], "normal", "john",
     "Order 1003", "I would like a refund, please."),
    ("on_hold", "on_hold", "piotr", "billing", None, [], "urgent", "john",
     "Order 1004", "I need an invoice for my company."),
    ("solved", "solved", None, "support", None, ["refund"], "low", "kim",
     "주문 1005", "환불을 요청합니다"),
    ("closed", "closed", "piotr", None, "ebay", [], "normal", "kim",
     "주문 1006", "감사합니다"),
]
EMAILS = {"ewa": "ewa@example.pl", "john": "john@example.com", "kim": "kim@example.kr"}
CHANNEL_OF = {"solved": "email", "closed": "email"}


async def _email_ticket(db: AsyncSession, channel: Channel, name: str, email: str,
                        subject: str, text: str, marketplace: str | None) -> int:
    """A ticket of an email channel, through the one inbound path."""
    result = await ingest(db, InboundMessage(
        store_id=channel.store_id, channel_id=channel.id, channel_type="email",
        external_id=f"<{name}@mail.example>", sender=SenderIdentity(IdentityKind.EMAIL, email),
        subject=subject, text=text, marketplace=marketplace,
    ))
    assert result.ticket_id is not None
    return result.ticket_id


@pytest.fixture
async def inbox(client: httpx.AsyncClient, db: AsyncSession, store: Store, other_store: Store,
                api_channel: tuple[Channel, str], other_channel: tuple[Channel, str]) -> Inbox:
    box = Inbox()
    for name in ("anna", "piotr"):
        agent = await accounts.create_agent(db, store_id=store.id, email=f"{name}@acme.test",
                                            name=name.title(), role=Role.AGENT)
        box.agents[name] = agent.id
    for name in ("support", "billing"):
        box.teams[name] = (await accounts.create_team(db, store_id=store.id, name=name)).id
    email_channel, _ = await accounts.create_channel(db, store_id=store.id, type="email",
                                                     name="Mail")
    for i, (name, status, assignee, team, marketplace, tags, priority, customer, subject,
            text) in enumerate(ROWS):
        if CHANNEL_OF.get(name) == "email":
            ticket_id = await _email_ticket(db, email_channel, name, EMAILS[customer], subject,
                                            text, marketplace)
        else:
            result = await inbound(client, api_channel[1], external_id=name, subject=subject,
                                   text=text, marketplace=marketplace,
                                   **{"from": {"email": EMAILS[customer]}})
            ticket_id = result["ticket_id"]
        ticket = await db.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.status = status
        ticket.priority = priority
        ticket.assignee_id = box.agents[assignee] if assignee else None
        ticket.team_id = box.teams[team] if team else None
        ticket.updated_at = BASE - timedelta(minutes=i)
        await set_tags(db, ticket=ticket, names=tags)
        await commit(db)
        box.tickets[name] = ticket.id
        assert ticket.customer_id is not None
        box.customers[customer] = ticket.customer_id
    # Another store's ticket that matches almost every filter above; it must never show.
    decoy = await inbound(client, other_channel[1], external_id="decoy", subject="Order 1003",
                          text="Proszę o zwrot, refund, 환불을 요청합니다", marketplace="amazon")
    ticket = await db.get(Ticket, decoy["ticket_id"])
    assert ticket is not None
    ticket.status = "open"
    ticket.updated_at = BASE + timedelta(hours=1)
    await set_tags(db, ticket=ticket, names=["vip", "refund"])
    await commit(db)
    box.decoy = ticket.id
    return box


async def listed(client: httpx.AsyncClient, headers: dict[str, str], **params: Any
                 ) -> list[int]:
    response = await client.get(f"{API}/tickets", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    return [item["id"] for item in body["items"]]


Params = Callable[[Inbox], dict[str, Any]]

FILTERS: list[tuple[str, Params, list[str]]] = [
    ("no filter", lambda b: {}, ["new", "open", "pending", "on_hold", "solved", "closed"]),
    ("one status", lambda b: {"status": "open"}, ["open"]),
    ("status list", lambda b: {"status": "open,pending"}, ["open", "pending"]),
    ("status list with spaces", lambda b: {"status": "solved, closed"}, ["solved", "closed"]),
    ("active", lambda b: {"status": "active"}, ["new", "open", "pending", "on_hold"]),
    ("active spelled out", lambda b: {"status": "on_hold,new,pending,open"},
     ["new", "open", "pending", "on_hold"]),
    ("assignee", lambda b: {"assignee": b.agents["anna"]}, ["open", "pending"]),
    ("unassigned", lambda b: {"assignee": "none"}, ["new", "solved"]),
    ("team", lambda b: {"team": b.teams["support"]}, ["open", "solved"]),
    ("api channel", lambda b: {"channel": "api"}, ["new", "open", "pending", "on_hold"]),
    ("email channel", lambda b: {"channel": "email"}, ["solved", "closed"]),
    ("marketplace", lambda b: {"marketplace": "amazon"}, ["new", "open"]),
    ("other marketplace", lambda b: {"marketplace": "ebay"}, ["pending", "closed"]),
    ("tag", lambda b: {"tag": "vip"}, ["new", "pending"]),
    ("tag in capitals", lambda b: {"tag": "REFUND"}, ["pending", "solved"]),
    ("unknown tag", lambda b: {"tag": "nope"}, []),
    ("priority", lambda b: {"priority": "urgent"}, ["on_hold"]),
    ("normal priority", lambda b: {"priority": "normal"}, ["new", "pending", "closed"]),
    ("customer", lambda b: {"customer": b.customers["john"]}, ["pending", "on_hold"]),
    ("q in Polish", lambda b: {"q": "zwrot"}, ["open"]),
    ("q in Korean", lambda b: {"q": "환불"}, ["solved"]),
    ("q in English", lambda b: {"q": "refunds"}, ["pending"]),
    ("q finds the subject", lambda b: {"q": "1004"}, ["on_hold"]),
    ("q needs every word", lambda b: {"q": "paczka zwrot"}, []),
    ("q without a match", lambda b: {"q": "nieistniejące"}, []),
    ("filters combine", lambda b: {"status": "active", "assignee": b.agents["anna"],
                                   "marketplace": "amazon"}, ["open"]),
    ("filters and q combine", lambda b: {"q": "refund", "status": "solved"}, []),
    ("unknown customer", lambda b: {"customer": 10**6}, []),
]


@pytest.mark.parametrize(("params", "expected"), [(p, e) for _, p, e in FILTERS],
                         ids=[name for name, _, _ in FILTERS])
async def test_list_filters(client: httpx.AsyncClient, admin: dict[str, str], inbox: Inbox,
                            params: Params, expected: list[str]) -> None:
    # given the inbox

    # when
    ids = await listed(client, admin, **params(inbox))

    # then: exactly the expected tickets, newest activity first
    assert ids == [inbox.tickets[name] for name in expected]


async def test_list_items_carry_their_tags_and_fields(
    client: httpx.AsyncClient, admin: dict[str, str], inbox: Inbox
) -> None:
    response = await client.get(f"{API}/tickets", params={"status": "pending"}, headers=admin)

    [item] = response.json()["items"]
    assert item["id"] == inbox.tickets["pending"]
    assert item["tags"] == ["refund", "vip"]
    assert item["status"] == "pending"
    assert item["priority"] == "normal"
    assert item["assignee_id"] == inbox.agents["anna"]
    assert item["team_id"] is None
    assert item["marketplace"] == "ebay"
    assert item["channel_type"] == "api"
    assert item["customer_id"] == inbox.customers["john"]
    assert item["subject"] == "Order 1003"
    assert item["updated_at"] == "2026-03-02T08:58:00Z"


async def test_other_store_sees_only_its_decoy(
    client: httpx.AsyncClient, other_admin: dict[str, str], inbox: Inbox
) -> None:
    assert await listed(client, other_admin) == [inbox.decoy]
    assert await listed(client, other_admin, q="zwrot") == [inbox.decoy]
    assert await listed(client, other_admin, assignee=inbox.agents["anna"]) == []
    assert await listed(client, other_admin, team=inbox.teams["support"]) == []


async def _tickets(client: httpx.AsyncClient, token: str, n: int) -> list[int]:
    ids = []
    for i in range(n):
        result = await inbound(client, token, external_id=f"page-{i}", subject=f"Ticket {i}")
        ids.append(result["ticket_id"])
    return ids


async def walk(client: httpx.AsyncClient, headers: dict[str, str], **params: Any
               ) -> list[list[int]]:
    """Every page, following next_cursor until there is none."""
    pages: list[list[int]] = []
    cursor = None
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        response = await client.get(f"{API}/tickets", params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "pagination does not end"


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 7, 25])
async def test_cursor_pagination_by_updated_walks_every_ticket_once(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    api_channel: tuple[Channel, str], limit: int,
) -> None:
    # given seven tickets, three of them with the very same updated_at (ties break by id)
    ids = await _tickets(client, api_channel[1], 7)
    minutes = [5, 5, 5, 3, 9, 3, 0]
    for ticket_id, minute in zip(ids, minutes, strict=True):
        ticket = await db.get(Ticket, ticket_id)
        assert ticket is not None
        # microseconds too: the cursor must carry them exactly
        ticket.updated_at = BASE + timedelta(minutes=minute, microseconds=777 * minute)
    await commit(db)
    expected = [i for _, i in sorted(zip(minutes, ids, strict=True), reverse=True)]

    # when
    pages = await walk(client, admin, limit=limit)

    # then: newest first, every ticket once, full pages but the last
    assert [i for page in pages for i in page] == expected
    assert all(len(page) == limit for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= limit
    assert len(pages) == -(-len(expected) // limit)


async def test_cursor_keeps_the_filters(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    api_channel: tuple[Channel, str],
) -> None:
    ids = await _tickets(client, api_channel[1], 6)
    for n, ticket_id in enumerate(ids):
        ticket = await db.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.status = "solved" if n % 2 else "open"
        ticket.updated_at = BASE + timedelta(minutes=n)
    await commit(db)

    pages = await walk(client, admin, status="open", limit=2)

    assert pages == [[ids[4], ids[2]], [ids[0]]]


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 6, 25])
async def test_sort_by_sla_due_puts_soonest_first_then_tickets_without_sla(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    api_channel: tuple[Channel, str], limit: int,
) -> None:
    # given three tickets with an SLA due time (two due at the same moment) and three without
    ids = await _tickets(client, api_channel[1], 6)
    soon = BASE + timedelta(hours=1, microseconds=501)
    due = [None, BASE + timedelta(hours=5, microseconds=1), None, soon, None, soon]
    for ticket_id, at in zip(ids, due, strict=True):
        ticket = await db.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.sla_due_at = at
    await commit(db)

    # when
    pages = await walk(client, admin, sort="sla_due", limit=limit)

    # then: soonest due first (ties by id), then the rest by id, each ticket exactly once
    assert [i for page in pages for i in page] == [ids[3], ids[5], ids[1], ids[0], ids[2],
                                                    ids[4]]
    assert all(len(page) == limit for page in pages[:-1])
    assert len([i for page in pages for i in page]) == 6


async def test_sort_by_sla_due_keeps_the_filters(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    api_channel: tuple[Channel, str],
) -> None:
    ids = await _tickets(client, api_channel[1], 4)
    settings = [("closed", BASE), ("open", BASE + timedelta(hours=2)), ("open", None),
                ("pending", BASE + timedelta(hours=1))]
    for ticket_id, (status, at) in zip(ids, settings, strict=True):
        ticket = await db.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.status = status
        ticket.sla_due_at = at
    await commit(db)

    pages = await walk(client, admin, sort="sla_due", status="active", limit=1)

    assert pages == [[ids[3]], [ids[1]], [ids[2]]]


async def test_sort_by_sla_due_of_an_empty_inbox(
    client: httpx.AsyncClient, admin: dict[str, str], store: Store
) -> None:
    response = await client.get(f"{API}/tickets", params={"sort": "sla_due"}, headers=admin)

    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}
