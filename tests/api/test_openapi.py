"""The OpenAPI document at /api/v1/openapi.json describes the whole REST API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from tests.api.support import API, payload

EXPECTED = {
    "/api/v1/tickets": {"get"},
    "/api/v1/tickets/{ticket_id}": {"get", "patch"},
    "/api/v1/tickets/{ticket_id}/merge": {"post"},
    "/api/v1/tickets/{ticket_id}/messages": {"get"},
    "/api/v1/tickets/{ticket_id}/replies": {"post"},
    "/api/v1/tickets/{ticket_id}/notes": {"post"},
    "/api/v1/tickets/{ticket_id}/audit": {"get"},
    "/api/v1/audit": {"get"},
    "/api/v1/tags": {"get"},
    "/api/v1/attachments/{attachment_id}": {"get"},
    "/api/v1/search": {"get"},
    "/api/v1/customers/{customer_id}": {"get", "patch"},
    "/api/v1/customers/{customer_id}/merge": {"post"},
    "/api/v1/inbound": {"post"},
    "/api/v1/quarantine": {"get"},
    "/api/v1/quarantine/{payload_id}": {"get"},
    "/api/v1/quarantine/{payload_id}/retry": {"post"},
    "/api/v1/agents": {"get"},
    "/api/v1/agents/{agent_id}/routing": {"get", "patch"},
    "/api/v1/agents/{agent_id}/availability": {"put"},
    "/api/v1/teams/{team_id}/routing": {"get", "patch"},
    "/api/v1/teams/{team_id}/routing/queue": {"get"},
    "/api/v1/routing/settings": {"get", "patch"},
}


async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    parsed: dict[str, Any] = json.loads(response.content)
    return parsed


def refs(node: Any) -> Iterator[str]:
    """Every $ref anywhere in a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


async def test_document_is_openapi_3_and_lists_every_route(client: httpx.AsyncClient) -> None:
    doc = await document(client)

    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] == "SellerDesk"
    methods = {path: set(ops) & {"get", "post", "patch", "put", "delete"}
               for path, ops in doc["paths"].items()}
    missing = {path: want - methods.get(path, set()) for path, want in EXPECTED.items()
               if not want <= methods.get(path, set())}
    assert missing == {}


async def test_path_parameters_are_declared_as_integers(client: httpx.AsyncClient) -> None:
    doc = await document(client)

    for path in EXPECTED:
        for method, operation in doc["paths"][path].items():
            declared = {p["name"]: p for p in operation.get("parameters", [])
                        if p["in"] == "path"}
            names = {part[1:-1] for part in path.split("/") if part.startswith("{")}
            assert set(declared) == names, (method, path)
            for parameter in declared.values():
                assert parameter["required"] is True
                assert parameter["schema"]["type"] == "integer"


async def test_every_reference_resolves(client: httpx.AsyncClient) -> None:
    doc = await document(client)
    schemas = doc["components"]["schemas"]

    dangling = {ref for ref in refs(doc)
                if not ref.startswith("#/components/schemas/")
                or ref.removeprefix("#/components/schemas/") not in schemas}

    assert dangling == set()


async def test_inbound_body_is_described_by_the_api_inbound_schema(
    client: httpx.AsyncClient
) -> None:
    doc = await document(client)
    schemas = doc["components"]["schemas"]

    body = doc["paths"]["/api/v1/inbound"]["post"]["requestBody"]
    inbound = schemas["ApiInbound"]

    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiInbound"}
    assert inbound["type"] == "object"
    assert inbound["additionalProperties"] is False
    assert sorted(inbound["required"]) == ["external_id", "from"]
    # the properties are exactly the keys a client sends, "from" under its alias
    assert set(inbound["properties"]) == {
        "external_id", "from", "subject", "text", "html", "attachments", "thread_key",
        "sent_at", "marketplace"}
    assert set(payload()) <= set(inbound["properties"])
    assert inbound["properties"]["from"] == {"$ref": "#/components/schemas/ApiSender"}
    assert inbound["properties"]["attachments"]["items"] == {
        "$ref": "#/components/schemas/ApiAttachment"}
    assert set(schemas["ApiSender"]["properties"]) == {"name", "email", "handle"}
    assert sorted(schemas["ApiAttachment"]["required"]) == ["content_base64", "filename"]


async def test_request_bodies_forbid_unknown_fields(client: httpx.AsyncClient) -> None:
    doc = await document(client)
    schemas = doc["components"]["schemas"]

    for name in ("TicketUpdate", "TicketMerge", "ReplyCreate", "NoteCreate", "CustomerUpdate",
                 "CustomerMerge", "ApiInbound", "ApiSender", "ApiAttachment"):
        assert schemas[name]["additionalProperties"] is False, name


async def test_document_is_the_same_on_every_request(client: httpx.AsyncClient) -> None:
    assert await document(client) == await document(client)


async def test_errors_are_documented_in_the_shape_the_api_returns(
    client: httpx.AsyncClient,
) -> None:
    # given the published document
    doc = await document(client)

    # when the responses of a route that validates, finds and checks state are read
    responses = doc["paths"]["/api/v1/tickets/{ticket_id}"]["patch"]["responses"]

    # then every error status points at the one error shape, and FastAPI's default is gone
    for status in ("401", "403", "404", "409", "422"):
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}
    error = doc["components"]["schemas"]["ErrorDetail"]
    assert set(error["properties"]) == {"code", "message", "field"}
    assert "HTTPValidationError" not in doc["components"]["schemas"]
