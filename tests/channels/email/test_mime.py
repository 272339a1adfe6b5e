"""parse_email on synthetic mail: charsets, bodies, attachments, priority, bounces, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sellerdesk.channels.base import ParseError
from sellerdesk.channels.email.mime import ParsedEmail, parse_email

SYNTHETIC = Path(__file__).parent / "fixtures" / "synthetic"
LIMIT = 1_000_000


def parse(name: str, *, limit: int = LIMIT) -> ParsedEmail:
    return parse_email((SYNTHETIC / name).read_bytes(), max_attachment_bytes=limit)


def mail(*lines: str, body: str = "Body.") -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


# --- charsets ------------------------------------------------------------------------------


def test_korean_outlook_mail_labelled_ks_c_5601_keeps_every_syllable() -> None:
    email = parse("ko_outlook_ks_c_5601.eml")

    assert email.subject == "똠얌꿍 주문 문의"
    assert email.from_name == "김민지"
    assert email.from_address == "minji.kim@example.kr"
    assert email.text == ("안녕하세요. 똠얌꿍 소스를 주문했는데 아직 못 받았습니다.\n"
                          "주문번호 2024-0012 확인 부탁드립니다.")
    assert email.html == "<p>안녕하세요. 똠얌꿍 소스를 주문했는데 아직 못 받았습니다.</p>"
    assert email.date == datetime(2024, 3, 5, 1, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "subject", "text"),
    [
        ("ko_euc_kr.eml", "배송 문의 똠얌꿍", "배송 문의드립니다. 똠얌꿍 2개 주문했어요."),
        ("ko_iso2022kr.eml", "교환 요청", "교환 요청합니다. 사이즈가 맞지 않아요."),
        ("ja_iso2022jp.eml", "返品について",
         "ご注文ありがとうございます。ｶﾀｶﾅの商品を返品したいです。"),
        ("pl_iso8859_2.eml", "Zwrot: Zażółć gęślą jaźń",
         "Dzień dobry,\nZażółć gęślą jaźń. Proszę o zwrot pieniędzy za zamówienie 123."),
        ("pl_windows1250.eml", "Reklamacja – Zażółć gęślą jaźń",
         "Dzień dobry,\nZażółć gęślą jaźń. Proszę o zwrot pieniędzy za zamówienie 123."),
        ("ru_koi8r.eml", "Где мой заказ?", "Здравствуйте, где мой заказ номер 77?"),
        ("raw_8bit_no_charset.eml", "Zwrot – zamówienie 123",
         "Dzień dobry,\nZażółć gęślą jaźń. Proszę o zwrot pieniędzy za zamówienie 123."),
        ("raw_8bit_cp949_no_charset.eml", "Order question", "안녕하세요. 환불은 언제 되나요?"),
        ("wrong_label_utf8_as_latin1.eml", "Wrong label",
         "Dzień dobry,\nZażółć gęślą jaźń. Proszę o zwrot pieniędzy za zamówienie 123."),
        ("utf8_invalid_bytes.eml", "Invalid UTF-8", "Zażółć gęślą jaźń \ufffd – zamówienie 123"),
    ],
)
def test_charsets_decode_without_mojibake(name: str, subject: str, text: str) -> None:
    email = parse(name)

    assert email.subject == subject
    assert email.text == text


def test_polish_display_name_in_an_encoded_word() -> None:
    assert parse("pl_iso8859_2.eml").from_name == "Ewa Łukasiewicz"


def test_encoded_words_in_several_charsets_in_one_subject() -> None:
    assert parse("mixed_encoded_words.eml").subject == (
        "Zażółć gęślą jaźń — 똠얌꿍 주문 - i więcej 정말 ok !")


def test_backslashes_stay_verbatim_in_subject_and_body() -> None:
    email = parse("backslash_path.eml")

    assert email.subject == "Ścieżka C:\\Users\\Ewa\\Nowy folder"
    assert email.text == (
        "Plik jest w C:\\Users\\Ewa\\Nowy folder\\zwrot.pdf oraz \\\\serwer\\udział\\n.")


# --- bodies --------------------------------------------------------------------------------


def test_html_only_mail_becomes_readable_text() -> None:
    email = parse("html_only.eml")

    assert email.text == (
        "Zamówienie\xa0123\n\nDzień dobry,\npaczka nie dotarła.\n\n- Kubek\n\n- Talerz & miska")
    assert email.html == ("<h1>Zamówienie&nbsp;123</h1><p>Dzień dobry,<br>paczka nie dotarła.</p>"
                          "<ul><li>Kubek</li><li>Talerz &amp; miska</li></ul>")


def test_hostile_html_is_sanitized() -> None:
    email = parse("html_script.eml")

    assert email.html == ('<div>Hello<img src="https://img.example/a.png"><a rel="noopener '
                          'noreferrer nofollow">click</a><p>Thanks</p></div>')
    assert "alert" not in email.text
    assert email.text == "Helloclick\nThanks"


def test_inline_cid_image_is_kept_and_referenced() -> None:
    email = parse("cid_inline_image.eml")

    assert email.html == '<p>See the photo:</p><img src="cid:parcel-photo@example.pl" alt="parcel">'
    assert email.text == "See the photo:"
    photo, unused = email.attachments
    assert (photo.filename, photo.content_type, photo.content_id, photo.inline) == (
        "attachment-1.png", "image/png", "parcel-photo@example.pl", True)
    assert photo.data == b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    assert (unused.content_id, unused.inline) == ("unused@example.pl", False)


def test_format_flowed_lines_are_joined() -> None:
    raw = mail("From: a@example.com", "Content-Type: text/plain; charset=utf-8; format=flowed",
               body="This is a long \r\nline.\r\n> quoted \r\n> too\r\n-- \r\nEwa\r\n")

    assert parse_email(raw, max_attachment_bytes=LIMIT).text == (
        "This is a long line.\n> quoted too\n-- \nEwa")


def test_inline_text_parts_are_joined_and_attachments_are_not() -> None:
    raw = mail("From: a@example.com", 'Content-Type: multipart/mixed; boundary="b"', body=(
        "--b\r\nContent-Type: text/plain\r\n\r\nFirst part.\r\n"
        "--b\r\nContent-Type: image/png\r\n"
        "Content-Disposition: inline; filename=x.png\r\n\r\nPNG\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nSecond part.\r\n"
        "--b\r\nContent-Type: text/plain; name=notes.txt\r\nContent-Disposition: inline; "
        "filename=notes.txt\r\n\r\nnot the body\r\n--b--\r\n"))

    email = parse_email(raw, max_attachment_bytes=LIMIT)

    assert email.text == "First part.\n\nSecond part."
    assert [a.filename for a in email.attachments] == ["x.png", "notes.txt"]


# --- attachments ---------------------------------------------------------------------------


def test_rfc2231_and_raw_8bit_filenames() -> None:
    email = parse("rfc2231_polish_filenames.eml")

    assert email.text == "W załączniku faktura i zdjęcia."
    assert [(a.filename, a.content_type) for a in email.attachments] == [
        ("Faktura korygowana – zażółć.pdf", "application/pdf"),
        ("Zdjęcie paczki uszkodzonej – bok.jpg", "image/jpeg"),
        ("Gwarancja łóżka.pdf", "application/pdf"),  # sniffed: declared octet-stream
        ("영수증.pdf", "application/pdf"),
        ("paragon.png", "image/png"),  # the Windows path is gone
        ("attachment-6.bin", "application/octet-stream"),
    ]
    assert email.attachments[0].data == b"%PDF-1.4 fake\n"


@pytest.mark.parametrize(
    ("name", "filename", "content_type", "data"),
    [("lone_csv_attachment.eml", "orders.csv", "text/csv",
      "order,item,qty\r\n123,Kubek,2\r\n124,Łyżka,1\r\n".encode()),
     ("lone_log_attachment.eml", "app.log", "text/plain", b"2024-03-05 ERROR checkout failed\r\n")],
)
def test_a_lone_text_attachment_stays_an_attachment(
    name: str, filename: str, content_type: str, data: bytes
) -> None:
    email = parse(name)

    assert email.text == ""
    assert [(a.filename, a.content_type, a.data, a.inline) for a in email.attachments] == [
        (filename, content_type, data, False)]


def test_generic_attachment_types_are_sniffed_from_content_before_the_name() -> None:
    raw = mail("From: a@example.com", 'Content-Type: multipart/mixed; boundary="b"', body=(
        "--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        "--b\r\nContent-Type: application/octet-stream; name=invoice.pdf\r\n\r\nPK\x03\x04zip\r\n"
        "--b\r\nContent-Type: application/octet-stream; name=photo.jpg\r\n\r\nunknown\r\n"
        "--b\r\nContent-Type: image/gif; name=declared.png\r\n\r\nGIF89a\r\n--b--\r\n"))

    email = parse_email(raw, max_attachment_bytes=LIMIT)

    assert [(a.filename, a.content_type) for a in email.attachments] == [
        ("invoice.pdf", "application/zip"),  # a "PDF" that is an archive says so
        ("photo.jpg", "image/jpeg"),
        ("declared.png", "image/gif")]


def test_smime_signature_is_kept_and_the_signed_text_is_the_body() -> None:
    email = parse("smime_signed.eml")

    assert email.text == "Podpisane zamówienie 555."
    assert [(a.filename, a.content_type) for a in email.attachments] == [
        ("smime.p7s", "application/pkcs7-signature")]
    assert email.attachments[0].data == b"0\x82\x01\x00fake-signature"


def test_pgp_encrypted_parts_are_kept() -> None:
    email = parse("pgp_encrypted.eml")

    assert email.text == ""
    assert [(a.filename, a.content_type) for a in email.attachments] == [
        ("pgp-version.asc", "application/pgp-encrypted"),
        ("encrypted.asc", "application/pgp-encrypted")]


def test_forwarded_message_is_kept_as_eml() -> None:
    email = parse("forwarded_rfc822.eml")

    assert email.text == "Forwarding the confirmation."
    (forwarded,) = email.attachments
    assert (forwarded.filename, forwarded.content_type) == ("Zamówienie 123.eml", "message/rfc822")
    inner = parse_email(forwarded.data, max_attachment_bytes=LIMIT)
    assert (inner.subject, inner.from_address, inner.text) == (
        "Zamówienie 123", "shop@shop.example", "Twoje zamowienie zostalo wyslane.")


def test_winmail_dat_is_kept() -> None:
    (tnef,) = parse("winmail_dat.eml").attachments

    assert (tnef.filename, tnef.content_type) == ("winmail.dat", "application/ms-tnef")


def test_an_attachment_over_the_limit_is_refused_with_its_name_and_size() -> None:
    with pytest.raises(ParseError) as caught:
        parse("lone_csv_attachment.eml", limit=10)

    assert caught.value.code == "email.attachment_too_large"
    assert caught.value.reason == "attachment 'orders.csv' is 44 bytes; the limit is 10 bytes"
    assert caught.value.field == "attachments"


# --- headers, threading, priority ----------------------------------------------------------


def test_references_only_reply() -> None:
    email = parse("references_only_reply.eml")

    assert email.in_reply_to == ()
    assert email.references == ("first@shop.example", "second@shop.example")
    assert email.message_id == "refs-only@synthetic.example"


def test_addresses_and_recipient_headers() -> None:
    raw = mail(
        'From: "Kowalski, Jan" <Jan@Example.PL>',
        "Reply-To: =?utf-8?q?Biuro_=C5=81=C3=B3d=C5=BA?= <biuro@example.pl>, bad-address",
        "To: support@shop.example, Other <other@shop.example>",
        "Cc: a@example.com, A@example.com",
        "Delivered-To: support+t12@shop.example",
        "X-Original-To: support@shop.example",
        "Message-ID: no-brackets@example.pl",
        "In-Reply-To: <a@x> (comment) <b@x>",
        "Date: not a date",
    )

    email = parse_email(raw, max_attachment_bytes=LIMIT)

    assert (email.from_name, email.from_address) == ("Kowalski, Jan", "jan@example.pl")
    assert email.reply_to == (("Biuro Łódź", "biuro@example.pl"),)
    assert email.to == ("support@shop.example", "other@shop.example")
    assert email.cc == ("a@example.com",)
    assert email.delivered_to == ("support+t12@shop.example", "support@shop.example")
    assert email.message_id == "no-brackets@example.pl"
    assert email.in_reply_to == ("a@x", "b@x")
    assert email.date is None
    assert email.subject == ""


def test_headers_for_later_stages_are_case_insensitive() -> None:
    raw = mail("From: a@example.com", "AUTO-SUBMITTED: auto-replied", "precedence: bulk",
               "List-Id: Shop news <news.shop.example>", "X-Spam: ignored")

    headers = parse_email(raw, max_attachment_bytes=LIMIT).headers

    assert headers["Auto-Submitted"] == "auto-replied"
    assert headers.get("PRECEDENCE") == "bulk"
    assert dict(headers) == {"auto-submitted": "auto-replied", "precedence": "bulk",
                             "list-id": "Shop news <news.shop.example>"}


def test_outlook_high_importance_is_high() -> None:
    assert parse("priority_outlook_high.eml").priority == "high"


@pytest.mark.parametrize(
    ("lines", "priority"),
    [
        ((), "normal"),
        (("X-Priority: 1",), "urgent"),
        (("x-priority: 1 (Highest)",), "urgent"),
        (("X-Priority: 1", "Importance: high"), "high"),  # Outlook's "High importance"
        (("X-Priority: 2 (High)",), "high"),
        (("X-Priority: 3",), "normal"),
        (("X-Priority: 5 (Lowest)",), "low"),
        (("importance: HIGH",), "high"),
        (("Importance: low",), "low"),
        (("X-MSMail-Priority: High",), "high"),
        (("Priority: urgent",), "urgent"),
        (("Priority: non-urgent",), "low"),
        (("X-Priority: 5", "Priority: urgent"), "urgent"),
        (("X-Priority: banana",), "normal"),
    ],
)
def test_priority_mapping(lines: tuple[str, ...], priority: str) -> None:
    raw = mail("From: a@example.com", *lines)

    assert parse_email(raw, max_attachment_bytes=LIMIT).priority == priority


# --- bounces -------------------------------------------------------------------------------


def test_delivery_status_notification() -> None:
    email = parse("dsn_bounce.eml")

    assert email.is_dsn is True
    assert email.dsn is not None
    assert email.dsn.original_message_id == "reply-42@shop.example"
    assert email.dsn.status == "5.1.1"
    assert email.dsn.action == "failed"
    assert email.dsn.diagnostic == ("550 5.1.1 <nobody@customer.example>: Recipient address "
                                    "rejected: User unknown in virtual mailbox table")
    assert email.dsn.failed_recipients == ("nobody@customer.example",)
    assert email.from_address == "mailer-daemon@mx.shop.example"
    assert email.text == "I'm sorry to have to inform you that your message could not be delivered."
    assert [(a.filename, a.content_type) for a in email.attachments] == [
        ("delivery-status.txt", "message/delivery-status"),
        ("Re: Order 123.eml", "message/rfc822")]
    assert email.headers["auto-submitted"] == "auto-replied"


def test_ordinary_mail_is_not_a_dsn() -> None:
    email = parse("references_only_reply.eml")

    assert (email.is_dsn, email.dsn) == (False, None)


# --- broken input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "email.empty"),
        (b" \r\n\r\n", "email.empty"),
        (b"just some text\nwithout headers\n", "email.not_mime"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "email.not_mime"),
        (b"%PDF-1.7\n", "email.not_mime"),
        (b"To: a@example.com\r\nSubject: hi\r\n\r\nbody", "email.no_from"),
        (b"From: nobody\r\n\r\nbody", "email.no_from"),
    ],
)
def test_broken_input_is_a_parse_error_with_a_code(raw: bytes, code: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_email(raw, max_attachment_bytes=LIMIT)

    assert caught.value.code == code
    assert caught.value.reason


def test_from_without_address_falls_back_to_sender_then_daemon() -> None:
    sender = mail("From: Shop", "Sender: bot@shop.example")
    daemon = mail("From: MAILER-DAEMON (Mail Delivery System)")

    assert parse_email(sender, max_attachment_bytes=LIMIT).from_address == "bot@shop.example"
    assert parse_email(daemon, max_attachment_bytes=LIMIT).from_address == "mailer-daemon"


def test_leading_blank_lines_and_mbox_from_line_are_tolerated() -> None:
    raw = b"\r\n\r\nFrom MAILER-DAEMON Thu Jan  1 00:00:00 2024\r\n" + mail("From: a@example.com")

    assert parse_email(raw, max_attachment_bytes=LIMIT).from_address == "a@example.com"


def test_deep_nesting_is_refused_not_crashed() -> None:
    depth = 60
    body = "".join(f'--b{i}\r\nContent-Type: multipart/mixed; boundary="b{i + 1}"\r\n\r\n'
                   for i in range(depth))
    raw = mail("From: a@example.com", 'Content-Type: multipart/mixed; boundary="b0"', body=body)

    with pytest.raises(ParseError) as caught:
        parse_email(raw, max_attachment_bytes=LIMIT)

    assert caught.value.code == "email.too_deep"


def test_deeply_nested_messages_are_refused_not_crashed() -> None:
    nested = "Content-Type: message/rfc822\r\n\r\n" * 3000
    raw = mail("From: a@example.com", "Content-Type: message/rfc822", body=nested + "x")

    with pytest.raises(ParseError) as caught:
        parse_email(raw, max_attachment_bytes=LIMIT)

    assert caught.value.code == "email.too_deep"


def test_hostile_unclosed_markup_gives_text_from_the_sanitized_html() -> None:
    # html.parser needs quadratic time for this; the text comes from nh3's well-formed output
    body = "<p>Refund please</p>" + "<a href='" * 5000
    raw = mail("From: a@example.com", "Content-Type: text/html; charset=utf-8", body=body)

    email = parse_email(raw, max_attachment_bytes=LIMIT)

    assert email.text == "Refund please"
    assert email.html == "<p>Refund please</p>"


def test_a_boundary_other_than_the_declared_one_is_recovered() -> None:
    raw = mail("From: a@example.com", 'Content-Type: multipart/mixed; boundary="declared"', body=(
        "--actual\r\nContent-Type: text/plain\r\n\r\nHello.\r\n"
        "--actual\r\nContent-Type: application/pdf; name=a.pdf\r\n\r\n%PDF\r\n--other--\r\n"))

    email = parse_email(raw, max_attachment_bytes=LIMIT)

    assert email.text == "Hello."
    assert [a.filename for a in email.attachments] == ["a.pdf"]


_HEADS = [
    b"",
    b"From: a@example.com\r\n",
    b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n",
    b"From: a@example.com\r\nContent-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\n"
    b"Content-Type: text/html; charset=ks_c_5601-1987\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    b"From: a@example.com\r\nContent-Type: multipart/report; report-type=delivery-status;"
    b" boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\n",
    b"From: a@example.com\r\nContent-Type: message/rfc822\r\n\r\n",
    b"From: =?utf-8?B?\r\nSubject: =?ks_c_5601-1987?Q?=8C=\r\nContent-Disposition: attachment;"
    b" filename*0*=utf-8''%; filename*1=\"\r\n\r\n",
]


@settings(max_examples=250, deadline=None)
@given(head=st.sampled_from(_HEADS), tail=st.binary(max_size=600))
def test_arbitrary_bytes_never_raise_anything_but_parse_error(head: bytes, tail: bytes) -> None:
    outcome: ParsedEmail | ParseError
    try:
        outcome = parse_email(head + tail, max_attachment_bytes=200)
    except ParseError as error:
        outcome = error
    if isinstance(outcome, ParseError):
        assert outcome.code.startswith("email.")
        assert outcome.reason
    else:
        outcome.text.encode("utf-8")
        outcome.subject.encode("utf-8")
        assert "\x00" not in outcome.text
