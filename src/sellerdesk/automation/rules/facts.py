"""What conditions look at: an in-memory snapshot of one ticket, its message, customer and
channel at one event. Texts are case-folded and analysed once, on first use, however many
rules ask."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sellerdesk.automation.calendars import BusinessCalendar
from sellerdesk.core.text import index_terms

# The value of a field the ticket does not have at all (intent, until triage adds it).
ABSENT = object()

TEXT_LIMIT = 100_000  # longer texts are matched on their first 100,000 characters


def fold(text: str) -> str:
    """Compatibility forms and case folded away, as search does: 'ＺＷＲＯＴ' → 'zwrot'."""
    text = unicodedata.normalize("NFKC", text)
    return text.lower() if text.isascii() else unicodedata.normalize("NFKC", text.casefold())


class Facts:
    """Field name → value (see conditions.FIELDS), plus the event's time and calendars."""

    __slots__ = ("_folded", "_normal", "_terms", "at", "calendars", "language", "values")

    def __init__(self, values: Mapping[str, Any], *, at: datetime,
                 calendars: Mapping[int, BusinessCalendar] | None = None) -> None:
        self.values = dict(values)
        self.at = at
        self.calendars: Mapping[int, BusinessCalendar] = calendars or {}
        self.language: str | None = values.get("ticket.language")
        self._folded: dict[str, str | None] = {}
        self._terms: dict[str, frozenset[str]] = {}
        self._normal: dict[str, frozenset[str]] = {}

    def folded(self, name: str) -> str | None:
        try:
            return self._folded[name]
        except KeyError:
            raw = self.values.get(name)
            value = fold(raw[:TEXT_LIMIT]) if isinstance(raw, str) else None
            self._folded[name] = value
            return value

    def terms(self, name: str) -> frozenset[str]:
        """The text's search terms: words with their Polish/English stems, Korean bigrams."""
        try:
            return self._terms[name]
        except KeyError:
            raw = self.values.get(name)
            value = frozenset(index_terms(raw[:TEXT_LIMIT], self.language)
                              if isinstance(raw, str) else ())
            self._terms[name] = value
            return value

    def keyword(self, name: str) -> frozenset[str]:
        """A keyword field case-folded with its spaces collapsed, as a set of one (or none)."""
        try:
            return self._normal[name]
        except KeyError:
            raw = self.values.get(name)
            value = (frozenset({" ".join(raw.casefold().split())}) if isinstance(raw, str)
                     else frozenset())
            self._normal[name] = value
            return value

    def language_codes(self, name: str) -> frozenset[str]:
        """A language code and its prefixes: "pt-br" → {"pt-br", "pt"}."""
        key = "lang:" + name
        try:
            return self._normal[key]
        except KeyError:
            raw = self.values.get(name)
            codes: set[str] = set()
            if isinstance(raw, str):
                parts = raw.strip().casefold().replace("_", "-").split("-")
                codes = {"-".join(parts[:i]) for i in range(1, len(parts) + 1)}
            value = frozenset(codes)
            self._normal[key] = value
            return value
