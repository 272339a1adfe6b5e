"""Walking a tree from a ticket: each outcome kind applied through its own path, the path
recorded on the walk and in the audit trail, and a walk kept on its version."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Agent, Store, Team
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.empowerment.models import Grant, TreeWalk
from sellerdesk.automation.macros.models import Macro
from sellerdesk.channels.models import Channel
from sellerdesk.core.db import commit
from sellerdesk.tickets.models import AuditEvent, Ticket
from tests.api.support import API, error_of, snapshot
from tests.conftest import TokenFactory, bearer
from tests.empowerment.conftest import Headers, make_action, new_ticket, outbound
from tests.empowerment.trees_support import nodes


@pytest.fixture
async def team(db: AsyncSession, store: Store) -> Team:
    return await accounts.create_team(db, store_id=store.id, name="Returns")


@pytest.fixture
async def tree(client: httpx.AsyncClient, admin: Headers, notify_macro: Macro, team: Team
               ) -> dict[str, Any]:
    action = await make_action(client, admin, macro_id=notify_macro.id)
    response = await client.post(f"{API}/escalation-trees", headers=admin, json={
        "name": "Damaged parcel",
        "nodes": nodes(macro_id=notify_macro.id, action_id=action["id"], team_id=team.id)})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def start(client: httpx.AsyncClient, headers: Headers, ticket_id: int, tree_id: int
                ) -> httpx.Response:
    return await client.post(f"{API}/tickets/{ticket_id}/walks", json={"tree_id": tree_id},
                             headers=headers)


async def answer(client: httpx.AsyncClient, headers: Headers, walk_id: int, answer_id: str,
                 **extra: Any) -> httpx.Response:
    return await client.post(f"{API}/walks/{walk_id}/answer",
                             json={"answer": answer_id, **extra}, headers=headers)


async def walk_actions(db: AsyncSession, walk_id: int) -> list[str]:
    rows = await db.execute(select(AuditEvent.action).where(
        AuditEvent.entity_type == "walk", AuditEvent.entity_id == walk_id)
        .order_by(AuditEvent.id))
    return list(rows.scalars())


async def test_a_walk_starts_at_the_root_in_the_agents_language(
    client: httpx.AsyncClient, agent: Headers, agent_row: Agent, ticket: Ticket,
    tree: dict[str, Any], admin: Headers,
) -> None:
    response = await start(client, agent, ticket.id, tree["id"])

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["status"], body["tree_version"], body["started_by_id"], body["language"]) == (
        "in_progress", 1, agent_row.id, "pl")
    assert body["current"] == {"id": "start", "kind": "question", "text": "Co jest nie tak?",
                               "outcome": None,
                               "answers": [{"id": "damaged", "label": "Uszkodzone"},
                                           {"id": "late", "label": "Spóźnione"},
                                           {"id": "other", "label": "Something else"}]}
    # a token without an agent reads the store's language (English)
    as_admin = await client.get(f"{API}/walks/{body['id']}", headers=admin)
    assert (as_admin.json()["language"], as_admin.json()["current"]["text"]) == (
        "en", "What is wrong?")


async def test_walk_to_an_action_grants_it_and_tells_the_customer(
    client: httpx.AsyncClient, db: AsyncSession, agent: Headers, agent_row: Agent,
    ticket: Ticket, tree: dict[str, Any],
) -> None:
    walk = (await start(client, agent, ticket.id, tree["id"])).json()

    step = await answer(client, agent, walk["id"], "damaged")
    done = await answer(client, agent, walk["id"], "yes", amount="12.00",
                        reason="Photo in the thread")

    assert step.json()["current"]["id"] == "photo"
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["current"]["id"]) == ("completed", "refund")
    assert [(s["node"], s["answer"], s["label"], s["by"]) for s in body["path"]] == [
        ("start", "damaged", "Damaged", {"type": "agent", "id": agent_row.id}),
        ("photo", "yes", "Yes", {"type": "agent", "id": agent_row.id})]
    assert body["path"][0]["question"] == "What is wrong?"
    assert body["finished_at"] is not None
    grant = await db.scalar(select(Grant).where(Grant.walk_id == walk["id"]))
    assert grant is not None
    assert (grant.status, grant.amount, grant.agent_id) == ("granted", 1200, agent_row.id)
    assert grant.reason == ("Photo in the thread. Escalation tree 'Damaged parcel' (v1): "
                            "What is wrong? → Damaged; Is there a photo of the damage? → Yes")
    assert body["outcome"] == {"node": "refund", "type": "action", "grant_id": grant.id,
                               "grant_status": "granted", "message_id": grant.message_id}
    [reply] = await outbound(db, ticket.id)
    assert reply.id == grant.message_id
    assert await walk_actions(db, walk["id"]) == [
        "walk.started", "walk.answered", "walk.answered", "walk.completed"]
    completed = await db.scalar(select(AuditEvent).where(AuditEvent.action == "walk.completed"))
    assert completed is not None
    assert completed.after is not None
    assert completed.after["path"] == ["start:damaged", "photo:yes"]
    assert completed.ticket_id == ticket.id


async def test_walk_to_an_action_over_the_limit_becomes_an_approval_request(
    client: httpx.AsyncClient, db: AsyncSession, agent: Headers, ticket: Ticket,
    tree: dict[str, Any], manager: Headers,
) -> None:
    walk = (await start(client, agent, ticket.id, tree["id"])).json()
    await answer(client, agent, walk["id"], "damaged")

    done = await answer(client, agent, walk["id"], "yes", amount="45")

    assert done.json()["outcome"]["grant_status"] == "pending_approval"
    assert await outbound(db, ticket.id) == []
    pending = (await client.get(f"{API}/approvals", params={"status": "pending"},
                                headers=manager)).json()
    assert [p["walk_id"] for p in pending] == [walk["id"]]


async def test_an_action_outcome_without_an_amount_asks_for_one_and_changes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, agent: Headers, ticket: Ticket,
    tree: dict[str, Any],
) -> None:
    walk = (await start(client, agent, ticket.id, tree["id"])).json()
    await answer(client, agent, walk["id"], "damaged")
    before = await snapshot(db)

    response = await answer(client, agent, walk["id"], "yes")

    assert (response.status_code, error_of(response)["code"], error_of(response)["field"]) == (
        422, "grant.amount_required", "amount")
    assert await snapshot(db) == before
    assert (await client.get(f"{API}/walks/{walk['id']}", headers=agent)
            ).json()["current"]["id"] == "photo"


async def test_walk_to_resolve_sends_the_macro(
    client: httpx.AsyncClient, db: AsyncSession, agent: Headers, ticket: Ticket,
    tree: dict[str, Any],
) -> None:
    walk = (await start(client, agent, ticket.id, tree["id"])).json()
    await answer(client, agent, walk["id"], "damaged")

    done = await answer(client, agent, walk["id"], "no")

    [reply] = await outbound(db, ticket.id)
    assert reply.text == "Dzień dobry Ewa, zwrot zatwierdzony. Acme Shop"
    assert done.json()["outcome"] == {"node": "ask_photo", "type": "resolve",
                                      "message_id": reply.id}
    assert await db.scalar(select(Grant.id)) is None


async def test_walk_to_escalate_sets_team_and_priority(
    client: httpx.AsyncClient, db: AsyncSession, agent: Headers, ticket: Ticket,
    tree: dict[str, Any], team: Team,
) -> None:
    walk = (await start(client, agent, ticket.id, tree["id"])).json()

    done = await answer(client, agent, walk["id"], "late")

    assert done.json()["outcome"] == {"node": "escalate", "type": "escalate",
                                      "changes": {"team_id": team.id, "priority": "high"}}
    fresh = await db.get(Ticket, ticket.id, populate_existing=True)
    assert fresh is not None
    assert (fresh.team_id, fresh.priority) == (team.id, "high")
    updated = await db.scalar(select(AuditEvent).where(AuditEvent.action == "ticket.updated",
                                                       AuditEvent.ticket_id == ticket.id))
    assert updated is not None
    assert updated.after == {"team_id": team.id, "priority": "high"}


async def test_walk_to_advice_changes_nothing_on_the_ticket(
    client: httpx.AsyncClient, db: AsyncSession, agent: Headers, ticket: Ticket,
    tree: dict[str, Any],
) -> None:
    walk = (await start(client, agent, ticket.id, tree["id"])).json()

    done = await answer(client, agent, walk["id"], "other")

    body = done.json()
    assert (body["status"], body["current"]["text"], body["outcome"]) == (
        "completed", "Najpierw sprawdź FAQ.", {"node": "tip", "type": "advice"})
    assert await outbound(db, ticket.id) == []
    fresh = await db.get(Ticket, ticket.id, populate_existing=True)
    assert fresh is not None
    assert (fresh.team_id, fresh.priority) == (None, "normal")


async def test_a_walk_keeps_its_version_when_the_tree_is_edited(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers,
    ticket: Ticket, tree: dict[str, Any], api_channel: tuple[Channel, str],
) -> None:
    # given a walk on version 1 at the first question
    walk = (await start(client, agent, ticket.id, tree["id"])).json()
    # when the tree is edited: "late" now leads to advice, and the escalation is gone
    edited = [n for n in tree["nodes"] if n["id"] != "escalate"]
    edited[0]["answers"][1]["next"] = "tip"
    response = await client.patch(f"{API}/escalation-trees/{tree['id']}", headers=admin,
                                  json={"nodes": edited})
    assert response.json()["version"] == 2

    # then the walk in progress follows version 1, and a new walk version 2
    done = await answer(client, agent, walk["id"], "late")
    assert (done.json()["tree_version"], done.json()["outcome"]["type"]) == (1, "escalate")
    other = await new_ticket(client, db, api_channel[1], external_id="ext-2")
    second = (await start(client, agent, other.id, tree["id"])).json()
    done2 = await answer(client, agent, second["id"], "late")
    assert (done2.json()["tree_version"], done2.json()["outcome"]["type"]) == (2, "advice")
    row = await db.get(TreeWalk, walk["id"])
    assert row is not None
    assert [n["id"] for n in row.snapshot["nodes"]][4] == "escalate"


async def test_bad_answers_finished_walks_and_inactive_trees(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers,
    ticket: Ticket, tree: dict[str, Any],
) -> None:
    walk = (await start(client, agent, ticket.id, tree["id"])).json()
    before = await snapshot(db)
    unknown = await answer(client, agent, walk["id"], "maybe")
    assert (unknown.status_code, error_of(unknown)["code"], error_of(unknown)["field"]) == (
        422, "walk.unknown_answer", "answer")
    assert "damaged, late, other" in error_of(unknown)["message"]
    assert await snapshot(db) == before

    await answer(client, agent, walk["id"], "other")
    finished = await answer(client, agent, walk["id"], "other")
    assert (finished.status_code, error_of(finished)["code"]) == (409, "walk.finished")

    walked = await client.delete(f"{API}/escalation-trees/{tree['id']}", headers=admin)
    assert (walked.status_code, error_of(walked)["code"]) == (409, "tree.in_use")
    await client.patch(f"{API}/escalation-trees/{tree['id']}", headers=admin,
                       json={"is_active": False})
    inactive = await start(client, agent, ticket.id, tree["id"])
    assert (inactive.status_code, error_of(inactive)["code"]) == (409, "tree.inactive")
    ticket.status = "closed"
    await commit(db)
    listed = await client.get(f"{API}/tickets/{ticket.id}/walks", headers=agent)
    assert [w["id"] for w in listed.json()] == [walk["id"]]


async def test_an_outcome_whose_macro_was_deleted_is_refused_and_the_walk_stays(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers,
    ticket: Ticket, tree: dict[str, Any], notify_macro: Macro,
) -> None:
    walk = (await start(client, agent, ticket.id, tree["id"])).json()
    await answer(client, agent, walk["id"], "damaged")
    await client.delete(f"{API}/macros/{notify_macro.id}", headers=admin)
    before = await snapshot(db)

    response = await answer(client, agent, walk["id"], "no")

    assert (response.status_code, error_of(response)["code"]) == (409,
                                                                  "walk.outcome_unavailable")
    assert await snapshot(db) == before


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ANALYST])
async def test_viewers_and_analysts_do_not_walk(
    client: httpx.AsyncClient, db: AsyncSession, agent: Headers, ticket: Ticket,
    tree: dict[str, Any], store: Store, make_token: TokenFactory, role: Role,
) -> None:
    walk = (await start(client, agent, ticket.id, tree["id"])).json()
    headers = bearer(await make_token(store, role))
    before = await snapshot(db)

    started = await start(client, headers, ticket.id, tree["id"])
    answered = await answer(client, headers, walk["id"], "other")

    assert [started.status_code, answered.status_code] == [403, 403]
    assert await snapshot(db) == before
    assert (await client.get(f"{API}/walks/{walk['id']}", headers=headers)).status_code == 200


async def test_another_stores_walks_trees_and_tickets_are_404(
    client: httpx.AsyncClient, db: AsyncSession, agent: Headers, ticket: Ticket,
    tree: dict[str, Any], other_admin: Headers, other_channel: tuple[Channel, str],
) -> None:
    walk = (await start(client, agent, ticket.id, tree["id"])).json()
    theirs = await new_ticket(client, db, other_channel[1], external_id="theirs")
    before = await snapshot(db)

    responses = {
        "walk.not_found": [
            await client.get(f"{API}/walks/{walk['id']}", headers=other_admin),
            await answer(client, other_admin, walk["id"], "other")],
        "ticket.not_found": [
            await start(client, other_admin, ticket.id, tree["id"]),
            await client.get(f"{API}/tickets/{ticket.id}/walks", headers=other_admin)],
        "tree.not_found": [await start(client, other_admin, theirs.id, tree["id"])],
    }

    for code, answers in responses.items():
        for response in answers:
            assert (response.status_code, error_of(response)["code"]) == (404, code)
    assert await snapshot(db) == before
