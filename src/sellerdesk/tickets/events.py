"""Live events about tickets, published after the transaction that caused them commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.core.db import on_commit
from sellerdesk.realtime.bus import bus


def publish_after_commit(db: AsyncSession, store_id: int, event: dict[str, Any]) -> None:
    async def send() -> None:
        await bus.publish(store_id, event)

    on_commit(db, send)
