"""Every text the workspace shows exists in Korean and Polish, with the same placeholders."""

from __future__ import annotations

import pytest

from sellerdesk.core import i18n
from sellerdesk.core.i18n_check import check, used_texts


def test_every_text_is_translated_into_every_language() -> None:
    report = check()

    assert report.missing == {"ko": {}, "pl": {}}, (
        "untranslated texts; run `python -m sellerdesk.core.i18n_check`")
    assert report.wrong_placeholders == {"ko": [], "pl": []}
    assert report.wrong_plural_shape == {"ko": [], "pl": []}
    assert report.unused == {"ko": [], "pl": []}


def test_the_extractor_sees_python_and_template_texts() -> None:
    texts = used_texts()

    assert "Sign in" in texts.singular  # templates
    assert "Reset your SellerDesk password" in texts.singular  # translate() in a job
    assert "Not allowed" in texts.singular  # N_() markers
    assert "{n} minute ago" in texts.plural


@pytest.mark.parametrize(("n", "expected"), [
    (1, "1 minutę temu"), (2, "2 minuty temu"), (4, "4 minuty temu"), (5, "5 minut temu"),
    (12, "12 minut temu"), (14, "14 minut temu"), (22, "22 minuty temu"), (25, "25 minut temu"),
    (112, "112 minut temu"), (124, "124 minuty temu"),
])
def test_polish_plurals_take_the_right_form(n: int, expected: str) -> None:
    assert i18n.plural("pl", "{n} minute ago", "{n} minutes ago", n) == expected


def test_korean_has_one_form_and_english_two() -> None:
    assert i18n.plural("ko", "{n} minute ago", "{n} minutes ago", 5) == "5분 전"
    assert i18n.plural("en", "{n} minute ago", "{n} minutes ago", 1) == "1 minute ago"
    assert i18n.plural("en", "{n} minute ago", "{n} minutes ago", 3) == "3 minutes ago"


def test_unknown_languages_fall_back_to_english() -> None:
    assert i18n.translate("de", "Inbox") == "Inbox"
    assert i18n.negotiate("de-DE,de;q=0.9,pl;q=0.8") == "pl"
    assert i18n.negotiate(None) == "en"
