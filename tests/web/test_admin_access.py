"""Who may open the admin pages: owners and admins; everyone else gets 403 and changes nothing."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.accounts.permissions import Role
from tests.api.support import snapshot
from tests.web.admin_support import World, build_world, sign_in_as

PAGES = ["/admin", "/admin/store", "/admin/agents", "/admin/teams", "/admin/email",
         "/admin/email/new", "/admin/email/{account}", "/admin/tokens", "/admin/quarantine",
         "/admin/quarantine/{payload}"]

# Every form of the admin pages, with what a valid submission holds.
ACTIONS: list[tuple[str, dict[str, str]]] = [
    ("/admin/store", {"name": "Renamed", "timezone": "Asia/Seoul", "default_language": "ko"}),
    ("/admin/agents", {"email": "new@acme.test", "name": "New", "role": "agent",
                       "language": "pl"}),
    ("/admin/agents/{agent}/role", {"role": "manager"}),
    ("/admin/agents/{agent}/active", {"active": "0"}),
    ("/admin/agents/{agent}/invitation", {}),
    ("/admin/teams", {"name": "Billing", "language": ""}),
    ("/admin/teams/{team}", {"name": "Renamed team", "language": "pl"}),
    ("/admin/teams/{team}/members", {"agent_id": "{agent}"}),
    ("/admin/teams/{team}/members/{agent}/remove", {}),
    ("/admin/email", {"address": "sales@acme.test", "imap_security": "ssl",
                      "smtp_security": "starttls"}),
    ("/admin/email/{account}", {"display_name": "Changed", "imap_security": "ssl",
                                "smtp_security": "starttls", "is_active": "1"}),
    ("/admin/email/{account}/test", {}),
    ("/admin/tokens", {"name": "New token", "role": "agent"}),
    ("/admin/tokens/{token}/revoke", {}),
    ("/admin/quarantine/{payload}/retry", {}),
]


def fill(template: str, world: World) -> str:
    return template.format(agent=world.agent, team=world.team, token=world.token,
                           account=world.account, payload=world.payload)


@pytest.fixture
async def world(db: AsyncSession, store: Store) -> World:
    return await build_world(db, store)


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
async def test_owners_and_admins_see_every_admin_page(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, world: World, role: Role
) -> None:
    await sign_in_as(client, db, store, role)

    for path in PAGES:
        response = await client.get(fill(path, world))
        assert response.status_code == 200, (path, response.text[-500:])
        assert 'aria-current="page"' in response.text


async def test_the_overview_links_every_section(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    await sign_in_as(client, db, store, Role.ADMIN)

    page = await client.get("/admin")

    for section in ("store", "agents", "teams", "email", "tokens", "quarantine"):
        assert f'href="/admin/{section}" id="admin-{section}"' in page.text


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AGENT, Role.VIEWER, Role.ANALYST])
async def test_other_roles_get_403_and_change_nothing(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, world: World, role: Role
) -> None:
    await sign_in_as(client, db, store, role)
    nav = await client.get("/profile")
    assert 'href="/admin"' not in nav.text
    before = await snapshot(db)

    for path in PAGES:
        response = await client.get(fill(path, world))
        assert response.status_code == 403, path
        assert response.headers["X-Error-Code"] == "access.forbidden"
    for path, data in ACTIONS:
        form = {k: fill(v, world) for k, v in data.items()}
        response = await client.post(fill(path, world), data=form)
        assert response.status_code == 403, path
        assert response.headers["X-Error-Code"] == "access.forbidden"

    assert await snapshot(db) == before


async def test_forms_without_the_csrf_token_are_refused(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, world: World
) -> None:
    await sign_in_as(client, db, store, Role.OWNER)
    del client.headers["X-CSRF-Token"]
    before = await snapshot(db)

    for path, data in ACTIONS:
        form = {k: fill(v, world) for k, v in data.items()}
        response = await client.post(fill(path, world), data=form)
        assert response.status_code == 403, path
        assert response.headers["X-Error-Code"] == "auth.bad_csrf"

    assert await snapshot(db) == before


async def test_another_stores_objects_are_404_and_unchanged(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, other_store: Store
) -> None:
    mine = await build_world(db, store)
    theirs = await build_world(db, other_store, prefix="x")
    await sign_in_as(client, db, store, Role.OWNER)
    before = await snapshot(db)

    for path in PAGES:
        if "{" in path:
            assert (await client.get(fill(path, theirs))).status_code == 404, path
    for path, data in ACTIONS:
        if "{" not in path:
            continue
        form = {k: fill(v, theirs) for k, v in data.items()}
        response = await client.post(fill(path, theirs), data=form)
        assert response.status_code == 404, path
    # Their agent in my team, my agent in their team.
    mixed = [(f"/admin/teams/{mine.team}/members", {"agent_id": str(theirs.agent)}),
             (f"/admin/teams/{theirs.team}/members", {"agent_id": str(mine.agent)}),
             (f"/admin/teams/{mine.team}/members/{theirs.agent}/remove", {})]
    for path, form in mixed:
        assert (await client.post(path, data=form)).status_code == 404, path

    assert await snapshot(db) == before


async def test_signed_out_visitors_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/agents")

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/agents"
