"""Reply stripping for display: the new part of a reply, without quoted history or signature.

The full original is always stored and viewable; these functions only decide what an agent
sees first, so every rule errs towards showing too much rather than hiding the customer's words.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

from sellerdesk.channels.email.threading import parse_address

__all__ = ["strip_quotes", "strip_reply", "strip_reply_html", "strip_signature"]

_QUOTED = re.compile(r"^[ \t]*>")
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060\ufeff]")

# Attribution lines that open a quote, matched against one to three joined lines because
# Gmail wraps long ones. Each also needs a time, a year or an address to count, which keeps a
# customer's own "On the 5th you wrote:" in view.
_ATTRIBUTIONS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # en: Gmail, Apple Mail, Thunderbird ("On …, … wrote:"), Yahoo ("--- On … wrote:")
        r"^-*\s*(?:on|in a message dated)\s.{4,300}?\s(?:wrote|sent)\s*:$",
        # pl: Gmail "W dniu … napisał(a):", Thunderbird "W dniu … pisze:", webmail "Dnia …"
        r"^(?:w dniu|dnia)\s.{4,300}?\s(?:napisał\(a\)|napisał\(-a\)|napisała|napisał|pisze)\s*:$",
        # pl: Apple Mail "Wiadomość napisana przez … w dniu … o godz. 14:15:"
        r"^wiadomość napisana przez\s.{2,200}?\sw dniu\s.{4,120}:$",
        # ko: Gmail "2024년 3월 5일 (화) 오후 2:15, 홍길동 <x@y>님이 작성:"
        r"^.{4,300}?님이\s*작성(?:한 글|하신 글|한 메일)?\s*[:：]$",
        # ko: Apple Mail / iOS "2024. 3. 5. 오후 2:15, 홍길동 <x@y> 작성:"
        r"^\d{4}\s*[.년].{0,40}?\d{1,2}:\d{2}.{0,250}?\s작성\s*[:：]$",
        # de, fr, es, it, nl, pt: EU marketplaces bring these customers too
        r"^am\s.{4,300}?\sschrieb\s.{0,200}:$",
        r"^le\s.{4,300}?\sa écrit\s*:$",
        r"^el\s.{4,300}?\sescribió\s*:$",
        r"^il\s.{4,300}?\sha scritto\s*:$",
        r"^op\s.{4,300}?\sschreef\s.{0,200}:$",
        r"^em\s.{4,300}?\sescreveu\s*:$",
    )
)
# Any "<date> … :" line (Android, mail.ru, Yandex, …) counts only right before quoted text,
# since on its own it is too much like a customer's sentence.
_DATE_LED = re.compile(r"^\W{0,3}(?:\d|[^\W\d_]{2,12}\.?,?\s+\d)")
_DATE_OR_ADDRESS = re.compile(r"\d{1,2}:\d{2}|\d{4}|\d{1,2}[./-]\d{1,2}[./-]\d{2}|@")

_ORIGINAL_MESSAGE = re.compile(
    r"^[ \t]*-{2,}\s*(?:original message|wiadomość oryginalna|oryginalna wiadomość|"
    r"원본 메시지|원본 메일|ursprüngliche nachricht|originalnachricht|message d'origine|"
    r"mensaje original|messaggio originale|oorspronkelijk bericht|исходное сообщение)"
    r"\s*-{2,}\s*$",
    re.IGNORECASE,
)
# A forward keeps its content: the customer is showing us something, not repeating us.
_FORWARD = re.compile(
    r"^[ \t]*-*\s*(?:forwarded message|begin forwarded message|wiadomość przekazana(?: dalej)?|"
    r"przekazana wiadomość|전달된 메시지|전달 메시지|weitergeleitete nachricht|message transféré|"
    r"mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|пересылаемое сообщение)"
    r"\s*:?\s*-*\s*$",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^[ \t]*_{8,}[ \t]*$")

_HEADER_KEYS = {
    "from": ("from", "od", "보낸 사람", "보낸사람", "von", "de", "от", "van", "da", "fra",
             "från", "差出人", "发件人", "寄件者"),
    "date": ("sent", "date", "wysłano", "wysłane", "data", "보낸 날짜", "보낸날짜", "날짜",
             "gesendet", "datum", "envoyé", "enviado", "fecha", "inviato", "verzonden",
             "отправлено", "дата", "送信日時", "日付", "发送时间", "日期"),
    "to": ("to", "do", "받는 사람", "받는사람", "an", "à", "a", "para", "aan", "кому", "宛先",
           "收件人"),
    "cc": ("cc", "dw", "kopia", "참조", "kopie", "копия"),
    "subject": ("subject", "temat", "제목", "betreff", "objet", "asunto", "oggetto",
                "onderwerp", "тема", "件名", "主题", "主旨"),
}
_HEADER_KIND = {key: kind for kind, keys in _HEADER_KEYS.items() for key in keys}
_MAX_HEADER_LINES = 12
_HEADER_LINE = re.compile(r"^[ \t]*\*{0,2}([^\W\d_][^:：*]{0,14}?)\*{0,2}[ \t]*[:：]")

_SIG_SEPARATOR = re.compile(r"^--[ \t]*$")
_RULE_LINE = re.compile(r"^[ \t]*[-_=*~]{3,}[ \t]*$")
_MOBILE_FOOTER = re.compile(
    r"^[ \t]*(?:"
    r"sent from my .{2,40}"
    r"|sent from (?:outlook|mail|yahoo|aol|gmail|samsung|windows|proton|huawei|xiaomi)\b.{0,40}"
    r"|sent (?:with|via) (?:sparrow|blackberry|spark|airmail|newton|proton)\b.{0,60}"
    r"|get outlook for \w+"
    r"|wysłan[eo] z (?:mojego |mojej )?(?:iphone|ipad|telefonu|smartfon|urządzenia|aplikacji|"
    r"outlook|poczty|samsung|galaxy|tabletu|androida|huawei|xiaomi).{0,40}"
    r"|pobierz (?:aplikację )?outlook.{0,40}"
    r"|.{1,40}에서 보(?:냄|냈습니다|낸 메일)\.?"
    r"|(?:android|ios)용 outlook 받기"
    r"|von meinem .{2,30} gesendet"
    r")[ \t]*$",
    re.IGNORECASE,
)
_VALEDICTION = re.compile(
    r"^[ \t]*(?:thanks(?: again| a lot| so much)?|thank you(?: very much)?|many thanks|"
    r"(?:best|kind|warm|many)? ?regards|best(?: wishes)?|cheers|sincerely|yours(?: truly)?|"
    r"pozdrawiam(?: serdecznie)?|serdecznie pozdrawiam|z poważaniem|pozdrowienia|dziękuję|"
    r"dzięki|감사합니다|고맙습니다|수고하세요|mit freundlichen grüßen|viele grüße|gruß|"
    r"cordialement|merci)[ \t,.!]*$",
    re.IGNORECASE,
)
_CONTACT = re.compile(
    r"(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.-]+|https?://|\bwww\.|\+?\(?\d[\d ().-]{6,}\d|"
    r"^\W*(?:tel|fax|mob|mobile|phone|skype|t|f|m|telefon|전화|휴대폰)\b\.?\s*:?",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]{2,}")


# --- plain text -----------------------------------------------------------------------------


def strip_reply(text: str, *, sender: str | None = None) -> str:
    """The new part of a plain-text reply: quoted history and signature removed.

    Text that is all quote comes back unchanged; ``sender`` (a name or address) lets a
    closing block with the sender's name count as signature.
    """
    new_part = _new_part(_split_lines(text))
    if new_part is None:
        return text
    return strip_signature(_join(new_part) or text, sender=sender)


def strip_quotes(text: str) -> str:
    """The reply without its quoted history; the whole text when it is all quote."""
    new_part = _new_part(_split_lines(text))
    if new_part is None:
        return text
    return _join(new_part) or text


def strip_signature(text: str, *, sender: str | None = None) -> str:
    """The text without a trailing signature (``-- ``, phone footers, contact blocks).

    When nothing but a signature would remain, the text comes back as it was.
    """
    lines = _split_lines(text)
    cut = _signature_start(lines, _sender_words(sender))
    if cut is None or not _has_text(lines[:cut]):
        return text
    return _join(lines[:cut])


def _split_lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _join(lines: Sequence[str]) -> str:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[start:end]).rstrip()


def _has_text(lines: Sequence[str]) -> bool:
    return any(line.strip() for line in lines)


def _is_quoted(line: str) -> bool:
    return bool(_QUOTED.match(line))


def _is_content(line: str) -> bool:
    return bool(line.strip()) and not _is_quoted(line)


def _new_part(lines: list[str]) -> list[str] | None:
    """The lines of the new part, or None when the whole text is quoted history."""
    found = _find_splitter(lines)
    if found is not None:
        start, span = found
        if _has_text(lines[:start]):
            head = lines[:start]
            trailing = _trailing_quote_start(head)
            return head if trailing is None else head[:trailing]
        return _bottom_posted(lines[start + span:])
    return _without_quote_blocks(lines)


def _find_splitter(lines: Sequence[str]) -> tuple[int, int] | None:
    """Index and line count of the first marker that opens quoted history."""
    kinds = [_header_kind(line) for line in lines]
    index = 0
    while index < len(lines):
        if _is_content(lines[index]):
            span = _splitter_span(lines, kinds, index)
            if span > 0:
                return index, span
            # A forwarded message's header block is content: step over all of it at once.
            index += -span
        index += 1
    return None


def _splitter_span(lines: Sequence[str], kinds: Sequence[str | None], index: int) -> int:
    """Lines in the quote marker at index; 0 for none, minus the length of a forward's headers."""
    line = lines[index]
    if "--" in line and _ORIGINAL_MESSAGE.match(line):
        return 1
    if "___" in line and _UNDERSCORES.match(line):
        following = _next_content(lines, index + 1)
        if following is not None and following - index <= 2:
            run = _header_run(lines, kinds, following)
            return following - index + run if run else 0
        return 0
    run = _header_run(lines, kinds, index)
    if run:
        return -run if _after_forward_marker(lines, index) else run
    span = _attribution_span(lines, index, generic=False)
    # A wrapped window may swallow the sentence before the real attribution: prefer the later.
    if span > 1 and _attribution_span(lines, index + 1, generic=False):
        return 0
    return span


def _next_content(lines: Sequence[str], index: int) -> int | None:
    for position in range(index, len(lines)):
        if lines[position].strip():
            return position
    return None


def _header_kind(line: str) -> str | None:
    if ":" not in line and "：" not in line:
        return None
    match = _HEADER_LINE.match(_INVISIBLE.sub("", line))
    if match is None:
        return None
    return _HEADER_KIND.get(" ".join(match.group(1).split()).casefold())


def _header_run(lines: Sequence[str], kinds: Sequence[str | None], index: int) -> int:
    """Length of an Outlook-style header block starting here, 0 when there is none."""
    found: list[str] = []
    position = index
    # Real header blocks are short; the cap keeps a hostile wall of "To:" lines linear.
    while position < min(len(lines), index + _MAX_HEADER_LINES):
        kind = kinds[position]
        if kind is None:
            # One wrapped value line (a long To:) may sit inside the block.
            wrapped = position + 1 < len(lines) and kinds[position + 1]
            if found and lines[position].strip() and wrapped:
                position += 1
                continue
            break
        found.append(kind)
        position += 1
    if len(found) >= 3 and "from" in found and {"date", "subject"} & set(found):
        return position - index
    return 0


def _after_forward_marker(lines: Sequence[str], index: int) -> bool:
    for position in range(index - 1, max(index - 3, -1), -1):
        if lines[position].strip():
            return bool(_FORWARD.match(lines[position]))
    return False


def _clean(line: str) -> str:
    return " ".join(_INVISIBLE.sub("", line).split())


def _is_attribution(text: str, *, generic: bool) -> bool:
    if len(text) > 600 or not text.endswith((":", "：")) or not _DATE_OR_ADDRESS.search(text):
        return False
    if any(pattern.match(text) for pattern in _ATTRIBUTIONS):
        return True
    return generic and bool(_DATE_LED.match(text))


def _attribution_span(lines: Sequence[str], index: int, *, generic: bool) -> int:
    """Number of lines (1-3) from index that form an attribution line, else 0."""
    window: list[str] = []
    for offset in range(3):
        position = index + offset
        if position >= len(lines) or not _is_content(lines[position]):
            break
        window.append(lines[position])
        # Every attribution ends in a colon: most windows are rejected before any cleaning.
        if lines[position].rstrip().endswith((":", "：")):
            joined = " ".join(_clean(line) for line in window)
            if _is_attribution(joined, generic=generic):
                return offset + 1
    return 0


def _attribution_before(lines: Sequence[str], index: int) -> int | None:
    """Start of an attribution that ends just before index (blank lines allowed between)."""
    end = index
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    for size in (1, 2, 3):
        start = end - size
        if start < 0:
            break
        if _attribution_span(lines, start, generic=True) == size:
            return start
    return None


def _quoted_extent(lines: Sequence[str]) -> tuple[int, int] | None:
    """First and last quoted line, or None when nothing is quoted."""
    quoted = [index for index, line in enumerate(lines) if _is_quoted(line)]
    if not quoted:
        return None
    return quoted[0], quoted[-1]


def _trailing_quote_start(lines: Sequence[str]) -> int | None:
    """Where a single quoted block that ends the text starts (with its attribution)."""
    extent = _quoted_extent(lines)
    if extent is None:
        return None
    first, last = extent
    if any(_is_content(line) for line in lines[first:last]):
        return None
    if _has_text(lines[last + 1:]) and not _is_signature_only(lines[last + 1:]):
        return None
    attribution = _attribution_before(lines, first)
    return first if attribution is None else attribution


def _without_quote_blocks(lines: list[str]) -> list[str] | None:
    extent = _quoted_extent(lines)
    if extent is None:
        return lines
    first, last = extent
    start = _trailing_quote_start(lines)
    if start is not None:
        return lines[:start] if _has_text(lines[:start]) else None
    before = lines[:first]
    if _attribution_before(lines, first) is not None or not _has_text(before):
        return _bottom_posted(lines[first:])
    # Inline answers between quoted lines need their context: keep everything.
    return lines


def _bottom_posted(lines: Sequence[str]) -> list[str] | None:
    """The answer written below one quoted block, or None when there is none."""
    extent = _quoted_extent(lines)
    if extent is None:
        return None
    first, last = extent
    if _has_text(lines[:first]) or any(_is_content(line) for line in lines[first:last]):
        return None
    tail = list(lines[last + 1:])
    return tail if _has_text(tail) else None


def _is_signature_only(lines: Sequence[str]) -> bool:
    content = [line for line in lines if line.strip()]
    if not content:
        return True
    return bool(_SIG_SEPARATOR.match(content[0]) or _MOBILE_FOOTER.match(content[0]))


# --- signatures -----------------------------------------------------------------------------


def _sender_words(sender: str | None) -> frozenset[str]:
    if not sender:
        return frozenset()
    name, address = parse_address(sender) if "@" in sender else (sender, "")
    words = {word.casefold() for word in _WORD.findall(name)}
    if not words and address:
        local = address.partition("@")[0]
        words = {word.casefold() for word in re.split(r"[._+-]", local) if len(word) >= 3}
    return frozenset(words)


def _signature_start(lines: list[str], sender: frozenset[str]) -> int | None:
    content = [index for index, line in enumerate(lines) if line.strip()]
    if len(content) < 2:
        return None
    candidates = [
        _separator_signature(lines, content),
        _footer_signature(lines, content),
        _ruled_signature(lines, content),
        _contact_paragraph(lines),
        _named_signature(lines, content, sender),
    ]
    found = [index for index in candidates if index is not None and _has_text(lines[:index])]
    return min(found) if found else None


def _separator_signature(lines: list[str], content: list[int]) -> int | None:
    for index in content[-16:]:
        if _SIG_SEPARATOR.match(lines[index]):
            return index
    return None


def _footer_signature(lines: list[str], content: list[int]) -> int | None:
    for index in content[-4:]:
        if _MOBILE_FOOTER.match(_clean(lines[index])):
            return index
    return None


def _is_short(line: str, limit: int = 80) -> bool:
    return len(line.strip()) <= limit and not line.rstrip().endswith((":", "?"))


def _ruled_signature(lines: list[str], content: list[int]) -> int | None:
    """A ruler line (``-----``) followed by a short block with contact details."""
    for position in range(max(len(content) - 13, 0), len(content) - 1):
        after = [lines[i] for i in content[position + 1:]]
        if (_RULE_LINE.match(lines[content[position]])
                and all(_is_short(line) for line in after)
                and any(_CONTACT.search(line) for line in after)):
            return content[position]
    return None


def _contact_paragraph(lines: list[str]) -> int | None:
    """A last paragraph of short lines carrying at least two contact details."""
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    start = end
    while start > 0 and lines[start - 1].strip():
        start -= 1
    block = lines[start:end]
    if not 2 <= len(block) <= 7 or not all(_is_short(line, 50) for line in block):
        return None
    if sum(1 for line in block if _CONTACT.search(line)) < 2:
        return None
    previous = _previous_content(lines, start)
    if previous is not None and lines[previous].rstrip().endswith(":"):
        return None
    return start


def _previous_content(lines: Sequence[str], index: int) -> int | None:
    for position in range(index - 1, -1, -1):
        if lines[position].strip():
            return position
    return None


def _names_sender(line: str, sender: frozenset[str]) -> bool:
    stripped = line.strip()
    if len(stripped) > 40 or stripped.endswith(("?", "!", ":")):
        return False
    # A full stop ends a sentence unless the line carries initials or a title (Ph.D.).
    if stripped.endswith(".") and stripped.count(".") < 2:
        return False
    words = {word.casefold() for word in _WORD.findall(stripped)}
    return len(stripped.split()) <= 5 and bool(words & sender)


def _named_signature(lines: list[str], content: list[int], sender: frozenset[str]) -> int | None:
    """The sender's name near the end, with what follows it and a valediction before it."""
    if not sender:
        return None
    for position, index in enumerate(content[-6:], start=max(len(content) - 6, 0)):
        rest = [lines[i] for i in content[position:]]
        if not _names_sender(lines[index], sender) or not all(_is_short(r, 60) for r in rest):
            continue
        previous = content[position - 1] if position else None
        if previous is not None and lines[previous].rstrip().endswith(":"):
            return None
        if previous is not None and previous == index - 1 and _VALEDICTION.match(lines[previous]):
            return previous
        return index
    return None


# --- HTML -----------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset({
    "address", "article", "blockquote", "br", "center", "dd", "div", "dl", "dt", "footer", "h1",
    "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table",
    "tr", "ul",
})
_VOID_TAGS = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
})
# Stripping is for display only; past this size the agent sees the whole message instead.
_MAX_HTML_CHARS = 2_000_000
_UNCLOSED = -1  # a blockquote that runs to the end of the document
_HIDDEN_TAGS = frozenset({"head", "script", "style", "template", "title"})
_QUOTE_CLASSES = frozenset({
    "gmail_quote", "gmail_quote_container", "gmail_attr", "x_gmail_quote", "yahoo_quoted",
    "x_yahoo_quoted", "moz-cite-prefix", "protonmail_quote", "zmail_extra",
})
_QUOTE_IDS = frozenset({
    "divrplyfwdmsg", "x_divrplyfwdmsg", "olk_src_body_section", "stopspelling", "zwchr",
    "mail-editor-reference-message-container",
})


@dataclass(frozen=True, slots=True)
class _Open:
    """An open element; elements share their ancestors, so recording one per event is cheap."""

    tag: str
    start: int
    parent: _Open | None

    def tags(self) -> list[str]:
        """Open tag names, innermost first."""
        names: list[str] = []
        node: _Open | None = self
        while node is not None:
            names.append(node.tag)
            node = node.parent
        return names


@dataclass(frozen=True, slots=True)
class _Event:
    kind: str  # "start", "end", "void" or "text"
    tag: str
    offset: int
    open_before: _Open | None  # innermost element open just before this event
    text: str = ""


class _Scanner(HTMLParser):
    """Records tags and visible text with their source offsets, and where quotes may begin."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[_Event] = []
        self.anchors: list[int] = []
        self.blockquotes: dict[int, int] = {}  # start event -> end event
        self._line_offsets = [0] + [match.end() for match in re.finditer("\n", html)]
        self._top: _Open | None = None
        self._open_counts: Counter[str] = Counter()

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_offsets[line - 1] + column

    def _record(self, kind: str, tag: str, text: str = "") -> int:
        self.events.append(_Event(kind, tag, self._offset(), self._top, text))
        return len(self.events) - 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._close("head", end=len(self.events))
        if tag in _VOID_TAGS:
            self._start_void(tag, attrs)
            return
        index = self._record("start", tag)
        self._top = _Open(tag, index, self._top)
        self._open_counts[tag] += 1
        if _is_quote_marker(tag, attrs):
            self.anchors.append(index)
        if tag == "blockquote":
            self.blockquotes[index] = _UNCLOSED

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID_TAGS:
            self._start_void(tag, attrs)
        else:
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)

    def _start_void(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        index = self._record("void", tag)
        if _is_quote_marker(tag, attrs):
            self.anchors.append(index)

    def handle_endtag(self, tag: str) -> None:
        if self._open_counts[tag]:
            self._close(tag, end=self._record("end", tag))

    def _close(self, tag: str, *, end: int) -> None:
        """Close tag and, as browsers do, every element left open inside it."""
        if not self._open_counts[tag]:
            return
        while self._top is not None:
            node, self._top = self._top, self._top.parent
            self._open_counts[node.tag] -= 1
            if node.tag == "blockquote":
                self.blockquotes[node.start] = end
            if node.tag == tag:
                return

    def handle_data(self, data: str) -> None:
        if not any(self._open_counts[tag] for tag in _HIDDEN_TAGS):
            self._record("text", "", data)


def _is_quote_marker(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    values = {name: value or "" for name, value in attrs}
    classes = set(values.get("class", "").split())
    element_id = values.get("id", "").casefold()
    if classes & _QUOTE_CLASSES or element_id in _QUOTE_IDS:
        return True
    if element_id.startswith("yahoo_quoted"):
        return True
    return tag == "blockquote" and values.get("type", "").casefold() == "cite"


def strip_reply_html(html: str) -> str | None:
    """The HTML reply cut before its quoted history, or None when no quote is recognised.

    The fragment is not sanitized: pass it through the HTML sanitizer before display.
    """
    if len(html) > _MAX_HTML_CHARS:
        return None
    scanner = _Scanner(html)
    try:
        scanner.feed(_defused(html))
        scanner.close()
    except (AssertionError, ValueError):  # html.parser's last resort on hostile markup
        return None
    events = scanner.events
    cut = _html_cut(scanner)
    if cut is None:
        return None
    cut = _walk_back(events, _rule_above(events, _walk_back(events, cut)))
    if not any(event.kind == "text" and event.text.strip() for event in events[:cut]):
        return None
    event = events[cut]
    open_tags = event.open_before.tags() if event.open_before else []
    return html[:event.offset].rstrip() + "".join(f"</{tag}>" for tag in open_tags)


def _defused(html: str) -> str:
    """The same markup with every unterminated ``<`` construct blanked to plain text.

    html.parser rescans to the end of the document for each unterminated comment, tag or
    quoted attribute, which makes hostile mail quadratic. Blanking keeps every offset, so a
    cut found in this copy applies to the original unchanged.
    """
    blanks: list[int] = []
    next_gt = -1
    comments_closed = True  # once one comment never closes, no later one can
    index = html.find("<")
    while index != -1:
        following = html.find("<", index + 1)
        if html.startswith("<!--", index):
            close = html.find("-->", index + 4) if comments_closed else -1
            if close != -1:
                index = html.find("<", close + 3)
                continue
            comments_closed = False
            blanks.append(index)
        else:
            if next_gt != len(html) and next_gt <= index:
                found = html.find(">", index + 1)
                next_gt = len(html) if found == -1 else found
            if next_gt == len(html) or (following != -1 and following < next_gt):
                blanks.append(index)
            else:
                blanks.extend(_unpaired_quotes(html, index, next_gt))
        index = following
    if not blanks:
        return html
    characters = list(html)
    for position in blanks:
        characters[position] = " "
    return "".join(characters)


def _unpaired_quotes(html: str, start: int, end: int) -> list[int]:
    """Positions of quote marks in a tag whose quotes do not pair up."""
    tag = html[start:end]
    positions: list[int] = []
    for mark in "'\"":
        if tag.count(mark) % 2:
            positions.extend(start + i for i, char in enumerate(tag) if char == mark)
    return positions


def _html_lines(events: Sequence[_Event]) -> list[tuple[str, int]]:
    """Visible lines of text, each with the event where its text starts."""
    lines: list[tuple[str, int]] = []
    parts: list[str] = []
    first: int | None = None
    for index, event in enumerate(events):
        if event.kind == "text":
            if first is None and event.text.strip():
                first = index
            parts.append(event.text)
        elif event.tag in _BLOCK_TAGS:
            if first is not None:
                lines.append((_clean("".join(parts)), first))
            parts, first = [], None
    if first is not None:
        lines.append((_clean("".join(parts)), first))
    return lines


def _html_cut(scanner: _Scanner) -> int | None:
    """The event where quoted history starts: the earliest of every recognised marker."""
    events = scanner.events
    lines = _html_lines(events)
    starts = [event for _, event in lines]
    texts = [text for text, _ in lines]
    candidates: list[int] = []
    anchor = next((a for a in scanner.anchors if not _opens_forward(lines, starts, a)), None)
    if anchor is not None:
        candidates.append(_with_attribution(texts, starts, anchor))
    last_text = max((i for i, e in enumerate(events) if e.kind == "text" and e.text.strip()),
                    default=-1)
    # A blockquote with the customer's words below it is an inline answer: keep it whole.
    closing = [start for start, end in scanner.blockquotes.items()
               if end == _UNCLOSED or end > last_text]
    if closing:
        candidates.append(_with_attribution(texts, starts, min(closing)))
    splitter = _find_splitter(texts)
    if splitter is not None:
        candidates.append(starts[splitter[0]])
    trailing = _trailing_quote_start(texts)
    if trailing is not None:
        candidates.append(starts[trailing])
    return min(candidates) if candidates else None


def _opens_forward(lines: Sequence[tuple[str, int]], starts: Sequence[int], anchor: int) -> bool:
    position = bisect_left(starts, anchor)
    return position < len(lines) and bool(_FORWARD.match(lines[position][0]))


def _with_attribution(texts: Sequence[str], starts: Sequence[int], anchor: int) -> int:
    """Move a quote's start back over the "On … wrote:" line just above it."""
    above = bisect_left(starts, anchor)
    start = _attribution_before(texts[:above], above) if above else None
    return starts[start] if start is not None else anchor


def _rule_above(events: Sequence[_Event], index: int) -> int:
    """A horizontal rule just above the quote (only markup between) belongs to the quote."""
    for position in range(index - 1, max(index - 16, -1), -1):
        event = events[position]
        if event.kind == "void" and event.tag == "hr":
            return position
        if (event.kind == "text" and event.text.strip()) or event.tag == "img":
            break
    return index


def _walk_back(events: Sequence[_Event], index: int) -> int:
    """Step back over openings, breaks and blank text so empty wrappers are not left behind."""
    while index > 0:
        previous = events[index - 1]
        opening = previous.kind == "start" or (previous.kind == "void" and previous.tag != "img")
        if opening or (previous.kind == "text" and not previous.text.strip()):
            index -= 1
        else:
            break
    return index
