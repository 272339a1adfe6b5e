"""The pure SLA engine: policy matching and target clocks, with explicit instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sellerdesk.automation import sla
from sellerdesk.automation.calendars import build_calendar
from sellerdesk.automation.policies import build_policy
from sellerdesk.core.errors import Invalid

WARSAW = ZoneInfo("Europe/Warsaw")
OFFICE = sla.Clock(build_calendar(
    timezone="Europe/Warsaw",
    hours={d: [{"start": "09:00", "end": "17:00"}] for d in ("mon", "tue", "wed", "thu", "fri")},
))
ALWAYS = sla.Clock()
H = timedelta(hours=1)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """June 2026 in Warsaw (the 1st is a Monday)."""
    return datetime(2026, 6, day, hour, minute, tzinfo=WARSAW).astimezone(UTC)


def terms(hours: float, *, business: bool = True, warn: float | None = 0.8) -> sla.Terms:
    goal = timedelta(hours=hours)
    return sla.Terms(goal, goal * warn if warn is not None else None, 1 if business else None)


def policy(policy_id: int, **conditions: list[str]) -> sla.Policy:
    return build_policy(id=policy_id, name=f"p{policy_id}", conditions=conditions,
                        targets={"first_response": {"minutes": 60}}, calendar_id=None,
                        pause_on=None, warn_percent=80, warn_minutes_before=None)


def facts(**overrides: object) -> sla.TicketFacts:
    values: dict[str, object] = {"channel_type": "email", "marketplace": None,
                                 "priority": "normal", "tags": frozenset(),
                                 "customer_language": None}
    values.update(overrides)
    return sla.TicketFacts(**values)  # type: ignore[arg-type]


# --- matching --------------------------------------------------------------------------------

def test_first_matching_policy_in_order_wins() -> None:
    policies = [
        policy(1, channel_types=["chat"]),
        policy(2, marketplaces=["amazon"], priorities=["urgent", "high"]),
        policy(3, marketplaces=["amazon"]),
        policy(4, tags=["vip", "b2b"]),
        policy(5, customer_languages=["ko"]),
        policy(6),
    ]

    def matched(**kw: object) -> int | None:
        found = sla.match_policy(policies, facts(**kw))
        return found.id if found else None

    assert matched(channel_type="chat", marketplace="amazon") == 1
    assert matched(marketplace="amazon", priority="high") == 2
    assert matched(marketplace="amazon", priority="low") == 3
    assert matched(tags=frozenset({"b2b", "invoice"})) == 4
    assert matched(customer_language="ko") == 5
    assert matched(customer_language="pl") == 6
    assert sla.match_policy(policies[:5], facts()) is None


def test_conditions_are_normalised_and_checked() -> None:
    p = build_policy(id=1, name="x",
                     conditions={"marketplaces": [" Amazon "], "tags": ["VIP  Gold"]},
                     targets={"resolution": {"minutes": 5, "business_hours": False}},
                     calendar_id=None, pause_on=None, warn_percent=None, warn_minutes_before=None)

    assert p.conditions.marketplaces == frozenset({"amazon"})
    assert p.conditions.tags == frozenset({"vip gold"})
    assert p.warning.after(timedelta(minutes=5)) is None


@pytest.mark.parametrize(("kwargs", "code", "field"), [
    ({"conditions": {"colour": ["red"]}}, "sla.invalid_condition", "conditions.colour"),
    ({"conditions": {"channel_types": ["fax"]}}, "sla.unknown_channel_type",
     "conditions.channel_types.0"),
    ({"conditions": {"priorities": ["normal", "asap"]}}, "sla.invalid_condition",
     "conditions.priorities.1"),
    ({"conditions": {"tags": "vip"}}, "sla.invalid_condition", "conditions.tags"),
    ({"targets": {}}, "sla.no_targets", "targets"),
    ({"targets": {"first_reply": {"minutes": 5}}}, "sla.invalid_target", "targets.first_reply"),
    ({"targets": {"resolution": {"minutes": -5}}}, "sla.invalid_target",
     "targets.resolution.minutes"),
    ({"targets": {"resolution": {"minutes": 0}}}, "sla.invalid_target",
     "targets.resolution.minutes"),
    ({"targets": {"resolution": {"minutes": 60, "business_hours": True}}},
     "sla.calendar_required", "calendar_id"),
    ({"pause_on": ["solved"]}, "sla.invalid_pause_status", "pause_on.0"),
    ({"warn_minutes_before": 10}, "sla.invalid_warning", "warning"),
    ({"warn_percent": 100}, "sla.invalid_warning", "warning.percent"),
])
def test_bad_policies_are_refused_naming_the_field(kwargs: dict[str, object], code: str,
                                                   field: str) -> None:
    values: dict[str, object] = {
        "id": 1, "name": "x", "conditions": {}, "targets": {"first_response": {"minutes": 60}},
        "calendar_id": None, "pause_on": None, "warn_percent": 80, "warn_minutes_before": None,
    }
    values.update(kwargs)

    with pytest.raises(Invalid) as refused:
        build_policy(**values)  # type: ignore[arg-type]

    assert (refused.value.code, refused.value.field) == (code, field)


def test_warning_thresholds() -> None:
    hour = timedelta(hours=1)

    assert sla.Warning(percent=80).after(hour) == timedelta(minutes=48)
    assert sla.Warning(percent=None, minutes_before=10).after(hour) == timedelta(minutes=50)
    assert sla.Warning(percent=None, minutes_before=90).after(hour) == timedelta(0)
    assert sla.Warning(percent=None).after(hour) is None


# --- clocks ----------------------------------------------------------------------------------

def test_business_target_due_and_warning_on_the_calendar() -> None:
    target = sla.start(sla.TargetKind.FIRST_RESPONSE, terms(4), OFFICE, at=at(5, 15))

    # Friday 15:00 + 4 business hours: 2 on Friday, 2 on Monday; warning at 3.2 h
    assert target.due_at == at(8, 11)
    assert target.warn_at == at(8, 10, 12)
    assert target.next_check_at == target.warn_at
    assert target.state == sla.TargetState.ACTIVE


def test_pause_excludes_the_paused_business_time() -> None:
    started = sla.start(sla.TargetKind.RESOLUTION, terms(4), OFFICE, at=at(1, 9))

    paused = sla.pause(started, OFFICE, at=at(1, 10))
    resumed = sla.resume(paused, OFFICE, at=at(2, 10))

    assert paused.state == sla.TargetState.PAUSED
    assert (paused.due_at, paused.next_check_at, paused.elapsed) == (None, None, H)
    # paused Monday 10-17 and Tuesday 9-10: 8 business hours, none of which count
    assert resumed.paused == 8 * H
    assert resumed.elapsed == H
    assert resumed.due_at == at(2, 13)
    assert sla.earliest_due([paused]) is None
    assert sla.earliest_due([resumed]) == at(2, 13)


def test_pause_in_calendar_time_shifts_by_the_wall_clock_span() -> None:
    started = sla.start(sla.TargetKind.FIRST_RESPONSE, terms(24, business=False), ALWAYS,
                        at=at(6, 12))

    resumed = sla.resume(sla.pause(started, ALWAYS, at=at(6, 18)), ALWAYS, at=at(7, 8))

    assert resumed.due_at == at(7, 12) + 14 * H


def test_met_on_time_and_late() -> None:
    started = sla.start(sla.TargetKind.FIRST_RESPONSE, terms(1, business=False), ALWAYS,
                        at=at(1, 9))

    on_time = sla.complete(started, ALWAYS, at=at(1, 9, 59))
    late = sla.complete(started, ALWAYS, at=at(1, 11))

    assert (on_time.state, on_time.completed_at, on_time.breached_at) == (
        sla.TargetState.MET, at(1, 9, 59), None)
    assert (late.state, late.breached_at) == (sla.TargetState.BREACHED, at(1, 10))
    assert on_time.next_check_at is None
    assert sla.complete(on_time, ALWAYS, at=at(1, 12)) is on_time


def test_sweep_warns_then_breaches_once() -> None:
    target = sla.start(sla.TargetKind.FIRST_RESPONSE, terms(1, business=False), ALWAYS,
                       at=at(1, 9))

    assert sla.sweep_event(target, at(1, 9, 47)) is None
    assert sla.sweep_event(target, at(1, 9, 48)) == sla.SlaEvent.WARNING
    warned = sla.record(target, sla.SlaEvent.WARNING, now=at(1, 9, 50))
    assert (warned.warned_at, warned.next_check_at) == (at(1, 9, 50), at(1, 10))
    assert sla.sweep_event(warned, at(1, 9, 55)) is None
    assert sla.sweep_event(warned, at(1, 10, 5)) == sla.SlaEvent.BREACHED
    breached = sla.record(warned, sla.SlaEvent.BREACHED, now=at(1, 10, 5))
    assert (breached.state, breached.breached_at, breached.next_check_at) == (
        sla.TargetState.BREACHED, at(1, 10), None)
    assert sla.sweep_event(breached, at(1, 12)) is None
    # still owed: it keeps the ticket at the top of the inbox until fulfilled
    assert sla.earliest_due([breached]) == at(1, 10)


def test_a_breach_found_late_skips_the_warning() -> None:
    target = sla.start(sla.TargetKind.FIRST_RESPONSE, terms(1, business=False), ALWAYS,
                       at=at(1, 9))

    assert sla.sweep_event(target, at(1, 13)) == sla.SlaEvent.BREACHED


def test_retarget_keeps_elapsed_time() -> None:
    started = sla.start(sla.TargetKind.FIRST_RESPONSE, terms(4), OFFICE, at=at(1, 9))

    tighter = sla.retarget(started, OFFICE, ALWAYS, terms(1, business=False), at=at(1, 11))
    looser = sla.retarget(started, OFFICE, OFFICE, terms(8), at=at(1, 11))

    assert tighter.elapsed == 2 * H
    assert tighter.due_at == at(1, 11)  # already over the new goal: due now
    assert tighter.calendar_id is None
    assert looser.due_at == at(1, 17)
    assert looser.warn_at == at(1, 15, 24)


def test_reopen_continues_the_resolution_clock() -> None:
    started = sla.start(sla.TargetKind.RESOLUTION, terms(4), OFFICE, at=at(1, 9))
    solved = sla.complete(started, OFFICE, at=at(1, 10))

    reopened = sla.reopen(solved, OFFICE, at=at(2, 9))

    assert (reopened.state, reopened.elapsed, reopened.due_at) == (
        sla.TargetState.ACTIVE, H, at(2, 12))


def test_exactly_at_the_due_time_is_still_within_the_goal() -> None:
    target = sla.start(sla.TargetKind.FIRST_RESPONSE, terms(1, business=False), ALWAYS,
                       at=at(1, 9))
    warned = sla.record(target, sla.SlaEvent.WARNING, now=at(1, 9, 50))

    assert sla.complete(target, ALWAYS, at=at(1, 10)).state == sla.TargetState.MET
    assert sla.sweep_event(warned, at(1, 10)) is None
    assert sla.sweep_event(warned, at(1, 10) + timedelta(microseconds=1)) == (
        sla.SlaEvent.BREACHED)
