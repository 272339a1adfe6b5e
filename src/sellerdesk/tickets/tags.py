"""Tag names: one spelling per tag, whoever writes or searches it."""

from __future__ import annotations

from sellerdesk.core.errors import Invalid
from sellerdesk.tickets.errors import TicketError

TAG_MAX = 64


def normalize_tag(name: str, *, field: str = "tags") -> str:
    """Case-folded, inner whitespace collapsed; refuses empty, over-long or comma'd names."""
    tag = " ".join(name.strip().casefold().split())
    if not tag or len(tag) > TAG_MAX or "," in tag:
        raise Invalid(TicketError.INVALID_TAG,
                      f"tag {name!r} must be 1-{TAG_MAX} characters without commas", field=field)
    return tag
