"""Bad input on every endpoint family: a 4xx with a code and the field, and nothing stored."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from tests.api.routes import Route
from tests.api.support import API, error_of, snapshot

JSON_ROUTES = [
    Route("PATCH", "/tickets/{ticket}"),
    Route("POST", "/tickets/{ticket}/merge"),
    Route("POST", "/tickets/{ticket}/replies"),
    Route("POST", "/tickets/{ticket}/notes"),
    Route("PATCH", "/customers/{customer}"),
    Route("POST", "/customers/{customer}/merge"),
]


@pytest.mark.parametrize("route", JSON_ROUTES, ids=[r.id for r in JSON_ROUTES])
@pytest.mark.parametrize("body", [b"{not json", b'{"text": "x",}', b"\xff\xfe", b'{"a": 1'])
async def test_malformed_json_is_422_invalid_json(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], world: dict[str, int],
    route: Route, body: bytes,
) -> None:
    before = await snapshot(db)

    response = await client.request(route.method, route.url(world), content=body,
                                    headers={**admin, "Content-Type": "application/json"})

    assert response.status_code == 422
    assert error_of(response) == {"code": "request.invalid_json",
                                  "message": "body is not valid JSON", "field": "body"}
    assert await snapshot(db) == before


@pytest.mark.parametrize("route", JSON_ROUTES, ids=[r.id for r in JSON_ROUTES])
@pytest.mark.parametrize("body", [[], "text", 5, None])
async def test_a_body_that_is_not_an_object_is_422(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], world: dict[str, int],
    route: Route, body: Any,
) -> None:
    before = await snapshot(db)

    response = await client.request(route.method, route.url(world),
                                    content=json.dumps(body).encode(),
                                    headers={**admin, "Content-Type": "application/json"})

    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["field"]) == ("request.invalid", "body")
    assert await snapshot(db) == before


# route, body, the field the error must name
BAD_BODIES: list[tuple[Route, Any, str]] = [
    (Route("PATCH", "/tickets/{ticket}"), {"priority": "extreme"}, "priority"),
    (Route("PATCH", "/tickets/{ticket}"), {"status": "archived"}, "status"),
    (Route("PATCH", "/tickets/{ticket}"), {"assignee_id": "anna"}, "assignee_id"),
    (Route("PATCH", "/tickets/{ticket}"), {"team_id": [1]}, "team_id"),
    (Route("PATCH", "/tickets/{ticket}"), {"tags": "vip"}, "tags"),
    (Route("PATCH", "/tickets/{ticket}"), {"tags": ["vip", 7]}, "tags.1"),
    (Route("PATCH", "/tickets/{ticket}"), {"tags": ["t"] * 51}, "tags"),
    (Route("PATCH", "/tickets/{ticket}"), {"subject": ""}, "subject"),
    (Route("PATCH", "/tickets/{ticket}"), {"subject": "x" * 501}, "subject"),
    (Route("PATCH", "/tickets/{ticket}"), {"language": "p"}, "language"),
    (Route("PATCH", "/tickets/{ticket}"), {"marketplace": "m" * 33}, "marketplace"),
    (Route("PATCH", "/tickets/{ticket}"), {"priority": "low", "colour": "red"}, "colour"),
    (Route("POST", "/tickets/{ticket}/merge"), {}, "into_ticket_id"),
    (Route("POST", "/tickets/{ticket}/merge"), {"into_ticket_id": "two"}, "into_ticket_id"),
    (Route("POST", "/tickets/{ticket}/merge"), {"into_ticket_id": 1, "force": True}, "force"),
    (Route("POST", "/tickets/{ticket}/replies"), {"text": 5}, "text"),
    (Route("POST", "/tickets/{ticket}/replies"), {"text": "x", "status": "gone"}, "status"),
    (Route("POST", "/tickets/{ticket}/replies"), {"text": "x", "cc": "boss@acme"}, "cc"),
    (Route("POST", "/tickets/{ticket}/replies"),
     {"text": "x", "attachments": [{"filename": "a.txt"}]}, "attachments.0.content_base64"),
    (Route("POST", "/tickets/{ticket}/replies"),
     {"text": "x", "attachments": [{"filename": "", "content_base64": ""}]},
     "attachments.0.filename"),
    (Route("POST", "/tickets/{ticket}/replies"),
     {"text": "x", "attachments": [{"filename": "a", "content_base64": "%%%"}]},
     "attachments.0.content_base64"),
    (Route("POST", "/tickets/{ticket}/notes"), {}, "text"),
    (Route("POST", "/tickets/{ticket}/notes"), {"text": "   "}, "text"),
    (Route("POST", "/tickets/{ticket}/notes"), {"text": "x", "html": "<b>x</b>"}, "html"),
    (Route("PATCH", "/tickets/{ticket}"), {"assignee_id": 2**63}, "assignee_id"),
    (Route("POST", "/tickets/{ticket}/merge"), {"into_ticket_id": 2**64}, "into_ticket_id"),
    (Route("POST", "/tickets/{ticket}/merge"), {"into_ticket_id": 0}, "into_ticket_id"),
    (Route("PATCH", "/customers/{customer}"), {"email": "nobody"}, "email"),
    (Route("PATCH", "/customers/{customer}"), {"note": "n" * 20_001}, "note"),
    (Route("PATCH", "/customers/{customer}"), {"blocked": True}, "blocked"),
    (Route("POST", "/customers/{customer}/merge"), {}, "into_customer_id"),
    (Route("POST", "/customers/{customer}/merge"), {"into_customer_id": "x"},
     "into_customer_id"),
    (Route("POST", "/customers/{customer}/merge"), {"into_customer_id": 2**63},
     "into_customer_id"),
]


@pytest.mark.parametrize(("route", "body", "field"), BAD_BODIES,
                         ids=[f"{r.id} {field}" for r, _, field in BAD_BODIES])
async def test_a_bad_body_names_the_field_and_changes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str], world: dict[str, int],
    route: Route, body: Any, field: str,
) -> None:
    before = await snapshot(db)

    response = await client.request(route.method, route.url(world), json=body, headers=admin)

    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["field"] == field
    assert error["code"] == "request.invalid"
    assert await snapshot(db) == before


# path, query, the field the error must name
BAD_QUERIES: list[tuple[str, dict[str, str], str]] = [
    ("/tickets", {"limit": "0"}, "limit"),
    ("/tickets", {"limit": "101"}, "limit"),
    ("/tickets", {"limit": "ten"}, "limit"),
    ("/tickets", {"status": "archived"}, "status"),
    ("/tickets", {"status": "open,archived"}, "status"),
    ("/tickets", {"status": "open,"}, "status"),
    ("/tickets", {"priority": "extreme"}, "priority"),
    ("/tickets", {"sort": "created"}, "sort"),
    ("/tickets", {"assignee": "anna"}, "assignee"),
    ("/tickets", {"assignee": "-1"}, "assignee"),
    ("/tickets", {"assignee": "²"}, "assignee"),
    ("/tickets", {"team": "support"}, "team"),
    ("/tickets", {"customer": "1.5"}, "customer"),
    ("/tickets", {"q": "x" * 501}, "q"),
    ("/tickets", {"tag": "t" * 65}, "tag"),
    ("/tickets", {"cursor": "c" * 501}, "cursor"),
    ("/search", {"q": "zwrot", "limit": "0"}, "limit"),
    ("/search", {"q": "zwrot", "limit": "101"}, "limit"),
    ("/search", {"q": "zwrot", "before_id": "last"}, "before_id"),
    ("/search", {}, "q"),
    ("/search", {"q": ""}, "q"),
    ("/search", {"q": "x" * 501}, "q"),
    ("/audit", {"limit": "201"}, "limit"),
    ("/audit", {"entity_id": "x"}, "entity_id"),
    ("/audit", {"before_id": "x"}, "before_id"),
    ("/tickets/{ticket}/audit", {"limit": "0"}, "limit"),
    ("/quarantine", {"limit": "0"}, "limit"),
    ("/quarantine", {"before_id": "x"}, "before_id"),
    ("/tickets/abc", {}, "ticket_id"),
    ("/tickets/abc/messages", {}, "ticket_id"),
    ("/customers/abc", {}, "customer_id"),
    ("/attachments/1.5", {}, "attachment_id"),
    ("/quarantine/abc", {}, "payload_id"),
    ("/tickets/0", {}, "ticket_id"),
    ("/tickets/99999999999999999999", {}, "ticket_id"),
    ("/tickets/9223372036854775808/audit", {}, "ticket_id"),
    ("/customers/9223372036854775808", {}, "customer_id"),
    ("/attachments/-1", {}, "attachment_id"),
    ("/tickets", {"customer": "9223372036854775808"}, "customer"),
    ("/tickets", {"team": "0"}, "team"),
    ("/tickets", {"assignee": "9223372036854775808"}, "assignee"),
    ("/tickets", {"assignee": "0"}, "assignee"),
    ("/search", {"q": "zwrot", "before_id": "99999999999999999999"}, "before_id"),
    ("/audit", {"entity_id": "9223372036854775808"}, "entity_id"),
]


@pytest.mark.parametrize(("path", "params", "field"), BAD_QUERIES,
                         ids=[f"{p} {f}={list(q.values())[:1]}" for p, q, f in BAD_QUERIES])
async def test_a_bad_query_or_path_names_the_field(
    client: httpx.AsyncClient, admin: dict[str, str], world: dict[str, int], path: str,
    params: dict[str, str], field: str,
) -> None:
    response = await client.get(API + path.format(**world), params=params, headers=admin)

    assert response.status_code == 422, response.text
    error = error_of(response)
    assert (error["code"], error["field"]) == ("request.invalid", field)


async def test_a_bad_status_names_the_allowed_values(
    client: httpx.AsyncClient, admin: dict[str, str], store: Store
) -> None:
    response = await client.get(f"{API}/tickets", params={"status": "archived"}, headers=admin)

    assert error_of(response)["message"] == (
        "status 'archived' is not one of new, open, pending, on_hold, solved, closed "
        "(or 'active')")


def forged(values: Any) -> str:
    """A cursor made the way the API makes them, holding any values."""
    raw = json.dumps(values).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


BAD_CURSORS: list[tuple[str, str, str]] = [
    ("updated", "!!!", "not base64"),
    ("updated", "bm90IGpzb24", "not JSON"),
    ("updated", forged({"a": 1}), "not a list"),
    ("updated", forged([1]), "too short"),
    ("updated", forged([0, None, 5]), "an sla_due cursor"),
    ("updated", forged(["yesterday", 5]), "not a time"),
    ("updated", forged([5, 5]), "a number for a time"),
    ("updated", forged(["2026-03-02T09:00:00+00:00", "x"]), "not an id"),
    ("updated", forged(["2026-03-02T09:00:00+00:00", None]), "no id"),
    ("updated", forged(["2026-03-02T09:00:00", 5]), "a time without zone"),
    ("updated", forged(["2026-03-02T09:00:00+00:00", 2**63]), "an id beyond 64 bits"),
    ("updated", forged(["2026-03-02T09:00:00+00:00", True]), "a boolean id"),
    ("sla_due", forged(["2026-03-02T09:00:00+00:00", 5]), "an updated cursor"),
    ("sla_due", forged([0, "soon", 5]), "not a time"),
    ("sla_due", forged([0, "2026-03-02T09:00:00+00:00", "x"]), "not an id"),
    ("sla_due", forged([1, None, "x"]), "tail cursor without an id"),
    ("sla_due", forged([1, None, None]), "tail cursor with null id"),
    ("sla_due", forged([0, "2026-03-02T09:00:00", 5]), "a time without zone"),
]


@pytest.mark.parametrize(("sort", "cursor", "why"), BAD_CURSORS,
                         ids=[f"{s}: {why}" for s, _, why in BAD_CURSORS])
async def test_a_cursor_the_api_did_not_give_out_is_422(
    client: httpx.AsyncClient, admin: dict[str, str], world: dict[str, int], sort: str,
    cursor: str, why: str,
) -> None:
    response = await client.get(f"{API}/tickets", params={"sort": sort, "cursor": cursor},
                                headers=admin)

    assert response.status_code == 422, response.text
    error = error_of(response)
    assert (error["code"], error["field"]) == ("request.invalid_cursor", "cursor")


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/tickets/1/nope", "/api/v2"])
async def test_an_unknown_route_is_a_json_404(
    client: httpx.AsyncClient, admin: dict[str, str], path: str
) -> None:
    response = await client.get(path, headers=admin)

    assert response.status_code == 404
    error = error_of(response)
    assert (error["code"], error["field"]) == ("request.not_found", None)


async def test_an_unknown_page_outside_the_api_is_an_html_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/nope", headers={"Accept-Language": "pl"})

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["X-Error-Code"] == "request.not_found"
    assert "Nie znaleziono" in response.text


async def test_a_wrong_method_is_a_json_405(
    client: httpx.AsyncClient, admin: dict[str, str], world: dict[str, int]
) -> None:
    response = await client.delete(f"{API}/tickets/{world['ticket']}", headers=admin)

    assert response.status_code == 405
    assert error_of(response)["code"] == "request.method_not_allowed"
