"""Huey underneath the job outbox: queue, worker threads, and the periodic sweep.

Jobs are rows in our own database (jobs/models.py), written in the transaction that needs them.
Huey only carries their ids: SQLite storage in the data folder on one machine, Redis when
scaled out. A worker thread keeps its own event loop and database engine, because async
drivers bind connections to the loop that opened them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from datetime import timedelta
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer, Scheduler, Worker

from sellerdesk.core import context
from sellerdesk.core.config import Settings
from sellerdesk.core.db import Database
from sellerdesk.jobs import outbox, registry

log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 30.0
SWEEP_AFTER = timedelta(seconds=60)


def make_huey(settings: Settings) -> Huey:
    if settings.redis_url:
        return RedisHuey("sellerdesk", url=settings.redis_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # No fsync: the durable record of a job is its row in our database, and the scheduler's
    # sweep re-dispatches any job whose queue entry was lost. fsync cost ~4 ms a message.
    return SqliteHuey("sellerdesk", filename=str(settings.data_dir / "jobs.db"), fsync=False)


class _ThreadState(threading.local):
    loop: asyncio.AbstractEventLoop | None = None
    database: Database | None = None


class JobQueue:
    """The Huey instance, its one task (run a job row by id), and dispatch from async code."""

    def __init__(self, settings: Settings, huey: Huey | None = None) -> None:
        self.settings = settings
        self.huey = huey or make_huey(settings)
        self._state = _ThreadState()
        self.run_task: Any = self.huey.task(name="sellerdesk.run_job")(
            self._run_in_worker
        )

    async def dispatch(self, job_ids: list[int], delay: float) -> None:
        for job_id in job_ids:
            if delay > 0:
                self.run_task.schedule((job_id,), delay=delay)
            else:
                self.run_task(job_id)

    def _database(self) -> Database:
        if self._state.database is None:
            self._state.database = Database(self.settings.resolved_database_url)
        return self._state.database

    def _loop(self) -> asyncio.AbstractEventLoop:
        if self._state.loop is None:
            self._state.loop = asyncio.new_event_loop()
        return self._state.loop

    def _run_in_worker(self, job_id: int) -> None:
        self._loop().run_until_complete(self._run(job_id))

    async def _run(self, job_id: int) -> None:
        async with self._database().sessionmaker() as db:
            delay = await outbox.run_job(
                db, job_id,
                max_attempts=self.settings.job_max_attempts,
                backoff_seconds=self.settings.job_backoff_seconds,
            )
        if delay is not None:
            await self.dispatch([job_id], delay)

    async def sweep(self) -> int:
        """Re-dispatch jobs whose dispatch was lost (crash between commit and enqueue), then
        run the domains' periodic work."""
        sessionmaker = context.get().database.sessionmaker
        async with sessionmaker() as db:
            ids = await outbox.due_job_ids(db, older_than=SWEEP_AFTER)
        if ids:
            log.warning("re-dispatching %d jobs found by the sweep", len(ids))
            await self.dispatch(ids, 0.0)
        for name, work in registry.periodic_work().items():
            try:
                async with sessionmaker() as db:
                    done = await work(db)
                if done:
                    log.info("periodic %s: %d done", name, done)
            except Exception:
                log.exception("periodic %s failed", name)
        return len(ids)


class EmbeddedWorkers:
    """Huey worker and scheduler threads inside `serve` (the single-machine default)."""

    def __init__(self, queue: JobQueue, workers: int) -> None:
        self.queue = queue
        self.stop_flag = threading.Event()
        huey = queue.huey
        self._processes: list[Any] = [Scheduler(huey, self.stop_flag, 1, False)]
        self._processes += [
            Worker(huey, self.stop_flag, 0.1, 2.0, 1.15) for _ in range(workers)
        ]
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for i, process in enumerate(self._processes):
            thread = threading.Thread(
                target=self._loop, args=(process,), name=f"sellerdesk-job-{i}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _loop(self, process: Any) -> None:
        process.initialize()
        while not self.stop_flag.is_set():
            try:
                process.loop()
            except Exception:
                log.exception("job thread error")
                time.sleep(1)

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_flag.set()
        for thread in self._threads:
            thread.join(timeout)


def run_consumer(queue: JobQueue, workers: int) -> None:
    """`sellerdesk worker`: a Huey consumer in the foreground with its own signal handling."""
    consumer: Consumer = queue.huey.create_consumer(
        workers=workers, worker_type="thread", periodic=False
    )
    consumer.run()


async def run_scheduler(queue: JobQueue, stop: asyncio.Event, *, leader_lock: bool) -> None:
    """The periodic sweep; with Redis, only the holder of a leader lock sweeps."""
    lock = _RedisLeaderLock(queue.settings.redis_url) if leader_lock else None
    while not stop.is_set():
        if lock is None or lock.acquire():
            try:
                await queue.sweep()
            except Exception:
                log.exception("job sweep failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SWEEP_INTERVAL_SECONDS)


class _RedisLeaderLock:
    """A lease in Redis: the scheduler that holds it sweeps; the others wait their turn."""

    def __init__(self, url: str | None, ttl_ms: int = 90_000) -> None:
        import socket
        import uuid

        import redis

        if url is None:
            raise RuntimeError("a leader lock needs SELLERDESK_REDIS_URL")
        self.client = redis.Redis.from_url(url)
        self.key = "sellerdesk:scheduler:leader"
        self.me = f"{socket.gethostname()}:{uuid.uuid4().hex}"
        self.ttl_ms = ttl_ms

    def acquire(self) -> bool:
        if self.client.set(self.key, self.me, nx=True, px=self.ttl_ms):
            return True
        holder = self.client.get(self.key)
        if holder in (self.me, self.me.encode()):
            self.client.pexpire(self.key, self.ttl_ms)
            return True
        return False
