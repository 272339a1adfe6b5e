"""SLA policy configuration: validated into the engine's Policy, refused with a code naming
the field. Pure; used by the actions (API, defaults) and when a stored policy is loaded."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sellerdesk.automation.errors import SlaError
from sellerdesk.automation.sla import (
    CONDITION_KEYS,
    DEFAULT_PAUSE_ON,
    PAUSABLE_STATUSES,
    Conditions,
    Goal,
    Policy,
    TargetKind,
    Warning,
)
from sellerdesk.channels.registry import CHANNEL_TYPES
from sellerdesk.core.errors import Invalid
from sellerdesk.tickets.states import Priority

MAX_MINUTES = 366 * 24 * 60
MAX_VALUES = 50
MAX_VALUE_LENGTH = 64


def _normal(value: str) -> str:
    """Case and spacing as tickets store tags and marketplaces."""
    return " ".join(value.strip().casefold().split())


def _values(raw: object, *, field: str) -> list[str]:
    if not isinstance(raw, list | tuple) or len(raw) > MAX_VALUES:
        raise Invalid(SlaError.INVALID_CONDITION,
                      f"must be a list of at most {MAX_VALUES} values", field=field)
    values = []
    for i, item in enumerate(raw):
        if not isinstance(item, str) or not _normal(item) or len(item) > MAX_VALUE_LENGTH:
            raise Invalid(SlaError.INVALID_CONDITION,
                          f"must be a text of 1-{MAX_VALUE_LENGTH} characters",
                          field=f"{field}.{i}")
        values.append(_normal(item))
    return list(dict.fromkeys(values))


def _check_allowed(values: Iterable[str], allowed: Iterable[str], *, field: str,
                   code: SlaError) -> None:
    allowed = tuple(allowed)
    for i, value in enumerate(values):
        if value not in allowed:
            raise Invalid(code, f"{value!r} is not one of {', '.join(allowed)}",
                          field=f"{field}.{i}")


def normalize_conditions(raw: Mapping[str, Any], *, field: str = "conditions"
                         ) -> dict[str, list[str]]:
    """Conditions as stored: known keys only, values normalised, empty lists left out."""
    result: dict[str, list[str]] = {}
    for key, value in raw.items():
        if key not in CONDITION_KEYS:
            raise Invalid(SlaError.INVALID_CONDITION,
                          f"{key!r} is not a condition; use {', '.join(CONDITION_KEYS)}",
                          field=f"{field}.{key}")
        values = _values(value, field=f"{field}.{key}")
        if key == "channel_types":
            _check_allowed(values, CHANNEL_TYPES, field=f"{field}.{key}",
                           code=SlaError.UNKNOWN_CHANNEL_TYPE)
        elif key == "priorities":
            _check_allowed(values, (p.value for p in Priority), field=f"{field}.{key}",
                           code=SlaError.INVALID_CONDITION)
        if values:
            result[key] = values
    return result


def normalize_targets(raw: Mapping[str, Any], *, field: str = "targets"
                      ) -> dict[str, dict[str, Any]]:
    """Targets as stored: {kind: {"minutes": int, "business_hours": bool}}, at least one."""
    result: dict[str, dict[str, Any]] = {}
    kinds = [k.value for k in TargetKind]
    for key, value in raw.items():
        if key not in kinds:
            raise Invalid(SlaError.INVALID_TARGET,
                          f"{key!r} is not a target; use {', '.join(kinds)}",
                          field=f"{field}.{key}")
        if value is None:
            continue
        if not isinstance(value, Mapping) or set(value) - {"minutes", "business_hours"}:
            raise Invalid(SlaError.INVALID_TARGET,
                          "a target is {\"minutes\": N, \"business_hours\": true|false}",
                          field=f"{field}.{key}")
        minutes = value.get("minutes")
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not (
                1 <= minutes <= MAX_MINUTES):
            raise Invalid(SlaError.INVALID_TARGET,
                          f"minutes must be a whole number from 1 to {MAX_MINUTES}",
                          field=f"{field}.{key}.minutes")
        business = value.get("business_hours", False)
        if not isinstance(business, bool):
            raise Invalid(SlaError.INVALID_TARGET, "business_hours must be true or false",
                          field=f"{field}.{key}.business_hours")
        result[key] = {"minutes": minutes, "business_hours": business}
    if not result:
        raise Invalid(SlaError.NO_TARGETS,
                      "a policy needs at least one of first_response, next_response, resolution",
                      field=field)
    return result


def normalize_pause_on(raw: Iterable[str] | None, *, field: str = "pause_on") -> list[str]:
    values = list(dict.fromkeys(DEFAULT_PAUSE_ON if raw is None else raw))
    _check_allowed(values, PAUSABLE_STATUSES, field=field, code=SlaError.INVALID_PAUSE_STATUS)
    return values


def check_warning(percent: int | None, minutes_before: int | None) -> None:
    if percent is not None and minutes_before is not None:
        raise Invalid(SlaError.INVALID_WARNING,
                      "warn at a percentage or some minutes before the due time, not both",
                      field="warning")
    if percent is not None and not 1 <= percent <= 99:
        raise Invalid(SlaError.INVALID_WARNING, "percent must be 1-99", field="warning.percent")
    if minutes_before is not None and not 1 <= minutes_before <= MAX_MINUTES:
        raise Invalid(SlaError.INVALID_WARNING, f"minutes_before must be 1-{MAX_MINUTES}",
                      field="warning.minutes_before")


def check_calendar_needed(targets: Mapping[str, Mapping[str, Any]],
                          calendar_id: int | None) -> None:
    business = [k for k, t in targets.items() if t.get("business_hours")]
    if business and calendar_id is None:
        raise Invalid(SlaError.CALENDAR_REQUIRED,
                      f"{business[0]} counts business hours: choose a calendar",
                      field="calendar_id")


def build_policy(*, id: int, name: str, conditions: Mapping[str, Any],
                 targets: Mapping[str, Any], calendar_id: int | None,
                 pause_on: Iterable[str] | None, warn_percent: int | None,
                 warn_minutes_before: int | None) -> Policy:
    """The engine's Policy from configuration; raises Invalid naming the field."""
    stored_conditions = normalize_conditions(conditions)
    stored_targets = normalize_targets(targets)
    check_calendar_needed(stored_targets, calendar_id)
    check_warning(warn_percent, warn_minutes_before)
    return Policy(
        id=id,
        name=name,
        conditions=Conditions(**{k: frozenset(v) for k, v in stored_conditions.items()}),
        goals={TargetKind(k): Goal(v["minutes"], v["business_hours"])
               for k, v in stored_targets.items()},
        pause_on=frozenset(normalize_pause_on(pause_on)),
        warning=Warning(warn_percent, warn_minutes_before),
        calendar_id=calendar_id,
    )
