"""Writes on escalation trees (admin settings) and agents' walks through them, audited.

Every edit of a tree's nodes is a new version; a walk keeps a snapshot of the version it
started on, so an edit never changes the way under an agent's feet. At an outcome the walk
applies it through the path that owns it: a macro through macros.apply_macro (the reply
path), an action through actions.request_grant (which may become an approval request), an
escalation through tickets.actions.update_ticket; advice only shows its text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.permissions import Principal
from sellerdesk.automation.empowerment import actions as grant_actions
from sellerdesk.automation.empowerment import trees
from sellerdesk.automation.empowerment.errors import TreeError, WalkError
from sellerdesk.automation.empowerment.models import EscalationTree, TreeWalk
from sellerdesk.automation.macros import actions as macro_actions
from sellerdesk.automation.macros.models import Macro
from sellerdesk.core.actor import Actor
from sellerdesk.core.clock import now
from sellerdesk.core.db import commit
from sellerdesk.core.errors import AppError, Conflict, Invalid, NotFound
from sellerdesk.tickets import actions as ticket_actions
from sellerdesk.tickets import audit
from sellerdesk.tickets.errors import TicketError
from sellerdesk.tickets.models import Ticket
from sellerdesk.tickets.states import Status

IN_PROGRESS = "in_progress"
COMPLETED = "completed"


# --- trees -------------------------------------------------------------------------------------

def _snapshot(tree: EscalationTree) -> dict[str, Any]:
    return {"name": tree.name, "description": tree.description, "is_active": tree.is_active,
            "version": tree.version, "nodes": len(tree.definition.get("nodes", []))}


async def _check_name(db: AsyncSession, store_id: int, name: str,
                      exclude_id: int | None = None) -> None:
    stmt = select(EscalationTree.id).where(EscalationTree.store_id == store_id,
                                           EscalationTree.name == name)
    if exclude_id is not None:
        stmt = stmt.where(EscalationTree.id != exclude_id)
    if await db.scalar(stmt) is not None:
        raise Conflict(TreeError.NAME_TAKEN, f"an escalation tree {name!r} exists",
                       field="name")


async def add_tree(
    db: AsyncSession, *, store_id: int, actor: Actor, name: str,
    nodes: Sequence[Mapping[str, Any]], description: str | None = None,
    is_active: bool = True,
) -> EscalationTree:
    """create_tree without the commit."""
    definition = await trees.check_tree(db, store_id=store_id, nodes=nodes)
    await _check_name(db, store_id, name)
    tree = EscalationTree(store_id=store_id, name=name, description=description,
                          is_active=is_active, version=1, definition=definition)
    db.add(tree)
    await db.flush()
    audit.record(db, store_id=store_id, actor=actor, entity_type="escalation_tree",
                 entity_id=tree.id, action="escalation_tree.created",
                 after={**_snapshot(tree), "definition": definition})
    return tree


async def create_tree(
    db: AsyncSession, *, store_id: int, actor: Actor, name: str,
    nodes: Sequence[Mapping[str, Any]], description: str | None = None,
    is_active: bool = True,
) -> EscalationTree:
    tree = await add_tree(db, store_id=store_id, actor=actor, name=name, nodes=nodes,
                          description=description, is_active=is_active)
    await commit(db)
    return tree


async def update_tree(
    db: AsyncSession, *, tree: EscalationTree, actor: Actor, changes: Mapping[str, Any]
) -> EscalationTree:
    """Change name, description, activity or nodes (a new version when the nodes change)."""
    before = _snapshot(tree)
    old_definition = tree.definition
    if "nodes" in changes:
        definition = await trees.check_tree(db, store_id=tree.store_id, nodes=changes["nodes"])
        if definition != tree.definition:
            tree.definition = definition
            tree.version += 1
    if "name" in changes and changes["name"] != tree.name:
        await _check_name(db, tree.store_id, changes["name"], exclude_id=tree.id)
        tree.name = changes["name"]
    if "description" in changes:
        tree.description = changes["description"]
    if "is_active" in changes:
        tree.is_active = changes["is_active"]
    old, new = audit.diff(before, _snapshot(tree))
    if new:
        if tree.definition != old_definition:
            old["definition"], new["definition"] = old_definition, tree.definition
        tree.updated_at = now()
        audit.record(db, store_id=tree.store_id, actor=actor, entity_type="escalation_tree",
                     entity_id=tree.id, action="escalation_tree.updated", before=old, after=new)
    await commit(db)
    return tree


async def delete_tree(db: AsyncSession, *, tree: EscalationTree, actor: Actor) -> None:
    """Refused once walked (the walks are its history): deactivate it instead."""
    walked = await db.scalar(select(TreeWalk.id).where(TreeWalk.tree_id == tree.id).limit(1))
    if walked is not None:
        raise Conflict(TreeError.IN_USE, f"{tree.name!r} has been walked; set is_active to "
                       "false instead", field="tree_id")
    audit.record(db, store_id=tree.store_id, actor=actor, entity_type="escalation_tree",
                 entity_id=tree.id, action="escalation_tree.deleted",
                 before={**_snapshot(tree), "definition": tree.definition})
    await db.delete(tree)
    await commit(db)


# --- walks -------------------------------------------------------------------------------------

def _by(principal: Principal) -> dict[str, Any]:
    actor = principal.actor
    return {"type": actor.type, "id": actor.id}


async def start_walk(db: AsyncSession, *, ticket: Ticket, tree_id: int, principal: Principal
                     ) -> TreeWalk:
    """Start at the root of the tree's current version, on a copy of it."""
    if ticket.status == Status.CLOSED:
        raise Conflict(TicketError.CLOSED, "a closed ticket cannot be changed", field="ticket_id")
    tree = await db.scalar(select(EscalationTree).where(
        EscalationTree.id == tree_id, EscalationTree.store_id == ticket.store_id))
    if tree is None:
        raise NotFound(TreeError.NOT_FOUND, f"escalation tree {tree_id} not found",
                       field="tree_id")
    if not tree.is_active:
        raise Conflict(TreeError.INACTIVE, f"{tree.name!r} is not active", field="tree_id")
    at = now()
    walk = TreeWalk(store_id=ticket.store_id, tree_id=tree.id, tree_name=tree.name,
                    tree_version=tree.version, snapshot=tree.definition, ticket_id=ticket.id,
                    started_by_id=principal.agent_id, status=IN_PROGRESS,
                    current_node=tree.definition["root"], path=[], started_at=at)
    db.add(walk)
    await db.flush()
    audit.record(db, store_id=ticket.store_id, actor=principal.actor, entity_type="walk",
                 entity_id=walk.id, ticket_id=ticket.id, action="walk.started",
                 after={"tree_id": tree.id, "tree": tree.name, "version": tree.version,
                        "node": walk.current_node})
    await commit(db)
    return walk


@dataclass(frozen=True, slots=True)
class AnswerInput:
    answer: str
    amount: Decimal | None = None
    reason: str | None = None
    values: Mapping[str, str] | None = None


async def answer_walk(db: AsyncSession, *, walk: TreeWalk, ticket: Ticket,
                      principal: Principal, given: AnswerInput) -> TreeWalk:
    """Follow an answer of the current question; at an outcome, apply it and finish."""
    if walk.status != IN_PROGRESS:
        raise Conflict(WalkError.FINISHED, f"walk {walk.id} is {walk.status}", field="walk_id")
    node = trees.node_of(walk.snapshot, walk.current_node)
    answer = next((a for a in node.get("answers", []) if a["id"] == given.answer), None)
    if answer is None:
        ids = ", ".join(a["id"] for a in node.get("answers", []))
        raise Invalid(WalkError.UNKNOWN_ANSWER, f"{given.answer[:64]!r} is not an answer to "
                      f"{node['id']!r} (use {ids})", field="answer")
    at = now()
    _, question = trees.pick_text(node["text"], ["en"])
    _, label = trees.pick_text(answer["label"], ["en"])
    step = {"node": node["id"], "question": question, "answer": answer["id"], "label": label,
            "by": _by(principal), "at": at.isoformat()}
    target = trees.node_of(walk.snapshot, answer["next"])
    walk.path = [*walk.path, step]
    walk.current_node = target["id"]
    audit.record(db, store_id=walk.store_id, actor=principal.actor, entity_type="walk",
                 entity_id=walk.id, ticket_id=walk.ticket_id, action="walk.answered",
                 after={"node": node["id"], "answer": answer["id"], "next": target["id"]})
    if target["kind"] != "outcome":
        await commit(db)
        return walk
    walk.status, walk.finished_at = COMPLETED, at
    await _apply_outcome(db, walk=walk, node=target, ticket=ticket, principal=principal,
                         given=given)
    return walk


def _reason(walk: TreeWalk, given: AnswerInput) -> str:
    trail = "; ".join(f"{s['question']} → {s['label']}" for s in walk.path)
    text = f"Escalation tree {walk.tree_name!r} (v{walk.tree_version}): {trail}"
    if given.reason and given.reason.strip():
        text = f"{given.reason.strip()}. {text}"
    return text[:1000]


async def _apply_outcome(db: AsyncSession, *, walk: TreeWalk, node: dict[str, Any],
                         ticket: Ticket, principal: Principal, given: AnswerInput) -> None:
    outcome = node["outcome"]
    kind = outcome["type"]
    result: dict[str, Any] = {"node": node["id"], "type": kind}
    actor = principal.actor
    try:
        if kind == "resolve":
            macro = await db.scalar(select(Macro).where(Macro.id == outcome["macro_id"],
                                                        Macro.store_id == walk.store_id))
            if macro is None:
                raise Conflict(WalkError.OUTCOME_UNAVAILABLE, f"the outcome's macro "
                               f"{outcome['macro_id']} no longer exists", field="answer")
            applied = await macro_actions.apply_macro(
                db, macro=macro, ticket=ticket, actor=actor, agent_id=principal.agent_id,
                values=given.values or {}, send=True)
            result["message_id"] = applied.message.id if applied.message else None
        elif kind == "action":
            amount = Decimal(outcome["amount"]) if "amount" in outcome else given.amount
            grant = await grant_actions.request_grant(
                db, ticket=ticket, action_id=outcome["action_id"], principal=principal,
                amount=amount, reason=_reason(walk, given), values=given.values,
                walk_id=walk.id)
            result.update(grant_id=grant.id, grant_status=grant.status,
                          message_id=grant.message_id)
        elif kind == "escalate":
            changes = {k: outcome[k] for k in ("team_id", "assignee_id", "priority")
                       if k in outcome}
            await ticket_actions.update_ticket(db, ticket=ticket, actor=actor, changes=changes)
            result["changes"] = changes
    except NotFound as exc:
        raise Conflict(WalkError.OUTCOME_UNAVAILABLE, f"the outcome cannot be applied: "
                       f"{exc.message}", field="answer") from None
    except AppError as exc:
        if exc.code == TicketError.UNKNOWN_TEAM or exc.code == TicketError.UNKNOWN_AGENT:
            raise Conflict(WalkError.OUTCOME_UNAVAILABLE, f"the outcome cannot be applied: "
                           f"{exc.message}", field="answer") from None
        raise
    walk.outcome = result
    audit.record(db, store_id=walk.store_id, actor=actor, entity_type="walk",
                 entity_id=walk.id, ticket_id=walk.ticket_id, action="walk.completed",
                 after={"path": [f"{s['node']}:{s['answer']}" for s in walk.path], **result})
    await commit(db)
