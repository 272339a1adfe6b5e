"""Pre-approved actions and escalation trees from the ticket page, and the approval queue."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Agent, Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.empowerment.models import Grant, TreeWalk
from tests.api.support import API, inbound
from tests.web.support import PASSWORD, sign_in

REFUND = {"name": "Zwrot do 30 EUR", "kind": "refund", "currency": "EUR", "max_amount": "30.00",
          "limits": [{"kind": "role", "role": "agent", "max_amount": "30.00"}]}
TREE = {"name": "Uszkodzona paczka", "nodes": [
    {"id": "photo", "kind": "question", "text": {"pl": "Czy jest zdjęcie?", "en": "Photo?"},
     "answers": [{"id": "yes", "label": {"pl": "Tak", "en": "Yes"}, "next": "escalate"},
                 {"id": "no", "label": {"pl": "Nie", "en": "No"}, "next": "ask"}]},
    {"id": "escalate", "kind": "outcome", "text": {"pl": "Do kierownika", "en": "Manager"},
     "outcome": {"type": "escalate", "assignee_id": "{manager}", "priority": "high"}},
    {"id": "ask", "kind": "outcome", "text": {"pl": "Poproś o zdjęcie", "en": "Ask"},
     "outcome": {"type": "advice"}}]}


async def _setup(client: httpx.AsyncClient, admin: dict[str, str],
                 api_channel: tuple[object, str], assignee_id: int
                 ) -> tuple[int, int, int]:
    ticket = await inbound(client, api_channel[1], external_id="empower-1",
                           subject="Uszkodzona paczka", text="Kubek przyszedł pęknięty.")
    action = await client.post(f"{API}/pre-approved-actions", json=REFUND, headers=admin)
    definition = json.loads(json.dumps(TREE).replace('"{manager}"', str(assignee_id)))
    tree = await client.post(f"{API}/escalation-trees", json=definition, headers=admin)
    assert action.status_code == tree.status_code == 201, (action.text, tree.text)
    return int(ticket["ticket_id"]), action.json()["id"], tree.json()["id"]


async def test_an_agent_grants_within_the_limit_from_the_ticket(
    browser: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], agent: Agent,
    api_channel: tuple[object, str]
) -> None:
    ticket_id, action_id, _ = await _setup(browser, admin, api_channel, agent.id)

    panel = await browser.get(f"/tickets/{ticket_id}/empower")
    done = await browser.post(f"/tickets/{ticket_id}/empower/grants", data={
        "action_id": str(action_id), "amount": "12,50", "reason": "Pęknięty kubek"})

    assert panel.status_code == 200
    assert "Zwrot do 30 EUR" in panel.text
    assert done.status_code == 200
    assert "Przyznano" in done.text
    grant = (await db.execute(select(Grant))).scalar_one()
    assert (grant.status, grant.amount, grant.agent_id) == ("granted", 1250, agent.id)


async def test_above_the_limit_goes_to_a_manager_who_approves(
    browser: httpx.AsyncClient, db: AsyncSession, store: Store, admin: dict[str, str], agent: Agent,
    api_channel: tuple[object, str]
) -> None:
    ticket_id, action_id, _ = await _setup(browser, admin, api_channel, agent.id)
    asked = await browser.post(f"/tickets/{ticket_id}/empower/grants", data={
        "action_id": str(action_id), "amount": "45", "reason": "Cały serwis"})
    assert "kierownikowi" in asked.text
    grant = (await db.execute(select(Grant))).scalar_one()
    assert grant.status == "pending_approval"

    # An agent may not open the queue; a manager approves there.
    assert (await browser.get("/approvals")).status_code == 403
    manager = await accounts.create_agent(db, store_id=store.id, email="szef@acme.test",
                                          name="Szef", role=Role.MANAGER, password=PASSWORD,
                                          language="pl")
    browser.cookies.clear()
    del browser.headers["X-CSRF-Token"]
    browser.headers["X-CSRF-Token"] = await sign_in(browser, manager.email)
    queue = await browser.get("/approvals")
    refused = await browser.post(f"/approvals/{grant.id}", data={"decision": "decline"})
    approved = await browser.post(f"/approvals/{grant.id}", data={"decision": "approve"})

    assert f'id="approval-{grant.id}"' in queue.text
    assert "Napisz, dlaczego" in refused.text
    assert approved.status_code == 200
    await db.refresh(grant)
    assert (grant.status, grant.decided_by_id) == ("granted", manager.id)


async def test_an_agent_walks_a_tree_and_the_path_is_kept(
    browser: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], agent: Agent,
    api_channel: tuple[object, str]
) -> None:
    ticket_id, _, tree_id = await _setup(browser, admin, api_channel, agent.id)

    started = await browser.post(f"/tickets/{ticket_id}/empower/walks",
                                 data={"tree_id": str(tree_id)})
    walk = (await db.execute(select(TreeWalk))).scalar_one()
    answered = await browser.post(f"/tickets/{ticket_id}/empower/walks/{walk.id}",
                                  data={"answer": "yes"})

    assert "Czy jest zdjęcie?" in started.text
    assert answered.status_code == 200
    await db.refresh(walk)
    assert walk.status == "completed"
    assert [s["answer"] for s in walk.path] == ["yes"]
    ticket = (await browser.get(f"{API}/tickets/{ticket_id}")).json()
    assert (ticket["priority"], ticket["assignee_id"]) == ("high", agent.id)


async def test_another_stores_ticket_is_not_found(
    browser: httpx.AsyncClient, db: AsyncSession, other_store: Store,
    other_channel: tuple[object, str], admin: dict[str, str], agent: Agent,
    api_channel: tuple[object, str]
) -> None:
    _, action_id, _ = await _setup(browser, admin, api_channel, agent.id)
    foreign = await inbound(browser, other_channel[1], external_id="other-1", text="Hej")

    panel = await browser.get(f"/tickets/{foreign['ticket_id']}/empower")
    grant = await browser.post(f"/tickets/{foreign['ticket_id']}/empower/grants", data={
        "action_id": str(action_id), "amount": "5", "reason": "x"})

    assert panel.status_code == grant.status_code == 404
    assert (await db.execute(select(Grant))).first() is None


async def test_a_bad_amount_is_refused_in_polish_and_nothing_is_granted(
    browser: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], agent: Agent,
    api_channel: tuple[object, str]
) -> None:
    ticket_id, action_id, _ = await _setup(browser, admin, api_channel, agent.id)

    response = await browser.post(f"/tickets/{ticket_id}/empower/grants", data={
        "action_id": str(action_id), "amount": "dużo", "reason": "x"})

    assert "Podaj kwotę" in response.text
    assert (await db.execute(select(Grant))).first() is None
