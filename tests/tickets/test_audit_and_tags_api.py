"""GET /api/v1/tickets/{id}/audit, the store-wide GET /api/v1/audit, and GET /api/v1/tags."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.channels.models import Channel
from sellerdesk.core.db import commit
from sellerdesk.tickets.actions import set_tags
from sellerdesk.tickets.models import AuditEvent, Ticket
from tests.api.support import API, error_of, inbound


async def test_ticket_audit_lists_its_events_newest_first(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    api_channel: tuple[Channel, str],
) -> None:
    # given a ticket that was created, replied to and changed, and another ticket
    channel, token = api_channel
    result = await inbound(client, token)
    ticket_id = result["ticket_id"]
    await inbound(client, token, external_id="other", text="Inna sprawa")
    reply = await client.post(f"{API}/tickets/{ticket_id}/replies", json={"text": "Już"},
                              headers=admin)
    await client.patch(f"{API}/tickets/{ticket_id}", json={"priority": "high"}, headers=admin)

    # when
    response = await client.get(f"{API}/tickets/{ticket_id}/audit", headers=admin)

    # then
    assert response.status_code == 200
    events = response.json()
    assert [(e["action"], e["entity_type"], e["entity_id"]) for e in events] == [
        ("ticket.updated", "ticket", ticket_id),
        ("ticket.updated", "ticket", ticket_id),
        ("message.replied", "message", reply.json()["id"]),
        ("message.received", "message", result["message_id"]),
        ("ticket.created", "ticket", ticket_id),
    ]
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)
    assert {e["ticket_id"] for e in events} == {ticket_id}
    assert events[0]["before"] == {"priority": "normal"}
    assert events[0]["after"] == {"priority": "high"}
    assert (events[4]["actor_type"], events[4]["actor_id"]) == ("channel", channel.id)
    ticket = await db.get(Ticket, ticket_id)
    assert ticket is not None
    assert events[4]["after"] == {"subject": "Pytanie o zamówienie", "channel_type": "api",
                                  "marketplace": None, "customer_id": ticket.customer_id,
                                  "priority": "normal"}


async def test_ticket_audit_pages_with_before_id_and_limit(
    client: httpx.AsyncClient, admin: dict[str, str], api_channel: tuple[Channel, str]
) -> None:
    result = await inbound(client, api_channel[1])
    ticket_id = result["ticket_id"]
    for priority in ("low", "high", "urgent"):
        await client.patch(f"{API}/tickets/{ticket_id}", json={"priority": priority},
                           headers=admin)
    everything = (await client.get(f"{API}/tickets/{ticket_id}/audit", headers=admin)).json()

    first = await client.get(f"{API}/tickets/{ticket_id}/audit", params={"limit": 2},
                             headers=admin)
    rest = await client.get(f"{API}/tickets/{ticket_id}/audit",
                            params={"before_id": first.json()[-1]["id"]}, headers=admin)

    assert len(everything) == 5
    assert first.json() == everything[:2]
    assert rest.json() == everything[2:]


async def test_store_audit_log_filters_by_entity_and_pages(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], store: Store,
    api_channel: tuple[Channel, str],
) -> None:
    # given a customer who was changed twice, among other events
    result = await inbound(client, api_channel[1])
    ticket = await db.get(Ticket, result["ticket_id"])
    assert ticket is not None
    customer_id = ticket.customer_id
    for name in ("Ewa N.", "Ewa Nowak-Kowalska"):
        await client.patch(f"{API}/customers/{customer_id}", json={"name": name},
                           headers=admin)

    # when
    customer_log = await client.get(f"{API}/audit", headers=admin, params={
        "entity_type": "customer", "entity_id": customer_id})
    everything = await client.get(f"{API}/audit", headers=admin)
    page = await client.get(f"{API}/audit", headers=admin, params={"limit": 3})
    older = await client.get(f"{API}/audit", headers=admin,
                             params={"before_id": page.json()[-1]["id"], "limit": 200})

    # then
    assert [(e["action"], e["after"]) for e in customer_log.json()] == [
        ("customer.updated", {"name": "Ewa Nowak-Kowalska"}),
        ("customer.updated", {"name": "Ewa N."}),
    ]
    all_ids = list((await db.execute(
        select(AuditEvent.id).where(AuditEvent.store_id == store.id)
        .order_by(AuditEvent.id.desc())
    )).scalars())
    assert [e["id"] for e in everything.json()] == all_ids
    assert [e["action"] for e in everything.json()][-1] == "store.created"
    assert page.json() + older.json() == everything.json()


async def test_store_audit_log_by_entity_type(
    client: httpx.AsyncClient, admin: dict[str, str], api_channel: tuple[Channel, str]
) -> None:
    await inbound(client, api_channel[1])

    response = await client.get(f"{API}/audit", params={"entity_type": "channel"},
                                headers=admin)

    assert [(e["action"], e["entity_id"]) for e in response.json()] == [
        ("channel.created", api_channel[0].id)]


async def test_audit_of_an_unknown_ticket_is_404(
    client: httpx.AsyncClient, admin: dict[str, str], store: Store
) -> None:
    response = await client.get(f"{API}/tickets/987654/audit", headers=admin)

    assert response.status_code == 404
    assert error_of(response)["code"] == "ticket.not_found"


async def test_tags_are_listed_by_name_with_ticket_counts(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    api_channel: tuple[Channel, str],
) -> None:
    # given three tickets tagged in overlapping ways and a tag left on no ticket
    tagging = [["vip", "zwrot"], ["zwrot"], ["unused", "zwrot"]]
    for n, names in enumerate(tagging):
        result = await inbound(client, api_channel[1], external_id=f"t{n}")
        ticket = await db.get(Ticket, result["ticket_id"])
        assert ticket is not None
        await set_tags(db, ticket=ticket, names=names)
        await commit(db)
    # the last ticket loses "unused" through the API
    await client.patch(f"{API}/tickets/{result['ticket_id']}", json={"tags": ["zwrot"]},
                       headers=admin)

    # when
    response = await client.get(f"{API}/tags", headers=admin)

    # then
    assert response.status_code == 200
    assert response.json() == [
        {"name": "unused", "ticket_count": 0},
        {"name": "vip", "ticket_count": 1},
        {"name": "zwrot", "ticket_count": 3},
    ]


async def test_no_tags_is_an_empty_list(
    client: httpx.AsyncClient, admin: dict[str, str], store: Store
) -> None:
    response = await client.get(f"{API}/tags", headers=admin)

    assert response.status_code == 200
    assert response.json() == []
