"""The migrations build exactly the schema the models describe, on either backend."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.core.db import Base
from sellerdesk.core.migrate import alembic_config
from sellerdesk.models import load_models

SEARCH_TABLES = {"search_fts", "search_fts_data", "search_fts_idx", "search_fts_config",
                 "search_docs", "alembic_version"}


def _diff(connection: Connection) -> list[Any]:
    load_models()
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [
        d for d in compare_metadata(context, Base.metadata)
        if not (d[0] == "remove_table" and d[1].name in SEARCH_TABLES)
        and not (d[0] == "remove_index" and d[1].table.name in SEARCH_TABLES)
    ]


async def test_migrated_schema_matches_models(db: AsyncSession) -> None:
    connection = await db.connection()

    differences = await connection.run_sync(_diff)

    assert differences == []


async def test_search_structures_exist(db: AsyncSession, backend: str) -> None:
    connection = await db.connection()

    tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))

    assert ("search_fts" if backend == "sqlite" else "search_docs") in tables


def test_attachments_stored_before_0003_become_not_inline(tmp_path: Path) -> None:
    # given a database at 0002 holding an attachment and a message
    path = tmp_path / "old.db"
    config = alembic_config(f"sqlite+aiosqlite:///{path}")
    command.upgrade(config, "0002")
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            INSERT INTO stores (id, slug, name, timezone, default_language, created_at)
                VALUES (1, 's', 'S', 'UTC', 'en', '2026-11-24 08:00:00');
            INSERT INTO tickets (id, store_id, subject, status, priority, channel_type,
                                 message_count, created_at, updated_at)
                VALUES (1, 1, 'x', 'new', 'normal', 'email', 1, '2026-11-24 08:00:00',
                        '2026-11-24 08:00:00');
            INSERT INTO messages (id, store_id, ticket_id, direction, text, delivery_status,
                                  delivery_attempts, created_at)
                VALUES (1, 1, 1, 'inbound', 'x', 'received', 0, '2026-11-24 08:00:00');
            INSERT INTO attachments (id, store_id, message_id, filename, content_type, size,
                                     sha256, created_at)
                VALUES (1, 1, 1, 'a.png', 'image/png', 3, 'x', '2026-11-24 08:00:00');
        """)

    # when it is migrated to 0003
    command.upgrade(config, "0003")

    # then the old row reads as a plain attachment without a Content-ID
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT content_id, inline FROM attachments").fetchone()
        columns = {r[1] for r in conn.execute("PRAGMA table_info(messages)")}
    assert row == (None, 0)
    assert "display_text" in columns
    command.downgrade(config, "0002")
    with sqlite3.connect(path) as conn:
        assert "inline" not in {r[1] for r in conn.execute("PRAGMA table_info(attachments)")}
