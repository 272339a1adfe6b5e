"""The migrations build exactly the schema the models describe, on either backend."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.core.db import Base
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
