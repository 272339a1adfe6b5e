"""Error codes of macros."""

from __future__ import annotations

from enum import StrEnum


class MacroError(StrEnum):
    NOT_FOUND = "macro.not_found"
    NAME_TAKEN = "macro.name_taken"
    NO_VARIANTS = "macro.no_variants"
    INVALID_LANGUAGE = "macro.invalid_language"
    DUPLICATE_LANGUAGE = "macro.duplicate_language"
    INVALID_TEMPLATE = "macro.invalid_template"
    TEMPLATE_TOO_LARGE = "macro.template_too_large"
    INVALID_ACTION = "macro.invalid_action"
    UNKNOWN_VARIABLE = "macro.unknown_variable"
    MISSING_VARIABLES = "macro.missing_variables"
    OUTPUT_TOO_LARGE = "macro.output_too_large"
    EMPTY_TEXT = "macro.empty_text"
