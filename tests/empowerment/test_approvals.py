"""Grants tell the customer through the action's macro; requests over a limit wait for a
manager, who approves (granted, customer told) or declines with a reason; reports."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent, Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.empowerment.models import Grant
from sellerdesk.automation.macros.models import Macro
from sellerdesk.channels.models import Channel
from sellerdesk.core.clock import now
from sellerdesk.core.db import commit
from sellerdesk.jobs.models import Job
from sellerdesk.tickets.models import AuditEvent, Ticket
from tests.api.support import API, error_of, snapshot
from tests.conftest import TokenFactory, bearer
from tests.empowerment.conftest import (
    Headers,
    audit_actions,
    grant,
    granted,
    make_action,
    new_ticket,
    outbound,
)


async def test_a_grant_within_limits_is_recorded_and_the_customer_told(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers,
    agent_row: Agent, ticket: Ticket, notify_macro: Macro,
) -> None:
    # given refunds up to 30 EUR that tell the customer with a macro
    action = await make_action(client, admin, macro_id=notify_macro.id)

    # when
    response = await grant(client, agent, ticket.id, action["id"], "25.50",
                           reason="Parcel arrived damaged")

    # then the grant is recorded with who, what, how much and why
    assert response.status_code == 201, response.text
    body = response.json()
    assert {k: body[k] for k in ("status", "amount", "currency", "reason", "agent_id",
                                 "ticket_id", "customer_id", "kind", "action_name")} == {
        "status": "granted", "amount": "25.50", "currency": "EUR",
        "reason": "Parcel arrived damaged", "agent_id": agent_row.id, "ticket_id": ticket.id,
        "customer_id": ticket.customer_id, "kind": "refund", "action_name": "Refund"}
    # and the customer is told by the macro, through the outbound queue
    [reply] = await outbound(db, ticket.id)
    assert reply.text == "Dzień dobry Ewa, zwrot zatwierdzony. Acme Shop"
    assert reply.delivery_status == "queued"
    assert body["message_id"] == reply.id
    assert await db.scalar(select(Job.name).where(Job.name == "message.deliver")) is not None
    assert await audit_actions(db, entity_type="grant") == ["grant.granted"]
    event = await db.scalar(select(AuditEvent).where(AuditEvent.entity_type == "grant"))
    assert event is not None
    assert event.after is not None
    assert (event.ticket_id, event.after["amount"], event.after["status"]) == (
        ticket.id, 2550, "granted")


async def test_a_grant_whose_macro_lacks_a_value_changes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers,
    ticket: Ticket, store: Store,
) -> None:
    macro = await client.post(f"{API}/macros", headers=admin, json={
        "name": "Order refund", "variants": {"en": "Refund for {{ order.number }}."}})
    action = await make_action(client, admin, macro_id=macro.json()["id"])
    before = await snapshot(db)

    response = await grant(client, agent, ticket.id, action["id"], "5")

    assert response.status_code == 422
    assert error_of(response)["code"] == "macro.missing_variables"
    assert await snapshot(db) == before
    with_value = await grant(client, agent, ticket.id, action["id"], "5",
                             values={"order.number": "123-1234567-1234567"})
    assert with_value.status_code == 201, with_value.text
    [reply] = await outbound(db, ticket.id)
    assert reply.text == "Refund for 123-1234567-1234567."


async def _pending(client: httpx.AsyncClient, admin: Headers, agent: Headers, ticket: Ticket,
                   macro: Macro) -> dict[str, object]:
    action = await make_action(client, admin, macro_id=macro.id)
    body = await granted(client, agent, ticket.id, action["id"], "80")
    assert body["status"] == "pending_approval"
    return body


async def test_a_request_over_the_limit_waits_for_a_manager_who_approves(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers,
    manager: Headers, manager_row: Agent, ticket: Ticket, notify_macro: Macro,
) -> None:
    # given a request over the limit: nothing told yet
    pending = await _pending(client, admin, agent, ticket, notify_macro)
    assert await outbound(db, ticket.id) == []

    # when the manager lists what waits, and approves it
    listed = await client.get(f"{API}/approvals", params={"status": "pending"},
                              headers=manager)
    approved = await client.post(f"{API}/approvals/{pending['id']}/approve",
                                 json={"note": "Loyal customer"}, headers=manager)

    # then
    assert listed.status_code == 200
    assert [(a["id"], a["status"]) for a in listed.json()] == [
        (pending["id"], "pending_approval")]
    assert listed.json()[0]["exceeded"][0]["limit"] == "max_amount"
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["amount"], body["decided_by_id"], body["decision_note"]) == (
        "granted", "80.00", manager_row.id, "Loyal customer")
    assert body["granted_at"] is not None
    [reply] = await outbound(db, ticket.id)
    assert body["message_id"] == reply.id
    assert reply.text == "Dzień dobry Ewa, zwrot zatwierdzony. Acme Shop"
    assert await audit_actions(db, entity_type="grant") == [
        "grant.approval_requested", "grant.approved"]
    assert (await client.get(f"{API}/approvals", params={"status": "pending"},
                             headers=manager)).json() == []
    assert [a["id"] for a in (await client.get(
        f"{API}/approvals", params={"status": "approved"}, headers=manager)).json()] == [
        pending["id"]]

    # when approved again: 409, nothing changes
    before = await snapshot(db)
    again = await client.post(f"{API}/approvals/{pending['id']}/approve", headers=manager)
    assert again.status_code == 409
    assert error_of(again)["code"] == "approval.already_decided"
    assert await snapshot(db) == before


async def test_a_manager_declines_with_a_reason(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers,
    manager: Headers, ticket: Ticket, notify_macro: Macro,
) -> None:
    pending = await _pending(client, admin, agent, ticket, notify_macro)

    no_reason = await client.post(f"{API}/approvals/{pending['id']}/decline", json={},
                                  headers=manager)
    blank = await client.post(f"{API}/approvals/{pending['id']}/decline",
                              json={"reason": "  "}, headers=manager)
    declined = await client.post(f"{API}/approvals/{pending['id']}/decline",
                                 json={"reason": "Already refunded by the marketplace"},
                                 headers=manager)

    assert (no_reason.status_code, error_of(no_reason)["field"]) == (422, "reason")
    assert (blank.status_code, error_of(blank)["code"]) == (422, "approval.reason_required")
    assert declined.status_code == 200, declined.text
    assert (declined.json()["status"], declined.json()["decision_note"]) == (
        "declined", "Already refunded by the marketplace")
    assert await outbound(db, ticket.id) == []
    assert await audit_actions(db, entity_type="grant") == [
        "grant.approval_requested", "grant.declined"]
    approve_after = await client.post(f"{API}/approvals/{pending['id']}/approve",
                                      headers=manager)
    assert approve_after.status_code == 409
    assert [a["id"] for a in (await client.get(
        f"{API}/approvals", params={"status": "declined"}, headers=manager)).json()] == [
        pending["id"]]


async def test_approving_after_the_ticket_closed_records_without_telling(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers,
    manager: Headers, ticket: Ticket, notify_macro: Macro,
) -> None:
    pending = await _pending(client, admin, agent, ticket, notify_macro)
    ticket.status = "closed"
    await commit(db)

    approved = await client.post(f"{API}/approvals/{pending['id']}/approve", headers=manager)

    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["message_id"]) == ("granted", None)
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "grant.approved"))
    assert event is not None
    assert event.after == {"status": "granted", "note": None, "notified": False}


@pytest.mark.parametrize("role", ["agent", "viewer", "analyst"])
async def test_only_managers_admins_and_owners_decide(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers, ticket: Ticket,
    notify_macro: Macro, store: Store, make_token: TokenFactory, role: str,
) -> None:
    pending = await _pending(client, admin, agent, ticket, notify_macro)
    headers = bearer(await make_token(store, Role(role)))
    before = await snapshot(db)

    responses = [
        await client.get(f"{API}/approvals", headers=headers),
        await client.post(f"{API}/approvals/{pending['id']}/approve", headers=headers),
        await client.post(f"{API}/approvals/{pending['id']}/decline", json={"reason": "no"},
                          headers=headers),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert {error_of(r)["code"] for r in responses} == {"access.forbidden"}
    assert await snapshot(db) == before


async def test_another_stores_approval_is_404_and_unchanged(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers, ticket: Ticket,
    notify_macro: Macro, other_admin: Headers,
) -> None:
    pending = await _pending(client, admin, agent, ticket, notify_macro)
    before = await snapshot(db)

    approve = await client.post(f"{API}/approvals/{pending['id']}/approve", headers=other_admin)
    decline = await client.post(f"{API}/approvals/{pending['id']}/decline",
                                json={"reason": "x"}, headers=other_admin)
    listed = await client.get(f"{API}/approvals", headers=other_admin)
    read = await client.get(f"{API}/grants/{pending['id']}", headers=other_admin)

    assert [approve.status_code, decline.status_code, read.status_code] == [404, 404, 404]
    assert error_of(approve)["code"] == "approval.not_found"
    assert error_of(read)["code"] == "grant.not_found"
    assert listed.json() == []
    assert await snapshot(db) == before


async def test_a_grant_made_without_approval_is_not_an_approval_request(
    client: httpx.AsyncClient, admin: Headers, agent: Headers, manager: Headers, ticket: Ticket,
) -> None:
    action = await make_action(client, admin)
    done = await granted(client, agent, ticket.id, action["id"], "5")

    response = await client.post(f"{API}/approvals/{done['id']}/approve", headers=manager)

    assert response.status_code == 404
    assert error_of(response)["code"] == "approval.not_found"
    assert (await client.get(f"{API}/approvals", headers=manager)).json() == []


async def test_grants_of_a_ticket_are_listed_and_foreign_tickets_are_404(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers,
    ticket: Ticket, other_admin: Headers, other_channel: tuple[Channel, str],
) -> None:
    action = await make_action(client, admin)
    first = await granted(client, agent, ticket.id, action["id"], "5")
    second = await granted(client, agent, ticket.id, action["id"], "50")
    theirs = await new_ticket(client, db, other_channel[1], external_id="theirs")
    before = await snapshot(db)

    listed = await client.get(f"{API}/tickets/{ticket.id}/grants", headers=agent)
    foreign_list = await client.get(f"{API}/tickets/{ticket.id}/grants", headers=other_admin)
    foreign_grant = await grant(client, other_admin, ticket.id, action["id"], "5")
    foreign_action = await grant(client, agent, theirs.id, action["id"], "5")
    other_action = await client.post(f"{API}/pre-approved-actions", headers=other_admin,
                                     json={"name": "Theirs", "kind": "reship"})
    foreign_action_id = await grant(client, agent, ticket.id, other_action.json()["id"])

    assert [g["id"] for g in listed.json()] == [first["id"], second["id"]]
    assert [g["status"] for g in listed.json()] == ["granted", "pending_approval"]
    assert (foreign_list.status_code, error_of(foreign_list)["code"]) == (
        404, "ticket.not_found")
    assert (foreign_grant.status_code, error_of(foreign_grant)["code"]) == (
        404, "ticket.not_found")
    assert (foreign_action.status_code, error_of(foreign_action)["code"]) == (
        404, "ticket.not_found")
    assert (foreign_action_id.status_code, error_of(foreign_action_id)["code"],
            error_of(foreign_action_id)["field"]) == (
        404, "preapproved_action.not_found", "action_id")
    after = await snapshot(db)
    after.pop("preapproved_actions")
    after.pop("audit_events")
    before.pop("preapproved_actions")
    before.pop("audit_events")
    assert after == before


async def test_inactive_actions_and_closed_tickets_refuse_grants(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers, ticket: Ticket,
) -> None:
    action = await make_action(client, admin, is_active=False)
    before = await snapshot(db)

    inactive = await grant(client, agent, ticket.id, action["id"], "5")
    ticket.status = "closed"
    await commit(db)
    closed = await grant(client, agent, ticket.id, action["id"], "5")

    assert (inactive.status_code, error_of(inactive)["code"]) == (409, "grant.action_inactive")
    assert (closed.status_code, error_of(closed)["code"]) == (409, "ticket.closed")
    after = await snapshot(db)
    assert after["grants"] == before["grants"] == []


@pytest.mark.parametrize("role", ["viewer", "analyst"])
async def test_viewers_and_analysts_cannot_grant(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, ticket: Ticket, store: Store,
    make_token: TokenFactory, role: str,
) -> None:
    action = await make_action(client, admin)
    headers = bearer(await make_token(store, Role(role)))
    before = await snapshot(db)

    response = await grant(client, headers, ticket.id, action["id"], "5")

    assert response.status_code == 403
    assert await snapshot(db) == before


async def test_report_totals_per_action_agent_and_kind_per_currency(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers,
    agent_row: Agent, manager: Headers, manager_row: Agent, ticket: Ticket, store: Store,
    make_token: TokenFactory,
) -> None:
    # given refunds in EUR and in KRW, a reship, a pending and an old grant
    euro = await make_action(client, admin)
    won = await make_action(client, admin, name="Won refund", currency="KRW",
                            max_amount="100000")
    reship = await make_action(client, admin, name="Reship", kind="reship", currency=None,
                               max_amount=None)
    await granted(client, agent, ticket.id, euro["id"], "10.50")
    await granted(client, manager, ticket.id, euro["id"], "20")
    await granted(client, agent, ticket.id, won["id"], "15000")
    await granted(client, agent, ticket.id, reship["id"])
    pending = await granted(client, agent, ticket.id, euro["id"], "99")
    assert pending["status"] == "pending_approval"
    old = await granted(client, agent, ticket.id, euro["id"], "1")
    await db.execute(update(Grant).where(Grant.id == old["id"])
                     .values(granted_at=now() - timedelta(days=40)))
    await commit(db)
    period = {"from": (now() - timedelta(days=7)).isoformat(),
              "to": (now() + timedelta(minutes=1)).isoformat()}
    analyst = bearer(await make_token(store, Role.ANALYST))

    # when
    by_action = await client.get(f"{API}/grants/report", params={**period, "group_by": "action"},
                                 headers=analyst)
    by_agent = await client.get(f"{API}/grants/report", params={**period, "group_by": "agent"},
                                headers=manager)
    by_kind = await client.get(f"{API}/grants/report", params={**period, "group_by": "kind"},
                               headers=admin)

    # then
    assert by_action.status_code == 200, by_action.text
    assert [(r["label"], r["currency"], r["count"], r["amount"])
            for r in by_action.json()["rows"]] == [
        ("Refund", "EUR", 2, "30.50"), ("Reship", None, 1, None),
        ("Won refund", "KRW", 1, "15000")]
    totals = [(t["currency"], t["count"], t["amount"]) for t in by_action.json()["totals"]]
    assert totals == [(None, 1, None), ("EUR", 2, "30.50"), ("KRW", 1, "15000")]
    assert [(r["label"], r["currency"], r["count"], r["amount"])
            for r in by_agent.json()["rows"]] == [
        ("Anna Manager", "EUR", 1, "20.00"), ("Jan Kowalski", None, 1, None),
        ("Jan Kowalski", "EUR", 1, "10.50"), ("Jan Kowalski", "KRW", 1, "15000")]
    assert by_agent.json()["rows"][0]["key"] == str(manager_row.id)
    assert [(r["key"], r["currency"], r["amount"]) for r in by_kind.json()["rows"]] == [
        ("refund", "EUR", "30.50"), ("refund", "KRW", "15000"), ("reship", None, None)]


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2026-11-01T00:00:00Z"}, "to"),
    ({"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "to"),
    ({"from": "2026-11-01T00:00:00", "to": "2026-11-02T00:00:00Z"}, "from"),
    ({"from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z", "group_by": "store"},
     "group_by"),
])
async def test_report_refuses_bad_periods(
    client: httpx.AsyncClient, admin: Headers, params: dict[str, str], field: str,
) -> None:
    response = await client.get(f"{API}/grants/report", params=params, headers=admin)

    assert response.status_code == 422
    assert error_of(response)["field"] == field


async def test_agents_cannot_read_the_report(
    client: httpx.AsyncClient, agent: Headers,
) -> None:
    response = await client.get(f"{API}/grants/report", headers=agent, params={
        "from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"})

    assert response.status_code == 403
