"""The events rules listen to, and the chain of rules that caused an event (loop safety).

An event caused by a rule's action (a status it set) carries the ids of the rules that led to
it and how many events deep it is. A rule in the chain does not fire again for that event, and
events MAX_DEPTH deep fire no rules, so two rules that undo each other's status stop after one
round each, and no cascade runs on without end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum

MAX_DEPTH = 5


class RuleEvent(StrEnum):
    TICKET_CREATED = "ticket.created"  # the first customer message of a new ticket
    MESSAGE_RECEIVED = "message.received"  # every customer message, the first included
    STATUS_CHANGED = "status.changed"
    SLA_WARNING = "sla.warning"
    SLA_BREACHED = "sla.breached"
    SURVEY_ANSWERED = "survey.answered"  # reserved: surveys will emit it


_cause: ContextVar[tuple[tuple[int, ...], int]] = ContextVar("rule_cause", default=((), 0))


def current_cause() -> tuple[tuple[int, ...], int]:
    """The rules whose actions are running now and the depth of the event that ran them
    (((), 0) outside a rule)."""
    return _cause.get()


@contextmanager
def acting(chain: tuple[int, ...], depth: int) -> Iterator[None]:
    """Mark what runs inside as caused by the rules in `chain` (the last one acting now), for
    an event `depth` events deep."""
    token = _cause.set((chain, depth))
    try:
        yield
    finally:
        _cause.reset(token)
