"""Every kind of limit, at its exact boundary: within → granted, one step over → an approval
request naming the limit."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.automation.empowerment.models import Grant
from sellerdesk.channels.models import Channel
from sellerdesk.core.clock import now
from sellerdesk.core.db import commit
from sellerdesk.tickets.models import Ticket
from tests.api.support import error_of, snapshot
from tests.empowerment.conftest import Headers, grant, granted, make_action, new_ticket


def limits_of(body: dict[str, object]) -> list[str]:
    exceeded = body["exceeded"]
    assert isinstance(exceeded, list)
    return [e["limit"] for e in exceeded]


async def test_the_actions_max_amount_is_granted_and_a_cent_more_needs_approval(
    client: httpx.AsyncClient, admin: Headers, agent: Headers, ticket: Ticket, store: Store,
    api_channel: tuple[Channel, str], db: AsyncSession,
) -> None:
    # given refunds up to 30 EUR, nothing else limited
    action = await make_action(client, admin)
    other = await new_ticket(client, db, api_channel[1], external_id="ext-2")

    # when an agent grants exactly 30 and then 30.01 on another ticket
    at_limit = await granted(client, agent, ticket.id, action["id"], "30")
    over = await granted(client, agent, other.id, action["id"], "30.01")

    # then
    assert (at_limit["status"], at_limit["amount"], at_limit["currency"]) == (
        "granted", "30.00", "EUR")
    assert at_limit["exceeded"] == []
    assert over["status"] == "pending_approval"
    assert over["exceeded"] == [{"limit": "max_amount",
                                 "message": "'Refund' goes up to 30.00 EUR; asked 30.01 EUR"}]
    assert over["granted_at"] is None


async def test_role_limits_replace_the_max_amount_per_role(
    client: httpx.AsyncClient, admin: Headers, agent: Headers, manager: Headers,
    ticket: Ticket,
) -> None:
    # given agents up to 30 EUR, managers up to 200 EUR
    action = await make_action(client, admin, max_amount="30", limits=[
        {"kind": "role", "role": "agent", "max_amount": "30"},
        {"kind": "role", "role": "manager", "max_amount": "200"}])

    # when
    agent_30 = await granted(client, agent, ticket.id, action["id"], "30.00")
    agent_31 = await granted(client, agent, ticket.id, action["id"], "30.01")
    manager_200 = await granted(client, manager, ticket.id, action["id"], "200")
    manager_over = await granted(client, manager, ticket.id, action["id"], "200.01")

    # then
    assert agent_30["status"] == "granted"
    assert agent_31["status"] == "pending_approval"
    assert agent_31["exceeded"] == [{
        "limit": "role", "message": "agents may grant at most 30.00 EUR at once; asked "
                                    "30.01 EUR"}]
    assert manager_200["status"] == "granted"
    assert manager_200["role"] == "manager"
    assert manager_over["status"] == "pending_approval"
    assert limits_of(manager_over) == ["role"]


async def test_a_role_limit_without_amount_makes_every_grant_of_that_role_a_request(
    client: httpx.AsyncClient, admin: Headers, agent: Headers, manager: Headers,
    ticket: Ticket,
) -> None:
    action = await make_action(client, admin, name="One free month", kind="credit",
                               currency=None, max_amount=None,
                               limits=[{"kind": "role", "role": "agent"}])

    by_agent = await granted(client, agent, ticket.id, action["id"])
    by_manager = await granted(client, manager, ticket.id, action["id"])

    assert by_agent["status"] == "pending_approval"
    assert by_agent["exceeded"] == [{"limit": "role", "message": "agents need approval for "
                                                                 "every 'One free month'"}]
    assert by_manager["status"] == "granted"
    assert by_manager["amount"] is None


async def test_per_ticket_count_reship_once(
    client: httpx.AsyncClient, admin: Headers, agent: Headers, agent2: Headers,
    ticket: Ticket, api_channel: tuple[Channel, str], db: AsyncSession,
) -> None:
    # given reship once per ticket
    action = await make_action(client, admin, name="Reship", kind="reship", currency=None,
                               max_amount=None, limits=[{"kind": "ticket", "count": 1}])
    other = await new_ticket(client, db, api_channel[1], external_id="ext-2")

    # when: once here, again here (another agent), once on another ticket
    first = await granted(client, agent, ticket.id, action["id"])
    second = await granted(client, agent2, ticket.id, action["id"])
    elsewhere = await granted(client, agent, other.id, action["id"])

    # then
    assert first["status"] == "granted"
    assert second["status"] == "pending_approval"
    assert second["exceeded"] == [{"limit": "ticket",
                                   "message": "at most 1 'Reship' on this ticket; 1 granted "
                                              "already"}]
    assert elsewhere["status"] == "granted"


async def test_per_ticket_amount_counts_what_was_granted(
    client: httpx.AsyncClient, admin: Headers, agent: Headers, ticket: Ticket,
) -> None:
    action = await make_action(client, admin, limits=[{"kind": "ticket", "amount": "50"}])

    first = await granted(client, agent, ticket.id, action["id"], "30")
    exactly = await granted(client, agent, ticket.id, action["id"], "20")
    over = await granted(client, agent, ticket.id, action["id"], "0.01")

    assert [first["status"], exactly["status"]] == ["granted", "granted"]
    assert over["status"] == "pending_approval"
    assert over["exceeded"] == [{"limit": "ticket",
                                 "message": "at most 50.00 EUR on this ticket; 50.00 EUR "
                                            "granted already, asked 0.01 EUR"}]


async def test_pending_and_declined_requests_do_not_count(
    client: httpx.AsyncClient, admin: Headers, agent: Headers, manager: Headers,
    ticket: Ticket,
) -> None:
    action = await make_action(client, admin, limits=[{"kind": "ticket", "count": 1}])
    pending = await granted(client, agent, ticket.id, action["id"], "31")
    assert pending["status"] == "pending_approval"
    declined = await client.post(f"/api/v1/approvals/{pending['id']}/decline",
                                 json={"reason": "Too much"}, headers=manager)
    assert declined.status_code == 200

    within = await granted(client, agent, ticket.id, action["id"], "10")

    assert within["status"] == "granted"


async def test_per_customer_per_period_at_most_two_in_30_days(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers,
    api_channel: tuple[Channel, str],
) -> None:
    # given at most 2 refunds per customer in 30 days, and three tickets of one customer
    action = await make_action(client, admin, limits=[
        {"kind": "customer", "count": 2, "period_days": 30}])
    tickets = [await new_ticket(client, db, api_channel[1], external_id=f"ext-{n}",
                                thread_key=f"order:{n}") for n in range(4)]
    assert len({t.customer_id for t in tickets}) == 1
    someone_else = await new_ticket(client, db, api_channel[1], external_id="ext-jan",
                                    **{"from": {"name": "Jan", "email": "jan@example.pl"}})

    # when two are granted, a third is asked for, and another customer asks
    results = [await granted(client, agent, t.id, action["id"], "5") for t in tickets[:3]]
    other = await granted(client, agent, someone_else.id, action["id"], "5")

    # then
    assert [r["status"] for r in results] == ["granted", "granted", "pending_approval"]
    assert results[2]["exceeded"] == [{
        "limit": "customer",
        "message": "at most 2 'Refund' to this customer in 30 days; 2 granted already"}]
    assert other["status"] == "granted"

    # when the older grant is exactly 30 days old, it has left the window
    first_id = results[0]["id"]
    await db.execute(update(Grant).where(Grant.id == first_id)
                     .values(granted_at=now() - timedelta(days=30)))
    await commit(db)
    again = await granted(client, agent, tickets[3].id, action["id"], "5")
    assert again["status"] == "granted"


async def test_per_customer_window_boundary_is_exact(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers,
    api_channel: tuple[Channel, str],
) -> None:
    # given one grant per customer per day, granted 23:59 hours ago
    action = await make_action(client, admin, limits=[
        {"kind": "customer", "count": 1, "period_days": 1}])
    first, second = [await new_ticket(client, db, api_channel[1], external_id=f"e-{n}",
                                      thread_key=f"order:{n}") for n in range(2)]
    done = await granted(client, agent, first.id, action["id"], "1")
    await db.execute(update(Grant).where(Grant.id == done["id"])
                     .values(granted_at=now() - timedelta(hours=23, minutes=59)))
    await commit(db)

    # when / then: still inside the day
    assert (await granted(client, agent, second.id, action["id"], "1"))["status"] == (
        "pending_approval")


async def test_per_agent_per_period_amount(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers,
    agent2: Headers, api_channel: tuple[Channel, str],
) -> None:
    # given at most 500 EUR per agent per day, a single grant up to 300
    action = await make_action(client, admin, max_amount="300", limits=[
        {"kind": "agent", "amount": "500", "period_days": 1}])
    tickets = [await new_ticket(client, db, api_channel[1], external_id=f"a-{n}",
                                **{"from": {"email": f"c{n}@example.pl"}}) for n in range(5)]

    # when one agent grants 300 + 200 (= 500), then 0.01 more; the other agent grants 300
    results = [await granted(client, agent, tickets[0].id, action["id"], "300"),
               await granted(client, agent, tickets[1].id, action["id"], "200"),
               await granted(client, agent, tickets[2].id, action["id"], "0.01"),
               await granted(client, agent2, tickets[3].id, action["id"], "300")]

    # then
    assert [r["status"] for r in results] == [
        "granted", "granted", "pending_approval", "granted"]
    assert results[2]["exceeded"] == [{
        "limit": "agent", "message": "at most 500.00 EUR by you in 1 day; 500.00 EUR granted "
                                     "already, asked 0.01 EUR"}]

    # when yesterday's grants leave the window (more than a day ago)
    await db.execute(update(Grant).where(Grant.id.in_([results[0]["id"], results[1]["id"]]))
                     .values(granted_at=now() - timedelta(days=1, seconds=1)))
    await commit(db)
    assert (await granted(client, agent, tickets[4].id, action["id"], "500"))["status"] == (
        "pending_approval")  # 500 > the single-grant max of 300
    assert (await granted(client, agent, tickets[4].id, action["id"], "300"))["status"] == (
        "granted")


async def test_per_agent_count_and_several_limits_are_all_named(
    client: httpx.AsyncClient, admin: Headers, agent: Headers, ticket: Ticket,
) -> None:
    action = await make_action(client, admin, limits=[
        {"kind": "agent", "count": 1, "period_days": 7}, {"kind": "ticket", "count": 1}])
    await granted(client, agent, ticket.id, action["id"], "1")

    over = await granted(client, agent, ticket.id, action["id"], "31")

    assert limits_of(over) == ["max_amount", "agent", "ticket"]
    assert over["exceeded"][1]["message"] == ("at most 1 'Refund' by you in 7 days; 1 granted "
                                              "already")


async def test_amounts_are_checked_against_the_currency(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers,
    ticket: Ticket,
) -> None:
    euro = await make_action(client, admin)
    won = await make_action(client, admin, name="Won refund", currency="KRW",
                            max_amount="50000")
    reship = await make_action(client, admin, name="Reship", kind="reship", currency=None,
                               max_amount=None)
    before = await snapshot(db)

    cases = [
        (euro["id"], "10.001", "grant.invalid_amount"),
        (euro["id"], "0", "grant.invalid_amount"),
        (euro["id"], "-5", "grant.invalid_amount"),
        (euro["id"], None, "grant.amount_required"),
        (won["id"], "100.5", "grant.invalid_amount"),
        (reship["id"], "5", "grant.amount_not_allowed"),
    ]
    for action_id, amount, code in cases:
        response = await grant(client, agent, ticket.id, action_id, amount)
        assert response.status_code == 422, (amount, response.text)
        assert (error_of(response)["code"], error_of(response)["field"]) == (code, "amount")
    assert await snapshot(db) == before
    ok = await granted(client, agent, ticket.id, won["id"], "50000")
    assert (ok["status"], ok["amount"], ok["currency"]) == ("granted", "50000", "KRW")
    stored = await db.scalar(select(Grant.amount).where(Grant.id == ok["id"]))
    assert stored == 50000
