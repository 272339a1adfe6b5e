"""Agents' files are stored as customers' are: path parts dropped, type from the bytes."""

from __future__ import annotations

import base64

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels.models import Channel
from sellerdesk.tickets.models import Attachment
from tests.api.support import API, inbound


async def test_a_note_attachment_keeps_only_its_file_name(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    api_channel: tuple[Channel, str],
) -> None:
    # given a ticket
    created = await inbound(client, api_channel[1])
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16

    # when an agent notes it with a file whose name climbs out of its folder
    response = await client.post(
        f"{API}/tickets/{created['ticket_id']}/notes",
        json={"text": "Zdjęcie od kuriera", "attachments": [{
            "filename": "..\\..\\etc/zdjęcie.txt", "content_base64": base64.b64encode(png).decode(),
        }]},
        headers=admin,
    )

    # then only the name is kept, and the type is what the bytes are
    assert response.status_code == 201
    stored = (await db.execute(
        select(Attachment).where(Attachment.message_id == response.json()["id"])
    )).scalar_one()
    assert (stored.filename, stored.content_type) == ("zdjęcie.txt", "image/png")
