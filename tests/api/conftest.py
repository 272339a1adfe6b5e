"""Fixtures of the cross-cutting API tests: two stores, each with one of every object."""

from __future__ import annotations

import base64

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels.models import Channel
from sellerdesk.tickets.models import Attachment, Ticket
from tests.api.support import API, inbound
from tests.conftest import bearer

__all__ = ["world"]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


async def _objects(client: httpx.AsyncClient, db: AsyncSession, token: str, prefix: str
                   ) -> dict[str, int]:
    """Two tickets (the first with an attachment), their two customers, a quarantined payload."""
    first = await inbound(client, token, external_id=f"{prefix}-1", text="Proszę o zwrot.",
                          attachments=[{"filename": "paczka.png",
                                        "content_base64": base64.b64encode(PNG).decode()}])
    second = await inbound(client, token, external_id=f"{prefix}-2", text="Refund please",
                           **{"from": {"name": "Jan", "email": "jan@example.pl"}})
    broken = await client.post(f"{API}/inbound", content=b'{"external_id": ',
                               headers={**bearer(token), "Content-Type": "application/json"})
    assert broken.status_code == 422
    tickets = [await db.get(Ticket, r["ticket_id"]) for r in (first, second)]
    attachment = await db.scalar(
        select(Attachment.id).where(Attachment.message_id == first["message_id"]))
    assert tickets[0] is not None
    assert tickets[1] is not None
    assert tickets[0].customer_id is not None
    assert tickets[1].customer_id is not None
    assert attachment is not None
    return {
        "ticket": tickets[0].id, "ticket2": tickets[1].id,
        "customer": tickets[0].customer_id, "customer2": tickets[1].customer_id,
        "attachment": attachment, "payload": broken.json()["error"]["raw_payload_id"],
    }


@pytest.fixture
async def world(client: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str],
                other_channel: tuple[Channel, str]) -> dict[str, int]:
    """Ids of this store's objects, and of the other store's as other_<name>."""
    ours = await _objects(client, db, api_channel[1], "ours")
    theirs = await _objects(client, db, other_channel[1], "theirs")
    return {**ours, **{f"other_{name}": value for name, value in theirs.items()}}
