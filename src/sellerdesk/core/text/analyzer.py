"""One text analyzer for the search index and for search queries, on every database backend.

Terms hold only letters and digits, so a space-joined list survives SQLite FTS5's unicode61
tokenizer unchanged and PostgreSQL's array_to_tsvector takes it as it is.
"""

from __future__ import annotations

import enum
import functools
import re
import threading
import unicodedata
from collections.abc import Iterable

import Stemmer as snowball

from sellerdesk.core.text import stempel

# Longer runs are hashes, base64 or URLs run together: noise in the index, never typed as a query.
MAX_TERM_CHARS = 64
# Two-letter words are function words; both stemmers turn them into noise ("o" -> "ojciec").
_MIN_STEMMED_CHARS = 3
_STEM_CACHE_SIZE = 200_000
_LATIN_MAX = "\u024f"  # end of Latin Extended-B: where both stemmers' alphabets end

# Hangul, kana and Han blocks; these scripts are written without spaces, so they are bigrammed.
_CJK_BLOCKS = (
    (0x1100, 0x11FF),
    (0x3005, 0x3007),
    (0x3021, 0x3029),
    (0x3031, 0x3035),
    (0x303B, 0x303C),
    (0x3040, 0x30FF),
    (0x3130, 0x318F),
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xA960, 0xA97F),
    (0xAC00, 0xD7FF),
    (0xF900, 0xFAFF),
    (0x1B000, 0x1B16F),
    (0x20000, 0x323AF),
)
# Invisible characters that break a word in two when they sit inside it (HTML &shy; in emails).
_INVISIBLE_JOINERS = (0x00AD, 0x200C, 0x200D, 0x2060, 0xFEFF)


class _Stemming(enum.Enum):
    POLISH = "pl"
    ENGLISH = "en"
    BOTH = "pl+en"


def index_terms(text: str, language: str | None = None) -> list[str]:
    """The distinct terms to index for a document, in order of first appearance."""
    stemming = _stemming_for(language)
    terms: dict[str, None] = {}
    for cjk_run, word in _RUNS.findall(_normalise(text)):
        for term in _bigrams(cjk_run) if cjk_run else _word_terms(word, stemming):
            terms[term] = None
    return list(terms)


def query_groups(query: str) -> list[list[str]]:
    """A query as an AND of OR-groups: each word with its stems, each CJK bigram alone."""
    groups: dict[tuple[str, ...], None] = {}
    for cjk_run, word in _RUNS.findall(_normalise(query)):
        if cjk_run:
            for bigram in _bigrams(cjk_run):
                groups[(bigram,)] = None
        elif terms := _word_terms(word, _Stemming.BOTH):
            groups[terms] = None
    return [list(group) for group in groups]


def warm_up() -> None:
    """Load the stemming tables now, so that the first search does not wait for them."""
    stempel.load()
    _english_stem("orders")


def _stemming_for(language: str | None) -> _Stemming:
    """Which stemmers a document gets: both unless its language is known to be one of them."""
    # Queries always carry both stems, so a known language only trims the other's noise
    # ("policy" and "police" share the Polish stem "polica") without losing a match.
    primary = (language or "").replace("_", "-").split("-")[0].lower()
    if primary == "pl":
        return _Stemming.POLISH
    if primary == "en":
        return _Stemming.ENGLISH
    return _Stemming.BOTH


def _normalise(text: str) -> str:
    """Fold compatibility forms, width and case; drop marks that would split a word."""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text.lower()
    # casefold can decompose ("İ" -> "i" + U+0307); recompose, then drop the marks still left
    folded = unicodedata.normalize("NFKC", text.casefold())
    return folded.translate(_invisible_table())


def _bigrams(run: str) -> Iterable[str]:
    """Overlapping character pairs, as Lucene's CJK analyzer makes; a lone character stays."""
    if len(run) == 1:
        return (run,)
    return (run[i : i + 2] for i in range(len(run) - 1))


@functools.lru_cache(maxsize=_STEM_CACHE_SIZE)
def _word_terms(word: str, stemming: _Stemming) -> tuple[str, ...]:
    """The word and its stems without repeats; nothing for a word too long to be one."""
    if len(word) > MAX_TERM_CHARS:
        return ()
    if len(word) < _MIN_STEMMED_CHARS or not word.isalpha() or max(word) > _LATIN_MAX:
        return (word,)
    terms = [word]
    if stemming is not _Stemming.ENGLISH:
        terms.append(_polish_stem(word))
    if stemming is not _Stemming.POLISH:
        terms.append(_english_stem(word))
    return tuple(dict.fromkeys(term for term in terms if term))


def _polish_stem(word: str) -> str:
    """Stempel's stem of a word, or "" where it is surely not one."""
    stem = stempel.stem(word)
    # Stempel guesses for any word, Polish or not. Its worst guesses are short or change the
    # first letter ("still" -> "sć", "darren" -> "ować"), and they collide across words.
    if not stem or len(stem) < _MIN_STEMMED_CHARS or stem[0] != word[0] or not stem.isalpha():
        return ""
    return stem


_english = threading.local()


def _english_stem(word: str) -> str:
    """The Snowball (Porter 2) English stem of a word."""
    # A Snowball stemmer keeps state between calls, so each thread needs its own.
    stemmer = getattr(_english, "stemmer", None)
    if stemmer is None:
        stemmer = _english.stemmer = snowball.Stemmer("english")
    stem: str = stemmer.stemWord(word)
    return stem if stem.isalpha() else ""


def _cjk_char_class() -> str:
    """A regex class of the letters and digits in the CJK blocks."""
    ranges: list[tuple[int, int]] = []
    for low, high in _CJK_BLOCKS:
        for code in range(low, high + 1):
            if not chr(code).isalnum():
                continue
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(_class_range(low, high) for low, high in ranges)


def _class_range(low: int, high: int) -> str:
    """One range inside a regex character class."""
    return rf"\U{low:08x}" if low == high else rf"\U{low:08x}-\U{high:08x}"


@functools.cache
def _invisible_table() -> dict[int, None]:
    """A str.translate table deleting combining marks and invisible joiners."""
    # Built on first non-ASCII text: scanning the code points takes ~50 ms.
    marks = (
        code
        for code in (*range(0x20000), *range(0xE0100, 0xE01F0))
        if unicodedata.category(chr(code)).startswith("M")
    )
    return dict.fromkeys((*marks, *_INVISIBLE_JOINERS))


_CJK_BLOCKS_CLASS = "".join(_class_range(low, high) for low, high in _CJK_BLOCKS)
# Group 1: a run of CJK letters; group 2: a run of any other letters and digits.
# [^\W_] is a letter or digit: underscores and punctuation separate, as in FTS5's unicode61.
_RUNS = re.compile(rf"([{_cjk_char_class()}]+)|([^\W_{_CJK_BLOCKS_CLASS}]+)")
