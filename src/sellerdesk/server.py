"""`sellerdesk serve`: uvicorn with the app, plus job workers and the scheduler in-process."""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from sellerdesk.api.app import create_app
from sellerdesk.core import context
from sellerdesk.core.config import Settings
from sellerdesk.core.text import warm_up
from sellerdesk.jobs import outbox
from sellerdesk.jobs.runtime import EmbeddedWorkers, JobQueue, run_scheduler

log = logging.getLogger(__name__)


def serve(settings: Settings, *, with_worker: bool) -> None:
    context.init(settings)
    queue = JobQueue(settings)
    outbox.set_dispatcher(queue.dispatch)
    warm_up()
    workers = EmbeddedWorkers(queue, settings.worker_threads) if with_worker else None
    config = uvicorn.Config(
        create_app(), host=settings.host, port=settings.port, log_level=settings.log_level,
        proxy_headers=True,
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        stop = asyncio.Event()
        scheduler = None
        if workers is not None:
            workers.start()
            scheduler = asyncio.create_task(run_scheduler(queue, stop, leader_lock=False))
        try:
            await server.serve()
        finally:
            stop.set()
            if scheduler is not None:
                await scheduler
            if workers is not None:
                await asyncio.to_thread(workers.stop)

    asyncio.run(main())
