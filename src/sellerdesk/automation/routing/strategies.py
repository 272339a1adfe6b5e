"""How a team's mode picks one agent among those online with room: pure functions, no I/O.

Weights of a ticket in an agent's load (load-balanced and skills modes): urgent 4, high 2,
normal 1, low 1. An urgent ticket keeps an agent as busy as four routine ones; a low one is
still a conversation to hold, so it weighs as much as a normal one.

Load and capacity count the agent's tickets that wait on them: status new or open. A ticket
pending (waiting on the customer) or on hold (on a third party) takes no seat; when the
customer writes again it reopens with the same agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sellerdesk.tickets.states import Priority, Status


class Mode(StrEnum):
    MANUAL = "manual"  # routing off: tickets wait in the team's inbox for someone to take them
    ROUND_ROBIN = "round_robin"
    LOAD_BALANCED = "load_balanced"
    SKILLS = "skills"  # language, then skills, then least load


class Availability(StrEnum):
    ONLINE = "online"  # gets new tickets
    AWAY = "away"  # keeps their tickets, gets no new ones
    OFFLINE = "offline"  # gets none; live conversations are re-routed


PRIORITY_WEIGHTS: dict[str, int] = {
    Priority.URGENT: 4, Priority.HIGH: 2, Priority.NORMAL: 1, Priority.LOW: 1,
}
# The order a queue is served in: most urgent first, then oldest.
PRIORITY_RANK: dict[str, int] = {
    Priority.URGENT: 3, Priority.HIGH: 2, Priority.NORMAL: 1, Priority.LOW: 0,
}
SEAT_STATUSES: tuple[str, ...] = (Status.NEW.value, Status.OPEN.value)


def weight(priority: str) -> int:
    return PRIORITY_WEIGHTS.get(priority, 1)


@dataclass(frozen=True, slots=True)
class Candidate:
    """An online agent of the team, with their seats and load at this moment."""

    agent_id: int
    languages: frozenset[str]
    skills: frozenset[str]
    capacities: dict[str, int | None]  # channel type → seats (None: unlimited)
    load: dict[str, int]  # channel type → tickets in SEAT_STATUSES
    weighted_load: int
    last_routed_at: datetime | None

    def room_for(self, channel_type: str) -> bool:
        seats = self.capacities.get(channel_type)
        return seats is None or self.load.get(channel_type, 0) < seats

    def took(self, channel_type: str, priority: str, at: datetime) -> Candidate:
        """The same agent after one more ticket (a drain assigns several in one go)."""
        load = dict(self.load)
        load[channel_type] = load.get(channel_type, 0) + 1
        return replace(self, load=load, weighted_load=self.weighted_load + weight(priority),
                       last_routed_at=at)


@dataclass(frozen=True, slots=True)
class TicketFacts:
    channel_type: str
    priority: str
    language: str | None
    wants: frozenset[str]  # what a skill can match: the ticket's tags and marketplace


@dataclass(frozen=True, slots=True)
class Choice:
    agent_id: int
    reason: str


def _least_loaded(candidates: Sequence[Candidate]) -> Candidate:
    # Ties go to whoever got a ticket longest ago, then to the lowest id (stable).
    return min(candidates, key=lambda c: (
        c.weighted_load, c.last_routed_at.timestamp() if c.last_routed_at else 0.0, c.agent_id))


def choose(mode: Mode, candidates: Sequence[Candidate], ticket: TicketFacts,
           *, last_agent_id: int | None) -> Choice | None:
    """The agent the mode picks for the ticket, or None when nobody online has room."""
    free = sorted((c for c in candidates if c.room_for(ticket.channel_type)),
                  key=lambda c: c.agent_id)
    if not free or mode == Mode.MANUAL:
        return None
    if mode == Mode.ROUND_ROBIN:
        after = [c for c in free if last_agent_id is not None and c.agent_id > last_agent_id]
        return Choice((after or free)[0].agent_id, "next_in_rotation")
    if mode == Mode.LOAD_BALANCED:
        return Choice(_least_loaded(free).agent_id, "least_load")
    return _by_skills(free, ticket)


def _by_skills(free: Sequence[Candidate], ticket: TicketFacts) -> Choice:
    def score(c: Candidate) -> tuple[int, int]:
        speaks = int(ticket.language is not None and ticket.language in c.languages)
        return speaks, len(c.skills & ticket.wants)

    best = max(score(c) for c in free)
    agent = _least_loaded([c for c in free if score(c) == best])
    speaks, skills = best
    if ticket.language is not None and not speaks:
        reason = f"no_{ticket.language}_speaker_free"
    elif speaks:
        reason = f"speaks_{ticket.language}"
    else:
        reason = "least_load"
    if skills:
        reason += f"+{skills}_skills"
    return Choice(agent.agent_id, reason)
