"""A deterministic generator of customer messages in English, Polish and Korean.

Same seed, same messages. The mix (40% en, 30% pl, 30% ko) and the phrases are what sellers'
inboxes hold: where is my parcel, refund, damaged, wrong size, invoice, cancel. About a quarter
of the messages name Amazon (the "term in ~25% of messages" of the search benchmark); no
message contains "xylophone" (the term that matches nothing).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

LANGUAGES = (("en", 0.4), ("pl", 0.3), ("ko", 0.3))

_EN = {
    "greetings": ["Hi,", "Hello,", "Good morning,", "Dear support team,", "Hey there,",
                  "Hello there,", "Good afternoon,"],
    "products": ["wireless headphones", "coffee machine", "backpack", "smartwatch", "kettle",
                 "vacuum cleaner", "laptop sleeve", "monitor", "bluetooth speaker",
                 "running shoes", "phone case", "desk lamp", "winter jacket", "blender",
                 "gaming mouse", "yoga mat", "water bottle", "electric toothbrush"],
    "sentences": [
        "I ordered the {product} on {date} and it still hasn't arrived.",
        "My order {order} arrived damaged, the {product} is broken.",
        "I would like a refund for the {product}.",
        "Can you tell me where my package is? Tracking number {tracking} shows no updates "
        "for {days} days.",
        "The {product} I received is the wrong size, can I exchange it?",
        "I was charged twice for order {order}.",
        "Please cancel my order {order}, I bought it by mistake.",
        "The courier left the parcel at the wrong address.",
        "Is the {product} compatible with the {product2}?",
        "How long does shipping to {city} usually take?",
        "I returned the {product} {days} days ago but I haven't received my money back yet.",
        "The invoice for order {order} has the wrong company name.",
        "The colour of the {product} is different from the photos.",
        "The {product} stopped working after {days} days.",
        "I received a {product2} instead of the {product} I ordered.",
        "Could you send me a return label for order {order}?",
        "The box was open and the {product} was missing.",
        "When will the {product} be back in stock?",
    ],
    "replies": ["Any update on this?", "Thanks for the quick answer.",
                "I still haven't heard back from you.", "Sorry, I forgot to attach the photo.",
                "That works for me, thank you.", "It's been {days} days, please help."],
    "closings": ["Thanks,", "Thank you in advance,", "Best regards,", "Cheers,", "Kind regards,"],
    "names": ["James Smith", "Emily Johnson", "Michael Brown", "Sarah Davis", "David Wilson",
              "Jessica Taylor", "Daniel Moore", "Laura Clark", "Chris Walker", "Anna Hall"],
    "cities": ["London", "Manchester", "Dublin", "Berlin", "New York", "Toronto"],
    "subjects": ["Refund request", "Where is my order?", "Damaged item", "Order {order}",
                 "Wrong size", "Return label", "Charged twice", "Cancel order {order}",
                 "Question about {product}", "Missing item"],
    "marketplace": {"amazon": "(ordered on Amazon)", "ebay": "(bought on eBay)",
                    "local": "(ordered in your web shop)"},
}

_PL = {
    "greetings": ["Dzień dobry,", "Witam,", "Szanowni Państwo,", "Cześć,", "Dobry wieczór,"],
    "products": ["telefon", "ekspres do kawy", "plecak", "zegarek", "czajnik", "odkurzacz",
                 "laptop", "monitor", "głośnik", "blender", "rower", "fotel biurowy",
                 "płaszcz zimowy", "toster", "materac", "aparat"],
    "sentences": [
        "Zamówiłem {product} {days} dni temu i nadal nie dotarł.",
        "Paczka z zamówieniem {order} dotarła uszkodzona.",
        "Proszę o zwrot pieniędzy za {product}.",
        "Gdzie jest moja przesyłka? Numer śledzenia {tracking} nie pokazuje zmian od {days} dni.",
        "Otrzymany {product} ma zły rozmiar, czy mogę go wymienić?",
        "Zostałam obciążona dwukrotnie za zamówienie {order}.",
        "Proszę anulować zamówienie {order}, kupiłem je przez pomyłkę.",
        "Kurier zostawił paczkę pod złym adresem.",
        "Odesłałam {product} {days} dni temu, ale nadal nie otrzymałam zwrotu.",
        "Faktura do zamówienia {order} ma błędną nazwę firmy.",
        "Kolor produktu jest inny niż na zdjęciach.",
        "Jak długo trwa wysyłka do miejscowości {city}?",
        "W paczce zamiast {product} był {product2}.",
        "Po {days} dniach {product} przestał działać.",
        "Czy mogę prosić o etykietę zwrotną do zamówienia {order}?",
        "Karton był otwarty i brakowało zawartości.",
        "Kiedy {product} będzie ponownie dostępny?",
        "Reklamuję uszkodzony {product}, załączam zdjęcia.",
    ],
    "replies": ["Czy są jakieś nowe informacje?", "Dziękuję za szybką odpowiedź.",
                "Nadal czekam na odpowiedź.", "Przepraszam, zapomniałem dodać zdjęcie.",
                "To rozwiązanie mi odpowiada, dziękuję.", "Minęło już {days} dni, proszę o pomoc."],
    "closings": ["Pozdrawiam,", "Z poważaniem,", "Dziękuję,", "Serdecznie pozdrawiam,"],
    "names": ["Anna Kowalska", "Piotr Nowak", "Katarzyna Wiśniewska", "Tomasz Wójcik",
              "Magdalena Kamińska", "Paweł Lewandowski", "Agnieszka Zielińska",
              "Michał Szymański", "Ewa Woźniak", "Łukasz Dąbrowski"],
    "cities": ["Warszawa", "Kraków", "Łódź", "Wrocław", "Poznań", "Gdańsk", "Szczecin"],
    "subjects": ["Zwrot", "Gdzie jest moja paczka?", "Uszkodzony produkt",
                 "Zamówienie {order}", "Zły rozmiar", "Reklamacja", "Podwójna płatność",
                 "Anulowanie zamówienia {order}", "Pytanie o {product}", "Brak towaru"],
    "marketplace": {"amazon": "(zamówione przez Amazon)", "ebay": "(kupione na eBay)",
                    "local": "(zamówienie z Allegro)"},
}

_KO = {
    "greetings": ["안녕하세요.", "안녕하세요, 문의드립니다.", "수고하십니다.",
                  "안녕하세요 고객센터님."],
    "products": ["무선 이어폰", "전기 주전자", "노트북 가방", "스마트워치", "커피 머신", "청소기",
                 "운동화", "모니터", "블루투스 스피커", "겨울 패딩", "휴대폰 케이스", "책상 조명",
                 "텀블러", "전동 칫솔", "요가 매트", "믹서기"],
    "sentences": [
        "{product} 주문했는데 아직 배송이 안 왔어요.",
        "주문번호 {order} 상품이 파손되어 도착했습니다.",
        "{product} 환불 요청드립니다.",
        "배송 조회가 {days}일째 업데이트되지 않아요. 송장번호 {tracking}입니다.",
        "받은 {product} 사이즈가 맞지 않아 교환하고 싶습니다.",
        "주문 {order} 결제가 두 번 되었습니다.",
        "주문 {order} 취소 부탁드립니다. 실수로 주문했어요.",
        "택배 기사님이 다른 주소에 물건을 두고 가셨어요.",
        "{product} 반품한 지 {days}일이 지났는데 아직 환불을 못 받았습니다.",
        "주문 {order} 세금계산서 회사명이 잘못되었습니다.",
        "{product} 색상이 사진과 달라요.",
        "{city}까지 배송은 보통 며칠 걸리나요?",
        "{product} 대신 {product2} 제품이 왔어요.",
        "{product} 사용 {days}일 만에 고장났습니다.",
        "주문 {order} 반품 송장 부탁드립니다.",
        "상자가 열려 있었고 {product} 상품이 없었습니다.",
        "{product} 재입고 언제 되나요?",
        "불량 {product} 교환 또는 환불 원합니다.",
    ],
    "replies": ["혹시 진행 상황 있을까요?", "빠른 답변 감사합니다.", "아직 답변을 못 받았어요.",
                "사진 첨부를 깜빡했네요.", "네 그렇게 해 주시면 됩니다.",
                "벌써 {days}일 지났어요. 도와주세요."],
    "closings": ["감사합니다.", "빠른 답변 부탁드립니다.", "확인 부탁드립니다.", "수고하세요."],
    "names": ["김민준", "이서연", "박지훈", "최수빈", "정예은", "강도윤", "조하은", "윤시우",
              "장지민", "임서준"],
    "cities": ["서울", "부산", "인천", "대구", "대전", "광주", "제주"],
    "subjects": ["환불 문의", "배송 문의", "파손 상품", "주문 {order} 문의", "사이즈 교환",
                 "반품 요청", "중복 결제", "주문 취소 {order}", "{product} 문의", "상품 누락"],
    "marketplace": {"amazon": "(Amazon 아마존 주문)", "ebay": "(eBay 구매)",
                    "local": "(쿠팡 주문)"},
}

PHRASES = {"en": _EN, "pl": _PL, "ko": _KO}
# ~25% of messages name Amazon, so "amazon" is the common cross-language term.
_MARKETPLACE_MIX = (("amazon", 0.25), ("ebay", 0.10), ("local", 0.15), (None, 0.50))
_DOMAINS = {"en": ["example.com", "mail.example.org"], "pl": ["example.pl", "poczta.example.pl"],
            "ko": ["example.co.kr", "mail.example.kr"]}
_ASCII_NAMES = {"ko": ["minjun", "seoyeon", "jihoon", "subin", "yeeun", "doyun", "haeun",
                       "siwoo", "jimin", "seojun"]}


@dataclass(frozen=True, slots=True)
class Sender:
    name: str
    email: str
    language: str


@dataclass(frozen=True, slots=True)
class Text:
    language: str
    subject: str
    body: str


def _weighted(rng: random.Random, table: tuple[tuple[object, float], ...]) -> object:
    x = rng.random()
    for value, weight in table:
        x -= weight
        if x < 0:
            return value
    return table[-1][0]


class Corpus:
    """Customers and their messages; each call draws from one seeded random stream."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def language(self) -> str:
        return str(_weighted(self.rng, LANGUAGES))

    def sender(self, language: str | None = None, number: int | None = None) -> Sender:
        rng = self.rng
        language = language or self.language()
        name = rng.choice(PHRASES[language]["names"])
        local = (rng.choice(_ASCII_NAMES[language]) if language in _ASCII_NAMES
                 else _ascii(name.split()[0]).lower())
        suffix = number if number is not None else rng.randrange(1, 10**6)
        return Sender(name, f"{local}.{suffix}@{rng.choice(_DOMAINS[language])}", language)

    def _fill(self, template: str, p: dict[str, object]) -> str:
        rng = self.rng
        products: list[str] = p["products"]  # type: ignore[assignment]
        product, product2 = rng.sample(products, 2)
        return template.format(
            product=product, product2=product2,
            order=self.order_number(), tracking=f"{rng.randrange(10**11, 10**12)}",
            days=rng.randrange(2, 30), city=rng.choice(p["cities"]),  # type: ignore[arg-type]
            date=f"{rng.randrange(1, 29)}.{rng.randrange(1, 13):02d}",
        )

    def order_number(self) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            return f"{rng.randrange(100, 1000)}-{rng.randrange(10**6, 10**7)}-" \
                   f"{rng.randrange(10**6, 10**7)}"
        return f"{rng.randrange(10**6, 10**8)}"

    def first_message(self, sender: Sender) -> Text:
        rng = self.rng
        p = PHRASES[sender.language]
        sentences = [self._fill(s, p) for s in rng.sample(p["sentences"], rng.randint(1, 4))]
        marketplace = _weighted(rng, _MARKETPLACE_MIX)
        if marketplace is not None:
            sentences.append(p["marketplace"][marketplace])  # type: ignore[index]
        lines = [rng.choice(p["greetings"]), " ".join(sentences), "",
                 rng.choice(p["closings"]), sender.name]
        subject = self._fill(rng.choice(p["subjects"]), p)
        return Text(sender.language, subject, "\n".join(lines))

    def reply(self, sender: Sender) -> Text:
        rng = self.rng
        p = PHRASES[sender.language]
        parts = [self._fill(rng.choice(p["replies"]), p)]
        if rng.random() < 0.6:
            parts.append(self._fill(rng.choice(p["sentences"]), p))
        if rng.random() < 0.25:
            parts.append(p["marketplace"]["amazon"])  # type: ignore[index]
        body = " ".join(parts) + "\n\n" + rng.choice(p["closings"]) + "\n" + sender.name
        return Text(sender.language, "", body)


def _ascii(name: str) -> str:
    table = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ", "acelnoszzACELNOSZZ")
    return name.translate(table)
