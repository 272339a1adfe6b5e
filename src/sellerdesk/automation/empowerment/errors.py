"""Error codes of pre-approved actions, grants, approvals, escalation trees and walks."""

from __future__ import annotations

from enum import StrEnum


class ActionError(StrEnum):
    NOT_FOUND = "preapproved_action.not_found"
    NAME_TAKEN = "preapproved_action.name_taken"
    INVALID_KIND = "preapproved_action.invalid_kind"
    INVALID_CURRENCY = "preapproved_action.invalid_currency"
    INVALID_AMOUNT = "preapproved_action.invalid_amount"
    INVALID_LIMIT = "preapproved_action.invalid_limit"
    UNKNOWN_MACRO = "preapproved_action.unknown_macro"
    IN_USE = "preapproved_action.in_use"


class GrantError(StrEnum):
    NOT_FOUND = "grant.not_found"
    ACTION_INACTIVE = "grant.action_inactive"
    AMOUNT_REQUIRED = "grant.amount_required"
    AMOUNT_NOT_ALLOWED = "grant.amount_not_allowed"
    INVALID_AMOUNT = "grant.invalid_amount"
    MACRO_MISSING = "grant.macro_missing"
    INVALID_PERIOD = "grant.invalid_period"


class ApprovalError(StrEnum):
    NOT_FOUND = "approval.not_found"
    ALREADY_DECIDED = "approval.already_decided"
    REASON_REQUIRED = "approval.reason_required"


class TreeError(StrEnum):
    NOT_FOUND = "tree.not_found"
    NAME_TAKEN = "tree.name_taken"
    IN_USE = "tree.in_use"
    NO_NODES = "tree.no_nodes"
    TOO_MANY_NODES = "tree.too_many_nodes"
    UNKNOWN_NODE_KIND = "tree.unknown_node_kind"
    INVALID_NODE_ID = "tree.invalid_node_id"
    DUPLICATE_NODE = "tree.duplicate_node"
    MISSING_TEXT = "tree.missing_text"
    INVALID_LANGUAGE = "tree.invalid_language"
    NO_ANSWERS = "tree.no_answers"
    DUPLICATE_ANSWER = "tree.duplicate_answer"
    UNKNOWN_NEXT_NODE = "tree.unknown_next_node"
    UNEXPECTED_FIELD = "tree.unexpected_field"
    NO_ROOT = "tree.no_root"
    SEVERAL_ROOTS = "tree.several_roots"
    CYCLE = "tree.cycle"
    INVALID_OUTCOME = "tree.invalid_outcome"
    UNKNOWN_MACRO = "tree.unknown_macro"
    UNKNOWN_ACTION = "tree.unknown_action"
    UNKNOWN_TEAM = "tree.unknown_team"
    UNKNOWN_AGENT = "tree.unknown_agent"
    INACTIVE = "tree.inactive"
    DEFAULT_EXISTS = "tree.default_exists"


class WalkError(StrEnum):
    NOT_FOUND = "walk.not_found"
    FINISHED = "walk.finished"
    UNKNOWN_ANSWER = "walk.unknown_answer"
    AMOUNT_REQUIRED = "walk.amount_required"
    OUTCOME_UNAVAILABLE = "walk.outcome_unavailable"
