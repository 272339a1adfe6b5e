"""/api/v1/calendars, /api/v1/sla/policies and /api/v1/tickets/{id}/sla."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.models import Calendar, SlaPolicy
from sellerdesk.channels.models import Channel
from sellerdesk.jobs import outbox
from sellerdesk.tickets.models import AuditEvent
from tests.api.support import API, error_of, inbound, snapshot
from tests.automation.conftest import WEEKDAYS_9_TO_5, add_policy, minutes
from tests.conftest import TokenFactory, bearer


def calendar_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Warsaw office", "timezone": "Europe/Warsaw",
        "hours": {"mon": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}],
                  "fri": [{"start": "09:00", "end": "15:00"}]},
        "holidays": [{"date": "2026-12-24", "name": "Wigilia",
                      "open": [{"start": "09:00", "end": "13:00"}]}],
    }
    body.update(overrides)
    return body


def policy_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Amazon", "conditions": {"marketplaces": ["amazon"]},
        "targets": {"first_response": {"minutes": 1440}},
    }
    body.update(overrides)
    return body


@pytest.fixture
async def agent(store: Store, make_token: TokenFactory) -> dict[str, str]:
    return bearer(await make_token(store, Role.AGENT))


# --- calendars ---------------------------------------------------------------------------------

async def test_admin_manages_a_calendar(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
) -> None:
    created = await client.post(f"{API}/calendars", json=calendar_body(), headers=admin)

    assert created.status_code == 201, created.text
    body = created.json()
    calendar_id = body["id"]
    assert body["hours"]["mon"] == [{"start": "09:00", "end": "12:00"},
                                    {"start": "13:00", "end": "17:00"}]
    assert body["hours"]["sun"] == []
    assert body["holidays"] == [{"date": "2026-12-24", "name": "Wigilia",
                                 "open": [{"start": "09:00", "end": "13:00"}]}]
    listed = await client.get(f"{API}/calendars", headers=admin)
    assert [c["id"] for c in listed.json()] == [calendar_id]

    patched = await client.patch(f"{API}/calendars/{calendar_id}", headers=admin,
                                 json={"timezone": "Asia/Seoul", "holidays": []})

    assert patched.status_code == 200, patched.text
    assert (patched.json()["timezone"], patched.json()["holidays"]) == ("Asia/Seoul", [])
    assert patched.json()["hours"] == body["hours"]
    deleted = await client.delete(f"{API}/calendars/{calendar_id}", headers=admin)
    assert deleted.status_code == 204
    assert (await client.get(f"{API}/calendars/{calendar_id}", headers=admin)).status_code == 404
    actions = list((await db.execute(
        select(AuditEvent.action).where(AuditEvent.entity_type == "calendar")
        .order_by(AuditEvent.id))).scalars())
    assert actions == ["calendar.created", "calendar.updated", "calendar.deleted"]


@pytest.mark.parametrize(("overrides", "code", "field"), [
    ({"hours": {"mon": [{"start": "09:00", "end": "12:00"}, {"start": "11:30", "end": "17:00"}]}},
     "calendar.overlapping_intervals", "hours.mon.1"),
    ({"hours": {"mon": [{"start": "17:00", "end": "09:00"}]}},
     "calendar.empty_interval", "hours.mon.0"),
    ({"hours": {"monday": [{"start": "09:00", "end": "17:00"}]}},
     "calendar.unknown_weekday", "hours.monday"),
    ({"hours": {"mon": [{"start": "9am", "end": "17:00"}]}},
     "calendar.invalid_time", "hours.mon.0.start"),
    ({"hours": {}}, "calendar.no_open_hours", "hours"),
    ({"timezone": "Europe/Warszawa"}, "calendar.invalid_timezone", "timezone"),
    ({"holidays": [{"date": "2026-12-25"}, {"date": "2026-12-25"}]},
     "calendar.duplicate_holiday", "holidays.1.date"),
    ({"holidays": [{"date": "2026-02-30"}]}, "request.invalid", "holidays.0.date"),
    ({"colour": "blue"}, "request.invalid", "colour"),
    ({"hours": {"mon": [{"start": "09:00", "end": "17:00", "lunch": True}]}},
     "request.invalid", "hours.mon.0.lunch"),
])
async def test_bad_calendars_are_refused_and_change_nothing(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    overrides: dict[str, Any], code: str, field: str,
) -> None:
    before = await snapshot(db)

    response = await client.post(f"{API}/calendars", json=calendar_body(**overrides),
                                 headers=admin)

    assert response.status_code == 422, response.text
    error = error_of(response)
    assert (error["code"], error["field"]) == (code, field)
    assert await snapshot(db) == before


async def test_bad_calendar_update_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], office: Calendar,
) -> None:
    before = await snapshot(db)

    response = await client.patch(
        f"{API}/calendars/{office.id}", headers=admin,
        json={"hours": {"tue": [{"start": "10:00", "end": "12:00"},
                                {"start": "08:00", "end": "10:30"}]}})

    assert response.status_code == 422
    assert (error_of(response)["code"], error_of(response)["field"]) == (
        "calendar.overlapping_intervals", "hours.tue.1")
    assert await snapshot(db) == before


async def test_another_stores_calendar_is_not_found(
    client: httpx.AsyncClient, db: AsyncSession, other_admin: dict[str, str], office: Calendar,
) -> None:
    before = await snapshot(db)
    url = f"{API}/calendars/{office.id}"

    responses = [await client.get(url, headers=other_admin),
                 await client.patch(url, json={"name": "Mine"}, headers=other_admin),
                 await client.delete(url, headers=other_admin)]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert {error_of(r)["code"] for r in responses} == {"calendar.not_found"}
    assert (await client.get(f"{API}/calendars", headers=other_admin)).json() == []
    assert await snapshot(db) == before


async def test_agents_read_calendars_but_cannot_change_them(
    client: httpx.AsyncClient, db: AsyncSession, agent: dict[str, str], office: Calendar,
) -> None:
    before = await snapshot(db)

    read = await client.get(f"{API}/calendars/{office.id}", headers=agent)
    writes = [await client.post(f"{API}/calendars", json=calendar_body(), headers=agent),
              await client.patch(f"{API}/calendars/{office.id}", json={"name": "x"},
                                 headers=agent),
              await client.delete(f"{API}/calendars/{office.id}", headers=agent)]

    assert read.status_code == 200
    assert read.json()["hours"]["mon"] == WEEKDAYS_9_TO_5["mon"]
    assert [r.status_code for r in writes] == [403, 403, 403]
    assert await snapshot(db) == before


async def test_a_calendar_in_use_cannot_be_deleted(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, admin: dict[str, str],
    office: Calendar,
) -> None:
    await add_policy(db, store, "Email", {"first_response": minutes(240, business=True)},
                     calendar_id=office.id)

    response = await client.delete(f"{API}/calendars/{office.id}", headers=admin)

    assert response.status_code == 409
    assert error_of(response)["code"] == "calendar.in_use"
    assert await db.get(Calendar, office.id) is not None


async def test_calendar_names_are_unique_per_store(
    client: httpx.AsyncClient, admin: dict[str, str], other_admin: dict[str, str],
    office: Calendar,
) -> None:
    same = await client.post(f"{API}/calendars", json=calendar_body(name="Office"),
                             headers=admin)
    other_store = await client.post(f"{API}/calendars", json=calendar_body(name="Office"),
                                    headers=other_admin)

    assert (same.status_code, error_of(same)["code"]) == (409, "calendar.name_taken")
    assert other_store.status_code == 201


# --- policies ----------------------------------------------------------------------------------

async def test_admin_manages_and_reorders_policies(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], office: Calendar,
) -> None:
    ids = []
    for body in (policy_body(),
                 policy_body(name="Email", conditions={"channel_types": ["email"]},
                             targets={"first_response": {"minutes": 240, "business_hours": True},
                                      "resolution": {"minutes": 2400, "business_hours": True}},
                             calendar_id=office.id, warning={"minutes_before": 30}),
                 policy_body(name="Everything else", conditions={},
                             targets={"resolution": {"minutes": 4320}}, pause_on=["pending"],
                             warning=None)):
        response = await client.post(f"{API}/sla/policies", json=body, headers=admin)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])

    listed = (await client.get(f"{API}/sla/policies", headers=admin)).json()

    assert [(p["position"], p["name"]) for p in listed] == [
        (1, "Amazon"), (2, "Email"), (3, "Everything else")]
    assert listed[0]["conditions"] == {"channel_types": [], "marketplaces": ["amazon"],
                                       "priorities": [], "tags": [], "customer_languages": []}
    assert listed[0]["targets"] == {"first_response": {"minutes": 1440,
                                                       "business_hours": False},
                                    "next_response": None, "resolution": None}
    assert (listed[0]["pause_on"], listed[0]["warning"]) == (
        ["pending", "on_hold"], {"percent": 80, "minutes_before": None})
    assert (listed[1]["calendar_id"], listed[1]["warning"]) == (
        office.id, {"percent": None, "minutes_before": 30})
    assert (listed[2]["pause_on"], listed[2]["warning"]) == (["pending"], None)

    reordered = await client.put(f"{API}/sla/policies/order", headers=admin,
                                 json={"ids": [ids[2], ids[0], ids[1]]})

    assert reordered.status_code == 200, reordered.text
    assert [(p["position"], p["name"]) for p in reordered.json()] == [
        (1, "Everything else"), (2, "Amazon"), (3, "Email")]
    patched = await client.patch(f"{API}/sla/policies/{ids[0]}", headers=admin,
                                 json={"is_active": False, "conditions": {"tags": ["VIP"]}})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["is_active"], patched.json()["conditions"]["tags"]) == (False,
                                                                                   ["vip"])
    assert (await client.delete(f"{API}/sla/policies/{ids[0]}", headers=admin)
            ).status_code == 204
    assert [p.name for p in (await db.execute(select(SlaPolicy).order_by(SlaPolicy.position))
                             ).scalars()] == ["Everything else", "Email"]


@pytest.mark.parametrize(("overrides", "code", "field"), [
    ({"conditions": {"colour": ["red"]}}, "request.invalid", "conditions.colour"),
    ({"conditions": {"channel_types": ["fax"]}}, "sla.unknown_channel_type",
     "conditions.channel_types.0"),
    ({"conditions": {"priorities": ["asap"]}}, "request.invalid", "conditions.priorities.0"),
    ({"targets": {"first_response": {"minutes": -60}}}, "request.invalid",
     "targets.first_response.minutes"),
    ({"targets": {"first_response": {"minutes": 0}}}, "request.invalid",
     "targets.first_response.minutes"),
    ({"targets": {"first_reply": {"minutes": 60}}}, "request.invalid", "targets.first_reply"),
    ({"targets": {}}, "sla.no_targets", "targets"),
    ({"targets": {"first_response": {"minutes": 60, "business_hours": True}}},
     "sla.calendar_required", "calendar_id"),
    ({"pause_on": ["solved"]}, "request.invalid", "pause_on.0"),
    ({"warning": {"percent": 80, "minutes_before": 10}}, "request.invalid", "warning"),
    ({"warning": {"percent": 120}}, "request.invalid", "warning.percent"),
    ({"calendar_id": 0}, "request.invalid", "calendar_id"),
    ({"calendar_id": 987654}, "sla.unknown_calendar", "calendar_id"),
    ({"name": ""}, "request.invalid", "name"),
    ({"priority": "high"}, "request.invalid", "priority"),
])
async def test_bad_policies_are_refused_and_change_nothing(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    overrides: dict[str, Any], code: str, field: str,
) -> None:
    before = await snapshot(db)

    response = await client.post(f"{API}/sla/policies", json=policy_body(**overrides),
                                 headers=admin)

    assert response.status_code == 422, response.text
    error = error_of(response)
    assert (error["code"], error["field"]) == (code, field)
    assert await snapshot(db) == before


async def test_a_policy_cannot_use_another_stores_calendar(
    client: httpx.AsyncClient, db: AsyncSession, other_admin: dict[str, str], office: Calendar,
) -> None:
    before = await snapshot(db)

    response = await client.post(
        f"{API}/sla/policies", headers=other_admin,
        json=policy_body(calendar_id=office.id,
                         targets={"first_response": {"minutes": 60, "business_hours": True}}))

    assert response.status_code == 422
    assert (error_of(response)["code"], error_of(response)["field"]) == (
        "sla.unknown_calendar", "calendar_id")
    assert await snapshot(db) == before


async def test_clearing_the_calendar_of_a_business_hours_policy_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, admin: dict[str, str],
    office: Calendar,
) -> None:
    policy = await add_policy(db, store, "Email", {"first_response": minutes(240, business=True)},
                              calendar_id=office.id)
    before = await snapshot(db)

    response = await client.patch(f"{API}/sla/policies/{policy.id}", json={"calendar_id": None},
                                  headers=admin)

    assert response.status_code == 422
    assert error_of(response)["code"] == "sla.calendar_required"
    assert await snapshot(db) == before


async def test_reorder_must_list_each_policy_once(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, other_store: Store,
    admin: dict[str, str],
) -> None:
    first = await add_policy(db, store, "A", {"first_response": minutes(60)})
    second = await add_policy(db, store, "B", {"first_response": minutes(60)})
    foreign = await add_policy(db, other_store, "C", {"first_response": minutes(60)})
    before = await snapshot(db)

    responses = [
        await client.put(f"{API}/sla/policies/order", json={"ids": ids}, headers=admin)
        for ids in ([first.id], [first.id, first.id], [first.id, second.id, foreign.id],
                    [second.id, foreign.id])
    ]

    assert [r.status_code for r in responses] == [422, 422, 422, 422]
    assert {(error_of(r)["code"], error_of(r)["field"]) for r in responses} == {
        ("sla.order_mismatch", "ids")}
    assert await snapshot(db) == before


async def test_another_stores_policy_is_not_found(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, other_admin: dict[str, str],
) -> None:
    policy = await add_policy(db, store, "A", {"first_response": minutes(60)})
    before = await snapshot(db)
    url = f"{API}/sla/policies/{policy.id}"

    responses = [await client.get(url, headers=other_admin),
                 await client.patch(url, json={"name": "Mine"}, headers=other_admin),
                 await client.delete(url, headers=other_admin)]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert {error_of(r)["code"] for r in responses} == {"sla.policy_not_found"}
    assert (await client.get(f"{API}/sla/policies", headers=other_admin)).json() == []
    assert await snapshot(db) == before


async def test_agents_read_policies_but_cannot_change_them(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, agent: dict[str, str],
) -> None:
    policy = await add_policy(db, store, "A", {"first_response": minutes(60)})
    before = await snapshot(db)

    read = await client.get(f"{API}/sla/policies/{policy.id}", headers=agent)
    writes = [
        await client.post(f"{API}/sla/policies", json=policy_body(), headers=agent),
        await client.patch(f"{API}/sla/policies/{policy.id}", json={"name": "B"}, headers=agent),
        await client.put(f"{API}/sla/policies/order", json={"ids": [policy.id]}, headers=agent),
        await client.delete(f"{API}/sla/policies/{policy.id}", headers=agent),
        await client.post(f"{API}/sla/defaults", headers=agent),
    ]

    assert read.status_code == 200
    assert [r.status_code for r in writes] == [403] * 5
    assert {error_of(r)["code"] for r in writes} == {"access.forbidden"}
    assert await snapshot(db) == before


async def test_defaults_install_once(
    client: httpx.AsyncClient, admin: dict[str, str],
) -> None:
    first = await client.post(f"{API}/sla/defaults", headers=admin)
    second = await client.post(f"{API}/sla/defaults", headers=admin)

    assert first.status_code == 201, first.text
    assert [p["name"] for p in first.json()][:3] == [
        "Chat", "Marketplaces: urgent and high", "Amazon buyer messages"]
    assert (second.status_code, error_of(second)["code"]) == (409, "sla.defaults_exist")


# --- a ticket's SLA ----------------------------------------------------------------------------

async def test_ticket_sla_state_is_readable_by_agents(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, agent: dict[str, str],
    other_admin: dict[str, str], api_channel: tuple[Channel, str],
) -> None:
    policy = await add_policy(db, store, "All", {"first_response": minutes(60),
                                                 "resolution": minutes(1440)})
    ticket_id = (await inbound(client, api_channel[1]))["ticket_id"]
    await outbox.run_pending(db)

    response = await client.get(f"{API}/tickets/{ticket_id}/sla", headers=agent)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["ticket_id"], body["policy_id"], body["policy_name"]) == (ticket_id, policy.id,
                                                                           "All")
    first, resolution = body["targets"]
    assert (first["kind"], first["state"], first["goal_minutes"], first["business_hours"]) == (
        "first_response", "active", 60.0, False)
    assert resolution["kind"] == "resolution"
    assert body["sla_due_at"] == first["due_at"]
    assert 0 <= first["elapsed_seconds"] < 600
    assert first["remaining_seconds"] == 3600 - first["elapsed_seconds"]
    assert (first["paused_seconds"], first["completed_at"], first["breached_at"]) == (0, None,
                                                                                      None)
    hidden = await client.get(f"{API}/tickets/{ticket_id}/sla", headers=other_admin)
    assert (hidden.status_code, error_of(hidden)["code"]) == (404, "ticket.not_found")


async def test_ticket_without_a_policy_has_an_empty_sla(
    client: httpx.AsyncClient, db: AsyncSession, agent: dict[str, str],
    api_channel: tuple[Channel, str],
) -> None:
    ticket_id = (await inbound(client, api_channel[1]))["ticket_id"]
    await outbox.run_pending(db)

    response = await client.get(f"{API}/tickets/{ticket_id}/sla", headers=agent)

    assert response.json() == {"ticket_id": ticket_id, "policy_id": None, "policy_name": None,
                               "sla_due_at": None, "targets": []}
