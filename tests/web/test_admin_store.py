"""Store settings: name, time zone, default language; a bad value changes nothing."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.tickets.models import AuditEvent
from tests.api.support import snapshot
from tests.web.admin_support import sign_in_as


async def test_settings_are_saved_and_audited(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    admin = await sign_in_as(client, db, store, Role.ADMIN)
    form = await client.get("/admin/store")
    assert 'value="Acme Shop"' in form.text

    response = await client.post("/admin/store", data={
        "name": "  Acme Polska ", "timezone": "Europe/Warsaw", "default_language": "pl"})

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/store?saved=1"
    await db.refresh(store)
    assert (store.name, store.timezone, store.default_language) == (
        "Acme Polska", "Europe/Warsaw", "pl")
    event = (await db.execute(select(AuditEvent).where(AuditEvent.action == "store.updated"))
             ).scalar_one()
    assert (event.actor_type, event.actor_id, event.entity_id) == ("agent", admin.id, store.id)
    assert event.before == {"name": "Acme Shop", "timezone": "UTC", "default_language": "en"}
    assert event.after == {"name": "Acme Polska", "timezone": "Europe/Warsaw",
                           "default_language": "pl"}
    shown = await client.get("/admin/store?saved=1")
    assert 'value="Acme Polska"' in shown.text
    assert "Saved." in shown.text


@pytest.mark.parametrize(("field", "value", "says"), [
    ("timezone", "Mars/Olympus", "Mars/Olympus is not a time zone such as Europe/Warsaw."),
    ("timezone", "", " is not a time zone such as Europe/Warsaw."),
    ("default_language", "de", "Choose a language from the list."),
    ("name", "   ", "Enter a name; it may not be empty or too long."),
    ("name", "x" * 201, "Enter a name; it may not be empty or too long."),
])
async def test_a_bad_value_is_named_and_nothing_changes(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, field: str, value: str,
    says: str,
) -> None:
    await sign_in_as(client, db, store, Role.OWNER)
    before = await snapshot(db)
    data = {"name": "Acme Polska", "timezone": "Europe/Warsaw", "default_language": "pl",
            field: value}

    response = await client.post("/admin/store", data=data)

    assert response.status_code == 422
    assert says in response.text
    assert 'aria-invalid="true"' in response.text
    assert await snapshot(db) == before


async def test_the_zone_error_is_translated(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    await sign_in_as(client, db, store, Role.OWNER, language="pl")

    response = await client.post("/admin/store", data={
        "name": "Acme", "timezone": "Mars/Olympus", "default_language": "pl"})

    assert response.status_code == 422
    assert "Mars/Olympus" in response.text
    assert "is not a time zone" not in response.text
    await db.refresh(store)
    assert store.timezone == "UTC"
