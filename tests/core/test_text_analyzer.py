import re
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sellerdesk.core.text import MAX_TERM_CHARS, index_terms, query_groups

TERM = re.compile(r"[^\W_]+")


def matches(query: str, document: str, language: str | None = None) -> bool:
    """Whether every group of the query has a term among the document's index terms."""
    terms = set(index_terms(document, language))
    groups = query_groups(query)
    return bool(groups) and all(terms.intersection(group) for group in groups)


def test_korean_is_indexed_as_overlapping_bigrams() -> None:
    # given / when
    terms = index_terms("환불을 요청합니다")

    # then
    assert terms == ["환불", "불을", "요청", "청합", "합니", "니다"]


def test_korean_query_matches_a_longer_word_that_contains_it() -> None:
    assert query_groups("환불") == [["환불"]]
    assert matches("환불", "환불을 요청합니다")


def test_korean_query_does_not_match_a_word_that_only_shares_a_syllable() -> None:
    assert index_terms("불만") == ["불만"]
    assert not matches("환불", "불만")


def test_a_single_cjk_character_between_separators_stays_a_unigram() -> None:
    assert index_terms("비 오는 날") == ["비", "오는", "날"]


def test_japanese_bigrams_run_across_kanji_and_kana() -> None:
    assert index_terms("返品したい") == ["返品", "品し", "した", "たい"]


def test_latin_and_digits_glued_to_hangul_are_split_from_it() -> None:
    assert index_terms("주문번호12345") == ["주문", "문번", "번호", "12345"]


@pytest.mark.parametrize("document", ["zwrotu", "zwrocie", "zwrotów"])
@pytest.mark.parametrize("language", [None, "pl"])
def test_polish_query_matches_inflected_forms(document: str, language: str | None) -> None:
    assert matches("zwrot", document, language)


@pytest.mark.parametrize("language", [None, "pl"])
def test_polish_nominative_matches_genitive(language: str | None) -> None:
    assert matches("paczka", "Nie dostałem paczki", language)


@pytest.mark.parametrize("document", ["refunds", "refunded"])
@pytest.mark.parametrize("language", [None, "en"])
def test_english_query_matches_inflected_forms(document: str, language: str | None) -> None:
    assert matches("refund", document, language)


def test_english_query_does_not_match_a_word_that_contains_it() -> None:
    assert not matches("order", "border")
    assert not matches("order", "border", "en")


def test_order_numbers_split_into_their_digit_groups() -> None:
    assert index_terms("Order 114-2233445-1234567") == ["order", "114", "2233445", "1234567"]
    assert matches("2233445", "Zamówienie nr 114-2233445-1234567 nie dotarło")


def test_a_polish_sentence_keeps_words_in_order_with_their_stems() -> None:
    # given
    text = "Zamówienie nr 114-2233445-1234567 nie dotarło"

    # when
    terms = index_terms(text, "pl")

    # then
    assert terms == ["zamówienie", "nr", "114", "2233445", "1234567", "nie", "dotarło", "dotrzeć"]


def test_polish_diacritics_are_kept_and_case_is_folded() -> None:
    assert index_terms("Żółta ŁÓDKA") == ["żółta", "żółty", "łódka"]


def test_repeated_words_give_one_term() -> None:
    assert index_terms("Paczka paczka PACZKA") == ["paczka"]


def test_a_known_language_keeps_only_that_languages_stems() -> None:
    assert index_terms("refunded", "en") == ["refunded", "refund"]
    assert index_terms("refunded", "pl-PL") == ["refunded", "refundedzień"]
    assert index_terms("refunded", "en_GB") == ["refunded", "refund"]
    assert index_terms("refunded") == ["refunded", "refundedzień", "refund"]


def test_a_known_language_keeps_foreign_stems_from_colliding() -> None:
    # Stempel's guess for English words gives "policy" and "police" the same stem, "polica".
    assert matches("policy", "police")
    assert not matches("policy", "police", "en")


def test_stempel_guesses_that_change_the_first_letter_or_are_short_are_dropped() -> None:
    assert index_terms("still") == ["still"]
    assert index_terms("jest") == ["jest"]


def test_words_shorter_than_three_letters_are_not_stemmed() -> None:
    assert index_terms("o to") == ["o", "to"]


def test_compatibility_forms_are_folded() -> None:
    assert index_terms("ＡＢＣ１２３ x²") == ["abc123", "x2"]
    assert index_terms("ｶﾀｶﾅ") == ["カタ", "タカ", "カナ"]


def test_combining_marks_and_soft_hyphens_do_not_split_words() -> None:
    assert index_terms("İstanbul")[0] == "istanbul"
    assert index_terms("zwro\u00adtu") == index_terms("zwrotu")


def test_punctuation_and_underscores_separate_tokens() -> None:
    assert index_terms("can't snake_case", "en") == ["can", "t", "snake", "case"]


def test_tokens_longer_than_the_cap_are_dropped() -> None:
    assert index_terms("1" * MAX_TERM_CHARS) == ["1" * MAX_TERM_CHARS]
    assert index_terms("1" * (MAX_TERM_CHARS + 1)) == []


def test_query_groups_hold_each_word_with_its_stems() -> None:
    assert query_groups("zwrot paczki") == [["zwrot"], ["paczki", "paczka"]]
    assert query_groups("환불 요청") == [["환불"], ["요청"]]


def test_query_groups_drop_repeated_words() -> None:
    assert query_groups("refund Refund") == [["refund", "refunda"]]


@pytest.mark.parametrize("query", ["", "   ", " !!! ,,, -- ", "_"])
def test_a_query_without_searchable_terms_has_no_groups(query: str) -> None:
    assert query_groups(query) == []


def test_terms_pass_through_fts5_unicode61_unchanged() -> None:
    # given: an FTS5 table tokenizing as the search index does
    db = sqlite3.connect(":memory:")
    table = "CREATE VIRTUAL TABLE t USING fts5(body, tokenize='unicode61 remove_diacritics 0')"
    try:
        db.execute(table)
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no FTS5")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    text = (
        "Proszę o ZWROT pieniędzy (zamówienie #114-2233445-1234567)! 배송이 아직 안 왔어요. "
        "注文した商品がまだ届きません。Straße, İstanbul, ﬁle_name, café, Где мой заказ?"
    )
    terms = index_terms(text)

    # when
    db.execute("INSERT INTO t(body) VALUES (?)", (" ".join(terms),))
    tokens = [term for (term,) in db.execute("SELECT term FROM v ORDER BY offset")]

    # then
    assert tokens == terms


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_terms_are_distinct_letter_digit_runs_within_the_cap(text: str) -> None:
    terms = index_terms(text)

    assert len(terms) == len(set(terms))
    assert all(TERM.fullmatch(term) and len(term) <= MAX_TERM_CHARS for term in terms)


@settings(max_examples=200, deadline=None)
@given(st.text(), st.sampled_from([None, "pl", "en", "ko"]))
def test_a_document_matches_a_query_of_its_own_text(text: str, language: str | None) -> None:
    terms = set(index_terms(text, language))

    assert all(terms.intersection(group) for group in query_groups(text))


def test_output_is_deterministic() -> None:
    text = "Where is my order? Gdzie jest moja paczka? 배송 언제 와요?"

    assert index_terms(text) == index_terms(text)
    assert query_groups(text) == query_groups(text)
