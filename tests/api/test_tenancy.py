"""A store is the tenant boundary: another store's objects are not found, and never listed."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.tickets.models import AuditEvent
from tests.api.routes import FOREIGN, Route
from tests.api.support import API, error_of, snapshot


@pytest.mark.parametrize(("route", "code"), FOREIGN, ids=[r.id for r, _ in FOREIGN])
async def test_another_stores_object_is_not_found_and_nothing_changes(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    world: dict[str, int], route: Route, code: str,
) -> None:
    # given both stores' objects, as the admin of the first store
    before = await snapshot(db)

    # when the route is called with the other store's object
    response = await route.call(client, world, admin)

    # then it answers as if the object did not exist, and nothing changed
    assert response.status_code == 404, response.text
    assert error_of(response)["code"] == code
    assert await snapshot(db) == before


@pytest.mark.parametrize(("route", "code"), FOREIGN, ids=[r.id for r, _ in FOREIGN])
async def test_a_foreign_id_answers_exactly_like_a_missing_one(
    client: httpx.AsyncClient, admin: dict[str, str], world: dict[str, int], route: Route,
    code: str,
) -> None:
    # given the same ids, with the other store's replaced by ids that exist nowhere
    missing = {k: 10**7 + v if k.startswith("other_") else v for k, v in world.items()}

    # when
    foreign = await route.call(client, world, admin)
    absent = await route.call(client, missing, admin)

    # then: same status, code and field; the message differs only by the id it names
    assert (foreign.status_code, absent.status_code) == (404, 404)
    foreign_error, absent_error = error_of(foreign), error_of(absent)
    assert foreign_error["code"] == absent_error["code"] == code
    assert foreign_error["field"] == absent_error["field"]
    name = next(k for k in world if k.startswith("other_") and f"{{{k}}}" in str(
        (route.path, route.body)))
    assert foreign_error["message"].replace(str(world[name]), "ID") == absent_error[
        "message"].replace(str(missing[name]), "ID")


async def test_lists_never_show_another_stores_rows(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    other_admin: dict[str, str], world: dict[str, int], store: Store, other_store: Store,
) -> None:
    # given both stores hold the same kind of data (same words, same tags)
    for who, ticket in ((admin, world["ticket"]), (other_admin, world["other_ticket"])):
        await client.patch(f"{API}/tickets/{ticket}", json={"tags": ["vip"]}, headers=who)

    for who, mine in ((admin, ""), (other_admin, "other_")):
        # when each admin lists tickets, searches, reads the audit log, tags and quarantine
        tickets = await client.get(f"{API}/tickets", headers=who)
        filtered = await client.get(f"{API}/tickets", params={"q": "zwrot", "tag": "vip"},
                                    headers=who)
        found = await client.get(f"{API}/search", params={"q": "zwrot"}, headers=who)
        log = await client.get(f"{API}/audit", params={"limit": 200}, headers=who)
        tags = await client.get(f"{API}/tags", headers=who)
        quarantine = await client.get(f"{API}/quarantine", headers=who)

        # then each sees only its own store's rows
        assert {t["id"] for t in tickets.json()["items"]} == {world[f"{mine}ticket"],
                                                              world[f"{mine}ticket2"]}
        assert [t["id"] for t in filtered.json()["items"]] == [world[f"{mine}ticket"]]
        assert [h["ticket_id"] for h in found.json()["items"]] == [world[f"{mine}ticket"]]
        store_id = store.id if mine == "" else other_store.id
        own_events = list((await db.execute(
            select(AuditEvent.id).where(AuditEvent.store_id == store_id)
            .order_by(AuditEvent.id.desc())
        )).scalars())
        assert [e["id"] for e in log.json()] == own_events
        assert tags.json() == [{"name": "vip", "ticket_count": 1}]
        assert [p["id"] for p in quarantine.json()] == [world[f"{mine}payload"]]


async def test_ticket_filters_with_another_stores_ids_find_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], world: dict[str, int]
) -> None:
    response = await client.get(f"{API}/tickets", params={"customer": world["other_customer"]},
                                headers=admin)

    assert response.json() == {"items": [], "next_cursor": None}


async def test_audit_filter_with_another_stores_entity_finds_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], world: dict[str, int]
) -> None:
    response = await client.get(f"{API}/audit", headers=admin, params={
        "entity_type": "ticket", "entity_id": world["other_ticket"]})

    assert response.status_code == 200
    assert response.json() == []
