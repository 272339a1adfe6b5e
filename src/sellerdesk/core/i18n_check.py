"""Finds every text the code and templates translate, and what each language still lacks.

`python -m sellerdesk.core.i18n_check` prints, per language, the missing texts as JSON ready to
be translated and pasted into an area file, plus texts whose placeholders differ and texts no
longer used. The test suite runs the same check.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from jinja2 import Environment
from jinja2.ext import extract_from_ast

from sellerdesk.core.i18n import DEFAULT_LANGUAGE, LANGUAGES, catalog

# Calls whose first string argument is a message id (the plural form is the second).
_PY_FUNCTIONS = {"_", "translate", "plural", "N_"}
_TEMPLATE_FUNCTIONS = ("_", "plural")
_PLACEHOLDER = re.compile(r"\{(\w*)\}")


@dataclass
class Texts:
    singular: set[str] = field(default_factory=set)
    plural: set[str] = field(default_factory=set)  # msgids used with plural()

    @property
    def all(self) -> set[str]:
        return self.singular | self.plural


def _package_root() -> Path:
    return Path(str(resources.files("sellerdesk")))


def _python_texts(path: Path, texts: Texts) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name not in _PY_FUNCTIONS:
            continue
        strings = [a.value for a in node.args
                   if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if not strings:
            continue
        (texts.plural if name == "plural" else texts.singular).add(strings[0])


def _template_texts(path: Path, env: Environment, texts: Texts) -> None:
    tree = env.parse(path.read_text(encoding="utf-8"))
    for _line, function, message in extract_from_ast(tree, _TEMPLATE_FUNCTIONS, babel_style=False):
        first = message[0] if isinstance(message, tuple) else message
        if isinstance(first, str):
            (texts.plural if function == "plural" else texts.singular).add(first)


def used_texts(root: Path | None = None) -> Texts:
    root = root or _package_root()
    texts = Texts()
    env = Environment(autoescape=True)
    for path in sorted(root.rglob("*.py")):
        _python_texts(path, texts)
    for path in sorted((root / "web" / "templates").rglob("*.html")):
        _template_texts(path, env, texts)
    texts.singular.discard("")
    return texts


@dataclass
class Report:
    missing: dict[str, dict[str, str | list[str]]]
    wrong_placeholders: dict[str, list[str]]
    wrong_plural_shape: dict[str, list[str]]
    unused: dict[str, list[str]]

    @property
    def ok(self) -> bool:
        return not any(any(v.values()) for v in (self.missing, self.wrong_placeholders,
                                                  self.wrong_plural_shape, self.unused))


def check() -> Report:
    texts = used_texts()
    report = Report({}, {}, {}, {})
    for language in LANGUAGES:
        if language == DEFAULT_LANGUAGE:
            continue
        entries = catalog(language)
        forms = 1 if language == "ko" else 3
        report.missing[language] = {
            text: ([text] * forms if text in texts.plural else text)
            for text in sorted(texts.all - entries.keys())
        }
        report.wrong_placeholders[language] = sorted(
            text for text, value in entries.items() if text in texts.all
            for variant in (value if isinstance(value, list) else [value])
            if set(_PLACEHOLDER.findall(variant)) - set(_PLACEHOLDER.findall(text)) - {"n"}
        )
        report.wrong_plural_shape[language] = sorted(
            text for text in texts.plural & entries.keys()
            if not (isinstance(entries[text], list) and len(entries[text]) == forms)
        )
        report.unused[language] = sorted(entries.keys() - texts.all)
    return report


def main() -> int:
    report = check()
    json.dump({"missing": report.missing, "wrong_placeholders": report.wrong_placeholders,
               "wrong_plural_shape": report.wrong_plural_shape, "unused": report.unused},
              sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
