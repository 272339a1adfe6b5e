"""Text analysis for search: terms to index, query groups, and language detection."""

from sellerdesk.core.text.analyzer import MAX_TERM_CHARS, index_terms, query_groups, warm_up
from sellerdesk.core.text.language import SUPPORTED_LANGUAGES, detect_language

__all__ = [
    "MAX_TERM_CHARS",
    "SUPPORTED_LANGUAGES",
    "detect_language",
    "index_terms",
    "query_groups",
    "warm_up",
]
