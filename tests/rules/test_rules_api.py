"""The rules API: create, read, list, update, delete, order; each bad configuration refused
with its code and field and nothing changed; another store's ids are not found; only those
who manage settings may touch rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Agent, Store, Team
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.actions import create_calendar
from sellerdesk.automation.macros.actions import create_macro
from sellerdesk.automation.rules.models import Rule, RuleSet
from sellerdesk.core.actor import SYSTEM
from sellerdesk.tickets.models import AuditEvent
from tests.api.support import API, error_of, snapshot
from tests.conftest import TokenFactory, bearer
from tests.rules.conftest import add_rule, leaf

RULE: dict[str, Any] = {
    "name": "Refunds to the refund team",
    "events": ["ticket.created", "message.received"],
    "conditions": {"all": [leaf("message.text", "mentions", ["zwrot", "refund", "환불"]),
                           {"any": [leaf("ticket.marketplace", "is", "amazon"),
                                    leaf("channel.type", "is", "email")]}]},
    "actions": [{"type": "set_priority", "value": "high"},
                {"type": "add_tags", "tags": ["Refund"]},
                {"type": "webhook", "url": "https://hooks.example/refunds",
                 "secret": "0123456789abcdef"}],
}


def body(**overrides: Any) -> dict[str, Any]:
    return {**RULE, **overrides}


async def test_create_read_list_update_delete(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], store: Store,
) -> None:
    # when a rule is created
    created = await client.post(f"{API}/rules", json=body(), headers=admin)

    # then it is stored as checked (tags normalised, single values listed), secret hidden
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["name"] == RULE["name"]
    assert rule["position"] == 1
    assert rule["is_active"] is True
    assert rule["times_fired"] == 0
    assert rule["last_fired_at"] is None
    assert rule["events"] == ["ticket.created", "message.received"]
    assert rule["conditions"]["all"][1]["any"][0] == {
        "field": "ticket.marketplace", "op": "is", "value": "amazon"}
    assert rule["actions"] == [{"type": "set_priority", "value": "high"},
                               {"type": "add_tags", "tags": ["refund"]},
                               {"type": "webhook", "url": "https://hooks.example/refunds"}]
    stored = await db.get(Rule, rule["id"])
    assert stored is not None
    assert stored.actions[2]["secret"] == "0123456789abcdef"

    # read and list
    read = await client.get(f"{API}/rules/{rule['id']}", headers=admin)
    listed = await client.get(f"{API}/rules", headers=admin)
    assert read.json() == rule
    assert [r["id"] for r in listed.json()] == [rule["id"]]

    # update: the webhook sent back without its secret keeps it
    patched = await client.patch(f"{API}/rules/{rule['id']}", headers=admin, json={
        "is_active": False, "actions": rule["actions"] + [
            {"type": "add_note", "text": "Zwrot: {{ customer.first_name }}"}]})
    assert patched.status_code == 200, patched.text
    assert patched.json()["is_active"] is False
    assert len(patched.json()["actions"]) == 4
    await db.refresh(stored)
    assert stored.actions[2]["secret"] == "0123456789abcdef"

    # delete
    deleted = await client.delete(f"{API}/rules/{rule['id']}", headers=admin)
    assert deleted.status_code == 204
    assert (await client.get(f"{API}/rules/{rule['id']}", headers=admin)).status_code == 404
    trail = (await db.execute(select(AuditEvent.action).where(
        AuditEvent.entity_type == "rule", AuditEvent.entity_id == rule["id"])
        .order_by(AuditEvent.id))).scalars().all()
    assert trail == ["rule.created", "rule.updated", "rule.deleted"]
    audited = (await db.execute(select(AuditEvent.after).where(
        AuditEvent.action == "rule.created", AuditEvent.entity_id == rule["id"]))).scalar_one()
    assert audited is not None
    assert "secret" not in str(audited)


async def test_every_change_gives_the_rule_set_a_new_version(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], store: Store,
) -> None:
    versions = []

    async def version() -> str | None:
        return await db.scalar(select(RuleSet.version).where(RuleSet.store_id == store.id))

    rule = (await client.post(f"{API}/rules", json=body(), headers=admin)).json()
    versions.append(await version())
    await client.patch(f"{API}/rules/{rule['id']}", json={"name": "Refunds"}, headers=admin)
    versions.append(await version())
    await client.delete(f"{API}/rules/{rule['id']}", headers=admin)
    versions.append(await version())

    assert None not in versions
    assert len(set(versions)) == 3


async def test_position_and_order(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], store: Store,
) -> None:
    first = (await client.post(f"{API}/rules", json=body(name="A"), headers=admin)).json()
    second = (await client.post(f"{API}/rules", json=body(name="B"), headers=admin)).json()
    before_both = (await client.post(f"{API}/rules", json=body(name="C", position=1),
                                     headers=admin)).json()

    listed = await client.get(f"{API}/rules", headers=admin)
    assert [(r["name"], r["position"]) for r in listed.json()] == [("C", 1), ("A", 2), ("B", 3)]

    reordered = await client.put(f"{API}/rules/order", headers=admin,
                                 json={"ids": [second["id"], first["id"], before_both["id"]]})
    assert reordered.status_code == 200, reordered.text
    assert [r["name"] for r in reordered.json()] == ["B", "A", "C"]
    assert [r["name"] for r in (await client.get(f"{API}/rules", headers=admin)).json()] == [
        "B", "A", "C"]

    before = await snapshot(db)
    missing = await client.put(f"{API}/rules/order", headers=admin,
                               json={"ids": [second["id"], first["id"]]})
    assert missing.status_code == 422
    assert error_of(missing)["code"] == "rule.order_mismatch"
    assert error_of(missing)["field"] == "ids"
    assert await snapshot(db) == before


BAD: list[tuple[dict[str, Any], int, str, str]] = [
    (body(events=[]), 422, "rule.no_events", "events"),
    (body(events=["ticket.created", "ticket.deleted"]), 422, "rule.unknown_event", "events.1"),
    (body(conditions={"all": [leaf("ticket.colour", "is", "red")]}), 422, "rule.unknown_field",
     "conditions.all.0.field"),
    (body(conditions={"all": [leaf("ticket.priority", "mentions", "x")]}), 422,
     "rule.invalid_operator", "conditions.all.0.op"),
    (body(conditions={"any": [leaf("message.text", "matches", "[a-")]}), 422,
     "rule.invalid_regex", "conditions.any.0.value"),
    (body(actions=[]), 422, "rule.no_actions", "actions"),
    (body(actions=[{"type": "explode"}]), 422, "rule.unknown_action", "actions.0.type"),
    (body(actions=[{"type": "set_priority", "value": "asap"}]), 422, "rule.invalid_action",
     "actions.0.value"),
    (body(actions=[{"type": "set_status", "value": "new"}]), 422, "rule.invalid_action",
     "actions.0.value"),
    (body(actions=[{"type": "set_priority"}]), 422, "rule.invalid_action", "actions.0.value"),
    (body(actions=[{"type": "set_priority", "value": "high", "colour": "red"}]), 422,
     "rule.invalid_action", "actions.0.colour"),
    (body(actions=[{"type": "set_priority", "value": "high"},
                   {"type": "set_priority", "value": "low"}]), 422, "rule.duplicate_action",
     "actions.1"),
    (body(actions=[{"type": "add_tags", "tags": ["vip"]},
                   {"type": "remove_tags", "tags": ["VIP"]}]), 422, "rule.invalid_action",
     "actions.1.tags"),
    (body(actions=[{"type": "add_tags", "tags": ["a,b"]}]), 422, "rule.invalid_action",
     "actions.0.tags.0"),
    (body(actions=[{"type": "reply", "text": "Hi {{ customer.password }}"}]), 422,
     "rule.invalid_template", "actions.0.text"),
    (body(actions=[{"type": "add_note", "text": "{% for x in y %}"}]), 422,
     "rule.invalid_template", "actions.0.text"),
    (body(actions=[{"type": "webhook", "url": "ftp://x.example/", "secret": "s" * 16}]), 422,
     "rule.invalid_action", "actions.0.url"),
    (body(actions=[{"type": "webhook", "url": "https://x.example/", "secret": "short"}]), 422,
     "rule.invalid_action", "actions.0.secret"),
    (body(actions=[{"type": "set_team", "team_id": 10**9}]), 422, "rule.unknown_team",
     "actions.0.team_id"),
    (body(actions=[{"type": "set_assignee", "agent_id": 10**9}]), 422, "rule.unknown_agent",
     "actions.0.agent_id"),
    (body(actions=[{"type": "apply_macro", "macro_id": 10**9}]), 422, "rule.unknown_macro",
     "actions.0.macro_id"),
    (body(actions=[{"type": "notify", "message": "Look", "agent_ids": [10**9]}]), 422,
     "rule.unknown_agent", "actions.0.agent_ids.0"),
    (body(conditions={"all": [leaf("business_hours", "within", 10**9)]}), 422,
     "rule.unknown_calendar", "conditions.all.0.value"),
    (body(conditions={"all": [leaf("channel.id", "in", [10**9])]}), 422,
     "rule.unknown_channel", "conditions.all.0.value.0"),
    (body(name=""), 422, "request.invalid", "name"),
]


@pytest.mark.parametrize(("payload", "status", "code", "field"), BAD,
                         ids=[f"{c} {f}" for _, _, c, f in BAD])
async def test_bad_rules_are_refused_and_nothing_changes(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], store: Store,
    payload: dict[str, Any], status: int, code: str, field: str,
) -> None:
    before = await snapshot(db)

    response = await client.post(f"{API}/rules", json=payload, headers=admin)

    assert response.status_code == status, response.text
    error = error_of(response)
    assert (error["code"], error["field"]) == (code, field)
    assert await snapshot(db) == before


async def test_a_taken_name_is_a_conflict(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], store: Store,
) -> None:
    await client.post(f"{API}/rules", json=body(), headers=admin)
    before = await snapshot(db)

    response = await client.post(f"{API}/rules", json=body(), headers=admin)

    assert response.status_code == 409
    assert error_of(response)["code"] == "rule.name_taken"
    assert await snapshot(db) == before


async def test_a_bad_update_changes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], store: Store,
) -> None:
    rule = (await client.post(f"{API}/rules", json=body(), headers=admin)).json()
    before = await snapshot(db)

    no_actions = await client.patch(f"{API}/rules/{rule['id']}", json={"actions": []},
                                    headers=admin)
    bad_field = await client.patch(f"{API}/rules/{rule['id']}", headers=admin, json={
        "name": "Renamed", "conditions": {"all": [leaf("ticket.mood", "is", "x")]}})

    assert (no_actions.status_code, error_of(no_actions)["code"]) == (422, "rule.no_actions")
    assert (bad_field.status_code, error_of(bad_field)["field"]) == (
        422, "conditions.all.0.field")
    assert await snapshot(db) == before


@pytest.fixture
async def foreign(db: AsyncSession, other_store: Store) -> dict[str, int]:
    """Another store's rule, team, agent, macro and calendar."""
    team = await accounts.create_team(db, store_id=other_store.id, name="Theirs")
    agent = await accounts.create_agent(db, store_id=other_store.id, email="a@other.example",
                                        name="Other", role=Role.AGENT)
    macro = await create_macro(db, store_id=other_store.id, actor=SYSTEM, name="Theirs",
                               variants={"en": "Hello"})
    calendar = await create_calendar(db, store_id=other_store.id, actor=SYSTEM, name="Theirs",
                                     timezone="Asia/Seoul",
                                     hours={"mon": [{"start": "09:00", "end": "18:00"}]})
    rule = await add_rule(db, other_store, "Theirs",
                          actions_=[{"type": "set_priority", "value": "low"}])
    return {"rule": rule.id, "team": team.id, "agent": agent.id, "macro": macro.id,
            "calendar": calendar.id}


@pytest.mark.parametrize(("method", "path", "payload"), [
    ("GET", "/rules/{rule}", None),
    ("PATCH", "/rules/{rule}", {"name": "Taken over", "is_active": False}),
    ("DELETE", "/rules/{rule}", None),
    ("POST", "/rules/{rule}/dry-run", {}),
])
async def test_another_stores_rule_is_not_found(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    foreign: dict[str, int], method: str, path: str, payload: dict[str, Any] | None,
) -> None:
    before = await snapshot(db)

    response = await client.request(method, API + path.format(**foreign), json=payload,
                                    headers=admin)
    absent = await client.request(method, API + path.format(rule=10**9), json=payload,
                                  headers=admin)

    assert response.status_code == 404
    assert error_of(response)["code"] == "rule.not_found"
    assert error_of(response)["field"] == error_of(absent)["field"] == "rule_id"
    assert await snapshot(db) == before


@pytest.mark.parametrize(("part", "code", "field"), [
    ({"actions": [{"type": "set_team", "team_id": "{team}"}]}, "rule.unknown_team",
     "actions.0.team_id"),
    ({"actions": [{"type": "set_assignee", "agent_id": "{agent}"}]}, "rule.unknown_agent",
     "actions.0.agent_id"),
    ({"actions": [{"type": "apply_macro", "macro_id": "{macro}"}]}, "rule.unknown_macro",
     "actions.0.macro_id"),
    ({"conditions": {"all": [leaf("business_hours", "within", "{calendar}")]}},
     "rule.unknown_calendar", "conditions.all.0.value"),
    ({"conditions": {"all": [leaf("ticket.team_id", "is", "{team}")]}}, "rule.unknown_team",
     "conditions.all.0.value"),
])
async def test_another_stores_ids_in_a_rule_are_refused(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    foreign: dict[str, int], part: dict[str, Any], code: str, field: str,
) -> None:
    def fill(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: fill(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fill(v) for v in node]
        if isinstance(node, str) and node.startswith("{"):
            return foreign[node[1:-1]]
        return node

    before = await snapshot(db)

    response = await client.post(f"{API}/rules", json=body(**fill(part)), headers=admin)

    assert response.status_code == 422, response.text
    assert (error_of(response)["code"], error_of(response)["field"]) == (code, field)
    assert await snapshot(db) == before


async def test_lists_show_only_the_stores_own_rules(
    client: httpx.AsyncClient, admin: dict[str, str], foreign: dict[str, int],
) -> None:
    ours = (await client.post(f"{API}/rules", json=body(), headers=admin)).json()

    listed = await client.get(f"{API}/rules", headers=admin)

    assert [r["id"] for r in listed.json()] == [ours["id"]]


async def test_own_team_agent_and_macro_are_accepted(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], store: Store,
    team: Team, agent_row: Agent,
) -> None:
    macro = await create_macro(db, store_id=store.id, actor=SYSTEM, name="Ours",
                               variants={"en": "Hello {{ customer.first_name }}"})

    response = await client.post(f"{API}/rules", headers=admin, json=body(actions=[
        {"type": "set_team", "team_id": team.id},
        {"type": "set_assignee", "agent_id": agent_row.id},
        {"type": "apply_macro", "macro_id": macro.id, "send": True},
        {"type": "notify", "message": "Zwrot!", "agent_ids": [agent_row.id]},
    ], conditions={"all": [leaf("ticket.team_id", "is_not", team.id)]}))

    assert response.status_code == 201, response.text


ROLES_ALLOWED = {Role.OWNER, Role.ADMIN}


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
async def test_only_owners_and_admins_manage_rules(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, make_token: TokenFactory,
    role: Role,
) -> None:
    rule = await add_rule(db, store, "Existing",
                          actions_=[{"type": "set_priority", "value": "high"}])
    headers = bearer(await make_token(store, role))
    calls = [
        ("GET", "/rules", None, 200),
        ("GET", f"/rules/{rule.id}", None, 200),
        ("PATCH", f"/rules/{rule.id}", {"description": "x"}, 200),
        ("PUT", "/rules/order", {"ids": [rule.id]}, 200),
        ("POST", "/rules/dry-run", {"events": ["message.received"],
                                    "conditions": {"all": []}}, 200),
        ("POST", f"/rules/{rule.id}/dry-run", {}, 200),
        ("POST", "/rules", body(), 201),
        ("DELETE", f"/rules/{rule.id}", None, 204),
    ]
    for method, path, payload, allowed in calls:
        before = await snapshot(db)
        response = await client.request(method, API + path, json=payload, headers=headers)
        if role in ROLES_ALLOWED:
            assert response.status_code == allowed, (method, path, response.text)
        else:
            assert response.status_code == 403, (method, path, response.text)
            assert error_of(response)["code"] == "access.forbidden"
            assert await snapshot(db) == before
