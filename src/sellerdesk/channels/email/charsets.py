"""Turning the bytes of real mail into text: mislabelled, unlabelled, legacy and broken charsets.

decode_bytes() picks a codec in this order, and never raises:

1. The declared label, mapped to the codec that real senders write under it (Outlook labels
   Korean mail ks_c_5601-1987 or euc-kr but writes CP949; gb2312 senders write GB18030; big5
   senders Big5-HKSCS; iso-8859-1 senders windows-1252; shift_jis senders CP932; iso-2022-jp
   senders add half-width kana and JIS X 0212/0213). A label that decodes strictly wins, except
   that a single-byte label (those accept any bytes, so a strict decode proves nothing) yields to
   valid multi-byte UTF-8: legacy text is practically never valid UTF-8 by accident. Labels that
   name no charset (us-ascii on 8-bit data, x-unknown, unknown-8bit) and codecs that are not
   charsets (unicode_escape would turn backslashes into escapes, base64, rot13) count as absent.
2. UTF-8, strictly. Then, with U+FFFD only where bytes are broken: mostly-valid UTF-8 (at least as
   many valid multi-byte sequences as broken ones), or the declared codec if at most 2% of the
   characters come out replaced: mail that was right apart from a damaged byte or two.
3. A short guess list for the customers SellerDesk serves (Korean, Polish, English): the first
   of cp949, cp1250, iso-8859-2, cp1252 that decodes strictly and looks plausible. cp949 is
   plausible when most high bytes pair into KS X 1001 Hangul syllables (Polish in cp1250 can
   decode "strictly" as stray UHC syllables); the single-byte ones when at most 3% of high bytes
   become something other than a letter or common typography (iso-8859-2 Polish read as cp1250
   shows "±" for "ą" and "¶" for "ś"; a stray "m²" is fine). So an unlabelled Western European
   text reads as cp1250 where the two agree, and "è" comes out "č": a known limit of guessing.
4. Last resort: the least implausible guess when nothing was declared, else the declared codec
   (or UTF-8) with U+FFFD replacement.
ISO-2022 text (7-bit, with escape sequences) is recognised by its escapes when unlabelled.

The header helpers below build on it: RFC 2047 encoded words, RFC 2231 parameters, raw 8-bit
header text, addresses, message ids and dates.
"""

from __future__ import annotations

import binascii
import codecs
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import unquote_to_bytes

_KOREAN = ("cp949",)
_CHINESE = ("gb18030",)
_BIG5 = ("big5hkscs", "cp950")
_SJIS = ("cp932", "shift_jis_2004")
_EUC_JP = ("euc_jp", "euc_jis_2004")
_JIS = ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_2004", "iso2022_jp_3")
_WESTERN = ("cp1252", "latin-1")
_NO_INFO: tuple[str, ...] = ()

# Normalised label (lowercase, "_" as "-") -> codecs to try in order.
_LABELS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        ("ks-c-5601-1987", "ks-c-5601", "ks-c-5601-1989", "ksc5601", "ksc-5601", "euc-kr",
         "euckr", "x-euc-kr", "x-windows-949", "windows-949", "cp949", "ms949", "uhc", "x-uhc",
         "korean", "csksc56011987", "csueckr", "ks-x-1001", "iso-ir-149"), _KOREAN),
    **dict.fromkeys(
        ("gb2312", "gb-2312", "gb-2312-80", "gbk", "x-gbk", "cp936", "ms936", "windows-936",
         "euc-cn", "x-euc-cn", "csgb2312", "chinese", "gb18030", "iso-ir-58"), _CHINESE),
    **dict.fromkeys(("big5", "big-5", "x-x-big5", "cn-big5", "csbig5", "big5-hkscs", "cp950"),
                    _BIG5),
    **dict.fromkeys(
        ("shift-jis", "shift-jis-2004", "sjis", "x-sjis", "s-jis", "ms-kanji", "csshiftjis",
         "windows-31j", "cp932", "ms932", "x-ms-cp932"), _SJIS),
    **dict.fromkeys(("euc-jp", "x-euc-jp", "cseucpkdfmtjapanese", "eucjp"), _EUC_JP),
    **dict.fromkeys(
        ("iso-2022-jp", "csiso2022jp", "iso2022jp", "iso-2022-jp-1", "iso-2022-jp-2",
         "iso-2022-jp-3", "iso-2022-jp-2004", "iso-2022-jp-ext", "cp50220", "cp50221",
         "cp50222"), _JIS),
    **dict.fromkeys(("iso-2022-kr", "csiso2022kr", "iso2022kr"), ("iso2022_kr", "cp949")),
    **dict.fromkeys(
        ("iso-8859-1", "iso8859-1", "iso-8859-1:1987", "latin1", "latin-1", "l1", "cp819",
         "ibm819", "iso-ir-100", "csisolatin1", "windows-1252", "cp1252", "x-cp1252"), _WESTERN),
    **dict.fromkeys(("iso-8859-9", "latin5", "windows-1254", "cp1254"), ("cp1254", "iso8859_9")),
    **dict.fromkeys(("tis-620", "iso-8859-11", "windows-874", "cp874"), ("cp874",)),
    **dict.fromkeys(("iso-8859-8-i", "iso-8859-8-e"), ("iso8859_8",)),
    **dict.fromkeys(("koi8-ru",), ("koi8_u",)),
    **dict.fromkeys(("x-mac-roman", "mac", "macintosh"), ("mac_roman",)),
    **dict.fromkeys(("utf8", "utf-8", "unicode-1-1-utf-8", "x-unicode20utf8"), ("utf-8",)),
    # Labels that say nothing about 8-bit bytes: 8-bit data under them is mislabelled.
    **dict.fromkeys(
        ("us-ascii", "ascii", "ansi-x3.4-1968", "iso646-us", "us", "7bit", "8bit", "binary",
         "unknown", "unknown-8bit", "x-unknown", "x-user-defined", "default", "none", "charset",
         "text", "plain"), _NO_INFO),
}
# Python codec name -> codecs for labels that reached a codec through Python's own aliases.
_PYTHON_NAMES: dict[str, tuple[str, ...]] = {
    "euc_kr": _KOREAN, "johab": ("johab",), "gb2312": _CHINESE, "gbk": _CHINESE,
    "big5": _BIG5, "shift_jis": _SJIS, "euc_jp": _EUC_JP, "iso2022_jp": _JIS,
    "iso8859-1": _WESTERN, "ascii": _NO_INFO,
}
# Codecs that are not charsets at all, or that would interpret the text (backslash escapes).
_REFUSED = frozenset({"unicode_escape", "raw_unicode_escape", "punycode", "idna", "undefined",
                      "mbcs", "oem", "charmap"})
_GUESSES = ("cp949", "cp1250", "iso8859_2", "cp1252")
# Most high bytes of Korean text are KS X 1001 Hangul pairs; in single-byte text a stray
# symbol (m², ±5 mm) is allowed, the ± and ¶ that iso-8859-2 ą and ś turn into under cp1250 are
# rarely alone.
_PLAUSIBLE = {"cp949": 0.4, "cp1250": 0.03, "iso8859_2": 0.03, "cp1252": 0.03}
_MAX_LABEL = 64

_ASCII = bytes(range(128))
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_KS_HANGUL = re.compile(rb"[\xb0-\xc8][\xa1-\xfe]")
# Escape sequences that announce ISO-2022 text.
_ISO2022_KR = b"\x1b$)C"
_ISO2022_JP = (b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b(I", b"\x1b$(D", b"\x1b$(Q", b"\x1b$(O")
# Non-letters that honest text in a single-byte charset contains.
_TYPOGRAPHY = frozenset(
    "\u00a0„“”‘’‚‛–—…«»‹›•·°§©®™€×¦¨´¸¤†‡‰¡¿"
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def normalize_label(label: str | None) -> str | None:
    """A charset label as senders write it -> lowercase, unquoted, "-" for "_"; None if empty."""
    if not label:
        return None
    value = label.strip().strip("\"'").strip().lower()
    if value.startswith("charset="):
        value = value[len("charset="):].strip("\"'")
    value = re.split(r"[;\s,]", value, maxsplit=1)[0]
    value = value.split("*", 1)[0]  # RFC 2231 language suffix: utf-8*pl
    value = value.replace("_", "-")
    if not value or len(value) > _MAX_LABEL or not value.isascii():
        return None
    return value


@lru_cache(maxsize=512)
def codecs_for(label: str | None) -> tuple[str, ...]:
    """The codecs to try, in order, for a declared charset; () when the label tells nothing."""
    key = normalize_label(label)
    if key is None:
        return _NO_INFO
    known = _LABELS.get(key)
    if known is not None:
        return known
    try:
        info = codecs.lookup(key)
    except (LookupError, ValueError):
        return _NO_INFO
    name = info.name.replace("-", "_")
    if name in _REFUSED or not getattr(info, "_is_text_encoding", True):
        return _NO_INFO
    return _PYTHON_NAMES.get(info.name, (info.name,))


@lru_cache(maxsize=64)
def _is_single_byte(codec: str) -> bool:
    try:
        high = bytes(range(0x80, 0x100)).decode(codec, "replace")
        return (len(high) == 128 and len(b"\xc3\xa9".decode(codec, "replace")) == 2
                and len(b"\xb0\xa1".decode(codec, "replace")) == 2)
    except (LookupError, ValueError):
        return False


@lru_cache(maxsize=64)
def _ascii_compatible(codec: str) -> bool:
    probe = bytes(range(0x20, 0x7F)) + b"\t\r\n"
    try:
        return probe.decode(codec) == probe.decode("ascii")
    except (LookupError, ValueError):
        return False


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError, ValueError):
        return None


def _no_surrogates(text: str) -> str:
    # Some codecs (utf-7) decode to lone surrogates, which nothing downstream can store.
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return _SURROGATE.sub("\ufffd", text)


def _utf8_balance(data: bytes) -> tuple[int, int]:
    """(valid multi-byte UTF-8 sequences, invalid ones: each a stray byte or cut sequence)."""
    valid = len(_UTF8_SEQUENCE.findall(data))
    errors = data.decode("utf-8", "replace").count("\ufffd") - data.count(b"\xef\xbf\xbd")
    return valid, errors


@lru_cache(maxsize=16)
def _typographic_bytes(codec: str) -> bytes:
    """ASCII plus every high byte that the single-byte `codec` decodes to a letter or typography."""
    good = bytearray(_ASCII)
    for byte in range(0x80, 0x100):
        char = _strict(bytes([byte]), codec)
        if char and (unicodedata.category(char).startswith("L") or char in _TYPOGRAPHY):
            good.append(byte)
    return bytes(good)


def _implausibility(data: bytes, codec: str) -> float:
    """Share of high bytes that `codec` turns into something honest text rarely holds."""
    high = len(data.translate(None, _ASCII)) or 1
    if codec == "cp949":
        return 1 - 2 * len(_KS_HANGUL.findall(data)) / high
    return len(data.translate(None, _typographic_bytes(codec))) / high


def _iso2022(data: bytes) -> str | None:
    if _ISO2022_KR in data:
        return _strict(data, "iso2022_kr")
    if any(escape in data for escape in _ISO2022_JP):
        for codec in _JIS:
            text = _strict(data, codec)
            if text is not None:
                return text
    return None


def decode_bytes(data: bytes, declared: str | None) -> str:
    """Text from `data` whose charset label is `declared` (may be wrong or absent); never raises."""
    if not data:
        return ""
    chain = codecs_for(declared)
    if data.isascii() and b"\x1b" not in data and (not chain or _ascii_compatible(chain[0])):
        return data.decode("ascii")
    if b"\x1b$" in data and data.isascii() and not (chain and chain[0].startswith("iso2022")):
        text = _iso2022(data)  # ISO-2022 escapes under an ASCII-compatible (wrong) label
        if text is not None:
            return text
    for codec in chain:
        if codec.startswith(("utf-16", "utf-32")) and b"\x00" not in data:
            continue  # a UTF-16/32 label on text without NUL bytes is wrong
        text = _strict(data, codec)
        if text is None:
            continue
        if _is_single_byte(codec) and not data.isascii():
            utf8 = _strict(data, "utf-8")
            if utf8 is not None:
                return utf8
        return _no_surrogates(text)
    if data.isascii():
        return _iso2022(data) or data.decode("ascii")
    utf8 = _strict(data, "utf-8")
    if utf8 is not None:
        return utf8
    valid, errors = _utf8_balance(data)
    if valid and valid >= errors:
        return data.decode("utf-8", "replace")
    if chain:
        text = data.decode(chain[0], "replace")
        if text.count("\ufffd") * 50 <= len(text):
            return _no_surrogates(text)
    fallback: tuple[float, str] | None = None
    for codec in _GUESSES:
        text = _strict(data, codec)
        if text is None:
            continue
        implausible = _implausibility(data, codec)
        if implausible <= _PLAUSIBLE[codec]:
            return text
        if fallback is None or implausible < fallback[0]:
            fallback = (implausible, text)
    if fallback is not None and not chain:
        return fallback[1]
    return _no_surrogates(data.decode(chain[0] if chain else "utf-8", "replace"))


# --- headers -------------------------------------------------------------------------------

# RFC 2047 encoded word; the text may hold spaces (broken senders) but never "?".
_ENCODED_WORD = re.compile(r"=\?([^?\s]*)\?([QqBb])\?([^?]*)\?=")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")


def _raw_bytes(value: str) -> bytes:
    """Header text from the parser (raw 8-bit bytes kept as surrogate escapes) back to bytes."""
    return value.encode("utf-8", "surrogateescape")


def decode_raw_text(value: str, fallback: str | None = None) -> str:
    """Header text that may carry raw 8-bit bytes (as surrogate escapes) -> clean text."""
    if value.isascii() or not _SURROGATE.search(value):
        return value
    return decode_bytes(_raw_bytes(value), fallback)


def _b_decode(text: str) -> bytes:
    data = _NOT_BASE64.sub(b"", text.encode("ascii", "ignore"))
    if len(data) % 4 == 1:
        data = data[:-1]
    return binascii.a2b_base64(data + b"=" * (-len(data) % 4))


def _q_decode(text: str) -> bytes:
    return binascii.a2b_qp(_raw_bytes(text), header=True)


class _WordRun:
    """Consecutive encoded words in one charset, decoded together (senders split characters)."""

    def __init__(self) -> None:
        self.charset: str | None = None
        self.data = bytearray()
        self.base64 = ""

    def add(self, charset: str, encoding: str, text: str, out: list[str]) -> None:
        if charset != self.charset:
            self.flush(out)
            self.charset = charset
        if encoding in "Bb":
            # Broken senders split one base64 quantum across words: join until it is whole.
            self.base64 += text.strip()
            if len(self.base64) % 4 == 0:
                self.data += _b_decode(self.base64)
                self.base64 = ""
        else:
            self._flush_base64()
            self.data += _q_decode(text)

    def _flush_base64(self) -> None:
        if self.base64:
            self.data += _b_decode(self.base64)
            self.base64 = ""

    def flush(self, out: list[str]) -> None:
        self._flush_base64()
        if self.data:
            out.append(decode_bytes(bytes(self.data), self.charset))
            self.data.clear()
        self.charset = None


def decode_header_value(value: str, fallback: str | None = None) -> str:
    """RFC 2047 encoded words and raw 8-bit bytes in a header -> text, nothing else changed.

    Adjacent encoded words in one charset are joined as bytes before decoding (senders split
    multi-byte characters between words), whitespace between encoded words is dropped, missing
    whitespace is tolerated, and raw 8-bit text is decoded with `fallback` as its likely charset.
    """
    if "=?" not in value:
        return decode_raw_text(value, fallback)
    out: list[str] = []
    run = _WordRun()
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position:match.start()]
        if between and not (position and between.isspace()):
            run.flush(out)
            out.append(decode_raw_text(between, fallback))
        charset = match.group(1).split("*", 1)[0].lower()
        run.add(charset, match.group(2), match.group(3), out)
        position = match.end()
    run.flush(out)
    out.append(decode_raw_text(value[position:], fallback))
    return "".join(out)


# --- MIME parameters (RFC 2045 + RFC 2231) -------------------------------------------------

_SEGMENT = re.compile(r'(?:"(?:[^"\\]|\\.)*"?|[^";])+')
_SECTION = re.compile(r"^([^*]+)\*(?:(\d{1,3})(\*)?)?$")
_MAX_SECTIONS = 256


def unquote(value: str) -> str:
    """A quoted-string's content; a backslash escapes only a quote or a backslash."""
    value = value.strip()
    if len(value) >= 1 and value[0] == '"':
        value = value[1:-1] if len(value) > 1 and value[-1] == '"' else value[1:]
        if "\\" in value:
            value = re.sub(r'\\(["\\])', r"\1", value)
    return value


def split_header_params(value: str) -> tuple[str, list[tuple[str, str]]]:
    """'type/sub; a="b"; c=d' -> ('type/sub', [('a', '"b"'), ('c', 'd')]), values still raw."""
    segments = _SEGMENT.findall(value)
    if value.lstrip().startswith(";"):
        main, rest = "", segments
    else:
        main, rest = (segments[0].strip(), segments[1:]) if segments else ("", [])
    params: list[tuple[str, str]] = []
    for segment in rest:
        name, sep, raw = segment.partition("=")
        name = name.strip().lower()
        if sep and name:
            params.append((name, raw.strip()))
    return main, params


def decode_params(params: list[tuple[str, str]], fallback: str | None = None) -> dict[str, str]:
    """Raw parameters -> decoded values: RFC 2231 sections and charsets, RFC 2047 words, 8-bit."""
    plain: dict[str, str] = {}
    sections: dict[str, dict[int, tuple[str, bool]]] = {}
    for name, raw in params:
        match = _SECTION.match(name)
        if match is None:
            plain.setdefault(name, raw)
            continue
        base, index, star = match.group(1), match.group(2), match.group(3)
        parts = sections.setdefault(base, {})
        if len(parts) < _MAX_SECTIONS:  # name*=... is extended; name*N=... only with name*N*=
            extended = index is None or star is not None
            parts.setdefault(int(index) if index is not None else 0, (raw, extended))
    decoded = {name: decode_header_value(unquote(raw), fallback) for name, raw in plain.items()}
    for base, parts in sections.items():
        decoded[base] = _join_sections(parts, fallback)
    return decoded


def _join_sections(parts: dict[int, tuple[str, bool]], fallback: str | None) -> str:
    data = bytearray()
    charset: str | None = None
    for position, index in enumerate(sorted(parts)):
        raw, extended = parts[index]
        if not extended:
            data += _raw_bytes(unquote(raw))
            continue
        text = unquote(raw)
        if position == 0 and text.count("'") >= 2:
            charset, _language, text = text.split("'", 2)
        data += unquote_to_bytes(_raw_bytes(text))
    return decode_bytes(bytes(data), charset or fallback)


def parse_header_params(value: str, fallback: str | None = None) -> tuple[str, dict[str, str]]:
    """A Content-Type/Disposition value -> (lowercased main value, decoded parameters)."""
    main, params = split_header_params(value)
    return main.lower(), decode_params(params, fallback)


# --- addresses -----------------------------------------------------------------------------

_ADDRESS_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|<[^<>]*>?|\((?:[^()\\]|\\.)*\)?|,|[^",<(]+')
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def parse_addresses(values: list[str]) -> list[tuple[str, str]]:
    """Header values -> [(raw display name, lowercased address)], tolerant of what clients send.

    An address in angle brackets is the address, even if the display name looks like another
    one ("alice@example.com <bob@example.com>" is bob); display-name words without an address
    ("Kowalski, Jan <jan@example.pl>") are carried into the next mailbox's name.
    """
    result: list[tuple[str, str]] = []
    for value in values:
        carried = ""
        for segment in _segments(_ADDRESS_TOKEN.findall(value[:65536])):
            name, address = _mailbox(segment)
            if address:
                if carried:
                    name = f"{carried}, {name}" if name else carried
                    carried = ""
                result.append((name, address))
            elif name:
                carried = f"{carried}, {name}" if carried else name
    return result


def _segments(tokens: list[str]) -> Iterator[list[str]]:
    current: list[str] = []
    for token in tokens:
        if token == ",":  # noqa: S105 - a comma token, not a password
            yield current
            current = []
        else:
            current.append(token)
    yield current


def _mailbox(tokens: list[str]) -> tuple[str, str]:
    angle = next((i for i in range(len(tokens) - 1, -1, -1) if tokens[i].startswith("<")), None)
    words: list[str] = []
    comments: list[str] = []
    for index, token in enumerate(tokens):
        if index == angle or (angle is not None and index > angle):
            continue
        if token.startswith('"'):
            words.append(unquote(token))
        elif token.startswith("("):
            comments.append(token.strip("()").strip())
        else:
            words.append(_strip_group(token))
    if angle is not None:
        address = tokens[angle].strip("<>").strip().rsplit(":", 1)[-1]
        return "".join(words).strip(), clean_address(address)
    plain = "".join(words).split()
    candidates = [word for word in plain if "@" in word]
    if not candidates:
        return " ".join(plain + comments).strip(), ""
    address = candidates[-1]
    rest = [word for word in plain if word is not address]
    return " ".join(rest or comments).strip(), clean_address(address)


def _strip_group(text: str) -> str:
    """'Undisclosed-Recipients:;' -> '', 'Team: a@b' -> ' a@b'."""
    head, sep, tail = text.partition(":")
    if sep and "@" not in head:
        text = tail
    return text.replace(";", " ")


def clean_address(address: str) -> str:
    """An address as written -> lowercased, without whitespace, brackets or control characters."""
    address = "".join(decode_raw_text(address, "utf-8").split()).strip("<>'\".,;")
    return _CONTROL.sub("", address).lower()


# --- message ids and dates ------------------------------------------------------------

_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def parse_message_id(value: str) -> str | None:
    """'<id@host>' (or a bare id) -> 'id@host'; None when there is none."""
    value = decode_raw_text(value, "utf-8").strip()
    match = _MESSAGE_ID.search(value)
    if match:
        return _CONTROL.sub("", match.group(1))
    token = value.split()[0].strip("<>") if value.split() else ""
    return _CONTROL.sub("", token) or None


def parse_id_list(values: list[str]) -> tuple[str, ...]:
    """In-Reply-To/References values -> message ids in order, once each, no brackets."""
    if not values:
        return ()
    text = decode_raw_text(" ".join(values), "utf-8")
    ids = _MESSAGE_ID.findall(text) or [word.strip("<>,;") for word in text.split() if "@" in word]
    return tuple(dict.fromkeys(_CONTROL.sub("", i) for i in ids if i))


def parse_date(value: str) -> datetime | None:
    """A Date header -> aware UTC datetime; None when missing or invalid."""
    if not value.strip():
        return None
    try:
        parsed = parsedate_to_datetime(decode_raw_text(value, "utf-8"))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # "-0000": the zone is unknown, the time is UTC
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
