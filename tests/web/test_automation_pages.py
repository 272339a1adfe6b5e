"""Automation settings pages: who may open them, and saving through the API with the session."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent
from sellerdesk.automation.macros.models import Macro
from tests.api.support import API
from tests.web.support import sign_in


async def test_owner_sees_every_kind_and_its_editor(client: httpx.AsyncClient,
                                                    owner: Agent) -> None:
    client.headers["X-CSRF-Token"] = await sign_in(client, owner.email)

    index = await client.get("/automation")
    listing = await client.get("/automation/macros")
    new = await client.get("/automation/sla-policies/new")

    assert index.status_code == listing.status_code == new.status_code == 200
    for key in ("calendars", "sla-policies", "macros", "rules", "pre-approved-actions",
                "escalation-trees", "routing"):
        assert f'href="/automation/{key}"' in index.text
    assert 'data-api="/api/v1/macros"' in listing.text
    assert "Amazon buyer messages" in new.text  # the starting definition


async def test_agents_may_not_open_automation(browser: httpx.AsyncClient) -> None:
    for path in ("/automation", "/automation/macros", "/automation/macros/new",
                 "/automation/macros/1"):
        assert (await browser.get(path)).status_code == 403, path


async def test_unknown_kind_is_not_found(client: httpx.AsyncClient, owner: Agent) -> None:
    await sign_in(client, owner.email)

    assert (await client.get("/automation/spells")).status_code == 404


async def test_the_editor_saves_through_the_api_with_the_session(
    client: httpx.AsyncClient, db: AsyncSession, owner: Agent
) -> None:
    client.headers["X-CSRF-Token"] = await sign_in(client, owner.email)
    definition = {"name": "Paczka w drodze", "variants": {"pl": "Paczka jest w drodze."}}

    created = await client.post(f"{API}/macros", json=definition)
    refused = await client.post(f"{API}/macros", json={"name": "", "variants": {}})

    assert created.status_code == 201, created.text
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] is not None
    assert await db.scalar(select(func.count()).select_from(Macro)) == 1


async def test_korean_automation_page_is_in_korean(client: httpx.AsyncClient, db: AsyncSession,
                                                   owner: Agent) -> None:
    owner.language = "ko"
    await db.flush()
    await sign_in(client, owner.email)

    page = await client.get("/automation")

    assert "자동화" in page.text
    assert "영업시간" in page.text
    assert "Business hours" not in page.text
