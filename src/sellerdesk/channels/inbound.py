"""The one inbound path: every channel's messages enter SellerDesk through `receive`/`ingest`.

1. The raw payload is stored and committed first.
2. The channel's adapter parses it; what can't be parsed goes to quarantine with its reason.
3. (channel, external id) is unique, so a replay is a no-op that returns the first result.
4. The sender's identity finds or creates the customer; thread hints find the ticket. A new
   ticket takes the sender's priority; a later message never changes an existing ticket's.
5. One transaction writes message, attachments, index, ticket changes, audit and job records;
   jobs are dispatched and live events published only after it commits.

Bulk sources (an IMAP fetch, an mbox import) hand over many payloads at once with
`receive_batch`: the same steps, but the raw payloads are stored in one commit and the
messages written in one transaction with a few statements for the whole batch (inbound_write).
A batch that fails as a whole is rolled back and written one message at a time, so a bad
message costs only its own quarantine. Mail imported from an archive is history
(`historical=True`): stored and threaded like any other, but it starts no automation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels import registry
from sellerdesk.channels.base import Bounce, InboundMessage, ParseError
from sellerdesk.channels.inbound_write import (
    REOPEN_ON_CUSTOMER_REPLY,
    IngestResult,
    Outcome,
    RawStatus,
    WriteItem,
    number_pending,
    write_batch,
)
from sellerdesk.channels.models import Channel, RawPayload
from sellerdesk.channels.outbound import record_bounce
from sellerdesk.core.clock import now
from sellerdesk.core.db import commit, rollback
from sellerdesk.core.errors import AppError

__all__ = [
    "REOPEN_ON_CUSTOMER_REPLY", "IngestResult", "Outcome", "RawStatus", "ingest",
    "process_batch", "process_raw", "receive", "receive_batch", "recover_stale",
]

log = logging.getLogger(__name__)

# Messages a bulk source hands over in one batch: big enough that a transaction's fixed cost
# is small per message, small enough that the write lock is held for well under a second.
BATCH_SIZE = 100


async def receive(
    db: AsyncSession, *, channel: Channel, body: bytes, content_type: str
) -> IngestResult:
    """Store a payload exactly as it arrived, then parse and ingest it."""
    raw = RawPayload(
        store_id=channel.store_id, channel_id=channel.id, content_type=content_type, body=body
    )
    db.add(raw)
    await commit(db)
    return await process_raw(db, raw=raw, channel=channel)


async def receive_batch(
    db: AsyncSession, *, channel: Channel, bodies: Sequence[bytes], content_type: str,
    historical: bool = False,
) -> list[IngestResult]:
    """Store payloads exactly as they arrived (one commit), then parse and ingest them together.

    One result per body, in order. `historical`: the mail is imported history, which must
    not start automation (no `inbound.received` job: no SLA clocks, rules, routing, replies).
    """
    if not bodies:
        return []
    if inspect(channel).expired_attributes:
        await db.refresh(channel)  # a rollback (of an earlier batch, say) expired it
    raws = [RawPayload(store_id=channel.store_id, channel_id=channel.id,
                       content_type=content_type, body=body, is_historical=historical)
            for body in bodies]
    db.add_all(raws)
    await number_pending(db, RawPayload)
    await commit(db)
    return await process_batch(db, raws=raws, channel=channel, historical=historical)


STALE_AFTER = timedelta(minutes=2)


async def recover_stale(db: AsyncSession, *, limit: int = 200) -> int:
    """Process payloads that were stored but never parsed (the process died in between)."""
    rows = await db.execute(
        select(RawPayload, Channel).join(Channel, Channel.id == RawPayload.channel_id)
        .where(RawPayload.status == RawStatus.RECEIVED,
               RawPayload.received_at < now() - STALE_AFTER)
        .order_by(RawPayload.id).limit(limit)
    )
    pairs = list(rows)
    for raw, channel in pairs:
        await process_raw(db, raw=raw, channel=channel)
    return len(pairs)


@dataclass(slots=True)
class _Parsed:
    """What the adapter made of one stored payload."""

    raw: RawPayload
    raw_id: int
    attempts: int
    message: InboundMessage | None = None
    bounce: Bounce | None = None
    problem: tuple[str, str, str | None] | None = None  # quarantine: code, reason, field


def _parse(raw: RawPayload, channel: Channel) -> _Parsed:
    raw.attempts += 1
    item = _Parsed(raw, raw.id, raw.attempts)
    try:
        item.message = registry.adapter_for(channel.type).parse(raw, channel)
    except ParseError as exc:
        item.problem = (exc.code, exc.reason, exc.field)
    except Bounce as report:
        item.bounce = report
    except Exception as exc:
        # Whatever an adapter trips over, the payload is kept and the worker lives on.
        log.exception("adapter %s failed on raw payload %s", channel.type, raw.id)
        item.problem = ("inbound.parser_crashed", repr(exc)[:2000], None)
    return item


async def process_raw(db: AsyncSession, *, raw: RawPayload, channel: Channel) -> IngestResult:
    """Parse a stored payload with its channel's adapter and ingest it (also quarantine retry)."""
    item = _parse(raw, channel)
    if item.bounce is not None:
        return await _bounce(db, raw, channel, item.bounce)
    return await _one(db, item, historical=bool(raw.is_historical))


async def process_batch(
    db: AsyncSession, *, raws: Sequence[RawPayload], channel: Channel, historical: bool = False
) -> list[IngestResult]:
    """Parse stored payloads and ingest them in one transaction; one result per payload."""
    historical = historical or any(raw.is_historical for raw in raws)
    parsed = [_parse(raw, channel) for raw in raws]
    results: list[IngestResult | None] = [None] * len(parsed)
    try:
        await _write_all(db, parsed, results, historical)
    except Exception:
        # Something in the batch broke the transaction (an attachment over the limit, a
        # concurrent writer's customer, a bug): each message again on its own, so only the
        # one at fault is quarantined (or raises, as it would have alone).
        log.warning("a batch of %s inbound payloads failed; writing them one by one",
                    len(parsed), exc_info=True)
        await rollback(db)
        results = [None] * len(parsed)
        for i, item in enumerate(parsed):
            item.raw = await _reload(db, item.raw_id, item.attempts) or item.raw
            if item.bounce is None:
                results[i] = await _one(db, item, historical=historical)
    # Delivery reports last: each looks up the sent message it reports on, and commits.
    for i, item in enumerate(parsed):
        if item.bounce is not None:
            if inspect(channel).expired_attributes:
                await db.refresh(channel)
            results[i] = await _bounce(db, item.raw, channel, item.bounce)
    return [r for r in results if r is not None]


async def _write_all(db: AsyncSession, parsed: list[_Parsed],
                     results: list[IngestResult | None], historical: bool) -> None:
    writes: list[tuple[int, WriteItem]] = []
    for i, item in enumerate(parsed):
        if item.problem is not None:
            results[i] = _mark_quarantined(item.raw, *item.problem)
        elif item.message is not None:
            writes.append((i, WriteItem(item.message, item.raw, historical)))
    written = await write_batch(db, [w for _, w in writes])
    for (i, _), result in zip(writes, written, strict=True):
        results[i] = result
    await commit(db)


async def _one(db: AsyncSession, item: _Parsed, *, historical: bool) -> IngestResult:
    if item.problem is not None:
        return await _quarantine(db, item.raw, *item.problem)
    assert item.message is not None  # noqa: S101 (a bounce never gets here)
    return await ingest(db, item.message, raw=item.raw, historical=historical)


async def _bounce(
    db: AsyncSession, raw: RawPayload, channel: Channel, report: Bounce
) -> IngestResult:
    """A report that mail we sent bounced: the sent message is marked, no ticket is opened."""
    sent = await record_bounce(db, store_id=channel.store_id, channel_id=channel.id,
                               report=report)
    if sent is None:
        ids = ", ".join(report.original_ids) or "none"
        return await _quarantine(db, raw, "inbound.unmatched_bounce",
                                 f"a delivery report on mail SellerDesk did not send "
                                 f"(original Message-ID: {ids}): {report.reason}", None)
    raw.status = RawStatus.PROCESSED
    raw.message_id = sent.id
    raw.error_code = raw.error_reason = None
    raw.processed_at = now()
    await commit(db)
    return IngestResult(Outcome.BOUNCE, raw.id, sent.ticket_id, sent.id)


def _mark_quarantined(raw: RawPayload, code: str, reason: str, field: str | None
                      ) -> IngestResult:
    raw.status = RawStatus.QUARANTINED
    raw.error_code = code
    raw.error_reason = reason
    raw.processed_at = now()
    return IngestResult(Outcome.QUARANTINED, raw.id, error_code=code, error_reason=reason,
                        error_field=field)


async def _quarantine(
    db: AsyncSession, raw: RawPayload, code: str, reason: str, field: str | None
) -> IngestResult:
    result = _mark_quarantined(raw, code, reason, field)
    await commit(db)
    return result


WRITE_ATTEMPTS = 3


async def ingest(
    db: AsyncSession, message: InboundMessage, *, raw: RawPayload | None = None,
    historical: bool = False,
) -> IngestResult:
    """Thread and store one parsed message in one transaction."""
    raw_id = raw.id if raw is not None else None
    # process_raw counted this attempt; a rollback below would forget it.
    attempts = raw.attempts if raw is not None else 0
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            [result] = await write_batch(db, [WriteItem(message, raw, historical)])
            await commit(db)
        except IntegrityError:
            # A concurrent ingest stored the same message (then it is a duplicate) or created
            # the same sender's customer or tag first (then writing again finds them).
            await rollback(db)
            raw = await _reload(db, raw_id, attempts)
            if attempt == WRITE_ATTEMPTS:
                raise
            continue
        except AppError as exc:
            await rollback(db)
            raw = await _reload(db, raw_id, attempts)
            if raw is None:
                raise
            return await _quarantine(db, raw, exc.code, exc.message, exc.field)
        return result
    raise AssertionError("unreachable")  # pragma: no cover


async def _reload(db: AsyncSession, raw_id: int | None, attempts: int) -> RawPayload | None:
    """The raw payload after a rollback, with the attempt count the rollback undid."""
    if raw_id is None:
        return None
    raw = await db.get(RawPayload, raw_id)
    if raw is not None:
        raw.attempts = attempts
    return raw
