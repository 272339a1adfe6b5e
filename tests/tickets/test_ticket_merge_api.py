"""POST /api/v1/tickets/{id}/merge: messages and tags move, the source closes as merged."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels.models import Channel
from sellerdesk.core.db import commit
from sellerdesk.tickets.actions import set_tags
from sellerdesk.tickets.models import AuditEvent, Message, Ticket
from tests.api.support import API, error_of, inbound, snapshot


async def fresh(db: AsyncSession, ticket_id: int) -> Ticket:
    found = await db.get(Ticket, ticket_id, populate_existing=True)
    assert found is not None
    return found


async def events(db: AsyncSession, ticket_id: int, action: str) -> list[tuple[Any, ...]]:
    rows = await db.execute(
        select(AuditEvent.entity_type, AuditEvent.entity_id, AuditEvent.before,
               AuditEvent.after)
        .where(AuditEvent.ticket_id == ticket_id, AuditEvent.action == action)
    )
    return [tuple(r) for r in rows]


async def merge(client: httpx.AsyncClient, headers: dict[str, str], source: int, target: int
                ) -> httpx.Response:
    return await client.post(f"{API}/tickets/{source}/merge",
                             json={"into_ticket_id": target}, headers=headers)


@pytest.fixture
async def pair(client: httpx.AsyncClient, db: AsyncSession,
               api_channel: tuple[Channel, str]) -> tuple[int, int]:
    """A source ticket with two messages and tag "refund"; a target with one and tag "vip"."""
    token = api_channel[1]
    source = await inbound(client, token, external_id="s1", thread_key="conv-s",
                           text="Paczka przyszła uszkodzona.")
    await inbound(client, token, external_id="s2", thread_key="conv-s",
                  text="Załączam zdjęcia.")
    target = await inbound(client, token, external_id="t1", thread_key="conv-t",
                           subject="Reklamacja", text="Chcę złożyć reklamację.")
    for ticket_id, tag in ((source["ticket_id"], "refund"), (target["ticket_id"], "vip")):
        ticket = await fresh(db, ticket_id)
        await set_tags(db, ticket=ticket, names=[tag])
    await commit(db)
    return source["ticket_id"], target["ticket_id"]


async def test_merge_moves_messages_and_tags_and_closes_the_source(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], pair: tuple[int, int]
) -> None:
    # given
    source_id, target_id = pair
    source_messages = list((await db.execute(
        select(Message.id).where(Message.ticket_id == source_id).order_by(Message.id)
    )).scalars())
    target_messages = list((await db.execute(
        select(Message.id).where(Message.ticket_id == target_id)
    )).scalars())

    # when
    response = await merge(client, admin, source_id, target_id)

    # then the target is returned with every message and both tags
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == target_id
    assert body["message_count"] == 3
    assert body["tags"] == ["refund", "vip"]
    # every message now belongs to the target, in their original order
    listed = await client.get(f"{API}/tickets/{target_id}/messages", headers=admin)
    assert [m["id"] for m in listed.json()] == sorted(source_messages + target_messages)
    assert {m["ticket_id"] for m in listed.json()} == {target_id}
    emptied = await client.get(f"{API}/tickets/{source_id}/messages", headers=admin)
    assert emptied.json() == []
    # the source is closed, points to the target and holds no messages
    source = await fresh(db, source_id)
    assert (source.status, source.merged_into_id, source.message_count) == (
        "closed", target_id, 0)
    assert source.closed_at is not None
    assert (await fresh(db, target_id)).message_count == 3
    # both sides carry an audit event
    assert await events(db, source_id, "ticket.merged") == [(
        "ticket", source_id, {"status": "new", "merged_into_id": None},
        {"status": "closed", "merged_into_id": target_id, "message_ids": source_messages},
    )]
    assert await events(db, target_id, "ticket.merge_received") == [(
        "ticket", target_id, None, {"from_ticket_id": source_id, "message_count": 2},
    )]


async def test_a_merged_source_shows_where_it_went(
    client: httpx.AsyncClient, admin: dict[str, str], pair: tuple[int, int]
) -> None:
    source_id, target_id = pair
    await merge(client, admin, source_id, target_id)

    response = await client.get(f"{API}/tickets/{source_id}", headers=admin)

    body = response.json()
    assert (body["status"], body["merged_into_id"], body["message_count"]) == (
        "closed", target_id, 0)


async def test_a_reply_in_the_source_conversation_lands_on_the_target(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], pair: tuple[int, int],
    api_channel: tuple[Channel, str],
) -> None:
    source_id, target_id = pair
    await merge(client, admin, source_id, target_id)

    result = await inbound(client, api_channel[1], external_id="s3", thread_key="conv-s",
                           text="Czy jest już decyzja?")

    assert (result["outcome"], result["ticket_id"]) == ("appended", target_id)
    assert (await fresh(db, target_id)).message_count == 4


async def test_merging_a_ticket_into_itself_is_409(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], pair: tuple[int, int]
) -> None:
    source_id, _ = pair
    before = await snapshot(db)

    response = await merge(client, admin, source_id, source_id)

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "ticket.merge_self"
    assert error["field"] == "into_ticket_id"
    assert await snapshot(db) == before


@pytest.mark.parametrize("closed_side", ["source", "target"])
async def test_closed_tickets_cannot_be_merged(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], pair: tuple[int, int],
    closed_side: str,
) -> None:
    source_id, target_id = pair
    closed = await fresh(db, source_id if closed_side == "source" else target_id)
    closed.status = "closed"
    await commit(db)
    before = await snapshot(db)

    response = await merge(client, admin, source_id, target_id)

    assert response.status_code == 409
    assert error_of(response)["code"] == "ticket.merge_invalid"
    assert await snapshot(db) == before


async def test_a_merged_ticket_cannot_be_merged_again(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], pair: tuple[int, int],
    api_channel: tuple[Channel, str],
) -> None:
    source_id, target_id = pair
    third = await inbound(client, api_channel[1], external_id="x1", text="Inna sprawa")
    await merge(client, admin, source_id, target_id)
    before = await snapshot(db)

    again = await merge(client, admin, source_id, third["ticket_id"])
    into_merged = await merge(client, admin, third["ticket_id"], source_id)

    assert (again.status_code, into_merged.status_code) == (409, 409)
    assert error_of(again)["code"] == "ticket.merge_invalid"
    assert error_of(into_merged)["code"] == "ticket.merge_invalid"
    assert await snapshot(db) == before


async def test_merge_into_a_missing_ticket_is_404(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], pair: tuple[int, int]
) -> None:
    source_id, _ = pair
    before = await snapshot(db)

    response = await merge(client, admin, source_id, 987654)

    assert response.status_code == 404
    assert error_of(response)["code"] == "ticket.not_found"
    assert await snapshot(db) == before
