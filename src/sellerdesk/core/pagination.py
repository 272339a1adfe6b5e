"""Opaque cursors for keyset pagination."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from sellerdesk.core.errors import Invalid


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, length: int) -> list[Any]:
    """Decode a cursor made by encode_cursor; anything else is a 422 naming `cursor`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise Invalid("request.invalid_cursor", "cursor is not one this API gave out",
                      field="cursor") from exc
    if not isinstance(values, list) or len(values) != length:
        raise Invalid("request.invalid_cursor", "cursor is not one this API gave out",
                      field="cursor")
    return values
