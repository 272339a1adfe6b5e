"""Guess the language of a customer's message with py3langid's bundled model."""

from __future__ import annotations

import re
import threading
from typing import Protocol

# Languages sellers in Europe and East Asia hear from; a short list keeps short messages from
# landing on a neighbour nobody writes in (Czech read as Slovak, Norwegian as Nynorsk).
SUPPORTED_LANGUAGES = (
    "en",
    "ko",
    "pl",
    "de",
    "fr",
    "es",
    "it",
    "nl",
    "pt",
    "ja",
    "zh",
    "ru",
    "uk",
    "cs",
    "sv",
    "da",
    "no",
    "fi",
    "ro",
    "hu",
    "tr",
    "el",
)
# Fewer letters than this ("ok", "Hi") carry no signal about the language.
_MIN_LETTERS = 3
# Below this the model is choosing among near-equals ("thanks" scores 0.23 for English).
_MIN_CONFIDENCE = 0.5
# The model's n-gram counts settle long before this; the rest of a long email only costs time.
_MAX_CHARS = 2_000

_LETTER = re.compile(r"[^\W\d_]")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7ff]")


class _Identifier(Protocol):
    def classify(self, text: str) -> tuple[str, float]: ...


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the text's language, or None when the text is too thin to tell."""
    sample = text[:_MAX_CHARS]
    letters = len(_LETTER.findall(sample))
    if letters == 0:
        return None
    # Hangul is written only for Korean, so counting it beats the model on short Korean texts.
    if 2 * len(_HANGUL.findall(sample)) >= letters:
        return "ko"
    if letters < _MIN_LETTERS:
        return None
    language, confidence = _identifier().classify(sample)
    return language if confidence >= _MIN_CONFIDENCE else None


_lock = threading.Lock()
_model: _Identifier | None = None


def _identifier() -> _Identifier:
    """The language model restricted to SUPPORTED_LANGUAGES, loaded once on first use."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = _load_identifier()
    return _model


def _load_identifier() -> _Identifier:
    """Read py3langid's bundled model (under a second)."""
    # Imported here: it pulls in numpy, which processes that never detect a language skip.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    # norm_probs gives a probability to compare with _MIN_CONFIDENCE, not a raw log score.
    model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    model.set_languages(list(SUPPORTED_LANGUAGES))
    identifier: _Identifier = model
    return identifier
