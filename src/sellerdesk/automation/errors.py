"""Error codes of the automation domain (calendars and SLA policies)."""

from __future__ import annotations

from enum import StrEnum


class CalendarError(StrEnum):
    NOT_FOUND = "calendar.not_found"
    NAME_TAKEN = "calendar.name_taken"
    IN_USE = "calendar.in_use"
    INVALID_TIMEZONE = "calendar.invalid_timezone"
    UNKNOWN_WEEKDAY = "calendar.unknown_weekday"
    INVALID_TIME = "calendar.invalid_time"
    INVALID_DATE = "calendar.invalid_date"
    EMPTY_INTERVAL = "calendar.empty_interval"
    OVERLAPPING_INTERVALS = "calendar.overlapping_intervals"
    NO_OPEN_HOURS = "calendar.no_open_hours"
    DUPLICATE_HOLIDAY = "calendar.duplicate_holiday"
    TOO_MANY_INTERVALS = "calendar.too_many_intervals"
    TOO_MANY_HOLIDAYS = "calendar.too_many_holidays"


class SlaError(StrEnum):
    POLICY_NOT_FOUND = "sla.policy_not_found"
    NAME_TAKEN = "sla.name_taken"
    UNKNOWN_CALENDAR = "sla.unknown_calendar"
    CALENDAR_REQUIRED = "sla.calendar_required"
    NO_TARGETS = "sla.no_targets"
    UNKNOWN_CHANNEL_TYPE = "sla.unknown_channel_type"
    INVALID_CONDITION = "sla.invalid_condition"
    INVALID_TARGET = "sla.invalid_target"
    INVALID_PAUSE_STATUS = "sla.invalid_pause_status"
    INVALID_WARNING = "sla.invalid_warning"
    ORDER_MISMATCH = "sla.order_mismatch"
    DEFAULTS_EXIST = "sla.defaults_exist"
