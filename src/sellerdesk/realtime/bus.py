"""Live events to connected agents: fan-out per store, in-process or through Redis pub/sub.

Publishers call `bus.publish` only after their transaction commits (tickets.events). They run on
the web server's event loop, on the job worker threads' own loops (jobs/runtime.py) and, when
scaled out, in `sellerdesk worker` processes on other machines. `LocalBus` hands every event
to each subscriber on the subscriber's own loop, so a publish from any thread is safe;
`RedisBus` carries events between processes on one channel per store. `bus` picks Redis when
`settings.redis_url` is set (DESIGN.md "Scale-out"), the in-process bus otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from typing import Any, Protocol

import redis
import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from sellerdesk.core import context

log = logging.getLogger(__name__)

Event = dict[str, Any]

RESYNC: Event = {"type": "resync"}
"""Delivered instead of events a subscriber missed: the page refreshes what it shows."""

CHANNEL_PREFIX = "sellerdesk:live:"


class Bus(Protocol):
    async def publish(self, store_id: int, event: Event) -> None: ...

    def subscribe(self, store_id: int) -> AbstractAsyncContextManager[asyncio.Queue[Event]]: ...


class _Subscription:
    __slots__ = ("loop", "queue")

    def __init__(self, queue: asyncio.Queue[Event], loop: asyncio.AbstractEventLoop) -> None:
        self.queue = queue
        self.loop = loop

    def deliver(self, event: Event) -> None:
        """Runs on the subscriber's loop."""
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            # Too slow to keep up: rather than stall every publisher, drop what is waiting and
            # tell the subscriber to refresh everything once it catches up.
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)


class LocalBus:
    """Fan-out inside one process; publish from any thread or event loop."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._subscribers: dict[int, set[_Subscription]] = defaultdict(set)
        self._lock = threading.Lock()
        self._queue_size = queue_size

    async def publish(self, store_id: int, event: Event) -> None:
        self.publish_nowait(store_id, event)

    def publish_nowait(self, store_id: int, event: Event) -> None:
        with self._lock:
            targets = list(self._subscribers.get(store_id, ()))
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for target in targets:
            if target.loop is current:
                target.deliver(event)
            else:
                # asyncio queues are not thread-safe: the subscriber's own loop does the put.
                with contextlib.suppress(RuntimeError):  # that loop has closed meanwhile
                    target.loop.call_soon_threadsafe(target.deliver, event)

    def subscriber_count(self, store_id: int) -> int:
        with self._lock:
            return len(self._subscribers.get(store_id, ()))

    @contextlib.asynccontextmanager
    async def subscribe(self, store_id: int) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        subscription = _Subscription(queue, asyncio.get_running_loop())
        with self._lock:
            self._subscribers[store_id].add(subscription)
        try:
            yield queue
        finally:
            with self._lock:
                self._subscribers[store_id].discard(subscription)
                if not self._subscribers[store_id]:
                    del self._subscribers[store_id]


def encode(event: Event) -> str:
    """An event as JSON (what goes to Redis and to the browser)."""
    return json.dumps(event, default=_json_default, separators=(",", ":"), ensure_ascii=False)


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def channel(store_id: int) -> str:
    return f"{CHANNEL_PREFIX}{store_id}"


class _StoreListener:
    """One Redis subscription (one connection) for one store's channel on one event loop."""

    def __init__(self, bus: RedisBus, store_id: int) -> None:
        self.bus = bus
        self.store_id = store_id
        self.users = 0
        self.pubsub: PubSub | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.pubsub = self.bus.async_client().pubsub()
        try:
            await self.pubsub.subscribe(channel(self.store_id))
            # Wait for Redis to confirm, so nothing published after `subscribe` returns is
            # missed.
            await self._confirmed(self.pubsub)
        except BaseException:
            await self.stop()
            raise
        self.task = asyncio.create_task(self._listen(self.pubsub),
                                        name=f"sellerdesk-live-redis-{self.store_id}")

    @staticmethod
    async def _confirmed(pubsub: PubSub, seconds: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            message = await pubsub.get_message(timeout=left)
            if message is not None and message.get("type") == "subscribe":
                return
        raise TimeoutError("Redis did not confirm the subscription")

    async def _listen(self, pubsub: PubSub) -> None:
        failures = 0
        while True:
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=30)
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                delay = min(30.0, 0.5 * 2 ** min(failures, 6))
                log.warning("live events: Redis subscription of store %s failed; retrying in "
                            "%.1fs", self.store_id, delay, exc_info=failures == 1)
                await asyncio.sleep(delay)
                continue
            if failures:
                # Reconnected (redis-py re-subscribes): what was published meanwhile is lost,
                # so the pages refresh.
                failures = 0
                self.bus.local.publish_nowait(self.store_id, RESYNC)
            if message is None or message.get("type") != "message":
                continue
            try:
                event = json.loads(message["data"])
            except (ValueError, TypeError):
                log.warning("live events: undecodable message on %s", message.get("channel"))
                continue
            if isinstance(event, dict):
                self.bus.local.publish_nowait(self.store_id, event)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.pubsub is not None:
            with contextlib.suppress(Exception):
                await self.pubsub.aclose()  # type: ignore[no-untyped-call]


class RedisBus:
    """Events through Redis pub/sub, channel `sellerdesk:live:<store_id>`, for many processes.

    Each process subscribes once per store that has local subscribers and fans out locally.
    Publishing uses a thread-safe synchronous client, so any thread or loop may publish.
    """

    def __init__(self, url: str, queue_size: int = 1000) -> None:
        self.url = url
        self.local = LocalBus(queue_size)
        self._sync = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._clients: dict[asyncio.AbstractEventLoop, aioredis.Redis] = {}
        self._listeners: dict[tuple[asyncio.AbstractEventLoop, int], _StoreListener] = {}
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        self._guard = threading.Lock()

    async def publish(self, store_id: int, event: Event) -> None:
        await asyncio.to_thread(self._sync.publish, channel(store_id), encode(event))

    def async_client(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        with self._guard:
            client = self._clients.get(loop)
            if client is None:
                client = self._clients[loop] = aioredis.Redis.from_url(
                    self.url, socket_connect_timeout=5)
            return client

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._guard:
            return self._locks.setdefault(loop, asyncio.Lock())

    @contextlib.asynccontextmanager
    async def subscribe(self, store_id: int) -> AsyncIterator[asyncio.Queue[Event]]:
        key = (asyncio.get_running_loop(), store_id)
        async with self.local.subscribe(store_id) as queue:
            async with self._lock():
                listener = self._listeners.get(key)
                if listener is None:
                    listener = _StoreListener(self, store_id)
                    await listener.start()
                    self._listeners[key] = listener
                listener.users += 1
            try:
                yield queue
            finally:
                async with self._lock():
                    listener.users -= 1
                    if listener.users == 0:
                        if self._listeners.get(key) is listener:  # not closed by aclose()
                            del self._listeners[key]
                        await listener.stop()

    async def aclose(self) -> None:
        """Close the connections of the running loop (tests, shutdown)."""
        loop = asyncio.get_running_loop()
        for key in [k for k in self._listeners if k[0] is loop]:
            await self._listeners.pop(key).stop()
        with self._guard:
            client = self._clients.pop(loop, None)
        if client is not None:
            await client.aclose()
        self._sync.close()


class ConfiguredBus:
    """The process's bus: Redis when `settings.redis_url` is set, in-process otherwise."""

    def __init__(self) -> None:
        self.local = LocalBus()
        self._redis: dict[str, RedisBus] = {}
        self._override: Bus | None = None
        self._guard = threading.Lock()

    def use(self, backend: Bus | None) -> None:
        """Use `backend` instead of the configured one (None: back to the configuration)."""
        self._override = backend

    def backend(self) -> Bus:
        if self._override is not None:
            return self._override
        try:
            url = context.get().settings.redis_url
        except RuntimeError:  # no process context (a script, a unit test): in-process only
            url = None
        if not url:
            return self.local
        with self._guard:
            found = self._redis.get(url)
            if found is None:
                found = self._redis[url] = RedisBus(url)
            return found

    async def publish(self, store_id: int, event: Event) -> None:
        await self.backend().publish(store_id, event)

    def subscribe(self, store_id: int) -> AbstractAsyncContextManager[asyncio.Queue[Event]]:
        return self.backend().subscribe(store_id)


bus = ConfiguredBus()
