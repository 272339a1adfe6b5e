"""Sanitising HTML from outside, and reading it as text."""

from __future__ import annotations

import pytest

from sellerdesk.core.html import html_to_text, resolve_cid_links, sanitize


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<p>Hi<script>alert(1)</script></p>", "<p>Hi</p>"),
        ('<img src="x.png" onerror="alert(1)">', '<img src="x.png">'),
        ('<a href="javascript:alert(1)">click</a>',
         '<a rel="noopener noreferrer nofollow">click</a>'),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'),
        ('<p onclick="steal()" style="position:fixed">t</p>', "<p>t</p>"),
        ('<iframe src="https://evil.example"></iframe>ok', "ok"),
        ('<form action="https://evil.example"><input name="pw"></form>', ""),
        ("<style>body{display:none}</style><b>bold</b>", "<b>bold</b>"),
        ('<img src="data:image/png;base64,AAAA">', "<img>"),
    ],
)
def test_sanitize_removes_active_content(dirty: str, clean: str) -> None:
    assert sanitize(dirty) == clean


@pytest.mark.parametrize(
    "kept",
    [
        '<img src="cid:logo@shop.example" alt="logo">',
        '<a href="https://shop.example/o/7" rel="noopener noreferrer nofollow">order</a>',
        '<a href="mailto:help@shop.example" rel="noopener noreferrer nofollow">mail</a>',
        '<table><tbody><tr><td colspan="2">Razem</td></tr></tbody></table>',
        "<ul><li>한글</li><li>zażółć</li></ul>",
    ],
)
def test_sanitize_keeps_safe_markup(kept: str) -> None:
    assert sanitize(kept) == kept


def test_html_to_text_keeps_paragraphs_and_drops_style_and_script() -> None:
    html = (
        "<html><head><title>Mail</title><style>p { color: red }</style></head><body>"
        "<p>Dzień dobry,</p><p>paczka  nie\tdoszła &amp; nie ma numeru.</p>"
        "<script>evil()</script><div>Pozdrawiam<br>Ewa</div></body></html>"
    )

    text = html_to_text(html)

    assert text == "Dzień dobry,\n\npaczka nie doszła & nie ma numeru.\n\nPozdrawiam\nEwa"


def test_html_to_text_lists_become_dashes() -> None:
    assert html_to_text("<ul><li>one</li><li>two</li></ul>") == "- one\n\n- two"


def test_html_to_text_decodes_entities_exactly_once() -> None:
    # The page shows "AT&amp;T &lt;b&gt;", so that is the text; decoding twice would change it.
    assert html_to_text("<p>AT&amp;amp;T &amp;lt;b&amp;gt; &#54620;&#44544;</p>") == (
        "AT&amp;T &lt;b&gt; 한글"
    )


def test_html_to_text_of_plain_text_is_the_text() -> None:
    assert html_to_text("  just words  ") == "just words"


def test_html_to_text_survives_broken_markup() -> None:
    assert html_to_text("<p>unclosed <b>bold <i>and <script>x") == "unclosed bold and"


URLS = {"logo@shop.example": "/api/v1/attachments/7", "<a&b@x>": "/api/v1/attachments/8"}


@pytest.mark.parametrize(
    ("html", "resolved"),
    [
        ('<img src="cid:logo@shop.example" alt="logo">',
         '<img src="/api/v1/attachments/7" alt="logo">'),
        # the scheme and the id in any case, percent-encoded (RFC 2392), or in angle brackets
        ('<img src="CID:Logo%40Shop.Example">', '<img src="/api/v1/attachments/7">'),
        ('<img src="cid:%3Clogo@shop.example%3E">', '<img src="/api/v1/attachments/7">'),
        # an id with an entity in the sanitized attribute
        ('<img src="cid:a&amp;b@x">', '<img src="/api/v1/attachments/8">'),
        ('<a href="cid:logo@shop.example" rel="noopener">logo</a>',
         '<a href="/api/v1/attachments/7" rel="noopener">logo</a>'),
        # unknown ids and cid: in text or in other attributes stay as they are
        ('<img src="cid:missing@x">', '<img src="cid:missing@x">'),
        ('<p>see cid:logo@shop.example</p><img alt="cid:logo@shop.example">',
         '<p>see cid:logo@shop.example</p><img alt="cid:logo@shop.example">'),
    ],
)
def test_resolve_cid_links(html: str, resolved: str) -> None:
    assert resolve_cid_links(html, URLS) == resolved


def test_resolve_cid_links_escapes_the_url_and_ignores_an_empty_map() -> None:
    html = '<img src="cid:x@y">'

    assert resolve_cid_links(html, {"x@y": '/a?b=1&c="2"'}) == (
        '<img src="/a?b=1&amp;c=&quot;2&quot;">')
    assert resolve_cid_links(html, {}) == html
