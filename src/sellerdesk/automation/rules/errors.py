"""Error codes of rules."""

from __future__ import annotations

from enum import StrEnum


class RuleError(StrEnum):
    NOT_FOUND = "rule.not_found"
    NAME_TAKEN = "rule.name_taken"
    NO_EVENTS = "rule.no_events"
    UNKNOWN_EVENT = "rule.unknown_event"
    INVALID_CONDITION = "rule.invalid_condition"
    UNKNOWN_FIELD = "rule.unknown_field"
    INVALID_OPERATOR = "rule.invalid_operator"
    INVALID_VALUE = "rule.invalid_value"
    INVALID_REGEX = "rule.invalid_regex"
    TOO_COMPLEX = "rule.too_complex"
    NO_ACTIONS = "rule.no_actions"
    UNKNOWN_ACTION = "rule.unknown_action"
    INVALID_ACTION = "rule.invalid_action"
    DUPLICATE_ACTION = "rule.duplicate_action"
    UNKNOWN_TEAM = "rule.unknown_team"
    UNKNOWN_AGENT = "rule.unknown_agent"
    UNKNOWN_MACRO = "rule.unknown_macro"
    UNKNOWN_CHANNEL = "rule.unknown_channel"
    UNKNOWN_CALENDAR = "rule.unknown_calendar"
    INVALID_TEMPLATE = "rule.invalid_template"
    ORDER_MISMATCH = "rule.order_mismatch"
