"""Mail loops and noise: when not to auto-reply, and a per-sender flood limit.

Two autoresponders answering each other can exchange thousands of mails in an hour; RFC 3834
headers catch the polite ones, mailing-list and bounce markers the rest, and the flood guard
stops whatever slips through.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from sellerdesk.channels.email.threading import parse_address

__all__ = ["SOFT_SIGNAL_PREFIX", "FloodGuard", "HeaderItems", "auto_reply_reason"]

# Reasons from a subject alone start with this: the mail is probably, not certainly, automatic.
SOFT_SIGNAL_PREFIX = "subject: "

_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
_SUPPRESS = frozenset({"all", "autoreply", "oof"})
_LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post")
_ROBOT_SENDER = re.compile(
    r"^(?:mailer-daemon|postmaster|no[-_.]?reply|do[-_.]?not[-_.]?reply|bounces?)(?:[+-].*)?$",
    re.IGNORECASE,
)
_OUT_OF_OFFICE = re.compile(
    r"out of (?:the )?office|automatic reply|auto[- ]?reply|autoresponse|on vacation|"
    r"away from (?:the|my) office|vacation reply|"
    r"poza biurem|odpowiedź automatyczna|automatyczna odpowiedź|nieobecność|jestem na urlopie|"
    r"자동\s?회신|자동\s?응답|부재\s?중|부재 알림|"
    r"abwesenheitsnotiz|automatische antwort|réponse automatique|absence du bureau",
    re.IGNORECASE,
)


class HeaderItems(Protocol):
    """Anything with header pairs: a Mapping[str, str] or an email.message.EmailMessage."""

    def items(self) -> Iterable[tuple[str, object]]:
        """The (name, value) pairs."""
        ...


def auto_reply_reason(headers: HeaderItems, from_address: str) -> str | None:
    """Why this mail must not get an automatic reply, or None when one is fine.

    ``headers`` is a Mapping[str, str] or a parsed message; names match case-insensitively.
    A reason naming only the subject starts with SOFT_SIGNAL_PREFIX: callers may treat it as
    a hint rather than a rule.
    """
    found = {name.casefold(): str(value).strip() for name, value in headers.items()}
    reason = _header_reason(found) or _sender_reason(found, from_address)
    if reason is not None:
        return reason
    subject = found.get("subject", "")
    match = _OUT_OF_OFFICE.search(subject)
    if match is None:
        return None
    return f"{SOFT_SIGNAL_PREFIX}looks like an out-of-office reply ({match.group(0)})"


def _header_reason(headers: Mapping[str, str]) -> str | None:
    auto_submitted = headers.get("auto-submitted")
    if auto_submitted is not None and _token(auto_submitted) not in ("", "no"):
        return f"Auto-Submitted: {auto_submitted}"
    precedence = headers.get("precedence")
    if precedence is not None and _token(precedence) in _PRECEDENCE:
        return f"Precedence: {precedence}"
    for name, label in (("x-autoreply", "X-Autoreply"), ("x-autorespond", "X-Autorespond")):
        value = headers.get(name)
        if value is not None and _token(value) not in ("no", "false", "0"):
            return f"{label}: {value}" if value else f"{label} header"
    suppress = headers.get("x-auto-response-suppress")
    if suppress is not None:
        values = {part.strip().casefold() for part in suppress.split(",")}
        if values & _SUPPRESS:
            return f"X-Auto-Response-Suppress: {suppress}"
    for name in _LIST_HEADERS:
        if name in headers:
            return f"mailing list ({name.title()} header)"
    return None


def _sender_reason(headers: Mapping[str, str], from_address: str) -> str | None:
    return_path = headers.get("return-path")
    if return_path is not None and return_path.strip("<> \t") == "":
        return "empty Return-Path (<>): a bounce or automatic notice"
    address = parse_address(from_address)[1] or from_address
    local = address.rpartition("@")[0] if "@" in address else address
    if _ROBOT_SENDER.match(local.strip()):
        return f"sender {address} is an automatic mailbox"
    return None


def _token(value: str) -> str:
    """The value's first token, lower-cased: "auto-replied; owner-email=…" -> "auto-replied"."""
    return value.split(";", 1)[0].strip().casefold()


class FloodGuard:
    """A sliding-window limit per key (store and sender): allow() is False once it is spent.

    Only allowed events count, so a sender gets at most ``limit`` replies per ``window``
    seconds. Memory is bounded: keys whose window has passed are dropped first, and past
    ``max_keys`` the least recently seen key goes.
    """

    def __init__(
        self,
        limit: int = 10,
        window: float = 600.0,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window <= 0 or max_keys < 1:
            raise ValueError("limit and max_keys must be at least 1, window above 0")
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        # SMTP handlers and IMAP workers may share one guard across threads.
        self._lock = threading.Lock()

    @staticmethod
    def key(store_id: int, sender: str) -> str:
        """The key for one sender at one store; the address is case-folded."""
        address = parse_address(sender)[1] or sender
        return f"{store_id}:{address.strip().casefold()}"

    def allow(self, key: str) -> bool:
        """True, and counted, when key is still under its limit for the current window."""
        with self._lock:
            now = self._clock()
            self._forget_expired(now)
            events = self._events.get(key)
            if events is None:
                events = self._events[key] = deque(maxlen=self.limit)
            self._events.move_to_end(key)
            if len(events) == self.limit and now - events[0] < self.window:
                return False
            events.append(now)
            while len(self._events) > self.max_keys:
                self._events.popitem(last=False)
            return True

    def __len__(self) -> int:
        """How many keys are remembered."""
        return len(self._events)

    def _forget_expired(self, now: float) -> None:
        # Keys are kept in order of last use, so expired ones gather at the front.
        while self._events:
            oldest = next(iter(self._events.values()))
            if oldest and now - oldest[-1] < self.window:
                return
            self._events.popitem(last=False)
