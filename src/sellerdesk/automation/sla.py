"""The SLA engine: which policy applies to a ticket, and how each target's clock runs.

Pure: no database, no clock. Callers pass the instants (`at`, `now`) and the calendar.

A target (first response, next response, resolution) counts clock time toward a goal: open
time on the policy's calendar for business-hours targets, every second for calendar-time
ones. `elapsed` is the clock time counted up to `checkpoint`; while the target runs, more is
counted from there. Pausing adds the running span to `elapsed` and stops; resuming restarts
from the resume instant, so the paused span never counts. Changing a target's goal or calendar
keeps `elapsed` and recomputes the due time from the change onward.

Customer segment: customers carry no segment field yet, so the segment a policy can match is
the customer's language (`customer_languages`), set from their first message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from sellerdesk.automation.calendars import (
    MAX_DAYS,
    ZERO,
    BusinessCalendar,
    add_business_time,
    business_time_between,
)


class TargetKind(StrEnum):
    FIRST_RESPONSE = "first_response"  # the first agent reply after the ticket opens
    NEXT_RESPONSE = "next_response"  # an agent reply after each new customer message
    RESOLUTION = "resolution"  # the ticket solved


class TargetState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"


class SlaEvent(StrEnum):
    WARNING = "sla.warning"
    BREACHED = "sla.breached"


DEFAULT_PAUSE_ON = ("pending", "on_hold")
PAUSABLE_STATUSES = ("pending", "on_hold")
CONDITION_KEYS = ("channel_types", "marketplaces", "priorities", "tags", "customer_languages")


# --- policies ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What a policy's conditions look at."""

    channel_type: str
    marketplace: str | None
    priority: str
    tags: frozenset[str]
    customer_language: str | None


@dataclass(frozen=True, slots=True)
class Conditions:
    """Every listed key must match; within a key, any listed value. Nothing listed: any ticket."""

    channel_types: frozenset[str] = frozenset()
    marketplaces: frozenset[str] = frozenset()
    priorities: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    customer_languages: frozenset[str] = frozenset()

    def matches(self, facts: TicketFacts) -> bool:
        return (
            _any(self.channel_types, facts.channel_type)
            and _any(self.marketplaces, facts.marketplace)
            and _any(self.priorities, facts.priority)
            and (not self.tags or bool(self.tags & facts.tags))
            and _any(self.customer_languages, facts.customer_language)
        )


def _any(allowed: frozenset[str], value: str | None) -> bool:
    return not allowed or (value is not None and value in allowed)


@dataclass(frozen=True, slots=True)
class Goal:
    """One target of a policy: so much clock time, on the policy's calendar or around the clock."""

    minutes: int
    business_hours: bool


@dataclass(frozen=True, slots=True)
class Warning:
    """When to warn: at `percent` of the goal, or `minutes_before` it (in the target's clock)."""

    percent: int | None = 80
    minutes_before: int | None = None

    def after(self, goal: timedelta) -> timedelta | None:
        """Clock time after which the warning is due; None when it would come at the breach."""
        if self.minutes_before is not None:
            at = goal - timedelta(minutes=self.minutes_before)
        elif self.percent is not None:
            at = timedelta(seconds=round(goal.total_seconds() * self.percent / 100))
        else:
            return None
        return max(at, ZERO) if at < goal else None


@dataclass(frozen=True, slots=True)
class Policy:
    id: int
    name: str
    conditions: Conditions
    goals: dict[TargetKind, Goal]
    pause_on: frozenset[str]
    warning: Warning
    calendar_id: int | None


@dataclass(frozen=True, slots=True)
class Terms:
    """What a policy asks of one target kind."""

    goal: timedelta
    warn_after: timedelta | None
    calendar_id: int | None  # None: calendar time (24/7)


def terms(policy: Policy, kind: TargetKind) -> Terms | None:
    goal = policy.goals.get(kind)
    if goal is None:
        return None
    duration = timedelta(minutes=goal.minutes)
    return Terms(duration, policy.warning.after(duration),
                 policy.calendar_id if goal.business_hours else None)


def match_policy(policies: Sequence[Policy], facts: TicketFacts) -> Policy | None:
    """The first policy, in order, whose conditions match."""
    return next((p for p in policies if p.conditions.matches(facts)), None)


# --- target clocks -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Clock:
    """How time is counted for one target: a calendar's open hours, or all of it (None)."""

    calendar: BusinessCalendar | None = None

    def add(self, start: datetime, duration: timedelta) -> datetime:
        if self.calendar is None:
            return start + duration
        try:
            return add_business_time(start, duration, self.calendar)
        except ValueError:
            # More open time than the calendar has in MAX_DAYS (a year-long goal on an hour a
            # week): due at the end of that horizon rather than a failed job.
            return start + timedelta(days=MAX_DAYS)

    def between(self, a: datetime, b: datetime) -> timedelta:
        if self.calendar is None:
            return b - a
        return business_time_between(a, b, self.calendar)


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    goal: timedelta
    warn_after: timedelta | None
    calendar_id: int | None  # None: calendar time (24/7)
    started_at: datetime
    checkpoint: datetime
    elapsed: timedelta = ZERO
    running: bool = True
    paused_since: datetime | None = None
    paused: timedelta = ZERO
    due_at: datetime | None = None
    warn_at: datetime | None = None
    completed_at: datetime | None = None
    warned_at: datetime | None = None
    breached_at: datetime | None = None

    @property
    def state(self) -> TargetState:
        if self.breached_at is not None:
            return TargetState.BREACHED
        if self.completed_at is not None:
            return TargetState.MET
        if self.paused_since is not None:
            return TargetState.PAUSED
        return TargetState.ACTIVE

    @property
    def open(self) -> bool:
        """Still owed: not yet fulfilled (breached targets are owed until fulfilled)."""
        return self.completed_at is None

    @property
    def counts_toward_due(self) -> bool:
        return self.open and self.running and self.due_at is not None

    @property
    def watch(self) -> Watch | None:
        """What the sweep watches, while the clock runs toward a goal still owed."""
        if not self.open or not self.running:
            return None
        return Watch(self.due_at, self.warn_at, self.warned_at, self.breached_at)

    @property
    def next_check_at(self) -> datetime | None:
        """When the sweep must next look at this target (warning, then breach), if ever."""
        watch = self.watch
        return watch.next_check_at if watch is not None else None

    def elapsed_at(self, at: datetime, clock: Clock) -> timedelta:
        if not self.running or not self.open:
            return self.elapsed
        return self.elapsed + max(clock.between(self.checkpoint, at), ZERO)

    def remaining_at(self, at: datetime, clock: Clock) -> timedelta:
        return self.goal - self.elapsed_at(at, clock)


def start(kind: TargetKind, terms: Terms, clock: Clock, *, at: datetime) -> Target:
    """A target whose clock starts at `at`."""
    target = Target(kind=kind, goal=terms.goal, warn_after=terms.warn_after,
                    calendar_id=terms.calendar_id, started_at=at, checkpoint=at)
    return _schedule(target, clock)


def reschedule(target: Target, clock: Clock) -> Target:
    """Due and warning instants again from the checkpoint on (the calendar's hours changed)."""
    return _schedule(target, clock)


def _schedule(target: Target, clock: Clock) -> Target:
    """Due and warning instants of a running target, from its checkpoint and elapsed time."""
    if not target.running or not target.open:
        return target
    at = target.checkpoint
    due_at = target.due_at
    if target.breached_at is None:
        due_at = clock.add(at, max(target.goal - target.elapsed, ZERO))
    warn_at = None
    if (target.warn_after is not None and target.warned_at is None
            and target.breached_at is None):
        warn_at = clock.add(at, max(target.warn_after - target.elapsed, ZERO))
    return replace(target, due_at=due_at, warn_at=warn_at)


def _bring_up_to(target: Target, clock: Clock, at: datetime) -> Target:
    """Count the running span into `elapsed` so that the checkpoint is `at`."""
    at = max(at, target.checkpoint)
    if not target.running:
        return target
    return replace(target, elapsed=target.elapsed + clock.between(target.checkpoint, at),
                   checkpoint=at)


def pause(target: Target, clock: Clock, *, at: datetime) -> Target:
    if not target.open or not target.running:
        return target
    at = max(at, target.checkpoint)
    counted = _bring_up_to(target, clock, at)
    return replace(counted, running=False, paused_since=at, warn_at=None,
                   due_at=target.due_at if target.breached_at is not None else None)


def resume(target: Target, clock: Clock, *, at: datetime) -> Target:
    if not target.open or target.running or target.paused_since is None:
        return target
    at = max(at, target.paused_since)
    resumed = replace(target, running=True, checkpoint=at, paused_since=None,
                      paused=target.paused + clock.between(target.paused_since, at))
    return _schedule(resumed, clock)


def complete(target: Target, clock: Clock, *, at: datetime) -> Target:
    """Fulfil the target at `at`; a fulfilment after the due time is a breach."""
    if not target.open:
        return target
    at = max(at, target.checkpoint)
    if target.running:
        done = _bring_up_to(target, clock, at)
    else:
        since = target.paused_since or at
        done = replace(target, paused=target.paused + clock.between(since, max(at, since)))
    breached_at = target.breached_at
    if breached_at is None and done.elapsed > target.goal:
        breached_at = target.due_at if target.due_at is not None and target.due_at <= at else at
    return replace(done, running=False, paused_since=None, completed_at=at, warn_at=None,
                   breached_at=breached_at)


def reopen(target: Target, clock: Clock, *, at: datetime) -> Target:
    """A fulfilled target that is owed again (a solved ticket reopened): elapsed time kept."""
    if target.open:
        return target
    at = max(at, target.completed_at or at)
    reopened = replace(target, completed_at=None, running=True, checkpoint=at,
                       paused_since=None)
    return _schedule(reopened, clock)


def retarget(target: Target, old: Clock, new: Clock, terms: Terms, *, at: datetime) -> Target:
    """New goal or calendar from `at` on, keeping the time already counted."""
    if not target.open:
        return target
    counted = _bring_up_to(target, old, at)
    if counted.paused_since is not None:
        counted = replace(counted, paused=counted.paused
                          + old.between(counted.paused_since, max(at, counted.paused_since)),
                          paused_since=max(at, counted.paused_since))
    changed = replace(counted, goal=terms.goal, warn_after=terms.warn_after,
                      calendar_id=terms.calendar_id)
    return _schedule(changed, new)


@dataclass(frozen=True, slots=True)
class Watch:
    """The part of a running target the sweep reads and writes: warning and due times."""

    due_at: datetime | None
    warn_at: datetime | None
    warned_at: datetime | None = None
    breached_at: datetime | None = None

    @property
    def next_check_at(self) -> datetime | None:
        if self.breached_at is not None:
            return None
        if self.warned_at is None and self.warn_at is not None:
            return self.warn_at
        return self.due_at

    def event(self, now: datetime) -> SlaEvent | None:
        """What must be recorded at `now`: a breach first (its warning is moot), else a
        warning."""
        if self.breached_at is not None:
            return None
        if self.due_at is not None and self.due_at < now:  # met "within" the goal: <= due
            return SlaEvent.BREACHED
        if self.warned_at is None and self.warn_at is not None and self.warn_at <= now:
            return SlaEvent.WARNING
        return None

    def recorded(self, event: SlaEvent, now: datetime) -> Watch:
        """After recording `event` at `now`: a breach dates from the due time itself."""
        if event == SlaEvent.BREACHED:
            return replace(self, breached_at=self.due_at or now, warn_at=None)
        return replace(self, warned_at=now)


def sweep_event(target: Target, now: datetime) -> SlaEvent | None:
    """What the sweep must record for this target at `now`, if anything."""
    watch = target.watch
    return watch.event(now) if watch is not None else None


def record(target: Target, event: SlaEvent, *, now: datetime) -> Target:
    """The target after the sweep recorded `event`."""
    watch = Watch(target.due_at, target.warn_at, target.warned_at,
                  target.breached_at).recorded(event, now)
    return replace(target, warn_at=watch.warn_at, warned_at=watch.warned_at,
                   breached_at=watch.breached_at)


def earliest_due(targets: Sequence[Target]) -> datetime | None:
    """What Ticket.sla_due_at holds: the soonest due time of the running, unfulfilled targets."""
    dues = [t.due_at for t in targets if t.counts_toward_due and t.due_at is not None]
    return min(dues) if dues else None

