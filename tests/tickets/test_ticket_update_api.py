"""GET and PATCH /api/v1/tickets/{id}: fields, status transitions, assignment, tags."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Agent, Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.channels.models import Channel
from sellerdesk.core.db import commit
from sellerdesk.tickets.actions import set_tags
from sellerdesk.tickets.models import AuditEvent, Tag, Ticket
from tests.api.support import API, error_of, inbound, snapshot


@pytest.fixture
async def ticket(client: httpx.AsyncClient, db: AsyncSession,
                 api_channel: tuple[Channel, str]) -> Ticket:
    result = await inbound(client, api_channel[1], marketplace="allegro")
    found = await db.get(Ticket, result["ticket_id"])
    assert found is not None
    return found


async def fresh(db: AsyncSession, ticket_id: int) -> Ticket:
    found = await db.get(Ticket, ticket_id, populate_existing=True)
    assert found is not None
    return found


async def update_events(db: AsyncSession, ticket_id: int) -> list[tuple[Any, ...]]:
    rows = await db.execute(
        select(AuditEvent.action, AuditEvent.before, AuditEvent.after)
        .where(AuditEvent.ticket_id == ticket_id, AuditEvent.action == "ticket.updated")
        .order_by(AuditEvent.id)
    )
    return [tuple(r) for r in rows]


async def patch(client: httpx.AsyncClient, headers: dict[str, str], ticket_id: int,
                body: dict[str, Any]) -> httpx.Response:
    return await client.patch(f"{API}/tickets/{ticket_id}", json=body, headers=headers)


async def test_get_ticket_returns_every_field(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket,
    api_channel: tuple[Channel, str],
) -> None:
    # given a tagged ticket
    await set_tags(db, ticket=ticket, names=["vip", "damaged"])
    await commit(db)

    # when
    response = await client.get(f"{API}/tickets/{ticket.id}", headers=admin)

    # then
    assert response.status_code == 200
    body = response.json()
    created = ticket.created_at.isoformat().replace("+00:00", "Z")
    assert body == {
        "id": ticket.id, "subject": "Pytanie o zamówienie", "status": "new",
        "priority": "normal", "channel_type": "api", "channel_id": api_channel[0].id,
        "marketplace": "allegro", "customer_id": ticket.customer_id, "assignee_id": None,
        "team_id": None, "language": None, "tags": ["damaged", "vip"], "message_count": 1,
        "merged_into_id": None, "created_at": created, "updated_at": created,
        "last_message_at": created, "first_response_at": None, "solved_at": None,
        "closed_at": None, "sla_due_at": None,
    }


async def test_get_unknown_ticket_is_404(
    client: httpx.AsyncClient, admin: dict[str, str], store: Store
) -> None:
    response = await client.get(f"{API}/tickets/424242", headers=admin)

    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "ticket.not_found"
    assert error["field"] == "ticket_id"


ALL = ["new", "open", "pending", "on_hold", "solved", "closed"]
# What the helpdesk allows: any working state from new; among open/pending/on_hold freely;
# solved only reopens or closes; closed is final.
ALLOWED = {
    "new": {"open", "pending", "on_hold", "solved", "closed"},
    "open": {"pending", "on_hold", "solved", "closed"},
    "pending": {"open", "on_hold", "solved", "closed"},
    "on_hold": {"open", "pending", "solved", "closed"},
    "solved": {"open", "closed"},
}
TRANSITIONS = [(a, b) for a in ALLOWED for b in ALL if a != b]


@pytest.mark.parametrize(("current", "target"), TRANSITIONS)
async def test_status_transition(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket,
    current: str, target: str,
) -> None:
    # given a ticket in `current`
    ticket.status = current
    await commit(db)
    before = await snapshot(db)

    # when
    response = await patch(client, admin, ticket.id, {"status": target})

    # then
    if target in ALLOWED[current]:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == target
        assert (await fresh(db, ticket.id)).status == target
        assert await update_events(db, ticket.id) == [
            ("ticket.updated", {"status": current}, {"status": target})]
    else:
        assert response.status_code == 409
        error = error_of(response)
        assert error["code"] == "ticket.invalid_transition"
        assert error["field"] == "status"
        assert await snapshot(db) == before


async def test_solving_stamps_solved_at_and_reopening_clears_it(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket
) -> None:
    solved = await patch(client, admin, ticket.id, {"status": "solved"})
    assert solved.json()["solved_at"] is not None
    assert (await fresh(db, ticket.id)).solved_at is not None

    reopened = await patch(client, admin, ticket.id, {"status": "open"})

    assert reopened.status_code == 200
    assert reopened.json()["solved_at"] is None
    assert (await fresh(db, ticket.id)).solved_at is None


async def test_closing_stamps_closed_at(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket
) -> None:
    response = await patch(client, admin, ticket.id, {"status": "closed"})

    assert response.status_code == 200
    row = await fresh(db, ticket.id)
    assert row.closed_at is not None
    assert response.json()["closed_at"] == row.closed_at.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("body", [
    {"status": "open"}, {"subject": "Nowy temat"}, {"priority": "high"}, {"tags": ["vip"]},
    {"status": "closed"},
])
async def test_a_closed_ticket_refuses_every_change(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket,
    body: dict[str, Any],
) -> None:
    ticket.status = "closed"
    await commit(db)
    before = await snapshot(db)

    response = await patch(client, admin, ticket.id, body)

    assert response.status_code == 409
    assert error_of(response)["code"] == "ticket.closed"
    assert await snapshot(db) == before


async def test_a_refused_transition_keeps_the_other_fields_of_the_request_too(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket
) -> None:
    # given a solved ticket
    ticket.status = "solved"
    await commit(db)
    before = await snapshot(db)

    # when a PATCH changes the subject, priority and tags along with a refused status
    response = await patch(client, admin, ticket.id, {"subject": "Inny", "priority": "urgent",
                                                      "tags": ["x"], "status": "pending"})

    # then nothing at all changed
    assert response.status_code == 409
    assert await snapshot(db) == before
    got = await client.get(f"{API}/tickets/{ticket.id}", headers=admin)
    assert got.json()["subject"] == "Pytanie o zamówienie"
    assert got.json()["priority"] == "normal"
    assert got.json()["tags"] == []


async def test_patch_changes_fields_and_audits_only_what_changed(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket
) -> None:
    old_updated = ticket.updated_at

    response = await patch(client, admin, ticket.id, {
        "subject": "Uszkodzona paczka", "priority": "high", "marketplace": "allegro",
        "language": "pl",
    })

    assert response.status_code == 200
    body = response.json()
    assert (body["subject"], body["priority"], body["marketplace"], body["language"]) == (
        "Uszkodzona paczka", "high", "allegro", "pl")
    row = await fresh(db, ticket.id)
    assert (row.subject, row.priority, row.language) == ("Uszkodzona paczka", "high", "pl")
    assert row.updated_at > old_updated
    assert await update_events(db, ticket.id) == [(
        "ticket.updated",
        {"subject": "Pytanie o zamówienie", "priority": "normal", "language": None},
        {"subject": "Uszkodzona paczka", "priority": "high", "language": "pl"},
    )]


async def test_patch_without_changes_writes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket
) -> None:
    before = await snapshot(db)

    empty = await patch(client, admin, ticket.id, {})
    same = await patch(client, admin, ticket.id, {"status": "new", "priority": "normal",
                                                  "subject": "Pytanie o zamówienie"})

    assert (empty.status_code, same.status_code) == (200, 200)
    assert await snapshot(db) == before


async def test_marketplace_and_language_can_be_cleared_but_subject_cannot(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket
) -> None:
    response = await patch(client, admin, ticket.id,
                           {"marketplace": None, "subject": None, "status": None})

    assert response.status_code == 200
    row = await fresh(db, ticket.id)
    assert (row.marketplace, row.subject, row.status) == (None, "Pytanie o zamówienie", "new")


async def test_assign_agent_and_team_then_clear_them(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket,
    store: Store,
) -> None:
    agent = await accounts.create_agent(db, store_id=store.id, email="anna@acme.test",
                                        name="Anna", role=Role.AGENT)
    team = await accounts.create_team(db, store_id=store.id, name="Zwroty")

    assigned = await patch(client, admin, ticket.id,
                           {"assignee_id": agent.id, "team_id": team.id})
    cleared = await patch(client, admin, ticket.id, {"assignee_id": None, "team_id": None})

    assert (assigned.json()["assignee_id"], assigned.json()["team_id"]) == (agent.id, team.id)
    assert (cleared.json()["assignee_id"], cleared.json()["team_id"]) == (None, None)
    row = await fresh(db, ticket.id)
    assert (row.assignee_id, row.team_id) == (None, None)
    assert await update_events(db, ticket.id) == [
        ("ticket.updated", {"assignee_id": None, "team_id": None},
         {"assignee_id": agent.id, "team_id": team.id}),
        ("ticket.updated", {"assignee_id": agent.id, "team_id": team.id},
         {"assignee_id": None, "team_id": None}),
    ]


@pytest.mark.parametrize("whose", ["missing", "other store", "inactive"])
async def test_unknown_assignee_is_422_naming_the_field(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket,
    store: Store, other_store: Store, whose: str,
) -> None:
    # given an agent id that is no active agent of this store
    agent_id = 987654
    if whose != "missing":
        owner = other_store if whose == "other store" else store
        agent = await accounts.create_agent(db, store_id=owner.id, email="x@acme.test",
                                            name="X", role=Role.AGENT)
        agent_id = agent.id
        if whose == "inactive":
            row = await db.get(Agent, agent.id)
            assert row is not None
            row.is_active = False
            await commit(db)
    before = await snapshot(db)

    # when
    response = await patch(client, admin, ticket.id, {"assignee_id": agent_id,
                                                      "subject": "Zmieniony"})

    # then
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "ticket.unknown_agent"
    assert error["field"] == "assignee_id"
    assert await snapshot(db) == before


@pytest.mark.parametrize("whose", ["missing", "other store"])
async def test_unknown_team_is_422_naming_the_field(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket,
    other_store: Store, whose: str,
) -> None:
    team_id = 987654
    if whose == "other store":
        team_id = (await accounts.create_team(db, store_id=other_store.id, name="Obcy")).id
    before = await snapshot(db)

    response = await patch(client, admin, ticket.id, {"team_id": team_id})

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "ticket.unknown_team"
    assert error["field"] == "team_id"
    assert await snapshot(db) == before


async def test_tags_are_replaced_and_normalised(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket
) -> None:
    # given a ticket tagged "old" and "vip"
    await set_tags(db, ticket=ticket, names=["old", "vip"])
    await commit(db)

    # when the tags are replaced by names in odd case and spacing, with repeats
    response = await patch(client, admin, ticket.id, {
        "tags": ["  VIP ", "Refund   Request", "vip", "REFUND request", "Zwrot Środków"]})

    # then they are trimmed, case-folded, single-spaced, unique; "old" is gone
    assert response.status_code == 200
    assert response.json()["tags"] == ["refund request", "vip", "zwrot środków"]
    got = await client.get(f"{API}/tickets/{ticket.id}", headers=admin)
    assert got.json()["tags"] == ["refund request", "vip", "zwrot środków"]
    assert await update_events(db, ticket.id) == [(
        "ticket.updated", {"tags": ["old", "vip"]},
        {"tags": ["vip", "refund request", "zwrot środków"]},
    )]
    # the store's tag list keeps "old", now on no ticket
    names = (await db.execute(select(Tag.name).where(Tag.store_id == ticket.store_id)
                              .order_by(Tag.name))).scalars().all()
    assert names == ["old", "refund request", "vip", "zwrot środków"]


async def test_empty_tag_list_clears_the_tags(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket
) -> None:
    await set_tags(db, ticket=ticket, names=["vip"])
    await commit(db)

    response = await patch(client, admin, ticket.id, {"tags": []})

    assert response.json()["tags"] == []
    assert await update_events(db, ticket.id) == [("ticket.updated", {"tags": ["vip"]},
                                                   {"tags": []})]


@pytest.mark.parametrize("bad", ["a,b", "   ", "", "x" * 65])
async def test_invalid_tag_is_422_and_changes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ticket: Ticket,
    bad: str,
) -> None:
    before = await snapshot(db)

    response = await patch(client, admin, ticket.id, {"tags": ["fine", bad],
                                                      "priority": "urgent"})

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "ticket.invalid_tag"
    assert error["field"] == "tags"
    assert await snapshot(db) == before
