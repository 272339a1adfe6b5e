"""API shapes of calendars, SLA policies and a ticket's SLA state."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sellerdesk.automation.sla import TargetKind, TargetState
from sellerdesk.core.ids import Id
from sellerdesk.tickets.states import Priority

Name = Field(min_length=1, max_length=100)
PauseStatus = Literal["pending", "on_hold"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IntervalIO(_In):
    """Open from `start` to `end`, wall-clock time "HH:MM" in the calendar's zone."""

    start: str = Field(max_length=5, examples=["09:00"])
    end: str = Field(max_length=5, examples=["17:00"])


class HolidayIO(_In):
    """Closed all day, or, when `open` lists hours, open only then (a half day)."""

    date: dt.date
    name: str = Field(default="", max_length=100)
    open: list[IntervalIO] = Field(default_factory=list, max_length=12)


Hours = dict[str, Annotated[list[IntervalIO], Field(max_length=12)]]


class CalendarCreate(_In):
    name: str = Name
    timezone: str = Field(max_length=64, examples=["Europe/Warsaw"])
    hours: Hours = Field(
        max_length=7,
        description="weekday (mon..sun) → intervals; days left out are closed",
        examples=[{"mon": [{"start": "09:00", "end": "12:00"},
                           {"start": "13:00", "end": "17:00"}]}],
    )
    holidays: list[HolidayIO] = Field(default_factory=list, max_length=1000)


class CalendarUpdate(_In):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    timezone: str | None = Field(default=None, max_length=64)
    hours: Hours | None = Field(default=None, max_length=7)
    holidays: list[HolidayIO] | None = Field(default=None, max_length=1000)

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(exclude_unset=True, mode="json").items()
                if v is not None}


class CalendarRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    timezone: str
    hours: Hours
    holidays: list[HolidayIO]
    created_at: datetime
    updated_at: datetime


class ConditionsIO(_In):
    """All listed keys must match, each by any of its values; an empty policy matches all.

    customer_languages is the customer segment for now: the customer's language.
    """

    channel_types: list[str] = Field(default_factory=list, max_length=50)
    marketplaces: list[str] = Field(default_factory=list, max_length=50)
    priorities: list[Priority] = Field(default_factory=list, max_length=4)
    tags: list[str] = Field(default_factory=list, max_length=50)
    customer_languages: list[str] = Field(default_factory=list, max_length=50)


class GoalIO(_In):
    minutes: int = Field(ge=1, le=366 * 24 * 60)
    business_hours: bool = Field(
        default=False, description="count the policy calendar's open hours, else 24/7")


class TargetsIO(_In):
    """The targets of a policy; a PATCH replaces them all, so send every one to keep."""

    first_response: GoalIO | None = None
    next_response: GoalIO | None = None
    resolution: GoalIO | None = None


class WarningIO(_In):
    """Warn at `percent` of the target's time, or `minutes_before` it is due: one of the two."""

    percent: int | None = Field(default=None, ge=1, le=99)
    minutes_before: int | None = Field(default=None, ge=1, le=366 * 24 * 60)

    @model_validator(mode="after")
    def _one(self) -> WarningIO:
        if (self.percent is None) == (self.minutes_before is None):
            raise ValueError("give exactly one of percent and minutes_before")
        return self


def _default_pause_on() -> list[PauseStatus]:
    return ["pending", "on_hold"]


class PolicyCreate(_In):
    name: str = Name
    is_active: bool = True
    conditions: ConditionsIO = Field(default_factory=ConditionsIO)
    targets: TargetsIO
    calendar_id: Id | None = None
    pause_on: list[PauseStatus] = Field(default_factory=_default_pause_on, max_length=2)
    warning: WarningIO | None = Field(default_factory=lambda: WarningIO(percent=80),
                                      description="null: no warnings")


class PolicyUpdate(_In):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    is_active: bool | None = None
    conditions: ConditionsIO | None = None
    targets: TargetsIO | None = None
    calendar_id: Id | None = None
    pause_on: list[PauseStatus] | None = Field(default=None, max_length=2)
    warning: WarningIO | None = None

    def changes(self) -> dict[str, Any]:
        """Fields sent; null clears calendar_id and warning, and means 'unchanged' elsewhere."""
        data = self.model_dump(exclude_unset=True, mode="json")
        return {k: v for k, v in data.items()
                if v is not None or k in ("calendar_id", "warning")}


class PolicyRead(BaseModel):
    id: int
    name: str
    position: int
    is_active: bool
    conditions: ConditionsIO
    targets: TargetsIO
    calendar_id: int | None
    pause_on: list[str]
    warning: WarningIO | None
    created_at: datetime
    updated_at: datetime


class PolicyOrder(_In):
    ids: list[Id] = Field(max_length=1000, description="every policy of the store, in order")


class TargetRead(BaseModel):
    kind: TargetKind
    state: TargetState
    goal_minutes: float
    business_hours: bool
    calendar_id: int | None
    started_at: datetime
    due_at: datetime | None = Field(description="null while paused")
    warn_at: datetime | None
    elapsed_seconds: float = Field(description="clock time counted so far")
    remaining_seconds: float = Field(description="negative once breached")
    paused_seconds: float = Field(description="clock time spent paused")
    paused_since: datetime | None
    completed_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None


class TicketSlaRead(BaseModel):
    ticket_id: int
    policy_id: int | None
    policy_name: str | None
    sla_due_at: datetime | None
    targets: list[TargetRead]
