"""The Redis bus (scale-out): events cross processes on one channel per store."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from sellerdesk.accounts.models import Agent
from sellerdesk.channels.models import Channel
from sellerdesk.core import context
from sellerdesk.core.db import Database
from sellerdesk.realtime.bus import RESYNC, ConfiguredBus, LocalBus, RedisBus, bus
from tests.conftest import bearer
from tests.realtime.conftest import LiveServer, names, next_frame, wait_for
from tests.realtime.redis_server import (  # noqa: F401 (redis_url is a fixture)
    redis_binary,
    redis_url,
    start_redis,
    stop_redis,
)


@pytest.fixture
async def nodes(redis_url: str) -> AsyncIterator[tuple[RedisBus, RedisBus]]:  # noqa: F811
    """Two buses on one Redis, as two machines would have."""
    first, second = RedisBus(redis_url), RedisBus(redis_url)
    try:
        yield first, second
    finally:
        await first.aclose()
        await second.aclose()


async def test_events_cross_processes_for_their_store_only(
    nodes: tuple[RedisBus, RedisBus]
) -> None:
    web, worker = nodes
    # Given the web node has subscribers for stores 1 and 2
    async with web.subscribe(1) as ones, web.subscribe(1) as also_ones, \
            web.subscribe(2) as twos:
        # When the worker node publishes for store 1, once from a thread with its own loop
        stamp = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
        await worker.publish(1, {"type": "sla.updated", "ticket_id": 4, "sla_due_at": stamp})

        def job_thread() -> None:
            asyncio.run(worker.publish(1, {"type": "message.delivery", "ticket_id": 4,
                                           "message_id": 8, "status": "sent"}))

        await asyncio.to_thread(job_thread)
        await worker.publish(2, {"type": "ticket.created", "ticket_id": 5})

        # Then every store-1 subscriber gets both events in order, as JSON-safe values
        for queue in (ones, also_ones):
            async with asyncio.timeout(5):
                assert await queue.get() == {"type": "sla.updated", "ticket_id": 4,
                                             "sla_due_at": "2026-05-01T12:30:00+00:00"}
                assert await queue.get() == {"type": "message.delivery", "ticket_id": 4,
                                             "message_id": 8, "status": "sent"}
        # And store 2's subscriber only its own
        async with asyncio.timeout(5):
            assert await twos.get() == {"type": "ticket.created", "ticket_id": 5}
        assert ones.empty()
        assert twos.empty()


async def test_the_last_subscriber_leaving_ends_the_redis_subscription(
    nodes: tuple[RedisBus, RedisBus]
) -> None:
    web, worker = nodes
    async with web.subscribe(3):
        assert await worker.async_client().pubsub_numsub("sellerdesk:live:3") == [
            (b"sellerdesk:live:3", 1)]
    async with asyncio.timeout(5):
        while await worker.async_client().pubsub_numsub("sellerdesk:live:3") != [
                (b"sellerdesk:live:3", 0)]:
            await asyncio.sleep(0.05)


async def test_the_configured_bus_is_redis_when_a_url_is_set(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, database: Database  # noqa: F811
) -> None:
    configured = ConfiguredBus()
    assert isinstance(configured.backend(), LocalBus)

    monkeypatch.setattr(context.get().settings, "redis_url", redis_url)
    chosen = configured.backend()

    assert isinstance(chosen, RedisBus)
    assert chosen.url == redis_url
    assert configured.backend() is chosen
    await chosen.aclose()


async def test_the_workspace_socket_works_over_redis(
    live_server: LiveServer, redis_url: str, anna: Agent, ola: Agent,  # noqa: F811
    api_channel: tuple[Channel, str], ticket_id: int,
) -> None:
    # Given the server's bus is Redis, as on a scaled-out installation
    redis_bus = RedisBus(redis_url)
    bus.use(redis_bus)
    try:
        async with live_server.agent_socket(anna.email) as annas, \
                live_server.agent_socket(ola.email) as olas:
            # When a customer writes, then Anna's socket gets the event through Redis
            _, token = api_channel
            posted = await live_server.http().post("/api/v1/inbound", headers=bearer(token),
                                                   json={"external_id": "r-1",
                                                         "from": {"email": "a@example.pl"},
                                                         "text": "Hello"})
            assert posted.status_code == 201, posted.text
            assert await next_frame(annas) == {"type": "ticket.created",
                                               "ticket_id": posted.json()["ticket_id"],
                                               "message_id": posted.json()["message_id"]}
            # And presence announcements travel the same way
            await annas.send(json.dumps({"op": "view", "ticket_id": ticket_id}))
            await olas.send(json.dumps({"op": "view", "ticket_id": ticket_id}))
            await wait_for(annas, lambda f: f.get("type") == "presence"
                           and names(f, "viewing") == ["Anna Kowalska", "Ola Nowak"])
    finally:
        bus.use(None)
        await redis_bus.aclose()


async def test_subscribers_are_told_to_resync_after_redis_comes_back(
    redis_url: str, tmp_path: Path  # noqa: F811
) -> None:
    # Given a subscriber on the Redis bus
    web = RedisBus(redis_url)
    try:
        async with web.subscribe(1) as queue:
            # When Redis restarts (events published meanwhile are lost)
            port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
            admin = redis.Redis(port=port)
            with contextlib.suppress(redis.ConnectionError):
                admin.shutdown(nosave=True)
            admin.close()
            binary = redis_binary()
            assert binary is not None
            restarted = start_redis(binary, port, tmp_path)
            try:
                # Then the subscriber is told to refresh everything once it is back
                async with asyncio.timeout(20):
                    assert await queue.get() == RESYNC
                # And events flow again
                await web.publish(1, {"type": "ticket.updated", "ticket_id": 3})
                async with asyncio.timeout(5):
                    assert await queue.get() == {"type": "ticket.updated", "ticket_id": 3}
            finally:
                stop_redis(restarted)
    finally:
        await web.aclose()
