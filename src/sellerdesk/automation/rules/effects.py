"""What a rule does: the action types, their validation (refused with a code and the path of
the bad part), a plan of what they would change on a ticket (dry-run), and running them
through the ticket and macro actions, so that every change is audited as if an agent made it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.automation.macros import actions as macro_actions
from sellerdesk.automation.macros import queries as macro_queries
from sellerdesk.automation.macros import templating
from sellerdesk.automation.macros.errors import MacroError
from sellerdesk.automation.rules.errors import RuleError
from sellerdesk.core.actor import Actor
from sellerdesk.core.db import rollback
from sellerdesk.core.errors import AppError, Invalid, NotFound
from sellerdesk.core.ids import MAX_ID
from sellerdesk.jobs import outbox
from sellerdesk.tickets import actions as ticket_actions
from sellerdesk.tickets.events import publish_after_commit
from sellerdesk.tickets.models import Ticket
from sellerdesk.tickets.queries import ticket_tag_names
from sellerdesk.tickets.states import Priority, Status, can_transition
from sellerdesk.tickets.tags import normalize_tag

MAX_ACTIONS = 20
MAX_TAGS = 20
MAX_TEXT = 5000
MAX_NOTIFY = 500
MAX_URL = 2000
MIN_SECRET = 16
WEBHOOK_JOB = "rules.webhook"

# type → its keys besides "type" (required, optional)
SPEC: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "set_priority": (frozenset({"value"}), frozenset()),
    "set_status": (frozenset({"value"}), frozenset()),
    "set_team": (frozenset({"team_id"}), frozenset()),
    "set_assignee": (frozenset({"agent_id"}), frozenset()),
    "add_tags": (frozenset({"tags"}), frozenset()),
    "remove_tags": (frozenset({"tags"}), frozenset()),
    "apply_macro": (frozenset({"macro_id"}), frozenset({"send"})),
    "reply": (frozenset({"text"}), frozenset()),
    "add_note": (frozenset({"text"}), frozenset()),
    "notify": (frozenset({"message"}), frozenset({"agent_ids"})),
    "webhook": (frozenset({"url", "secret"}), frozenset()),
}
REPEATABLE = frozenset({"add_note", "notify", "webhook"})
_SETTABLE_STATUSES = tuple(s.value for s in Status if s != Status.NEW)


@dataclass(slots=True)
class CheckedActions:
    actions: list[dict[str, Any]]
    refs: dict[str, dict[int, str]] = field(default_factory=dict)  # entity → id → field path


def _invalid(code: RuleError, message: str, path: str) -> Invalid:
    return Invalid(code, message, field=path)


def _id(raw: object, path: str, *, nullable: bool = False) -> int | None:
    if raw is None and nullable:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_ID:
        raise _invalid(RuleError.INVALID_ACTION, "must be an id (a positive whole number)"
                       + (" or null" if nullable else ""), path)
    return raw


def _text(raw: object, path: str, limit: int) -> str:
    if not isinstance(raw, str) or not raw.strip() or len(raw) > limit:
        raise _invalid(RuleError.INVALID_ACTION, f"must be a text of 1-{limit} characters", path)
    return raw


def _template(raw: object, path: str) -> str:
    text = _text(raw, path, MAX_TEXT)
    try:
        templating.check_variants({"en": text})
    except Invalid as exc:
        message = exc.message.removeprefix("variant 'en'").lstrip(", ")
        raise _invalid(RuleError.INVALID_TEMPLATE, message or exc.message, path) from None
    return text


def _tags(raw: object, path: str) -> list[str]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_TAGS:
        raise _invalid(RuleError.INVALID_ACTION, f"must be a list of 1-{MAX_TAGS} tags", path)
    names = []
    for i, name in enumerate(raw):
        if not isinstance(name, str):
            raise _invalid(RuleError.INVALID_ACTION, "a tag is a text", f"{path}.{i}")
        try:
            names.append(normalize_tag(name, field=f"{path}.{i}"))
        except Invalid as exc:
            raise _invalid(RuleError.INVALID_ACTION, exc.message, f"{path}.{i}") from None
    return list(dict.fromkeys(names))


def _url(raw: object, path: str) -> str:
    url = _text(raw, path, MAX_URL).strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid(RuleError.INVALID_ACTION, "must be an http:// or https:// URL", path)
    return url


def check(raw: object, *, path: str = "actions") -> CheckedActions:
    """The actions as stored; raises Invalid naming the action and key at fault."""
    if not isinstance(raw, list) or not raw:
        raise _invalid(RuleError.NO_ACTIONS, "a rule needs at least one action", path)
    if len(raw) > MAX_ACTIONS:
        raise _invalid(RuleError.INVALID_ACTION, f"a rule has at most {MAX_ACTIONS} actions",
                       path)
    checked = CheckedActions([])
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"{path}.{i}"
        if not isinstance(item, Mapping):
            raise _invalid(RuleError.INVALID_ACTION, 'an action is {"type": ..., ...}', where)
        kind = item.get("type")
        if not isinstance(kind, str) or kind not in SPEC:
            raise _invalid(RuleError.UNKNOWN_ACTION,
                           f"{str(kind)[:50]!r} is not an action; use {', '.join(SPEC)}",
                           f"{where}.type")
        required, optional = SPEC[kind]
        for key in item:
            if key != "type" and key not in required | optional:
                raise _invalid(RuleError.INVALID_ACTION,
                               f"{kind} takes {', '.join(sorted(required | optional))}",
                               f"{where}.{str(key)[:50]}")
        for key in required:
            if key not in item:
                raise _invalid(RuleError.INVALID_ACTION, f"{kind} needs {key}",
                               f"{where}.{key}")
        if kind in seen and kind not in REPEATABLE:
            raise _invalid(RuleError.DUPLICATE_ACTION, f"{kind} is given twice", where)
        seen.add(kind)
        checked.actions.append(_check_one(kind, item, where, checked))
    _check_tag_conflict(checked.actions, path)
    return checked


def _ref(checked: CheckedActions, entity: str, entity_id: int | None, path: str) -> None:
    if entity_id is not None:
        checked.refs.setdefault(entity, {}).setdefault(entity_id, path)


def _check_one(kind: str, item: Mapping[str, Any], where: str,
               checked: CheckedActions) -> dict[str, Any]:
    if kind == "set_priority":
        value = item["value"]
        if value not in {p.value for p in Priority}:
            raise _invalid(RuleError.INVALID_ACTION,
                           f"priority must be one of {', '.join(p.value for p in Priority)}",
                           f"{where}.value")
        return {"type": kind, "value": value}
    if kind == "set_status":
        value = item["value"]
        if value not in _SETTABLE_STATUSES:
            raise _invalid(RuleError.INVALID_ACTION,
                           f"status must be one of {', '.join(_SETTABLE_STATUSES)}",
                           f"{where}.value")
        return {"type": kind, "value": value}
    if kind == "set_team":
        team_id = _id(item["team_id"], f"{where}.team_id", nullable=True)
        _ref(checked, "team", team_id, f"{where}.team_id")
        return {"type": kind, "team_id": team_id}
    if kind == "set_assignee":
        agent_id = _id(item["agent_id"], f"{where}.agent_id", nullable=True)
        _ref(checked, "agent", agent_id, f"{where}.agent_id")
        return {"type": kind, "agent_id": agent_id}
    if kind in ("add_tags", "remove_tags"):
        return {"type": kind, "tags": _tags(item["tags"], f"{where}.tags")}
    if kind == "apply_macro":
        macro_id = _id(item["macro_id"], f"{where}.macro_id")
        _ref(checked, "macro", macro_id, f"{where}.macro_id")
        send = item.get("send", False)
        if not isinstance(send, bool):
            raise _invalid(RuleError.INVALID_ACTION, "send must be true or false",
                           f"{where}.send")
        return {"type": kind, "macro_id": macro_id, "send": send}
    if kind in ("reply", "add_note"):
        return {"type": kind, "text": _template(item["text"], f"{where}.text")}
    if kind == "notify":
        message = _text(item["message"], f"{where}.message", MAX_NOTIFY)
        raw_ids = item.get("agent_ids") or []
        if not isinstance(raw_ids, list) or len(raw_ids) > 50:
            raise _invalid(RuleError.INVALID_ACTION, "agent_ids is a list of at most 50 ids",
                           f"{where}.agent_ids")
        ids = []
        for j, raw in enumerate(raw_ids):
            agent_id = _id(raw, f"{where}.agent_ids.{j}")
            _ref(checked, "agent", agent_id, f"{where}.agent_ids.{j}")
            ids.append(agent_id)
        return {"type": kind, "message": message, "agent_ids": list(dict.fromkeys(ids))}
    url = _url(item["url"], f"{where}.url")
    secret = item["secret"]
    if not isinstance(secret, str) or not MIN_SECRET <= len(secret) <= 200:
        raise _invalid(RuleError.INVALID_ACTION,
                       f"the signing secret must be {MIN_SECRET}-200 characters",
                       f"{where}.secret")
    return {"type": kind, "url": url, "secret": secret}


def _check_tag_conflict(actions: list[dict[str, Any]], path: str) -> None:
    added = {t for a in actions if a["type"] == "add_tags" for t in a["tags"]}
    for i, action in enumerate(actions):
        if action["type"] == "remove_tags":
            both = sorted(added & set(action["tags"]))
            if both:
                raise _invalid(RuleError.INVALID_ACTION,
                               f"tag {both[0]!r} is both added and removed", f"{path}.{i}.tags")


# --- planning and running ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TicketState:
    """The ticket fields a rule's field actions compare against."""

    status: str
    priority: str
    team_id: int | None
    assignee_id: int | None
    tags: tuple[str, ...]


def field_changes(actions: list[dict[str, Any]], state: TicketState
                  ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The update_ticket changes the field actions make, and the ones that cannot apply."""
    changes: dict[str, Any] = {}
    skipped: list[dict[str, Any]] = []
    tags = list(state.tags)
    for action in actions:
        kind = action["type"]
        if kind == "set_priority" and action["value"] != state.priority:
            changes["priority"] = action["value"]
        elif kind == "set_team" and action["team_id"] != state.team_id:
            changes["team_id"] = action["team_id"]
        elif kind == "set_assignee" and action["agent_id"] != state.assignee_id:
            changes["assignee_id"] = action["agent_id"]
        elif kind == "set_status" and action["value"] != state.status:
            if can_transition(Status(state.status), Status(action["value"])):
                changes["status"] = action["value"]
            else:
                skipped.append({"type": kind, "reason": f"a {state.status} ticket cannot "
                                                        f"become {action['value']}"})
        elif kind == "add_tags":
            tags += [t for t in action["tags"] if t not in tags]
        elif kind == "remove_tags":
            tags = [t for t in tags if t not in action["tags"]]
    if tags != list(state.tags):
        changes["tags"] = tags
    return changes, skipped


def plan(actions: list[dict[str, Any]], state: TicketState) -> list[dict[str, Any]]:
    """What the actions would do to a ticket in this state (the dry-run's answer)."""
    if state.status == Status.CLOSED:
        return [{"type": "none", "reason": "the ticket is closed"}]
    changes, skipped = field_changes(actions, state)
    planned: list[dict[str, Any]] = []
    for action in actions:
        kind = action["type"]
        if kind in ("apply_macro",):
            planned.append({"type": kind, "macro_id": action["macro_id"],
                            "send": action["send"]})
        elif kind in ("reply", "add_note"):
            planned.append({"type": kind})
        elif kind == "notify":
            planned.append({"type": kind, "agent_ids": action["agent_ids"]})
        elif kind == "webhook":
            planned.append({"type": kind, "url": action["url"]})
    if changes:
        planned.append({"type": "update", "changes": changes})
    return planned + skipped


def ticket_state(ticket: Ticket, tags: list[str]) -> TicketState:
    return TicketState(ticket.status, ticket.priority, ticket.team_id, ticket.assignee_id,
                       tuple(tags))


@dataclass(slots=True)
class Outcome:
    """What one rule run did: ticket changes and each action's result."""

    changes: dict[str, Any] = field(default_factory=dict)
    done: list[dict[str, Any]] = field(default_factory=list)

    def skip(self, kind: str, reason: str) -> None:
        self.done.append({"type": kind, "skipped": reason})


def webhook_key(rule_id: int, event_key: str, index: int) -> str:
    """The Idempotency-Key of one webhook delivery: the same on every retry."""
    return hashlib.sha256(f"{rule_id}:{event_key}:{index}".encode()).hexdigest()[:32]


async def run(
    db: AsyncSession, *, rule_id: int, rule_name: str, actions: list[dict[str, Any]],
    ticket: Ticket, actor: Actor, event: str, event_key: str,
) -> Outcome:
    """Run the actions in a safe order: messages first (a rule that closes the ticket still
    replies), then the field changes, then the notifications. An action that cannot apply is
    recorded as skipped with its reason, and the others still run."""
    outcome = Outcome()
    if ticket.status == Status.CLOSED:
        outcome.skip("all", "the ticket is closed")
        return outcome
    for action in actions:
        kind = action["type"]
        if kind == "apply_macro":
            await _guarded(db, ticket, outcome, kind, _apply_macro(db, action, ticket, actor))
        elif kind in ("reply", "add_note"):
            await _guarded(db, ticket, outcome, kind, _message(db, action, ticket, actor))
    await _update_fields(db, actions, ticket, actor, outcome)
    for index, action in enumerate(actions):
        kind = action["type"]
        if kind == "notify":
            publish_after_commit(db, ticket.store_id, {
                "type": "rule.notification", "ticket_id": ticket.id, "rule_id": rule_id,
                "rule": rule_name, "message": action["message"],
                "agent_ids": action["agent_ids"]})
            outcome.done.append({"type": kind, "agent_ids": action["agent_ids"]})
        elif kind == "webhook":
            outbox.enqueue(db, WEBHOOK_JOB, rule_id=rule_id, action=index, ticket_id=ticket.id,
                           event=event, key=event_key)
            outcome.done.append({"type": kind, "url": action["url"]})
    return outcome


async def _guarded(db: AsyncSession, ticket: Ticket, outcome: Outcome, kind: str,
                   work: Any) -> None:
    """Await one action; a refusal (AppError) is rolled back and recorded as skipped."""
    try:
        result = await work
    except AppError as exc:
        await rollback(db)
        await db.refresh(ticket)
        outcome.skip(kind, exc.message)
        return
    if result is not None:
        outcome.done.append(result)


async def _apply_macro(db: AsyncSession, action: Mapping[str, Any], ticket: Ticket,
                       actor: Actor) -> dict[str, Any]:
    try:
        macro = await macro_queries.get_macro(db, store_id=ticket.store_id,
                                              macro_id=action["macro_id"])
    except NotFound:
        raise Invalid(MacroError.NOT_FOUND, f"macro {action['macro_id']} no longer exists",
                      field="macro_id") from None
    applied = await macro_actions.apply_macro(db, macro=macro, ticket=ticket, actor=actor,
                                              agent_id=None, values={}, send=action["send"])
    return {"type": "apply_macro", "macro_id": macro.id, "sent": action["send"],
            "message_id": applied.message.id if applied.message is not None else None}


async def _message(db: AsyncSession, action: Mapping[str, Any], ticket: Ticket,
                   actor: Actor) -> dict[str, Any]:
    values = await macro_queries.ticket_variables(db, ticket=ticket, agent_id=None)
    rendered = templating.render("en", action["text"], values)
    if action["type"] == "reply":
        if rendered.missing:
            raise Invalid(MacroError.MISSING_VARIABLES,
                          f"no value for {', '.join(rendered.missing)}: the reply was not sent",
                          field="text")
        message = await ticket_actions.reply(db, ticket=ticket, actor=actor,
                                             text=rendered.text)
    else:
        message = await ticket_actions.add_note(db, ticket=ticket, actor=actor,
                                                text=rendered.text)
    return {"type": action["type"], "message_id": message.id}


async def _update_fields(db: AsyncSession, actions: list[dict[str, Any]], ticket: Ticket,
                         actor: Actor, outcome: Outcome) -> None:
    if ticket.status == Status.CLOSED:
        if any(a["type"].startswith(("set_", "add_tags", "remove_tags")) for a in actions):
            outcome.skip("update", "the ticket is closed")
        return
    tags = await ticket_tag_names(db, ticket_id=ticket.id)
    changes, skipped = field_changes(actions, ticket_state(ticket, tags))
    outcome.done.extend({"type": s["type"], "skipped": s["reason"]} for s in skipped)
    if not changes:
        return
    try:
        await ticket_actions.update_ticket(db, ticket=ticket, actor=actor, changes=changes)
    except AppError as exc:
        await rollback(db)
        await db.refresh(ticket)
        outcome.skip("update", exc.message)
        return
    outcome.changes = changes
