"""A deterministic mix of raw RFC 5322 customer mail in English, Polish and Korean.

Same seed, same bytes. What sellers' inboxes hold, in the encodings their customers' clients
really write: Korean in UTF-8 and as Outlook writes it (labelled ks_c_5601-1987, encoded CP949,
so 똠 appears), Polish in UTF-8, ISO-8859-2 and Windows-1250; quoted-printable, base64 and 8-bit
bodies; RFC 2047 subjects and names, RFC 2231 file names; HTML-only and multipart/alternative
mail, some with inline (cid:) images; small PDF/PNG/CSV attachments; replies that thread by
In-Reply-To/References (some by References alone) with "Re:"/"Odp:"/"회신:" subjects and quoted
history; a few Amazon buyer messages through the marketplace relay; a few priority headers.
"""

from __future__ import annotations

import base64
import quopri
import random
import struct
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from urllib.parse import quote

SUPPORT = "support@shop.example"
SHOP = "Sklep Kettle & Co"

# Shares of the mix.
LANGUAGES = (("en", 0.4), ("pl", 0.3), ("ko", 0.3))
REPLY_SHARE = 0.30
HTML_SHARE = 0.20  # half HTML-only, half multipart/alternative
ATTACHMENT_SHARE = 0.10
RELAY_SHARE = 0.01
PRIORITY_SHARE = 0.05
RETURNING_SHARE = 0.15
# (charset label, codec, transfer encodings to pick from) per language.
CHARSETS = {
    "en": (("us-ascii", "ascii", ("7bit",)), ("utf-8", "utf-8", ("quoted-printable", "7bit"))),
    "pl": (("utf-8", "utf-8", ("quoted-printable", "base64", "8bit")),
           ("iso-8859-2", "iso-8859-2", ("quoted-printable", "8bit")),
           ("windows-1250", "cp1250", ("quoted-printable", "8bit"))),
    "ko": (("utf-8", "utf-8", ("base64", "8bit")),
           ("ks_c_5601-1987", "cp949", ("base64",)),
           ("euc-kr", "cp949", ("base64", "8bit"))),
}
CHARSET_WEIGHTS = {"en": (0.5, 0.5), "pl": (0.5, 0.25, 0.25), "ko": (0.5, 0.35, 0.15)}

TEXTS: dict[str, dict[str, list[str]]] = {
    "en": {
        "greetings": ["Hi,", "Hello,", "Good morning,", "Dear support team,", "Hello there,"],
        "sentences": [
            "I ordered the {product} on {date} and it still hasn't arrived.",
            "My order {order} arrived damaged and the {product} is cracked.",
            "I would like to return the {product} and get a refund.",
            "The tracking number {tracking} has shown the same status for {days} days.",
            "The {product} I received is the wrong model, can I exchange it?",
            "I was charged twice for order {order}.",
            "Please cancel order {order}, I placed it by mistake.",
            "The courier says the parcel was delivered, but nobody left anything here.",
            "How long does shipping to {city} usually take?",
            "I sent the {product} back {days} days ago and the money is still not on my card.",
            "The invoice for order {order} has the wrong company name on it.",
            "The colour is quite different from the photos in your shop.",
            "The {product} stopped working after {days} days.",
            "The box was open when it arrived and the charger was missing.",
            "Could you send me a return label for order {order}?",
        ],
        "replies": ["Any update on this?", "Thanks for the quick answer, that helps.",
                    "I still haven't heard back from you.", "Here is the photo you asked for.",
                    "That works for me, thank you.", "It has been {days} days now, please help."],
        "closings": ["Thanks,", "Thank you in advance,", "Best regards,", "Kind regards,"],
        "names": ["James Smith|james.smith", "Emily Johnson|emily.j", "Michael Brown|mbrown",
                  "Sarah Davis|sarah.davis", "David Wilson|dwilson82", "Laura Clark|laura.c",
                  "Chris Walker|cwalker", "Anna Hall|anna.hall", "Tom O'Neill|tom.oneill"],
        "domains": ["gmail.com", "outlook.com", "yahoo.co.uk", "icloud.com"],
        "products": ["kettle", "coffee grinder", "toaster", "milk frother", "blender",
                     "espresso machine", "travel mug", "water filter jug"],
        "cities": ["London", "Manchester", "Dublin", "Leeds", "Glasgow"],
        "subjects": ["Refund request", "Where is my order?", "Damaged item", "Order {order}",
                     "Wrong model", "Return label", "Charged twice", "Cancel order {order}",
                     "Question about the {product}"],
        "prefixes": ["Re:", "RE:", "Re:"],
        "attribution": ["On {weekday}, {day} Nov 2026 at 14:{minute:02d}, {shop} <{support}> "
                        "wrote:"],
        "files": ["invoice_{order}.pdf", "photo_{n}.png", "order_lines.csv"],
    },
    "pl": {
        "greetings": ["Dzień dobry,", "Witam,", "Szanowni Państwo,", "Dobry wieczór,"],
        "sentences": [
            "Zamówienie {order} złożone {date} nadal do mnie nie dotarło.",
            "Paczka z zamówieniem {order} przyszła uszkodzona, a {product} jest pęknięty.",
            "Chciałabym zwrócić {product} i prosić o zwrot pieniędzy.",
            "Numer przesyłki {tracking} od {days} dni pokazuje ten sam status.",
            "Otrzymałem inny model niż zamówiony, czy mogę go wymienić?",
            "Pobrano ode mnie opłatę dwa razy za zamówienie {order}.",
            "Proszę o anulowanie zamówienia {order}, złożyłem je przez pomyłkę.",
            "Kurier zostawił paczkę pod złym adresem, a w systemie widnieje jako doręczona.",
            "Ile zwykle trwa wysyłka do {city}?",
            "Zwróciłam {product} {days} dni temu, ale pieniądze jeszcze nie wróciły na konto.",
            "Na fakturze do zamówienia {order} jest błędny NIP firmy.",
            "Kolor różni się od tego na zdjęciach w sklepie.",
            "Mój {product} przestał działać po {days} dniach.",
            "Karton był otwarty, a w środku zabrakło ładowarki.",
            "Czy mogę prosić o etykietę zwrotną do zamówienia {order}?",
        ],
        "replies": ["Czy są jakieś nowe informacje?", "Dziękuję za szybką odpowiedź.",
                    "Nadal czekam na odpowiedź.", "Przesyłam zdjęcie, o które Państwo prosili.",
                    "Tak, takie rozwiązanie mi odpowiada.",
                    "Minęło już {days} dni, proszę o pomoc."],
        "closings": ["Pozdrawiam,", "Z poważaniem,", "Dziękuję i pozdrawiam,", "Z góry dziękuję,"],
        "names": ["Anna Kowalska|anna.kowalska", "Piotr Nowak|pnowak", "Łukasz Szymański|lukasz.sz",
                  "Katarzyna Wiśniewska|kasia.w", "Małgorzata Kamińska|gosia.kaminska",
                  "Józef Dąbrowski|jozef.d", "Zofia Woźniak|zofia.wozniak",
                  "Paweł Lewandowski|pawel.lew", "Agnieszka Żak|aga.zak"],
        "domains": ["wp.pl", "onet.pl", "gmail.com", "interia.pl", "o2.pl"],
        "products": ["czajnik", "młynek do kawy", "toster", "spieniacz do mleka", "blender",
                     "ekspres ciśnieniowy", "kubek termiczny", "dzbanek filtrujący"],
        "cities": ["Krakowa", "Gdańska", "Wrocławia", "Poznania", "Łodzi", "Szczecina"],
        "subjects": ["Reklamacja", "Gdzie jest moja paczka?", "Zwrot środków",
                     "Zamówienie {order}", "Uszkodzona przesyłka", "Anulowanie zamówienia",
                     "Pytanie o fakturę", "Błędny produkt w paczce"],
        "prefixes": ["Odp:", "Re:", "ODP:"],
        "attribution": ["W dniu {day}.11.2026 o 14:{minute:02d}, {shop} <{support}> napisał(a):",
                        "Dnia {day}.11.2026 o 14:{minute:02d} {shop} pisze:"],
        "files": ["faktura_{order}.pdf", "zdjęcie_{n}.png", "zamówienie.csv"],
    },
    "ko": {
        "greetings": ["안녕하세요.", "안녕하세요, 고객센터 담당자님.", "수고 많으십니다."],
        "sentences": [
            "{date}에 주문한 상품이 아직 도착하지 않았습니다.",
            "주문번호 {order} 상품이 파손된 상태로 도착했습니다.",
            "{product} 반품하고 환불받고 싶습니다.",
            "송장번호 {tracking} 배송 조회가 {days}일째 같은 상태입니다.",
            "주문한 것과 다른 모델이 왔는데 교환이 가능할까요?",
            "주문 {order} 건이 두 번 결제된 것 같습니다. 확인 부탁드립니다.",
            "아직 발송 전이면 주문 {order} 취소해 주세요.",
            "택배가 배송 완료로 나오는데 받은 물건이 없습니다.",
            "반품한 지 {days}일이 지났는데 아직 환불이 안 되었습니다.",
            "세금계산서 발행이 가능한가요?",
            "사진과 실제 색상이 많이 다릅니다.",
            "똠얌꿍 소스가 샜는지 상자가 젖어 있었습니다.",
            "포장은 괜찮았는데 {product} 전원이 켜지지 않아요.",
            "상자 안에 충전기가 빠져 있었어요.",
            "반품 송장을 보내주실 수 있나요?",
        ],
        "replies": ["아직 답변을 못 받았습니다. 확인 부탁드려요.", "빠른 답변 감사합니다.",
                    "요청하신 사진 보내드립니다.", "네, 그렇게 진행해 주세요.",
                    "{days}일째 기다리고 있어요. 도와주세요."],
        "closings": ["감사합니다.", "빠른 답변 부탁드립니다.", "좋은 하루 보내세요."],
        "names": ["김민준|minjun.kim", "이서연|seoyeon.lee", "박지훈|jihoon.park",
                  "최수아|sua.choi", "정우진|woojin.jung", "강하은|haeun.kang",
                  "윤지민|jimin.yoon", "한예린|yerin.han"],
        "domains": ["naver.com", "daum.net", "gmail.com", "hanmail.net", "kakao.com"],
        "products": ["전기포트", "커피 그라인더", "토스터", "우유 거품기", "블렌더",
                     "에스프레소 머신", "텀블러", "똠얌꿍 라면 세트"],
        "cities": ["서울", "부산"],
        "subjects": ["배송 문의", "환불 요청", "상품 파손", "주문 {order} 관련 문의",
                     "교환 요청", "주문 취소", "이중 결제 확인 요청"],
        "prefixes": ["회신:", "RE:", "답장:"],
        "attribution": [
            "2026년 11월 {day}일 (화) 오후 2:{minute:02d}, {shop} <{support}>님이 작성:"],
        "files": ["영수증_{order}.pdf", "사진_{n}.png", "주문내역.csv"],
    },
}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri")
AMAZON_SITES = (("de", "Lieferanfrage von Amazon-Kunde {name} (Bestellung: {order})"),
                ("pl", "Zapytanie od klienta Amazon {name} (Zamówienie: {order})"),
                ("co.uk", "Inquiry from Amazon customer {name} (Order: {order})"))


@dataclass
class Mail:
    raw: bytes
    message_id: str
    language: str
    charset: str
    transfer_encoding: str
    kind: str  # plain | html_only | alternative
    attachments: int = 0
    inline_images: int = 0
    parent: int | None = None  # the index of the mail it replies to
    references_only: bool = False
    quoted: bool = False
    relay: bool = False
    priority: str | None = None
    expected: str = ""  # a sentence the stored text must contain, exactly


@dataclass
class _Thread:
    ids: list[str]
    last: int  # index of its newest mail
    subject: str
    sender: tuple[str, str]
    language: str
    last_text: str
    relay_order: str | None = None


@dataclass
class Mix:
    """What was generated, for the report."""

    count: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    charsets: Counter[str] = field(default_factory=Counter)
    transfer_encodings: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    with_attachments: int = 0
    attachments: int = 0
    inline_images: int = 0
    replies: int = 0
    replies_references_only: int = 0
    replies_with_quoted_history: int = 0
    amazon_relay: int = 0
    priority_headers: Counter[str] = field(default_factory=Counter)
    bytes_total: int = 0

    def add(self, mail: Mail) -> None:
        self.count += 1
        self.languages[mail.language] += 1
        self.charsets[f"{mail.language}:{mail.charset}"] += 1
        self.transfer_encodings[mail.transfer_encoding] += 1
        self.kinds[mail.kind] += 1
        self.with_attachments += mail.attachments > 0
        self.attachments += mail.attachments
        self.inline_images += mail.inline_images
        self.replies += mail.parent is not None
        self.replies_references_only += mail.references_only
        self.replies_with_quoted_history += mail.quoted
        self.amazon_relay += mail.relay
        if mail.priority:
            self.priority_headers[mail.priority] += 1
        self.bytes_total += len(mail.raw)

    def as_dict(self) -> dict[str, object]:
        return {
            "mails": self.count, "mean_bytes": round(self.bytes_total / max(self.count, 1)),
            "languages": dict(self.languages), "charsets": dict(sorted(self.charsets.items())),
            "transfer_encodings": dict(self.transfer_encodings), "bodies": dict(self.kinds),
            "with_attachments": self.with_attachments, "attachments": self.attachments,
            "inline_cid_images": self.inline_images, "replies": self.replies,
            "replies_by_references_only": self.replies_references_only,
            "replies_with_quoted_history": self.replies_with_quoted_history,
            "amazon_relay": self.amazon_relay, "priority_headers": dict(self.priority_headers),
        }


class MailMix:
    """Yields `n` mails; `prefix` keeps Message-IDs apart between mixes (warm-up vs run)."""

    def __init__(self, n: int, seed: int, prefix: str = "bench") -> None:
        self.n = n
        self.rng = random.Random(seed)
        self.prefix = prefix
        self.threads: list[_Thread] = []
        self.relay_threads: list[_Thread] = []
        self.senders: dict[str, list[tuple[str, str]]] = {"en": [], "pl": [], "ko": []}
        self.start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
        self.mix = Mix()

    def __iter__(self) -> Iterator[Mail]:
        for i in range(self.n):
            mail = self._one(i)
            self.mix.add(mail)
            yield mail

    # --- one mail ---------------------------------------------------------------------------

    def _one(self, i: int) -> Mail:
        rng = self.rng
        if rng.random() < RELAY_SHARE:
            return self._relay(i)
        thread = None
        if len(self.threads) > 10 and rng.random() < REPLY_SHARE:
            thread = rng.choice(self.threads[-3000:])
        language = thread.language if thread else _pick(rng, LANGUAGES)
        t = TEXTS[language]
        fill = self._fill(language)
        if thread is None:
            sender = self._sender(language)
            subject = rng.choice(t["subjects"]).format(**fill)
            first = rng.choice(t["sentences"]).format(**fill)
            lines = [first, *(rng.choice(t["sentences"]).format(**fill)
                              for _ in range(rng.randint(0, 3)))]
        else:
            sender = thread.sender
            subject = f"{rng.choice(t['prefixes'])} {thread.subject}"
            first = rng.choice(t["replies"]).format(**fill)
            lines = [first, *(rng.choice(t["sentences"]).format(**fill)
                              for _ in range(rng.randint(0, 1)))]
        new_text = _paragraphs(rng.choice(t["greetings"]), lines,
                               rng.choice(t["closings"]), sender[0].split(" ")[0])
        quote = None
        if thread is not None and rng.random() < 0.7:
            quote = (rng.choice(t["attribution"]).format(
                weekday=rng.choice(WEEKDAYS), day=rng.randint(2, 28), minute=rng.randint(0, 59),
                shop=SHOP, support=SUPPORT), thread.last_text)
        label, codec, encodings = _charset(rng, language)
        encoding = rng.choice(encodings)
        message_id = f"{self.prefix}.{i}.{rng.getrandbits(48):012x}@{sender[1].split('@')[1]}"
        headers = self._headers(i, message_id, sender, subject, label, codec, language)
        mail = Mail(b"", message_id, language, label, encoding, "plain", expected=first)
        if thread is not None:
            mail.parent = thread.last
            mail.quoted = quote is not None
            refs = " ".join(f"<{x}>" for x in thread.ids[-10:])
            if rng.random() < 0.1:
                mail.references_only = True
            else:
                headers.append(f"In-Reply-To: <{thread.ids[-1]}>")
            headers.append(f"References: {refs}")
            thread.ids.append(message_id)
            thread.last = i
            thread.last_text = new_text
        else:
            self.threads.append(_Thread([message_id], i, subject, sender, language, new_text))
        if rng.random() < PRIORITY_SHARE:
            mail.priority = rng.choice(("X-Priority: 1 (Highest)", "Importance: High",
                                        "X-Priority: 5 (Lowest)"))
            headers.append(mail.priority)
        mail.raw = self._assemble(mail, headers, new_text, quote, codec, fill)
        return mail

    def _assemble(self, mail: Mail, headers: list[str], text: str,
                  quote: tuple[str, str] | None, codec: str, fill: dict[str, str]) -> bytes:
        rng = self.rng
        plain = text if quote is None else (
            f"{text}\n\n{quote[0]}\n" + "\n".join(f"> {line}" if line else ">"
                                                  for line in quote[1].split("\n")))
        html_roll = rng.random()
        with_files = rng.random() < ATTACHMENT_SHARE
        body_parts: list[str] = []
        cid = None
        if html_roll < HTML_SHARE:
            mail.kind = "html_only" if html_roll < HTML_SHARE / 2 else "alternative"
            if with_files and rng.random() < 0.5:
                cid = f"image{rng.getrandbits(32):08x}@shop.example"
            html = _html(text, quote, cid)
            html_part = _text_part("html", html, mail.charset, codec, mail.transfer_encoding)
            if mail.kind == "alternative":
                body_parts.append(_multipart("alternative", [
                    _text_part("plain", plain, mail.charset, codec, mail.transfer_encoding),
                    html_part], rng))
            else:
                body_parts.append(html_part)
            if cid is not None:
                body_parts = [_multipart("related", [*body_parts, _image_part(
                    _png(rng), f"{cid.split('@')[0]}.png", cid)], rng)]
                mail.inline_images = 1
        else:
            body_parts.append(_text_part("plain", plain, mail.charset, codec,
                                         mail.transfer_encoding))
        if with_files:
            files = [_attachment(rng, mail.language, fill, n)
                     for n in range(1, rng.choice((1, 1, 1, 2)) + 1)]
            mail.attachments = len(files) + mail.inline_images
            body = _multipart("mixed", [*body_parts, *files], rng)
        else:
            mail.attachments = mail.inline_images
            body = body_parts[0]
        return ("\r\n".join([*headers, "MIME-Version: 1.0"]) + "\r\n").encode() + body

    def _headers(self, i: int, message_id: str, sender: tuple[str, str], subject: str,
                 label: str, codec: str, language: str) -> list[str]:
        date = (self.start + timedelta(seconds=37 * i)).astimezone(_ZONES[language])
        return [f"Return-Path: <{sender[1]}>",
                f"Message-ID: <{message_id}>",
                f"Date: {format_datetime(date)}",
                f"From: {_address(sender, label, codec, self.rng)}",
                f"To: {SHOP.replace('&', 'and')} <{SUPPORT}>",
                f"Subject: {_encoded_word(subject, label, codec, self.rng)}"]

    def _relay(self, i: int) -> Mail:
        """A buyer's message through Amazon's relay; a third follow up an earlier one."""
        rng = self.rng
        earlier = self.relay_threads
        thread = rng.choice(earlier) if earlier and rng.random() < 0.3 else None
        site, template = rng.choice(AMAZON_SITES)
        language = {"de": "en", "pl": "pl", "co.uk": "en"}[site]
        fill = self._fill(language)
        if thread is not None:
            alias, order, name = thread.sender[1], thread.relay_order or "", thread.sender[0]
        else:
            name = rng.choice(TEXTS[language]["names"]).split("|")[0]
            alias = f"{rng.getrandbits(60):015x}@marketplace.amazon.{site}"
            order = f"{rng.randint(200, 499)}-{rng.randint(0, 9999999):07d}-" \
                    f"{rng.randint(0, 9999999):07d}"
        first = rng.choice(TEXTS[language]["sentences"]).format(**fill)
        text = (f"------------- Message: -------------\n\n{first}\n\n"
                f"------------- End message -------------\n\nOrder ID: {order}\n"
                "To respond to this customer, reply to this e-mail or visit Seller Central.\n")
        message_id = f"{self.prefix}.{i}.{rng.getrandbits(48):012x}@email.amazon.com"
        sender = (f"{name} - Amazon Marketplace", alias)
        headers = self._headers(i, message_id, sender, template.format(name=name, order=order),
                                "utf-8", "utf-8", language)
        mail = Mail(b"", message_id, language, "utf-8", "quoted-printable", "plain",
                    relay=True, expected=first, parent=thread.last if thread else None)
        if thread is not None:
            thread.last = i
        else:
            self.relay_threads.append(_Thread([message_id], i, "", (name, alias), language, text,
                                              relay_order=order))
        part = _text_part("plain", text, "utf-8", "utf-8", "quoted-printable")
        mail.raw = ("\r\n".join([*headers, "MIME-Version: 1.0"]) + "\r\n").encode() + part
        return mail

    def _sender(self, language: str) -> tuple[str, str]:
        known = self.senders[language]
        if known and self.rng.random() < RETURNING_SHARE:
            return self.rng.choice(known)
        name, local = self.rng.choice(TEXTS[language]["names"]).split("|")
        number = len(known)
        domain = self.rng.choice(TEXTS[language]["domains"])
        sender = (name, f"{local}{number}@{domain}")
        known.append(sender)
        return sender

    def _fill(self, language: str) -> dict[str, str]:
        rng, t = self.rng, TEXTS[language]
        return {
            "product": rng.choice(t["products"]), "city": rng.choice(t["cities"]),
            "order": f"{rng.randint(10000, 99999)}", "days": str(rng.randint(3, 21)),
            "tracking": f"PL{rng.randint(10**9, 10**10 - 1)}" if language == "pl"
            else f"{rng.randint(10**11, 10**12 - 1)}",
            "date": {"en": f"{rng.randint(1, 28)} October", "pl": f"{rng.randint(1, 28)} "
                     "października", "ko": f"10월 {rng.randint(1, 28)}일"}[language],
        }


# --- MIME pieces ---------------------------------------------------------------------------

_ZONES = {"en": UTC, "pl": timezone(timedelta(hours=1)), "ko": timezone(timedelta(hours=9))}


def _pick(rng: random.Random, shares: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in shares], [w for _, w in shares])[0]


def _charset(rng: random.Random, language: str) -> tuple[str, str, tuple[str, ...]]:
    options = CHARSETS[language]
    return rng.choices(options, CHARSET_WEIGHTS[language])[0]


def _paragraphs(greeting: str, lines: list[str], closing: str, name: str) -> str:
    return f"{greeting}\n\n{' '.join(lines)}\n\n{closing}\n{name}"


def _encoded_word(text: str, label: str, codec: str, rng: random.Random) -> str:
    """RFC 2047 for non-ASCII text, B or Q encoded, in the mail's own charset."""
    if text.isascii():
        return text
    data = text.encode(codec)
    if label == "utf-8" and rng.random() < 0.5 or codec in ("iso-8859-2", "cp1250"):
        q = "".join(chr(b) if chr(b).isalnum() and b < 128 else "_" if b == 32 else f"={b:02X}"
                    for b in data)
        return f"=?{label}?Q?{q}?="
    return f"=?{label}?B?{base64.b64encode(data).decode()}?="


def _address(sender: tuple[str, str], label: str, codec: str, rng: random.Random) -> str:
    name, address = sender
    if name.isascii():
        return f'"{name}" <{address}>' if any(c in name for c in ",.'") else \
            f"{name} <{address}>"
    return f"{_encoded_word(name, label, codec, rng)} <{address}>"


def _encode_body(data: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        return base64.encodebytes(data).replace(b"\n", b"\r\n")
    if encoding == "quoted-printable":
        return quopri.encodestring(data).replace(b"\n", b"\r\n")
    return data.replace(b"\n", b"\r\n")


def _text_part(subtype: str, text: str, label: str, codec: str, encoding: str) -> bytes:
    data = text.encode(codec)
    if encoding == "7bit" and not data.isascii():
        encoding = "quoted-printable"
    return (f"Content-Type: text/{subtype}; charset=\"{label}\"\r\n"
            f"Content-Transfer-Encoding: {encoding}\r\n\r\n").encode() + \
        _encode_body(data, encoding) + b"\r\n"


def _multipart(subtype: str, parts: list[bytes], rng: random.Random) -> bytes:
    boundary = f"----=_Part_{rng.getrandbits(64):016x}"
    out = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()]
    for part in parts:
        out.append(f"--{boundary}\r\n".encode() + part)
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def _html(text: str, quote: tuple[str, str] | None, cid: str | None) -> str:
    def paras(value: str) -> str:
        return "".join(f"<p>{p.replace('&', '&amp;').replace('<', '&lt;')}</p>".replace(
            "\n", "<br>") for p in value.split("\n\n"))

    image = f'<p><img src="cid:{cid}" alt="photo" width="320"></p>' if cid else ""
    history = "" if quote is None else (
        f'<div class="gmail_quote"><div dir="ltr" class="gmail_attr">{paras(quote[0])}</div>'
        f'<blockquote class="gmail_quote" style="margin:0 0 0 .8ex;border-left:1px #ccc solid;'
        f'padding-left:1ex">{paras(quote[1])}</blockquote></div>')
    return (f'<html><head><meta http-equiv="Content-Type" content="text/html">'
            f"<style>p{{margin:0 0 1em}}</style></head><body><div dir=\"ltr\">{paras(text)}"
            f"{image}</div>{history}</body></html>")


def _filename_params(name: str) -> str:
    if name.isascii():
        return f'filename="{name}"'
    return f"filename*=utf-8''{quote(name)}"


def _image_part(data: bytes, name: str, cid: str) -> bytes:
    return (f"Content-Type: image/png; name=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n"
            f"Content-ID: <{cid}>\r\nContent-Disposition: inline; {_filename_params(name)}"
            "\r\n\r\n").encode() + _encode_body(data, "base64")


def _attachment(rng: random.Random, language: str, fill: dict[str, str], n: int) -> bytes:
    template = rng.choice(TEXTS[language]["files"])
    name = template.format(order=fill["order"], n=n)
    if name.endswith(".pdf"):
        ctype, data = "application/pdf", _pdf(rng)
    elif name.endswith(".png"):
        ctype, data = "image/png", _png(rng)
    else:
        ctype, data = "text/csv", _csv(rng, fill["order"])
    # Outlook names files with RFC 2047 in name=, Gmail and Thunderbird with RFC 2231.
    name_param = name if name.isascii() else _encoded_word(name, "utf-8", "utf-8", rng)
    return (f'Content-Type: {ctype}; name="{name_param}"\r\nContent-Transfer-Encoding: base64'
            f"\r\nContent-Disposition: attachment; {_filename_params(name)}\r\n\r\n"
            ).encode() + _encode_body(data, "base64")


def _pdf(rng: random.Random) -> bytes:
    lines = "\n".join(f"BT /F1 10 Tf 40 {800 - 14 * k} Td (Line {k}: {rng.getrandbits(64):x}) "
                      "Tj ET" for k in range(rng.randint(10, 60)))
    stream = lines.encode()
    return (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
            b"3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n"
            + f"4 0 obj << /Length {len(stream)} >> stream\n".encode() + stream
            + b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def _png(rng: random.Random) -> bytes:
    size = rng.choice((8, 16, 24))
    rows = b"".join(b"\x00" + bytes(rng.getrandbits(8) for _ in range(size * 3))
                    for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def _csv(rng: random.Random, order: str) -> bytes:
    rows = ["order,sku,quantity,price"] + [
        f"{order},SKU-{rng.randint(1000, 9999)},{rng.randint(1, 4)},{rng.randint(500, 25000) / 100}"
        for _ in range(rng.randint(2, 20))]
    return ("\n".join(rows) + "\n").encode()
