"""Conditions as the engine evaluates them: every operator on a ticket snapshot, all/any
groups, the reserved intent field, business hours in the calendar's zone, and the checks that
refuse a bad condition with the path of the part at fault."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sellerdesk.automation.calendars import build_calendar
from sellerdesk.automation.rules import conditions
from sellerdesk.automation.rules.facts import ABSENT, Facts
from sellerdesk.core.errors import Invalid
from tests.rules.conftest import leaf

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday, 11:00 in Warsaw

BASE: dict[str, Any] = {
    "ticket.subject": "Zwrot zamówienia 302-5555555",
    "ticket.status": "open",
    "ticket.priority": "normal",
    "ticket.marketplace": "amazon",
    "ticket.language": "pl",
    "ticket.tags": frozenset({"vip", "shipping"}),
    "ticket.team_id": 7,
    "ticket.assignee_id": None,
    "ticket.intent": ABSENT,
    "message.text": "Dzień dobry, chciałabym ZWROTU pieniędzy za uszkodzone buty.",
    "customer.email": "Ewa.Nowak@Example.PL",
    "customer.name": "Ewa Nowak",
    "customer.language": "pl-PL",
    "channel.type": "email",
    "channel.id": 3,
    "event.previous_status": None,
    "event.sla_target": None,
}


def facts(**overrides: Any) -> Facts:
    values = dict(BASE)
    values.update({k.replace("__", "."): v for k, v in overrides.items()})
    return Facts(values, at=AT)


def matches(tree: dict[str, Any], snapshot: Facts | None = None) -> bool:
    checked = conditions.check(tree)
    return conditions.compile_tree(checked.tree)(snapshot or facts())


def one(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"all": [leaf(field, op, value)]}


@pytest.mark.parametrize(("field", "op", "value", "expected"), [
    # text: case-folded substring, any of several
    ("message.text", "contains", "zwrotu", True),
    ("message.text", "contains", ["refund", "ZWROT"], True),
    ("message.text", "contains", "refund", False),
    ("message.text", "not_contains", "refund", True),
    ("message.text", "not_contains", ["refund", "buty"], False),
    # text: words and their stems (Polish "zwrotu" → "zwrot"), not substrings of other words
    ("message.text", "mentions", "zwrot", True),
    ("message.text", "mentions", "uszkodzony but", True),
    ("message.text", "mentions", "dobr", False),
    ("ticket.subject", "equals", "zwrot ZAMÓWIENIA 302-5555555", True),
    ("ticket.subject", "not_equals", "zwrot", True),
    ("ticket.subject", "starts_with", "ZWROT", True),
    ("ticket.subject", "ends_with", "5555555", True),
    ("ticket.subject", "ends_with", "zwrot", False),
    ("customer.email", "ends_with", "@example.pl", True),
    ("customer.email", "equals", "ewa.nowak@example.pl", True),
    ("ticket.subject", "matches", r"\d{3}-\d{7}", True),
    ("ticket.subject", "matches", r"^\d", False),
    ("customer.name", "is_empty", None, False),
    ("customer.name", "is_not_empty", None, True),
    # choices
    ("ticket.status", "is", "open", True),
    ("ticket.status", "is_not", "open", False),
    ("ticket.priority", "in", ["high", "urgent"], False),
    ("ticket.priority", "not_in", ["high", "urgent"], True),
    ("channel.type", "is", "email", True),
    # keywords and languages
    ("ticket.marketplace", "is", "Amazon", True),
    ("ticket.marketplace", "in", ["ebay", "allegro"], False),
    ("ticket.marketplace", "is_empty", None, False),
    ("ticket.language", "is", "pl", True),
    ("customer.language", "is", "pl", True),
    ("customer.language", "in", ["ko", "en"], False),
    ("ticket.language", "is_not", "ko", True),
    # tags
    ("ticket.tags", "has", "vip", True),
    ("ticket.tags", "has", ["refund", "shipping"], True),
    ("ticket.tags", "has_all", ["vip", "refund"], False),
    ("ticket.tags", "has_none", ["refund"], True),
    ("ticket.tags", "is_empty", None, False),
    # ids
    ("ticket.team_id", "is", 7, True),
    ("ticket.team_id", "in", [1, 2], False),
    ("ticket.assignee_id", "is_empty", None, True),
    ("ticket.assignee_id", "is_not", 4, True),
    ("channel.id", "not_in", [3], False),
])
def test_each_operator_on_a_ticket_snapshot(field: str, op: str, value: Any,
                                            expected: bool) -> None:
    assert matches(one(field, op, value)) is expected


def test_korean_text_matches_by_substring_and_by_bigrams() -> None:
    korean = facts(message__text="주문한 상품이 아직 도착하지 않았습니다. 환불해 주세요.",
                   ticket__language="ko")

    assert matches(one("message.text", "contains", "환불"), korean) is True
    assert matches(one("message.text", "mentions", "도착"), korean) is True
    assert matches(one("message.text", "mentions", "배송"), korean) is False


def test_english_mentions_match_inflected_words() -> None:
    english = facts(message__text="I was charged twice and want my refunds.",
                    ticket__language="en")

    assert matches(one("message.text", "mentions", "refund"), english) is True
    assert matches(one("message.text", "mentions", "charge"), english) is True
    assert matches(one("message.text", "contains", "refund"), english) is True


def test_a_missing_message_matches_no_text_condition_but_negations() -> None:
    no_message = facts(message__text=None)

    assert matches(one("message.text", "contains", "zwrot"), no_message) is False
    assert matches(one("message.text", "mentions", "zwrot"), no_message) is False
    assert matches(one("message.text", "not_contains", "zwrot"), no_message) is True
    assert matches(one("message.text", "is_empty"), no_message) is True


def test_all_and_any_nest() -> None:
    tree = {"all": [
        leaf("ticket.marketplace", "is", "amazon"),
        {"any": [leaf("ticket.priority", "is", "urgent"),
                 {"all": [leaf("message.text", "mentions", "zwrot"),
                          leaf("ticket.tags", "has", "vip")]}]},
    ]}

    assert matches(tree) is True
    assert matches(tree, facts(ticket__tags=frozenset())) is False
    assert matches(tree, facts(ticket__tags=frozenset(), ticket__priority="urgent")) is True
    assert matches(tree, facts(ticket__marketplace="ebay")) is False


def test_empty_groups() -> None:
    assert matches({"all": []}) is True
    assert matches({"any": []}) is False


def test_intent_never_matches_until_tickets_have_one() -> None:
    for op, value in (("is", "refund"), ("is_not", "refund"), ("is_empty", None)):
        assert matches(one("ticket.intent", op, value)) is False
    with_intent = facts(ticket__intent="refund")
    assert matches(one("ticket.intent", "is", "Refund"), with_intent) is True
    assert matches(one("ticket.intent", "is_not", "refund"), with_intent) is False


def test_business_hours_in_the_calendars_zone() -> None:
    # given Mon-Fri 09:00-17:00 in Warsaw (UTC+1 in November)
    office = build_calendar(timezone="Europe/Warsaw",
                            hours={"mon": [{"start": "09:00", "end": "17:00"}]})
    tree = one("business_hours", "within", 5)

    def at(hour: int, minute: int = 0) -> Facts:
        return Facts(BASE, at=datetime(2026, 11, 23, hour, minute, tzinfo=UTC),
                     calendars={5: office})

    # then 08:00 UTC is 09:00 in Warsaw (open), 16:00 UTC is 17:00 (closed)
    assert matches(tree, at(7, 59)) is False
    assert matches(tree, at(8, 0)) is True
    assert matches(tree, at(15, 59)) is True
    assert matches(tree, at(16, 0)) is False
    assert matches(one("business_hours", "outside", 5), at(16, 0)) is True
    # a calendar that is gone matches neither way
    assert matches(tree, Facts(BASE, at=AT)) is False
    assert matches(one("business_hours", "outside", 5), Facts(BASE, at=AT)) is False


def test_single_values_are_stored_as_lists_and_folded() -> None:
    checked = conditions.check({"any": [leaf("ticket.tags", "has", " VIP  Client "),
                                        leaf("ticket.status", "in", "Open"),
                                        leaf("business_hours", "within", 4)]})

    assert checked.tree == {"any": [
        {"field": "ticket.tags", "op": "has", "value": ["vip client"]},
        {"field": "ticket.status", "op": "in", "value": ["open"]},
        {"field": "business_hours", "op": "within", "value": 4},
    ]}
    assert checked.refs == {"calendar": {4: "conditions.any.2.value"}}


@pytest.mark.parametrize(("tree", "code", "field"), [
    ({"all": [leaf("ticket.colour", "is", "red")]}, "rule.unknown_field",
     "conditions.all.0.field"),
    ({"all": [leaf("ticket.priority", "contains", "hi")]}, "rule.invalid_operator",
     "conditions.all.0.op"),
    ({"all": [leaf("ticket.tags", "is", "vip")]}, "rule.invalid_operator",
     "conditions.all.0.op"),
    ({"all": [leaf("ticket.priority", "is", "critical")]}, "rule.invalid_value",
     "conditions.all.0.value"),
    ({"all": [leaf("ticket.status", "in", ["open", "later"])]}, "rule.invalid_value",
     "conditions.all.0.value.1"),
    ({"any": [leaf("message.text", "matches", "(unclosed")]}, "rule.invalid_regex",
     "conditions.any.0.value"),
    ({"all": [leaf("message.text", "contains", "")]}, "rule.invalid_value",
     "conditions.all.0.value"),
    ({"all": [leaf("message.text", "mentions", "?!")]}, "rule.invalid_value",
     "conditions.all.0.value"),
    ({"all": [leaf("ticket.team_id", "is", "7")]}, "rule.invalid_value",
     "conditions.all.0.value"),
    ({"all": [leaf("ticket.team_id", "is", [1, 2])]}, "rule.invalid_value",
     "conditions.all.0.value"),
    ({"all": [{"field": "ticket.tags", "op": "is_empty", "value": "x"}]}, "rule.invalid_value",
     "conditions.all.0.value"),
    ({"all": [leaf("ticket.language", "is", "polish!")]}, "rule.invalid_value",
     "conditions.all.0.value"),
    ({"both": []}, "rule.invalid_condition", "conditions"),
    ({"all": "x"}, "rule.invalid_condition", "conditions.all"),
    ({"all": [{"field": "ticket.status", "op": "is", "value": "open", "x": 1}]},
     "rule.invalid_condition", "conditions.all.0"),
    ({"all": [{"any": [{"all": [{"any": [{"all": []}]}]}]}]}, "rule.too_complex",
     "conditions.all.0.any.0.all.0.any.0"),
    ({"any": [leaf("ticket.status", "is", "open")] * 51}, "rule.too_complex",
     "conditions.any.50"),
])
def test_bad_conditions_are_refused_with_the_path(tree: Any, code: str, field: str) -> None:
    with pytest.raises(Invalid) as refused:
        conditions.check(tree)

    assert (refused.value.code, refused.value.field) == (code, field)
    assert refused.value.message
