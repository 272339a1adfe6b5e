"""Defining pre-approved actions: create, read, change, delete; bad definitions refused with
the field named and nothing stored; admins only; another store's actions are 404."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.empowerment.models import PreApprovedAction
from sellerdesk.automation.macros.models import Macro
from sellerdesk.tickets.models import Ticket
from tests.api.support import API, error_of, snapshot
from tests.conftest import TokenFactory, bearer
from tests.empowerment.conftest import (
    Headers,
    action_body,
    audit_actions,
    granted,
    make_action,
)


async def test_an_admin_defines_an_action_with_limits_and_a_macro(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers,
    notify_macro: Macro,
) -> None:
    # when
    response = await client.post(f"{API}/pre-approved-actions", headers=admin, json=action_body(
        macro_id=notify_macro.id, description="Refund up to 30 EUR",
        limits=[{"kind": "role", "role": "manager", "max_amount": 200},
                {"kind": "customer", "count": 2, "period_days": 30},
                {"kind": "agent", "amount": "500", "period_days": 1},
                {"kind": "ticket", "count": 1, "amount": "30.5"}]))

    # then amounts are stored in cents and read back as decimals
    assert response.status_code == 201, response.text
    body = response.json()
    assert {k: body[k] for k in ("name", "kind", "currency", "max_amount", "macro_id",
                                 "is_active", "description")} == {
        "name": "Refund", "kind": "refund", "currency": "EUR", "max_amount": "30.00",
        "macro_id": notify_macro.id, "is_active": True, "description": "Refund up to 30 EUR"}
    assert [{k: v for k, v in limit.items() if v is not None} for limit in body["limits"]] == [
        {"kind": "role", "role": "manager", "max_amount": "200.00"},
        {"kind": "customer", "count": 2, "period_days": 30},
        {"kind": "agent", "amount": "500.00", "period_days": 1},
        {"kind": "ticket", "count": 1, "amount": "30.50"}]
    row = await db.get(PreApprovedAction, body["id"])
    assert row is not None
    assert (row.max_amount, row.limits[2]["amount"]) == (3000, 50000)
    assert await audit_actions(db, entity_type="preapproved_action") == [
        "preapproved_action.created"]
    # and agents can read it
    listed = await client.get(f"{API}/pre-approved-actions", headers=agent)
    assert [a["id"] for a in listed.json()] == [body["id"]]
    one = await client.get(f"{API}/pre-approved-actions/{body['id']}", headers=agent)
    assert one.json() == body


@pytest.mark.parametrize(("overrides", "code", "field"), [
    ({"kind": "money"}, "request.invalid", "kind"),
    ({"currency": "XYZ"}, "preapproved_action.invalid_currency", "currency"),
    ({"currency": None}, "preapproved_action.invalid_currency", "currency"),
    ({"max_amount": None}, "preapproved_action.invalid_amount", "max_amount"),
    ({"max_amount": "0"}, "preapproved_action.invalid_amount", "max_amount"),
    ({"max_amount": "1.005"}, "preapproved_action.invalid_amount", "max_amount"),
    ({"kind": "reship"}, "preapproved_action.invalid_currency", "currency"),
    ({"macro_id": 999999}, "preapproved_action.unknown_macro", "macro_id"),
    ({"limits": [{"kind": "weekly"}]}, "preapproved_action.invalid_limit", "limits.0.kind"),
    ({"limits": [{"kind": "role", "role": "viewer"}]}, "preapproved_action.invalid_limit",
     "limits.0.role"),
    ({"limits": [{"kind": "role", "role": "agent", "count": 1}]},
     "preapproved_action.invalid_limit", "limits.0.count"),
    ({"limits": [{"kind": "ticket"}]}, "preapproved_action.invalid_limit", "limits.0"),
    ({"limits": [{"kind": "ticket", "count": 1, "period_days": 3}]},
     "preapproved_action.invalid_limit", "limits.0.period_days"),
    ({"limits": [{"kind": "customer", "count": 0}]}, "preapproved_action.invalid_limit",
     "limits.0.count"),
    ({"limits": [{"kind": "agent", "count": 1, "period_days": 0}]},
     "preapproved_action.invalid_limit", "limits.0.period_days"),
    ({"limits": [{"kind": "agent", "amount": "0.001"}]}, "preapproved_action.invalid_limit",
     "limits.0.amount"),
    ({"limits": [{"kind": "ticket", "count": 1}, {"kind": "ticket", "count": 2}]},
     "preapproved_action.invalid_limit", "limits.1"),
    ({"kind": "custom", "currency": None, "max_amount": None,
      "limits": [{"kind": "ticket", "amount": "5"}]},
     "preapproved_action.invalid_limit", "limits.0.amount"),
    ({"name": ""}, "request.invalid", "name"),
    ({"surprise": 1}, "request.invalid", "surprise"),
])
async def test_bad_definitions_are_refused_and_nothing_stored(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, overrides: dict[str, Any],
    code: str, field: str,
) -> None:
    before = await snapshot(db)

    response = await client.post(f"{API}/pre-approved-actions", headers=admin,
                                 json=action_body(**overrides))

    assert response.status_code == 422, response.text
    assert (error_of(response)["code"], error_of(response)["field"]) == (code, field)
    assert await snapshot(db) == before


async def test_a_name_is_unique_per_store(
    client: httpx.AsyncClient, admin: Headers, other_admin: Headers,
) -> None:
    await make_action(client, admin)

    again = await client.post(f"{API}/pre-approved-actions", headers=admin, json=action_body())
    elsewhere = await client.post(f"{API}/pre-approved-actions", headers=other_admin,
                                  json=action_body())

    assert (again.status_code, error_of(again)["code"]) == (409,
                                                            "preapproved_action.name_taken")
    assert elsewhere.status_code == 201


async def test_changing_an_action_rechecks_its_limits_and_keeps_grant_history(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers, ticket: Ticket,
) -> None:
    action = await make_action(client, admin, limits=[{"kind": "agent", "amount": "100"}])
    done = await granted(client, agent, ticket.id, action["id"], "10")

    renamed = await client.patch(f"{API}/pre-approved-actions/{action['id']}", headers=admin,
                                 json={"name": "Refund (old)", "max_amount": "25"})
    to_won = await client.patch(f"{API}/pre-approved-actions/{action['id']}", headers=admin,
                                json={"currency": "KRW", "max_amount": "30000"})
    before = await snapshot(db)
    bad = await client.patch(f"{API}/pre-approved-actions/{action['id']}", headers=admin,
                             json={"limits": [{"kind": "agent", "amount": "1.5"}]})

    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["max_amount"]) == ("Refund (old)", "25.00")
    assert to_won.status_code == 200, to_won.text
    assert (to_won.json()["currency"], to_won.json()["max_amount"],
            to_won.json()["limits"][0]["amount"]) == ("KRW", "30000", "100")
    assert (bad.status_code, error_of(bad)["field"]) == (422, "limits.0.amount")
    assert await snapshot(db) == before
    history = await client.get(f"{API}/grants/{done['id']}", headers=agent)
    assert (history.json()["action_name"], history.json()["currency"],
            history.json()["amount"]) == ("Refund", "EUR", "10.00")
    assert await audit_actions(db, entity_type="preapproved_action") == [
        "preapproved_action.created", "preapproved_action.updated",
        "preapproved_action.updated"]


async def test_deleting_an_unused_action_works_a_used_one_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers, ticket: Ticket,
) -> None:
    unused = await make_action(client, admin, name="Unused")
    used = await make_action(client, admin)
    await granted(client, agent, ticket.id, used["id"], "5")

    deleted = await client.delete(f"{API}/pre-approved-actions/{unused['id']}", headers=admin)
    refused = await client.delete(f"{API}/pre-approved-actions/{used['id']}", headers=admin)

    assert deleted.status_code == 204
    assert await db.get(PreApprovedAction, unused["id"]) is None
    assert (refused.status_code, error_of(refused)["code"]) == (409,
                                                                "preapproved_action.in_use")
    assert await db.scalar(select(PreApprovedAction.id).where(
        PreApprovedAction.id == used["id"])) == used["id"]


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AGENT, Role.VIEWER, Role.ANALYST])
async def test_only_admins_and_owners_define_actions(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, store: Store,
    make_token: TokenFactory, role: Role,
) -> None:
    action = await make_action(client, admin)
    headers = bearer(await make_token(store, role))
    before = await snapshot(db)

    responses = [
        await client.post(f"{API}/pre-approved-actions", headers=headers,
                          json=action_body(name="Other")),
        await client.patch(f"{API}/pre-approved-actions/{action['id']}", headers=headers,
                           json={"max_amount": "1000"}),
        await client.delete(f"{API}/pre-approved-actions/{action['id']}", headers=headers),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert await snapshot(db) == before


async def test_an_owner_defines_actions(
    client: httpx.AsyncClient, store: Store, make_token: TokenFactory,
) -> None:
    owner = bearer(await make_token(store, Role.OWNER))

    assert (await client.post(f"{API}/pre-approved-actions", headers=owner,
                              json=action_body())).status_code == 201


async def test_another_stores_action_is_404_and_unchanged(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, other_admin: Headers,
) -> None:
    action = await make_action(client, admin)
    before = await snapshot(db)

    responses = [
        await client.get(f"{API}/pre-approved-actions/{action['id']}", headers=other_admin),
        await client.patch(f"{API}/pre-approved-actions/{action['id']}", headers=other_admin,
                           json={"max_amount": "1000"}),
        await client.delete(f"{API}/pre-approved-actions/{action['id']}", headers=other_admin),
    ]
    listed = await client.get(f"{API}/pre-approved-actions", headers=other_admin)

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert {error_of(r)["code"] for r in responses} == {"preapproved_action.not_found"}
    assert listed.json() == []
    assert await snapshot(db) == before


async def test_an_action_cannot_use_another_stores_macro(
    client: httpx.AsyncClient, db: AsyncSession, other_admin: Headers, notify_macro: Macro,
) -> None:
    before = await snapshot(db)

    response = await client.post(f"{API}/pre-approved-actions", headers=other_admin,
                                 json=action_body(macro_id=notify_macro.id))

    assert (response.status_code, error_of(response)["code"]) == (
        422, "preapproved_action.unknown_macro")
    assert await snapshot(db) == before
    assert await db.scalar(select(Macro.id).where(Macro.id == notify_macro.id)) is not None
