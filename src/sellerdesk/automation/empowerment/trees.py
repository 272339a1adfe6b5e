"""Escalation trees: the checks a tree passes before it is saved, and reading its nodes.

A tree is a list of nodes. A question has text and answers, each leading to another node; an
outcome says what happens at the end: resolve (send a macro), action (grant a pre-approved
action, which may become an approval request), escalate (team and/or assignee, maybe a
priority) or advice (its text is what the agent should do). The root is the one node no
answer leads to. Every problem is refused with a code and the field path of the node.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent, Team
from sellerdesk.automation.empowerment.errors import TreeError
from sellerdesk.automation.empowerment.models import PreApprovedAction
from sellerdesk.automation.empowerment.money import from_minor, to_minor
from sellerdesk.automation.macros.models import Macro
from sellerdesk.core.errors import Invalid
from sellerdesk.tickets.states import Priority

NODE_KINDS = ("question", "outcome")
OUTCOME_TYPES = ("resolve", "action", "escalate", "advice")
_OUTCOME_FIELDS: dict[str, tuple[set[str], set[str]]] = {  # type → (required, allowed)
    "resolve": ({"macro_id"}, {"macro_id"}),
    "action": ({"action_id"}, {"action_id", "amount"}),
    "escalate": (set(), {"team_id", "assignee_id", "priority"}),
    "advice": (set(), set()),
}
MAX_NODES = 500
_NODE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,4}){0,2}$")


def _text(value: Any, field: str, what: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not value:
        raise Invalid(TreeError.MISSING_TEXT, f"{what} needs a text in at least one language",
                      field=field)
    result: dict[str, str] = {}
    for code, text in value.items():
        language = str(code).strip().casefold().replace("_", "-")
        if not _LANGUAGE.match(language):
            raise Invalid(TreeError.INVALID_LANGUAGE, f"{str(code)[:20]!r} is not a language "
                          "code such as en, ko or pl", field=f"{field}.{str(code)[:20]}")
        if not isinstance(text, str) or not text.strip():
            raise Invalid(TreeError.MISSING_TEXT, f"{what}: the {language} text is blank",
                          field=f"{field}.{code}")
        result[language] = text.strip()
    return result


def _outcome(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise Invalid(TreeError.INVALID_OUTCOME, "an outcome node needs an outcome "
                      f"(type {', '.join(OUTCOME_TYPES)})", field=field)
    kind = value.get("type")
    if kind not in OUTCOME_TYPES:
        raise Invalid(TreeError.INVALID_OUTCOME, f"unknown outcome type {str(kind)[:30]!r} "
                      f"(use {', '.join(OUTCOME_TYPES)})", field=f"{field}.type")
    required, allowed = _OUTCOME_FIELDS[kind]
    given = {k for k, v in value.items() if k != "type" and v is not None}
    extra = sorted(given - allowed)
    if extra:
        raise Invalid(TreeError.UNEXPECTED_FIELD, f"a {kind} outcome does not take {extra[0]}"
                      + (f" (it takes {', '.join(sorted(allowed))})" if allowed else ""),
                      field=f"{field}.{extra[0]}")
    lacking = sorted(required - given)
    if lacking:
        raise Invalid(TreeError.INVALID_OUTCOME, f"a {kind} outcome needs {lacking[0]}",
                      field=f"{field}.{lacking[0]}")
    if kind == "escalate":
        if not given & {"team_id", "assignee_id"}:
            raise Invalid(TreeError.INVALID_OUTCOME, "an escalate outcome needs team_id, "
                          "assignee_id or both", field=f"{field}.team_id")
        priority = value.get("priority")
        if priority is not None and priority not in {p.value for p in Priority}:
            raise Invalid(TreeError.INVALID_OUTCOME, "priority must be one of "
                          f"{', '.join(p.value for p in Priority)}", field=f"{field}.priority")
    result: dict[str, Any] = {"type": kind}
    for key in sorted(given):
        raw = value[key]
        result[key] = str(raw) if isinstance(raw, Decimal) else raw
    return result


def _nodes(nodes: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each node on its own: kind, id, text, answers or outcome."""
    if not nodes:
        raise Invalid(TreeError.NO_NODES, "a tree needs at least one node", field="nodes")
    if len(nodes) > MAX_NODES:
        raise Invalid(TreeError.TOO_MANY_NODES, f"a tree has at most {MAX_NODES} nodes",
                      field="nodes")
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, node in enumerate(nodes):
        where = f"nodes.{i}"
        kind = node.get("kind")
        if kind not in NODE_KINDS:
            raise Invalid(TreeError.UNKNOWN_NODE_KIND, f"unknown node kind {str(kind)[:30]!r} "
                          f"(use {' or '.join(NODE_KINDS)})", field=f"{where}.kind")
        node_id = node.get("id")
        if not isinstance(node_id, str) or not _NODE_ID.match(node_id):
            raise Invalid(TreeError.INVALID_NODE_ID, "a node id is 1-64 letters, digits, "
                          "'_', '.', ':' or '-'", field=f"{where}.id")
        if node_id in seen:
            raise Invalid(TreeError.DUPLICATE_NODE, f"node id {node_id!r} is used twice",
                          field=f"{where}.id")
        seen.add(node_id)
        item: dict[str, Any] = {"id": node_id, "kind": kind,
                                "text": _text(node.get("text"), f"{where}.text",
                                              f"node {node_id!r}")}
        if kind == "question":
            if node.get("outcome") is not None:
                raise Invalid(TreeError.UNEXPECTED_FIELD, f"question {node_id!r} cannot have "
                              "an outcome (make an outcome node)", field=f"{where}.outcome")
            item["answers"] = _answers(node.get("answers"), where, node_id)
        else:
            if node.get("answers"):
                raise Invalid(TreeError.UNEXPECTED_FIELD, f"outcome {node_id!r} cannot have "
                              "answers (make it a question)", field=f"{where}.answers")
            item["outcome"] = _outcome(node.get("outcome"), f"{where}.outcome")
        result.append(item)
    return result


def _answers(answers: Any, where: str, node_id: str) -> list[dict[str, Any]]:
    if not answers:
        raise Invalid(TreeError.NO_ANSWERS, f"question {node_id!r} needs at least one answer",
                      field=f"{where}.answers")
    result = []
    ids: set[str] = set()
    for j, answer in enumerate(answers):
        field = f"{where}.answers.{j}"
        answer_id = answer.get("id")
        if not isinstance(answer_id, str) or not _NODE_ID.match(answer_id):
            raise Invalid(TreeError.INVALID_NODE_ID, "an answer id is 1-64 letters, digits, "
                          "'_', '.', ':' or '-'", field=f"{field}.id")
        if answer_id in ids:
            raise Invalid(TreeError.DUPLICATE_ANSWER, f"question {node_id!r} has answer "
                          f"{answer_id!r} twice", field=f"{field}.id")
        ids.add(answer_id)
        result.append({"id": answer_id,
                       "label": _text(answer.get("label"), f"{field}.label",
                                      f"answer {answer_id!r}"),
                       "next": answer.get("next")})
    return result


def _check_edges(nodes: list[dict[str, Any]]) -> str:
    """Every answer leads to a node, there are no cycles, and exactly one root: its id."""
    index = {n["id"]: i for i, n in enumerate(nodes)}
    incoming: set[str] = set()
    for i, node in enumerate(nodes):
        for j, answer in enumerate(node.get("answers", [])):
            if answer["next"] not in index:
                raise Invalid(TreeError.UNKNOWN_NEXT_NODE,
                              f"answer {answer['id']!r} of {node['id']!r} leads to "
                              f"{str(answer['next'])[:64]!r}, which is not a node of this tree",
                              field=f"nodes.{i}.answers.{j}.next")
            incoming.add(answer["next"])
    _check_cycles(nodes, index)
    roots = [n["id"] for n in nodes if n["id"] not in incoming]
    if not roots:
        raise Invalid(TreeError.NO_ROOT, "every node is the next of some answer, so the tree "
                      "has no root", field="nodes")
    if len(roots) > 1:
        raise Invalid(TreeError.SEVERAL_ROOTS,
                      f"a tree has exactly one root (a node no answer leads to); these are "
                      f"all roots: {', '.join(repr(r) for r in roots[:10])}",
                      field=f"nodes.{index[roots[1]]}")
    root: str = roots[0]
    return root


def _check_cycles(nodes: list[dict[str, Any]], index: dict[str, int]) -> None:
    done: set[str] = set()
    for start in nodes:
        if start["id"] in done:
            continue
        # Iterative depth-first search; `trail` is the current path, for the message.
        trail: list[str] = [start["id"]]
        on_trail = {start["id"]}
        stack = [iter(enumerate(start.get("answers", [])))]
        while stack:
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
                finished = trail.pop()
                on_trail.discard(finished)
                done.add(finished)
                continue
            j, answer = step
            target = answer["next"]
            if target in on_trail:
                loop = trail[trail.index(target):] + [target]
                raise Invalid(TreeError.CYCLE, "the answers loop: "
                              + " → ".join(repr(n) for n in loop),
                              field=f"nodes.{index[trail[-1]]}.answers.{j}.next")
            if target in done:
                continue
            trail.append(target)
            on_trail.add(target)
            stack.append(iter(enumerate(nodes[index[target]].get("answers", []))))


async def _check_references(db: AsyncSession, store_id: int, nodes: list[dict[str, Any]]
                            ) -> None:
    """Macros, actions, teams and agents named by outcomes exist in this store."""
    for i, node in enumerate(nodes):
        outcome = node.get("outcome")
        if outcome is None:
            continue
        where = f"nodes.{i}.outcome"
        if "macro_id" in outcome and await db.scalar(select(Macro.id).where(
                Macro.id == outcome["macro_id"], Macro.store_id == store_id)) is None:
            raise Invalid(TreeError.UNKNOWN_MACRO, f"no macro {outcome['macro_id']} in this "
                          "store", field=f"{where}.macro_id")
        if "action_id" in outcome:
            action = (await db.execute(select(PreApprovedAction).where(
                PreApprovedAction.id == outcome["action_id"],
                PreApprovedAction.store_id == store_id))).scalar_one_or_none()
            if action is None:
                raise Invalid(TreeError.UNKNOWN_ACTION, f"no pre-approved action "
                              f"{outcome['action_id']} in this store", field=f"{where}.action_id")
            if "amount" in outcome:
                if action.currency is None:
                    raise Invalid(TreeError.INVALID_OUTCOME, f"{action.name!r} moves no money, "
                                  "so the outcome takes no amount", field=f"{where}.amount")
                minor = to_minor(Decimal(outcome["amount"]), action.currency,
                                 code=TreeError.INVALID_OUTCOME, field=f"{where}.amount")
                outcome["amount"] = str(from_minor(minor, action.currency))
        if "team_id" in outcome and await db.scalar(select(Team.id).where(
                Team.id == outcome["team_id"], Team.store_id == store_id)) is None:
            raise Invalid(TreeError.UNKNOWN_TEAM, f"no team {outcome['team_id']} in this store",
                          field=f"{where}.team_id")
        if "assignee_id" in outcome and await db.scalar(select(Agent.id).where(
                Agent.id == outcome["assignee_id"], Agent.store_id == store_id,
                Agent.is_active.is_(True))) is None:
            raise Invalid(TreeError.UNKNOWN_AGENT, f"no active agent {outcome['assignee_id']} "
                          "in this store", field=f"{where}.assignee_id")


async def check_tree(db: AsyncSession, *, store_id: int, nodes: Sequence[Mapping[str, Any]]
                     ) -> dict[str, Any]:
    """The definition as stored, {"root", "nodes"}; refused naming the first problem."""
    checked = _nodes(nodes)
    root = _check_edges(checked)
    await _check_references(db, store_id, checked)
    return {"root": root, "nodes": checked}


def node_of(definition: Mapping[str, Any], node_id: str) -> dict[str, Any]:
    for node in definition["nodes"]:
        if node["id"] == node_id:
            result: dict[str, Any] = node
            return result
    raise KeyError(node_id)


def pick_text(texts: Mapping[str, str], languages: Sequence[str | None]) -> tuple[str, str]:
    """(language, text): the first wanted language present, then English, then the first."""
    for code in [*languages, "en"]:
        if not code:
            continue
        value = code.strip().casefold().replace("_", "-")
        for candidate in (value, value.split("-", 1)[0]):
            if candidate in texts:
                return candidate, texts[candidate]
    first = sorted(texts)[0]
    return first, texts[first]
