"""Macro templates: variables, missing values, language fallback, and the two sandbox walls."""

from __future__ import annotations

import pytest
from jinja2 import UndefinedError
from jinja2.sandbox import SecurityError

from sellerdesk.automation.macros import templating
from sellerdesk.automation.macros.templating import (
    MAX_OUTPUT_CHARS,
    MAX_TEMPLATE_CHARS,
    SANDBOX,
    check_variants,
    choose_language,
    first_name,
    render,
)
from sellerdesk.core.errors import Invalid

VALUES: dict[str, str | None] = {
    "customer.name": "Ewa Nowak", "customer.first_name": "Ewa", "customer.email": None,
    "ticket.id": "42", "ticket.subject": "Gdzie paczka?", "order.number": None,
    "order.tracking_url": None, "agent.name": "Jan", "store.name": "Acme",
}


def refusal(source: str, language: str = "en") -> Invalid:
    with pytest.raises(Invalid) as caught:
        check_variants({language: source})
    return caught.value


def test_variables_are_filled_and_missing_ones_are_visible_and_listed() -> None:
    source = ("Hi {{ customer.first_name }} ({{ customer.email }}), order {{ order.number }}, "
              "ticket #{{ ticket.id }}, again {{ order.number }}. {{ agent.name }}, "
              "{{ store.name }}")

    rendered = render("en", source, VALUES)

    assert rendered.text == ("Hi Ewa ({{ customer.email }}), order {{ order.number }}, "
                             "ticket #42, again {{ order.number }}. Jan, Acme")
    assert rendered.missing == ("customer.email", "order.number")


def test_default_and_if_handle_absent_values_on_purpose() -> None:
    source = ("{{ order.number | default('your order') }}"
              "{% if order.tracking_url %}: {{ order.tracking_url }}{% endif %}"
              "{{ ' by ' ~ customer.name | upper }}"
              "{{ '' if customer.email else '.' }}")

    rendered = render("en", source, VALUES)

    assert rendered.text == "your order by EWA NOWAK."
    assert rendered.missing == ()


def test_blank_values_count_as_missing() -> None:
    rendered = render("en", "{{ agent.name }}!", {**VALUES, "agent.name": "  "})

    assert rendered.text == "{{ agent.name }}!"
    assert rendered.missing == ("agent.name",)


@pytest.mark.parametrize(("source", "reason"), [
    ("{{ ''.__class__.__mro__ }}", "attribute '__mro__' is not allowed"),
    ("{{ cycler.__init__.__globals__ }}", "attribute '__globals__' is not allowed"),
    ("{{ cycler }}", "'cycler' is not a macro variable"),
    ("{{ customer.name.__class__ }}", "attribute '__class__' is not allowed"),
    ("{{ customer.password }}", "'customer.password' is not a macro variable"),
    ("{{ customer }}", "'customer' is not a macro variable"),
    ("{{ customer.name.upper() }}", "function calls are not allowed"),
    ("{{ lipsum(10) }}", "function calls are not allowed"),
    ("{% for i in range(10**9) %}x{% endfor %}", "loops are not allowed"),
    ("{{ customer['name'] }}", "subscripts are not allowed"),
    ("{{ 'x' * 100000000 }}", "operators are not allowed"),
    ("{% set x = 1 %}", "assignments are not allowed"),
    ("{% include 'base.txt' %}", "includes are not allowed"),
    ("{{ customer.name | attr('__class__') }}", "filter 'attr' is not allowed"),
    ("{{ customer.name | default(customer.email) }}", "only constant arguments"),
    ("{% if customer.name is defined %}x{% endif %}", "tests (is ...) are not allowed"),
])
def test_unsafe_templates_are_refused_when_saved(source: str, reason: str) -> None:
    error = refusal("Dzień dobry\n" + source, "pl")

    assert error.code == "macro.invalid_template"
    assert error.field == "variants.pl"
    assert error.message.startswith("variant 'pl', line 2: ")
    assert reason in error.message


def test_a_syntax_error_names_the_variant_and_line() -> None:
    error = refusal("안녕하세요\n\n{{ customer.name }\n감사합니다", "ko")

    assert error.code == "macro.invalid_template"
    assert error.field == "variants.ko"
    assert error.message.startswith("variant 'ko', line 3: syntax error: ")


def test_rendering_runs_the_same_check_so_an_unchecked_template_never_runs() -> None:
    # a template that bypassed saving (written straight into the table) is refused all the same
    with pytest.raises(Invalid) as caught:
        render("en", "{{ ''.__class__.__mro__ }}", VALUES)

    assert caught.value.code == "macro.invalid_template"


@pytest.mark.parametrize("source", [
    "{{ customer.__class__ }}",
    "{{ customer.values }}",
    "{{ customer.name.__class__.__mro__ }}",
    "{{ customer['name'] }}",
    "{{ range(3) }}",
    "{{ cycler.__init__.__globals__ }}",
])
def test_the_sandbox_alone_reaches_nothing_but_the_variables(source: str) -> None:
    # given the environment without the save-time check
    template = SANDBOX.from_string(source)
    context = templating._namespaces(VALUES)  # the plain namespaces render() passes in

    # then every way out is refused rather than rendered
    with pytest.raises((SecurityError, UndefinedError)):
        template.render(context)


def test_output_is_capped() -> None:
    # given a template within the size limit that multiplies a long value
    source = "{{ ticket.subject }}" * (MAX_TEMPLATE_CHARS // 20)
    values = {**VALUES, "ticket.subject": "x" * 2000}

    with pytest.raises(Invalid) as caught:
        render("en", source, values)

    assert caught.value.code == "macro.output_too_large"
    assert str(MAX_OUTPUT_CHARS) in caught.value.message


def test_an_oversized_template_is_refused() -> None:
    error = refusal("x" * (MAX_TEMPLATE_CHARS + 1))

    assert error.code == "macro.template_too_large"
    assert error.field == "variants.en"


@pytest.mark.parametrize(("codes", "stored"), [
    (["en", "ko", "pl"], ["en", "ko", "pl"]),
    (["pt_BR", "zh-Hant", "fil", "es-419"], ["pt-br", "zh-hant", "fil", "es-419"]),
])
def test_language_codes_are_normalized(codes: list[str], stored: list[str]) -> None:
    assert list(check_variants(dict.fromkeys(codes, "Hi"))) == stored


@pytest.mark.parametrize("code", ["e", "english", "12", "en-", "en us", "x" * 9, ""])
def test_a_code_that_is_not_a_language_code_is_refused(code: str) -> None:
    error = refusal("Hi", code)

    assert error.code == "macro.invalid_language"
    assert error.field == f"variants.{code}"


def test_the_same_language_twice_is_refused() -> None:
    with pytest.raises(Invalid) as caught:
        check_variants({"pl": "Cześć", "PL": "Dzień dobry"})

    assert (caught.value.code, caught.value.field) == ("macro.duplicate_language", "variants.PL")


@pytest.mark.parametrize(("ticket", "store", "expected"), [
    ("ko", "pl", "ko"),      # the ticket's language first
    ("pl", "en", "pl"),
    ("ko-KR", "en", "ko"),   # then its primary language
    ("de", "pl", "pl"),      # then the store's default
    (None, "ko", "ko"),
    ("de", "fr", "en"),      # then English
    (None, None, "en"),
])
def test_language_fallback(ticket: str | None, store: str | None, expected: str) -> None:
    variants = {"en": "Hi", "ko": "안녕하세요", "pl": "Cześć"}

    assert choose_language(variants, ticket_language=ticket, store_language=store) == expected


def test_without_english_any_variant_answers_the_same_one_every_time() -> None:
    variants = {"pl": "Cześć", "ko": "안녕하세요"}

    assert choose_language(variants, ticket_language="de", store_language="fr") == "ko"


@pytest.mark.parametrize(("name", "expected"), [
    ("Ewa Nowak", "Ewa"), ("  Zoë   van Dijk ", "Zoë"), ("김민준", "김민준"),
    ("김 민준", "김 민준"), ("", None), (None, None),
])
def test_first_name(name: str | None, expected: str | None) -> None:
    assert first_name(name) == expected


@pytest.mark.parametrize("source", [
    "{{ " + "(" * 5000 + "customer.name" + ")" * 5000 + " }}",
    "{{ " + "not " * 4000 + "customer.name }}",
    "{% if customer.name %}" * 150 + "x" + "{% endif %}" * 150,
])
def test_deeply_nested_templates_are_refused_not_crashed(source: str) -> None:
    error = refusal(source)

    assert error.code == "macro.invalid_template"
    assert "nested more than 100 levels" in error.message
