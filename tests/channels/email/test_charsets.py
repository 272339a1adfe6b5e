"""Charset decoding: legacy, wrong and missing labels; RFC 2047 words; RFC 2231 parameters."""

from __future__ import annotations

import base64
import binascii

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sellerdesk.channels.email.charsets import (
    codecs_for,
    decode_bytes,
    decode_header_value,
    parse_addresses,
    parse_header_params,
)

KOREAN = "똠얌꿍 소스를 주문했는데 아직 못 받았습니다."
POLISH = "Zażółć gęślą jaźń. Proszę o zwrot pieniędzy za zamówienie."


@pytest.mark.parametrize(
    "label",
    ["ks_c_5601-1987", "KS_C_5601-1987", "ks_c_5601", "euc-kr", "EUC-KR", "euckr",
     "x-windows-949", "cp949", '"ks_c_5601-1987"'],
)
def test_korean_labels_decode_cp949_so_that_the_extension_syllables_survive(label: str) -> None:
    # given Korean text with 똠 (a CP949 extension syllable that Python's EUC-KR codec rejects)
    data = KOREAN.encode("cp949")

    # when / then
    assert decode_bytes(data, label) == KOREAN


def test_python_euc_kr_alone_would_lose_the_syllable() -> None:
    assert KOREAN.encode("cp949").decode("euc_kr", "replace") != KOREAN


@pytest.mark.parametrize(
    ("label", "codec"),
    [("iso-8859-2", "iso-8859-2"), ("ISO_8859-2", "iso-8859-2"), ("latin2", "iso-8859-2"),
     ("windows-1250", "cp1250"), ("cp1250", "cp1250"), ("x-cp1250", "cp1250")],
)
def test_polish_in_its_labelled_charsets(label: str, codec: str) -> None:
    assert decode_bytes(POLISH.encode(codec), label) == POLISH


@pytest.mark.parametrize(
    ("text", "label", "codec"),
    [("Здравствуйте, где мой заказ?", "koi8-r", "koi8-r"),
     ("교환 요청합니다.", "iso-2022-kr", "iso2022_kr"),
     ("ご注文ありがとうございます。", "iso-2022-jp", "iso2022_jp"),
     ("ｶﾀｶﾅの返品", "ISO-2022-JP", "iso2022_jp_ext"),  # half-width kana under the plain label
     ("森鷗外と㐂", "iso-2022-jp", "iso2022_jp_2004"),  # JIS X 0213 under the plain label
     ("①番の商品", "shift_jis", "cp932"),  # NEC special characters: only CP932 has them
     ("代开各地增值税发票", "gb2312", "gb18030"),
     ("佢哋唔啱嘅", "big5", "big5hkscs"),
     ("café – “quoted” €", "iso-8859-1", "cp1252"),  # what senders mean by latin-1
     ("café", "latin1", "latin-1")],
)
def test_legacy_charsets_decode_with_the_codec_senders_really_use(
    text: str, label: str, codec: str
) -> None:
    assert decode_bytes(text.encode(codec), label) == text


def test_utf8_wins_over_a_single_byte_label_that_cannot_be_right() -> None:
    # given UTF-8 bytes labelled iso-8859-1 (a common webmail mistake)
    data = POLISH.encode("utf-8")

    # when / then: not "ZaÅ¼Ã³Å‚Ä‡"
    assert decode_bytes(data, "iso-8859-1") == POLISH


@pytest.mark.parametrize("label", [None, "", "us-ascii", "x-unknown", "unknown-8bit", "bogus-9",
                                   "utf-8", "base64", "unicode_escape", "rot13"])
def test_unlabelled_or_mislabelled_utf8(label: str | None) -> None:
    assert decode_bytes(POLISH.encode("utf-8"), label) == POLISH


@pytest.mark.parametrize(
    ("text", "codec"),
    [(KOREAN, "cp949"), ("안녕하세요. 환불은 언제 되나요?", "cp949"), (POLISH, "cp1250"),
     (POLISH, "iso-8859-2"), ("Dzień dobry, proszę o fakturę.", "cp1250")],
)
def test_raw_8bit_without_a_label_is_guessed(text: str, codec: str) -> None:
    assert decode_bytes(text.encode(codec), None) == text


def test_iso_2022_without_a_label_is_recognised_by_its_escapes() -> None:
    assert decode_bytes("교환 요청".encode("iso2022_kr"), None) == "교환 요청"
    assert decode_bytes("返品".encode("iso2022_jp"), "us-ascii") == "返品"


def test_invalid_utf8_bytes_become_replacement_characters_only_where_broken() -> None:
    data = "Zażółć gęślą jaźń ".encode() + b"\xff\xfe" + " – zamówienie".encode()

    assert decode_bytes(data, "utf-8") == "Zażółć gęślą jaźń \ufffd\ufffd – zamówienie"


def test_a_damaged_byte_in_labelled_korean_keeps_the_rest() -> None:
    data = ("가" * 60).encode("cp949") + b"\xff"

    assert decode_bytes(data, "euc-kr") == "가" * 60 + "\ufffd"


def test_backslashes_are_never_escapes() -> None:
    text = "C:\\Users\\Ewa\\Nowy folder\\n \\x41 \\u0041"

    assert decode_bytes(text.encode(), "utf-8") == text
    assert decode_bytes(text.encode("cp1250"), "windows-1250") == text
    assert decode_bytes(text.encode(), "unicode_escape") == text


def test_utf16_label_on_text_without_nul_bytes_is_ignored() -> None:
    assert decode_bytes(b"plain ascii", "utf-16") == "plain ascii"


def test_utf7_lone_surrogates_are_replaced() -> None:
    assert decode_bytes(b"a+2AA-b", "utf-7") == "a\ufffdb"


@pytest.mark.parametrize(
    ("label", "expected"),
    [("ks_c_5601-1987", ("cp949",)), ("EUC-KR", ("cp949",)), ("gbk", ("gb18030",)),
     ("iso-8859-1", ("cp1252", "latin-1")), ("us-ascii", ()), (None, ()), ("nonsense", ()),
     ("utf-8*pl", ("utf-8",)), ("charset=utf-8", ("utf-8",)), ("unicode-escape", ())],
)
def test_codecs_for_labels(label: str | None, expected: tuple[str, ...]) -> None:
    assert codecs_for(label) == expected


# --- RFC 2047 ------------------------------------------------------------------------------


def _b(text: str, label: str, codec: str | None = None) -> str:
    return f"=?{label}?B?{base64.b64encode(text.encode(codec or label)).decode()}?="


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=?UTF-8?B?VGVzdG92w6Fjw60gZW1haWw=?=", "Testovácí email"),
        ("=?UTF-8?Q?Zam=C3=B3wienie_123?=", "Zamówienie 123"),
        ("=?utf-8?q?Zam=C3=B3wienie?= =?utf-8?q?_123?=", "Zamówienie 123"),
        ("=?utf-8?q?Zam=C3=B3wienie?=\r\n =?utf-8?q?_123?=", "Zamówienie 123"),
        ("=?utf-8?q?a?==?utf-8?q?b?=", "ab"),  # no whitespace between words
        ("Re: =?utf-8?q?Zam=C3=B3wienie?= 123", "Re: Zamówienie 123"),
        (_b("똠얌꿍 주문", "ks_c_5601-1987", "cp949"), "똠얌꿍 주문"),
        (_b("배송", "euc-kr", "cp949") + " " + _b("문의", "EUC-KR", "cp949"), "배송문의"),
        ("=?iso-8859-2?Q?Za=BF=F3=B3=E6?= =?windows-1250?Q?_g=EA=9Cl=B9?=", "Zażółć gęślą"),
        ("=?utf-8*pl?q?Cze=C5=9B=C4=87?=", "Cześć"),  # RFC 2231 language tag
        ("=?UTF-8?B?7ZWc6rWt?=", "한국"),
        ("=?UTF-8?B?7ZWc6rW?=", "한\ufffd"),  # truncated base64: what is there, decoded
        ("=?utf-8?Q?broken?", "=?utf-8?Q?broken?"),  # not an encoded word: kept as written
        ("=?x-bogus?Q?plain?=", "plain"),
        ("=?utf-8?Q?C:\\Users\\Ewa\\Nowy_folder?=", "C:\\Users\\Ewa\\Nowy folder"),
        ("=?utf-8?Q?hello world?=", "hello world"),  # spaces inside a broken Q word
    ],
)
def test_encoded_words(value: str, expected: str) -> None:
    assert decode_header_value(value) == expected


def test_a_character_split_between_two_encoded_words_is_joined() -> None:
    # given "ż" (C5 BC) split across two B words, as some encoders do
    first = base64.b64encode("Za\u017c".encode()[:3]).decode()
    second = base64.b64encode("Za\u017c".encode()[3:] + "ółć".encode()).decode()

    value = f"=?utf-8?B?{first}?= =?utf-8?B?{second}?="

    assert decode_header_value(value) == "Zażółć"


def test_a_base64_quantum_split_between_words_is_joined() -> None:
    encoded = base64.b64encode("Zażółć gęślą".encode()).decode()

    value = f"=?utf-8?B?{encoded[:5]}?= =?utf-8?B?{encoded[5:]}?="

    assert decode_header_value(value) == "Zażółć gęślą"


def test_raw_8bit_header_text_is_decoded_with_the_hint() -> None:
    raw = "Zwrot zamówienia".encode("cp1250").decode("ascii", "surrogateescape")

    assert decode_header_value(raw, "windows-1250") == "Zwrot zamówienia"
    assert decode_header_value("Żółw".encode().decode("ascii", "surrogateescape")) == "Żółw"


# --- RFC 2231 and MIME parameters ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("attachment; filename*=UTF-8''Faktura%20%E2%80%93%20za%C5%BC%C3%B3%C5%82%C4%87.pdf",
         "Faktura – zażółć.pdf"),
        ("attachment; filename*0*=utf-8''Zdj%C4%99cie%20; filename*1*=paczki; "
         'filename*2=".jpg"', "Zdjęcie paczki.jpg"),
        ("attachment; filename*1*=%B3.txt; filename*0*=iso-8859-2''%B3%F3d%BC", "łódźł.txt"),
        ('attachment; filename="=?UTF-8?B?7JiB7IiY7KadLnBkZg==?="', "영수증.pdf"),
        ('attachment; filename="C:\\Users\\Ewa\\Nowy folder\\a.txt"',
         "C:\\Users\\Ewa\\Nowy folder\\a.txt"),
        ('attachment; filename="say \\"hi\\".txt"', 'say "hi".txt'),
        ("attachment; filename=plain name.txt", "plain name.txt"),
        ('attachment; filename="unterminated.txt', "unterminated.txt"),
        ("attachment; filename*=ks_c_5601-1987''%8Cc%BE%E4.txt", "똠얌.txt"),
    ],
)
def test_filename_parameters(value: str, expected: str) -> None:
    disposition, params = parse_header_params(value)

    assert disposition == "attachment"
    assert params["filename"] == expected


def test_raw_8bit_filenames_in_utf8_and_cp949() -> None:
    utf8 = 'attachment; filename="Gwarancja łóżka.pdf"'.encode().decode("ascii", "surrogateescape")
    cp949 = 'attachment; filename="영수증.pdf"'.encode("cp949").decode("ascii", "surrogateescape")

    assert parse_header_params(utf8)[1]["filename"] == "Gwarancja łóżka.pdf"
    assert parse_header_params(cp949)[1]["filename"] == "영수증.pdf"


def test_content_type_parameters() -> None:
    ctype, params = parse_header_params('Text/Plain; Charset="ks_c_5601-1987"; format=flowed;')

    assert ctype == "text/plain"
    assert params == {"charset": "ks_c_5601-1987", "format": "flowed"}


# --- addresses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Jan Kowalski <Jan.Kowalski@Example.PL>", [("Jan Kowalski", "jan.kowalski@example.pl")]),
        ("alice@example.com <bob@example.com>", [("alice@example.com", "bob@example.com")]),
        ('"Kowalski, Jan" <jan@example.pl>, ewa@example.pl (Ewa)',
         [("Kowalski, Jan", "jan@example.pl"), ("Ewa", "ewa@example.pl")]),
        ("Kowalski, Jan <jan@example.pl>", [("Kowalski, Jan", "jan@example.pl")]),
        ("Undisclosed-Recipients:;", []),
        ("team: a@example.com, b@example.com;", [("", "a@example.com"), ("", "b@example.com")]),
        ('"C:\\Users\\Ewa" <ewa@example.pl>', [("C:\\Users\\Ewa", "ewa@example.pl")]),
        ("<@relay.example:user@example.com>", [("", "user@example.com")]),
    ],
)
def test_parse_addresses(value: str, expected: list[tuple[str, str]]) -> None:
    assert parse_addresses([value]) == expected


# --- properties ----------------------------------------------------------------------------

_ALPHABET = st.sampled_from(
    list("abcXYZ019 .,:;!?-_=()[]\"'/\\@#%&*+~") + list("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")
    + list("가나다똠얌꿍한국어주문") + list("日本語€–“”") + ["😀"]
)


def _q_encode(data: bytes) -> str:
    safe = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!*+-/"
    return "".join(chr(byte) if byte in safe else "_" if byte == 0x20 else f"={byte:02X}"
                   for byte in data)


@settings(max_examples=300, deadline=None)
@given(text=st.text(_ALPHABET, min_size=1, max_size=60), chunk=st.integers(1, 20),
       encoding=st.sampled_from("QB"), separator=st.sampled_from([" ", "\r\n ", "", "\t"]))
def test_encoded_words_round_trip(text: str, chunk: int, encoding: str, separator: str) -> None:
    # given the text in UTF-8 words cut at arbitrary byte positions (splitting characters)
    data = text.encode()
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)]
    words = [f"=?utf-8?{encoding}?"
             + (base64.b64encode(p).decode() if encoding == "B" else _q_encode(p)) + "?="
             for p in pieces]

    # when / then
    assert decode_header_value(separator.join(words)) == text


@settings(max_examples=200, deadline=None)
@given(text=st.text(_ALPHABET, min_size=1, max_size=80))
def test_header_values_folded_by_the_standard_library_round_trip(text: str) -> None:
    from email.message import EmailMessage

    from sellerdesk.channels.email.mime import parse_email

    # given a message whose Subject the standard library encoded and folded
    message = EmailMessage()
    message["From"] = "Ewa <ewa@example.pl>"
    message["Subject"] = text
    raw = message.as_bytes()

    # when / then: the subject comes back (whitespace normalised, as subjects are)
    assert parse_email(raw, max_attachment_bytes=1024).subject == " ".join(text.split())


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400),
       label=st.one_of(st.none(), st.text(max_size=24), st.sampled_from(
           ["utf-8", "ks_c_5601-1987", "euc-kr", "iso-2022-kr", "iso-2022-jp", "utf-16",
            "utf-7", "koi8-r", "windows-1250", "iso-8859-2", "gb2312", "big5", "shift_jis",
            "unicode_escape", "idna", "punycode", "base64", "zlib", "rot13", "x-unknown"])))
def test_decode_bytes_never_raises(data: bytes, label: str | None) -> None:
    text = decode_bytes(data, label)

    assert isinstance(text, str)
    text.encode("utf-8")  # no lone surrogates: it can be stored


@settings(max_examples=300, deadline=None)
@given(value=st.text(max_size=120))
def test_decode_header_value_never_raises(value: str) -> None:
    assert isinstance(decode_header_value(value), str)


def test_q_encoding_helper_matches_binascii_for_plain_text() -> None:
    text = "Zażółć gęślą (ok?)".encode()

    assert binascii.a2b_qp(_q_encode(text), header=True) == text
