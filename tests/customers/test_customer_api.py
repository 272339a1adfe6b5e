"""GET, PATCH and merge of /api/v1/customers/{id}."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.channels.models import Channel
from sellerdesk.customers.models import Customer, CustomerIdentity
from sellerdesk.tickets.models import AuditEvent, Message, Ticket
from tests.api.support import API, error_of, inbound, snapshot
from tests.conftest import TokenFactory, bearer


async def customer_of(db: AsyncSession, ticket_id: int) -> int:
    ticket = await db.get(Ticket, ticket_id)
    assert ticket is not None
    assert ticket.customer_id is not None
    return ticket.customer_id


async def fresh(db: AsyncSession, customer_id: int) -> Customer:
    found = await db.get(Customer, customer_id, populate_existing=True)
    assert found is not None
    return found


async def customer_events(db: AsyncSession, customer_id: int) -> list[tuple[Any, ...]]:
    rows = await db.execute(
        select(AuditEvent.action, AuditEvent.before, AuditEvent.after)
        .where(AuditEvent.entity_type == "customer", AuditEvent.entity_id == customer_id)
        .order_by(AuditEvent.id)
    )
    return [tuple(r) for r in rows]


@pytest.fixture
async def ewa(client: httpx.AsyncClient, db: AsyncSession,
              api_channel: tuple[Channel, str]) -> int:
    """The customer behind ewa@example.pl, who wrote once."""
    result = await inbound(client, api_channel[1])
    return await customer_of(db, result["ticket_id"])


async def test_get_customer_lists_identities(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ewa: int
) -> None:
    identity = (await db.execute(
        select(CustomerIdentity).where(CustomerIdentity.customer_id == ewa)
    )).scalar_one()
    customer = await fresh(db, ewa)

    response = await client.get(f"{API}/customers/{ewa}", headers=admin)

    assert response.status_code == 200
    assert response.json() == {
        "id": ewa, "name": "Ewa Nowak", "email": "ewa@example.pl", "language": None,
        "note": None, "merged_into_id": None,
        "identities": [{"id": identity.id, "kind": "email", "value": "ewa@example.pl",
                        "display_name": "Ewa Nowak"}],
        "created_at": customer.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": customer.updated_at.isoformat().replace("+00:00", "Z"),
    }


async def test_get_unknown_customer_is_404(
    client: httpx.AsyncClient, admin: dict[str, str], store: Store
) -> None:
    response = await client.get(f"{API}/customers/987654", headers=admin)

    assert response.status_code == 404
    error = error_of(response)
    assert (error["code"], error["field"]) == ("customer.not_found", "customer_id")


async def test_patch_customer_changes_fields_and_audits_them(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ewa: int
) -> None:
    response = await client.patch(f"{API}/customers/{ewa}", headers=admin, json={
        "name": "Ewa Nowak-Kowalska", "language": "pl", "note": "Stała klientka",
        "email": "ewa@example.pl"})

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["language"], body["note"], body["email"]) == (
        "Ewa Nowak-Kowalska", "pl", "Stała klientka", "ewa@example.pl")
    row = await fresh(db, ewa)
    assert (row.name, row.language, row.note) == ("Ewa Nowak-Kowalska", "pl",
                                                  "Stała klientka")
    assert await customer_events(db, ewa) == [(
        "customer.updated",
        {"name": "Ewa Nowak", "language": None, "note": None},
        {"name": "Ewa Nowak-Kowalska", "language": "pl", "note": "Stała klientka"},
    )]


async def test_patch_customer_can_clear_a_field(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ewa: int
) -> None:
    response = await client.patch(f"{API}/customers/{ewa}", json={"name": None},
                                  headers=admin)

    assert response.json()["name"] is None
    assert (await fresh(db, ewa)).name is None
    assert await customer_events(db, ewa) == [
        ("customer.updated", {"name": "Ewa Nowak"}, {"name": None})]


async def test_patch_customer_without_changes_is_not_audited(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ewa: int
) -> None:
    response = await client.patch(f"{API}/customers/{ewa}", json={"name": "Ewa Nowak"},
                                  headers=admin)

    assert response.status_code == 200
    assert await customer_events(db, ewa) == []


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "not-an-email"}, "email"),
    ({"language": "p"}, "language"),
    ({"name": "x" * 201}, "name"),
    ({"name": 5}, "name"),
    ({"vip": True}, "vip"),
])
async def test_bad_customer_patch_is_422_and_changes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], ewa: int,
    body: dict[str, Any], field: str,
) -> None:
    before = await snapshot(db)

    response = await client.patch(f"{API}/customers/{ewa}", json=body, headers=admin)

    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["field"]) == ("request.invalid", field)
    assert await snapshot(db) == before


@pytest.fixture
async def two(client: httpx.AsyncClient, db: AsyncSession,
              api_channel: tuple[Channel, str]) -> tuple[int, int]:
    """Ewa writing from her private address (source) and from a chat handle (target)."""
    token = api_channel[1]
    source = await inbound(client, token, external_id="a", thread_key="private")
    target = await inbound(client, token, external_id="b", thread_key="chat",
                           **{"from": {"handle": "ewa-chat-77"}})
    return (await customer_of(db, source["ticket_id"]),
            await customer_of(db, target["ticket_id"]))


async def merge(client: httpx.AsyncClient, headers: dict[str, str], source: int, target: int
                ) -> httpx.Response:
    return await client.post(f"{API}/customers/{source}/merge",
                             json={"into_customer_id": target}, headers=headers)


async def test_merge_moves_identities_and_tickets_to_the_target(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], two: tuple[int, int]
) -> None:
    # given
    source, target = two
    source_tickets = list((await db.execute(
        select(Ticket.id).where(Ticket.customer_id == source))).scalars())
    identity_ids = list((await db.execute(
        select(CustomerIdentity.id).order_by(CustomerIdentity.id))).scalars())

    # when
    response = await merge(client, admin, source, target)

    # then the target holds both identities and fills what it lacked from the source
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == target
    assert [(i["id"], i["kind"], i["value"]) for i in body["identities"]] == [
        (identity_ids[0], "email", "ewa@example.pl"),
        (identity_ids[1], "handle", "ewa-chat-77"),
    ]
    assert (body["name"], body["email"]) == ("Ewa Nowak", "ewa@example.pl")
    # every ticket of the source is the target's now
    tickets = (await db.execute(select(Ticket.customer_id).order_by(Ticket.id))).scalars()
    assert list(tickets) == [target, target]
    # the source points to the target and has no identities left
    merged = await client.get(f"{API}/customers/{source}", headers=admin)
    assert (merged.json()["merged_into_id"], merged.json()["identities"]) == (target, [])
    assert await customer_events(db, source) == [(
        "customer.merged", {"merged_into_id": None},
        {"merged_into_id": target, "identity_ids": [identity_ids[0]],
         "ticket_ids": source_tickets},
    )]
    assert await customer_events(db, target) == [
        ("customer.merge_received", None, {"from_customer_id": source})]
    listed = await client.get(f"{API}/tickets", params={"customer": target}, headers=admin)
    assert len(listed.json()["items"]) == 2


async def test_mail_from_a_merged_identity_lands_on_the_target(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], two: tuple[int, int],
    api_channel: tuple[Channel, str],
) -> None:
    # given the private-address customer merged into the chat one
    source, target = two
    await merge(client, admin, source, target)
    customers_before = await db.scalar(select(func.count()).select_from(Customer))

    # when Ewa writes again from her private address about something new
    result = await inbound(client, api_channel[1], external_id="c", text="Nowa sprawa",
                           **{"from": {"name": "Ewa", "email": "EWA@example.pl"}})

    # then the new ticket and message belong to the target; no customer was created
    assert result["outcome"] == "created"
    assert await customer_of(db, result["ticket_id"]) == target
    message = await db.get(Message, result["message_id"])
    assert message is not None
    assert message.author_customer_id == target
    assert await db.scalar(select(func.count()).select_from(Customer)) == customers_before


async def test_merging_a_customer_into_itself_is_409(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], two: tuple[int, int]
) -> None:
    source, _ = two
    before = await snapshot(db)

    response = await merge(client, admin, source, source)

    assert response.status_code == 409
    error = error_of(response)
    assert (error["code"], error["field"]) == ("customer.merge_self", "into_customer_id")
    assert await snapshot(db) == before


async def test_an_already_merged_customer_cannot_be_merged_again(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], two: tuple[int, int],
    api_channel: tuple[Channel, str],
) -> None:
    source, target = two
    third = await inbound(client, api_channel[1], external_id="z",
                          **{"from": {"email": "jan@example.pl"}})
    third_id = await customer_of(db, third["ticket_id"])
    await merge(client, admin, source, target)
    before = await snapshot(db)

    again = await merge(client, admin, source, third_id)
    into_merged = await merge(client, admin, third_id, source)

    assert (again.status_code, into_merged.status_code) == (409, 409)
    assert error_of(again)["code"] == "customer.already_merged"
    assert error_of(into_merged)["code"] == "customer.already_merged"
    assert await snapshot(db) == before


async def test_merge_into_a_missing_customer_is_404(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], two: tuple[int, int]
) -> None:
    source, _ = two
    before = await snapshot(db)

    response = await merge(client, admin, source, 987654)

    assert response.status_code == 404
    assert error_of(response)["code"] == "customer.not_found"
    assert await snapshot(db) == before


@pytest.mark.parametrize("role", [Role.VIEWER, Role.AGENT, Role.ANALYST])
async def test_roles_without_customer_merge_get_403_and_change_nothing(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, make_token: TokenFactory,
    two: tuple[int, int], role: Role,
) -> None:
    source, target = two
    headers = bearer(await make_token(store, role))
    before = await snapshot(db)

    response = await merge(client, headers, source, target)

    assert response.status_code == 403
    assert error_of(response)["code"] == "access.forbidden"
    assert await snapshot(db) == before


async def test_a_manager_may_merge_customers(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, make_token: TokenFactory,
    two: tuple[int, int],
) -> None:
    source, target = two
    headers = bearer(await make_token(store, Role.MANAGER))

    response = await merge(client, headers, source, target)

    assert response.status_code == 200
    assert (await fresh(db, source)).merged_into_id == target
