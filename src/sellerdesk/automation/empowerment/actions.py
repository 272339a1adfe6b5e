"""Writes on pre-approved actions (admin settings), grants and approval decisions, audited.

Only the decision and the amount are recorded here: moving money (the refund itself, the
reshipment, the credit) happens later through the shop's connector, which reads the grants.

A grant within every limit is recorded as "granted" and, when the action has a macro, the
customer is told through macros.apply_macro (the reply path: a queued outbound message). A
request over any limit is recorded as "pending_approval", naming each limit it went over; a
manager approves (then it is granted and the customer told) or declines with a reason.
Grants of one action are serialized by a lock on the action's row (SELECT ... FOR UPDATE on
PostgreSQL; SQLite writers take the database lock with BEGIN IMMEDIATE), so two agents at a
limit at the same moment cannot both get through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.permissions import Principal
from sellerdesk.automation.empowerment import limits, queries
from sellerdesk.automation.empowerment.errors import ActionError, ApprovalError, GrantError
from sellerdesk.automation.empowerment.models import (
    EscalationTree,
    Grant,
    PreApprovedAction,
)
from sellerdesk.automation.empowerment.money import check_currency, from_minor, to_minor
from sellerdesk.automation.macros import actions as macro_actions
from sellerdesk.automation.macros.models import Macro
from sellerdesk.core.actor import Actor
from sellerdesk.core.clock import now
from sellerdesk.core.db import commit
from sellerdesk.core.errors import Conflict, Invalid
from sellerdesk.tickets import audit
from sellerdesk.tickets.errors import TicketError
from sellerdesk.tickets.events import publish_after_commit
from sellerdesk.tickets.models import Ticket
from sellerdesk.tickets.states import Status

KINDS = ("refund", "reship", "credit", "discount", "custom")
GRANTED = "granted"
PENDING = "pending_approval"
DECLINED = "declined"


# --- pre-approved actions ----------------------------------------------------------------------

def _snapshot(action: PreApprovedAction) -> dict[str, Any]:
    return {"name": action.name, "description": action.description, "kind": action.kind,
            "currency": action.currency, "max_amount": action.max_amount,
            "limits": list(action.limits), "macro_id": action.macro_id,
            "is_active": action.is_active}


async def _check_name(db: AsyncSession, store_id: int, name: str,
                      exclude_id: int | None = None) -> None:
    stmt = select(PreApprovedAction.id).where(PreApprovedAction.store_id == store_id,
                                              PreApprovedAction.name == name)
    if exclude_id is not None:
        stmt = stmt.where(PreApprovedAction.id != exclude_id)
    if await db.scalar(stmt) is not None:
        raise Conflict(ActionError.NAME_TAKEN, f"a pre-approved action {name!r} exists",
                       field="name")


async def _check_macro(db: AsyncSession, store_id: int, macro_id: int | None) -> None:
    if macro_id is not None and await db.scalar(select(Macro.id).where(
            Macro.id == macro_id, Macro.store_id == store_id)) is None:
        raise Invalid(ActionError.UNKNOWN_MACRO, f"no macro {macro_id} in this store",
                      field="macro_id")


def _money(kind: str, currency: str | None, max_amount: Decimal | int | None,
           *, stored: bool) -> tuple[str | None, int | None]:
    """(currency, max_amount in minor units): both or neither; reships take no money."""
    if currency is None and max_amount is None:
        return None, None
    if currency is None:
        raise Invalid(ActionError.INVALID_CURRENCY, "max_amount needs a currency",
                      field="currency")
    if max_amount is None:
        raise Invalid(ActionError.INVALID_AMOUNT, "a money action needs max_amount (the most "
                      "one grant may be without approval)", field="max_amount")
    if kind == "reship":
        raise Invalid(ActionError.INVALID_CURRENCY, "a reship moves no money: leave out "
                      "currency and max_amount", field="currency")
    code = check_currency(currency, code_enum=ActionError.INVALID_CURRENCY, field="currency")
    if stored and isinstance(max_amount, int):
        return code, max_amount
    minor = to_minor(Decimal(max_amount), code, code=ActionError.INVALID_AMOUNT,
                     field="max_amount")
    return code, minor


def _plain_limits(action: PreApprovedAction) -> list[dict[str, Any]]:
    """Stored limits back in decimal amounts, to re-check them in another currency."""
    result = []
    for limit in action.limits:
        item = dict(limit)
        for key in ("max_amount", "amount"):
            if key in item and action.currency is not None:
                item[key] = from_minor(item[key], action.currency)
        result.append(item)
    return result


async def add_action(
    db: AsyncSession, *, store_id: int, actor: Actor, name: str, kind: str,
    currency: str | None = None, max_amount: Decimal | None = None,
    limits_: Sequence[Mapping[str, Any]] = (), macro_id: int | None = None,
    description: str | None = None, is_active: bool = True,
) -> PreApprovedAction:
    """create_action without the commit, for callers that write more in one transaction."""
    if kind not in KINDS:
        raise Invalid(ActionError.INVALID_KIND, f"kind must be one of {', '.join(KINDS)}",
                      field="kind")
    code, cap = _money(kind, currency, max_amount, stored=False)
    checked = limits.check_limits(limits_, currency=code)
    await _check_macro(db, store_id, macro_id)
    await _check_name(db, store_id, name)
    action = PreApprovedAction(store_id=store_id, name=name, description=description,
                               kind=kind, currency=code, max_amount=cap, limits=checked,
                               macro_id=macro_id, is_active=is_active)
    db.add(action)
    await db.flush()
    audit.record(db, store_id=store_id, actor=actor, entity_type="preapproved_action",
                 entity_id=action.id, action="preapproved_action.created",
                 after=_snapshot(action))
    return action


async def create_action(
    db: AsyncSession, *, store_id: int, actor: Actor, name: str, kind: str,
    currency: str | None = None, max_amount: Decimal | None = None,
    limits_: Sequence[Mapping[str, Any]] = (), macro_id: int | None = None,
    description: str | None = None, is_active: bool = True,
) -> PreApprovedAction:
    action = await add_action(db, store_id=store_id, actor=actor, name=name, kind=kind,
                              currency=currency, max_amount=max_amount, limits_=limits_,
                              macro_id=macro_id, description=description, is_active=is_active)
    await commit(db)
    return action


async def update_action(
    db: AsyncSession, *, action: PreApprovedAction, actor: Actor, changes: Mapping[str, Any]
) -> PreApprovedAction:
    """Change an action; grants already made keep their name, kind, currency and amount."""
    before = _snapshot(action)
    kind = changes.get("kind", action.kind)
    if kind not in KINDS:
        raise Invalid(ActionError.INVALID_KIND, f"kind must be one of {', '.join(KINDS)}",
                      field="kind")
    money_changed = "currency" in changes or "max_amount" in changes
    currency = changes.get("currency", action.currency)
    cap: Decimal | int | None
    if "max_amount" in changes:
        cap = changes["max_amount"]
    elif action.max_amount is not None and action.currency is not None:
        cap = from_minor(action.max_amount, action.currency)
    else:
        cap = None
    code, minor = _money(kind, currency, cap, stored=False)
    if "limits" in changes:
        checked = limits.check_limits(changes["limits"], currency=code)
    elif money_changed or "kind" in changes:
        checked = limits.check_limits(_plain_limits(action), currency=code)
    else:
        checked = list(action.limits)
    if "macro_id" in changes:
        await _check_macro(db, action.store_id, changes["macro_id"])
        action.macro_id = changes["macro_id"]
    if "name" in changes and changes["name"] != action.name:
        await _check_name(db, action.store_id, changes["name"], exclude_id=action.id)
        action.name = changes["name"]
    if "description" in changes:
        action.description = changes["description"]
    if "is_active" in changes:
        action.is_active = changes["is_active"]
    action.kind, action.currency, action.max_amount, action.limits = kind, code, minor, checked
    old, new = audit.diff(before, _snapshot(action))
    if new:
        action.updated_at = now()
        audit.record(db, store_id=action.store_id, actor=actor,
                     entity_type="preapproved_action", entity_id=action.id,
                     action="preapproved_action.updated", before=old, after=new)
    await commit(db)
    return action


async def delete_action(db: AsyncSession, *, action: PreApprovedAction, actor: Actor) -> None:
    """Refused once the action was used or a tree names it: deactivate it instead."""
    used = await db.scalar(select(Grant.id).where(Grant.action_id == action.id).limit(1))
    if used is not None:
        raise Conflict(ActionError.IN_USE, f"{action.name!r} has grants; set is_active to "
                       "false instead", field="action_id")
    trees = (await db.execute(select(EscalationTree.name, EscalationTree.definition)
                              .where(EscalationTree.store_id == action.store_id))).all()
    for name, definition in trees:
        if any(n.get("outcome", {}).get("action_id") == action.id
               for n in definition.get("nodes", [])):
            raise Conflict(ActionError.IN_USE, f"escalation tree {name!r} uses "
                           f"{action.name!r}; change the tree first", field="action_id")
    audit.record(db, store_id=action.store_id, actor=actor, entity_type="preapproved_action",
                 entity_id=action.id, action="preapproved_action.deleted",
                 before=_snapshot(action))
    await db.delete(action)
    await commit(db)


# --- grants ------------------------------------------------------------------------------------

def grant_snapshot(grant: Grant) -> dict[str, Any]:
    return {"action_id": grant.action_id, "action": grant.action_name, "kind": grant.kind,
            "currency": grant.currency, "amount": grant.amount, "reason": grant.reason,
            "status": grant.status, "exceeded": [e["limit"] for e in grant.exceeded],
            "customer_id": grant.customer_id, "agent_id": grant.agent_id,
            "walk_id": grant.walk_id}


def _amount(action: PreApprovedAction, amount: Decimal | None, field: str) -> int | None:
    if action.currency is None:
        if amount is not None:
            raise Invalid(GrantError.AMOUNT_NOT_ALLOWED,
                          f"{action.name!r} moves no money: leave out the amount", field=field)
        return None
    if amount is None:
        raise Invalid(GrantError.AMOUNT_REQUIRED,
                      f"{action.name!r} needs an amount in {action.currency}", field=field)
    return to_minor(amount, action.currency, code=GrantError.INVALID_AMOUNT, field=field)


async def _macro(db: AsyncSession, action: PreApprovedAction) -> Macro | None:
    if action.macro_id is None:
        return None
    macro = await db.scalar(select(Macro).where(Macro.id == action.macro_id,
                                                Macro.store_id == action.store_id))
    if macro is None:
        raise Conflict(GrantError.MACRO_MISSING,
                       f"the macro of {action.name!r} ({action.macro_id}) no longer exists; "
                       "an admin must choose another", field="action_id")
    return macro


async def _notify(db: AsyncSession, *, grant: Grant, macro: Macro | None, ticket: Ticket,
                  actor: Actor) -> None:
    """Tell the customer through the macro (this commits), and remember the reply."""
    if macro is None:
        await commit(db)
        return
    applied = await macro_actions.apply_macro(
        db, macro=macro, ticket=ticket, actor=actor, agent_id=grant.agent_id,
        values=grant.macro_values, send=True)
    grant.message_id = applied.message.id if applied.message is not None else None
    await commit(db)


async def request_grant(
    db: AsyncSession, *, ticket: Ticket, action_id: int, principal: Principal,
    amount: Decimal | None, reason: str, values: Mapping[str, str] | None = None,
    walk_id: int | None = None, amount_field: str = "amount",
) -> Grant:
    """Grant the action on the ticket if within every limit, else ask for approval."""
    if ticket.status == Status.CLOSED:
        raise Conflict(TicketError.CLOSED, "a closed ticket cannot be changed", field="ticket_id")
    action = await queries.get_action(db, store_id=ticket.store_id, action_id=action_id,
                                      lock=True)
    if not action.is_active:
        raise Conflict(GrantError.ACTION_INACTIVE, f"{action.name!r} is not active",
                       field="action_id")
    minor = _amount(action, amount, amount_field)
    at = now()
    request = limits.Request(action=action, role=principal.role.value,
                             agent_id=principal.agent_id, token_id=principal.token_id,
                             ticket_id=ticket.id, customer_id=ticket.customer_id,
                             amount=minor, at=at)
    over = await limits.exceeded(db, request)
    macro = await _macro(db, action) if not over else None
    grant = Grant(
        store_id=ticket.store_id, action_id=action.id, ticket_id=ticket.id,
        customer_id=ticket.customer_id, agent_id=principal.agent_id,
        token_id=principal.token_id if principal.agent_id is None else None,
        role=principal.role.value, action_name=action.name, kind=action.kind,
        currency=action.currency, amount=minor, reason=reason.strip(),
        macro_values=dict(values or {}), status=PENDING if over else GRANTED, exceeded=over,
        granted_at=None if over else at, walk_id=walk_id, created_at=at,
    )
    db.add(grant)
    await db.flush()
    audit.record(db, store_id=ticket.store_id, actor=principal.actor, entity_type="grant",
                 entity_id=grant.id, ticket_id=ticket.id,
                 action="grant.approval_requested" if over else "grant.granted",
                 after=grant_snapshot(grant))
    publish_after_commit(db, ticket.store_id, {
        "type": "approval.requested" if over else "grant.granted", "grant_id": grant.id,
        "ticket_id": ticket.id})
    if over:
        await commit(db)
    else:
        await _notify(db, grant=grant, macro=macro, ticket=ticket, actor=principal.actor)
    return grant


async def approve(
    db: AsyncSession, *, store_id: int, grant_id: int, principal: Principal,
    note: str | None = None,
) -> Grant:
    """Record the grant a manager approved and tell the customer (unless the ticket is closed
    by now: the decision still stands, and the audit says nobody was told)."""
    grant = await queries.get_grant(db, store_id=store_id, grant_id=grant_id, lock=True,
                                    approval=True)
    if grant.status != PENDING:
        raise Conflict(ApprovalError.ALREADY_DECIDED,
                       f"approval request {grant.id} was {grant.status} already",
                       field="approval_id")
    ticket = await db.get_one(Ticket, grant.ticket_id)
    action = await db.get_one(PreApprovedAction, grant.action_id)
    closed = ticket.status == Status.CLOSED
    macro = None if closed else await _macro(db, action)
    at = now()
    before = grant_snapshot(grant)
    grant.status, grant.granted_at = GRANTED, at
    grant.decided_by_id, grant.decided_at = principal.agent_id, at
    grant.decision_note = note.strip() if note and note.strip() else None
    audit.record(db, store_id=store_id, actor=principal.actor, entity_type="grant",
                 entity_id=grant.id, ticket_id=grant.ticket_id, action="grant.approved",
                 before={"status": before["status"]},
                 after={"status": GRANTED, "note": grant.decision_note,
                        "notified": macro is not None})
    publish_after_commit(db, store_id, {"type": "approval.approved", "grant_id": grant.id,
                                        "ticket_id": grant.ticket_id})
    await _notify(db, grant=grant, macro=macro, ticket=ticket, actor=principal.actor)
    return grant


async def decline(
    db: AsyncSession, *, store_id: int, grant_id: int, principal: Principal, reason: str
) -> Grant:
    if not reason.strip():
        raise Invalid(ApprovalError.REASON_REQUIRED, "say why the request is declined",
                      field="reason")
    grant = await queries.get_grant(db, store_id=store_id, grant_id=grant_id, lock=True,
                                    approval=True)
    if grant.status != PENDING:
        raise Conflict(ApprovalError.ALREADY_DECIDED,
                       f"approval request {grant.id} was {grant.status} already",
                       field="approval_id")
    at = now()
    grant.status = DECLINED
    grant.decided_by_id, grant.decided_at = principal.agent_id, at
    grant.decision_note = reason.strip()
    audit.record(db, store_id=store_id, actor=principal.actor, entity_type="grant",
                 entity_id=grant.id, ticket_id=grant.ticket_id, action="grant.declined",
                 before={"status": PENDING},
                 after={"status": DECLINED, "reason": grant.decision_note})
    publish_after_commit(db, store_id, {"type": "approval.declined", "grant_id": grant.id,
                                        "ticket_id": grant.ticket_id})
    await commit(db)
    return grant
