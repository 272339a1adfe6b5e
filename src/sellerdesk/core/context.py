"""The process's shared services: settings, database, blob store. Set once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from sellerdesk.core.blobs import BlobStore
from sellerdesk.core.config import Settings
from sellerdesk.core.db import Database


@dataclass(slots=True)
class Context:
    settings: Settings
    database: Database
    blobs: BlobStore


_current: Context | None = None


def init(settings: Settings, database: Database | None = None) -> Context:
    """Create (or replace) the process context from settings."""
    global _current
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _current = Context(
        settings=settings,
        database=database or Database(settings.resolved_database_url),
        blobs=BlobStore(settings.blob_dir, settings.max_attachment_bytes),
    )
    return _current


def get() -> Context:
    if _current is None:
        raise RuntimeError("sellerdesk context not initialised; call core.context.init first")
    return _current


def reset() -> None:
    global _current
    _current = None
