"""Business-hours arithmetic: weekly hours, holidays, DST in Europe/Warsaw, Asia/Seoul."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sellerdesk.automation.calendars import (
    WEEKDAYS,
    BusinessCalendar,
    add_business_time,
    build_calendar,
    business_time_between,
    is_open,
)
from sellerdesk.core.errors import Invalid

WARSAW = ZoneInfo("Europe/Warsaw")
SEOUL = ZoneInfo("Asia/Seoul")


def hours(*intervals: tuple[str, str], days: tuple[str, ...] = WEEKDAYS[:5]
          ) -> dict[str, list[dict[str, str]]]:
    return {d: [{"start": s, "end": e} for s, e in intervals] for d in days}


def local(tz: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=tz, fold=fold).astimezone(UTC)


OFFICE = build_calendar(timezone="Europe/Warsaw", hours=hours(("09:00", "17:00")))
ALWAYS_WARSAW = build_calendar(timezone="Europe/Warsaw",
                               hours=hours(("00:00", "24:00"), days=WEEKDAYS))


def night(start: str, end: str) -> BusinessCalendar:
    return build_calendar(timezone="Europe/Warsaw", hours=hours((start, end), days=("sun",)))


# --- ordinary days ---------------------------------------------------------------------------

def test_several_intervals_a_day_leave_the_lunch_break_out() -> None:
    cal = build_calendar(timezone="Europe/Warsaw",
                         hours=hours(("09:00", "12:00"), ("13:00", "17:00")))
    monday_11 = local(WARSAW, 2026, 6, 1, 11, 0)

    due = add_business_time(monday_11, timedelta(hours=2), cal)

    assert due == local(WARSAW, 2026, 6, 1, 14, 0)
    assert business_time_between(monday_11, due, cal) == timedelta(hours=2)
    assert not is_open(local(WARSAW, 2026, 6, 1, 12, 30), cal)
    assert is_open(local(WARSAW, 2026, 6, 1, 13, 0), cal)


def test_time_after_closing_carries_over_the_weekend() -> None:
    friday_16 = local(WARSAW, 2026, 6, 5, 16, 0)

    due = add_business_time(friday_16, timedelta(hours=4), OFFICE)

    assert due == local(WARSAW, 2026, 6, 8, 12, 0)


def test_a_start_outside_hours_counts_from_the_next_opening() -> None:
    saturday = local(WARSAW, 2026, 6, 6, 10, 0)

    due = add_business_time(saturday, timedelta(minutes=30), OFFICE)

    assert due == local(WARSAW, 2026, 6, 8, 9, 30)


def test_zero_duration_is_the_start_itself() -> None:
    saturday = local(WARSAW, 2026, 6, 6, 10, 0)

    assert add_business_time(saturday, timedelta(0), OFFICE) == saturday


def test_between_is_negative_backwards() -> None:
    a, b = local(WARSAW, 2026, 6, 1, 10, 0), local(WARSAW, 2026, 6, 1, 12, 0)

    assert business_time_between(b, a, OFFICE) == -timedelta(hours=2)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        add_business_time(datetime(2026, 6, 1, 10), timedelta(hours=1), OFFICE)  # noqa: DTZ001


# --- holidays --------------------------------------------------------------------------------

def test_full_and_partial_holidays() -> None:
    # given Christmas Eve open 09:00-13:00 and Christmas Day closed (both weekdays in 2026)
    cal = build_calendar(
        timezone="Europe/Warsaw", hours=hours(("09:00", "17:00")),
        holidays=[{"date": "2026-12-24", "name": "Wigilia",
                   "open": [{"start": "09:00", "end": "13:00"}]},
                  {"date": "2026-12-25", "name": "Boże Narodzenie"}],
    )
    start = local(WARSAW, 2026, 12, 24, 12, 0)

    due = add_business_time(start, timedelta(hours=4), cal)

    # 12:00-13:00 on the 24th, then (25th holiday, 26-27 weekend) 09:00-12:00 on the 28th
    assert due == local(WARSAW, 2026, 12, 28, 12, 0)
    assert due == datetime(2026, 12, 28, 11, 0, tzinfo=UTC)
    assert not is_open(local(WARSAW, 2026, 12, 24, 14, 0), cal)
    assert not is_open(local(WARSAW, 2026, 12, 25, 10, 0), cal)


# --- DST: Europe/Warsaw ----------------------------------------------------------------------

def test_warsaw_spring_forward_weekend_office_hours() -> None:
    # given Friday 27 March 2026 16:00 CET; clocks go forward on Sunday the 29th
    friday = local(WARSAW, 2026, 3, 27, 16, 0)
    assert friday == datetime(2026, 3, 27, 15, 0, tzinfo=UTC)

    due = add_business_time(friday, timedelta(hours=4), OFFICE)

    # then Monday 12:00 CEST, which is 10:00 UTC (two hours ahead now)
    assert due == datetime(2026, 3, 30, 10, 0, tzinfo=UTC)


def test_warsaw_fall_back_weekend_office_hours() -> None:
    friday = local(WARSAW, 2026, 10, 23, 16, 0)
    assert friday == datetime(2026, 10, 23, 14, 0, tzinfo=UTC)

    due = add_business_time(friday, timedelta(hours=4), OFFICE)

    # Monday 12:00 CET is 11:00 UTC
    assert due == datetime(2026, 10, 26, 11, 0, tzinfo=UTC)


def test_warsaw_dst_days_are_23_and_25_hours_long() -> None:
    spring = business_time_between(local(WARSAW, 2026, 3, 28, 12, 0),
                                   local(WARSAW, 2026, 3, 29, 12, 0), ALWAYS_WARSAW)
    autumn = business_time_between(local(WARSAW, 2026, 10, 24, 12, 0),
                                   local(WARSAW, 2026, 10, 25, 12, 0), ALWAYS_WARSAW)
    ordinary = business_time_between(local(WARSAW, 2026, 6, 6, 12, 0),
                                     local(WARSAW, 2026, 6, 7, 12, 0), ALWAYS_WARSAW)

    assert (spring, autumn, ordinary) == (timedelta(hours=23), timedelta(hours=25),
                                          timedelta(hours=24))


@pytest.mark.parametrize(("start", "end", "day", "expected"), [
    # 00:00-06:00 on the Sundays of the changes: 5 real hours in spring, 7 in autumn
    ("00:00", "06:00", date(2026, 3, 29), timedelta(hours=5)),
    ("00:00", "06:00", date(2026, 10, 25), timedelta(hours=7)),
    ("00:00", "06:00", date(2026, 3, 22), timedelta(hours=6)),
    # an interval the clock skips entirely opens nothing; one it shows twice, twice
    ("02:00", "03:00", date(2026, 3, 29), timedelta(0)),
    ("02:00", "03:00", date(2026, 10, 25), timedelta(hours=2)),
    # intervals that start or end inside the skipped hour
    ("01:00", "02:30", date(2026, 3, 29), timedelta(hours=1)),
    ("02:30", "05:00", date(2026, 3, 29), timedelta(hours=2)),
    # 02:30 is shown twice in autumn: 00:00-02:30 is open for the 2.5 h before the change
    # and again for the half hour after it, but not in between (02:30-03:00 CEST)
    ("00:00", "02:30", date(2026, 10, 25), timedelta(hours=3)),
])
def test_warsaw_night_intervals_on_dst_sundays(start: str, end: str, day: date,
                                               expected: timedelta) -> None:
    cal = night(start, end)
    midnight = datetime(day.year, day.month, day.day, tzinfo=WARSAW).astimezone(UTC)

    total = business_time_between(midnight - timedelta(hours=6),
                                  midnight + timedelta(hours=30), cal)

    assert total == expected


def test_warsaw_twice_shown_hour_is_open_both_times() -> None:
    cal = night("02:00", "03:00")
    first = local(WARSAW, 2026, 10, 25, 2, 30, fold=0)
    second = local(WARSAW, 2026, 10, 25, 2, 30, fold=1)
    between = first + timedelta(minutes=45)  # 02:15 CET: the repeated hour, second time

    assert second - first == timedelta(hours=1)
    assert is_open(first, cal)
    assert is_open(second, cal)
    assert is_open(between, cal)
    assert not is_open(local(WARSAW, 2026, 10, 25, 3, 0, fold=1), cal)


def test_warsaw_autumn_skip_of_the_repeated_half_hour() -> None:
    # 00:00-02:30: closed from 02:30 CEST until the clock shows 02:00 again
    cal = night("00:00", "02:30")
    gap_start = local(WARSAW, 2026, 10, 25, 2, 30, fold=0)

    assert not is_open(gap_start + timedelta(minutes=10), cal)
    assert is_open(gap_start + timedelta(minutes=30), cal)  # 02:00 CET
    due = add_business_time(local(WARSAW, 2026, 10, 25, 2, 0, fold=0),
                            timedelta(minutes=45), cal)
    assert due == local(WARSAW, 2026, 10, 25, 2, 15, fold=1)


# --- Asia/Seoul ------------------------------------------------------------------------------

def test_seoul_hours_cross_the_utc_date() -> None:
    cal = build_calendar(timezone="Asia/Seoul", hours=hours(("09:00", "18:00")))
    friday_17 = local(SEOUL, 2026, 3, 27, 17, 0)

    due = add_business_time(friday_17, timedelta(hours=2), cal)

    # Monday 10:00 KST is Monday 01:00 UTC; Monday's opening is Sunday 24:00 UTC
    assert due == datetime(2026, 3, 30, 1, 0, tzinfo=UTC)
    assert is_open(datetime(2026, 3, 30, 0, 0, tzinfo=UTC), cal)
    assert not is_open(datetime(2026, 3, 29, 23, 59, tzinfo=UTC), cal)


def test_seoul_is_unmoved_by_european_dst() -> None:
    cal = build_calendar(timezone="Asia/Seoul", hours=hours(("00:00", "24:00"), days=WEEKDAYS))

    total = business_time_between(local(WARSAW, 2026, 3, 28, 12, 0),
                                  local(WARSAW, 2026, 3, 29, 12, 0), cal)

    assert total == timedelta(hours=23)  # the same instants: Warsaw's day was 23 h long


# --- validation ------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "code", "field"), [
    ({"timezone": "Mars/Olympus"}, "calendar.invalid_timezone", "timezone"),
    ({"timezone": ""}, "calendar.invalid_timezone", "timezone"),
    ({"hours": {"funday": [{"start": "09:00", "end": "17:00"}]}},
     "calendar.unknown_weekday", "hours.funday"),
    ({"hours": {"mon": [{"start": "17:00", "end": "09:00"}]}},
     "calendar.empty_interval", "hours.mon.0"),
    ({"hours": {"mon": [{"start": "09:00", "end": "09:00"}]}},
     "calendar.empty_interval", "hours.mon.0"),
    ({"hours": {"mon": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "17:00"}]}},
     "calendar.overlapping_intervals", "hours.mon.1"),
    ({"hours": {"tue": [{"start": "13:00", "end": "17:00"}, {"start": "09:00", "end": "13:30"}]}},
     "calendar.overlapping_intervals", "hours.tue.1"),
    ({"hours": {"mon": [{"start": "9:00", "end": "17:00"}]}},
     "calendar.invalid_time", "hours.mon.0.start"),
    ({"hours": {"mon": [{"start": "24:00", "end": "24:00"}]}},
     "calendar.invalid_time", "hours.mon.0.start"),
    ({"hours": {"mon": [{"start": "09:00", "end": "24:30"}]}},
     "calendar.invalid_time", "hours.mon.0.end"),
    ({"hours": {"mon": []}}, "calendar.no_open_hours", "hours"),
    ({"holidays": [{"date": "2026-12-25"}, {"date": "2026-12-25"}]},
     "calendar.duplicate_holiday", "holidays.1.date"),
    ({"holidays": [{"date": "2026-12-24", "open": [{"start": "13:00", "end": "09:00"}]}]},
     "calendar.empty_interval", "holidays.0.open.0"),
    ({"holidays": [{"date": "24.12.2026"}]}, "calendar.invalid_date", "holidays.0.date"),
])
def test_bad_calendars_are_refused_naming_the_field(kwargs: dict[str, Any], code: str,
                                                    field: str) -> None:
    values: dict[str, Any] = {"timezone": "Europe/Warsaw", "hours": hours(("09:00", "17:00")),
                              "holidays": []}
    values.update(kwargs)

    with pytest.raises(Invalid) as refused:
        build_calendar(**values)

    assert (refused.value.code, refused.value.field) == (code, field)


def test_adjacent_intervals_are_not_an_overlap() -> None:
    cal = build_calendar(timezone="Europe/Warsaw",
                         hours=hours(("09:00", "12:00"), ("12:00", "17:00")))

    assert cal.weekly[0] == ((9 * 60, 12 * 60), (12 * 60, 17 * 60))
