"""Rule conditions: the fields and operators a rule may use, validation of a condition tree
(refused with a code and the path of the bad part), and compilation into plain Python closures
that evaluate on a Facts snapshot without touching the database.

A tree is a group, {"all": [...]} or {"any": [...]}, whose items are groups or leaves
{"field": ..., "op": ..., "value": ...}. An empty "all" matches every event.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sellerdesk.automation.calendars import is_open
from sellerdesk.automation.macros.templating import normalize_language
from sellerdesk.automation.rules.errors import RuleError
from sellerdesk.automation.rules.facts import ABSENT, Facts, fold
from sellerdesk.automation.sla import TargetKind
from sellerdesk.channels.registry import CHANNEL_TYPES
from sellerdesk.core.errors import Invalid
from sellerdesk.core.ids import MAX_ID
from sellerdesk.core.text import query_groups
from sellerdesk.tickets.states import Priority, Status
from sellerdesk.tickets.tags import normalize_tag

MAX_NESTING = 4
MAX_LEAVES = 50
MAX_VALUES = 100
MAX_TEXT = 200
MAX_KEYWORD = 64

Predicate = Callable[[Facts], bool]


class Kind(Enum):
    TEXT = "text"
    CHOICE = "choice"  # one of a fixed list
    KEYWORD = "keyword"  # free text compared whole, case-folded (marketplace, intent)
    LANGUAGE = "language"
    TAGS = "tags"
    ID = "id"  # a team, agent or channel of the store
    HOURS = "hours"  # the event's time against a business-hours calendar


@dataclass(frozen=True, slots=True)
class Field:
    kind: Kind
    choices: tuple[str, ...] = ()
    entity: str | None = None  # team | agent | channel | calendar (checked against the store)


FIELDS: dict[str, Field] = {
    "ticket.subject": Field(Kind.TEXT),
    "ticket.status": Field(Kind.CHOICE, tuple(s.value for s in Status)),
    "ticket.priority": Field(Kind.CHOICE, tuple(p.value for p in Priority)),
    "ticket.marketplace": Field(Kind.KEYWORD),
    "ticket.language": Field(Kind.LANGUAGE),
    "ticket.tags": Field(Kind.TAGS),
    "ticket.team_id": Field(Kind.ID, entity="team"),
    "ticket.assignee_id": Field(Kind.ID, entity="agent"),
    # Reserved for triage: a ticket without an intent attribute never matches on it.
    "ticket.intent": Field(Kind.KEYWORD),
    "message.text": Field(Kind.TEXT),
    "customer.email": Field(Kind.TEXT),
    "customer.name": Field(Kind.TEXT),
    "customer.language": Field(Kind.LANGUAGE),
    "channel.type": Field(Kind.CHOICE, CHANNEL_TYPES),
    "channel.id": Field(Kind.ID, entity="channel"),
    "event.previous_status": Field(Kind.CHOICE, tuple(s.value for s in Status)),
    "event.sla_target": Field(Kind.CHOICE, tuple(k.value for k in TargetKind)),
    "business_hours": Field(Kind.HOURS, entity="calendar"),
}


class Shape(Enum):
    NONE = "none"  # no value
    ONE = "one"
    MANY = "many"  # a list (a single value is taken as a list of one)
    REGEX = "regex"


_EQUALITY = {"is": Shape.ONE, "is_not": Shape.ONE, "in": Shape.MANY, "not_in": Shape.MANY}
_EMPTY = {"is_empty": Shape.NONE, "is_not_empty": Shape.NONE}
OPERATORS: dict[Kind, dict[str, Shape]] = {
    Kind.TEXT: {"contains": Shape.MANY, "not_contains": Shape.MANY, "mentions": Shape.MANY,
                "equals": Shape.ONE, "not_equals": Shape.ONE, "starts_with": Shape.ONE,
                "ends_with": Shape.ONE, "matches": Shape.REGEX, **_EMPTY},
    Kind.CHOICE: dict(_EQUALITY),
    Kind.KEYWORD: {**_EQUALITY, **_EMPTY},
    Kind.LANGUAGE: {**_EQUALITY, **_EMPTY},
    Kind.TAGS: {"has": Shape.MANY, "has_all": Shape.MANY, "has_none": Shape.MANY, **_EMPTY},
    Kind.ID: {**_EQUALITY, **_EMPTY},
    Kind.HOURS: {"within": Shape.ONE, "outside": Shape.ONE},
}


@dataclass(slots=True)
class Checked:
    """A condition tree as stored, and the ids it names (checked against the store after)."""

    tree: dict[str, Any]
    refs: dict[str, dict[int, str]] = field(default_factory=dict)  # entity → id → field path


def _invalid(code: RuleError, message: str, path: str) -> Invalid:
    return Invalid(code, message, field=path)


def check(raw: object, *, path: str = "conditions") -> Checked:
    """The tree normalised (values folded, single values listed); raises Invalid with its path."""
    checked = Checked({})
    counter = [0]
    checked.tree = _check_group(raw, path, 1, counter, checked)
    return checked


def _check_group(raw: object, path: str, depth: int, counter: list[int],
                 checked: Checked) -> dict[str, Any]:
    if not isinstance(raw, Mapping) or len(raw) != 1 or next(iter(raw)) not in ("all", "any"):
        raise _invalid(RuleError.INVALID_CONDITION,
                       'a group is {"all": [...]} or {"any": [...]}', path)
    if depth > MAX_NESTING:
        raise _invalid(RuleError.TOO_COMPLEX,
                       f"groups may be nested at most {MAX_NESTING} deep", path)
    how, items = next(iter(raw.items()))
    path = f"{path}.{how}"
    if not isinstance(items, list):
        raise _invalid(RuleError.INVALID_CONDITION, "must be a list of conditions", path)
    result = []
    for i, item in enumerate(items):
        where = f"{path}.{i}"
        if isinstance(item, Mapping) and "field" not in item and "op" not in item:
            result.append(_check_group(item, where, depth + 1, counter, checked))
        else:
            counter[0] += 1
            if counter[0] > MAX_LEAVES:
                raise _invalid(RuleError.TOO_COMPLEX,
                               f"a rule may have at most {MAX_LEAVES} conditions", where)
            result.append(_check_leaf(item, where, checked))
    return {how: result}


def _check_leaf(raw: object, path: str, checked: Checked) -> dict[str, Any]:
    if not isinstance(raw, Mapping) or set(raw) - {"field", "op", "value"}:
        raise _invalid(RuleError.INVALID_CONDITION,
                       'a condition is {"field": ..., "op": ..., "value": ...}', path)
    name = raw.get("field")
    spec = FIELDS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise _invalid(RuleError.UNKNOWN_FIELD,
                       f"{str(name)[:50]!r} is not a field; use {', '.join(FIELDS)}",
                       f"{path}.field")
    op = raw.get("op")
    shapes = OPERATORS[spec.kind]
    if not isinstance(op, str) or op not in shapes:
        raise _invalid(RuleError.INVALID_OPERATOR,
                       f"{str(op)[:30]!r} is not an operator of {name}; use "
                       f"{', '.join(shapes)}", f"{path}.op")
    shape = shapes[op]
    value = _check_value(spec, op, shape, raw.get("value"), f"{path}.value")
    if spec.entity is not None and value is not None:
        ids = value if isinstance(value, list) else [value]
        for i, entity_id in enumerate(ids):
            where = f"{path}.value" + (f".{i}" if isinstance(value, list) else "")
            checked.refs.setdefault(spec.entity, {}).setdefault(entity_id, where)
    leaf: dict[str, Any] = {"field": name, "op": op}
    if shape is not Shape.NONE:
        leaf["value"] = value
    return leaf


def _check_value(spec: Field, op: str, shape: Shape, raw: object, path: str) -> Any:
    if shape is Shape.NONE:
        if raw is not None:
            raise _invalid(RuleError.INVALID_VALUE, f"{op} takes no value", path)
        return None
    if shape is Shape.REGEX:
        return _check_regex(raw, path)
    if shape is Shape.MANY:
        items = raw if isinstance(raw, list) else [raw]
        if not items or len(items) > MAX_VALUES:
            raise _invalid(RuleError.INVALID_VALUE,
                           f"{op} takes 1-{MAX_VALUES} values", path)
        many = isinstance(raw, list)
        values = [_one(spec, op, v, f"{path}.{i}" if many else path) for i, v in enumerate(items)]
        return list(dict.fromkeys(values))
    if isinstance(raw, list):
        raise _invalid(RuleError.INVALID_VALUE, f"{op} takes one value, not a list", path)
    return _one(spec, op, raw, path)


def _one(spec: Field, op: str, raw: object, path: str) -> Any:
    kind = spec.kind
    if kind in (Kind.ID, Kind.HOURS):
        if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_ID:
            raise _invalid(RuleError.INVALID_VALUE, "must be an id (a positive whole number)",
                           path)
        return raw
    if not isinstance(raw, str) or not raw.strip():
        raise _invalid(RuleError.INVALID_VALUE, "must be a non-empty text", path)
    if kind is Kind.TEXT:
        if len(raw) > MAX_TEXT:
            raise _invalid(RuleError.INVALID_VALUE, f"at most {MAX_TEXT} characters", path)
        if op == "mentions" and not query_groups(raw):
            raise _invalid(RuleError.INVALID_VALUE, f"{raw!r} has no words to look for", path)
        return raw.strip()
    if kind is Kind.CHOICE:
        value = raw.strip().casefold()
        if value not in spec.choices:
            raise _invalid(RuleError.INVALID_VALUE,
                           f"{raw[:50]!r} is not one of {', '.join(spec.choices)}", path)
        return value
    if kind is Kind.LANGUAGE:
        try:
            return normalize_language(raw, field=path)
        except Invalid as exc:
            raise _invalid(RuleError.INVALID_VALUE, exc.message, path) from None
    if kind is Kind.TAGS:
        try:
            return normalize_tag(raw, field=path)
        except Invalid as exc:
            raise _invalid(RuleError.INVALID_VALUE, exc.message, path) from None
    value = " ".join(raw.strip().casefold().split())
    if len(value) > MAX_KEYWORD:
        raise _invalid(RuleError.INVALID_VALUE, f"at most {MAX_KEYWORD} characters", path)
    return value


def _check_regex(raw: object, path: str) -> str:
    if not isinstance(raw, str) or not raw or len(raw) > MAX_TEXT:
        raise _invalid(RuleError.INVALID_REGEX,
                       f"a regular expression of 1-{MAX_TEXT} characters", path)
    try:
        re.compile(raw, re.IGNORECASE)
    except re.error as exc:
        raise _invalid(RuleError.INVALID_REGEX, f"not a valid regular expression: {exc}",
                       path) from None
    return raw


# --- compilation -------------------------------------------------------------------------------

# Cheap tests first inside a group: a rule on Amazon refunds looks at the marketplace before
# it reads the message. Conditions have no side effects, so the order cannot change a result.
_COST = {"mentions": 3, "matches": 4}


def _cost(node: Mapping[str, Any]) -> int:
    if "field" not in node:
        return 5
    kind = FIELDS[node["field"]].kind
    if kind is Kind.TEXT:
        return _COST.get(node["op"], 2)
    return 1 if kind is not Kind.HOURS else 2


def compile_tree(tree: Mapping[str, Any]) -> Predicate:
    """A checked tree (as stored) as one closure; `all` and `any` short-circuit."""
    how, items = next(iter(tree.items()))
    parts = tuple(compile_tree(item) if "field" not in item else _compile_leaf(item)
                  for item in sorted(items, key=_cost))
    if how == "all":
        return _all_of(parts)
    return _any_of(parts)


def _all_of(parts: tuple[Predicate, ...]) -> Predicate:
    if not parts:
        return _always
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts
        return lambda facts: a(facts) and b(facts)

    def all_of(facts: Facts) -> bool:
        # A plain loop: all(<generator>) costs a generator per call on the hottest path.
        for part in parts:  # noqa: SIM110
            if not part(facts):
                return False
        return True

    return all_of


def _any_of(parts: tuple[Predicate, ...]) -> Predicate:
    if not parts:
        return _never
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts
        return lambda facts: a(facts) or b(facts)

    def any_of(facts: Facts) -> bool:
        for part in parts:  # noqa: SIM110
            if part(facts):
                return True
        return False

    return any_of


def _always(facts: Facts) -> bool:
    return True


def _never(facts: Facts) -> bool:
    return False


def _compile_leaf(leaf: Mapping[str, Any]) -> Predicate:
    name: str = leaf["field"]
    op: str = leaf["op"]
    value = leaf.get("value")
    kind = FIELDS[name].kind
    test = _COMPILERS[kind](name, op, value)

    def present(facts: Facts) -> bool:
        # A field the snapshot lacks entirely (intent before triage) matches nothing.
        return facts.values.get(name, ABSENT) is not ABSENT and test(facts)

    return present if name == "ticket.intent" else test


def _text(name: str, op: str, value: Any) -> Predicate:
    if op in ("contains", "not_contains"):
        needles = tuple(fold(v) for v in value)
        negate = op == "not_contains"

        def contains(facts: Facts) -> bool:
            text = facts.folded(name)
            found = text is not None and any(n in text for n in needles)
            return found != negate

        return contains
    if op == "mentions":
        phrases = [tuple(frozenset(g) for g in query_groups(v)) for v in value]
        # One-word phrases match when any of their terms occurs: one set test for all of them.
        words = frozenset().union(*(p[0] for p in phrases if len(p) == 1))
        longer = tuple(p for p in phrases if len(p) > 1)

        def mentions(facts: Facts) -> bool:
            if not facts.values.get(name):
                return False
            terms = facts.terms(name)
            if not words.isdisjoint(terms):
                return True
            return any(all(not group.isdisjoint(terms) for group in phrase)
                       for phrase in longer)

        return mentions
    if op == "matches":
        pattern = re.compile(value, re.IGNORECASE)

        def matches(facts: Facts) -> bool:
            raw = facts.values.get(name)
            return isinstance(raw, str) and pattern.search(raw[:10_000]) is not None

        return matches
    if op in ("is_empty", "is_not_empty"):
        empty = op == "is_empty"
        return lambda facts: (not (facts.values.get(name) or "").strip()) == empty
    needle = fold(value)

    def compare(facts: Facts) -> bool:
        text = facts.folded(name)
        text = text.strip() if text is not None else None
        if op == "equals":
            return text == needle
        if op == "not_equals":
            return text != needle
        if text is None:
            return False
        return text.startswith(needle) if op == "starts_with" else text.endswith(needle)

    return compare


def _equality(name: str, op: str, value: Any,
              normal: Callable[[Facts, str], frozenset[Any]] | None = None) -> Predicate:
    if op in ("is_empty", "is_not_empty"):
        empty = op == "is_empty"
        return lambda facts: (facts.values.get(name) in (None, "")) == empty
    allowed = frozenset(value if isinstance(value, list) else [value])
    negate = op in ("is_not", "not_in")
    if normal is None:
        return lambda facts: (facts.values.get(name) in allowed) != negate
    return lambda facts: (not allowed.isdisjoint(normal(facts, name))) != negate


def _keyword(name: str, op: str, value: Any) -> Predicate:
    return _equality(name, op, value, Facts.keyword)


def _language_field(name: str, op: str, value: Any) -> Predicate:
    # "ko" matches a ticket in "ko-KR": the facts list a code with its shorter prefixes
    return _equality(name, op, value, Facts.language_codes)


def _choice(name: str, op: str, value: Any) -> Predicate:
    return _equality(name, op, value)


def _tags(name: str, op: str, value: Any) -> Predicate:
    if op in ("is_empty", "is_not_empty"):
        empty = op == "is_empty"
        return lambda facts: (not facts.values.get(name)) == empty
    wanted = frozenset(value)
    if op == "has":
        return lambda facts: not wanted.isdisjoint(facts.values.get(name) or ())
    if op == "has_all":
        return lambda facts: wanted <= frozenset(facts.values.get(name) or ())
    return lambda facts: wanted.isdisjoint(facts.values.get(name) or ())


def _hours(name: str, op: str, value: Any) -> Predicate:
    within = op == "within"

    def hours(facts: Facts) -> bool:
        # A calendar deleted since the rule was saved matches neither way.
        calendar = facts.calendars.get(value)
        return calendar is not None and is_open(facts.at, calendar) == within

    return hours


_COMPILERS: dict[Kind, Callable[[str, str, Any], Predicate]] = {
    Kind.TEXT: _text,
    Kind.CHOICE: _choice,
    Kind.KEYWORD: _keyword,
    Kind.LANGUAGE: _language_field,
    Kind.TAGS: _tags,
    Kind.ID: _choice,
    Kind.HOURS: _hours,
}


def calendar_ids(tree: Mapping[str, Any]) -> set[int]:
    """The calendars a stored tree's business-hours conditions name."""
    how, items = next(iter(tree.items()))
    found: set[int] = set()
    for item in items:
        if "field" in item:
            if FIELDS[item["field"]].kind is Kind.HOURS:
                found.add(item["value"])
        else:
            found |= calendar_ids(item)
    return found
