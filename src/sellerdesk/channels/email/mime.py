"""Raw RFC 5322 mail -> ParsedEmail, or ParseError with a reason; nothing else ever escapes.

MIME structure comes from the standard library's parser with policy.default's settings. One
thing differs: header values are handed to us raw (unfolded) instead of through policy.default's
header registry. The registry decodes ks_c_5601-1987 with Python's EUC-KR codec (losing 똠) and
re-parses Content-Type each time the parser asks for it; measured on the corpus here, that made
parsing 9x slower. charsets.py decodes headers, parameters and bodies instead.
"""

from __future__ import annotations

import binascii
import mimetypes
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from io import BytesIO
from typing import Literal
from urllib.parse import unquote

from sellerdesk.channels.base import ParseError
from sellerdesk.channels.email.charsets import (
    clean_address,
    decode_bytes,
    decode_header_value,
    decode_raw_text,
    parse_addresses,
    parse_date,
    parse_header_params,
    parse_id_list,
    parse_message_id,
)
from sellerdesk.channels.email.quotes import strip_reply_html
from sellerdesk.core.html import html_to_text, sanitize

Priority = Literal["low", "normal", "high", "urgent"]

# Headers a later stage (loop detection, priority, bounces, list handling) reads.
KEPT_HEADERS = frozenset({
    "auto-submitted", "precedence", "x-autoreply", "x-autorespond", "list-id",
    "list-unsubscribe", "list-post", "x-auto-response-suppress", "return-path", "content-type",
    "x-priority", "importance", "priority", "x-msmail-priority", "x-failed-recipients", "x-loop",
})
_ADDRESS_HEADERS = frozenset({"from", "sender", "reply-to", "to", "cc", "delivered-to",
                              "x-original-to", "envelope-to"})
_TOP_HEADERS = KEPT_HEADERS | _ADDRESS_HEADERS | {
    "subject", "date", "message-id", "in-reply-to", "references"}
_JOINED = frozenset({"x-failed-recipients"})  # repeated lines add up; others: the first counts
_PART_HEADERS = frozenset({"content-type", "content-disposition", "content-transfer-encoding",
                           "content-id"})

_MAX_DEPTH = 40
_MAX_PARTS = 2000
_MAX_RECOVERIES = 4
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_NOT_MAIL_MAGIC = {b"%PDF": "a PDF document", b"PK\x03\x04": "a ZIP archive",
                   b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image"}
_MIME_TYPE = re.compile(r"^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$")
_GENERIC_TYPES = frozenset({"application/octet-stream", "application/unknown", "unknown/unknown",
                            "application/x-unknown", "binary/octet-stream", "application/binary"})
_BODY_TYPES = frozenset({"text/plain", "text/html"})
# Other renderings of the same text inside multipart/alternative: not attachments.
_REDUNDANT_ALTERNATIVES = frozenset({"text/enriched", "text/richtext", "text/x-amp-html",
                                     "text/watch-html"})
_FIXED_NAMES = {
    "application/pkcs7-signature": "smime.p7s", "application/x-pkcs7-signature": "smime.p7s",
    "application/pkcs7-mime": "smime.p7m", "application/x-pkcs7-mime": "smime.p7m",
    "application/pgp-signature": "signature.asc", "application/pgp-encrypted": "pgp-version.asc",
    "application/pgp-keys": "public-key.asc", "application/ms-tnef": "winmail.dat",
    "application/vnd.ms-tnef": "winmail.dat", "message/delivery-status": "delivery-status.txt",
    "message/rfc822-headers": "original-headers.txt", "text/rfc822-headers": "original-headers.txt",
}
_EXTENSIONS = {
    "text/plain": ".txt", "text/html": ".html", "text/csv": ".csv", "text/calendar": ".ics",
    "message/rfc822": ".eml", "message/global": ".eml", "message/delivery-status": ".txt",
    "message/rfc822-headers": ".txt", "text/rfc822-headers": ".txt", "image/jpeg": ".jpg",
    "image/png": ".png", "image/gif": ".gif", "application/pdf": ".pdf",
    "application/zip": ".zip", "application/octet-stream": ".bin",
}
_SNIFF = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"),
          (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"),
          (b"PK\x03\x04", "application/zip"),
          (b"\x1f\x8b", "application/gzip"), (b"\x78\x9f\x3e\x22", "application/ms-tnef"),
          (_OLE_MAGIC, "application/x-ole-storage"), (b"Rar!", "application/vnd.rar"),
          (b"-----BEGIN PGP MESSAGE", "application/pgp-encrypted"),
          (b"-----BEGIN PGP SIGNATURE", "application/pgp-signature"),
          (b"-----BEGIN PGP PUBLIC KEY", "application/pgp-keys"))
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""",
                           re.IGNORECASE)
_CID_REFERENCE = re.compile(r"""cid:([^"'\s<>)]+)""", re.IGNORECASE)
_BARE_ADDRESS = re.compile(r"""[^\s<>"'(),;:@]{1,64}@[^\s<>"'(),;:@]{1,255}""")  # bounded: linear
_SYSTEM_SENDER = re.compile(r"\b(mailer-daemon|postmaster)\b", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
_BODY_BOUNDARY = re.compile(rb"^--([!-~]{1,70}?)[ \t]*\r?\n(?i:content-)", re.MULTILINE)
_STATUS_CODE = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_DSN_MESSAGE_ID = re.compile(r"^message-id:\s*(.+)$", re.IGNORECASE | re.MULTILINE)


class _RawHeaderPolicy(EmailPolicy):
    """policy.default, except that header values reach us raw and unfolded, and go out as read."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value.replace("\r", "").replace("\n", "")

    def fold_binary(self, name: str, value: str) -> bytes:
        value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", self.linesep)
        return f"{name}: {value}{self.linesep}".encode("utf-8", "surrogateescape")


_POLICY = _RawHeaderPolicy()


class HeaderMap(Mapping[str, str]):
    """A read-only, case-insensitive mapping of header names to decoded values."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = {name.lower(): value for name, value in items}

    def __getitem__(self, key: str) -> str:
        if not isinstance(key, str):
            raise KeyError(key)
        return self._items[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return f"HeaderMap({self._items!r})"


@dataclass(frozen=True, slots=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes = field(repr=False)
    content_id: str | None = None  # without angle brackets
    inline: bool = False  # the HTML shows it through a cid: reference

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What a delivery status notification (RFC 3464) says about the mail it reports on."""

    original_message_id: str | None
    status: str | None  # "5.1.1"
    action: str | None  # failed | delayed | delivered | relayed | expanded
    diagnostic: str | None
    failed_recipients: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_name: str | None
    from_address: str
    reply_to: tuple[tuple[str | None, str], ...]
    to: tuple[str, ...]
    cc: tuple[str, ...]
    delivered_to: tuple[str, ...]
    date: datetime | None
    text: str
    html: str | None
    attachments: tuple[ParsedAttachment, ...]
    headers: HeaderMap
    priority: Priority
    is_dsn: bool
    dsn: DeliveryReport | None
    raw_size: int
    # The HTML body cut before its quoted history (sanitized), when a quote was recognised in
    # the HTML as the sender's client marked it (Gmail's gmail_quote, Outlook's divRplyFwdMsg,
    # <blockquote type=cite> ...): the sanitizer drops those marks, so this is read first.
    html_reply: str | None = None
    text_from_html: bool = False  # no text/plain part: `text` was made from the HTML


def parse_email(raw: bytes, *, max_attachment_bytes: int) -> ParsedEmail:
    """Parse one raw message; any failure is a ParseError with a code and a reason."""
    try:
        return _parse(raw, max_attachment_bytes)
    except ParseError:
        raise
    except RecursionError as exc:  # the standard library's parser recurses per nesting level
        raise ParseError("email.too_deep", "MIME structure nested too deeply to parse") from exc
    except Exception as exc:  # a hostile mail must never take a worker down
        reason = f"{type(exc).__name__}: {exc}"[:500]
        raise ParseError("email.unparsable", reason) from exc


# --- the message as a whole ----------------------------------------------------------------


def _parse(raw: bytes, max_attachment_bytes: int) -> ParsedEmail:
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise ParseError("email.not_mime", f"expected the raw bytes, got {type(raw).__name__}")
    raw = bytes(raw)
    _check_is_mail(raw)
    source = raw.lstrip(b"\r\n\t ") if raw[:1] in b"\r\n\t " else raw
    message = BytesParser(policy=_POLICY).parsebytes(source)
    if not len(message):
        raise ParseError("email.not_mime",
                         "no header fields: the data does not start with a MIME header block")
    top = _top_fields(message)
    senders = [pair for pair in parse_addresses(top.get("from", [])) if "@" in pair[1]]
    senders = senders or _fallback_senders(top)
    walker = _Walker(max_attachment_bytes)
    walker.walk(message)
    hint = walker.first_charset

    headers = HeaderMap(
        (name, _one_line(decode_header_value(", ".join(values) if name in _JOINED else values[0],
                                             hint)))
        for name, values in top.items() if name in KEPT_HEADERS)
    from_name, from_address = senders[0]
    html_source = "\n".join(walker.body.html)
    html = (sanitize(_without_head(html_source)).strip() or None) if html_source.strip() else None
    html_reply = None
    if html is not None:
        cut = strip_reply_html(_without_head(html_source))
        html_reply = (sanitize(cut).strip() or None) if cut else None
    text = _join_text(walker.body.plain)
    text_from_html = not text and html is not None
    if not text and html:
        # From the sanitized HTML: html.parser is quadratic on hostile markup (unclosed tags
        # and comments, CVE-2025-6069); nh3's output is well formed.
        text = html_to_text(html).replace("\x00", "")
    dsn = walker.delivery_report(_address_list(top.get("x-failed-recipients", [])))
    return ParsedEmail(
        message_id=parse_message_id(_first(top, "message-id")),
        in_reply_to=parse_id_list(top.get("in-reply-to", [])),
        references=parse_id_list(top.get("references", [])),
        subject=_one_line(decode_header_value(_first(top, "subject"), hint)),
        from_name=_display_name(from_name, hint),
        from_address=from_address,
        reply_to=tuple((_display_name(name, hint), address)
                       for name, address in parse_addresses(top.get("reply-to", []))
                       if "@" in address),
        to=_address_list(top.get("to", [])),
        cc=_address_list(top.get("cc", [])),
        delivered_to=_address_list([*top.get("delivered-to", []), *top.get("x-original-to", []),
                                    *top.get("envelope-to", [])]),
        date=parse_date(_first(top, "date")),
        text=text,
        html=html,
        attachments=walker.attachments(html),
        headers=headers,
        priority=_priority(headers),
        is_dsn=dsn is not None,
        dsn=dsn,
        raw_size=len(raw),
        html_reply=html_reply,
        text_from_html=text_from_html,
    )


def _without_head(html: str) -> str:
    """HTML minus its <head>: the sanitizer would keep the <title> text as visible content."""
    lower = html.lower()
    start = lower.find("<head")
    end = lower.find("</head", start + 5) if start >= 0 else -1
    if start < 0 or end < 0 or lower[start + 5:start + 6] not in (">", " ", "\t", "\n", "\r"):
        return html
    close = lower.find(">", end)
    return html[:start] + html[close + 1:] if close >= 0 else html[:start]


def _check_is_mail(raw: bytes) -> None:
    if not raw or raw.isspace():
        raise ParseError("email.empty", f"the message is empty ({len(raw)} bytes, no headers)")
    if raw.startswith(_OLE_MAGIC):
        raise ParseError("email.not_mime", "an Outlook .msg file (OLE compound document), not a "
                         "MIME message: export it from Outlook as .eml")
    for magic, what in _NOT_MAIL_MAGIC.items():
        if raw.startswith(magic):
            raise ParseError("email.not_mime", f"{what}, not a MIME message")


def _top_fields(message: Message) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        key = name.strip().lower()
        if key in _TOP_HEADERS:
            found.setdefault(key, []).append(_unfold(value))
    return found


def _unfold(value: str) -> str:
    return value.replace("\r", "").replace("\n", "")


def _first(top: dict[str, list[str]], name: str) -> str:
    values = top.get(name)
    return values[0] if values else ""


def _one_line(text: str) -> str:
    return " ".join(_CONTROL.sub("", text).split())


def _fallback_senders(top: dict[str, list[str]]) -> list[tuple[str, str]]:
    """From without a usable address: Sender, then an address anywhere in From, then a daemon."""
    sender = [pair for pair in parse_addresses(top.get("sender", [])) if "@" in pair[1]]
    if sender:
        return sender
    raw_from = " ".join(top.get("from", []))
    text = decode_raw_text(raw_from, "utf-8")
    bare = _BARE_ADDRESS.search(text)
    if bare:
        return [("", bare.group(0).lower())]
    system = _SYSTEM_SENDER.search(text)
    if system:  # bounces from "MAILER-DAEMON (Mail Delivery System)"
        return [("", system.group(1).lower())]
    if "from" not in top:
        raise ParseError("email.no_from", "the message has no From header", field="from")
    shown = _one_line(text)[:200]
    raise ParseError("email.no_from", f"the From header has no usable address: {shown!r}",
                     field="from")


# --- addresses, ids, dates -------------------------------------------------------------------


def _address_list(values: list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for _, address in parse_addresses(values):
        if "@" in address:
            seen.setdefault(address, None)
    return tuple(seen)


def _display_name(raw: str, hint: str | None) -> str | None:
    name = _one_line(decode_header_value(raw, hint)).strip(" \"'")
    return name or None


# --- priority ------------------------------------------------------------------------------

_RANK: dict[Priority, int] = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
_X_PRIORITY: dict[str, Priority] = {"1": "urgent", "2": "high", "3": "normal", "4": "low",
                                    "5": "low"}
_WORDS: dict[str, Priority] = {
    "highest": "urgent", "urgent": "urgent", "high": "high", "normal": "normal",
    "medium": "normal", "low": "low", "lowest": "low", "non-urgent": "low",
}


def _priority(headers: Mapping[str, str]) -> Priority:
    """The sender's priority from X-Priority, Importance, Priority and X-MSMail-Priority.

    X-Priority 1 ("Highest") is urgent and 2 is high, 3 normal, 4-5 low; Importance and
    X-MSMail-Priority say low/normal/high; Priority (RFC 2156) says non-urgent/normal/urgent.
    Outlook marks every "High importance" mail X-Priority 1 *and* Importance: High, so X-Priority 1
    next to a "high" Importance/X-MSMail-Priority counts as high, not urgent. The highest of
    the remaining levels wins; no header means normal.
    """
    levels: list[Priority] = []
    x_priority = headers.get("x-priority", "").strip().lower()
    x_level = _X_PRIORITY.get(x_priority[:1]) or _WORDS.get(x_priority.split(" ")[0])
    outlook = {headers.get(name, "").strip().lower().split(" ")[0]
               for name in ("importance", "x-msmail-priority")}
    if x_level == "urgent" and "high" in outlook:
        x_level = "high"
    if x_level:
        levels.append(x_level)
    for word in outlook:
        level = _WORDS.get(word)
        if level:  # these headers top out at "high"
            levels.append("high" if level == "urgent" else level)
    word = headers.get("priority", "").strip().lower().split(" ")[0]
    if word in _WORDS:
        levels.append(_WORDS[word])
    return max(levels, key=_RANK.__getitem__) if levels else "normal"


# --- the MIME tree -------------------------------------------------------------------------


@dataclass(slots=True)
class _Body:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Pending:
    filename: str | None
    content_type: str
    data: bytes
    content_id: str | None


class _Walker:
    """Walks the MIME tree once: body text and HTML in `body`, everything else kept aside."""

    def __init__(self, max_attachment_bytes: int) -> None:
        self.max_bytes = max_attachment_bytes
        self.body = _Body()
        self.pending: list[_Pending] = []
        self.first_charset: str | None = None
        self.parts = 0
        self.recoveries = 0
        self.in_report = False
        self.is_report = False
        self.status_text: list[str] = []
        self.original_message_id: str | None = None
        self._types: dict[int, tuple[dict[str, str], tuple[str, dict[str, str], bool]]] = {}
        self._recovered: list[Message] = []

    def _describe(self, part: Message) -> tuple[dict[str, str], tuple[str, dict[str, str], bool]]:
        """A part's MIME fields and content type, read once even when a parent looks first."""
        known = self._types.get(id(part))
        if known is None:
            fields = _part_fields(part)
            known = self._types[id(part)] = (fields, _content_type(part, fields))
        return known

    def walk(self, message: Message) -> None:
        self._visit(message, 0, self.body)

    def _visit(self, part: Message, depth: int, out: _Body) -> None:
        self.parts += 1
        if self.parts > _MAX_PARTS:
            raise ParseError("email.too_many_parts", f"more than {_MAX_PARTS} MIME parts")
        if depth > _MAX_DEPTH:
            raise ParseError("email.too_deep", f"MIME parts nested deeper than {_MAX_DEPTH}")
        fields, (ctype, params, declared) = self._describe(part)
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            children = [child for child in payload if isinstance(child, Message)]
            if ctype.startswith("message/"):
                self._embedded(ctype, fields, params, children)
            elif ctype == "multipart/alternative":
                self._alternative(children, depth, out)
            elif ctype == "multipart/report" and not self.is_report:
                self._report(params, children, depth, out)
            else:
                for child in children:
                    self._visit(child, depth + 1, out)
            if part.epilogue and ctype.startswith("multipart/"):
                # An inner part that reused this boundary closed it early: the parts after it
                # ended up in the epilogue. Keep them.
                self._visit_recovered(ctype, part.epilogue, depth, out)
            return
        if ctype.startswith("multipart/"):
            body = part.get_payload(decode=True)
            if isinstance(body, bytes) and self._visit_recovered(ctype, body, depth, out):
                return
        if ctype.startswith(("multipart/", "message/")):
            ctype, declared = "text/plain", False  # no boundary / unparsed: the body is text
        self._leaf(part, fields, ctype, params, declared, out)

    def _visit_recovered(self, ctype: str, body: str | bytes, depth: int, out: _Body) -> bool:
        if self.recoveries >= _MAX_RECOVERIES:
            return False
        self.recoveries += 1  # each one parses its body again: a hostile mail gets few
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogateescape")
        recovered = _recover_parts(ctype, body)
        if recovered is None:
            return False
        self._recovered.append(recovered)  # alive while ids of its parts key self._types
        self._visit(recovered, depth + 1, out)
        return True

    def _alternative(self, children: list[Message], depth: int, out: _Body) -> None:
        """One rendering of the text: the first plain one, the last (richest) HTML one."""
        bodies: list[_Body] = []
        renderings = [c for c in children
                      if self._describe(c)[1][0] not in _REDUNDANT_ALTERNATIVES]
        for child in renderings or children:
            body = _Body()
            self._visit(child, depth + 1, body)
            bodies.append(body)
        plain = next((b.plain for b in bodies if b.plain), [])
        html = next((b.html for b in reversed(bodies) if b.html), [])
        out.plain.extend(plain)
        out.html.extend(html)

    def _report(self, params: dict[str, str], children: list[Message], depth: int,
                out: _Body) -> None:
        self.is_report = params.get("report-type", "").lower() == "delivery-status" or any(
            self._describe(c)[1][0] == "message/delivery-status" for c in children)
        self.in_report = self.is_report
        for child in children:
            self._visit(child, depth + 1, out)
        self.in_report = False

    def _leaf(self, part: Message, fields: dict[str, str], ctype: str, params: dict[str, str],
              declared: bool, out: _Body) -> None:
        disposition, dparams = parse_header_params(
            fields.get("content-disposition", ""), params.get("charset"))
        filename = dparams.get("filename") or params.get("name") or None
        data = _payload(part, fields)
        charset = params.get("charset")
        if ctype in _BODY_TYPES and disposition != "attachment" and not filename:
            if charset and self.first_charset is None:
                self.first_charset = charset
            if ctype == "text/html":
                out.html.append(decode_bytes(data, charset or _meta_charset(data)))
            else:
                out.plain.append(_plain_text(decode_bytes(data, charset), params))
            return
        if self.in_report and ctype == "text/rfc822-headers":
            self._note_original_id(decode_bytes(data, charset))
        if self.in_report and ctype == "message/delivery-status":
            self.status_text.append(decode_bytes(data, charset))
        self._keep(data, ctype if declared else "", filename, fields.get("content-id"))

    def _embedded(self, ctype: str, fields: dict[str, str], params: dict[str, str],
                  children: list[Message]) -> None:
        """message/*: a forwarded mail becomes an .eml attachment; DSN parts feed the report."""
        disposition, dparams = parse_header_params(fields.get("content-disposition", ""))
        filename = dparams.get("filename") or params.get("name") or None
        if ctype == "message/delivery-status":
            text = "\n\n".join("\n".join(f"{name}: {decode_raw_text(_unfold(value), 'utf-8')}"
                                         for name, value in block.raw_items())
                               for block in children)
            if self.in_report:
                self.status_text.append(text)
            self._keep(text.encode("utf-8"), ctype, filename, fields.get("content-id"))
            return
        inner = children[0] if children else None
        if inner is None:
            self._keep(b"", ctype, filename, fields.get("content-id"))
            return
        inner_fields = {name.strip().lower(): _unfold(value)
                        for name, value in reversed(list(inner.raw_items()))}
        if self.in_report and self.original_message_id is None:
            self.original_message_id = parse_message_id(inner_fields.get("message-id", ""))
        subject = _one_line(decode_header_value(inner_fields.get("subject", "")))[:100]
        if not filename and subject and ctype in ("message/rfc822", "message/global"):
            filename = f"{subject}.eml"  # what the agent recognises: the forwarded mail's subject
        self._keep(_serialize(inner), ctype, filename, fields.get("content-id"))

    def _note_original_id(self, text: str) -> None:
        match = _DSN_MESSAGE_ID.search(text)
        if match and self.original_message_id is None:
            self.original_message_id = parse_message_id(match.group(1))

    def _keep(self, data: bytes, ctype: str, filename: str | None, content_id: str | None) -> None:
        name = _clean_filename(filename) if filename else None
        if len(data) > self.max_bytes:
            shown = name or f"attachment {len(self.pending) + 1} ({ctype or 'untyped'})"
            raise ParseError("email.attachment_too_large",
                             f"attachment {shown!r} is {len(data)} bytes; the limit is "
                             f"{self.max_bytes} bytes", field="attachments")
        cid = decode_raw_text(content_id, "utf-8").strip().strip("<>").strip() if content_id else ""
        self.pending.append(_Pending(name, ctype, data, cid or None))

    def attachments(self, html: str | None) -> tuple[ParsedAttachment, ...]:
        shown = {unquote(ref).strip("<>").lower()
                 for ref in _CID_REFERENCE.findall(html)} if html else set()
        result: list[ParsedAttachment] = []
        for number, item in enumerate(self.pending, start=1):
            ctype = _attachment_type(item.content_type, item.filename, item.data)
            name = item.filename or _fallback_name(ctype, number)
            inline = item.content_id is not None and item.content_id.lower() in shown
            result.append(ParsedAttachment(name, ctype, item.data, item.content_id, inline))
        return tuple(result)

    def delivery_report(self, x_failed: tuple[str, ...]) -> DeliveryReport | None:
        if not self.is_report:
            return None
        return _delivery_report("\n\n".join(self.status_text), self.original_message_id,
                                x_failed)


def _recover_parts(ctype: str, body: bytes) -> Message | None:
    """Parts behind a boundary other than the declared one (spam does that), split anyway."""
    match = _BODY_BOUNDARY.search(body, 0, 8192)
    if match is None:
        return None
    boundary = match.group(1).decode("ascii", "replace").replace('"', "")
    head = f'Content-Type: {ctype}; boundary="{boundary}"\n\n'.encode("ascii", "replace")
    recovered = BytesParser(policy=_POLICY).parsebytes(head + body)
    return recovered if recovered.is_multipart() else None


def _part_fields(part: Message) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in part.raw_items():
        key = name.strip().lower()
        if key in _PART_HEADERS and key not in found:
            found[key] = _unfold(value)
    return found


def _content_type(part: Message, fields: dict[str, str]) -> tuple[str, dict[str, str], bool]:
    """(type/subtype, decoded parameters, whether the part declared a valid type)."""
    ctype, params = parse_header_params(fields.get("content-type", ""))
    ctype = "".join(ctype.split())
    if _MIME_TYPE.match(ctype):
        return ctype, params, True
    return part.get_default_type(), params, False


def _payload(part: Message, fields: dict[str, str]) -> bytes:
    """The part's bytes with its transfer encoding undone, tolerating sloppy encoding names."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return b""
    declared = fields.get("content-transfer-encoding", "")
    encoding = declared.strip().lower().split(";", 1)[0].strip()
    if encoding == declared.lower():
        return data  # the standard library has decoded it already
    if encoding == "base64":
        return _base64(data)
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    if encoding in ("x-uuencode", "uuencode", "uue", "x-uue"):
        return _uudecode(data)
    return data


def _base64(data: bytes) -> bytes:
    clean = _NOT_BASE64.sub(b"", data)
    if len(clean) % 4 == 1:
        clean = clean[:-1]
    return binascii.a2b_base64(clean + b"=" * (-len(clean) % 4))


def _uudecode(data: bytes) -> bytes:
    lines = iter(data.splitlines())
    if not any(line.startswith(b"begin") for line in lines):
        return data
    out = bytearray()
    for line in lines:
        if line.strip() == b"end":
            break
        length = (((line[0] - 32) & 63) * 4 + 5) // 3 if line else 0
        try:
            out += binascii.a2b_uu(line[:length])
        except binascii.Error:
            continue
    return bytes(out)


def _meta_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii") if match else None


def _plain_text(text: str, params: dict[str, str]) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if params.get("format", "").lower() == "flowed":
        text = _unflow(text, delete_space=params.get("delsp", "").lower() == "yes")
    return text


def _unflow(text: str, *, delete_space: bool) -> str:
    """RFC 3676 format=flowed: soft line breaks (a trailing space) join lines again."""
    lines: list[str] = []
    paragraph: str | None = None
    paragraph_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]
        soft = content.endswith(" ") and content != "-- "
        if soft and delete_space:
            content = content[:-1]
        if paragraph is not None and depth != paragraph_depth:
            lines.append(_quoted(paragraph, paragraph_depth))
            paragraph = None
        paragraph = content if paragraph is None else paragraph + content
        paragraph_depth = depth
        if not soft:
            lines.append(_quoted(paragraph, depth))
            paragraph = None
    if paragraph is not None:
        lines.append(_quoted(paragraph, paragraph_depth))
    return "\n".join(lines)


def _quoted(text: str, depth: int) -> str:
    return f"{'>' * depth} {text}" if depth else text


def _join_text(parts: list[str]) -> str:
    tidy = (_LEADING_BLANK_LINES.sub("", part.replace("\x00", "")).rstrip() for part in parts)
    return "\n\n".join(part for part in tidy if part)


def _serialize(message: Message) -> bytes:
    """An embedded message back to bytes, headers exactly as they arrived."""
    buffer = BytesIO()
    try:
        BytesGenerator(buffer, mangle_from_=False, policy=_POLICY).flatten(message)
    except Exception:  # a broken embedded message is still kept, as far as it goes
        headers = b"".join(_POLICY.fold_binary(name, value) for name, value in message.raw_items())
        payload = message.get_payload()
        body = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
        return headers + b"\n" + body
    return buffer.getvalue()


# --- attachments ---------------------------------------------------------------------------


def _clean_filename(name: str) -> str | None:
    """A decoded filename, safe to show and store: no path, no control characters."""
    name = re.split(r"[\\/]", _CONTROL.sub("", name))[-1]
    name = " ".join(name.split()).strip(" .")
    if not name:
        return None
    if len(name.encode("utf-8")) > 200:
        stem, dot, extension = name.rpartition(".")
        keep = f"{dot}{extension}" if dot and len(extension) <= 16 else ""
        name = name.encode("utf-8")[: 200 - len(keep.encode("utf-8"))].decode("utf-8", "ignore")
        name = name.rstrip(" .") + keep
    return name


def _attachment_type(declared: str, filename: str | None, data: bytes) -> str:
    """The declared type; for a generic or missing one, the content's magic, else the name's."""
    if declared and declared not in _GENERIC_TYPES:
        return declared
    for magic, ctype in _SNIFF:
        if data.startswith(magic):
            return ctype
    guessed = mimetypes.guess_type(filename, strict=False)[0] if filename else None
    return guessed or declared or "application/octet-stream"


def _fallback_name(ctype: str, number: int) -> str:
    fixed = _FIXED_NAMES.get(ctype)
    if fixed:
        return fixed
    extension = _EXTENSIONS.get(ctype) or mimetypes.guess_extension(ctype, strict=False) or ".bin"
    return f"attachment-{number}{extension}"


# --- delivery status notifications ---------------------------------------------------------


def _status_blocks(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    for chunk in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n")):
        fields: dict[str, str] = {}
        last: str | None = None
        for line in chunk.split("\n"):
            if line[:1] in (" ", "\t") and last is not None:
                fields[last] += " " + line.strip()
                continue
            name, sep, value = line.partition(":")
            if sep and name.strip():
                last = name.strip().lower()
                if last in fields:
                    last = None  # a repeated field: keep the first
                else:
                    fields[last] = value.strip()
        if fields:
            blocks.append(fields)
    return blocks


def _recipient(fields: dict[str, str]) -> str | None:
    value = fields.get("final-recipient") or fields.get("original-recipient") or ""
    address = value.partition(";")[2] if ";" in value else value
    address = clean_address(address)
    return address if "@" in address else None


def _delivery_report(text: str, original_id: str | None,
                     x_failed: tuple[str, ...]) -> DeliveryReport:
    blocks = _status_blocks(text)
    recipients = [b for b in blocks
                  if {"final-recipient", "original-recipient", "action", "status"} & b.keys()
                  and "reporting-mta" not in b]
    failed = [b for b in recipients
              if b.get("action", "").lower().startswith("failed")
              or (not b.get("action") and b.get("status", "").startswith("5"))]
    first = failed[0] if failed else (recipients[0] if recipients else {})
    diagnostic_raw = first.get("diagnostic-code", "")
    diagnostic = " ".join((diagnostic_raw.partition(";")[2] or diagnostic_raw).split()) or None
    if diagnostic is None:  # "Status: 4.2.2 (Persistent transient failure - mailbox full)"
        diagnostic = first.get("status", "").partition("(")[2].rstrip(") ").strip() or None
    status = _STATUS_CODE.search(first.get("status", "")) or _STATUS_CODE.search(diagnostic or "")
    action = first.get("action", "").lower().split(" ")[0].strip(";") or None
    failed_recipients = [r for r in (_recipient(b) for b in failed) if r]
    return DeliveryReport(
        original_message_id=original_id,
        status=status.group(1) if status else None,
        action=action,
        diagnostic=diagnostic,
        failed_recipients=tuple(dict.fromkeys([*failed_recipients, *x_failed])),
    )
