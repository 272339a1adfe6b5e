"""Translations of what SellerDesk itself says (UI, mail to agents) into Korean and Polish.

English is the source language: a message id is the English text with `{name}` placeholders.
Each language keeps one JSON file per area under `sellerdesk/locales/<lang>/`, mapping the English
text to the translation, or to a list of plural forms for texts used with `plural()`. A test
checks that every text used in the code and templates is translated in every language.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("en", "ko", "pl")
DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {"en": "English", "ko": "한국어", "pl": "Polski"}

Catalog = dict[str, str | list[str]]


@cache
def catalog(language: str) -> Catalog:
    """Every area file of a language merged; English has none (the ids are English)."""
    merged: Catalog = {}
    if language == DEFAULT_LANGUAGE:
        return merged
    folder = resources.files("sellerdesk") / "locales" / language
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            merged.update(json.loads(entry.read_text(encoding="utf-8")))
    return merged


def negotiate(accept_language: str | None) -> str:
    """The first supported language in an Accept-Language header, else English."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def supported(language: str | None) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def translate(language: str, text: str, **values: Any) -> str:
    found = catalog(supported(language)).get(text)
    template = found if isinstance(found, str) else text
    return template.format(**values) if values else template


def plural_index(language: str, n: int) -> int:
    """Which plural form: Korean has one; Polish three (1 / 2-4 but not 12-14 / the rest)."""
    if language == "ko":
        return 0
    if language == "pl":
        if n == 1:
            return 0
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return 1
        return 2
    return 0 if n == 1 else 1


def plural(language: str, singular: str, plural_text: str, n: int, **values: Any) -> str:
    """`plural(lang, "{n} ticket", "{n} tickets", n)`; the catalog keys it by the singular."""
    language = supported(language)
    found = catalog(language).get(singular)
    if isinstance(found, list) and found:
        template = found[min(plural_index(language, n), len(found) - 1)]
    else:
        template = singular if n == 1 else plural_text
    return template.format(n=n, **values)


def N_(text: str) -> str:  # noqa: N802 (the customary name for a marker)
    """Marks a text for translation where it is defined; it is translated where it is shown."""
    return text
