"""Dry-run: which of the store's recent tickets a rule would match and what it would do,
with nothing changed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.channels.models import Channel
from tests.api.support import API, error_of, snapshot
from tests.rules.conftest import add_rule, leaf, receive

REFUND = {"all": [leaf("message.text", "mentions", ["zwrot", "refund", "환불"])]}
ACTIONS = [{"type": "set_priority", "value": "high"}, {"type": "add_tags", "tags": ["refund"]},
           {"type": "set_status", "value": "pending"}]


@pytest.fixture
async def recent(db: AsyncSession, store: Store, api_channel: tuple[Channel, str]
                 ) -> dict[str, int]:
    channel = api_channel[0]
    return {
        "pl": await receive(db, channel, external_id="m1", text="Proszę o zwrot pieniędzy.",
                            email="ewa@example.pl"),
        "other": await receive(db, channel, external_id="m2", text="Kiedy wyślecie paczkę?",
                               email="jan@example.pl"),
        "ko": await receive(db, channel, external_id="m3",
                            text="상품이 파손되었습니다. 환불해 주세요.", email="kim@example.kr"),
    }


async def test_dry_run_lists_matches_and_plans_without_changing_anything(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    recent: dict[str, int],
) -> None:
    before = await snapshot(db)

    response = await client.post(f"{API}/rules/dry-run", headers=admin, json={
        "events": ["message.received"], "conditions": REFUND, "actions": ACTIONS})

    assert response.status_code == 200, response.text
    result = response.json()
    assert result["examined"] == 3
    assert [m["ticket_id"] for m in result["matched"]] == [recent["ko"], recent["pl"]]
    assert result["matched"][1]["status"] == "new"
    assert result["matched"][1]["actions"] == [
        {"type": "update", "changes": {"priority": "high", "status": "pending",
                                       "tags": ["refund"]}}]
    assert await snapshot(db) == before


async def test_dry_run_shows_what_would_not_apply(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    recent: dict[str, int],
) -> None:
    response = await client.post(f"{API}/rules/dry-run", headers=admin, json={
        "events": ["message.received"],
        "conditions": {"all": [leaf("customer.email", "is_not_empty")]},
        "actions": [{"type": "set_priority", "value": "normal"},
                    {"type": "set_status", "value": "new"}],
    })

    assert response.status_code == 422
    assert error_of(response)["field"] == "actions.1.value"

    response = await client.post(f"{API}/rules/dry-run", headers=admin, json={
        "events": ["message.received"],
        "conditions": {"all": [leaf("customer.email", "ends_with", "@example.kr")]},
        "actions": [{"type": "set_priority", "value": "normal"},
                    {"type": "add_note", "text": "x"}],
    })
    assert response.json()["matched"] == [{
        "ticket_id": recent["ko"], "subject": "Pytanie", "status": "new",
        "actions": [{"type": "add_note"}]}]


async def test_dry_run_of_a_saved_rule_and_the_limit(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], store: Store,
    recent: dict[str, int],
) -> None:
    rule = await add_rule(db, store, "Refunds", conditions=REFUND, actions_=ACTIONS)
    before = await snapshot(db)

    everything = await client.post(f"{API}/rules/{rule.id}/dry-run", json={}, headers=admin)
    latest = await client.post(f"{API}/rules/{rule.id}/dry-run", json={"limit": 1},
                               headers=admin)

    assert [m["ticket_id"] for m in everything.json()["matched"]] == [recent["ko"],
                                                                        recent["pl"]]
    assert latest.json()["examined"] == 1
    assert [m["ticket_id"] for m in latest.json()["matched"]] == [recent["ko"]]
    assert await snapshot(db) == before


@pytest.mark.parametrize(("payload", "code", "field"), [
    ({"limit": 0}, "request.invalid", "limit"),
    ({"limit": 1001}, "request.invalid", "limit"),
    ({"conditions": {"all": [leaf("ticket.moon", "is", "full")]}}, "rule.unknown_field",
     "conditions.all.0.field"),
    ({"events": ["ticket.exploded"]}, "rule.unknown_event", "events.0"),
    ({"actions": [{"type": "set_team", "team_id": 10**9}]}, "rule.unknown_team",
     "actions.0.team_id"),
])
async def test_bad_dry_runs_are_refused(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    recent: dict[str, int], payload: dict[str, Any], code: str, field: str,
) -> None:
    body = {"events": ["message.received"], "conditions": REFUND, **payload}
    before = await snapshot(db)

    response = await client.post(f"{API}/rules/dry-run", json=body, headers=admin)

    assert response.status_code == 422, response.text
    assert (error_of(response)["code"], error_of(response)["field"]) == (code, field)
    assert await snapshot(db) == before
