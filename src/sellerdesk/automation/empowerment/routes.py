"""HTTP routes for pre-approved actions, grants, approvals, escalation trees and walks. Thin."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent, Store
from sellerdesk.accounts.permissions import Permission, Principal
from sellerdesk.api.deps import CanReadTickets, CanUpdateTickets, SessionDep, permitted
from sellerdesk.automation.empowerment import actions, queries, seed, trees, walks
from sellerdesk.automation.empowerment.errors import GrantError
from sellerdesk.automation.empowerment.models import (
    EscalationTree,
    Grant,
    PreApprovedAction,
    TreeWalk,
)
from sellerdesk.automation.empowerment.money import from_minor
from sellerdesk.automation.empowerment.schemas import (
    ActionCreate,
    ActionRead,
    ActionUpdate,
    AnswerRead,
    ApprovalDecision,
    DeclineIn,
    GrantCreate,
    GrantRead,
    GrantReport,
    NodeRead,
    ReportRow,
    ReportTotal,
    TreeCreate,
    TreeRead,
    TreeUpdate,
    WalkAnswer,
    WalkCreate,
    WalkRead,
)
from sellerdesk.core.clock import ensure_utc
from sellerdesk.core.errors import Invalid
from sellerdesk.core.ids import IdPath
from sellerdesk.tickets.queries import get_ticket

router = APIRouter(tags=["empowerment"])

CanManageSettings = Annotated[Principal, Depends(permitted(Permission.SETTINGS_MANAGE))]
CanRequestGrants = Annotated[Principal, Depends(permitted(Permission.GRANT_REQUEST))]
CanApprove = Annotated[Principal, Depends(permitted(Permission.GRANT_APPROVE))]
CanReadReports = Annotated[Principal, Depends(permitted(Permission.REPORTS_READ))]


# --- reads -------------------------------------------------------------------------------------

def _decimal(minor: int | None, currency: str | None) -> Any:
    return None if minor is None or currency is None else from_minor(minor, currency)


def action_read(row: PreApprovedAction) -> ActionRead:
    limits = []
    for limit in row.limits:
        item = dict(limit)
        for key in ("max_amount", "amount"):
            if key in item:
                item[key] = _decimal(item[key], row.currency)
        limits.append(item)
    return ActionRead.model_validate({
        "id": row.id, "name": row.name, "description": row.description, "kind": row.kind,
        "currency": row.currency, "max_amount": _decimal(row.max_amount, row.currency),
        "limits": limits, "macro_id": row.macro_id, "is_active": row.is_active,
        "created_at": row.created_at, "updated_at": row.updated_at,
    })


def grant_read(row: Grant) -> GrantRead:
    return GrantRead.model_validate({
        "id": row.id, "action_id": row.action_id, "action_name": row.action_name,
        "kind": row.kind, "ticket_id": row.ticket_id, "customer_id": row.customer_id,
        "agent_id": row.agent_id, "role": row.role, "currency": row.currency,
        "amount": _decimal(row.amount, row.currency), "reason": row.reason,
        "status": row.status, "exceeded": row.exceeded, "decided_by_id": row.decided_by_id,
        "decided_at": row.decided_at, "decision_note": row.decision_note,
        "granted_at": row.granted_at, "message_id": row.message_id, "walk_id": row.walk_id,
        "created_at": row.created_at,
    })


def tree_read(row: EscalationTree) -> TreeRead:
    return TreeRead(id=row.id, name=row.name, description=row.description,
                    is_active=row.is_active, version=row.version, root=row.definition["root"],
                    nodes=row.definition["nodes"], created_at=row.created_at,
                    updated_at=row.updated_at)


async def _languages(db: AsyncSession, principal: Principal) -> list[str | None]:
    agent_language = None
    if principal.agent_id is not None:
        agent_language = await db.scalar(select(Agent.language).where(
            Agent.id == principal.agent_id))
    store_language = await db.scalar(select(Store.default_language).where(
        Store.id == principal.store_id))
    return [agent_language, store_language]


async def walk_read(db: AsyncSession, principal: Principal, row: TreeWalk) -> WalkRead:
    languages = await _languages(db, principal)
    node = trees.node_of(row.snapshot, row.current_node)
    language, text = trees.pick_text(node["text"], languages)
    answers = [AnswerRead(id=a["id"], label=trees.pick_text(a["label"], [language])[1])
               for a in node.get("answers", [])]
    current = NodeRead(id=node["id"], kind=node["kind"], text=text, answers=answers,
                       outcome=node.get("outcome"))
    return WalkRead(id=row.id, tree_id=row.tree_id, tree_name=row.tree_name,
                    tree_version=row.tree_version, ticket_id=row.ticket_id,
                    started_by_id=row.started_by_id, status=row.status,
                    language=language, current=current, path=row.path, outcome=row.outcome,
                    started_at=row.started_at, finished_at=row.finished_at)


# --- pre-approved actions ----------------------------------------------------------------------

@router.get("/pre-approved-actions", response_model=list[ActionRead])
async def list_actions(db: SessionDep, principal: CanReadTickets) -> list[ActionRead]:
    return [action_read(a) for a in await queries.list_actions(db, store_id=principal.store_id)]


@router.post("/pre-approved-actions", response_model=ActionRead,
             status_code=status.HTTP_201_CREATED)
async def create_action(body: ActionCreate, db: SessionDep, principal: CanManageSettings
                        ) -> ActionRead:
    row = await actions.create_action(
        db, store_id=principal.store_id, actor=principal.actor, name=body.name, kind=body.kind,
        currency=body.currency, max_amount=body.max_amount,
        limits_=[lim.model_dump(exclude_none=True) for lim in body.limits],
        macro_id=body.macro_id, description=body.description, is_active=body.is_active)
    return action_read(row)


@router.get("/pre-approved-actions/{action_id}", response_model=ActionRead)
async def get_action(action_id: IdPath, db: SessionDep, principal: CanReadTickets
                     ) -> ActionRead:
    return action_read(await queries.get_action(db, store_id=principal.store_id,
                                                action_id=action_id))


@router.patch("/pre-approved-actions/{action_id}", response_model=ActionRead)
async def update_action(action_id: IdPath, body: ActionUpdate, db: SessionDep,
                        principal: CanManageSettings) -> ActionRead:
    row = await queries.get_action(db, store_id=principal.store_id, action_id=action_id)
    changes = body.changes()
    if "limits" in changes:
        changes["limits"] = [lim.model_dump(exclude_none=True) for lim in body.limits or []]
    return action_read(await actions.update_action(db, action=row, actor=principal.actor,
                                                   changes=changes))


@router.delete("/pre-approved-actions/{action_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_action(action_id: IdPath, db: SessionDep, principal: CanManageSettings
                        ) -> Response:
    row = await queries.get_action(db, store_id=principal.store_id, action_id=action_id)
    await actions.delete_action(db, action=row, actor=principal.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- grants and approvals ----------------------------------------------------------------------

@router.post("/tickets/{ticket_id}/grants", response_model=GrantRead,
             status_code=status.HTTP_201_CREATED)
async def request_grant(ticket_id: IdPath, body: GrantCreate, db: SessionDep,
                        principal: CanRequestGrants) -> GrantRead:
    """Grant a pre-approved action: "granted" within every limit (the customer is told by
    the action's macro), else "pending_approval" naming the limits it goes over."""
    ticket = await get_ticket(db, store_id=principal.store_id, ticket_id=ticket_id)
    grant = await actions.request_grant(
        db, ticket=ticket, action_id=body.action_id, principal=principal, amount=body.amount,
        reason=body.reason, values=body.values)
    return grant_read(grant)


@router.get("/tickets/{ticket_id}/grants", response_model=list[GrantRead])
async def ticket_grants(ticket_id: IdPath, db: SessionDep, principal: CanReadTickets
                        ) -> list[GrantRead]:
    ticket = await get_ticket(db, store_id=principal.store_id, ticket_id=ticket_id)
    return [grant_read(g) for g in await queries.ticket_grants(db, ticket_id=ticket.id)]


@router.get("/grants/report", response_model=GrantReport)
async def grant_report(
    db: SessionDep, principal: CanReadReports,
    start: Annotated[datetime, Query(alias="from", description="Granted at or after")],
    end: Annotated[datetime, Query(alias="to", description="Granted before")],
    group_by: Literal["action", "agent", "kind"] = "action",
) -> GrantReport:
    """What was granted, per action, agent or kind, with totals per currency."""
    try:
        start, end = ensure_utc(start), ensure_utc(end)
    except ValueError:
        raise Invalid(GrantError.INVALID_PERIOD, "from and to need a time zone "
                      "(e.g. 2026-11-01T00:00:00Z)", field="from") from None
    if end <= start:
        raise Invalid(GrantError.INVALID_PERIOD, "to must be after from", field="to")
    rows = await queries.grant_report(db, store_id=principal.store_id, start=start, end=end,
                                      group_by=group_by)
    totals: dict[str | None, list[int]] = {}
    for row in rows:
        total = totals.setdefault(row.currency, [0, 0])
        total[0] += row.count
        total[1] += row.amount or 0
    return GrantReport(
        group_by=group_by,
        rows=[ReportRow(key=r.key, label=r.label, currency=r.currency, count=r.count,
                        amount=_decimal(r.amount, r.currency)) for r in rows],
        totals=[ReportTotal(currency=c, count=t[0], amount=_decimal(t[1], c))
                for c, t in sorted(totals.items(), key=lambda i: i[0] or "")],
    )


@router.get("/grants/{grant_id}", response_model=GrantRead)
async def get_grant(grant_id: IdPath, db: SessionDep, principal: CanReadTickets) -> GrantRead:
    return grant_read(await queries.get_grant(db, store_id=principal.store_id,
                                              grant_id=grant_id))


@router.get("/approvals", response_model=list[GrantRead])
async def list_approvals(
    db: SessionDep, principal: CanApprove,
    approval_status: Annotated[Literal["pending", "approved", "declined"] | None,
                               Query(alias="status")] = None,
) -> list[GrantRead]:
    """Approval requests, newest first (an approval's id is its grant's id)."""
    rows = await queries.list_approvals(db, store_id=principal.store_id,
                                        status=approval_status)
    return [grant_read(g) for g in rows]


@router.post("/approvals/{approval_id}/approve", response_model=GrantRead)
async def approve(approval_id: IdPath, db: SessionDep, principal: CanApprove,
                  body: ApprovalDecision | None = None) -> GrantRead:
    grant = await actions.approve(db, store_id=principal.store_id, grant_id=approval_id,
                                  principal=principal, note=body.note if body else None)
    return grant_read(grant)


@router.post("/approvals/{approval_id}/decline", response_model=GrantRead)
async def decline(approval_id: IdPath, body: DeclineIn, db: SessionDep, principal: CanApprove
                  ) -> GrantRead:
    grant = await actions.decline(db, store_id=principal.store_id, grant_id=approval_id,
                                  principal=principal, reason=body.reason)
    return grant_read(grant)


# --- escalation trees --------------------------------------------------------------------------

@router.get("/escalation-trees", response_model=list[TreeRead])
async def list_trees(db: SessionDep, principal: CanReadTickets) -> list[TreeRead]:
    return [tree_read(t) for t in await queries.list_trees(db, store_id=principal.store_id)]


@router.post("/escalation-trees", response_model=TreeRead, status_code=status.HTTP_201_CREATED)
async def create_tree(body: TreeCreate, db: SessionDep, principal: CanManageSettings
                      ) -> TreeRead:
    tree = await walks.create_tree(
        db, store_id=principal.store_id, actor=principal.actor, name=body.name,
        nodes=[n.model_dump(mode="json", exclude_none=True) for n in body.nodes],
        description=body.description, is_active=body.is_active)
    return tree_read(tree)


@router.post("/escalation-trees/defaults", response_model=TreeRead,
             status_code=status.HTTP_201_CREATED)
async def install_default_tree(db: SessionDep, principal: CanManageSettings) -> TreeRead:
    """The return/refund tree from the ABCD retailer guidelines, with the refund, store credit
    and reship actions and macros it uses (kept when they exist); refused when installed."""
    tree = await seed.install_default_tree(db, store_id=principal.store_id,
                                           actor=principal.actor)
    return tree_read(tree)


@router.get("/escalation-trees/{tree_id}", response_model=TreeRead)
async def get_tree(tree_id: IdPath, db: SessionDep, principal: CanReadTickets) -> TreeRead:
    return tree_read(await queries.get_tree(db, store_id=principal.store_id, tree_id=tree_id))


@router.patch("/escalation-trees/{tree_id}", response_model=TreeRead)
async def update_tree(tree_id: IdPath, body: TreeUpdate, db: SessionDep,
                      principal: CanManageSettings) -> TreeRead:
    tree = await queries.get_tree(db, store_id=principal.store_id, tree_id=tree_id)
    return tree_read(await walks.update_tree(db, tree=tree, actor=principal.actor,
                                             changes=body.changes()))


@router.delete("/escalation-trees/{tree_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_tree(tree_id: IdPath, db: SessionDep, principal: CanManageSettings
                      ) -> Response:
    tree = await queries.get_tree(db, store_id=principal.store_id, tree_id=tree_id)
    await walks.delete_tree(db, tree=tree, actor=principal.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- walks -------------------------------------------------------------------------------------

@router.post("/tickets/{ticket_id}/walks", response_model=WalkRead,
             status_code=status.HTTP_201_CREATED)
async def start_walk(ticket_id: IdPath, body: WalkCreate, db: SessionDep,
                     principal: CanUpdateTickets) -> WalkRead:
    ticket = await get_ticket(db, store_id=principal.store_id, ticket_id=ticket_id)
    walk = await walks.start_walk(db, ticket=ticket, tree_id=body.tree_id, principal=principal)
    return await walk_read(db, principal, walk)


@router.get("/tickets/{ticket_id}/walks", response_model=list[WalkRead])
async def ticket_walks(ticket_id: IdPath, db: SessionDep, principal: CanReadTickets
                       ) -> list[WalkRead]:
    ticket = await get_ticket(db, store_id=principal.store_id, ticket_id=ticket_id)
    return [await walk_read(db, principal, w)
            for w in await queries.ticket_walks(db, ticket_id=ticket.id)]


@router.get("/walks/{walk_id}", response_model=WalkRead)
async def get_walk(walk_id: IdPath, db: SessionDep, principal: CanReadTickets) -> WalkRead:
    walk = await queries.get_walk(db, store_id=principal.store_id, walk_id=walk_id)
    return await walk_read(db, principal, walk)


@router.post("/walks/{walk_id}/answer", response_model=WalkRead)
async def answer_walk(walk_id: IdPath, body: WalkAnswer, db: SessionDep,
                      principal: CanUpdateTickets) -> WalkRead:
    """Take an answer; at an outcome it is applied (reply, grant or approval request,
    escalation, or advice) and the walk completes."""
    walk = await queries.get_walk(db, store_id=principal.store_id, walk_id=walk_id, lock=True)
    ticket = await get_ticket(db, store_id=principal.store_id, ticket_id=walk.ticket_id)
    walk = await walks.answer_walk(
        db, walk=walk, ticket=ticket, principal=principal,
        given=walks.AnswerInput(answer=body.answer, amount=body.amount, reason=body.reason,
                                values=body.values))
    return await walk_read(db, principal, walk)
