"""Jobs of the channels domain."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels import inbound, outbound
from sellerdesk.jobs.registry import job, periodic


async def _give_up(db: AsyncSession, error: str, *, message_id: int) -> None:
    await outbound.give_up(db, error, message_id=message_id)


@job("message.deliver", on_give_up=_give_up)
async def deliver_message(db: AsyncSession, *, message_id: int) -> None:
    await outbound.deliver(db, message_id=message_id)


@periodic("inbound.recover_stale")
async def recover_stale_payloads(db: AsyncSession) -> int:
    return await inbound.recover_stale(db)
