"""Business-hours calendars: pure time arithmetic in the calendar's own time zone.

A calendar is a time zone, weekly opening hours (several intervals per weekday) and holidays
(closed all day, or open only for the hours they list). Every function takes and returns aware
UTC datetimes; the wall-clock work happens in the calendar's zone, so an interval such as
09:00-17:00 is 8 real hours on an ordinary day and 00:00-06:00 is 5 on a spring-forward day
and 7 on a fall-back day.

How a day's hours become instants: the instants whose wall clock (in the zone) shows a time
inside an interval of that date. Around a transition the day is cut into pieces of constant UTC
offset and each interval is mapped through each piece, so a time the clock skips opens nothing
and a time it shows twice is open twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sellerdesk.automation.errors import CalendarError
from sellerdesk.core.errors import Invalid

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
MAX_INTERVALS = 12  # a day's intervals (the API's limit too)
MAX_HOLIDAYS = 1000
ZERO = timedelta(0)
# add_business_time gives up after this many days without enough open time (a calendar always
# has weekly hours, so only a duration of years can get here).
MAX_DAYS = 3660
_TIME = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
# Every UTC offset in the tz database lies within these, so a wall-clock day always lies
# inside [midnight - 14 h, midnight + 36 h] read as if it were UTC.
_EARLIEST_OFFSET = timedelta(hours=-12)
_LATEST_OFFSET = timedelta(hours=14)
_CACHE_DAYS = 4096

Interval = tuple[int, int]  # minutes after local midnight: [start, end), end may be 1440
Span = tuple[datetime, datetime]  # aware UTC [start, end)


@dataclass(frozen=True, slots=True)
class Holiday:
    day: date
    name: str
    open: tuple[Interval, ...] = ()  # empty: closed all day; else the hours open that day


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str
    weekly: tuple[tuple[Interval, ...], ...]  # seven entries, Monday first
    holidays: tuple[Holiday, ...] = ()
    tz: ZoneInfo = field(init=False, repr=False, compare=False)
    _holidays: dict[date, Holiday] = field(init=False, repr=False, compare=False)
    _days: dict[date, tuple[Span, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", ZoneInfo(self.timezone))
        object.__setattr__(self, "_holidays", {h.day: h for h in self.holidays})
        object.__setattr__(self, "_days", {})

    def hours_on(self, day: date) -> tuple[Interval, ...]:
        holiday = self._holidays.get(day)
        return holiday.open if holiday is not None else self.weekly[day.weekday()]

    def open_spans(self, day: date) -> tuple[Span, ...]:
        """The UTC spans during which the calendar is open on this local date, in order."""
        spans = self._days.get(day)
        if spans is None:
            if len(self._days) > _CACHE_DAYS:
                self._days.clear()
            spans = _day_spans(self.tz, day, self.hours_on(day))
            self._days[day] = spans
        return spans


# --- the arithmetic ----------------------------------------------------------------------------

def _check_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def _local_date(at: datetime, calendar: BusinessCalendar) -> date:
    return at.astimezone(calendar.tz).date()


def _spans_from(calendar: BusinessCalendar, day: date) -> Iterator[Span]:
    for offset in range(MAX_DAYS):
        yield from calendar.open_spans(day + timedelta(days=offset))


def add_business_time(start: datetime, duration: timedelta, calendar: BusinessCalendar
                      ) -> datetime:
    """The instant at which `duration` of open time has passed since `start` (UTC).

    A zero duration gives back `start` itself, open or not; any positive duration ends inside
    an open span or exactly at its end.
    """
    _check_aware(start, "start")
    if duration < ZERO:
        raise ValueError("duration must not be negative")
    start = start.astimezone(UTC)
    if duration == ZERO:
        return start
    remaining = duration
    # The day before too: a wall clock that falls back across midnight shows yesterday's date.
    for a, b in _spans_from(calendar, _local_date(start, calendar) - timedelta(days=1)):
        if b <= start:
            continue
        begin = max(a, start)
        available = b - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
    raise ValueError(f"no {duration} of open time within {MAX_DAYS} days")


def business_time_between(a: datetime, b: datetime, calendar: BusinessCalendar) -> timedelta:
    """Open time from a to b; negative when b is before a."""
    _check_aware(a, "a")
    _check_aware(b, "b")
    a, b = a.astimezone(UTC), b.astimezone(UTC)
    if b < a:
        return -business_time_between(b, a, calendar)
    total = ZERO
    day = _local_date(a, calendar) - timedelta(days=1)
    last = _local_date(b, calendar) + timedelta(days=1)
    while day <= last:
        for start, end in calendar.open_spans(day):
            overlap = min(end, b) - max(start, a)
            if overlap > ZERO:
                total += overlap
        day += timedelta(days=1)
    return total


def is_open(at: datetime, calendar: BusinessCalendar) -> bool:
    """Whether the calendar is open at this instant."""
    _check_aware(at, "at")
    at = at.astimezone(UTC)
    day = _local_date(at, calendar)
    return any(
        start <= at < end
        for d in (day - timedelta(days=1), day)
        for start, end in calendar.open_spans(d)
    )


# --- one day -----------------------------------------------------------------------------------

def _offset(tz: ZoneInfo, at: datetime) -> timedelta:
    offset = at.astimezone(tz).utcoffset()
    if offset is None:  # never for a ZoneInfo; keeps the type exact
        raise ValueError(f"{tz} gives no UTC offset at {at}")
    return offset


def _transition(tz: ZoneInfo, lo: datetime, hi: datetime) -> datetime:
    """The first instant in (lo, hi] with hi's offset (offsets are whole seconds)."""
    target = _offset(tz, hi)
    lo_s, hi_s = int(lo.timestamp()), int(hi.timestamp())
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if _offset(tz, datetime.fromtimestamp(mid, UTC)) == target:
            hi_s = mid
        else:
            lo_s = mid
    return datetime.fromtimestamp(hi_s, UTC)


def _pieces(tz: ZoneInfo, lo: datetime, hi: datetime) -> list[tuple[datetime, datetime,
                                                                      timedelta]]:
    """[lo, hi) cut where the UTC offset changes: (start, end, offset) pieces."""
    mid = lo + (hi - lo) / 2
    first, middle, last = _offset(tz, lo), _offset(tz, mid), _offset(tz, hi)
    if first == middle == last:
        return [(lo, hi, first)]
    if first != middle:
        cut = _transition(tz, lo, mid)
        return [(lo, cut, first), *_pieces(tz, cut, hi)]
    cut = _transition(tz, mid, hi)
    return [(lo, cut, first), (cut, hi, last)]


def _day_spans(tz: ZoneInfo, day: date, hours: tuple[Interval, ...]) -> tuple[Span, ...]:
    if not hours:
        return ()
    # The wall-clock midnight of `day` read as a UTC time; instant = wall - offset.
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    lo = midnight - _LATEST_OFFSET
    hi = midnight + timedelta(days=1) - _EARLIEST_OFFSET
    spans: list[Span] = []
    for piece_start, piece_end, offset in _pieces(tz, lo, hi):
        for start, end in hours:
            a = max(midnight + timedelta(minutes=start) - offset, piece_start)
            b = min(midnight + timedelta(minutes=end) - offset, piece_end)
            if a < b:
                spans.append((a, b))
    spans.sort()
    merged: list[Span] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return tuple(merged)


# --- building and validating -------------------------------------------------------------------

def check_timezone(value: str, *, field: str = "timezone") -> ZoneInfo:
    try:
        if not value or value != value.strip():
            raise ValueError(value)
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(CalendarError.INVALID_TIMEZONE,
                      f"{value!r} is not an IANA time zone such as Europe/Warsaw",
                      field=field) from None


def parse_time(value: object, *, field: str, end: bool) -> int:
    """'HH:MM' as minutes after midnight; '24:00' only as the end of an interval."""
    match = _TIME.match(value) if isinstance(value, str) else None
    minutes = int(match.group(1)) * 60 + int(match.group(2)) if match else -1
    if not match or minutes > MINUTES_PER_DAY or (minutes == MINUTES_PER_DAY and not end):
        allowed = "00:00-24:00" if end else "00:00-23:59"
        raise Invalid(CalendarError.INVALID_TIME,
                      f"{value!r} is not a time HH:MM in {allowed}", field=field)
    return minutes


def format_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_intervals(raw: Sequence[Mapping[str, Any]], *, field: str) -> tuple[Interval, ...]:
    """Intervals of one day, sorted; refuses end <= start and overlaps, naming the interval."""
    if len(raw) > MAX_INTERVALS:
        raise Invalid(CalendarError.TOO_MANY_INTERVALS,
                      f"at most {MAX_INTERVALS} intervals a day", field=field)
    parsed: list[tuple[int, int, int]] = []
    for i, item in enumerate(raw):
        start = parse_time(item.get("start"), field=f"{field}.{i}.start", end=False)
        end = parse_time(item.get("end"), field=f"{field}.{i}.end", end=True)
        if end <= start:
            raise Invalid(CalendarError.EMPTY_INTERVAL,
                          f"an interval must end after it starts "
                          f"({format_time(start)}-{format_time(end)})", field=f"{field}.{i}")
        parsed.append((start, end, i))
    parsed.sort()
    for (prev_start, prev_end, prev_i), (start, end, i) in zip(parsed, parsed[1:],
                                                                strict=False):
        if start < prev_end:
            # Blame the one listed later: the other was there first.
            first, later = sorted((prev_i, i))
            raise Invalid(CalendarError.OVERLAPPING_INTERVALS,
                          f"{format_time(prev_start)}-{format_time(prev_end)} and "
                          f"{format_time(start)}-{format_time(end)} overlap (intervals {first} "
                          f"and {later})", field=f"{field}.{later}")
    return tuple((start, end) for start, end, _ in parsed)


def parse_weekly(raw: Mapping[str, Sequence[Mapping[str, Any]]], *, field: str = "hours"
                 ) -> tuple[tuple[Interval, ...], ...]:
    for key in raw:
        if key not in WEEKDAYS:
            raise Invalid(CalendarError.UNKNOWN_WEEKDAY,
                          f"{key!r} is not a weekday; use {', '.join(WEEKDAYS)}",
                          field=f"{field}.{key}")
    weekly = tuple(parse_intervals(raw.get(day, ()), field=f"{field}.{day}") for day in WEEKDAYS)
    if not any(weekly):
        raise Invalid(CalendarError.NO_OPEN_HOURS,
                      "a calendar needs at least one interval of opening hours", field=field)
    return weekly


def parse_holidays(raw: Sequence[Mapping[str, Any]], *, field: str = "holidays"
                   ) -> tuple[Holiday, ...]:
    if len(raw) > MAX_HOLIDAYS:
        raise Invalid(CalendarError.TOO_MANY_HOLIDAYS, f"at most {MAX_HOLIDAYS} holidays",
                      field=field)
    seen: set[date] = set()
    holidays = []
    for i, item in enumerate(raw):
        day = item.get("date")
        if isinstance(day, str):
            try:
                day = date.fromisoformat(day)
            except ValueError:
                day = None
        if not isinstance(day, date):
            raise Invalid(CalendarError.INVALID_DATE, f"{item.get('date')!r} is not a date "
                          "YYYY-MM-DD", field=f"{field}.{i}.date")
        if day in seen:
            raise Invalid(CalendarError.DUPLICATE_HOLIDAY, f"{day} is listed twice",
                          field=f"{field}.{i}.date")
        seen.add(day)
        hours = parse_intervals(item.get("open") or (), field=f"{field}.{i}.open")
        holidays.append(Holiday(day, str(item.get("name") or ""), hours))
    holidays.sort(key=lambda h: h.day)
    return tuple(holidays)


def build_calendar(*, timezone: str, hours: Mapping[str, Sequence[Mapping[str, Any]]],
                   holidays: Sequence[Mapping[str, Any]] = ()) -> BusinessCalendar:
    """A calendar from its stored or submitted form; bad input raises Invalid naming the field."""
    check_timezone(timezone)
    return BusinessCalendar(timezone, parse_weekly(hours), parse_holidays(holidays))


def weekly_json(weekly: tuple[tuple[Interval, ...], ...]) -> dict[str, list[dict[str, str]]]:
    return {
        day: [{"start": format_time(a), "end": format_time(b)} for a, b in intervals]
        for day, intervals in zip(WEEKDAYS, weekly, strict=True)
    }


def holidays_json(holidays: tuple[Holiday, ...]) -> list[dict[str, Any]]:
    return [
        {"date": h.day.isoformat(), "name": h.name,
         "open": [{"start": format_time(a), "end": format_time(b)} for a, b in h.open]}
        for h in holidays
    ]

