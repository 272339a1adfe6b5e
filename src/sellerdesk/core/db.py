"""Database engine, sessions, the declarative base, and commit with after-commit callbacks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from sqlalchemy import JSON, BigInteger, Integer, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, mapped_column

from sellerdesk.core.clock import UTCDateTime, now

log = logging.getLogger(__name__)

# Integer on SQLite so the key is the rowid; 64-bit on PostgreSQL.
BigId = BigInteger().with_variant(Integer(), "sqlite")
JsonType = JSON().with_variant(JSONB(), "postgresql")

IdPK = Annotated[int, mapped_column(BigId, primary_key=True, autoincrement=True)]
CreatedAt = Annotated[datetime, mapped_column(UTCDateTime(), default=now, nullable=False)]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver's own implicit transactions break SAVEPOINT; SQLAlchemy emits BEGIN instead.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA cache_size=-32768")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def _sqlite_begin(connection: Any) -> None:
    # Writers take the write lock up front: a deferred transaction that reads and then writes
    # fails at once with "database is locked" when another writer committed in between, and
    # SQLite's busy timeout cannot help it. Read-only sessions keep WAL's concurrent readers.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL and foreign keys on every connection."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


READ_ONLY = "sellerdesk_read_only"


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


AfterCommit = Callable[[], Awaitable[None]]
_AFTER_COMMIT_KEY = "sellerdesk.after_commit"


def on_commit(db: AsyncSession, callback: AfterCommit) -> None:
    """Run callback after the session's next successful commit (publish events, dispatch jobs)."""
    db.info.setdefault(_AFTER_COMMIT_KEY, []).append(callback)


async def commit(db: AsyncSession) -> None:
    """Commit, then run the after-commit callbacks; a failing callback is logged, not raised."""
    await db.commit()
    callbacks: list[AfterCommit] = db.info.pop(_AFTER_COMMIT_KEY, [])
    for callback in callbacks:
        try:
            await callback()
        except Exception:
            log.exception("after-commit callback failed")


async def rollback(db: AsyncSession) -> None:
    """Roll back and forget the callbacks that depended on the commit."""
    db.info.pop(_AFTER_COMMIT_KEY, None)
    # The outbox's jobs of the rolled-back transaction (jobs/outbox.py); left behind, they
    # would stop the next transaction's jobs from being dispatched.
    db.info.pop("sellerdesk.jobs", None)
    await db.rollback()


class Database:
    """The engine and session factory of one process."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessionmaker = make_sessionmaker(self.engine)
        # For requests that only read (GET): on SQLite they don't queue behind writers.
        self.read_sessionmaker = make_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True})
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as db:
            yield db

    async def dispose(self) -> None:
        await self.engine.dispose()


def dialect_name(db: AsyncSession) -> str:
    """'sqlite' or 'postgresql': the backend this session talks to."""
    return db.get_bind().dialect.name
