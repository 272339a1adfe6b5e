"""Bulk loading for the read benchmarks: rows straight into the tables, indexes built after.

Not the inbound path (that is benchmarks/ingest.py): a million tickets through it would take
hours. SQLite gets executemany in one transaction on a plain sqlite3 connection; PostgreSQL
gets COPY (asyncpg) with triggers (foreign-key checks) off for the session. The tables' own
indexes are dropped first and re-created afterwards from their stored definitions, so the
schema afterwards is exactly the migrated one; then ANALYZE.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # what SQLAlchemy's SQLite DATETIME stores


def sqlite_dt(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).strftime(SQLITE_DATETIME)


class SqliteLoader:
    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA cache_size=-262144")
        self.conn.execute("PRAGMA temp_store=MEMORY")
        self.dropped: list[str] = []

    def drop_indexes(self, tables: Sequence[str]) -> None:
        """Drop the explicit indexes of tables, remembering their CREATE statements."""
        marks = ",".join("?" * len(tables))
        query = ("SELECT name, sql FROM sqlite_master WHERE type='index' "  # noqa: S608
                 f"AND sql IS NOT NULL AND tbl_name IN ({marks})")  # placeholders only
        rows = self.conn.execute(query, tuple(tables)).fetchall()
        for name, create in rows:
            self.conn.execute(f'DROP INDEX "{name}"')
            self.dropped.append(create)

    def recreate_indexes(self) -> None:
        for sql in self.dropped:
            self.conn.execute(sql)
        self.dropped = []

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        cols = ", ".join(columns)
        marks = ", ".join("?" * len(columns))
        self.conn.execute("BEGIN")
        sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608 - our tables
        self.conn.executemany(sql, rows)
        self.conn.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.conn.execute(sql, params).fetchall()

    def analyze(self) -> None:
        self.conn.execute("ANALYZE")

    def close(self) -> None:
        self.conn.close()


class PostgresLoader:
    """An asyncpg connection with FK triggers off (superuser) for COPY."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.dropped: list[str] = []
        self.replica_role = False

    @classmethod
    async def connect(cls, dsn: str) -> PostgresLoader:
        import asyncpg

        loader = cls(await asyncpg.connect(dsn))
        try:
            await loader.conn.execute("SET session_replication_role = replica")
            loader.replica_role = True
        except Exception:  # not a superuser: COPY with foreign-key checks, only slower
            loader.replica_role = False
        await loader.conn.execute("SET maintenance_work_mem = '512MB'")
        return loader

    async def drop_indexes(self, tables: Sequence[str]) -> None:
        """Drop indexes that back no constraint (those stay), remembering their definitions."""
        rows = await self.conn.fetch(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = 'public' AND i.tablename = ANY($1::text[])
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
            """, list(tables))
        for row in rows:
            await self.conn.execute(f'DROP INDEX "{row["indexname"]}"')
            self.dropped.append(row["indexdef"])

    async def recreate_indexes(self) -> None:
        for sql in self.dropped:
            await self.conn.execute(sql)
        self.dropped = []

    async def copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
                   ) -> None:
        await self.conn.copy_records_to_table(table, records=rows, columns=list(columns))

    async def fix_sequence(self, table: str, column: str = "id") -> None:
        sql = (f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "  # noqa: S608
               f"(SELECT coalesce(max({column}), 1) FROM {table}))")  # our own tables
        await self.conn.execute(sql)

    async def analyze(self) -> None:
        await self.conn.execute("ANALYZE")

    async def close(self) -> None:
        await self.conn.close()
