"""Full-text search over messages: one analyzer, SQLite FTS5 or PostgreSQL tsvector behind it.

Terms come from core.text on both backends and reach the database already analysed, so the
same data gives the same results on either. A store token (`s:<id>`) in every document keeps
each store's search inside its own postings. Results are newest first, which both backends
answer from the index without ranking every hit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.core.db import dialect_name
from sellerdesk.core.text import index_terms, query_groups


def _store_term(store_id: int) -> str:
    return f"s:{store_id}"


def document_terms(store_id: int, text_: str, subject: str | None = None) -> list[str]:
    terms = [_store_term(store_id)]
    if subject:
        terms.extend(index_terms(subject))
    terms.extend(index_terms(text_))
    return list(dict.fromkeys(terms))


async def index_message(
    db: AsyncSession, *, message_id: int, store_id: int, body: str, subject: str | None = None
) -> None:
    """Add one message (and, for a ticket's first message, its subject) to the index."""
    terms = document_terms(store_id, body, subject)
    if dialect_name(db) == "sqlite":
        await db.execute(
            text("INSERT INTO search_fts(rowid, terms) VALUES (:id, :terms)"),
            {"id": message_id, "terms": " ".join(terms)},
        )
    else:
        await db.execute(
            text(
                "INSERT INTO search_docs(message_id, tsv) "
                "VALUES (:id, array_to_tsvector(CAST(:terms AS text[]))) "
                "ON CONFLICT (message_id) DO UPDATE SET tsv = EXCLUDED.tsv"
            ),
            {"id": message_id, "terms": terms},
        )


async def index_messages(
    db: AsyncSession, docs: Sequence[tuple[int, int, str, str | None]]
) -> None:
    """Index_message for many messages in one statement: (message id, store id, body, subject
    or None) each."""
    if not docs:
        return
    if dialect_name(db) == "sqlite":
        await db.execute(
            text("INSERT INTO search_fts(rowid, terms) VALUES (:id, :terms)"),
            [{"id": message_id, "terms": " ".join(document_terms(store_id, body, subject))}
             for message_id, store_id, body, subject in docs],
        )
    else:
        await db.execute(
            text(
                "INSERT INTO search_docs(message_id, tsv) "
                "VALUES (:id, array_to_tsvector(CAST(:terms AS text[]))) "
                "ON CONFLICT (message_id) DO UPDATE SET tsv = EXCLUDED.tsv"
            ),
            [{"id": message_id, "terms": document_terms(store_id, body, subject)}
             for message_id, store_id, body, subject in docs],
        )


def _fts5_query(store_id: int, groups: list[list[str]]) -> str:
    parts = [f'"{_store_term(store_id)}"']
    for group in groups:
        ors = " OR ".join(f'"{term}"' for term in group)
        parts.append(f"({ors})" if len(group) > 1 else ors)
    return " AND ".join(parts)


def _tsquery(store_id: int, groups: list[list[str]]) -> str:
    def lexeme(term: str) -> str:
        return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"

    parts = [lexeme(_store_term(store_id))]
    for group in groups:
        ors = " | ".join(lexeme(t) for t in group)
        parts.append(f"({ors})" if len(group) > 1 else ors)
    return " & ".join(parts)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    store_id: int
    groups: list[list[str]]

    @property
    def empty(self) -> bool:
        return not self.groups


def parse_query(store_id: int, q: str) -> SearchQuery:
    return SearchQuery(store_id, query_groups(q))


async def matching_message_ids(
    db: AsyncSession, query: SearchQuery, *, limit: int, before_id: int | None = None
) -> list[int]:
    """Ids of messages matching every query term, newest first."""
    if query.empty:
        return []
    before = before_id if before_id is not None else 2**62
    if dialect_name(db) == "sqlite":
        rows = await db.execute(
            text(
                "SELECT rowid FROM search_fts WHERE search_fts MATCH :q AND rowid < :before "
                "ORDER BY rowid DESC LIMIT :limit"
            ),
            {"q": _fts5_query(query.store_id, query.groups), "before": before, "limit": limit},
        )
    else:
        rows = await db.execute(
            text(
                "SELECT message_id FROM search_docs "
                "WHERE tsv @@ CAST(:q AS tsquery) AND message_id < :before "
                "ORDER BY message_id DESC LIMIT :limit"
            ),
            {"q": _tsquery(query.store_id, query.groups), "before": before, "limit": limit},
        )
    return [int(r[0]) for r in rows]
