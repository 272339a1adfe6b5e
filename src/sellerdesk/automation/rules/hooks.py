"""Where other domains tell rules that something happened. Each hook only enqueues a job
(in the caller's transaction, so it runs after the commit) and only when the store has an
active rule for the event: stores without rules pay one primary-key read.

Kept free of imports from tickets/ so that tickets.actions can call it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.automation.rules.events import RuleEvent, current_cause
from sellerdesk.jobs import outbox

JOB = "rules.event"


async def status_changed(db: AsyncSession, *, store_id: int, ticket_id: int,
                         before: str | None, after: str | None) -> None:
    """A ticket's status changed (by anyone, a rule included: then the chain goes along)."""
    if before == after or after is None:
        return
    from sellerdesk.automation.rules.engine import listens

    if not await listens(db, store_id=store_id, event=RuleEvent.STATUS_CHANGED):
        return
    chain, depth = current_cause()
    outbox.enqueue(db, JOB, event=RuleEvent.STATUS_CHANGED.value, ticket_id=ticket_id,
                   key=f"status:{uuid.uuid4().hex}", chain=list(chain),
                   depth=depth + 1 if chain else 0, previous_status=before)


async def sla_events(db: AsyncSession, events: Iterable[tuple[int, dict[str, Any]]]) -> None:
    """The SLA sweep's warnings and breaches: (store_id, {type, ticket_id, target, due_at})."""
    from sellerdesk.automation.rules.engine import listens

    wanted: dict[tuple[int, str], bool] = {}
    for store_id, event in events:
        name = event["type"]
        if name not in (RuleEvent.SLA_WARNING, RuleEvent.SLA_BREACHED):
            continue
        if (store_id, name) not in wanted:
            wanted[store_id, name] = await listens(db, store_id=store_id, event=RuleEvent(name))
        if wanted[store_id, name]:
            outbox.enqueue(db, JOB, event=name, ticket_id=event["ticket_id"],
                           key=f"{name}:{event['target']}:{event['due_at']}", chain=[],
                           sla_target=event["target"])
