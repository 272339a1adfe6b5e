"""Agent empowerment in the workspace: pre-approved actions and escalation trees on a ticket,
and the managers' approval queue."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.permissions import Permission
from sellerdesk.api.deps import SessionDep
from sellerdesk.automation.empowerment import actions, queries, trees, walks
from sellerdesk.automation.empowerment.money import show
from sellerdesk.core.errors import AppError
from sellerdesk.core.i18n import N_
from sellerdesk.core.ids import IdPath
from sellerdesk.tickets.models import Ticket
from sellerdesk.tickets.queries import get_ticket
from sellerdesk.web.session import CurrentUser, WebUser
from sellerdesk.web.templating import render

router = APIRouter()

GRANT_STATUS = {"granted": N_("Granted"), "pending_approval": N_("Waiting for approval"),
                "declined": N_("Declined")}
OUTCOME_LABELS = {"resolve": N_("Resolved with a macro"),
                  "action": N_("Pre-approved action applied"),
                  "escalate": N_("Escalated"), "advice": N_("Advice")}
LIMIT_LABELS = {"role": N_("Above the limit of your role"),
                "max_amount": N_("Above the action's largest amount"),
                "ticket": N_("Above the limit for one ticket"),
                "customer": N_("Above the limit for this customer in the period"),
                "agent": N_("Above your own limit for the period")}
_ERRORS = {
    "grant.invalid_amount": N_("Enter an amount this action allows."),
    "grant.amount_required": N_("Enter an amount."),
    "grant.amount_not_allowed": N_("This action takes no amount."),
    "grant.action_inactive": N_("This action is switched off."),
    "grant.macro_missing": N_("The action's message to the customer lacks a value."),
    "approval.reason_required": N_("Say why the request is declined."),
    "approval.already_decided": N_("Someone has decided this request already."),
    "ticket.closed": N_("A closed ticket cannot be changed."),
    "walk.finished": N_("This walk is finished already."),
}


def money(minor: int | None, currency: str | None) -> str:
    return show(minor, currency) if minor is not None and currency else ""


def _error(user: WebUser, exc: AppError) -> str:
    text = _ERRORS.get(exc.code)
    if text:
        return user.page._(text)
    return user.page._("That did not work ({code}).", code=exc.code)


async def _panel(request: Request, db: AsyncSession, user: WebUser, ticket: Ticket,
                 **extra: Any) -> Response:
    language = user.agent.language
    active_walk = next((w for w in await queries.ticket_walks(db, ticket_id=ticket.id)
                        if w.status == walks.IN_PROGRESS), None)
    node = None
    if active_walk is not None:
        node = trees.node_of(active_walk.snapshot, active_walk.current_node)
    return render(request, user.page, "empower/panel.html", {
        "user": user, "ticket": ticket,
        "actions": [a for a in await queries.list_actions(db, store_id=ticket.store_id)
                    if a.is_active],
        "grants": await queries.ticket_grants(db, ticket_id=ticket.id),
        "trees": [t for t in await queries.list_trees(db, store_id=ticket.store_id)
                  if t.is_active],
        "walks": await queries.ticket_walks(db, ticket_id=ticket.id),
        "active_walk": active_walk, "node": node,
        "text": lambda texts: trees.pick_text(texts, [language, "en"])[1],
        "money": money, "GRANT_STATUS": GRANT_STATUS, "OUTCOME_LABELS": OUTCOME_LABELS,
        "LIMIT_LABELS": LIMIT_LABELS,
        "can_grant": user.can(Permission.GRANT_REQUEST) and ticket.status != "closed",
        **extra})


@router.get("/tickets/{ticket_id}/empower")
async def panel(request: Request, ticket_id: IdPath, db: SessionDep,
                user: CurrentUser) -> Response:
    ticket = await get_ticket(db, store_id=user.agent.store_id, ticket_id=ticket_id)
    return await _panel(request, db, user, ticket)


def _amount(raw: str) -> Decimal | None:
    raw = raw.strip().replace(",", ".")
    if not raw:
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        return Decimal("NaN")


@router.post("/tickets/{ticket_id}/empower/grants")
async def grant(request: Request, ticket_id: IdPath, db: SessionDep, user: CurrentUser,
                action_id: Annotated[int, Form()], reason: Annotated[str, Form()] = "",
                amount: Annotated[str, Form()] = "") -> Response:
    user.require(Permission.GRANT_REQUEST)
    ticket = await get_ticket(db, store_id=user.agent.store_id, ticket_id=ticket_id)
    value = _amount(amount)
    if value is not None and not value.is_finite():
        return await _panel(request, db, user, ticket,
                            error=user.page._("Enter an amount such as 12.50."))
    try:
        done = await actions.request_grant(db, ticket=ticket, action_id=action_id,
                                           principal=user.principal, amount=value,
                                           reason=reason)
    except AppError as exc:
        return await _panel(request, db, user, ticket, error=_error(user, exc))
    return await _panel(request, db, user, ticket, result=done)


@router.post("/tickets/{ticket_id}/empower/walks")
async def start(request: Request, ticket_id: IdPath, db: SessionDep, user: CurrentUser,
                tree_id: Annotated[int, Form()]) -> Response:
    user.require(Permission.GRANT_REQUEST)
    ticket = await get_ticket(db, store_id=user.agent.store_id, ticket_id=ticket_id)
    try:
        await walks.start_walk(db, ticket=ticket, tree_id=tree_id, principal=user.principal)
    except AppError as exc:
        return await _panel(request, db, user, ticket, error=_error(user, exc))
    return await _panel(request, db, user, ticket)


@router.post("/tickets/{ticket_id}/empower/walks/{walk_id}")
async def answer(request: Request, ticket_id: IdPath, walk_id: IdPath, db: SessionDep,
                 user: CurrentUser, answer: Annotated[str, Form()],
                 amount: Annotated[str, Form()] = "",
                 reason: Annotated[str, Form()] = "") -> Response:
    user.require(Permission.GRANT_REQUEST)
    ticket = await get_ticket(db, store_id=user.agent.store_id, ticket_id=ticket_id)
    walk = await queries.get_walk(db, store_id=user.agent.store_id, walk_id=walk_id, lock=True)
    if walk.ticket_id != ticket.id:
        return await _panel(request, db, user, ticket,
                            error=user.page._("This walk belongs to another ticket."))
    value = _amount(amount)
    try:
        await walks.answer_walk(db, walk=walk, ticket=ticket, principal=user.principal,
                                given=walks.AnswerInput(answer=answer, amount=value,
                                                        reason=reason or None))
    except AppError as exc:
        return await _panel(request, db, user, ticket, error=_error(user, exc))
    return await _panel(request, db, user, ticket, finished=walk)


@router.get("/approvals")
async def approvals(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    user.require(Permission.GRANT_APPROVE)
    return await _approvals(request, db, user)


async def _approvals(request: Request, db: AsyncSession, user: WebUser,
                     **extra: Any) -> Response:
    store_id = user.agent.store_id
    return render(request, user.page, "empower/approvals.html", {
        "user": user, "section": "approvals",
        "pending": await queries.list_approvals(db, store_id=store_id, status="pending"),
        "decided": (await queries.list_approvals(db, store_id=store_id, status=None))[:50],
        "money": money, "GRANT_STATUS": GRANT_STATUS, "LIMIT_LABELS": LIMIT_LABELS, **extra})


@router.post("/approvals/{grant_id}")
async def decide(request: Request, grant_id: IdPath, db: SessionDep, user: CurrentUser,
                 decision: Annotated[str, Form()],
                 note: Annotated[str, Form()] = "") -> Response:
    user.require(Permission.GRANT_APPROVE)
    store_id = user.agent.store_id
    try:
        if decision == "approve":
            await actions.approve(db, store_id=store_id, grant_id=grant_id,
                                  principal=user.principal, note=note or None)
        elif decision == "decline":
            await actions.decline(db, store_id=store_id, grant_id=grant_id,
                                  principal=user.principal, reason=note)
        else:
            return await _approvals(request, db, user,
                                    error=user.page._("Choose approve or decline."))
    except AppError as exc:
        if exc.status_code == 404:
            raise
        return await _approvals(request, db, user, error=_error(user, exc))
    return await _approvals(request, db, user, saved=True)
