"""Writes on macros (admin settings) and applying a macro to a ticket, audited.

Applying goes through tickets.actions (update_ticket, reply), each of which commits: the
macro's tags and priority first, then the reply together with the macro's status (so a macro
that solves or closes the ticket does so with its reply), then the "macro.applied" event.
Everything that could refuse (missing variables, a closed ticket, a status the ticket cannot
take) is checked before the first write, so a refusal changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.automation.macros import queries, templating
from sellerdesk.automation.macros.errors import MacroError
from sellerdesk.automation.macros.models import Macro
from sellerdesk.core.actor import Actor
from sellerdesk.core.clock import now
from sellerdesk.core.db import commit
from sellerdesk.core.errors import Conflict, Invalid
from sellerdesk.tickets import actions as ticket_actions
from sellerdesk.tickets import audit
from sellerdesk.tickets.errors import TicketError
from sellerdesk.tickets.models import Message, Ticket
from sellerdesk.tickets.queries import ticket_tag_names
from sellerdesk.tickets.states import Priority, Status, can_transition
from sellerdesk.tickets.tags import normalize_tag

MAX_TAGS = 20


def _snapshot(macro: Macro) -> dict[str, Any]:
    return {"name": macro.name, "description": macro.description,
            "variants": dict(macro.variants), "actions": dict(macro.actions)}


def check_actions(actions: Mapping[str, Any]) -> dict[str, Any]:
    """The actions as stored: a status a ticket can be set to, a priority, normalized tags."""
    result: dict[str, Any] = {}
    for key in actions:
        if key not in ("status", "priority", "tags"):
            raise Invalid(MacroError.INVALID_ACTION, f"unknown action {key[:50]!r} (use status, "
                          "priority or tags)", field=f"actions.{key[:50]}")
    status = actions.get("status")
    if status is not None:
        if status not in {s.value for s in Status} - {Status.NEW.value}:
            allowed = ", ".join(s.value for s in Status if s != Status.NEW)
            raise Invalid(MacroError.INVALID_ACTION, f"status must be one of {allowed}",
                          field="actions.status")
        result["status"] = status
    priority = actions.get("priority")
    if priority is not None:
        if priority not in {p.value for p in Priority}:
            allowed = ", ".join(p.value for p in Priority)
            raise Invalid(MacroError.INVALID_ACTION, f"priority must be one of {allowed}",
                          field="actions.priority")
        result["priority"] = priority
    tags = actions.get("tags") or []
    if len(tags) > MAX_TAGS:
        raise Invalid(MacroError.INVALID_ACTION, f"a macro adds at most {MAX_TAGS} tags",
                      field="actions.tags")
    names = list(dict.fromkeys(normalize_tag(t, field=f"actions.tags.{i}")
                               for i, t in enumerate(tags)))
    if names:
        result["tags"] = names
    return result


async def _check_name(db: AsyncSession, store_id: int, name: str,
                      exclude_id: int | None = None) -> None:
    stmt = select(Macro.id).where(Macro.store_id == store_id, Macro.name == name)
    if exclude_id is not None:
        stmt = stmt.where(Macro.id != exclude_id)
    if await db.scalar(stmt) is not None:
        raise Conflict(MacroError.NAME_TAKEN, f"a macro {name!r} exists", field="name")


async def create_macro(
    db: AsyncSession, *, store_id: int, actor: Actor, name: str, variants: Mapping[str, str],
    description: str | None = None, actions: Mapping[str, Any] | None = None,
) -> Macro:
    """Save a macro whose every variant is a safe template; refused with the variant and line."""
    checked_variants = templating.check_variants(variants)
    checked_actions = check_actions(actions or {})
    await _check_name(db, store_id, name)
    macro = Macro(store_id=store_id, name=name, description=description,
                  variants=checked_variants, actions=checked_actions)
    db.add(macro)
    await db.flush()
    audit.record(db, store_id=store_id, actor=actor, entity_type="macro", entity_id=macro.id,
                 action="macro.created", after=_snapshot(macro))
    await commit(db)
    return macro


async def update_macro(
    db: AsyncSession, *, macro: Macro, actor: Actor, changes: Mapping[str, Any]
) -> Macro:
    """Change name, description, variants or actions (variants and actions replaced whole)."""
    before = _snapshot(macro)
    if "variants" in changes:
        macro.variants = templating.check_variants(changes["variants"])
    if "actions" in changes:
        macro.actions = check_actions(changes["actions"] or {})
    if "name" in changes and changes["name"] != macro.name:
        await _check_name(db, macro.store_id, changes["name"], exclude_id=macro.id)
        macro.name = changes["name"]
    if "description" in changes:
        macro.description = changes["description"]
    old, new = audit.diff(before, _snapshot(macro))
    if new:
        macro.updated_at = now()
        audit.record(db, store_id=macro.store_id, actor=actor, entity_type="macro",
                     entity_id=macro.id, action="macro.updated", before=old, after=new)
    await commit(db)
    return macro


async def delete_macro(db: AsyncSession, *, macro: Macro, actor: Actor) -> None:
    audit.record(db, store_id=macro.store_id, actor=actor, entity_type="macro",
                 entity_id=macro.id, action="macro.deleted", before=_snapshot(macro))
    await db.delete(macro)
    await commit(db)


@dataclass(frozen=True, slots=True)
class Applied:
    preview: queries.Preview
    message: Message | None
    ticket: Ticket


def _check_status(ticket: Ticket, status: str | None, *, send: bool) -> None:
    current = Status(ticket.status)
    if current == Status.CLOSED:
        raise Conflict(TicketError.CLOSED, "a closed ticket cannot be changed", field="ticket_id")
    # A reply opens a new ticket unless the macro sets a status itself.
    target = Status(status) if status else (Status.OPEN if send and current == Status.NEW
                                            else None)
    if target is not None and target != current and not can_transition(current, target):
        raise Conflict(TicketError.INVALID_TRANSITION,
                       f"a {current.value} ticket cannot become {target.value}",
                       field="actions.status")


async def _changes(db: AsyncSession, macro: Macro, ticket: Ticket) -> dict[str, Any]:
    """The macro's tag and priority actions that would change the ticket."""
    changes: dict[str, Any] = {}
    priority = macro.actions.get("priority")
    if priority is not None and priority != ticket.priority:
        changes["priority"] = priority
    current = await ticket_tag_names(db, ticket_id=ticket.id)
    added = [t for t in macro.actions.get("tags", []) if t not in current]
    if added:
        changes["tags"] = current + added
    return changes


async def apply_macro(
    db: AsyncSession, *, macro: Macro, ticket: Ticket, actor: Actor, agent_id: int | None,
    values: Mapping[str, str], send: bool,
) -> Applied:
    """Apply the macro's actions and, when `send`, reply with its text; never with blanks."""
    preview = await queries.preview(db, macro=macro, ticket=ticket, agent_id=agent_id,
                                    values=values)
    status: str | None = macro.actions.get("status")
    _check_status(ticket, status, send=send)
    if send and preview.missing:
        raise Invalid(MacroError.MISSING_VARIABLES,
                      f"no value for {', '.join(preview.missing)}: give them in values "
                      "(the preview shows where they go)", field="values")
    if send and not preview.text.strip():
        raise Invalid(MacroError.EMPTY_TEXT,
                      f"variant {preview.language!r} renders no text for this ticket",
                      field=f"variants.{preview.language}")
    changes = await _changes(db, macro, ticket)
    sets_status = status is not None and status != ticket.status
    if not send and sets_status:
        changes["status"] = status
    if changes:
        await ticket_actions.update_ticket(db, ticket=ticket, actor=actor, changes=changes)
    message = None
    if send:
        message = await ticket_actions.reply(
            db, ticket=ticket, actor=actor, text=preview.text, author_agent_id=agent_id,
            status=Status(status) if status else None,
        )
        if sets_status:
            changes["status"] = status
    audit.record(
        db, store_id=ticket.store_id, actor=actor, entity_type="macro", entity_id=macro.id,
        ticket_id=ticket.id, action="macro.applied",
        after={"macro": macro.name, "language": preview.language, "sent": send,
               "message_id": message.id if message is not None else None,
               "changes": changes, "values_given": sorted(values)},
    )
    await commit(db)
    return Applied(preview, message, ticket)
