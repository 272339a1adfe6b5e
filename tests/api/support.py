"""Shared set-up for the REST API tests: a client whose failed requests leave nothing behind
(as production's per-request session does), tokens, inbound messages through the API channel,
and snapshots of every table to prove that a refused request changed nothing."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.core.db import Base, dialect_name
from sellerdesk.models import load_models
from tests.conftest import bearer

API = "/api/v1"

load_models()


def payload(**overrides: Any) -> dict[str, Any]:
    """A valid body for POST /api/v1/inbound."""
    body: dict[str, Any] = {
        "external_id": "ext-1",
        "from": {"name": "Ewa Nowak", "email": "ewa@example.pl"},
        "subject": "Pytanie o zamówienie",
        "text": "Dzień dobry, kiedy wyślecie paczkę?",
    }
    body.update(overrides)
    return body


async def inbound(client: httpx.AsyncClient, channel_token: str, **overrides: Any
                  ) -> dict[str, Any]:
    """Send one message through the API channel; return the accepted result."""
    response = await client.post(f"{API}/inbound", json=payload(**overrides),
                                 headers=bearer(channel_token))
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The error object of an error response, after checking the response's shape."""
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert {"code", "message", "field"} <= set(error), error
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


async def snapshot(db: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, and the search index (FTS5's own storage on SQLite)."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for table in Base.metadata.sorted_tables:
        result = await db.execute(select(table).order_by(*table.primary_key.columns))
        rows[table.name] = [tuple(row) for row in result]
    if dialect_name(db) == "sqlite":
        index = await db.execute(text("SELECT id, block FROM search_fts_data ORDER BY id"))
    else:
        index = await db.execute(
            text("SELECT message_id, tsv::text FROM search_docs ORDER BY message_id"))
    rows["search index"] = [tuple(row) for row in index]
    return rows
