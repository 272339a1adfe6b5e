"""Thread hints read from mail: normalised subjects, our ticket token, plus-addresses, Message-IDs.

Pure functions over header values; deciding which ticket a message joins is the caller's job,
and it must still check that a hinted ticket belongs to the same store (a token is only a hint:
another helpdesk may use the same "[#123]" shape).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import getaddresses

__all__ = [
    "extract_ticket_token",
    "format_ticket_token",
    "message_ids",
    "normalize_subject",
    "parse_address",
    "parse_addresses",
    "plus_address",
    "ticket_id_from_plus_address",
]

# Ticket ids are database integers: anything past a signed 64-bit value is not one of ours.
_MAX_TICKET_ID = 2**63 - 1
_TOKEN = re.compile(r"\[#(\d{1,19})\]")

# Reply and forward prefixes in the clients customers use, longest first so "자동 회신" wins over
# "회신" and "Fwd" over "Fw". Only a prefix followed by a colon counts: "Re" alone is a word.
_PREFIX_WORDS = sorted(
    (
        "re", "aw", "antw", "antwort", "odp", "odpowiedź", "pd", "fwd", "fw", "tr", "wg", "rv",
        "sv", "vs", "vb", "vl", "enc", "res", "rif", "r",
        "회신", "답장", "답신", "전달", "자동 회신", "자동회신",
        "automatic reply", "auto reply", "autoreply", "auto-reply", "odpowiedź automatyczna",
        "automatyczna odpowiedź", "automatische antwort", "réponse automatique",
    ),
    key=len,
    reverse=True,
)
_PREFIX = re.compile(
    r"\s*(?:"
    + "|".join(re.escape(word).replace(r"\ ", r"\s?") for word in _PREFIX_WORDS)
    + r")\.?\s*(?:\[\d{1,4}\]|\(\d{1,4}\)|\^\d{1,4})?\s*[:：]",
    re.IGNORECASE,
)
_WHITESPACE = re.compile(r"\s+")

_PLUS_TAG = re.compile(r"t(\d{1,19})", re.IGNORECASE)

# Longer address headers are cut: hints need the first addresses, not a hostile megabyte.
_MAX_ADDRESS_HEADER = 16_384
_ADDRESS = re.compile(r"(?<![^\s<>\"',;:])[^\s<>\"',;:@]+@[^\s<>\"',;:]+")

_BRACKETED_ID = re.compile(r"<([^<>\s]+)>")
_COMMENT = re.compile(r"\([^()]*\)")
# Matches start only where a token starts: restarting inside a long token would be quadratic.
_BARE_ID = re.compile(r"(?<![^\s<>\"'(),;\[\]])[^\s<>\"'(),;\[\]@]+@[^\s<>\"'(),;\[\]]+")


def format_ticket_token(ticket_id: int) -> str:
    """The token put in outbound subjects, e.g. ``[#123]``."""
    if not 0 < ticket_id <= _MAX_TICKET_ID:
        raise ValueError(f"ticket id out of range: {ticket_id}")
    return f"[#{ticket_id}]"


def extract_ticket_token(subject: str) -> int | None:
    """The ticket id of our ``[#123]`` token anywhere in the subject; the last one wins."""
    for match in reversed(list(_TOKEN.finditer(subject))):
        ticket_id = int(match.group(1))
        if 0 < ticket_id <= _MAX_TICKET_ID:
            return ticket_id
    return None


def normalize_subject(subject: str) -> str:
    """The subject without our token and without its chain of reply/forward prefixes.

    Whitespace is collapsed; other bracketed tags such as "[EXTERNAL]" stay where they are.
    """
    text = _WHITESPACE.sub(" ", _TOKEN.sub(" ", subject)).strip()
    position = 0
    # Matching from a position, not re-slicing, keeps a wall of "Re: Re: Re: …" linear.
    while (match := _PREFIX.match(text, position)) is not None:
        position = match.end()
    return text[position:].lstrip()


def plus_address(mailbox: str, ticket_id: int) -> str:
    """The store's address tagged with a ticket, e.g. ``support+t123@shop.example``."""
    local, at, domain = mailbox.rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"not an email address: {mailbox!r}")
    format_ticket_token(ticket_id)  # the same range check as the subject token
    return f"{local.partition('+')[0]}+t{ticket_id}@{domain}"


def parse_addresses(values: Iterable[str]) -> list[tuple[str, str]]:
    """(display name, address) pairs as email.utils.getaddresses gives, never raising.

    The standard parser recurses once per group ("a: b: c: …"), so a hostile header can
    exhaust the stack; such a header falls back to the bare addresses found in it.
    """
    pairs: list[tuple[str, str]] = []
    for value in values:
        text = str(value)[:_MAX_ADDRESS_HEADER]
        try:
            pairs.extend(getaddresses([text]))
        except (RecursionError, IndexError, ValueError):
            pairs.extend(("", match.group(0)) for match in _ADDRESS.finditer(text))
    return pairs


def parse_address(value: str) -> tuple[str, str]:
    """The first (display name, address) pair of a header value, ("", "") when there is none."""
    pairs = parse_addresses([value])
    return pairs[0] if pairs else ("", "")


def ticket_id_from_plus_address(
    addresses: Iterable[str], *, local_part: str | None = None
) -> int | None:
    """The ticket id from an address like ``support+t123@shop.example``, first match wins.

    With ``local_part`` ("support", or a full "support@shop.example"), only addresses of that
    mailbox count, so a customer's own plus-address can never point at a ticket.
    """
    wanted = local_part.casefold() if local_part else None
    for _, address in parse_addresses(addresses):
        local, at, domain = address.rpartition("@")
        base, plus, tag = local.partition("+")
        if not at or not plus:
            continue
        if wanted is not None and wanted not in (base.casefold(), f"{base}@{domain}".casefold()):
            continue
        match = _PLUS_TAG.fullmatch(tag)
        if match is not None and 0 < int(match.group(1)) <= _MAX_TICKET_ID:
            return int(match.group(1))
    return None


def message_ids(header_value: str) -> tuple[str, ...]:
    """Message-IDs from a References or In-Reply-To value, without angle brackets.

    Order is kept and repeats dropped; text between ids (comments, "Your message of …") is
    ignored, and ids that lost their brackets are still found when they carry an "@".
    """
    found: list[str] = []
    position = 0
    for match in _BRACKETED_ID.finditer(header_value):
        found.extend(_bare_ids(header_value[position:match.start()]))
        found.append(match.group(1))
        position = match.end()
    found.extend(_bare_ids(header_value[position:]))
    return tuple(dict.fromkeys(found))


def _bare_ids(text: str) -> list[str]:
    # An address in a "(sent by jan@x.pl)" comment is not a message id.
    return _BARE_ID.findall(_COMMENT.sub(" ", text))
