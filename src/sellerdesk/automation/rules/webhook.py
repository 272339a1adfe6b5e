"""A rule's webhook: a signed JSON POST about the ticket, sent by a job with retries.

Signed as the API channel signs its webhooks: X-SellerDesk-Timestamp and
X-SellerDesk-Signature = "sha256=" + HMAC-SHA256(secret, timestamp + "." + body), with an
Idempotency-Key that stays the same on every retry so that the receiver can drop repeats.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.automation.rules.effects import webhook_key
from sellerdesk.automation.rules.models import Rule
from sellerdesk.core import context
from sellerdesk.core.actor import Actor
from sellerdesk.core.clock import now
from sellerdesk.core.db import commit
from sellerdesk.core.security import sign
from sellerdesk.jobs.registry import RetryLater
from sellerdesk.tickets import audit
from sellerdesk.tickets.models import Ticket
from sellerdesk.tickets.queries import ticket_tag_names

log = logging.getLogger(__name__)


def body(*, rule: Rule, ticket: Ticket, tags: list[str], event: str, key: str) -> bytes:
    return json.dumps({
        "type": "rule.webhook",
        "rule": {"id": rule.id, "name": rule.name},
        "event": event,
        "event_key": key,
        "ticket": {
            "id": ticket.id, "subject": ticket.subject, "status": ticket.status,
            "priority": ticket.priority, "channel_type": ticket.channel_type,
            "marketplace": ticket.marketplace, "language": ticket.language, "tags": tags,
            "team_id": ticket.team_id, "assignee_id": ticket.assignee_id,
            "customer_id": ticket.customer_id,
        },
        "sent_at": now().isoformat(),
    }, ensure_ascii=False).encode()


def headers(secret: str, payload: bytes, idempotency_key: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        "Idempotency-Key": idempotency_key,
        "X-SellerDesk-Timestamp": timestamp,
        "X-SellerDesk-Signature": "sha256=" + sign(secret, timestamp.encode() + b"." + payload),
    }


def _action(rule: Rule | None, index: int) -> dict[str, Any] | None:
    if rule is None or not 0 <= index < len(rule.actions):
        return None
    action = rule.actions[index]
    return action if action.get("type") == "webhook" else None


async def deliver(db: AsyncSession, *, rule_id: int, action: int, ticket_id: int, event: str,
                  key: str) -> None:
    """POST once; a network error, 5xx, 408 or 429 is retried (RetryLater), other refusals
    are recorded on the ticket's trail and not retried."""
    rule = await db.get(Rule, rule_id)
    config = _action(rule, action)
    ticket = await db.get(Ticket, ticket_id)
    if rule is None or config is None or ticket is None:
        log.info("rule %s webhook %s: rule, action or ticket gone; not sent", rule_id, action)
        return
    tags = await ticket_tag_names(db, ticket_id=ticket.id)
    payload = body(rule=rule, ticket=ticket, tags=tags, event=event, key=key)
    timeout = context.get().settings.webhook_timeout_seconds
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(config["url"], content=payload, headers=headers(
                config["secret"], payload, webhook_key(rule_id, key, action)))
    except httpx.HTTPError as exc:
        raise RetryLater(f"webhook request failed: {exc!r}") from exc
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise RetryLater(f"webhook answered {response.status_code}")
    if response.status_code >= 400:
        await record_failure(db, rule_id=rule_id, ticket_id=ticket_id, url=config["url"],
                             error=f"webhook refused with {response.status_code}")
        return
    audit.record(db, store_id=ticket.store_id, actor=Actor("rule", rule_id), entity_type="rule",
                 entity_id=rule_id, ticket_id=ticket.id, action="rule.webhook_sent",
                 after={"url": config["url"], "status": response.status_code,
                        "event_key": key})
    await commit(db)


async def record_failure(db: AsyncSession, *, rule_id: int, ticket_id: int, url: str | None,
                         error: str) -> None:
    ticket = await db.get(Ticket, ticket_id)
    if ticket is None:
        return
    audit.record(db, store_id=ticket.store_id, actor=Actor("rule", rule_id), entity_type="rule",
                 entity_id=rule_id, ticket_id=ticket.id, action="rule.webhook_failed",
                 after={"url": url, "error": error[:500]})
    await commit(db)
