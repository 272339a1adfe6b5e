"""A rule's webhook against a real HTTP server on 127.0.0.1: signed body, the same idempotency
key on every retry, retries on 5xx, a refusal recorded and not retried."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.channels.models import Channel
from sellerdesk.jobs import outbox
from sellerdesk.jobs.models import Job
from tests.rules.conftest import add_rule, audits, receive

SECRET = "whsec-0123456789abcdef"


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)  # answered in turn, then 200
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
            length = int(self.headers.get("Content-Length", "0"))
            state.requests.append((dict(self.headers.items()), self.rfile.read(length)))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/sellerdesk"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


async def webhook_jobs(db: AsyncSession) -> list[int]:
    rows = await db.execute(select(Job.id).where(Job.name == "rules.webhook").order_by(Job.id))
    return list(rows.scalars())


async def test_webhook_is_signed_and_retried_with_the_same_key(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str], receiver: Receiver,
) -> None:
    # given a rule with a webhook whose receiver fails once
    rule = await add_rule(db, store, "Tell the shop", actions_=[
        {"type": "add_tags", "tags": ["forwarded"]},
        {"type": "webhook", "url": receiver.url, "secret": SECRET}])
    rule_id = rule.id
    receiver.statuses = [503]
    ticket_id = await receive(db, api_channel[0], external_id="m1", text="Hello",
                              run_jobs=False)
    # the inbound job: the rule fires; its webhook job fails once and waits for its retry
    await outbox.run_pending(db, max_attempts=5, backoff_seconds=3600)
    [job_id] = await webhook_jobs(db)

    # when the job runs again
    delay = await outbox.run_job(db, job_id, max_attempts=5, backoff_seconds=0)

    # then the second attempt went through, with the same idempotency key, signed
    assert delay is None
    assert await webhook_jobs(db) == []
    assert len(receiver.requests) == 2
    keys = {headers["Idempotency-Key"] for headers, _ in receiver.requests}
    assert len(keys) == 1
    headers, raw = receiver.requests[1]
    expected = hmac.new(SECRET.encode(), headers["X-SellerDesk-Timestamp"].encode() + b"." + raw,
                        hashlib.sha256).hexdigest()
    assert headers["X-SellerDesk-Signature"] == f"sha256={expected}"
    assert headers["Content-Type"] == "application/json"
    sent = json.loads(raw)
    assert sent["type"] == "rule.webhook"
    assert sent["rule"] == {"id": rule_id, "name": "Tell the shop"}
    assert sent["event"] == "ticket.created"
    assert sent["ticket"]["id"] == ticket_id
    assert sent["ticket"]["tags"] == ["forwarded"]
    sent_events = await audits(db, ticket_id, "rule.webhook_sent")
    assert [e.after["status"] if e.after else None for e in sent_events] == [200]


async def test_a_refused_webhook_is_recorded_and_not_retried(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str], receiver: Receiver,
) -> None:
    await add_rule(db, store, "Tell the shop", actions_=[
        {"type": "webhook", "url": receiver.url, "secret": SECRET}])
    receiver.statuses = [410]

    ticket_id = await receive(db, api_channel[0], external_id="m1", text="Hello")

    assert len(receiver.requests) == 1
    assert await webhook_jobs(db) == []
    failed = await audits(db, ticket_id, "rule.webhook_failed")
    assert [e.after for e in failed] == [{"url": receiver.url,
                                          "error": "webhook refused with 410"}]


async def test_a_webhook_that_keeps_failing_is_given_up_and_recorded(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str], receiver: Receiver,
) -> None:
    await add_rule(db, store, "Tell the shop", actions_=[
        {"type": "webhook", "url": receiver.url, "secret": SECRET}])
    receiver.statuses = [500, 502, 503]

    ticket_id = await receive(db, api_channel[0], external_id="m1", text="Hello",
                              run_jobs=False)
    await outbox.run_pending(db, max_attempts=3, backoff_seconds=3600)
    [job_id] = await webhook_jobs(db)
    await outbox.run_job(db, job_id, max_attempts=3, backoff_seconds=0)
    await outbox.run_job(db, job_id, max_attempts=3, backoff_seconds=0)

    assert len(receiver.requests) == 3
    assert await webhook_jobs(db) == []
    failed = await audits(db, ticket_id, "rule.webhook_failed")
    assert len(failed) == 1
    assert failed[0].after is not None
    assert "503" in failed[0].after["error"]
