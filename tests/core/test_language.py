import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from sellerdesk.core.text import SUPPORTED_LANGUAGES, detect_language, language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Proszę o zwrot pieniędzy za uszkodzoną paczkę", "pl"),
        ("배송이 아직 안 왔어요. 언제 도착하나요?", "ko"),
        ("Where is my order? It has been two weeks.", "en"),
        ("Wo ist meine Bestellung? Ich warte seit zwei Wochen.", "de"),
        ("注文した商品がまだ届きません", "ja"),
        ("Kde je moje objednávka?", "cs"),
    ],
)
def test_seller_messages_are_detected(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["12345 !!!", "", "   ", "ok", "👍👍"])
def test_text_without_enough_letters_has_no_language(text: str) -> None:
    assert detect_language(text) is None


def test_hangul_is_detected_without_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: a model that must not be reached
    def no_model() -> language._Identifier:
        raise AssertionError("the model was called for Hangul text")

    monkeypatch.setattr(language, "_identifier", no_model)

    # when / then
    assert detect_language("환불") == "ko"
    assert detect_language("주문번호 114-2233445 환불해 주세요 please") == "ko"


def test_detected_languages_stay_within_the_supported_set() -> None:
    result = detect_language("Di mana pesanan saya? Sudah dua minggu saya menunggu.")

    assert result is None or result in SUPPORTED_LANGUAGES


def test_the_model_loads_once_under_concurrent_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: no model loaded yet, and a loader that counts its calls
    loads: list[int] = []
    load = language._load_identifier
    started = threading.Barrier(8)

    def counting_load() -> language._Identifier:
        loads.append(1)
        return load()

    monkeypatch.setattr(language, "_model", None)
    monkeypatch.setattr(language, "_load_identifier", counting_load)

    def detect(_: int) -> str | None:
        started.wait()
        return detect_language("Where is my order? It has been two weeks.")

    # when
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(detect, range(8)))

    # then
    assert results == ["en"] * 8
    assert loads == [1]
