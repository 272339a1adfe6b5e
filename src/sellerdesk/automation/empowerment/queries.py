"""Reads of pre-approved actions, grants, approvals, trees and walks, scoped to a store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent
from sellerdesk.automation.empowerment.errors import (
    ActionError,
    ApprovalError,
    GrantError,
    TreeError,
    WalkError,
)
from sellerdesk.automation.empowerment.models import (
    EscalationTree,
    Grant,
    PreApprovedAction,
    TreeWalk,
)
from sellerdesk.core.errors import NotFound

PENDING = "pending_approval"
APPROVAL_STATUS = {"pending": PENDING, "approved": "granted", "declined": "declined"}


async def get_action(db: AsyncSession, *, store_id: int, action_id: int,
                     field: str = "action_id", lock: bool = False) -> PreApprovedAction:
    """The action; `lock` holds its row until commit (PostgreSQL; SQLite has one writer)."""
    stmt = select(PreApprovedAction).where(PreApprovedAction.id == action_id,
                                           PreApprovedAction.store_id == store_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    action = (await db.execute(stmt)).scalar_one_or_none()
    if action is None:
        raise NotFound(ActionError.NOT_FOUND, f"pre-approved action {action_id} not found",
                       field=field)
    return action


async def list_actions(db: AsyncSession, *, store_id: int) -> list[PreApprovedAction]:
    rows = await db.execute(select(PreApprovedAction)
                            .where(PreApprovedAction.store_id == store_id)
                            .order_by(PreApprovedAction.name, PreApprovedAction.id))
    return list(rows.scalars())


async def get_grant(db: AsyncSession, *, store_id: int, grant_id: int, lock: bool = False,
                    approval: bool = False) -> Grant:
    stmt = select(Grant).where(Grant.id == grant_id, Grant.store_id == store_id)
    if approval:  # only grants that needed approval are approval requests
        stmt = stmt.where(Grant.decided_at.is_not(None) | (Grant.status == PENDING))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    grant = (await db.execute(stmt)).scalar_one_or_none()
    if grant is None:
        if approval:
            raise NotFound(ApprovalError.NOT_FOUND, f"approval request {grant_id} not found",
                           field="approval_id")
        raise NotFound(GrantError.NOT_FOUND, f"grant {grant_id} not found", field="grant_id")
    return grant


async def ticket_grants(db: AsyncSession, *, ticket_id: int) -> list[Grant]:
    rows = await db.execute(select(Grant).where(Grant.ticket_id == ticket_id)
                            .order_by(Grant.id))
    return list(rows.scalars())


async def list_approvals(db: AsyncSession, *, store_id: int, status: str | None,
                         limit: int = 100) -> list[Grant]:
    """Approval requests, newest first: pending, approved (granted after one) or declined."""
    stmt = select(Grant).where(Grant.store_id == store_id)
    if status is None:
        stmt = stmt.where(Grant.decided_at.is_not(None) | (Grant.status == PENDING))
    elif status == "pending":
        stmt = stmt.where(Grant.status == PENDING)
    else:
        stmt = stmt.where(Grant.status == APPROVAL_STATUS[status],
                          Grant.decided_at.is_not(None))
    rows = await db.execute(stmt.order_by(Grant.id.desc()).limit(limit))
    return list(rows.scalars())


@dataclass(frozen=True, slots=True)
class ReportRow:
    key: str
    label: str
    currency: str | None
    count: int
    amount: int | None


async def grant_report(db: AsyncSession, *, store_id: int, start: datetime, end: datetime,
                       group_by: str) -> list[ReportRow]:
    """What was granted in [start, end), per group and currency."""
    column: Any = {"action": Grant.action_id, "agent": Grant.agent_id,
                   "kind": Grant.kind}[group_by]
    rows = (await db.execute(
        select(column, Grant.currency, func.count(), func.sum(Grant.amount))
        .where(Grant.store_id == store_id, Grant.status == "granted",
               Grant.granted_at >= start, Grant.granted_at < end)
        .group_by(column, Grant.currency)
    )).all()
    labels: dict[Any, str] = {}
    keys = [r[0] for r in rows if r[0] is not None]
    if group_by == "action" and keys:
        named = await db.execute(select(PreApprovedAction.id, PreApprovedAction.name)
                                 .where(PreApprovedAction.id.in_(keys)))
        labels = {row[0]: row[1] for row in named.all()}
    elif group_by == "agent" and keys:
        named = await db.execute(select(Agent.id, Agent.name).where(Agent.id.in_(keys)))
        labels = {row[0]: row[1] for row in named.all()}
    result = [
        ReportRow(key=str(key) if key is not None else "", currency=currency,
                  label=labels.get(key, str(key)) if key is not None else "(API token)",
                  count=int(count), amount=int(amount) if currency is not None else None)
        for key, currency, count, amount in rows
    ]
    return sorted(result, key=lambda r: (r.label, r.key, r.currency or ""))


async def get_tree(db: AsyncSession, *, store_id: int, tree_id: int, field: str = "tree_id"
                   ) -> EscalationTree:
    tree = (await db.execute(select(EscalationTree).where(
        EscalationTree.id == tree_id, EscalationTree.store_id == store_id))).scalar_one_or_none()
    if tree is None:
        raise NotFound(TreeError.NOT_FOUND, f"escalation tree {tree_id} not found", field=field)
    return tree


async def list_trees(db: AsyncSession, *, store_id: int) -> list[EscalationTree]:
    rows = await db.execute(select(EscalationTree).where(EscalationTree.store_id == store_id)
                            .order_by(EscalationTree.name, EscalationTree.id))
    return list(rows.scalars())


async def get_walk(db: AsyncSession, *, store_id: int, walk_id: int, lock: bool = False
                   ) -> TreeWalk:
    stmt = select(TreeWalk).where(TreeWalk.id == walk_id, TreeWalk.store_id == store_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    walk = (await db.execute(stmt)).scalar_one_or_none()
    if walk is None:
        raise NotFound(WalkError.NOT_FOUND, f"walk {walk_id} not found", field="walk_id")
    return walk


async def ticket_walks(db: AsyncSession, *, ticket_id: int) -> list[TreeWalk]:
    rows = await db.execute(select(TreeWalk).where(TreeWalk.ticket_id == ticket_id)
                            .order_by(TreeWalk.id))
    return list(rows.scalars())
