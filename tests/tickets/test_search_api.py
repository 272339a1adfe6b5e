"""GET /api/v1/search: messages that arrived through the API channel, found in ko/pl/en."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.channels.models import Channel
from sellerdesk.tickets.models import Message
from tests.api.support import API, error_of, inbound


async def search(client: httpx.AsyncClient, headers: dict[str, str], q: str, **params: int
                 ) -> list[int]:
    response = await client.get(f"{API}/search", params={"q": q, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return [hit["message_id"] for hit in response.json()["items"]]


async def send(client: httpx.AsyncClient, token: str, n: int, text: str,
               subject: str = "Zapytanie") -> int:
    result = await inbound(client, token, external_id=f"m{n}", subject=subject, text=text)
    message_id: int = result["message_id"]
    return message_id


async def test_korean_word_finds_the_message_that_contains_it(
    client: httpx.AsyncClient, admin: dict[str, str], api_channel: tuple[Channel, str]
) -> None:
    # given a Korean refund request and a complaint that shares one syllable with it
    token = api_channel[1]
    refund = await send(client, token, 1, "환불을 요청합니다", subject="문의")
    complaint = await send(client, token, 2, "불만이 있습니다", subject="문의")

    # when / then
    assert await search(client, admin, "환불") == [refund]
    assert await search(client, admin, "요청") == [refund]
    assert await search(client, admin, "불만") == [complaint]
    assert await search(client, admin, "문의") == [complaint, refund]


async def test_hit_carries_ticket_subject_direction_snippet_and_time(
    client: httpx.AsyncClient, db: AsyncSession, admin: dict[str, str],
    api_channel: tuple[Channel, str],
) -> None:
    result = await inbound(client, api_channel[1], subject="문의 드립니다",
                           text="환불을 요청합니다.\n\n  주문번호 12345")
    message = await db.get(Message, result["message_id"])
    assert message is not None

    response = await client.get(f"{API}/search", params={"q": "환불"}, headers=admin)

    assert response.json() == {
        "items": [{
            "ticket_id": result["ticket_id"], "message_id": result["message_id"],
            "subject": "문의 드립니다", "direction": "inbound",
            "snippet": "환불을 요청합니다. 주문번호 12345",
            "created_at": message.created_at.isoformat().replace("+00:00", "Z"),
        }],
        "next_before_id": None,
    }


async def test_polish_stem_finds_inflected_forms_newest_first(
    client: httpx.AsyncClient, admin: dict[str, str], api_channel: tuple[Channel, str]
) -> None:
    # given two inflected forms of "zwrot" and an unrelated message
    token = api_channel[1]
    genitive = await send(client, token, 1, "Proszę o dokonanie zwrotu pieniędzy.")
    await send(client, token, 2, "Paczka nie dotarła.")
    locative = await send(client, token, 3, "Pytam o informację o zwrocie.")

    # when
    found = await search(client, admin, "zwrot")

    # then both forms are found, newest first
    assert found == [locative, genitive]


async def test_results_are_newest_first_and_page_with_before_id(
    client: httpx.AsyncClient, admin: dict[str, str], api_channel: tuple[Channel, str]
) -> None:
    token = api_channel[1]
    ids = [await send(client, token, n, f"Refund request number {n}") for n in range(5)]

    first = await client.get(f"{API}/search", params={"q": "refund", "limit": 2},
                             headers=admin)
    second = await client.get(f"{API}/search", headers=admin, params={
        "q": "refund", "limit": 2, "before_id": first.json()["next_before_id"]})
    third = await client.get(f"{API}/search", headers=admin, params={
        "q": "refund", "limit": 2, "before_id": second.json()["next_before_id"]})

    newest_first = ids[::-1]
    assert [h["message_id"] for h in first.json()["items"]] == newest_first[:2]
    assert [h["message_id"] for h in second.json()["items"]] == newest_first[2:4]
    assert [h["message_id"] for h in third.json()["items"]] == newest_first[4:]
    assert first.json()["next_before_id"] == newest_first[1]
    assert third.json()["next_before_id"] is None


async def test_english_stems_and_every_word_is_required(
    client: httpx.AsyncClient, admin: dict[str, str], api_channel: tuple[Channel, str]
) -> None:
    token = api_channel[1]
    refunded = await send(client, token, 1, "The order was refunded yesterday.")
    refunds = await send(client, token, 2, "How long do refunds take?")

    assert await search(client, admin, "refund") == [refunds, refunded]
    assert await search(client, admin, "refund order") == [refunded]
    assert await search(client, admin, "border") == []


async def test_replies_and_notes_are_found_too(
    client: httpx.AsyncClient, admin: dict[str, str], api_channel: tuple[Channel, str]
) -> None:
    result = await inbound(client, api_channel[1], text="Gdzie moja paczka?")
    ticket_id = result["ticket_id"]
    reply = await client.post(f"{API}/tickets/{ticket_id}/replies",
                              json={"text": "Kurier dostarczy jutro."}, headers=admin)
    note = await client.post(f"{API}/tickets/{ticket_id}/notes",
                             json={"text": "Kurier DPD potwierdził."}, headers=admin)

    response = await client.get(f"{API}/search", params={"q": "kurier"}, headers=admin)

    assert [(h["message_id"], h["direction"]) for h in response.json()["items"]] == [
        (note.json()["id"], "note"), (reply.json()["id"], "outbound")]


async def test_another_stores_messages_never_appear(
    client: httpx.AsyncClient, admin: dict[str, str], other_admin: dict[str, str],
    api_channel: tuple[Channel, str], other_channel: tuple[Channel, str],
) -> None:
    # given the same words in both stores
    ours = await send(client, api_channel[1], 1, "환불을 요청합니다, zwrotu, refund")
    theirs = await send(client, other_channel[1], 1, "환불을 요청합니다, zwrotu, refund")

    # when / then each store finds only its own message
    for q in ("환불", "zwrot", "refund"):
        assert await search(client, admin, q) == [ours]
        assert await search(client, other_admin, q) == [theirs]


@pytest.mark.parametrize("query", ["", None])
async def test_empty_or_missing_q_is_422(
    client: httpx.AsyncClient, admin: dict[str, str], store: Store, query: str | None
) -> None:
    params = {} if query is None else {"q": query}

    response = await client.get(f"{API}/search", params=params, headers=admin)

    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["field"]) == ("request.invalid", "q")


async def test_a_query_without_searchable_words_finds_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], api_channel: tuple[Channel, str]
) -> None:
    await send(client, api_channel[1], 1, "!!! ??? ---")

    assert await search(client, admin, " !!! ") == []
