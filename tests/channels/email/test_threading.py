"""Thread hints: subjects, ticket tokens, plus-addresses and Message-ID lists."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sellerdesk.channels.email.threading import (
    extract_ticket_token,
    format_ticket_token,
    message_ids,
    normalize_subject,
    parse_address,
    parse_addresses,
    plus_address,
    ticket_id_from_plus_address,
)

KNOWN_PREFIXES = ["Re", "RE", "re", "Re[2]", "Re(2)", "Aw", "AW", "Antw", "Odp", "ODP", "Odp.",
                  "PD", "Fwd", "FWD", "Fw", "FW", "Tr", "WG", "Rv", "SV", "VS", "회신", "답장",
                  "전달", "자동 회신"]
TICKET_IDS = st.integers(min_value=1, max_value=2**63 - 1)


@pytest.mark.parametrize(("subject", "expected"), [
    ("Re: Where is my parcel?", "Where is my parcel?"),
    ("RE: Re[2]: Re(3): FW: Fwd: order 1234", "order 1234"),
    ("AW: WG: Antw: Bestellung", "Bestellung"),
    ("Odp: ODP: Odp.: paczka nie dotarła", "paczka nie dotarła"),
    ("PD: Tr: Rv: SV: VS: commande", "commande"),
    ("RE:회신: 배송 문의", "배송 문의"),
    ("답장: 전달: 자동 회신: 교환 요청", "교환 요청"),
    ("Re：全角", "全角"),
    ("re :  spaced   out ", "spaced out"),
    ("[EXTERNAL] Re: invoice", "[EXTERNAL] Re: invoice"),
    ("Re: [#42] Where is my parcel? [#42]", "Where is my parcel?"),
    ("Re: Ref: order 5", "Ref: order 5"),
    ("Return of item", "Return of item"),
    ("Re:", ""),
])
def test_normalize_subject(subject: str, expected: str) -> None:
    assert normalize_subject(subject) == expected


def test_ticket_token_format_and_extract() -> None:
    assert format_ticket_token(123) == "[#123]"
    assert extract_ticket_token("Re: Where is my parcel? [#123]") == 123
    assert extract_ticket_token("[#12] forwarded into [#34]") == 34
    assert extract_ticket_token("Order #123 [# 5] [#0] [#abc]") is None


@pytest.mark.parametrize("bad", [0, -1, 2**63])
def test_ticket_token_rejects_ids_that_cannot_be_tickets(bad: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        format_ticket_token(bad)


def test_plus_address_finds_the_ticket_of_the_store_mailbox() -> None:
    recipients = ["Other <other@example.com>", "Shop <Support+T123@shop.example>"]
    assert ticket_id_from_plus_address(recipients) == 123
    assert ticket_id_from_plus_address(recipients, local_part="support") == 123
    assert ticket_id_from_plus_address(recipients, local_part="support@shop.example") == 123


def test_plus_address_ignores_other_mailboxes_and_other_tags() -> None:
    assert ticket_id_from_plus_address(["eve+t7@evil.example"], local_part="support") is None
    assert ticket_id_from_plus_address(["support+news@shop.example"]) is None
    assert ticket_id_from_plus_address(["support+t0@shop.example", "not an address"]) is None


def test_plus_address_is_built_from_the_plain_mailbox() -> None:
    assert plus_address("support+old@shop.example", 9) == "support+t9@shop.example"
    with pytest.raises(ValueError, match="not an email address"):
        plus_address("support", 9)


@pytest.mark.parametrize(("header", "expected"), [
    ("<a@b.example>", ("a@b.example",)),
    ("<a@b.example> <c@d.example>\r\n <a@b.example>", ("a@b.example", "c@d.example")),
    ("<a@b.example>,<c@d.example>", ("a@b.example", "c@d.example")),
    ("a@b.example c@d.example", ("a@b.example", "c@d.example")),
    ("<a@b.example> (sent by jan@x.example)", ("a@b.example",)),
    ('Your message of "Mon, 5 Mar 2024" <a@b.example>', ("a@b.example",)),
    ("", ()),
    ("   garbage without ids  ", ()),
])
def test_message_ids(header: str, expected: tuple[str, ...]) -> None:
    assert message_ids(header) == expected


def test_address_parsing_matches_the_standard_library_on_ordinary_headers() -> None:
    assert parse_address('"Kowalski, Jan" <jan@example.pl>') == ("Kowalski, Jan", "jan@example.pl")
    assert parse_addresses(["a@x.example, B <b@y.example>", "c@z.example"]) == [
        ("", "a@x.example"), ("B", "b@y.example"), ("", "c@z.example")]
    assert parse_address("") == ("", "")


def test_address_parsing_survives_headers_that_exhaust_the_standard_parser() -> None:
    # given a header of nested groups, which makes email.utils recurse once per colon
    hostile = "Re: " * 3000 + "x@y.example"

    # when / then: no RecursionError, and the bare address is still found
    assert parse_addresses([hostile]) == [("", "x@y.example")]
    assert ticket_id_from_plus_address([hostile, "support+t5@shop.example"]) == 5


# --- properties -----------------------------------------------------------------------------

SUBJECT_TEXT = st.text(
    alphabet=st.characters(categories=("L", "N", "P", "S", "Zs"), exclude_characters="\x00"),
    max_size=60,
)


@given(st.text(max_size=80))
def test_normalize_subject_is_idempotent(subject: str) -> None:
    once = normalize_subject(subject)
    assert normalize_subject(once) == once


@given(st.text(max_size=80))
def test_normalize_subject_only_removes_a_leading_chain(subject: str) -> None:
    # what remains is the (whitespace-collapsed) end of the subject without our tokens
    without_tokens = " ".join(re.sub(r"\[#\d{1,19}\]", " ", subject).split())
    assert without_tokens.endswith(normalize_subject(subject))


@given(
    st.lists(st.tuples(st.sampled_from(KNOWN_PREFIXES), st.sampled_from([":", "：", " :"]),
                       st.sampled_from(["", " ", "  "])), min_size=1, max_size=5),
    SUBJECT_TEXT,
)
def test_any_chain_of_known_prefixes_normalises_to_the_subject(
    chain: list[tuple[str, str, str]], subject: str
) -> None:
    assume(normalize_subject(subject) == subject)
    prefixed = "".join(prefix + colon + space for prefix, colon, space in chain) + subject
    assert normalize_subject(prefixed) == subject


MESSAGE_ID = st.from_regex(r"[A-Za-z0-9._%+$-]{1,20}@[A-Za-z0-9-]{1,15}(\.[a-z]{2,6}){1,2}",
                           fullmatch=True)


@given(st.lists(MESSAGE_ID, max_size=12), st.sampled_from([" ", "\r\n ", "\r\n\t", ",", ""]))
def test_message_ids_round_trip(ids: list[str], separator: str) -> None:
    header = separator.join(f"<{message_id}>" for message_id in ids)
    assert message_ids(header) == tuple(dict.fromkeys(ids))


@given(TICKET_IDS, SUBJECT_TEXT, SUBJECT_TEXT)
def test_ticket_token_round_trip(ticket_id: int, before: str, after: str) -> None:
    assume("[#" not in before + after)
    assert extract_ticket_token(f"{before} {format_ticket_token(ticket_id)} {after}") == ticket_id
    assert format_ticket_token(extract_ticket_token(format_ticket_token(ticket_id)) or 0) == (
        format_ticket_token(ticket_id))


@given(TICKET_IDS)
def test_plus_address_round_trip(ticket_id: int) -> None:
    address = plus_address("support@shop.example", ticket_id)
    assert ticket_id_from_plus_address([address], local_part="support") == ticket_id
