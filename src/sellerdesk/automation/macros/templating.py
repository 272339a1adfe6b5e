"""Safe macro templates: a small Jinja2 subset checked when saved, rendered in a sandbox.

Two walls. When a macro is saved, its template's syntax tree may hold only text, the listed
variables (`{{ customer.first_name }}`), a few string filters and `if`/`and`/`or`/`not`:
no loops, calls, subscripts, arithmetic or other names, so `''.__class__`, `range(10**9)` or
`cycler.__init__` are refused with the line. When rendered (the same check runs first, so an
unchecked template never runs), the environment has no globals, no tests and a few filters, and
the only attribute lookup it answers is a variable of the plain namespaces built here: no
Python object's attributes are reachable at all. Output is capped.

A variable without a value renders as a visible `{{ name }}` placeholder and is reported as
missing, never as a blank; `default(...)` and `{% if ... %}` in the template handle absent
values on purpose and are not missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, Undefined, nodes
from jinja2.sandbox import SandboxedEnvironment

from sellerdesk.automation.macros.errors import MacroError
from sellerdesk.core.errors import Invalid

VARIABLES: tuple[str, ...] = (
    "customer.name", "customer.first_name", "customer.email",
    "ticket.id", "ticket.subject",
    "order.number", "order.tracking_url",
    "agent.name", "store.name",
)
ROOTS = frozenset(v.split(".", 1)[0] for v in VARIABLES)

MAX_TEMPLATE_CHARS = 20_000
MAX_OUTPUT_CHARS = 100_000
MAX_VARIANTS = 50
MAX_DEPTH = 100

_FILTERS = ("default", "d", "upper", "lower", "title", "capitalize", "trim")
# Node types a template may contain; everything else is refused by name (_REFUSED or class).
_ALLOWED = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.If,
            nodes.Not, nodes.And, nodes.Or, nodes.CondExpr, nodes.Concat)
_REFUSED: dict[type[nodes.Node], str] = {
    nodes.For: "loops", nodes.Call: "function calls", nodes.Getitem: "subscripts",
    nodes.Slice: "slices", nodes.Macro: "macro definitions", nodes.CallBlock: "call blocks",
    nodes.Assign: "assignments", nodes.AssignBlock: "assignments", nodes.Include: "includes",
    nodes.Import: "imports", nodes.FromImport: "imports", nodes.Extends: "extends",
    nodes.Block: "blocks", nodes.FilterBlock: "filter blocks", nodes.BinExpr: "operators",
    nodes.UnaryExpr: "operators", nodes.Compare: "comparisons", nodes.Test: "tests (is ...)",
    nodes.List: "lists", nodes.Tuple: "tuples", nodes.Dict: "dicts", nodes.With: "with blocks",
}
_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,4}){0,2}$")
_CJK = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u9fff\uac00-\ud7af]")


def placeholder(name: str) -> str:
    return "{{ " + name + " }}"


class _Refused(Exception):
    def __init__(self, reason: str, line: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass(frozen=True, slots=True)
class _Namespace:
    """One variable root (`customer`, `order`...): the only thing a template can look into."""

    root: str
    values: tuple[tuple[str, str | None], ...]


_missing: ContextVar[list[str] | None] = ContextVar("macro_missing", default=None)


class _Missing(Undefined):
    """A known variable without a value: false in `if`, replaced by `default`, and when
    printed a visible placeholder that is recorded as missing."""

    __slots__ = ()

    def __str__(self) -> str:
        name = self._undefined_name or "?"
        found = _missing.get()
        if found is not None:
            found.append(name)
        return placeholder(name)


class _Sandbox(SandboxedEnvironment):
    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return False

    def is_safe_callable(self, obj: Any) -> bool:
        return False

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, _Namespace):
            for key, value in obj.values:
                if key == attribute:
                    name = f"{obj.root}.{key}"
                    return _Missing(name=name) if value is None else value
        return self.unsafe_undefined(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        return self.unsafe_undefined(obj, str(argument))


def _environment() -> _Sandbox:
    env = _Sandbox(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True,
                   auto_reload=False, cache_size=0)
    env.globals.clear()
    env.tests.clear()
    env.filters = {name: env.filters[name] for name in _FILTERS}
    return env


# The sandboxed environment; public so that tests can prove the second wall on its own.
SANDBOX = _environment()


def _fail(node: nodes.Node, reason: str) -> NoReturn:
    raise _Refused(reason, node.lineno)


def _variables_hint() -> str:
    return ", ".join(VARIABLES)


def _check_node(node: nodes.Node, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        _fail(node, f"the template is nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, nodes.Getattr):
        target = node.node
        if not isinstance(target, nodes.Name):
            _fail(node, f"attribute {node.attr!r} is not allowed: only the macro variables "
                        f"may be used ({_variables_hint()})")
        if f"{target.name}.{node.attr}" not in VARIABLES:
            _fail(node, f"'{target.name}.{node.attr}' is not a macro variable "
                        f"(use {_variables_hint()})")
        return
    if isinstance(node, nodes.Name):
        _fail(node, f"{node.name!r} is not a macro variable (use {_variables_hint()})")
    if isinstance(node, nodes.Filter):
        if node.name not in _FILTERS:
            _fail(node, f"filter {node.name!r} is not allowed (use {', '.join(_FILTERS)})")
        if node.kwargs or node.dyn_args or node.dyn_kwargs or not all(
                isinstance(a, nodes.Const) for a in node.args):
            _fail(node, f"filter {node.name!r} takes only constant arguments")
    elif not isinstance(node, _ALLOWED):
        what = next((_REFUSED[c] for c in type(node).__mro__ if c in _REFUSED),
                    f"{type(node).__name__} nodes")
        _fail(node, f"{what} are not allowed")
    for child in node.iter_child_nodes():
        _check_node(child, depth + 1)


@lru_cache(maxsize=512)
def _compile(source: str) -> Template:
    """The checked, compiled template; raises _Refused naming the problem and its line."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise _Refused(f"a template may have at most {MAX_TEMPLATE_CHARS} characters", None)
    try:
        tree = SANDBOX.parse(source)
        _check_node(tree)
        return SANDBOX.from_string(tree)
    except TemplateSyntaxError as exc:
        raise _Refused(f"syntax error: {exc.message}", exc.lineno) from None
    except TemplateError as exc:
        raise _Refused(f"template error: {exc.message}", getattr(exc, "lineno", None)) from None
    except RecursionError:
        # Jinja's parser recurses per nesting level: (((...))) thousands deep ends here.
        raise _Refused(f"the template is nested more than {MAX_DEPTH} levels deep",
                       None) from None


def _invalid(language: str, problem: _Refused) -> Invalid:
    where = f"variant {language!r}" + (f", line {problem.line}" if problem.line else "")
    return Invalid(MacroError.INVALID_TEMPLATE, f"{where}: {problem.reason}",
                   field=f"variants.{language}")


def normalize_language(code: str, *, field: str) -> str:
    """A language code as stored: lower case, '-' between parts (en, ko, pl, pt-br, zh-hant)."""
    value = code.strip().casefold().replace("_", "-")
    if len(value) > 8 or not _CODE.match(value):
        raise Invalid(MacroError.INVALID_LANGUAGE,
                      f"{code!r} is not a language code such as en, ko, pl or pt-BR "
                      "(2-8 characters)", field=field)
    return value


def check_variants(variants: Mapping[str, str]) -> dict[str, str]:
    """Normalized language → template; refuses bad codes, blank or unsafe templates."""
    if not variants:
        raise Invalid(MacroError.NO_VARIANTS, "a macro needs at least one language variant",
                      field="variants")
    if len(variants) > MAX_VARIANTS:
        raise Invalid(MacroError.NO_VARIANTS,
                      f"a macro may have at most {MAX_VARIANTS} language variants",
                      field="variants")
    result: dict[str, str] = {}
    for code, source in variants.items():
        language = normalize_language(code, field=f"variants.{code}")
        if language in result:
            raise Invalid(MacroError.DUPLICATE_LANGUAGE,
                          f"language {language!r} is given twice", field=f"variants.{code}")
        if not source.strip():
            raise Invalid(MacroError.EMPTY_TEXT, f"variant {language!r} is blank",
                          field=f"variants.{code}")
        if len(source) > MAX_TEMPLATE_CHARS:
            raise Invalid(MacroError.TEMPLATE_TOO_LARGE,
                          f"variant {language!r} has more than {MAX_TEMPLATE_CHARS} characters",
                          field=f"variants.{code}")
        try:
            _compile(source)
        except _Refused as problem:
            raise _invalid(language, problem) from None
        result[language] = source
    return result


def choose_language(available: Mapping[str, str], *, ticket_language: str | None,
                    store_language: str | None) -> str:
    """The ticket's language, the store's default, English, then any (the first by code)."""
    wanted: list[str] = []
    for code in (ticket_language, store_language, "en"):
        if code:
            value = code.strip().casefold().replace("_", "-")
            wanted += [value, value.split("-", 1)[0]]
    for code in wanted:
        if code in available:
            return code
    return sorted(available)[0]


def first_name(name: str | None) -> str | None:
    """The first word of a Latin-script name; a Korean (CJK) name whole, as it is addressed."""
    if name is None or not name.strip():
        return None
    clean = " ".join(name.split())
    return clean if _CJK.search(clean) else clean.split(" ", 1)[0]


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    missing: tuple[str, ...]


def _namespaces(values: Mapping[str, str | None]) -> dict[str, _Namespace]:
    grouped: dict[str, list[tuple[str, str | None]]] = {root: [] for root in ROOTS}
    for name in VARIABLES:
        root, key = name.split(".", 1)
        value = values.get(name)
        grouped[root].append((key, value if value is None or value.strip() else None))
    return {root: _Namespace(root, tuple(items)) for root, items in grouped.items()}


def _pieces(template: Template, context: dict[str, Any]) -> Iterator[str]:
    yield from template.generate(context)


def render(language: str, source: str, values: Mapping[str, str | None]) -> Rendered:
    """Render a variant with the given variable values (None: missing), placeholders shown."""
    try:
        template = _compile(source)
    except _Refused as problem:
        raise _invalid(language, problem) from None
    found: list[str] = []
    token = _missing.set(found)
    parts: list[str] = []
    size = 0
    try:
        for piece in _pieces(template, _namespaces(values)):
            size += len(piece)
            if size > MAX_OUTPUT_CHARS:
                raise Invalid(MacroError.OUTPUT_TOO_LARGE,
                              f"variant {language!r} renders more than {MAX_OUTPUT_CHARS} "
                              "characters", field=f"variants.{language}")
            parts.append(piece)
    except TemplateError as exc:
        raise _invalid(language, _Refused(f"cannot render: {exc}", None)) from None
    finally:
        _missing.reset(token)
    return Rendered("".join(parts), tuple(dict.fromkeys(found)))
