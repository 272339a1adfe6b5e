"""API tokens on the admin page: created (shown once, working), listed, revoked."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import ApiToken, Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.core.security import hash_token
from sellerdesk.tickets.models import AuditEvent
from tests.api.support import API, snapshot
from tests.conftest import bearer
from tests.web.admin_support import sign_in_as


async def test_a_new_token_is_shown_once_and_works(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    admin = await sign_in_as(client, db, store, Role.ADMIN)

    response = await client.post("/admin/tokens", data={"name": "Shop sync", "role": "agent"})

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    plain = re.search(r'id="new-token" class="secret" value="([^"]+)"', response.text)
    assert plain is not None
    token = (await db.execute(select(ApiToken).where(ApiToken.name == "Shop sync"))
             ).scalar_one()
    assert (token.role, token.store_id, token.token_hash) == (
        "agent", store.id, hash_token(plain.group(1)))
    assert plain.group(1) not in (await client.get("/admin/tokens")).text
    assert token.prefix in (await client.get("/admin/tokens")).text
    works = await client.get(f"{API}/tickets", headers=bearer(plain.group(1)))
    assert works.status_code == 200
    event = (await db.execute(select(AuditEvent).where(AuditEvent.action == "token.created"))
             ).scalar_one()
    assert (event.actor_id, event.entity_id) == (admin.id, token.id)


async def test_a_revoked_token_stops_working(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    token, plain = await accounts.create_api_token(db, store_id=store.id, role=Role.ADMIN,
                                                   name="old sync")
    admin = await sign_in_as(client, db, store, Role.ADMIN)

    response = await client.post(f"/admin/tokens/{token.id}/revoke")
    again = await client.post(f"/admin/tokens/{token.id}/revoke")

    assert response.status_code == again.status_code == 303
    await db.refresh(token)
    assert token.revoked_at is not None
    assert (await client.get(f"{API}/tickets", headers=bearer(plain))).status_code == 401
    events = (await db.execute(select(AuditEvent).where(AuditEvent.action == "token.revoked"))
              ).scalars().all()
    assert [(e.actor_id, e.entity_id, e.after) for e in events] == [
        (admin.id, token.id, {"name": "old sync", "prefix": token.prefix})]
    row = (await client.get("/admin/tokens")).text.split(f'id="token-{token.id}"')[1]
    assert "Revoked" in row.split("</tr>")[0]
    assert "/revoke" not in row.split("</tr>")[0]


async def test_bad_tokens_are_refused_and_nothing_is_created(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    await sign_in_as(client, db, store, Role.ADMIN)
    before = await snapshot(db)

    nameless = await client.post("/admin/tokens", data={"name": " ", "role": "agent"})
    bad_role = await client.post("/admin/tokens", data={"name": "x", "role": "root"})
    owner = await client.post("/admin/tokens", data={"name": "x", "role": "owner"})
    unknown = await client.post("/admin/tokens/987654/revoke")

    assert nameless.status_code == 422
    assert "Enter a name" in nameless.text
    assert bad_role.status_code == 422
    assert "Choose a role from the list." in bad_role.text
    assert owner.status_code == 403
    assert "Only an owner can give the owner role" in owner.text
    assert unknown.status_code == 404
    assert await snapshot(db) == before


async def test_an_owner_may_create_an_owner_token(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    await sign_in_as(client, db, store, Role.OWNER)

    response = await client.post("/admin/tokens", data={"name": "root", "role": "owner"})

    assert response.status_code == 200
    token = (await db.execute(select(ApiToken).where(ApiToken.name == "root"))).scalar_one()
    assert token.role == "owner"
