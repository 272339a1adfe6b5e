"""/api/v1/macros: admins save macros (refused when unsafe or malformed), agents read them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.automation.macros.models import Macro
from sellerdesk.tickets.models import AuditEvent
from tests.api.support import API, error_of, snapshot
from tests.macros.conftest import VARIANTS, macro_body


async def macro_audit(db: AsyncSession, macro_id: int) -> list[tuple[str, Any, Any]]:
    rows = await db.execute(
        select(AuditEvent.action, AuditEvent.before, AuditEvent.after)
        .where(AuditEvent.entity_type == "macro", AuditEvent.entity_id == macro_id)
        .order_by(AuditEvent.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_admin_creates_a_macro_and_agents_read_it(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], agent: dict[str, str],
) -> None:
    # when
    created = await client.post(f"{API}/macros", json=macro_body(), headers=admin)

    # then
    assert created.status_code == 201, created.text
    body = created.json()
    macro_id = body["id"]
    assert body["name"] == "Order shipped"
    assert body["description"] == "Tell where the order is"
    assert body["variants"] == VARIANTS
    assert body["actions"] == {"status": "pending", "priority": "high",
                               "tags": ["shipping", "macro"]}
    assert [a for a, _, _ in await macro_audit(db, macro_id)] == ["macro.created"]
    listed = await client.get(f"{API}/macros", headers=agent)
    assert listed.status_code == 200
    assert [m["id"] for m in listed.json()] == [macro_id]
    one = await client.get(f"{API}/macros/{macro_id}", headers=agent)
    assert one.status_code == 200
    assert one.json() == body


async def test_admin_updates_and_deletes_a_macro(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
) -> None:
    # given
    macro_id = (await client.post(f"{API}/macros", json=macro_body(), headers=admin)).json()["id"]

    # when the Korean variant and the actions are replaced
    changed = await client.patch(
        f"{API}/macros/{macro_id}", headers=admin,
        json={"name": "Shipped", "variants": {"ko": "{{ customer.name }} 님, 발송되었습니다."},
              "actions": {"status": "solved"}, "description": None},
    )

    # then
    assert changed.status_code == 200, changed.text
    assert changed.json()["variants"] == {"ko": "{{ customer.name }} 님, 발송되었습니다."}
    assert changed.json()["actions"] == {"status": "solved", "priority": None, "tags": []}
    assert changed.json()["description"] is None
    events = await macro_audit(db, macro_id)
    assert [a for a, _, _ in events] == ["macro.created", "macro.updated"]
    assert events[1][1]["name"] == "Order shipped"
    assert events[1][2]["name"] == "Shipped"

    # when deleted
    deleted = await client.delete(f"{API}/macros/{macro_id}", headers=admin)

    # then
    assert deleted.status_code == 204
    assert (await client.get(f"{API}/macros/{macro_id}", headers=admin)).status_code == 404
    assert [a for a, _, _ in await macro_audit(db, macro_id)][-1] == "macro.deleted"


async def test_an_agent_cannot_change_macros(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], agent: dict[str, str],
) -> None:
    macro_id = (await client.post(f"{API}/macros", json=macro_body(), headers=admin)).json()["id"]
    before = await snapshot(db)

    responses = [
        await client.post(f"{API}/macros", json=macro_body(name="Mine"), headers=agent),
        await client.patch(f"{API}/macros/{macro_id}", json={"name": "X"}, headers=agent),
        await client.delete(f"{API}/macros/{macro_id}", headers=agent),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert {error_of(r)["code"] for r in responses} == {"access.forbidden"}
    assert await snapshot(db) == before


async def test_a_syntax_error_is_refused_at_save_with_variant_and_line(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
) -> None:
    before = await snapshot(db)
    broken = "Dzień dobry {{ customer.first_name }},\nzamówienie {{ order.number }\ndziękujemy"

    response = await client.post(f"{API}/macros", headers=admin,
                                 json=macro_body(variants={**VARIANTS, "pl": broken}))

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "macro.invalid_template"
    assert error["field"] == "variants.pl"
    assert error["message"].startswith("variant 'pl', line 2: syntax error")
    assert await snapshot(db) == before


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{% for i in range(100000000) %}{{ customer.name }}{% endfor %}",
    "{{ customer.password_hash }}",
])
async def test_an_unsafe_template_is_refused_at_save(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], source: str,
) -> None:
    before = await snapshot(db)

    response = await client.post(f"{API}/macros", headers=admin,
                                 json=macro_body(variants={"en": "Hi,\n" + source}))

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "macro.invalid_template"
    assert error["field"] == "variants.en"
    assert "line 2" in error["message"]
    assert await snapshot(db) == before


async def test_an_unsafe_template_is_refused_on_update_and_the_macro_is_unchanged(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
) -> None:
    macro_id = (await client.post(f"{API}/macros", json=macro_body(), headers=admin)).json()["id"]
    before = await snapshot(db)

    response = await client.patch(f"{API}/macros/{macro_id}", headers=admin,
                                  json={"variants": {"en": "{{ lipsum() }}"}})

    assert response.status_code == 422
    assert error_of(response)["code"] == "macro.invalid_template"
    assert await snapshot(db) == before


@pytest.mark.parametrize(("body", "code", "field"), [
    (macro_body(colour="red"), "request.invalid", "colour"),
    (macro_body(variants={}), "request.invalid", "variants"),
    (macro_body(variants={"a" + chr(97 + i // 26) + chr(97 + i % 26): "Hi"
                          for i in range(51)}),
     "request.invalid", "variants"),
    (macro_body(variants={"english": "Hi"}), "macro.invalid_language", "variants.english"),
    (macro_body(variants={"e": "Hi"}), "macro.invalid_language", "variants.e"),
    (macro_body(variants={"en": "  \n"}), "macro.empty_text", "variants.en"),
    (macro_body(variants={"en": 5}), "request.invalid", "variants.en"),
    (macro_body(name=""), "request.invalid", "name"),
    (macro_body(name="x" * 101), "request.invalid", "name"),
    (macro_body(actions={"status": "shipped"}), "request.invalid", "actions.status"),
    (macro_body(actions={"status": "new"}), "macro.invalid_action", "actions.status"),
    (macro_body(actions={"priority": "asap"}), "request.invalid", "actions.priority"),
    (macro_body(actions={"tags": ["ok", "a,b"]}), "ticket.invalid_tag", "actions.tags.1"),
    (macro_body(actions={"tags": [" "]}), "ticket.invalid_tag", "actions.tags.0"),
    (macro_body(actions={"assignee_id": 3}), "request.invalid", "actions.assignee_id"),
])
async def test_bad_macros_are_refused_naming_the_field(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    body: dict[str, Any], code: str, field: str,
) -> None:
    before = await snapshot(db)

    response = await client.post(f"{API}/macros", json=body, headers=admin)

    assert response.status_code == 422, response.text
    error = error_of(response)
    assert (error["code"], error["field"]) == (code, field)
    assert await snapshot(db) == before


async def test_any_language_code_of_2_to_8_characters_is_accepted(
    client: httpx.AsyncClient, admin: dict[str, str],
) -> None:
    response = await client.post(f"{API}/macros", headers=admin, json=macro_body(
        variants={"pt-BR": "Olá", "fil": "Kumusta", "zh-Hant": "您好", "uk": "Привіт"}))

    assert response.status_code == 201, response.text
    assert set(response.json()["variants"]) == {"pt-br", "fil", "zh-hant", "uk"}


async def test_a_second_macro_of_the_same_name_is_a_conflict(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
) -> None:
    await client.post(f"{API}/macros", json=macro_body(), headers=admin)
    before = await snapshot(db)

    response = await client.post(f"{API}/macros", json=macro_body(), headers=admin)

    assert response.status_code == 409
    assert (error_of(response)["code"], error_of(response)["field"]) == ("macro.name_taken",
                                                                         "name")
    assert await snapshot(db) == before


async def test_another_stores_macro_is_not_found(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    other_admin: dict[str, str],
) -> None:
    # given a macro of the other store
    created = await client.post(f"{API}/macros", json=macro_body(), headers=other_admin)
    macro_id = created.json()["id"]
    before = await snapshot(db)

    # when this store's admin reaches for it
    responses = [
        await client.get(f"{API}/macros/{macro_id}", headers=admin),
        await client.patch(f"{API}/macros/{macro_id}", json={"name": "Mine"}, headers=admin),
        await client.delete(f"{API}/macros/{macro_id}", headers=admin),
    ]
    listed = await client.get(f"{API}/macros", headers=admin)

    # then it does not exist for them, and nothing changed
    assert [r.status_code for r in responses] == [404, 404, 404]
    assert {error_of(r)["code"] for r in responses} == {"macro.not_found"}
    assert listed.json() == []
    assert await snapshot(db) == before
    assert await db.get(Macro, macro_id) is not None

