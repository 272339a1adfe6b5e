"""Who may call what: every route against every role, and the bearer token itself."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import ApiToken, Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.channels.models import Channel
from sellerdesk.core.db import commit
from tests.api.routes import ROUTES, Route
from tests.api.support import API, error_of, payload, snapshot
from tests.conftest import TokenFactory, bearer

CASES = [(route, role) for route in ROUTES for role in Role]


@pytest.mark.parametrize(("route", "role"), CASES,
                         ids=[f"{r.id} as {role.value}" for r, role in CASES])
async def test_every_route_checks_the_role(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, make_token: TokenFactory,
    world: dict[str, int], route: Route, role: Role,
) -> None:
    # given a token of this role
    headers = bearer(await make_token(store, role))
    before = await snapshot(db)

    # when
    response = await route.call(client, world, headers)

    # then a role without the permission is refused and nothing changes; the others get through
    if role.value in route.roles:
        assert response.status_code == route.status, response.text
    else:
        assert response.status_code == 403, response.text
        error = error_of(response)
        assert error["code"] == "access.forbidden"
        assert role.value in error["message"]
        assert await snapshot(db) == before


async def test_a_viewer_cannot_reply_but_can_leave_a_note(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, make_token: TokenFactory,
    world: dict[str, int],
) -> None:
    headers = bearer(await make_token(store, Role.VIEWER))
    before = await snapshot(db)

    reply = await client.post(f"{API}/tickets/{world['ticket']}/replies",
                              json={"text": "Odpowiedź"}, headers=headers)

    assert reply.status_code == 403
    assert error_of(reply)["code"] == "access.forbidden"
    assert await snapshot(db) == before
    note = await client.post(f"{API}/tickets/{world['ticket']}/notes",
                             json={"text": "Notatka"}, headers=headers)
    assert note.status_code == 201
    assert note.json()["direction"] == "note"


async def test_an_analyst_cannot_change_a_ticket(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, make_token: TokenFactory,
    world: dict[str, int],
) -> None:
    headers = bearer(await make_token(store, Role.ANALYST))
    before = await snapshot(db)

    response = await client.patch(f"{API}/tickets/{world['ticket']}",
                                  json={"status": "solved"}, headers=headers)

    assert response.status_code == 403
    assert error_of(response)["code"] == "access.forbidden"
    assert await snapshot(db) == before
    assert (await client.get(f"{API}/tickets/{world['ticket']}", headers=headers)
            ).json()["status"] == "new"


async def test_an_agent_cannot_see_the_quarantine(
    client: httpx.AsyncClient, store: Store, make_token: TokenFactory, world: dict[str, int]
) -> None:
    headers = bearer(await make_token(store, Role.AGENT))

    response = await client.get(f"{API}/quarantine", headers=headers)

    assert response.status_code == 403
    assert error_of(response)["code"] == "access.forbidden"


async def _revoked(db: AsyncSession, store: Store) -> str:
    token, plain = await accounts.create_api_token(db, store_id=store.id, role=Role.ADMIN,
                                                   name="old")
    row = await db.get(ApiToken, token.id)
    assert row is not None
    row.revoked_at = datetime(2026, 1, 1, tzinfo=UTC)
    await commit(db)
    return plain


BAD_AUTH = [
    ("no header", None, "auth.missing_token"),
    ("basic auth", "Basic dXNlcjpwYXNz", "auth.missing_token"),
    ("empty bearer", "Bearer ", "auth.missing_token"),
    ("unknown token", "Bearer sd_not-a-real-token", "auth.invalid_token"),
    ("revoked token", "revoked", "auth.invalid_token"),
    ("channel token", "channel", "auth.invalid_token"),
]
AUTH_CASES = [(route, *bad) for route in ROUTES for bad in BAD_AUTH]


@pytest.mark.parametrize(("route", "case", "header", "code"), AUTH_CASES,
                         ids=[f"{r.id} with {case}" for r, case, _, _ in AUTH_CASES])
async def test_every_route_needs_a_valid_bearer_token(
    client: httpx.AsyncClient, db: AsyncSession, store: Store,
    api_channel: tuple[Channel, str], route: Route, case: str, header: str | None, code: str,
) -> None:
    # given a missing, malformed, unknown or revoked token, or a channel's inbound token
    # (the token is checked before anything is looked up, so the ids need not exist)
    world = dict.fromkeys(("ticket", "ticket2", "customer", "customer2", "attachment",
                           "payload"), 1)
    if header == "revoked":
        header = f"Bearer {await _revoked(db, store)}"
    elif header == "channel":
        header = f"Bearer {api_channel[1]}"
    headers = {} if header is None else {"Authorization": header}
    before = await snapshot(db)

    # when
    response = await route.call(client, world, headers)

    # then
    assert response.status_code == 401, response.text
    error = error_of(response)
    assert (error["code"], error["field"]) == (code, "Authorization")
    assert await snapshot(db) == before


@pytest.mark.parametrize(("header", "code"), [
    (None, "auth.missing_token"), ("Bearer sd_nope", "auth.invalid_token"), ("api", None)])
async def test_inbound_takes_only_a_channel_token(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    api_channel: tuple[Channel, str], header: str | None, code: str | None,
) -> None:
    # given no token, an unknown one, or an API (agent) token instead of the channel's
    headers = admin if header == "api" else ({} if header is None else
                                             {"Authorization": header})
    before = await snapshot(db)

    response = await client.post(f"{API}/inbound", json=payload(), headers=headers)

    assert response.status_code == 401
    assert error_of(response)["code"] == (code or "auth.invalid_token")
    assert await snapshot(db) == before


async def test_an_inactive_channel_cannot_post(
    client: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str]
) -> None:
    channel, token = api_channel
    channel.is_active = False
    await commit(db)
    before = await snapshot(db)

    response = await client.post(f"{API}/inbound", json=payload(), headers=bearer(token))

    assert response.status_code == 401
    assert error_of(response)["code"] == "auth.invalid_token"
    assert await snapshot(db) == before
