"""The audit trail: every change records who, what, before, after and when."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.core.actor import Actor
from sellerdesk.tickets.models import AuditEvent


def record(
    db: AsyncSession,
    *,
    store_id: int,
    actor: Actor,
    entity_type: str,
    entity_id: int,
    action: str,
    ticket_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction."""
    event = AuditEvent(
        store_id=store_id,
        ticket_id=ticket_id,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        actor_type=actor.type,
        actor_id=actor.id,
        before=before,
        after=after,
    )
    db.add(event)
    return event


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keep only the keys whose values changed."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
