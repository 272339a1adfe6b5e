"""Creating stores: slugs and time zones are checked before anything is written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions
from sellerdesk.accounts.models import Store
from sellerdesk.core.errors import Conflict, Invalid


async def stores(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(Store)) or 0)


async def test_store_is_created_with_its_zone(db: AsyncSession) -> None:
    store = await actions.create_store(db, slug="hanok-goods", name="Hanok Goods",
                                       timezone="Asia/Seoul", default_language="ko")

    assert (store.slug, store.timezone, store.default_language) == (
        "hanok-goods", "Asia/Seoul", "ko")


@pytest.mark.parametrize(
    ("slug", "timezone", "code", "field"),
    [
        ("Acme Shop", "UTC", "store.invalid_slug", "slug"),
        ("", "UTC", "store.invalid_slug", "slug"),
        ("acme", "Mars/Olympus", "store.invalid_timezone", "timezone"),
        ("acme", "../../etc/passwd", "store.invalid_timezone", "timezone"),
    ],
)
async def test_bad_store_settings_are_refused_and_nothing_is_stored(
    db: AsyncSession, slug: str, timezone: str, code: str, field: str
) -> None:
    with pytest.raises(Invalid) as raised:
        await actions.create_store(db, slug=slug, name="Acme", timezone=timezone)

    assert (raised.value.code, raised.value.field) == (code, field)
    assert await stores(db) == 0


async def test_second_store_with_the_same_slug_conflicts(db: AsyncSession) -> None:
    await actions.create_store(db, slug="acme", name="Acme")

    with pytest.raises(Conflict) as raised:
        await actions.create_store(db, slug="acme", name="Acme again")

    assert raised.value.code == "store.exists"
    assert await stores(db) == 1
