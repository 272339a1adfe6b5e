"""When not to auto-reply, and the per-sender flood guard."""

from __future__ import annotations

from email import message_from_string, policy

import pytest

from sellerdesk.channels.email.loops import SOFT_SIGNAL_PREFIX, FloodGuard, auto_reply_reason

CUSTOMER = "Anna Smith <anna@example.com>"


@pytest.mark.parametrize(("name", "value"), [
    ("Auto-Submitted", "auto-replied"),
    ("auto-submitted", "auto-generated"),
    ("AUTO-SUBMITTED", "auto-notified; owner-email=x@example.com"),
    ("Precedence", "bulk"),
    ("precedence", "Junk"),
    ("PRECEDENCE", "list"),
    ("Precedence", "auto_reply"),
    ("X-Autoreply", "yes"),
    ("x-autoreply", ""),
    ("X-AUTORESPOND", "1"),
    ("X-Auto-Response-Suppress", "All"),
    ("x-auto-response-suppress", "DR, AutoReply"),
    ("X-Auto-Response-Suppress", "OOF"),
    ("List-Id", "<news.shop.example>"),
    ("list-unsubscribe", "<mailto:leave@x.example>"),
    ("LIST-POST", "<mailto:list@x.example>"),
    ("Return-Path", "<>"),
    ("return-path", " < > "),
])
def test_headers_that_forbid_an_automatic_reply(name: str, value: str) -> None:
    # given one header that marks the mail as automatic or bulk, in any letter case
    headers = {"Subject": "Hello", name: value}

    # when
    reason = auto_reply_reason(headers, CUSTOMER)

    # then: a hard reason that names the header
    assert reason is not None
    assert not reason.startswith(SOFT_SIGNAL_PREFIX)
    assert name.casefold().split("-")[-1] in reason.casefold() or "<>" in reason


@pytest.mark.parametrize(("name", "value"), [
    ("Auto-Submitted", "no"),
    ("Auto-Submitted", "No "),
    ("Precedence", "normal"),
    ("Precedence", "first-class"),
    ("X-Autoreply", "no"),
    ("X-Auto-Response-Suppress", "DR, RN, NRN"),
    ("Return-Path", "<anna@example.com>"),
])
def test_headers_that_allow_an_automatic_reply(name: str, value: str) -> None:
    assert auto_reply_reason({name: value, "Subject": "Where is my parcel?"}, CUSTOMER) is None


@pytest.mark.parametrize("sender", [
    "MAILER-DAEMON@mx.example.com",
    "Mail Delivery System <mailer-daemon@mx.example.com>",
    "postmaster@shop.example",
    "noreply@courier.example",
    "no-reply@courier.example",
    "No_Reply+orders@courier.example",
    "donotreply@bank.example",
    "do-not-reply@bank.example",
    "bounces+123@lists.example",
])
def test_robot_senders(sender: str) -> None:
    reason = auto_reply_reason({}, sender)
    assert reason is not None
    assert "automatic mailbox" in reason


@pytest.mark.parametrize("sender", ["noreen@example.com", "replyto@example.com", "post@x.pl"])
def test_people_whose_names_look_like_robots_are_not(sender: str) -> None:
    assert auto_reply_reason({}, sender) is None


@pytest.mark.parametrize("subject", [
    "Out of Office: Where is my parcel?",
    "Automatic reply: Order 123",
    "Autoreply: your message",
    "Poza biurem: Zamówienie 1234",
    "Odpowiedź automatyczna: paczka",
    "자동 회신: 배송 문의",
    "[부재중] 휴가 중입니다",
])
def test_out_of_office_subjects_are_a_soft_signal(subject: str) -> None:
    reason = auto_reply_reason({"SUBJECT": subject}, CUSTOMER)
    assert reason is not None
    assert reason.startswith(SOFT_SIGNAL_PREFIX)


def test_a_hostile_from_header_does_not_crash() -> None:
    assert auto_reply_reason({}, "x: " * 5000 + "noreply@x.example") is not None
    assert FloodGuard.key(1, "x: " * 5000 + "A@X.example") == "1:a@x.example"


def test_ordinary_customer_mail_may_be_answered() -> None:
    headers = {"From": CUSTOMER, "Subject": "Re: Where is my parcel?", "Precedence": "normal"}
    assert auto_reply_reason(headers, CUSTOMER) is None


def test_an_email_message_works_as_the_header_mapping() -> None:
    message = message_from_string(
        "From: a@example.com\nAuto-Submitted: auto-replied\nSubject: x\n\nbody",
        policy=policy.default)
    assert auto_reply_reason(message, "a@example.com") == "Auto-Submitted: auto-replied"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_flood_guard_allows_the_limit_then_refuses_within_the_window() -> None:
    # given a guard of 3 per 60 seconds
    clock = FakeClock()
    guard = FloodGuard(limit=3, window=60.0, clock=clock)

    # when a sender writes five times in a burst
    results = [guard.allow("1:bot@example.com") for _ in range(5)]

    # then
    assert results == [True, True, True, False, False]
    assert guard.allow("1:other@example.com")


def test_flood_guard_window_slides() -> None:
    clock = FakeClock()
    guard = FloodGuard(limit=2, window=60.0, clock=clock)
    assert guard.allow("k")
    clock.now += 30
    assert guard.allow("k")
    clock.now += 29
    assert not guard.allow("k")
    clock.now += 1  # the first event is now 60 seconds old
    assert guard.allow("k")
    assert not guard.allow("k")


def test_flood_guard_stops_two_autoresponders_ping_ponging() -> None:
    # given the default limit (10 per 10 minutes) and a peer answering every second
    clock = FakeClock()
    guard = FloodGuard(clock=clock)

    # when an hour of ping-pong goes by
    sent = 0
    for _ in range(3600):
        sent += guard.allow(FloodGuard.key(1, "Autoresponder <auto@peer.example>"))
        clock.now += 1

    # then at most 10 replies per 10 minutes went out
    assert sent == 60


def test_flood_guard_forgets_expired_keys_and_bounds_memory() -> None:
    clock = FakeClock()
    guard = FloodGuard(limit=1, window=10.0, max_keys=100, clock=clock)
    for number in range(1000):
        guard.allow(f"1:sender{number}@example.com")
    assert len(guard) == 100
    clock.now += 10
    guard.allow("1:new@example.com")
    assert len(guard) == 1


def test_flood_guard_key_is_per_store_and_case_insensitive() -> None:
    assert FloodGuard.key(7, "Anna <Anna@Example.COM>") == "7:anna@example.com"
    assert FloodGuard.key(8, "anna@example.com") != FloodGuard.key(7, "anna@example.com")


@pytest.mark.parametrize("arguments", [{"limit": 0}, {"window": 0}, {"max_keys": 0}])
def test_flood_guard_rejects_nonsense_settings(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FloodGuard(**arguments)  # type: ignore[arg-type]
