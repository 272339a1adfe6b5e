from enum import StrEnum


class TicketError(StrEnum):
    NOT_FOUND = "ticket.not_found"
    INVALID_TRANSITION = "ticket.invalid_transition"
    CLOSED = "ticket.closed"
    MERGE_SELF = "ticket.merge_self"
    MERGE_INVALID = "ticket.merge_invalid"
    UNKNOWN_AGENT = "ticket.unknown_agent"
    UNKNOWN_TEAM = "ticket.unknown_team"
    INVALID_TAG = "ticket.invalid_tag"
    EMPTY_MESSAGE = "ticket.empty_message"
    ATTACHMENT_NOT_FOUND = "attachment.not_found"
