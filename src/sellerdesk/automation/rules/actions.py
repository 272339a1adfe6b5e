"""Writes on rules (admin settings): create, update, delete, reorder; each audited, and each
gives the store's rule set a new version so that every process recompiles its rules."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent, Team
from sellerdesk.automation.macros.models import Macro
from sellerdesk.automation.models import Calendar
from sellerdesk.automation.rules import conditions, effects
from sellerdesk.automation.rules.errors import RuleError
from sellerdesk.automation.rules.events import RuleEvent
from sellerdesk.automation.rules.models import Rule, RuleRun, RuleSet
from sellerdesk.channels.models import Channel
from sellerdesk.core.actor import Actor
from sellerdesk.core.clock import now
from sellerdesk.core.db import commit
from sellerdesk.core.errors import Conflict, Invalid
from sellerdesk.tickets import audit

MAX_RULES = 1000

_ENTITIES: dict[str, tuple[Any, RuleError, str]] = {
    "team": (Team, RuleError.UNKNOWN_TEAM, "team"),
    "agent": (Agent, RuleError.UNKNOWN_AGENT, "active agent"),
    "macro": (Macro, RuleError.UNKNOWN_MACRO, "macro"),
    "channel": (Channel, RuleError.UNKNOWN_CHANNEL, "channel"),
    "calendar": (Calendar, RuleError.UNKNOWN_CALENDAR, "calendar"),
}


@dataclass(frozen=True, slots=True)
class Definition:
    """A rule's checked events, conditions and actions, as stored."""

    events: list[str]
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]


def check_events(raw: object, *, field: str = "events") -> list[str]:
    names = [e.value for e in RuleEvent]
    if not isinstance(raw, list) or not raw:
        raise Invalid(RuleError.NO_EVENTS, f"a rule listens to at least one of {', '.join(names)}",
                      field=field)
    for i, event in enumerate(raw):
        if event not in names:
            raise Invalid(RuleError.UNKNOWN_EVENT,
                          f"{str(event)[:50]!r} is not an event; use {', '.join(names)}",
                          field=f"{field}.{i}")
    return list(dict.fromkeys(raw))


async def check_definition(db: AsyncSession, *, store_id: int, events: object,
                           conditions_tree: object, actions: object,
                           require_actions: bool = True) -> Definition:
    """Events, conditions and actions checked, and every id they name found in the store."""
    stored_events = check_events(events)
    checked = conditions.check(conditions_tree)
    refs = {k: dict(v) for k, v in checked.refs.items()}
    stored_actions: list[dict[str, Any]] = []
    if require_actions or actions:
        checked_actions = effects.check(actions)
        stored_actions = checked_actions.actions
        for entity, ids in checked_actions.refs.items():
            for entity_id, path in ids.items():
                refs.setdefault(entity, {}).setdefault(entity_id, path)
    await _check_refs(db, store_id, refs)
    return Definition(stored_events, checked.tree, stored_actions)


async def _check_refs(db: AsyncSession, store_id: int, refs: Mapping[str, Mapping[int, str]]
                      ) -> None:
    for entity, ids in refs.items():
        model, code, noun = _ENTITIES[entity]
        stmt = select(model.id).where(model.id.in_(set(ids)), model.store_id == store_id)
        if model is Agent:
            stmt = stmt.where(Agent.is_active.is_(True))
        found = set((await db.execute(stmt)).scalars())
        for entity_id, path in ids.items():
            if entity_id not in found:
                raise Invalid(code, f"no {noun} {entity_id} in this store", field=path)


def redacted(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The actions without webhook secrets (for reads and the audit trail)."""
    return [{k: v for k, v in a.items() if k != "secret"} for a in actions]


def _snapshot(rule: Rule) -> dict[str, Any]:
    return {"name": rule.name, "description": rule.description, "is_active": rule.is_active,
            "events": list(rule.events), "conditions": rule.conditions,
            "actions": redacted(rule.actions)}


async def _bump(db: AsyncSession, store_id: int) -> None:
    """A new version of the store's rule set (in the caller's transaction)."""
    row = await db.get(RuleSet, store_id, with_for_update=True)
    if row is None:
        db.add(RuleSet(store_id=store_id, version=uuid.uuid4().hex, updated_at=now()))
    else:
        row.version = uuid.uuid4().hex
        row.updated_at = now()


async def _check_name(db: AsyncSession, store_id: int, name: str,
                      exclude_id: int | None = None) -> None:
    stmt = select(Rule.id).where(Rule.store_id == store_id, Rule.name == name)
    if exclude_id is not None:
        stmt = stmt.where(Rule.id != exclude_id)
    if await db.scalar(stmt) is not None:
        raise Conflict(RuleError.NAME_TAKEN, f"a rule {name!r} exists", field="name")


def _keep_secrets(actions: object, old: list[dict[str, Any]]) -> object:
    """Webhook actions sent back without their secret keep the stored one for the same URL
    (reads never show secrets)."""
    if not isinstance(actions, list):
        return actions
    secrets = {a["url"]: a["secret"] for a in old if a["type"] == "webhook"}
    result: list[Any] = []
    for action in actions:
        if (isinstance(action, Mapping) and action.get("type") == "webhook"
                and "secret" not in action and action.get("url") in secrets):
            action = {**action, "secret": secrets[action["url"]]}
        result.append(action)
    return result


async def create_rule(
    db: AsyncSession, *, store_id: int, actor: Actor, name: str, events: object,
    conditions_tree: object, actions: object, description: str | None = None,
    is_active: bool = True, position: int | None = None,
) -> Rule:
    """Save a rule, last in order unless `position` (1-based) puts it earlier."""
    definition = await check_definition(db, store_id=store_id, events=events,
                                        conditions_tree=conditions_tree, actions=actions)
    await _check_name(db, store_id, name)
    rules = await _ordered(db, store_id)
    if len(rules) >= MAX_RULES:
        raise Conflict(RuleError.INVALID_ACTION, f"a store has at most {MAX_RULES} rules",
                       field="name")
    rule = Rule(store_id=store_id, name=name, description=description, is_active=is_active,
                events=definition.events, conditions=definition.conditions,
                actions=definition.actions, position=len(rules) + 1, times_fired=0)
    db.add(rule)
    index = len(rules) if position is None else max(0, min(position - 1, len(rules)))
    rules.insert(index, rule)
    for i, row in enumerate(rules, start=1):
        row.position = i
    await db.flush()
    await _bump(db, store_id)
    audit.record(db, store_id=store_id, actor=actor, entity_type="rule", entity_id=rule.id,
                 action="rule.created", after={**_snapshot(rule), "position": rule.position})
    await commit(db)
    return rule


async def _ordered(db: AsyncSession, store_id: int) -> list[Rule]:
    rows = await db.execute(select(Rule).where(Rule.store_id == store_id)
                            .order_by(Rule.position, Rule.id))
    return list(rows.scalars())


async def update_rule(db: AsyncSession, *, rule: Rule, actor: Actor,
                      changes: Mapping[str, Any]) -> Rule:
    """Change fields; events, conditions and actions are replaced whole (checked again)."""
    before = _snapshot(rule)
    old_actions = list(rule.actions)
    if {"events", "conditions", "actions"} & set(changes):
        definition = await check_definition(
            db, store_id=rule.store_id, events=changes.get("events", rule.events),
            conditions_tree=changes.get("conditions", rule.conditions),
            actions=_keep_secrets(changes.get("actions", rule.actions), rule.actions))
        rule.events = definition.events
        rule.conditions = definition.conditions
        rule.actions = definition.actions
    if "name" in changes and changes["name"] != rule.name:
        await _check_name(db, rule.store_id, changes["name"], exclude_id=rule.id)
        rule.name = changes["name"]
    if "description" in changes:
        rule.description = changes["description"]
    if "is_active" in changes:
        rule.is_active = changes["is_active"]
    old, new = audit.diff(before, _snapshot(rule))
    if new or rule.actions != old_actions:
        rule.updated_at = now()
        await _bump(db, rule.store_id)
        audit.record(db, store_id=rule.store_id, actor=actor, entity_type="rule",
                     entity_id=rule.id, action="rule.updated", before=old, after=new)
    await commit(db)
    return rule


async def delete_rule(db: AsyncSession, *, rule: Rule, actor: Actor) -> None:
    """The rule and its run records go; its audit events stay."""
    audit.record(db, store_id=rule.store_id, actor=actor, entity_type="rule",
                 entity_id=rule.id, action="rule.deleted", before=_snapshot(rule))
    await db.execute(delete(RuleRun).where(RuleRun.rule_id == rule.id))
    await _bump(db, rule.store_id)
    await db.delete(rule)
    await commit(db)


async def reorder_rules(db: AsyncSession, *, store_id: int, actor: Actor,
                        ids: Sequence[int]) -> list[Rule]:
    """Set the order rules run in; `ids` must list each of the store's rules exactly once."""
    rows = {r.id: r for r in await _ordered(db, store_id)}
    if len(set(ids)) != len(ids) or set(ids) != set(rows):
        raise Invalid(RuleError.ORDER_MISMATCH,
                      f"ids must list each of this store's {len(rows)} rules once", field="ids")
    before = [r.id for r in sorted(rows.values(), key=lambda r: (r.position, r.id))]
    for position, rule_id in enumerate(ids, start=1):
        rows[rule_id].position = position
    if before != list(ids):
        await _bump(db, store_id)
        audit.record(db, store_id=store_id, actor=actor, entity_type="store",
                     entity_id=store_id, action="rule.reordered",
                     before={"ids": before}, after={"ids": list(ids)})
    await commit(db)
    return [rows[i] for i in ids]
