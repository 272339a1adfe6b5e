"""The quarantine page: what could not be read, why, the bytes (escaped), and a retry."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.channels.models import Channel, RawPayload
from sellerdesk.core import context
from sellerdesk.tickets.models import Ticket
from tests.api.support import API, payload, snapshot
from tests.conftest import bearer
from tests.web.admin_support import sign_in_as


async def post_raw(client: httpx.AsyncClient, token: str, body: bytes) -> int:
    response = await client.post(f"{API}/inbound", content=body, headers={
        **bearer(token), "Content-Type": "application/json"})
    assert response.status_code in (413, 422), response.text
    raw_id: int = response.json()["error"]["raw_payload_id"]
    return raw_id


async def fresh(db: AsyncSession, raw_id: int) -> RawPayload:
    raw = await db.get(RawPayload, raw_id, populate_existing=True)
    assert raw is not None
    return raw


async def test_the_list_shows_channel_received_and_reason(
    client: httpx.AsyncClient, db: AsyncSession, store: Store,
    api_channel: tuple[Channel, str],
) -> None:
    bad_json = await post_raw(client, api_channel[1], b'{"external_id": "x", ')
    no_sender = await post_raw(client, api_channel[1], json.dumps(
        {"external_id": "y", "text": "Gdzie paczka?"}).encode())
    await sign_in_as(client, db, store, Role.ADMIN)

    page = await client.get("/admin/quarantine")

    assert page.status_code == 200
    rows = page.text.split('data-testid="quarantine-row"')[1:]
    assert [f'href="/admin/quarantine/{i}"' in r for r, i in zip(
        rows, (no_sender, bad_json), strict=True)] == [True, True]
    assert "Shop API" in rows[0]
    assert "inbound.invalid_field" in rows[0]
    assert "from: Field required" in rows[0]
    assert "inbound.invalid_json" in rows[1]


async def test_the_list_pages_by_fifty(
    client: httpx.AsyncClient, db: AsyncSession, store: Store,
    api_channel: tuple[Channel, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sellerdesk.web.routes.admin import quarantine
    monkeypatch.setattr(quarantine, "PAGE_SIZE", 2)
    ids = [await post_raw(client, api_channel[1], b"{" * n) for n in range(1, 4)]
    await sign_in_as(client, db, store, Role.ADMIN)

    first = await client.get("/admin/quarantine")
    second = await client.get(f"/admin/quarantine?before_id={ids[1]}")

    assert first.text.count('data-testid="quarantine-row"') == 2
    assert f'href="/admin/quarantine?before_id={ids[1]}"' in first.text
    assert second.text.count('data-testid="quarantine-row"') == 1
    assert f'href="/admin/quarantine/{ids[0]}"' in second.text
    assert "before_id=" not in second.text.split("</table>")[1]


async def test_one_payload_shows_its_reason_and_escaped_bytes(
    client: httpx.AsyncClient, db: AsyncSession, store: Store,
    api_channel: tuple[Channel, str],
) -> None:
    body = b'<script>alert("x")</script>' + "zażółć ".encode() * 1000
    raw_id = await post_raw(client, api_channel[1], body)
    await sign_in_as(client, db, store, Role.ADMIN)

    page = await client.get(f"/admin/quarantine/{raw_id}")

    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;zażółć" in page.text
    assert "inbound.invalid_json" in page.text
    assert "application/json" in page.text
    preview = page.text.split('<pre class="raw"')[1].split("</pre>")[0]
    assert preview.count("zażółć") < 1000  # only the beginning is shown
    assert 'id="retry"' in page.text


async def test_retry_of_a_still_broken_payload_says_so(
    client: httpx.AsyncClient, db: AsyncSession, store: Store,
    api_channel: tuple[Channel, str],
) -> None:
    raw_id = await post_raw(client, api_channel[1], json.dumps(
        {"external_id": "y", "text": "Gdzie paczka?"}).encode())
    await sign_in_as(client, db, store, Role.ADMIN)

    response = await client.post(f"/admin/quarantine/{raw_id}/retry")

    assert response.status_code == 200
    result = response.text.split('id="retry-result"')[1].split("</div>")[0]
    assert "Still cannot be read." in result
    assert "from: Field required" in result
    raw = await fresh(db, raw_id)
    assert (raw.status, raw.attempts) == ("quarantined", 2)


async def test_retry_takes_in_a_payload_once_its_cause_is_gone(
    client: httpx.AsyncClient, db: AsyncSession, store: Store,
    api_channel: tuple[Channel, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a message quarantined because its attachment was over the limit then
    await sign_in_as(client, db, store, Role.ADMIN, language="pl")
    monkeypatch.setattr(context.get().blobs, "max_bytes", 1024)
    big = base64.b64encode(b"%PDF-" + b"0" * 2000).decode()
    raw_id = await post_raw(client, api_channel[1], json.dumps(payload(
        attachments=[{"filename": "faktura.pdf", "content_base64": big}])).encode())
    monkeypatch.undo()

    # when an admin retries it
    response = await client.post(f"/admin/quarantine/{raw_id}/retry")

    # then it becomes a ticket, and the page links it
    assert response.status_code == 200
    ticket_id = await db.scalar(select(Ticket.id))
    assert ticket_id is not None
    assert "Odczytano: otwarto nowe zgłoszenie." in response.text
    assert f'href="/tickets/{ticket_id}"' in response.text
    raw = await fresh(db, raw_id)
    assert (raw.status, raw.attempts) == ("processed", 2)
    assert "Kwarantanna jest pusta." in (await client.get("/admin/quarantine")).text

    # and a second retry is refused without change
    before = await snapshot(db)
    again = await client.post(f"/admin/quarantine/{raw_id}/retry")
    assert again.status_code == 409
    assert "Ta wiadomość nie jest już w kwarantannie." in again.text
    assert await snapshot(db) == before
    assert await db.scalar(select(func.count()).select_from(Ticket)) == 1
