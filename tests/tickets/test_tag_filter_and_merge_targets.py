"""Tag filters use the tags' own spelling; a missing merge target names the body field."""

from __future__ import annotations

import httpx

from sellerdesk.channels.models import Channel
from tests.api.support import API, error_of, inbound


async def test_tag_filter_is_spelled_like_saved_tags(
    client: httpx.AsyncClient, admin: dict[str, str], api_channel: tuple[Channel, str]
) -> None:
    # given a ticket tagged "VIP  customer" (saved as "vip customer")
    created = await inbound(client, api_channel[1])
    patched = await client.patch(f"{API}/tickets/{created['ticket_id']}",
                                 json={"tags": ["VIP  customer"]}, headers=admin)
    assert patched.json()["tags"] == ["vip customer"]

    # when the list is filtered with another spelling of the same tag
    listed = await client.get(f"{API}/tickets", params={"tag": "  Vip Customer "},
                              headers=admin)

    # then the ticket is found
    assert [t["id"] for t in listed.json()["items"]] == [created["ticket_id"]]


async def test_a_tag_filter_that_is_no_tag_names_the_parameter(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.get(f"{API}/tickets", params={"tag": "a,b"}, headers=admin)

    assert response.status_code == 422
    assert (error_of(response)["code"], error_of(response)["field"]) == (
        "ticket.invalid_tag", "tag")


async def test_missing_merge_target_names_into_ticket_id(
    client: httpx.AsyncClient, admin: dict[str, str], api_channel: tuple[Channel, str]
) -> None:
    created = await inbound(client, api_channel[1])

    response = await client.post(f"{API}/tickets/{created['ticket_id']}/merge",
                                 json={"into_ticket_id": 987654}, headers=admin)

    assert response.status_code == 404
    assert (error_of(response)["code"], error_of(response)["field"]) == (
        "ticket.not_found", "into_ticket_id")


async def test_missing_merge_target_customer_names_into_customer_id(
    client: httpx.AsyncClient, admin: dict[str, str], api_channel: tuple[Channel, str]
) -> None:
    created = await inbound(client, api_channel[1])
    ticket = (await client.get(f"{API}/tickets/{created['ticket_id']}", headers=admin)).json()

    response = await client.post(f"{API}/customers/{ticket['customer_id']}/merge",
                                 json={"into_customer_id": 987654}, headers=admin)

    assert response.status_code == 404
    assert (error_of(response)["code"], error_of(response)["field"]) == (
        "customer.not_found", "into_customer_id")
