"""`sellerdesk serve`: uvicorn with the app, plus job workers and the scheduler in-process."""

from __future__ import annotations

import asyncio
import logging
import signal

import uvicorn

from sellerdesk.api.app import create_app
from sellerdesk.channels.email.smtp_in import start_listener
from sellerdesk.channels.email.tasks import run_watchers
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
        # uvicorn re-raises SIGTERM once it has shut down; with the default handler that kills
        # the process before the job workers below are stopped. Ours just asks it to stop.
        signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
        # The SMTP listener for forwarded mail runs only where a port is configured.
        listener = await start_listener(settings) if settings.smtp_listen_port else None
        # IMAP IDLE watchers where this process also runs the scheduler (one machine).
        watchers = (asyncio.create_task(run_watchers(stop))
                    if workers is not None and settings.imap_idle else None)
        try:
            await server.serve()
        finally:
            if listener is not None:
                await listener.stop()
            stop.set()
            if watchers is not None:
                await watchers
            if scheduler is not None:
                await scheduler
            if workers is not None:
                await asyncio.to_thread(workers.stop)

    asyncio.run(main())
