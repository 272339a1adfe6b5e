"""The quarantine: payloads the inbound path could not take, listed, shown and retried."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels.models import Channel, RawPayload
from sellerdesk.core import context
from sellerdesk.tickets.models import Ticket
from tests.api.support import API, error_of, payload, snapshot
from tests.conftest import bearer


async def post_raw(client: httpx.AsyncClient, token: str, body: bytes) -> httpx.Response:
    return await client.post(f"{API}/inbound", content=body,
                             headers={**bearer(token), "Content-Type": "application/json"})


async def fresh(db: AsyncSession, raw_id: int) -> RawPayload:
    raw = await db.get(RawPayload, raw_id, populate_existing=True)
    assert raw is not None
    return raw


async def tickets(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(Ticket)) or 0)


@pytest.fixture
async def quarantined(client: httpx.AsyncClient, api_channel: tuple[Channel, str]
                      ) -> tuple[int, int]:
    """Two broken payloads (bad JSON, then a missing sender) after a good one."""
    token = api_channel[1]
    good = await post_raw(client, token, json.dumps(payload()).encode())
    assert good.status_code == 201
    bad_json = await post_raw(client, token, b'{"external_id": "x", ')
    no_sender = await post_raw(client, token, json.dumps(
        {"external_id": "y", "text": "Gdzie paczka?"}).encode())
    assert (bad_json.status_code, no_sender.status_code) == (422, 422)
    return (bad_json.json()["error"]["raw_payload_id"],
            no_sender.json()["error"]["raw_payload_id"])


async def test_list_shows_quarantined_payloads_newest_first(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    api_channel: tuple[Channel, str], quarantined: tuple[int, int],
) -> None:
    bad_json, no_sender = quarantined

    response = await client.get(f"{API}/quarantine", headers=admin)

    assert response.status_code == 200
    items = response.json()
    assert [i["id"] for i in items] == [no_sender, bad_json]
    newest = items[0]
    raw = await fresh(db, no_sender)
    assert raw.processed_at is not None
    assert newest == {
        "id": no_sender, "channel_id": api_channel[0].id, "content_type": "application/json",
        "status": "quarantined", "error_code": "inbound.invalid_field",
        "error_reason": "from: Field required", "attempts": 1, "size": len(raw.body),
        "received_at": raw.received_at.isoformat().replace("+00:00", "Z"),
        "processed_at": raw.processed_at.isoformat().replace("+00:00", "Z"),
    }
    assert items[1]["error_code"] == "inbound.invalid_json"
    assert items[1]["size"] == len(b'{"external_id": "x", ')


async def test_list_pages_with_before_id_and_limit(
    client: httpx.AsyncClient, admin: dict[str, str], quarantined: tuple[int, int]
) -> None:
    bad_json, no_sender = quarantined

    first = await client.get(f"{API}/quarantine", params={"limit": 1}, headers=admin)
    second = await client.get(f"{API}/quarantine", params={"before_id": no_sender},
                              headers=admin)

    assert [i["id"] for i in first.json()] == [no_sender]
    assert [i["id"] for i in second.json()] == [bad_json]


async def test_detail_shows_the_body_and_the_reason(
    client: httpx.AsyncClient, admin: dict[str, str], quarantined: tuple[int, int]
) -> None:
    bad_json, _ = quarantined

    response = await client.get(f"{API}/quarantine/{bad_json}", headers=admin)

    assert response.status_code == 200
    body = response.json()
    assert body["body_preview"] == '{"external_id": "x", '
    assert body["error_code"] == "inbound.invalid_json"
    assert body["error_reason"].startswith("body is not valid JSON: ")
    assert (body["status"], body["attempts"]) == ("quarantined", 1)


async def test_detail_preview_is_cut_and_survives_bytes_that_are_not_utf8(
    client: httpx.AsyncClient, admin: dict[str, str], api_channel: tuple[Channel, str]
) -> None:
    broken = b"\xff\xfe" + "zażółć ".encode() * 1000
    response = await post_raw(client, api_channel[1], broken)
    raw_id = response.json()["error"]["raw_payload_id"]

    detail = await client.get(f"{API}/quarantine/{raw_id}", headers=admin)

    body = detail.json()
    assert body["size"] == len(broken)
    assert body["body_preview"] == broken[:4096].decode("utf-8", "replace")
    assert body["body_preview"].startswith("\ufffd\ufffdzażółć")


async def test_unknown_payload_is_404(
    client: httpx.AsyncClient, admin: dict[str, str], quarantined: tuple[int, int]
) -> None:
    response = await client.get(f"{API}/quarantine/987654", headers=admin)

    assert response.status_code == 404
    error = error_of(response)
    assert (error["code"], error["field"]) == ("quarantine.not_found", "payload_id")


async def test_retry_of_a_still_broken_payload_keeps_it_quarantined(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    quarantined: tuple[int, int],
) -> None:
    # given a payload that still cannot be parsed
    _, no_sender = quarantined
    tickets_before = await tickets(db)

    # when it is retried twice
    first = await client.post(f"{API}/quarantine/{no_sender}/retry", headers=admin)
    second = await client.post(f"{API}/quarantine/{no_sender}/retry", headers=admin)

    # then it stays quarantined with the same reason, each attempt counted, nothing created
    for response in (first, second):
        assert response.status_code == 422
        error = error_of(response)
        assert (error["code"], error["field"]) == ("inbound.invalid_field", "from")
        assert response.json()["error"]["raw_payload_id"] == no_sender
    raw = await fresh(db, no_sender)
    assert (raw.status, raw.attempts, raw.error_code) == ("quarantined", 3,
                                                          "inbound.invalid_field")
    assert await tickets(db) == tickets_before


async def test_retry_ingests_a_payload_once_its_cause_is_gone(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    api_channel: tuple[Channel, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a message quarantined because its attachment was over the size limit then
    token = api_channel[1]
    blobs = context.get().blobs
    monkeypatch.setattr(blobs, "max_bytes", 1024)
    big = base64.b64encode(b"%PDF-" + b"0" * 2000).decode()
    refused = await client.post(f"{API}/inbound", headers=bearer(token), json=payload(
        attachments=[{"filename": "faktura.pdf", "content_base64": big}]))
    assert refused.status_code == 413
    raw_id = refused.json()["error"]["raw_payload_id"]
    refused_raw = await fresh(db, raw_id)
    assert (refused_raw.status, refused_raw.error_code, refused_raw.attempts) == (
        "quarantined", "attachment.too_large", 1)
    assert await tickets(db) == 0

    # when the limit is raised again and the payload retried
    monkeypatch.undo()
    response = await client.post(f"{API}/quarantine/{raw_id}/retry", headers=admin)

    # then the message is ingested and the payload leaves the quarantine
    assert response.status_code == 201, response.text
    assert response.json()["outcome"] == "created"
    raw = await fresh(db, raw_id)
    assert (raw.status, raw.attempts, raw.error_code, raw.message_id) == (
        "processed", 2, None, response.json()["message_id"])
    listed = await client.get(f"{API}/quarantine", headers=admin)
    assert listed.json() == []
    messages = await client.get(f"{API}/tickets/{response.json()['ticket_id']}/messages",
                                headers=admin)
    assert [a["filename"] for a in messages.json()[0]["attachments"]] == ["faktura.pdf"]


@pytest.mark.parametrize("which", ["processed", "duplicate"])
async def test_retry_of_a_payload_not_in_quarantine_is_409(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    api_channel: tuple[Channel, str], which: str,
) -> None:
    # given a payload that was processed, and its replay (a duplicate)
    first = await client.post(f"{API}/inbound", json=payload(), headers=bearer(api_channel[1]))
    again = await client.post(f"{API}/inbound", json=payload(), headers=bearer(api_channel[1]))
    raw_id = (first if which == "processed" else again).json()["raw_payload_id"]
    before = await snapshot(db)

    # when
    response = await client.post(f"{API}/quarantine/{raw_id}/retry", headers=admin)

    # then
    assert response.status_code == 409
    error = error_of(response)
    assert (error["code"], error["field"]) == ("quarantine.not_quarantined", "payload_id")
    assert error["message"] == f"payload {raw_id} is {which}, not quarantined"
    assert await snapshot(db) == before
