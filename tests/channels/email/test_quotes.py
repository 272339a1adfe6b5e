"""Reply stripping against talon's real client replies and our own ko/pl/en synthetic ones."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sellerdesk.channels.email.quotes import (
    _defused,
    strip_quotes,
    strip_reply,
    strip_reply_html,
    strip_signature,
)
from sellerdesk.core.html import html_to_text

FIXTURES = Path(__file__).parent / "fixtures" / "replies"
TALON = FIXTURES / "talon"
SYNTHETIC = FIXTURES / "synthetic"
STANDARD = sorted((TALON / "standard_replies").glob("*.eml"))
HTML_REPLIES = sorted((TALON / "html_replies").glob("*.html"))
SIGNATURES = sorted((TALON / "signature_stripped").glob("*_body"))
SYNTHETIC_TEXT = sorted(p for p in SYNTHETIC.glob("*.txt") if not p.name.endswith(".expected.txt"))
SYNTHETIC_HTML = sorted(SYNTHETIC.glob("*.html"))


def words(text: str | None) -> str:
    """Whitespace-insensitive form, as the benchmark compares."""
    return " ".join((text or "").split())


def plain_body(path: Path) -> str:
    with path.open("rb") as handle:
        message = BytesParser(policy=policy.default).parse(handle)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def talon_expected(path: Path) -> str:
    expected = path.with_name(path.stem + "_reply_text")
    return expected.read_text() if expected.exists() else "Hello"


def html_text(html: str) -> str | None:
    stripped = strip_reply_html(html)
    return html_to_text(stripped) if stripped is not None else None


@pytest.mark.parametrize("path", STANDARD, ids=lambda p: p.name)
def test_talon_standard_replies_lose_their_quotes(path: Path) -> None:
    # given a real client's reply and talon's expected new part
    text, expected = plain_body(path), talon_expected(path)

    # when / then
    assert words(strip_quotes(text)) == words(expected)


@pytest.mark.parametrize("name", ["iphone.eml", "sparrow.eml"])
def test_strip_reply_also_drops_what_talon_keeps_as_signature(name: str) -> None:
    # given replies whose new part ends in "Sent from my iPhone" or a "-- " signature
    text = plain_body(TALON / "standard_replies" / name)

    # when / then
    assert strip_reply(text) == "Hello"


@pytest.mark.parametrize("path", HTML_REPLIES, ids=lambda p: p.name)
def test_talon_html_replies_lose_their_quotes(path: Path) -> None:
    # given an HTML reply from a real client
    html = path.read_text(encoding="utf-8")

    # when / then
    assert words(html_text(html)) == "Hi. I am fine. Thanks, Alex"


@pytest.mark.parametrize(("name", "expected"), [
    ("reply-separated-by-hr.html", "Hi there Bob"),
    ("OLK_SRC_BODY_SECTION.html", "Reply"),
])
def test_talon_loose_html_fixtures(name: str, expected: str) -> None:
    assert words(html_text((TALON / name).read_text(encoding="utf-8"))) == expected


def test_yahoo_share_block_is_cut_at_its_dashed_attribution() -> None:
    # given Yahoo's "--- On …, … wrote:" followed by the quoted headers
    text = plain_body(TALON / "reply-quotations-share-block.eml")

    # when
    stripped = strip_quotes(text)

    # then
    assert stripped.endswith("Joe XXX")
    assert "From:" not in stripped
    assert "wrote" not in stripped


@pytest.mark.parametrize("path", SIGNATURES, ids=lambda p: p.name)
def test_talon_signatures_are_removed(path: Path) -> None:
    # given a body, its sender and the signature talon expects to be found
    stem = path.name.removesuffix("_body")
    body = path.read_text(encoding="utf-8")
    sender = (path.parent / f"{stem}_sender").read_text(encoding="utf-8").strip() or None
    signature = (path.parent / f"{stem}_signature").read_text(encoding="utf-8").strip()
    expected = body.strip().removesuffix(signature) if signature else body

    # when / then
    assert words(strip_signature(body, sender=sender)) == words(expected)


@pytest.mark.parametrize("path", SYNTHETIC_TEXT, ids=lambda p: p.name)
def test_synthetic_plain_replies(path: Path) -> None:
    # given a synthetic ko/pl/en reply and the new part it must show
    expected = path.with_name(path.stem + ".expected.txt").read_text(encoding="utf-8")

    # when
    stripped = strip_reply(path.read_text(encoding="utf-8"))

    # then
    assert stripped.strip() == expected.strip()


@pytest.mark.parametrize("path", SYNTHETIC_HTML, ids=lambda p: p.name)
def test_synthetic_html_replies(path: Path) -> None:
    expected = path.with_name(path.name + ".expected.txt").read_text(encoding="utf-8")
    assert words(html_text(path.read_text(encoding="utf-8"))) == words(expected)


def test_synthetic_fixtures_cover_every_client_pattern() -> None:
    names = {path.stem for path in SYNTHETIC_TEXT} | {path.name for path in SYNTHETIC_HTML}
    assert {"en_gmail_wrapped", "pl_gmail_wrapped", "ko_gmail_wrapped", "ko_naver", "ko_daum",
            "pl_outlook", "ko_outlook", "pl_apple_mail", "pl_dnia_webmail", "ko_iphone",
            "pl_iphone", "en_outlook_android", "en_signature_dashes",
            "ko_naver.html", "pl_webmail.html", "ko_outlook.html"} <= names


def test_a_reply_that_is_all_quote_comes_back_unchanged() -> None:
    text = "On Tue, Mar 5, 2024 at 2:15 PM Shop <s@shop.example> wrote:\n> Hello\n"
    assert strip_reply(text) == text


def test_content_before_the_marker_is_never_lost_to_signature_rules() -> None:
    # given a new part that is nothing but a phone footer
    text = "Sent from my iPhone\n\nOn 5 Mar 2024, at 14:15, Shop <s@shop.example> wrote:\n> Hi\n"

    # when / then: the footer is the customer's only new text, so it stays
    assert strip_reply(text) == "Sent from my iPhone"


def test_inline_answers_keep_their_quoted_context() -> None:
    text = "> Which size?\nM, please.\n> Which colour?\nBlue.\n"
    assert strip_reply(text) == text
    assert strip_reply("Hi,\n" + text) == "Hi,\n" + text.rstrip()


def test_a_customer_sentence_ending_in_wrote_is_not_a_quote_header() -> None:
    text = "On the phone you wrote:\nwe refund in 5 days.\nNothing happened since."
    assert strip_reply(text) == text


def test_forwarded_mail_keeps_the_forwarded_message() -> None:
    text = ("See below.\n\n---------- Forwarded message ---------\nFrom: Courier <c@x.example>\n"
            "Date: Tue, Mar 5, 2024\nSubject: Delivery failed\nTo: <a@example.com>\n\nFailed.")
    assert strip_reply(text) == text


def test_thunderbird_forward_headers_are_not_taken_for_a_reply_header() -> None:
    # given a forward whose header block starts with Subject: and wraps its To: line
    text = ("\n-------- Forwarded Message --------\nSubject: \tZmiana\n"
            "Date: \tThu, 9 Jan 2020 16:24:28 +0100\nFrom: \tNikola <n@example.cz>\n"
            "To: \tJohn <j@example.cz>, Jiří\n<jiri@example.cz>\n\nAhoj Johne,\nprosím o změnu.\n")

    # when / then: nothing is cut
    assert strip_reply(text) == text.strip()


def test_signature_names_the_sender_only_in_a_short_closing_block() -> None:
    text = "Where is my parcel?\n\nBest regards,\nJan Kowalski"
    assert strip_reply(text, sender="Jan Kowalski <jan@example.pl>") == "Where is my parcel?"
    assert strip_reply("Jan here. Where is my parcel?", sender="Jan <jan@example.pl>") == (
        "Jan here. Where is my parcel?")


def test_carriage_returns_are_understood() -> None:
    text = "Hello\r\n\r\nOn Mon, Apr 2, 2012 at 6:26 PM, Megan <m@x.example> wrote:\r\n> Hi\r\n"
    assert strip_reply(text) == "Hello"


def test_html_without_a_recognisable_quote_gives_none() -> None:
    assert strip_reply_html("<p>Hello, where is my parcel?</p>") is None
    assert strip_reply_html("") is None


def test_html_that_is_all_quote_gives_none() -> None:
    html = '<div class="gmail_quote">On Mon, 1 Jan 2024 at 10:00, A &lt;a@x&gt; wrote:</div>'
    assert strip_reply_html(html) is None


def test_html_inline_blockquote_followed_by_an_answer_is_kept() -> None:
    html = "<p>About this:</p><blockquote>Returns within 30 days.</blockquote><p>Is it 30?</p>"
    assert strip_reply_html(html) is None


def test_html_cut_closes_the_elements_it_leaves_open() -> None:
    html = ('<html><body><div><p>Thanks!</p><div class="gmail_quote">On Mon, 1 Jan 2024 at 10:00'
            ' A &lt;a@x.example&gt; wrote:<blockquote>q</blockquote></div></div></body></html>')
    assert strip_reply_html(html) == "<html><body><div><p>Thanks!</p></div></body></html>"


def test_html_gmail_forward_is_not_a_quote() -> None:
    html = ('<div>FYI</div><div class="gmail_quote"><div class="gmail_attr">---------- Forwarded '
            "message ---------<br>From: Courier</div><div>Parcel lost</div></div>")
    assert strip_reply_html(html) is None


def test_defused_markup_keeps_offsets_and_blanks_unterminated_constructs() -> None:
    # given markup with an unterminated comment, tag and quote
    html = "<p class='a'>ok</p><!-- never closed <a href='x <b"

    # when
    defused = _defused(html)

    # then: same length, well-formed parts untouched, every unterminated "<" turned into text
    assert len(defused) == len(html)
    assert defused.startswith("<p class='a'>ok</p>")
    assert "<!--" not in defused
    assert "<a" not in defused
    assert "<b" not in defused


def test_hostile_markup_is_handled_without_error() -> None:
    hostile = "<<<!-- <a href='" * 2000 + "&#" * 2000 + "<![CDATA[" + "<a " * 2000
    assert strip_reply_html(hostile) is None
    assert strip_reply_html("x" + "<blockquote>" * 3000) == "x"


@given(st.text())
def test_strip_reply_returns_a_slice_of_its_input_and_never_empties_it(text: str) -> None:
    stripped = strip_reply(text, sender="Anna Smith <anna@example.com>")
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    assert stripped == text or stripped in normalised
    if text.strip():
        assert stripped.strip()


@given(st.text(alphabet=st.sampled_from(list("<>!-/'\"=a b&#;[]?x\n"))))
def test_strip_reply_html_never_raises(html: str) -> None:
    result = strip_reply_html(html)
    assert result is None or isinstance(result, str)
