"""The API channel through the one inbound path: POST /api/v1/inbound."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels import inbound
from sellerdesk.channels.models import Channel, RawPayload
from sellerdesk.core.clock import now
from sellerdesk.jobs.models import Job
from sellerdesk.tickets.models import Attachment, AuditEvent, Message, Ticket
from tests.conftest import bearer


def payload(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "external_id": "ext-1",
        "from": {"name": "Ewa Nowak", "email": "Ewa@Example.pl"},
        "subject": "Zwrot zamówienia",
        "text": "Dzień dobry, proszę o zwrot pieniędzy za uszkodzoną paczkę.",
    }
    body.update(overrides)
    return body


async def count(db: AsyncSession, model: type) -> int:
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def test_inbound_creates_ticket_customer_message_audit_and_job(
    client: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str]
) -> None:
    channel, token = api_channel

    response = await client.post("/api/v1/inbound", json=payload(), headers=bearer(token))

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["outcome"] == "created"
    ticket = await db.get(Ticket, body["ticket_id"])
    assert ticket is not None
    assert ticket.subject == "Zwrot zamówienia"
    assert ticket.status == "new"
    assert ticket.channel_type == "api"
    assert ticket.message_count == 1
    message = await db.get(Message, body["message_id"])
    assert message is not None
    assert message.external_id == "ext-1"
    raw = await db.get(RawPayload, body["raw_payload_id"])
    assert raw is not None
    assert raw.status == "processed"
    assert raw.message_id == message.id
    actions = list((await db.execute(
        select(AuditEvent.action).where(AuditEvent.ticket_id == ticket.id).order_by(AuditEvent.id)
    )).scalars())
    assert actions == ["ticket.created", "message.received"]
    jobs = [tuple(r) for r in await db.execute(select(Job.name, Job.payload))]
    assert jobs == [("inbound.received", {"message_id": message.id})]


async def test_replayed_inbound_is_a_no_op(
    client: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str]
) -> None:
    _, token = api_channel
    first = await client.post("/api/v1/inbound", json=payload(), headers=bearer(token))

    second = await client.post("/api/v1/inbound", json=payload(), headers=bearer(token))

    assert second.status_code == 200
    assert second.json()["outcome"] == "duplicate"
    assert second.json()["message_id"] == first.json()["message_id"]
    assert await count(db, Message) == 1
    assert await count(db, Ticket) == 1


async def test_thread_key_appends_to_the_same_ticket(
    client: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str]
) -> None:
    _, token = api_channel
    first = await client.post("/api/v1/inbound", json=payload(thread_key="conv-9"),
                              headers=bearer(token))

    second = await client.post(
        "/api/v1/inbound",
        json=payload(external_id="ext-2", thread_key="conv-9", text="Czy są już jakieś wieści?"),
        headers=bearer(token),
    )

    assert second.json()["outcome"] == "appended"
    assert second.json()["ticket_id"] == first.json()["ticket_id"]
    ticket = await db.get(Ticket, first.json()["ticket_id"])
    assert ticket is not None
    assert ticket.message_count == 2


async def test_malformed_json_is_quarantined_with_reason(
    client: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str]
) -> None:
    _, token = api_channel

    response = await client.post("/api/v1/inbound", content=b"{not json",
                                 headers={**bearer(token), "Content-Type": "application/json"})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "inbound.invalid_json"
    raw = await db.get(RawPayload, error["raw_payload_id"])
    assert raw is not None
    assert raw.status == "quarantined"
    assert raw.body == b"{not json"
    assert await count(db, Ticket) == 0


async def test_missing_sender_names_the_field(
    client: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str]
) -> None:
    _, token = api_channel
    bad = payload()
    del bad["from"]

    response = await client.post("/api/v1/inbound", json=bad, headers=bearer(token))

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "from"
    assert await count(db, Ticket) == 0


async def test_attachment_is_stored_once_and_sniffed(
    client: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str]
) -> None:
    _, token = api_channel
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    attachment = {"filename": "photo.txt", "content_type": "text/plain",
                  "content_base64": base64.b64encode(png).decode()}

    response = await client.post("/api/v1/inbound", json=payload(attachments=[attachment]),
                                 headers=bearer(token))

    assert response.status_code == 201
    att = (await db.execute(select(Attachment))).scalar_one()
    assert att.content_type == "image/png"
    assert att.size == len(png)


async def test_unknown_token_is_401_and_stores_nothing(
    client: httpx.AsyncClient, db: AsyncSession, api_channel: tuple[Channel, str]
) -> None:
    response = await client.post("/api/v1/inbound", json=payload(), headers=bearer("sd_wrong"))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.invalid_token"
    assert await count(db, RawPayload) == 0


async def test_payload_stored_but_never_processed_is_recovered(
    db: AsyncSession, api_channel: tuple[Channel, str]
) -> None:
    # given a payload committed just before the process died, three minutes ago
    channel, _ = api_channel
    raw = RawPayload(store_id=channel.store_id, channel_id=channel.id,
                     content_type="application/json", body=json.dumps(payload()).encode(),
                     received_at=now() - timedelta(minutes=3))
    db.add(raw)
    await db.commit()

    # when the scheduler's periodic recovery runs
    recovered = await inbound.recover_stale(db)

    # then it is parsed and ingested like any other
    assert recovered == 1
    await db.refresh(raw)
    assert raw.status == "processed"
    assert await count(db, Ticket) == 1
    assert await inbound.recover_stale(db) == 0


async def test_fresh_unprocessed_payload_is_left_to_its_request(
    db: AsyncSession, api_channel: tuple[Channel, str]
) -> None:
    channel, _ = api_channel
    db.add(RawPayload(store_id=channel.store_id, channel_id=channel.id,
                      content_type="application/json", body=json.dumps(payload()).encode()))
    await db.commit()

    assert await inbound.recover_stale(db) == 0
