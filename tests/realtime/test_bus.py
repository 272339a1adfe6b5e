"""The in-process bus: per-store fan-out, and what a subscriber too slow to keep up gets."""

from __future__ import annotations

import asyncio
import threading

from sellerdesk.realtime.bus import RESYNC, LocalBus


async def test_each_store_gets_its_own_events() -> None:
    bus = LocalBus()
    async with bus.subscribe(1) as ones, bus.subscribe(2) as twos:
        await bus.publish(1, {"type": "ticket.created", "ticket_id": 1})
        await bus.publish(3, {"type": "ticket.created", "ticket_id": 3})

        assert ones.get_nowait() == {"type": "ticket.created", "ticket_id": 1}
        assert ones.empty()
        assert twos.empty()
    assert bus.subscriber_count(1) == 0


async def test_a_subscriber_that_falls_behind_is_told_to_resync() -> None:
    bus = LocalBus(queue_size=2)
    async with bus.subscribe(1) as queue:
        for n in range(3):
            await bus.publish(1, {"type": "ticket.updated", "ticket_id": n})

        assert queue.get_nowait() == RESYNC
        assert queue.empty()


async def test_publishing_from_threads_without_a_loop_reaches_the_subscriber() -> None:
    bus = LocalBus()
    async with bus.subscribe(1) as queue:
        threads = [threading.Thread(target=bus.publish_nowait,
                                    args=(1, {"type": "ticket.updated", "ticket_id": n}))
                   for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        async with asyncio.timeout(2):
            got = sorted([(await queue.get())["ticket_id"] for _ in range(20)])
        assert got == list(range(20))
