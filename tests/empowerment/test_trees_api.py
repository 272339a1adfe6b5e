"""Escalation trees: saved only when sound (each problem named with its code and field path),
versioned on edit, admins only, per store."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Store, Team
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.empowerment.models import EscalationTree
from sellerdesk.automation.macros.models import Macro
from tests.api.support import API, error_of, snapshot
from tests.conftest import TokenFactory, bearer
from tests.empowerment.conftest import Headers, audit_actions, make_action
from tests.empowerment.trees_support import nodes


@pytest.fixture
async def team(db: AsyncSession, store: Store) -> Team:
    return await accounts.create_team(db, store_id=store.id, name="Returns")


@pytest.fixture
async def refs(client: httpx.AsyncClient, admin: Headers, notify_macro: Macro, team: Team
               ) -> dict[str, int]:
    action = await make_action(client, admin, macro_id=notify_macro.id)
    return {"macro_id": notify_macro.id, "action_id": action["id"], "team_id": team.id}


def tree_body(refs: dict[str, int], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Damaged parcel", "nodes": nodes(**refs)}
    body.update(overrides)
    return body


async def test_a_sound_tree_is_saved_with_its_root(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, agent: Headers,
    refs: dict[str, int],
) -> None:
    response = await client.post(f"{API}/escalation-trees", headers=admin,
                                 json=tree_body(refs, description="For couriers"))

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["name"], body["root"], body["version"], body["is_active"],
            body["description"]) == ("Damaged parcel", "start", 1, True, "For couriers")
    assert [n["id"] for n in body["nodes"]] == ["start", "photo", "refund", "ask_photo",
                                                "escalate", "tip"]
    assert body["nodes"][4]["outcome"] == {"type": "escalate", "team_id": refs["team_id"],
                                           "priority": "high"}
    assert await audit_actions(db, entity_type="escalation_tree") == ["escalation_tree.created"]
    listed = await client.get(f"{API}/escalation-trees", headers=agent)
    assert [t["id"] for t in listed.json()] == [body["id"]]
    assert (await client.get(f"{API}/escalation-trees/{body['id']}", headers=agent)
            ).json() == body


def _broken(refs: dict[str, int], change: str) -> list[dict[str, Any]]:
    tree = copy.deepcopy(nodes(**refs))
    if change == "unknown kind":
        tree[5]["kind"] = "webhook"
    elif change == "dangling answer":
        tree[1]["answers"][1]["next"] = "nowhere"
    elif change == "cycle":
        tree[1]["answers"][1]["next"] = "start"
    elif change == "cycle below root":
        tree.append({"id": "loop_a", "kind": "question", "text": {"en": "A"},
                     "answers": [{"id": "x", "label": {"en": "x"}, "next": "loop_b"}]})
        tree.append({"id": "loop_b", "kind": "question", "text": {"en": "B"},
                     "answers": [{"id": "y", "label": {"en": "y"}, "next": "loop_a"}]})
        tree[0]["answers"].append({"id": "loop", "label": {"en": "loop"}, "next": "loop_a"})
    elif change == "two roots":
        tree.append({"id": "orphan", "kind": "outcome", "text": {"en": "?"},
                     "outcome": {"type": "advice"}})
    elif change == "duplicate node":
        tree[3]["id"] = "refund"
    elif change == "duplicate answer":
        tree[0]["answers"][1]["id"] = "damaged"
    elif change == "no answers":
        tree[1]["answers"] = []
    elif change == "no text":
        tree[2]["text"] = {}
    elif change == "blank text":
        tree[2]["text"] = {"en": " "}
    elif change == "bad language":
        tree[0]["text"] = {"english!": "What?"}
    elif change == "unknown macro":
        tree[3]["outcome"]["macro_id"] = 999999
    elif change == "unknown action":
        tree[2]["outcome"]["action_id"] = 999999
    elif change == "unknown team":
        tree[4]["outcome"]["team_id"] = 999999
    elif change == "unknown assignee":
        tree[4]["outcome"]["assignee_id"] = 999999
    elif change == "unknown outcome type":
        tree[5]["outcome"]["type"] = "refund_everything"
    elif change == "outcome without outcome":
        del tree[5]["outcome"]
    elif change == "resolve without macro":
        tree[3]["outcome"] = {"type": "resolve"}
    elif change == "escalate nowhere":
        tree[4]["outcome"] = {"type": "escalate", "priority": "high"}
    elif change == "advice with a macro":
        tree[5]["outcome"]["macro_id"] = refs["macro_id"]
    elif change == "question with outcome":
        tree[1]["outcome"] = {"type": "advice"}
    elif change == "amount too precise":
        tree[2]["outcome"]["amount"] = "1.001"
    elif change == "bad priority":
        tree[4]["outcome"]["priority"] = "asap"
    elif change == "bad node id":
        tree[5]["id"] = "tip with spaces"
    return tree


@pytest.mark.parametrize(("change", "code", "field", "words"), [
    ("unknown kind", "tree.unknown_node_kind", "nodes.5.kind", "'webhook'"),
    ("dangling answer", "tree.unknown_next_node", "nodes.1.answers.1.next", "'nowhere'"),
    ("cycle", "tree.cycle", "nodes.1.answers.1.next", "'start' → 'photo' → 'start'"),
    ("cycle below root", "tree.cycle", "nodes.7.answers.0.next", "'loop_a' → 'loop_b'"),
    ("two roots", "tree.several_roots", "nodes.6", "'start', 'orphan'"),
    ("duplicate node", "tree.duplicate_node", "nodes.3.id", "'refund'"),
    ("duplicate answer", "tree.duplicate_answer", "nodes.0.answers.1.id", "'damaged'"),
    ("no answers", "tree.no_answers", "nodes.1.answers", "'photo'"),
    ("no text", "tree.missing_text", "nodes.2.text", "'refund'"),
    ("blank text", "tree.missing_text", "nodes.2.text.en", "blank"),
    ("bad language", "tree.invalid_language", "nodes.0.text.english!", "language"),
    ("unknown macro", "tree.unknown_macro", "nodes.3.outcome.macro_id", "999999"),
    ("unknown action", "tree.unknown_action", "nodes.2.outcome.action_id", "999999"),
    ("unknown team", "tree.unknown_team", "nodes.4.outcome.team_id", "999999"),
    ("unknown assignee", "tree.unknown_agent", "nodes.4.outcome.assignee_id", "999999"),
    ("unknown outcome type", "tree.invalid_outcome", "nodes.5.outcome.type",
     "'refund_everything'"),
    ("outcome without outcome", "tree.invalid_outcome", "nodes.5.outcome", "outcome"),
    ("resolve without macro", "tree.invalid_outcome", "nodes.3.outcome.macro_id", "macro_id"),
    ("escalate nowhere", "tree.invalid_outcome", "nodes.4.outcome.team_id", "team_id"),
    ("advice with a macro", "tree.unexpected_field", "nodes.5.outcome.macro_id", "macro_id"),
    ("question with outcome", "tree.unexpected_field", "nodes.1.outcome", "'photo'"),
    ("amount too precise", "tree.invalid_outcome", "nodes.2.outcome.amount", "decimal"),
    ("bad priority", "tree.invalid_outcome", "nodes.4.outcome.priority", "priority"),
    ("bad node id", "tree.invalid_node_id", "nodes.5.id", "node id"),
])
async def test_an_unsound_tree_is_refused_naming_the_problem(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, refs: dict[str, int],
    change: str, code: str, field: str, words: str,
) -> None:
    before = await snapshot(db)

    response = await client.post(f"{API}/escalation-trees", headers=admin,
                                 json=tree_body(refs, nodes=_broken(refs, change)))

    assert response.status_code == 422, response.text
    error = error_of(response)
    assert (error["code"], error["field"]) == (code, field)
    assert words in error["message"]
    assert await snapshot(db) == before


async def test_an_empty_tree_and_another_stores_references_are_refused(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, other_admin: Headers,
    refs: dict[str, int],
) -> None:
    before = await snapshot(db)

    empty = await client.post(f"{API}/escalation-trees", headers=admin,
                              json=tree_body(refs, nodes=[]))
    foreign = await client.post(f"{API}/escalation-trees", headers=other_admin,
                                json=tree_body(refs))

    assert (empty.status_code, error_of(empty)["code"]) == (422, "tree.no_nodes")
    assert (foreign.status_code, error_of(foreign)["code"], error_of(foreign)["field"]) == (
        422, "tree.unknown_action", "nodes.2.outcome.action_id")
    assert await snapshot(db) == before


async def test_editing_nodes_makes_a_new_version_and_other_edits_do_not(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, refs: dict[str, int],
) -> None:
    created = (await client.post(f"{API}/escalation-trees", headers=admin,
                                 json=tree_body(refs))).json()
    changed = nodes(**refs)
    changed[5]["text"] = {"en": "Read the FAQ."}

    renamed = await client.patch(f"{API}/escalation-trees/{created['id']}", headers=admin,
                                 json={"name": "Damaged parcels"})
    same = await client.patch(f"{API}/escalation-trees/{created['id']}", headers=admin,
                              json={"nodes": nodes(**refs)})
    edited = await client.patch(f"{API}/escalation-trees/{created['id']}", headers=admin,
                                json={"nodes": changed})
    before = await snapshot(db)
    broken = await client.patch(f"{API}/escalation-trees/{created['id']}", headers=admin,
                                json={"nodes": _broken(refs, "cycle")})

    assert (renamed.json()["name"], renamed.json()["version"]) == ("Damaged parcels", 1)
    assert same.json()["version"] == 1
    assert edited.json()["version"] == 2
    assert edited.json()["nodes"][5]["text"] == {"en": "Read the FAQ."}
    assert (broken.status_code, error_of(broken)["code"]) == (422, "tree.cycle")
    assert await snapshot(db) == before
    row = await db.get(EscalationTree, created["id"])
    assert row is not None
    assert row.version == 2
    assert await audit_actions(db, entity_type="escalation_tree") == [
        "escalation_tree.created", "escalation_tree.updated", "escalation_tree.updated"]


async def test_names_are_unique_and_unwalked_trees_can_be_deleted(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, refs: dict[str, int],
) -> None:
    created = (await client.post(f"{API}/escalation-trees", headers=admin,
                                 json=tree_body(refs))).json()

    again = await client.post(f"{API}/escalation-trees", headers=admin, json=tree_body(refs))
    used_action = await client.delete(f"{API}/pre-approved-actions/{refs['action_id']}",
                                      headers=admin)
    deleted = await client.delete(f"{API}/escalation-trees/{created['id']}", headers=admin)

    assert (again.status_code, error_of(again)["code"]) == (409, "tree.name_taken")
    assert (used_action.status_code, error_of(used_action)["code"]) == (
        409, "preapproved_action.in_use")
    assert "'Damaged parcel'" in error_of(used_action)["message"]
    assert deleted.status_code == 204
    assert await db.get(EscalationTree, created["id"]) is None


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AGENT, Role.VIEWER, Role.ANALYST])
async def test_only_admins_and_owners_build_trees(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, refs: dict[str, int],
    store: Store, make_token: TokenFactory, role: Role,
) -> None:
    created = (await client.post(f"{API}/escalation-trees", headers=admin,
                                 json=tree_body(refs))).json()
    headers = bearer(await make_token(store, role))
    before = await snapshot(db)

    responses = [
        await client.post(f"{API}/escalation-trees", headers=headers,
                          json=tree_body(refs, name="Mine")),
        await client.patch(f"{API}/escalation-trees/{created['id']}", headers=headers,
                           json={"name": "Mine"}),
        await client.delete(f"{API}/escalation-trees/{created['id']}", headers=headers),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert await snapshot(db) == before
    assert (await client.get(f"{API}/escalation-trees/{created['id']}", headers=headers)
            ).status_code == 200


async def test_another_stores_tree_is_404_and_unchanged(
    client: httpx.AsyncClient, db: AsyncSession, admin: Headers, other_admin: Headers,
    refs: dict[str, int],
) -> None:
    created = (await client.post(f"{API}/escalation-trees", headers=admin,
                                 json=tree_body(refs))).json()
    before = await snapshot(db)

    responses = [
        await client.get(f"{API}/escalation-trees/{created['id']}", headers=other_admin),
        await client.patch(f"{API}/escalation-trees/{created['id']}", headers=other_admin,
                           json={"name": "Taken"}),
        await client.delete(f"{API}/escalation-trees/{created['id']}", headers=other_admin),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert {error_of(r)["code"] for r in responses} == {"tree.not_found"}
    assert (await client.get(f"{API}/escalation-trees", headers=other_admin)).json() == []
    assert await snapshot(db) == before
