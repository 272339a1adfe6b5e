"""Storing a message's files: bytes once in the blob store, one Attachment row each."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels.base import InboundAttachment
from sellerdesk.core import context
from sellerdesk.core.blobs import sniff_content_type
from sellerdesk.tickets.models import Attachment


def safe_filename(name: str) -> str:
    """The last path component only, without NULs; never empty."""
    cleaned = name.replace("\\", "/").rsplit("/", 1)[-1].strip().replace("\x00", "")
    return cleaned[:255] or "attachment"


def store_attachments(
    db: AsyncSession, *, store_id: int, message_id: int, files: Sequence[InboundAttachment]
) -> None:
    """Add the files to the current transaction; TooLarge names `attachments.<i>`."""
    blobs = context.get().blobs
    for i, att in enumerate(files):
        stored = blobs.put(att.data, field=f"attachments.{i}")
        db.add(Attachment(
            store_id=store_id,
            message_id=message_id,
            filename=safe_filename(att.filename),
            content_type=sniff_content_type(att.data, att.filename, att.content_type),
            size=stored.size,
            sha256=stored.sha256,
            content_id=att.content_id[:255] if att.content_id else None,
            inline=att.inline,
        ))
