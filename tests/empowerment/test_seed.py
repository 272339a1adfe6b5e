"""The default tree from the ABCD retailer guidelines: read from the packaged JSON, the
same every time, valid, and walkable to a refund, a store credit and an escalation."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Agent, Store, Team
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.empowerment import seed
from sellerdesk.automation.empowerment.models import EscalationTree, PreApprovedAction
from sellerdesk.core.errors import Conflict
from sellerdesk.tickets.models import Ticket
from tests.api.support import API, error_of, snapshot
from tests.empowerment.conftest import Headers, outbound

DATA = resources.files("sellerdesk.automation.empowerment") / "data"


def data(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


REFS = seed.Refs(refund_action=1, credit_action=2, refused_macro=3,
                 escalate_to={"assignee_id": 4})


def test_the_data_files_and_their_license_are_packaged() -> None:
    license_text = (DATA / "LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in license_text
    assert "ASAPP Research" in license_text
    assert "asappresearch/abcd" in (DATA / "SOURCE.txt").read_text(encoding="utf-8")
    assert "ABCD" in (seed.__doc__ or "")


def test_membership_privileges_are_read_from_the_guidelines() -> None:
    privileges = seed.parse_privileges(data("guidelines.json"),
                                       data("ontology.json")["values"]["enumerable"]
                                       ["membership_level"])

    assert privileges == [
        seed.Privilege("gold", unlimited=True, window=None, receipt=False, packaging=False),
        seed.Privilege("silver", unlimited=False, window=(6, "months"), receipt=True,
                       packaging=True),
        seed.Privilege("bronze", unlimited=False, window=(90, "days"), receipt=True,
                       packaging=True),
        seed.Privilege("guest", unlimited=False, window=(30, "days"), receipt=True,
                       packaging=False),
    ]
    assert seed.parse_refund_methods(data("guidelines.json")) == [
        "Gift card", "Add value", "Paper check", "Credit card"]


def test_the_same_files_build_the_same_nodes() -> None:
    first = seed.build_nodes(data("guidelines.json"), data("ontology.json"), REFS)
    second = seed.build_nodes(data("guidelines.json"), data("ontology.json"), REFS)

    assert first == second
    ids = [n["id"] for n in first]
    assert ids[:3] == ["request", "membership", "silver_window"]
    assert "gold_window" not in ids  # gold members return without conditions
    assert "guest_packaging" not in ids  # guests have no packaging rule
    guest = next(n for n in first if n["id"] == "guest_window")
    assert guest["text"] == {"en": "Was the item bought within the last 30 days?",
                             "ko": "최근 30일 이내에 구매한 상품인가요?",
                             "pl": "Czy towar kupiono w ciągu ostatnich 30 dni?"}
    silver = next(n for n in first if n["id"] == "silver_window")
    assert silver["text"]["pl"] == "Czy towar kupiono w ciągu ostatnich 6 miesięcy?"
    assert all(set(n["text"]) == {"en", "ko", "pl"} for n in first)


def test_changed_guidelines_are_refused_not_guessed() -> None:
    guidelines = copy.deepcopy(data("guidelines.json"))
    step = next(a for a in guidelines["Product Defect"]["subflows"]["Return Due to Size"]
                ["actions"] if a["button"] == "Membership Privileges")
    step["subtext"][0] = "Gold members: > Gold members get 10 returns a year"

    with pytest.raises(seed.SeedDataError, match="different membership privileges"):
        seed.build_nodes(guidelines, data("ontology.json"), REFS)


async def test_install_creates_a_valid_tree_with_its_actions(
    db: AsyncSession, store: Store,
) -> None:
    manager = await accounts.create_agent(db, store_id=store.id, email="m@acme.example",
                                          name="M", role=Role.MANAGER)

    tree = await seed.install_default_tree(db, store_id=store.id)

    assert (tree.name, tree.version, tree.definition["root"]) == (seed.TREE_NAME, 1, "request")
    assert len(tree.definition["nodes"]) == 17
    actions = {a.name: a for a in (await db.execute(select(PreApprovedAction).where(
        PreApprovedAction.store_id == store.id))).scalars()}
    assert sorted(actions) == ["Refund", "Reship", "Store credit"]
    refund = actions["Refund"]
    assert (refund.currency, refund.max_amount, refund.limits) == ("EUR", 3000, [
        {"kind": "role", "role": "agent", "max_amount": 3000},
        {"kind": "role", "role": "manager", "max_amount": 20000},
        {"kind": "customer", "count": 2, "period_days": 30}])
    assert actions["Reship"].limits == [{"kind": "ticket", "count": 1}]
    escalate = next(n for n in tree.definition["nodes"] if n["id"] == "escalate_manager")
    assert escalate["outcome"] == {"type": "escalate", "assignee_id": manager.id,
                                   "priority": "high"}
    with pytest.raises(Conflict):
        await seed.install_default_tree(db, store_id=store.id)


async def test_a_store_without_managers_escalates_to_a_new_team(
    db: AsyncSession, store: Store,
) -> None:
    tree = await seed.install_default_tree(db, store_id=store.id)

    team = await db.scalar(select(Team).where(Team.store_id == store.id))
    assert team is not None
    assert team.name == "Escalations"
    escalate = next(n for n in tree.definition["nodes"] if n["id"] == "escalate_manager")
    assert escalate["outcome"]["team_id"] == team.id


async def test_the_seeded_tree_walks_to_a_refund_and_to_store_credit(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, agent: Headers,
    agent_row: Agent, ticket: Ticket,
) -> None:
    tree = await seed.install_default_tree(db, store_id=store.id)

    async def walk(answers: list[str], **last: Any) -> dict[str, Any]:
        started = await client.post(f"{API}/tickets/{ticket.id}/walks",
                                    json={"tree_id": tree.id}, headers=agent)
        assert started.status_code == 201, started.text
        body: dict[str, Any] = started.json()
        for i, answer in enumerate(answers):
            extra = last if i == len(answers) - 1 else {}
            response = await client.post(f"{API}/walks/{body['id']}/answer",
                                         json={"answer": answer, **extra}, headers=agent)
            assert response.status_code == 200, response.text
            body = response.json()
        return body

    # a bronze member with a receipt, refunded to the card: within the agent's 30 EUR
    refund = await walk(["return", "bronze", "no", "yes", "credit_card"], amount="29.99")
    # a gold member who wants a gift card
    credit = await walk(["return", "gold", "gift_card"], amount="15")
    # a guest past 30 days without a receipt who does not accept it: to the manager
    escalated = await walk(["return", "guest", "no", "no", "no"])

    assert refund["outcome"]["grant_status"] == "granted"
    assert [s["answer"] for s in refund["path"]] == ["return", "bronze", "no", "yes",
                                                     "credit_card"]
    assert refund["path"][2]["question"] == "Was the item bought within the last 90 days?"
    assert credit["current"]["id"] == "store_credit"
    assert credit["outcome"]["grant_status"] == "granted"
    assert escalated["outcome"]["type"] == "escalate"
    fresh = await db.get(Ticket, ticket.id, populate_existing=True)
    assert fresh is not None
    assert fresh.priority == "high"
    texts = [m.text for m in await outbound(db, ticket.id)]
    assert len(texts) == 2
    assert texts[0].startswith("Dzień dobry Ewa,\n\nzatwierdziliśmy zwrot pieniędzy.")
    assert texts[1].startswith("Dzień dobry Ewa,\n\ndodaliśmy środki")
    assert await db.scalar(select(func.count()).select_from(EscalationTree)) == 1


async def test_an_admin_installs_the_default_tree_once_through_the_api(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers,
) -> None:
    first = await client.post(f"{API}/escalation-trees/defaults", headers=admin)
    before = await snapshot(db)
    again = await client.post(f"{API}/escalation-trees/defaults", headers=admin)
    by_agent = await client.post(f"{API}/escalation-trees/defaults", headers=agent)

    assert first.status_code == 201, first.text
    assert (first.json()["name"], first.json()["root"]) == (seed.TREE_NAME, "request")
    assert (again.status_code, error_of(again)["code"]) == (409, "tree.default_exists")
    assert by_agent.status_code == 403
    assert await snapshot(db) == before
