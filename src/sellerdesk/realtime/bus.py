"""Live events to connected agents: an in-process fan-out per store.

Publishers call `publish` only after their transaction commits (via core.db.on_commit). The
WebSocket gateway subscribes per store; a Redis-backed bus with the same interface replaces
this one when SellerDesk runs on several machines.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

Event = dict[str, Any]


class LocalBus:
    def __init__(self, queue_size: int = 1000) -> None:
        self._subscribers: dict[int, set[asyncio.Queue[Event]]] = defaultdict(set)
        self._queue_size = queue_size

    async def publish(self, store_id: int, event: Event) -> None:
        for queue in list(self._subscribers.get(store_id, ())):
            with contextlib.suppress(asyncio.QueueFull):
                # A subscriber too slow to keep up misses events rather than stalling everyone.
                queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, store_id: int) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        self._subscribers[store_id].add(queue)
        try:
            yield queue
        finally:
            self._subscribers[store_id].discard(queue)
            if not self._subscribers[store_id]:
                del self._subscribers[store_id]


bus = LocalBus()
