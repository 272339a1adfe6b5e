"""Limits of a pre-approved action: checked when saved, and counted when an agent grants.

Kinds (each at most once, `role` once per role):
- role:     {"role": "agent", "max_amount": 3000} — the most one grant by that role may be
            (replaces the action's max_amount for the role); without max_amount every grant
            by that role needs approval.
- ticket:   {"count": 1, "amount": 5000} — granted on one ticket, ever.
- customer: {"count": 2, "amount": ..., "period_days": 30} — to one customer in the last
            period_days days (rolling; all time when left out).
- agent:    {"count": ..., "amount": 50000, "period_days": 1} — by one agent (or one token
            without an agent) in the last period_days days.
A grant is within a limit when what is already granted plus this grant is at most the limit
(so with count 2, the second grant passes and the third needs approval). Only grants with
status "granted" count; pending and declined requests do not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.empowerment.errors import ActionError
from sellerdesk.automation.empowerment.models import Grant, PreApprovedAction
from sellerdesk.automation.empowerment.money import show, to_minor
from sellerdesk.core.errors import Invalid

KINDS = ("role", "ticket", "customer", "agent")
WORKER_ROLES = (Role.OWNER.value, Role.ADMIN.value, Role.MANAGER.value, Role.AGENT.value)
MAX_LIMITS = 20
MAX_COUNT = 1_000_000
MAX_PERIOD_DAYS = 3660
GRANTED = "granted"


def _bad(message: str, field: str) -> Invalid:
    return Invalid(ActionError.INVALID_LIMIT, message, field=field)


def _count(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
        raise _bad(f"count must be a whole number from 1 to {MAX_COUNT}", field)
    return value


def _amount(value: Any, currency: str | None, field: str, *, allow_zero: bool = False
            ) -> int | None:
    if value is None:
        return None
    if currency is None:
        raise _bad("amount limits need a money action (give currency and max_amount)", field)
    try:
        decimal = value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError:
        raise _bad("amount is not a number", field) from None
    return to_minor(decimal, currency, code=ActionError.INVALID_LIMIT, field=field,
                    allow_zero=allow_zero)


def check_limits(limits: Sequence[Mapping[str, Any]], *, currency: str | None
                 ) -> list[dict[str, Any]]:
    """The limits as stored (amounts in minor units); refused with the limit's index."""
    if len(limits) > MAX_LIMITS:
        raise _bad(f"an action has at most {MAX_LIMITS} limits", "limits")
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, limit in enumerate(limits):
        where = f"limits.{i}"
        kind = limit.get("kind")
        if kind not in KINDS:
            raise _bad(f"unknown limit kind {str(kind)[:30]!r} (use {', '.join(KINDS)})",
                       f"{where}.kind")
        allowed = {"kind", "role", "max_amount"} if kind == "role" else {
            "kind", "count", "amount"} | ({"period_days"} if kind != "ticket" else set())
        for key, value in limit.items():
            if key not in allowed and value is not None:
                raise _bad(f"a {kind} limit takes {', '.join(sorted(allowed - {'kind'}))}, "
                           f"not {key[:30]}", f"{where}.{key[:30]}")
        if kind == "role":
            role = limit.get("role")
            if role not in WORKER_ROLES:
                raise _bad(f"role must be one of {', '.join(WORKER_ROLES)}", f"{where}.role")
            key = f"role:{role}"
            stored: dict[str, Any] = {"kind": kind, "role": role}
            cap = _amount(limit.get("max_amount"), currency, f"{where}.max_amount",
                          allow_zero=True)
            if cap is not None:
                stored["max_amount"] = cap
        else:
            key = kind
            count = _count(limit.get("count"), f"{where}.count")
            total = _amount(limit.get("amount"), currency, f"{where}.amount")
            if count is None and total is None:
                raise _bad(f"a {kind} limit needs a count, an amount or both", where)
            stored = {"kind": kind}
            if count is not None:
                stored["count"] = count
            if total is not None:
                stored["amount"] = total
            period = limit.get("period_days")
            if period is not None:
                if (isinstance(period, bool) or not isinstance(period, int)
                        or not 1 <= period <= MAX_PERIOD_DAYS):
                    raise _bad(f"period_days must be a whole number from 1 to "
                               f"{MAX_PERIOD_DAYS}", f"{where}.period_days")
                stored["period_days"] = period
        if key in seen:
            raise _bad(f"the {key.replace(':', ' ')} limit is given twice", where)
        seen.add(key)
        result.append(stored)
    return result


@dataclass(frozen=True, slots=True)
class Request:
    """What is asked: by whom, for which ticket and customer, how much, and when."""

    action: PreApprovedAction
    role: str
    agent_id: int | None
    token_id: int | None
    ticket_id: int
    customer_id: int | None
    amount: int | None
    at: datetime


async def _used(db: AsyncSession, request: Request, limit: Mapping[str, Any]
                ) -> tuple[int, int] | None:
    """(grants, amount) already granted in the limit's scope; None if the scope is unknown."""
    stmt = select(func.count(), func.coalesce(func.sum(Grant.amount), 0)).where(
        Grant.action_id == request.action.id, Grant.status == GRANTED)
    kind = limit["kind"]
    if kind == "ticket":
        stmt = stmt.where(Grant.ticket_id == request.ticket_id)
    elif kind == "customer":
        if request.customer_id is None:
            return None
        stmt = stmt.where(Grant.customer_id == request.customer_id)
    elif request.agent_id is not None:
        stmt = stmt.where(Grant.agent_id == request.agent_id)
    else:
        stmt = stmt.where(Grant.agent_id.is_(None), Grant.token_id == request.token_id)
    period = limit.get("period_days")
    if period is not None:
        stmt = stmt.where(Grant.granted_at > request.at - timedelta(days=period))
    count, amount = (await db.execute(stmt)).one()
    return int(count), int(amount or 0)


_SCOPE = {"ticket": "on this ticket", "customer": "to this customer", "agent": "by you"}


def _money(minor: int, currency: str | None) -> str:
    return show(minor, currency) if currency else str(minor)


async def exceeded(db: AsyncSession, request: Request) -> list[dict[str, Any]]:
    """Every limit the request goes over, each with a sentence naming it; [] when within all.

    The caller holds the lock that serializes grants of this action (actions.request_grant).
    """
    action = request.action
    currency = action.currency
    found: list[dict[str, Any]] = []
    role_limit = next((lim for lim in action.limits
                       if lim["kind"] == "role" and lim["role"] == request.role), None)
    if role_limit is not None:
        cap = role_limit.get("max_amount")
        if cap is None:
            found.append({"limit": "role", "role": request.role,
                          "message": f"{request.role}s need approval for every "
                                     f"{action.name!r}"})
        elif request.amount is not None and request.amount > cap:
            found.append({"limit": "role", "role": request.role, "allowed": cap,
                          "message": f"{request.role}s may grant at most "
                                     f"{_money(cap, currency)} at once; asked "
                                     f"{_money(request.amount, currency)}"})
    elif (action.max_amount is not None and request.amount is not None
          and request.amount > action.max_amount):
        found.append({"limit": "max_amount", "allowed": action.max_amount,
                      "message": f"{action.name!r} goes up to "
                                 f"{_money(action.max_amount, currency)}; asked "
                                 f"{_money(request.amount, currency)}"})
    for limit in action.limits:
        kind = limit["kind"]
        if kind == "role":
            continue
        used = await _used(db, request, limit)
        period = limit.get("period_days")
        within = f" in {period} day{'s' if period != 1 else ''}" if period else ""
        scope = _SCOPE[kind] + within
        if used is None:
            found.append({"limit": kind, "message": "the ticket has no customer, so the per "
                                                    "customer limit cannot be checked"})
            continue
        count, amount = used
        if "count" in limit and count + 1 > limit["count"]:
            found.append({"limit": kind, "allowed": limit["count"], "used": count,
                          "message": f"at most {limit['count']} {action.name!r} {scope}; "
                                     f"{count} granted already"})
        if "amount" in limit and amount + (request.amount or 0) > limit["amount"]:
            found.append({"limit": kind, "allowed": limit["amount"], "used": amount,
                          "message": f"at most {_money(limit['amount'], currency)} "
                                     f"{scope}; {_money(amount, currency)} granted already, "
                                     f"asked {_money(request.amount or 0, currency)}"})
    return found
