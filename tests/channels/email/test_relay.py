"""Amazon and eBay relay mail: recognition, order ids, buyers, thread keys and reply rules.

All messages here are synthetic, written after the shape of real relay mail.
"""

from __future__ import annotations

import pytest

from sellerdesk.channels.email.relay import (
    AMAZON_SITES,
    EBAY_SITES,
    RuleCode,
    check_reply,
    detect_marketplace,
    reply_rules,
)

SHOP = ["Support <support@shop.example>"]


def codes(marketplace: str, text: str, order_id: str | None = "302-1234567-7654321",
          attachments: tuple[str, ...] = ()) -> list[RuleCode]:
    violations = check_reply(marketplace, text, order_id=order_id, attachments=attachments)
    return [violation.code for violation in violations]


# --- Amazon ---------------------------------------------------------------------------------


@pytest.mark.parametrize("site", sorted(AMAZON_SITES))
def test_every_amazon_site_alias_is_a_buyer_message(site: str) -> None:
    # given a buyer message relayed through any Amazon marketplace
    alias = f"0k2xq4m7abcdef1@marketplace.amazon.{site}"

    # when
    info = detect_marketplace(f"Buyer Name - Amazon Marketplace <{alias}>", SHOP,
                              "Inquiry from Amazon customer Buyer Name", "Hello")

    # then
    assert info is not None
    assert (info.marketplace, info.site, info.sender_role) == ("amazon", site, "buyer")
    assert info.buyer_alias == alias
    assert info.is_buyer_message
    assert info.reply_rules.requires_order_id


def test_amazon_de_buyer_message_with_order_in_the_subject() -> None:
    info = detect_marketplace(
        '"Max Mustermann - Amazon Marketplace" <Q7ZK3LMN9PX2@Marketplace.Amazon.DE>', SHOP,
        "Anfrage von Amazon-Kunde Max Mustermann (Bestellung: 302-1234567-7654321)",
        "Guten Tag, wann wird meine Bestellung versandt?")
    assert info is not None
    assert info.order_id == "302-1234567-7654321"
    assert info.buyer_name == "Max Mustermann"
    assert info.buyer_alias == "q7zk3lmn9px2@marketplace.amazon.de"
    assert info.thread_key == "amazon:q7zk3lmn9px2@marketplace.amazon.de:302-1234567-7654321"


def test_amazon_pl_order_in_the_body_and_buyer_from_the_subject() -> None:
    info = detect_marketplace(
        "abc123def456@marketplace.amazon.pl", SHOP,
        "Zapytanie od klienta Amazon Jan Kowalski",
        "Numer zamówienia: 405-7654321-1234567\nDzień dobry, paczka nie dotarła.")
    assert info is not None
    assert (info.site, info.order_id, info.buyer_name) == ("pl", "405-7654321-1234567",
                                                          "Jan Kowalski")


def test_amazon_co_jp_message_in_korean_with_digital_order() -> None:
    info = detect_marketplace(
        "김민지 - Amazon Marketplace <xyz987@marketplace.amazon.co.jp>", SHOP, "문의",
        "주문번호: D01-1234567-1234567 배송 문의드립니다.")
    assert info is not None
    assert (info.site, info.order_id, info.buyer_name) == ("co.jp", "D01-1234567-1234567",
                                                          "김민지")


def test_amazon_thread_key_is_stable_and_splits_orders() -> None:
    first = detect_marketplace("a1@marketplace.amazon.co.uk", SHOP, "Order 203-1111111-2222222",
                               "Hi")
    again = detect_marketplace("A1@MARKETPLACE.AMAZON.CO.UK", SHOP, "RE: Order",
                               "About 203-1111111-2222222 again")
    other = detect_marketplace("a1@marketplace.amazon.co.uk", SHOP, "Order 203-3333333-4444444",
                               "Hi")
    assert first is not None
    assert again is not None
    assert other is not None
    assert first.thread_key == again.thread_key
    assert first.thread_key != other.thread_key


def test_the_sellers_own_message_to_an_alias_is_marked_as_seller() -> None:
    info = detect_marketplace("support@shop.example", ["b9@marketplace.amazon.fr"],
                              "Votre commande 171-1234567-1234567", "Bonjour")
    assert info is not None
    assert (info.sender_role, info.buyer_alias, info.buyer_name) == (
        "seller", "b9@marketplace.amazon.fr", None)


@pytest.mark.parametrize("sender", [
    "x@marketplace.amazon.evil.com",
    "x@marketplace.amazon.com.evil.com",
    "x@marketplace-amazon.com",
    "x@marketplace.amazon.zz",
    "x@evilamazon.com",
    "x@amazon.com.evil.com",
    "@marketplace.amazon.com",
    "x@members.ebay.evil.com",
    "customer@example.com",
])
def test_lookalike_and_ordinary_addresses_are_not_relay_mail(sender: str) -> None:
    assert detect_marketplace(sender, SHOP, "Order 111-1234567-1234567", "Hi") is None


def test_hostile_address_headers_do_not_crash_detection() -> None:
    hostile = "a: " * 5000 + "b9@marketplace.amazon.fr"
    info = detect_marketplace(hostile, ["x: " * 5000], "s", "t")
    assert info is not None
    assert info.buyer_alias == "b9@marketplace.amazon.fr"


def test_amazon_shipping_notification_is_not_a_buyer_message() -> None:
    info = detect_marketplace("Amazon.com <ship-confirm@amazon.com>", SHOP,
                              "Your Amazon.com order #111-1234567-1234567 has shipped", "...")
    assert info is not None
    assert (info.marketplace, info.sender_role, info.buyer_alias) == (
        "amazon", "marketplace", None)
    assert not info.is_buyer_message
    assert info.order_id == "111-1234567-1234567"
    assert info.thread_key is None


# --- eBay -----------------------------------------------------------------------------------


@pytest.mark.parametrize("site", sorted(EBAY_SITES))
def test_every_ebay_region_member_address_is_a_buyer_message(site: str) -> None:
    info = detect_marketplace(f"buyer_42 <h.a.b.1234567@members.ebay.{site}>", SHOP,
                              "Question about item #123456789012", "Hi")
    assert info is not None
    assert (info.marketplace, info.site, info.sender_role) == ("ebay", site, "buyer")
    assert info.item_id == "123456789012"
    assert info.buyer_name == "buyer_42"


@pytest.mark.parametrize(("subject", "body", "order", "item"), [
    ("Question about item #123456789012: Blue mug", "Order number: 12-34567-89012",
     "12-34567-89012", "123456789012"),
    ("Frage zu Artikel", "Artikelnummer: 234567890123\nBestellnummer 23-45678-90123",
     "23-45678-90123", "234567890123"),
    ("Pytanie o przedmiot", "Numer przedmiotu: 345678901234, zamówienie 34-56789-01234",
     "34-56789-01234", "345678901234"),
    ("상품 문의", "상품번호: 456789012345\n주문번호 45-67890-12345", "45-67890-12345",
     "456789012345"),
    ("Return", "Tracking 123456789012 only", None, None),
])
def test_ebay_order_and_item_numbers_in_several_languages(
    subject: str, body: str, order: str | None, item: str | None
) -> None:
    info = detect_marketplace("b <x1@members.ebay.de>", SHOP, subject, body)
    assert info is not None
    assert (info.order_id, info.item_id) == (order, item)


def test_ebay_member_message_relayed_by_ebay_itself_names_the_buyer() -> None:
    info = detect_marketplace("eBay <ebay@ebay.co.uk>", SHOP,
                              "Other: kate_buys sent a message about Blue mug #123456789012", "")
    assert info is not None
    assert (info.sender_role, info.buyer_name, info.site) == ("buyer", "kate_buys", "co.uk")
    assert info.thread_key == "ebay:user:kate_buys:123456789012"


@pytest.mark.parametrize("subject", [
    "Andere: kaeufer_123 hat eine Frage zu Artikel #123456789012",
    "kupujacy_7 wysłał(a) wiadomość dotyczącą przedmiotu #123456789012",
])
def test_ebay_member_message_subjects_in_german_and_polish(subject: str) -> None:
    info = detect_marketplace("eBay <ebay@ebay.de>", SHOP, subject, "")
    assert info is not None
    assert info.is_buyer_message
    assert info.item_id == "123456789012"


def test_ebay_notification_without_a_member_is_the_platform() -> None:
    info = detect_marketplace("eBay <ebay@ebay.com>", SHOP,
                              "Your item sold! Order 12-34567-89012", "Ship it now.")
    assert info is not None
    assert (info.sender_role, info.order_id, info.thread_key) == (
        "marketplace", "12-34567-89012", None)


# --- reply rules ----------------------------------------------------------------------------


def test_a_clean_amazon_reply_passes() -> None:
    text = ("Hello, your order 302-1234567-7654321 shipped today. Track it on "
            "https://www.amazon.de/gp/your-orders or amazon.de. Best regards")
    assert check_reply("amazon", text, order_id=None) == []


def test_amazon_reply_needs_an_order_in_the_reply_or_the_thread() -> None:
    assert codes("amazon", "Hello, it shipped.", order_id=None) == [RuleCode.MISSING_ORDER_ID]
    assert codes("amazon", "Hello, it shipped.") == []


def test_amazon_reply_with_links_emojis_and_contact_details() -> None:
    # given a reply breaking every Amazon rule at once
    text = ("Thanks 😊! See https://myshop.example/returns or shop.example.pl, write to "
            "help@shop.example or call +48 600 100 200, or WhatsApp us.")

    # when
    violations = check_reply("amazon", text, order_id="302-1234567-7654321")

    # then
    assert [(v.code, v.excerpt) for v in violations] == [
        (RuleCode.EXTERNAL_LINK, "https://myshop.example/returns"),
        (RuleCode.EXTERNAL_LINK, "shop.example.pl"),
        (RuleCode.EMAIL_ADDRESS, "help@shop.example"),
        (RuleCode.PHONE_NUMBER, "+48 600 100 200"),
        (RuleCode.OFF_PLATFORM_CONTACT, "WhatsApp"),
        (RuleCode.EMOJI, "😊"),
    ]
    assert all(v.message.endswith(".") for v in violations)


@pytest.mark.parametrize("text", [
    "Your parcel: 620012345678901234567890 (InPost)",
    "Order 302-1234567-7654321, item 123456789012, DHL JJD000390007882345",
    "It costs 12.50 EUR, size 42, 3 pieces.",
])
def test_order_and_tracking_numbers_are_not_phone_numbers(text: str) -> None:
    assert codes("amazon", text) == []


@pytest.mark.parametrize(("text", "code"), [
    ("Call me: 010-1234-5678", RuleCode.PHONE_NUMBER),
    ("전화번호 010 1234 5678 로 연락주세요", RuleCode.PHONE_NUMBER),
    ("Tel. 22 123 45 67", RuleCode.PHONE_NUMBER),
    ("(555) 346-9947", RuleCode.PHONE_NUMBER),
    ("카카오톡으로 연락 주세요", RuleCode.OFF_PLATFORM_CONTACT),
])
def test_contact_details_in_korean_and_polish_phrasing(text: str, code: RuleCode) -> None:
    assert code in codes("amazon", text)


def test_amazon_attachment_types() -> None:
    assert codes("amazon", "Invoice attached.", attachments=("invoice.PDF", "photo.jpg")) == []
    assert codes("amazon", "See file.", attachments=("setup.exe", "noextension")) == [
        RuleCode.ATTACHMENT_TYPE, RuleCode.ATTACHMENT_TYPE]


def test_ebay_reply_rules() -> None:
    assert codes("ebay", "Thanks for buying 🙂 see https://www.ebay.de/itm/123456789012",
                 order_id=None) == []
    assert codes("ebay", "Pay me on paypal.me/shop or mail shop@example.com", order_id=None) == [
        RuleCode.EXTERNAL_LINK, RuleCode.EMAIL_ADDRESS, RuleCode.OFF_PLATFORM_CONTACT]
    assert codes("ebay", "Photo attached", order_id=None, attachments=("a.pdf",)) == [
        RuleCode.ATTACHMENT_TYPE]


def test_unknown_marketplace_has_no_rules() -> None:
    assert reply_rules("allegro") is None
    assert check_reply("allegro", "http://x.example 😊", order_id=None) == []
    assert reply_rules("Amazon") is not None
