"""Reply stripping measured against Mailgun talon's fixtures (../shared/data/email/talon_replies).

Usage, from the repository root:
    .venv/bin/python benchmarks/reply_stripping.py [--data PATH] [--verbose]

Groups (a match is exact equality after collapsing every run of whitespace to one space):
- standard_replies: the text/plain part of each .eml through ``strip_quotes``; expected is
  talon's "<name>_reply_text" where present, else "Hello" (talon's own test rule).
- standard_replies_full: the same through ``strip_reply``, which also drops signatures and
  "Sent from my iPhone"; talon's expectations keep those, so two misses here are by design.
- html_replies: ``strip_reply_html`` then ``html_to_text``; expected "Hi. I am fine. Thanks, Alex"
  (talon's test rule for that folder).
- signature: ``strip_signature`` over signature/emails/stripped/*_body with the *_sender file
  as sender; expected is the body without its *_signature suffix.
- standard_replies_html and extra: HTML parts of the .eml files and talon's three loose
  fixtures; talon ships no expected text for these, so the expectations are written here.

The last line printed is one JSON object with the counts and rates per group.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from sellerdesk.channels.email.quotes import (
    strip_quotes,
    strip_reply,
    strip_reply_html,
    strip_signature,
)
from sellerdesk.core.html import html_to_text

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
HTML_EXPECTED = "Hi. I am fine. Thanks, Alex"
# HTML parts of standard_replies: their reply as the HTML itself shows it.
STANDARD_HTML_EXPECTED = {
    "android": "Hello",
    "aol": "Hello",
    "comcast": "Hello",
    "gmail": "Hello",
    "hotmail": "Hello",
    "outlook": "Allo! Follow up MIME!",
    "sparrow": "Hello -- xxx Sent with Sparrow",
}
EXTRA_EXPECTED = {
    "reply-separated-by-hr.html": "Hi there Bob",
    "OLK_SRC_BODY_SECTION.html": "Reply",
}
SHARE_BLOCK_EXPECTED = (
    "Hi Katharine. Sounds great. Are there and dietry restrictions or things your husband "
    "does/doesn't like to eat? Would you like to do a few hors d oeuvres and then a 3 or 4 "
    "course dinner? Let me know what you think will work best and I will start working on a "
    "menu and proposal. Thanks so much and look forward to hearing from you soon. Joe XXX"
)


def normalise(text: str | None) -> str:
    """Whitespace-insensitive form used for every comparison."""
    return " ".join((text or "").split())


def read_message(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        message = BytesParser(policy=policy.default).parse(handle)
    assert isinstance(message, EmailMessage)
    return message


def body(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return None
    content = part.get_content()
    return content if isinstance(content, str) else None


class Group:
    """Match counts of one fixture group, with the misses kept for --verbose."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.total = 0
        self.matched = 0
        self.misses: list[tuple[str, str, str]] = []

    def check(self, case: str, got: str | None, expected: str) -> None:
        self.total += 1
        if normalise(got) == normalise(expected):
            self.matched += 1
        else:
            self.misses.append((case, normalise(got), normalise(expected)))

    def summary(self) -> dict[str, object]:
        rate = round(self.matched / self.total, 4) if self.total else None
        return {"matched": self.matched, "total": self.total, "rate": rate,
                "misses": [case for case, _, _ in self.misses]}


def standard_groups(folder: Path) -> list[Group]:
    quotes, full, html = Group("standard_replies"), Group("standard_replies_full"), Group(
        "standard_replies_html")
    for path in sorted(folder.glob("*.eml")):
        message = read_message(path)
        expected_file = path.with_name(path.stem + "_reply_text")
        expected = expected_file.read_text() if expected_file.exists() else "Hello"
        text = body(message, "plain")
        if text is not None:
            sender = str(message.get("From", ""))
            quotes.check(path.name, strip_quotes(text), expected)
            full.check(path.name, strip_reply(text, sender=sender), expected)
        markup = body(message, "html")
        if markup is not None and path.stem in STANDARD_HTML_EXPECTED:
            stripped = strip_reply_html(markup)
            html.check(path.name, html_to_text(stripped) if stripped else None,
                       STANDARD_HTML_EXPECTED[path.stem])
    return [quotes, full, html]


def html_group(folder: Path) -> Group:
    group = Group("html_replies")
    for path in sorted(folder.glob("*.html")):
        stripped = strip_reply_html(path.read_text(encoding="utf-8"))
        group.check(path.name, html_to_text(stripped) if stripped else None, HTML_EXPECTED)
    return group


def signature_group(folder: Path) -> Group:
    group = Group("signature")
    for path in sorted(folder.glob("*_body")):
        stem = path.name[: -len("_body")]
        sender_file, signature_file = folder / f"{stem}_sender", folder / f"{stem}_signature"
        text = path.read_text(encoding="utf-8")
        sender = sender_file.read_text(encoding="utf-8").strip() if sender_file.exists() else ""
        signature = signature_file.read_text(encoding="utf-8").strip()
        expected = text.strip()
        if signature and expected.endswith(signature):
            expected = expected[: -len(signature)]
        group.check(path.name, strip_signature(text, sender=sender or None), expected)
    return group


def extra_group(root: Path) -> Group:
    group = Group("extra")
    for name, expected in EXTRA_EXPECTED.items():
        stripped = strip_reply_html((root / name).read_text(encoding="utf-8"))
        group.check(name, html_to_text(stripped) if stripped else None, expected)
    share = root / "reply-quotations-share-block.eml"
    text = body(read_message(share), "plain")
    group.check(share.name, strip_quotes(text or ""), SHARE_BLOCK_EXPECTED)
    return group


def timed(run: Callable[[], list[Group]]) -> tuple[list[Group], float]:
    started = time.perf_counter()
    groups = run()
    return groups, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="the shared data folder (default: ../shared/data)")
    parser.add_argument("--verbose", action="store_true", help="print every miss")
    args = parser.parse_args()
    root = args.data / "email" / "talon_replies" / "fixtures"
    if not root.is_dir():
        print(f"talon fixtures not found at {root}: pass --data PATH to the shared data folder",
              file=sys.stderr)
        print(json.dumps({"benchmark": "reply_stripping", "error": "data folder absent",
                          "path": str(root)}))
        return 2

    def run() -> list[Group]:
        return [
            *standard_groups(root / "standard_replies"),
            html_group(root / "html_replies"),
            signature_group(root / "signature" / "emails" / "stripped"),
            extra_group(root),
        ]

    groups, seconds = timed(run)
    for group in groups:
        print(f"{group.name:24} {group.matched:3}/{group.total:<3}")
        if args.verbose:
            for case, got, expected in group.misses:
                print(f"  MISS {case}\n    got:      {got!r}\n    expected: {expected!r}")
    talon_names = {"standard_replies", "html_replies", "signature"}
    talon_groups = [group for group in groups if group.name in talon_names]
    matched = sum(g.matched for g in talon_groups)
    total = sum(g.total for g in talon_groups)
    print(json.dumps({
        "benchmark": "reply_stripping",
        "data": str(root),
        "groups": {group.name: group.summary() for group in groups},
        "talon_expected_total": {"matched": matched, "total": total,
                                 "rate": round(matched / total, 4) if total else None},
        "seconds": round(seconds, 3),
    }, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
