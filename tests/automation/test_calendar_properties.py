"""Properties of business-time arithmetic over random calendars, zones and instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sellerdesk.automation.calendars import (
    WEEKDAYS,
    BusinessCalendar,
    Holiday,
    add_business_time,
    business_time_between,
    is_open,
)

ZONES = ("Europe/Warsaw", "Asia/Seoul", "America/New_York", "Australia/Lord_Howe",
         "America/Santiago", "UTC")
EPSILON = timedelta(microseconds=1)


@st.composite
def day_hours(draw: st.DrawFn) -> tuple[tuple[int, int], ...]:
    """0-3 sorted, non-overlapping intervals on a 15-minute grid (end may be 24:00)."""
    marks = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))
    if len(marks) % 2:
        marks = marks[:-1]
    return tuple((marks[i] * 15, marks[i + 1] * 15) for i in range(0, len(marks), 2))


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    weekly = tuple(draw(day_hours()) for _ in WEEKDAYS)
    if not any(weekly):
        weekly = (((9 * 60, 17 * 60),), *weekly[1:])
    days = draw(st.sets(st.dates(date(2025, 1, 1), date(2027, 12, 31)), max_size=8))
    holidays = tuple(Holiday(d, "", draw(day_hours())) for d in sorted(days))
    return BusinessCalendar(draw(st.sampled_from(ZONES)), weekly, holidays)


instants = st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31),  # noqa: DTZ001
                        timezones=st.just(UTC))
durations = st.timedeltas(EPSILON, timedelta(hours=120))

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(calendars(), instants, durations)
def test_adding_then_measuring_gives_the_duration_back(cal: BusinessCalendar, start: datetime,
                                                       duration: timedelta) -> None:
    due = add_business_time(start, duration, cal)

    assert business_time_between(start, due, cal) == duration


@SETTINGS
@given(calendars(), instants, durations)
def test_a_due_time_ends_open_time(cal: BusinessCalendar, start: datetime,
                                   duration: timedelta) -> None:
    due = add_business_time(start, duration, cal)

    assert due > start
    assert is_open(due - EPSILON, cal)


@SETTINGS
@given(calendars(), instants, instants, durations)
def test_a_later_start_is_never_due_earlier(cal: BusinessCalendar, a: datetime, b: datetime,
                                            duration: timedelta) -> None:
    early, late = sorted((a, b))

    assert add_business_time(early, duration, cal) <= add_business_time(late, duration, cal)


@SETTINGS
@given(calendars(), instants, st.timedeltas(timedelta(0), timedelta(days=20)),
       st.timedeltas(timedelta(0), timedelta(days=20)))
def test_measuring_adds_up_across_any_split(cal: BusinessCalendar, a: datetime,
                                            first: timedelta, second: timedelta) -> None:
    b, c = a + first, a + first + second

    whole = business_time_between(a, c, cal)

    assert whole == business_time_between(a, b, cal) + business_time_between(b, c, cal)
    assert timedelta(0) <= whole <= c - a
