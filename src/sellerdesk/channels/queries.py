"""Reads on channels and raw payloads, scoped to a store."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels.inbound import RawStatus
from sellerdesk.channels.models import Channel, RawPayload
from sellerdesk.core.errors import NotFound


async def quarantined(
    db: AsyncSession, *, store_id: int, before_id: int | None, limit: int
) -> list[tuple[RawPayload, int]]:
    stmt = (
        select(RawPayload, func.length(RawPayload.body))
        .where(RawPayload.store_id == store_id, RawPayload.status == RawStatus.QUARANTINED)
    )
    if before_id is not None:
        stmt = stmt.where(RawPayload.id < before_id)
    rows = await db.execute(stmt.order_by(RawPayload.id.desc()).limit(limit))
    return [(raw, int(size)) for raw, size in rows]


async def get_raw(db: AsyncSession, *, store_id: int, raw_id: int) -> RawPayload:
    raw = (await db.execute(
        select(RawPayload).where(RawPayload.id == raw_id, RawPayload.store_id == store_id)
    )).scalar_one_or_none()
    if raw is None:
        raise NotFound("quarantine.not_found", f"payload {raw_id} not found", field="payload_id")
    return raw


async def get_channel(db: AsyncSession, *, channel_id: int) -> Channel:
    channel = await db.get(Channel, channel_id)
    if channel is None:
        raise NotFound("channel.not_found", f"channel {channel_id} not found",
                       field="channel_id")
    return channel
