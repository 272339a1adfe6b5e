"""The workspace pages load live.js and carry its texts, translated on the server."""

from __future__ import annotations

import html

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from tests.realtime.conftest import make_agent
from tests.web.support import sign_in


async def test_signed_in_pages_load_live_js_with_polish_texts(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    agent = await make_agent(db, store, "ola@acme.test", "Ola Nowak", language="pl")
    await sign_in(client, agent.email)

    page = (await client.get("/profile")).text

    assert "/static/js/live.js" in page
    assert f'data-agent="{agent.id}"' in page
    text = html.unescape(page)
    assert 'data-live-viewing-one="{name} również przegląda to zgłoszenie"' in text
    assert 'data-live-viewing-many="{names} również przeglądają to zgłoszenie"' in text
    assert 'data-live-typing-one="{name} pisze odpowiedź"' in text
    assert 'data-live-typing-many="{names} piszą odpowiedź"' in text
    assert "is also viewing" not in text
    assert "typing a reply" not in text


async def test_korean_pages_carry_korean_live_texts(
    client: httpx.AsyncClient, db: AsyncSession, store: Store
) -> None:
    agent = await make_agent(db, store, "minji@acme.test", "김민지", language="ko")
    await sign_in(client, agent.email)

    text = html.unescape((await client.get("/profile")).text)

    assert 'data-live-typing-one="{name} 님이 답장을 작성하고 있습니다"' in text
    assert 'data-live-lost="실시간 업데이트가 중단되었습니다. 다시 연결하는 중입니다…"' in text


async def test_the_sign_in_page_opens_no_socket(client: httpx.AsyncClient) -> None:
    page = (await client.get("/login")).text

    assert "live.js" not in page
    assert "data-live-" not in page


async def test_live_js_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/js/live.js")

    assert response.status_code == 200
    assert 'trigger("live:" + type, event)' in response.text
