"""Bring the database schema to the newest revision (`sellerdesk migrate`, and at start-up)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Migrate the database at url to head (opens its own engine; call outside an event loop)."""
    command.upgrade(alembic_config(url), "head")


def upgrade_connection(connection: Connection) -> None:
    """Migrate through an open (sync-facing) connection, e.g. inside AsyncConnection.run_sync."""
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
