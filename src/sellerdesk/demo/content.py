"""What the demo is made of: its people, topics and phrasings in en/ko/pl (all synthetic)."""

from __future__ import annotations

from dataclasses import dataclass

from sellerdesk.accounts.permissions import Role

DEMO_PASSWORD = "demo-password"  # noqa: S105 (printed on purpose: the demo's sign-in)
STORE_NAME = "Hanok & Wisła Goods"
STORE_TIMEZONE = "Europe/Warsaw"
TICKETS = 300
DAYS = 21
AGENT_DOMAIN = "hanok-wisla.example.com"

# --- Who works here -------------------------------------------------------------------------

# (name, email local part, role, team, language, how they sign)
AGENTS = (
    ("Ewa Park", "ewa", Role.OWNER, None, "pl", "Ewa"),
    ("Olivia Bennett", "olivia", Role.MANAGER, "EN", "en", "Olivia"),
    ("James Carter", "james", Role.AGENT, "EN", "en", "James"),
    ("Priya Shah", "priya", Role.AGENT, "EN", "en", "Priya"),
    ("김서연", "seoyeon", Role.MANAGER, "KO", "ko", "김서연"),
    ("이준호", "junho", Role.AGENT, "KO", "ko", "이준호"),
    ("Katarzyna Wiśniewska", "katarzyna", Role.MANAGER, "PL", "pl", "Katarzyna"),
    ("Marek Zieliński", "marek", Role.AGENT, "PL", "pl", "Marek"),
    ("Zofia Lewandowska", "zofia", Role.AGENT, "PL", "pl", "Zofia"),
)
TEAMS = (("EN", "en"), ("KO", "ko"), ("PL", "pl"))
SIGNATURES = {a[1]: a[5] for a in AGENTS}

# --- What customers write about -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Script:
    """One topic in one language; {placeholders} are filled per ticket."""

    subjects: tuple[str, str, str]  # for bodies[0], for bodies[1], for either
    bodies: tuple[str, str]
    follow_up: str  # the customer, after the agent's answer
    reply: str
    note: str


@dataclass(frozen=True, slots=True)
class Topic:
    weight: int
    tags: tuple[str, ...]
    priorities: tuple[int, int, int, int]  # weights of low, normal, high, urgent
    scripts: dict[str, Script]
    apparel: bool = False


TOPICS: dict[str, Topic] = {
    "where_is_order": Topic(20, ("shipping", "where-is-my-order"), (1, 12, 5, 1), {
        "en": Script(
            ("No tracking update for my parcel", "Order {order} hasn't arrived yet",
             "Where is my order {order}?"),
            ("I ordered the {product} {days} days ago (order {order}) and it still hasn't "
             "arrived. The tracking number {tracking} hasn't updated for days. Could you check "
             "what's going on?",
             "My order {order} should have been delivered by now, but I haven't received "
             "anything. Could you let me know where the parcel is? I need it for a birthday "
             "this weekend."),
            "Thanks for checking. The tracking page still says 'in transit' - should I wait a "
            "few more days or can you send a replacement?",
            "Thanks for your patience. I've checked order {order} with the courier: the parcel "
            "({tracking}) is at the local depot and should be delivered within 1-2 working "
            "days. If it hasn't arrived by then, just reply here and we'll send a replacement "
            "straight away.",
            "Courier enquiry opened for {tracking}; the depot confirms the parcel was mis-sorted. "
            "Check again in 2 days."),
        "ko": Script(
            ("주문한 상품이 아직 안 왔어요 ({order})", "주문 {order} 배송 문의",
             "배송 조회 부탁드립니다"),
            ("{days}일 전에 {product_eul} 주문했는데 배송이 아직 안 왔어요. 주문번호는 "
             "{order}입니다. 운송장 번호({tracking})로 조회해 보면 며칠째 업데이트가 없습니다. "
             "확인 부탁드립니다.",
             "주문번호 {order} 건 관련해서 문의드립니다. 결제한 지 {days}일이 지났는데 아직도 "
             "배송 준비 중으로만 나와요. 언제쯤 받을 수 있을까요?"),
            "확인해 주셔서 감사합니다. 그런데 오늘 조회해 봐도 여전히 배송 중으로 나와요. "
            "조금 더 기다려야 할까요, 아니면 다시 보내 주실 수 있나요?",
            "기다려 주셔서 감사합니다. 택배사에 확인해 보니 주문번호 {order}의 상품은 현재 지역 "
            "터미널에 도착해 있으며, 영업일 기준 1~2일 안에 배송될 예정입니다. 그때까지 받지 "
            "못하시면 이 메일로 답장 주세요. 바로 재발송해 드리겠습니다.",
            "택배사에 {tracking} 건 문의 접수함. 터미널 분류 오류로 확인됨. 이틀 뒤 재확인 필요."),
        "pl": Script(
            ("Brak aktualizacji śledzenia przesyłki", "Paczka jeszcze nie dotarła",
             "Gdzie jest moje zamówienie {order}?"),
            ("{days} dni temu zamówił{am} {product_acc} (zamówienie {order}), ale paczka wciąż "
             "do mnie nie dotarła. Numer przesyłki {tracking} od kilku dni pokazuje ten sam "
             "status. Czy mogą Państwo sprawdzić, co się dzieje?",
             "Zamówienie {order} miało już dawno zostać dostarczone, a ja nadal nic nie "
             "dostał{am}. Bardzo proszę o informację, gdzie jest paczka – potrzebuję jej na "
             "prezent na weekend."),
            "Dziękuję za sprawdzenie. Niestety w śledzeniu nadal widzę status „w drodze”. Czy "
            "mam jeszcze poczekać, czy mogą Państwo wysłać paczkę ponownie?",
            "Dziękujemy za cierpliwość. Sprawdziliśmy zamówienie {order} u przewoźnika: paczka "
            "({tracking}) jest w lokalnym oddziale i powinna zostać doręczona w ciągu 1-2 dni "
            "roboczych. Jeśli do tego czasu nie dotrze, prosimy o odpowiedź na tę wiadomość – "
            "od razu wyślemy nową przesyłkę.",
            "Zgłoszenie u przewoźnika dla {tracking} – paczka błędnie posortowana w oddziale. "
            "Sprawdzić ponownie za 2 dni."),
    }),
    "damaged": Topic(10, ("damaged", "replacement"), (0, 6, 8, 2), {
        "en": Script(
            ("Item arrived damaged", "Broken {product} in my parcel",
             "Damaged delivery - order {order}"),
            ("The {product} from order {order} arrived broken - the box was crushed on one side "
             "and the item inside is cracked. Could you send a replacement or refund me?",
             "I've just opened my parcel and the {product} is damaged. It doesn't look like it "
             "was packed very well. What's the best way to sort this out? I can send photos."),
            "Here are the photos you asked for. The box has gone to recycling, but I still have "
            "the item itself.",
            "I'm so sorry the {product} arrived damaged. Could you send us one or two photos of "
            "the item and the box? As soon as we have them we'll ship a replacement free of "
            "charge - there's no need to return the broken one.",
            "Photos received - transport damage, not a manufacturing fault. Replacement "
            "approved, claim filed with the courier."),
        "ko": Script(
            ("상품이 파손되어 도착했어요", "{product} 파손 문의",
             "주문 {order} 파손 상품 교환 요청"),
            ("주문번호 {order} 건으로 받은 {product_i} 깨진 상태로 도착했어요. 상자 한쪽이 "
             "찌그러져 있었고 안에 있는 제품에 금이 가 있습니다. 교환이나 환불 가능할까요?",
             "오늘 택배를 열어 보니 {product_i} 파손되어 있었어요. 포장이 조금 부실했던 것 "
             "같아요. 어떻게 처리하면 될까요? 필요하시면 사진 보내 드릴게요."),
            "요청하신 사진 보내 드립니다. 상자는 이미 버렸지만 제품은 그대로 가지고 있어요.",
            "{product_i} 파손된 상태로 도착해 정말 죄송합니다. 제품과 상자 사진을 한두 장 보내 "
            "주시면 바로 새 상품으로 무료 교환해 드리겠습니다. 파손된 상품은 반품하지 않으셔도 "
            "됩니다.",
            "사진 확인 완료. 배송 중 파손으로 판단됨. 교환 발송 승인, 택배사에 파손 접수함."),
        "pl": Script(
            ("Uszkodzony produkt w paczce", "Przesyłka dotarła uszkodzona",
             "Zamówienie {order} – uszkodzony towar"),
            ("Dzisiaj odebrał{am} paczkę z zamówieniem {order}. Po otwarciu okazało się, że "
             "zamówiony produkt – {product} – jest pęknięty, a karton był zgnieciony z jednej "
             "strony. Czy mogą Państwo wysłać nowy egzemplarz albo zwrócić pieniądze?",
             "Paczka z zamówieniem {order} przyszła zgnieciona, a zawartość jest uszkodzona. "
             "Mogę przesłać zdjęcia. Jak mogę zgłosić reklamację?"),
            "Przesyłam zdjęcia, o które Państwo prosili. Karton niestety już wyrzucił{am}, ale "
            "produkt nadal mam.",
            "Bardzo przepraszamy, że produkt dotarł uszkodzony. Prosimy o przesłanie jednego lub "
            "dwóch zdjęć produktu i opakowania – od razu wyślemy nowy egzemplarz bez żadnych "
            "kosztów. Uszkodzonego produktu nie trzeba odsyłać.",
            "Zdjęcia otrzymane – uszkodzenie w transporcie, nie wada produkcyjna. Wysyłka nowego "
            "egzemplarza zatwierdzona, reklamacja zgłoszona u kuriera."),
    }),
    "refund": Topic(14, ("refund", "return"), (1, 12, 4, 1), {
        "en": Script(
            ("Refund request for order {order}", "How do I return the {product}?",
             "Return and refund"),
            ("I'd like to return the {product} from order {order} - it isn't quite what I "
             "expected. Could you tell me how to send it back and how long the refund takes?",
             "The {product} I received {days} days ago isn't what I was looking for after all. "
             "Do I need to send it back before I get the {amount} refunded? Order number: "
             "{order}."),
            "Thanks! I've posted it today, the return tracking number is {tracking}.",
            "Thanks for getting in touch. You can return the {product} within 30 days: please "
            "use the prepaid return label we've just emailed you and keep the receipt from the "
            "post office. Once the parcel reaches our warehouse, we'll refund {amount} to your "
            "original payment method within 3-5 working days.",
            "Return checked in at the warehouse, item in resaleable condition. Refund of {amount} "
            "issued."),
        "ko": Script(
            ("환불 요청드립니다 (주문 {order})", "반품하면 환불은 언제 되나요?",
             "반품 및 환불 문의"),
            ("주문번호 {order}의 {product_eul} 반품하고 환불을 요청합니다. 생각했던 것과 조금 "
             "달라서요. 반품 방법과 환불까지 걸리는 기간을 알려 주세요.",
             "{days}일 전에 받은 {product_i} 생각보다 마음에 들지 않아서 환불받고 싶어요. "
             "상품을 먼저 보내야 환불({amount})이 되나요? 주문번호는 {order}입니다."),
            "감사합니다! 오늘 반품 보냈고, 반품 운송장 번호는 {tracking}입니다.",
            "문의 주셔서 감사합니다. 상품 수령 후 30일 이내에 반품하실 수 있습니다. 방금 보내 "
            "드린 선불 반품 라벨을 사용해 주시고, 접수 영수증은 보관해 주세요. 반품 상품이 "
            "물류센터에 도착하면 3~5영업일 이내에 결제하신 수단으로 {amount} 환불해 드리겠습니다.",
            "반품 상품 입고 확인, 재판매 가능 상태. {amount} 환불 처리 완료."),
        "pl": Script(
            ("Prośba o zwrot – zamówienie {order}", "Kiedy otrzymam zwrot pieniędzy?",
             "Zwrot towaru i pieniędzy"),
            ("Chciał{bym} zwrócić {product_acc} z zamówienia {order} – niestety nie spełnia "
             "moich oczekiwań. Jak mam odesłać towar i ile trwa zwrot pieniędzy?",
             "{days} dni temu dostał{am} {product_acc} (zamówienie {order}), ale jednak "
             "zdecydował{am} się na zwrot. Czy zwrot kwoty {amount} nastąpi dopiero po "
             "otrzymaniu przez Państwa paczki?"),
            "Dziękuję! Paczkę nadał{am} dzisiaj, numer przesyłki zwrotnej to {tracking}.",
            "Dziękujemy za wiadomość. Produkt można zwrócić w ciągu 30 dni – wystarczy "
            "skorzystać z opłaconej etykiety zwrotnej, którą właśnie wysłaliśmy e-mailem, i "
            "zachować potwierdzenie nadania. Po dotarciu paczki do magazynu zwrot kwoty {amount} "
            "nastąpi w ciągu 3-5 dni roboczych na konto użyte do płatności. Informację o zwrocie "
            "otrzymają Państwo e-mailem.",
            "Zwrot przyjęty na magazyn, towar w stanie do dalszej sprzedaży. Zlecono zwrot "
            "{amount}."),
    }),
    "wrong_size": Topic(10, ("exchange", "size"), (2, 12, 2, 0), {
        "en": Script(
            ("Wrong size - can I exchange?", "Exchange {product} for another size",
             "Size exchange for order {order}"),
            ("The {product} I ordered in size {size} is too small. Could I exchange it for a "
             "{size2}? The order number is {order}.",
             "I ordered size {size2} but received a {size}. Could you send the right size? I'll "
             "send the wrong one back, of course."),
            "Great, thank you. I've sent the {size} back today.",
            "No problem at all! We've reserved the {product} in size {size2} for you. Please "
            "send the {size} back using the return label we've emailed you; the new size will "
            "ship as soon as the courier scans your parcel.",
            "Size {size2} reserved; exchange order created, ships on the return scan."),
        "ko": Script(
            ("사이즈 교환 가능할까요?", "{product} 사이즈 교환 요청",
             "주문 {order} 사이즈가 맞지 않아요"),
            ("{size} 사이즈로 주문한 {product_i} 너무 작아요. {size2} 사이즈로 교환할 수 있을까요? "
             "주문번호는 {order}입니다.",
             "{size2} 사이즈를 주문했는데 {size} 사이즈가 왔어요. 맞는 사이즈로 다시 보내 주실 수 "
             "있나요? 잘못 온 상품은 당연히 반송하겠습니다."),
            "감사합니다. 오늘 {size} 사이즈 상품을 반송했어요.",
            "불편을 드려 죄송합니다. {size2} 사이즈 {product_eul} 고객님 앞으로 따로 확보해 "
            "두었습니다. 이메일로 보내 드린 반품 라벨로 {size} 사이즈 상품을 보내 주시면, "
            "택배사 접수가 확인되는 즉시 새 사이즈를 발송해 드리겠습니다.",
            "{size2} 사이즈 재고 확보, 교환 주문 생성. 반품 접수 확인되면 발송."),
        "pl": Script(
            ("Za mały rozmiar, proszę o wymianę", "Otrzymał{am} zły rozmiar",
             "Wymiana rozmiaru – zamówienie {order}"),
            ("Zamówił{am} {product_acc} w rozmiarze {size}, ale rozmiar okazał się za mały. "
             "Czy mogę wymienić produkt na rozmiar {size2}? Numer zamówienia: {order}.",
             "Zamówił{am} rozmiar {size2}, a w paczce był rozmiar {size}. Czy mogą Państwo "
             "wysłać właściwy rozmiar? Oczywiście odeślę błędny egzemplarz."),
            "Super, dziękuję. Rozmiar {size} odesłał{am} dzisiaj.",
            "Nie ma problemu! Zarezerwowaliśmy dla Państwa {product_acc} w rozmiarze {size2}. "
            "Prosimy odesłać rozmiar {size}, korzystając z etykiety zwrotnej wysłanej e-mailem – "
            "nowy rozmiar wyślemy, gdy tylko kurier zeskanuje Państwa paczkę.",
            "Rozmiar {size2} zarezerwowany, utworzono zamówienie wymiany – wysyłka po "
            "zeskanowaniu zwrotu."),
    }, apparel=True),
    "invoice": Topic(8, ("invoice",), (3, 10, 1, 0), {
        "en": Script(
            ("VAT invoice request", "Invoice needed for my expense report",
             "Invoice for order {order}"),
            ("Could you send me a VAT invoice for order {order}? The company details are: "
             "{company}, VAT number {vat}.",
             "I need an invoice for my purchase (order {order}) for my expense report. My "
             "account only shows a receipt."),
            "Received, thank you - that's exactly what our accounts team needed.",
            "Of course! We've issued the invoice for order {order} and emailed it to you as a "
            "PDF; you can also download it under 'My orders' in your account. If anything on it "
            "needs correcting, just let me know.",
            "Invoice issued in the accounting system; company details checked."),
        "ko": Script(
            ("회사 경비 처리용 증빙 요청드립니다", "관세 신고용 인보이스 요청",
             "주문 {order} 인보이스 문의"),
            ("회사 경비 처리를 위해 주문번호 {order} 건의 인보이스가 필요합니다. "
             "회사명: {company}, 사업자등록번호: {brn}. PDF로 보내 주시면 감사하겠습니다.",
             "관세 신고 때문에 주문 {order}의 상업 인보이스가 필요해요. 계정에는 간단한 영수증만 "
             "있어서요. 상품명과 금액이 나와 있는 인보이스를 보내 주실 수 있을까요?"),
            "인보이스 잘 받았습니다. 빠르게 처리해 주셔서 감사합니다!",
            "네, 물론입니다. 주문번호 {order}의 인보이스를 발행해 등록된 이메일 주소로 PDF "
            "파일을 보내 드렸습니다. 계정의 '주문 내역'에서도 내려받으실 수 있습니다. 수정이 "
            "필요한 부분이 있으면 말씀해 주세요.",
            "주문 {order} 인보이스 발행 완료, 고객 이메일로 발송함."),
        "pl": Script(
            ("Prośba o fakturę VAT", "Faktura do zamówienia {order}", "Faktura VAT na firmę"),
            ("Proszę o wystawienie faktury VAT do zamówienia {order}. Dane firmy: {company}, "
             "NIP {nip}. Zapomniał{am} zaznaczyć tę opcję przy składaniu zamówienia.",
             "Czy mogę otrzymać fakturę VAT na firmę do zamówienia {order}? Na koncie widzę "
             "tylko paragon. Dane: {company}, NIP {nip}."),
            "Faktura dotarła, dziękuję za szybką pomoc!",
            "Oczywiście! Wystawiliśmy fakturę VAT do zamówienia {order} na podane dane i "
            "wysłaliśmy ją jako PDF na Państwa adres e-mail. Faktura jest też dostępna w "
            "zakładce „Moje zamówienia”. Jeśli coś wymaga korekty, prosimy o informację.",
            "Faktura wystawiona w systemie księgowym, NIP sprawdzony na białej liście VAT."),
    }),
    "address_change": Topic(7, ("address", "shipping"), (0, 8, 5, 1), {
        "en": Script(
            ("Change delivery address", "Wrong address on order {order}",
             "Can I update my shipping address?"),
            ("I've just noticed I entered an old address for order {order}. Could you change the "
             "delivery address to {street}, {city} before it ships?",
             "I'm moving next week - could you please send order {order} to {street}, {city} "
             "instead?"),
            "Perfect, thank you so much for sorting that out so quickly!",
            "Thanks for letting us know. Order {order} hadn't left the warehouse yet, so we've "
            "updated the delivery address to {street}, {city}. You'll get a new shipping "
            "confirmation once it's on its way.",
            "Address changed in the shop admin before the label was printed; old label voided."),
        "ko": Script(
            ("배송지 변경 요청", "주문 {order} 주소 변경 가능할까요?",
             "배송 주소를 잘못 입력했어요"),
            ("주문번호 {order} 건에 예전 주소를 입력한 것 같아요. 아직 발송 전이라면 배송지를 "
             "아래 주소로 변경해 주실 수 있을까요?\n{city} {street}",
             "다음 주에 이사를 가게 되어서요. 주문 {order} 건은 새 주소로 보내 주실 수 있나요? "
             "새 주소: {city} {street}"),
            "빠르게 처리해 주셔서 정말 감사합니다!",
            "알려 주셔서 감사합니다. 주문번호 {order}의 상품은 아직 출고 전이라 배송지를 말씀하신 "
            "주소({city} {street})로 변경해 드렸습니다. 발송되면 새로운 배송 안내 메일을 보내 "
            "드리겠습니다.",
            "송장 출력 전에 관리자 페이지에서 주소 변경 완료. 기존 송장 취소함."),
        "pl": Script(
            ("Zmiana adresu dostawy", "Błędny adres w zamówieniu {order}",
             "Prośba o zmianę adresu wysyłki"),
            ("Właśnie zauważył{am}, że w zamówieniu {order} podał{am} stary adres. Czy mogą "
             "Państwo zmienić adres dostawy na {street}, {city}, zanim paczka zostanie wysłana?",
             "W przyszłym tygodniu się przeprowadzam – czy mogą Państwo wysłać zamówienie "
             "{order} na nowy adres: {street}, {city}?"),
            "Świetnie, bardzo dziękuję za szybką zmianę!",
            "Dziękujemy za informację. Zamówienie {order} nie opuściło jeszcze magazynu, więc "
            "zmieniliśmy adres dostawy na {street}, {city}. Gdy paczka zostanie nadana, wyślemy "
            "nowe potwierdzenie wysyłki.",
            "Adres zmieniony w panelu sklepu przed wydrukiem etykiety; stara etykieta anulowana."),
    }),
    "cancel": Topic(8, ("cancellation",), (0, 9, 5, 1), {
        "en": Script(
            ("Please cancel my order", "Cancel order {order}", "Cancellation request"),
            ("I placed order {order} by mistake earlier today - could you cancel it before it "
             "ships, please?",
             "I'd like to cancel my order {order} for the {product}; my plans have changed. If "
             "it has already shipped, how do I return it?"),
            "Thank you - I can already see the refund pending on my card.",
            "Done - order {order} has been cancelled before dispatch. The refund of {amount} "
            "has been released to your original payment method; depending on your bank it may "
            "take 3-5 working days to appear.",
            "Cancelled in the shop admin before picking; payment provider confirmed the void."),
        "ko": Script(
            ("주문 취소 부탁드립니다", "주문 {order} 취소 요청", "주문을 취소하고 싶어요"),
            ("오늘 실수로 주문을 넣었어요. 주문번호는 {order}입니다. 아직 발송 전이라면 취소 "
             "부탁드립니다.",
             "주문번호 {order}의 {product_eul} 취소하고 싶습니다. 사정이 생겨서요. 이미 "
             "발송되었다면 반품은 어떻게 하면 되나요?"),
            "감사합니다. 카드사 앱에서 취소 내역 확인했어요.",
            "요청하신 대로 주문번호 {order} 건은 출고 전에 취소 처리되었습니다. 결제 금액 "
            "{amount} 환불이 진행되었으며, 카드사에 따라 실제 반영까지 3~5영업일이 걸릴 수 "
            "있습니다.",
            "피킹 전 취소 완료. 결제대행사에서 승인 취소 확인."),
        "pl": Script(
            ("Anulowanie zamówienia", "Proszę anulować zamówienie {order}",
             "Rezygnacja z zamówienia"),
            ("Dzisiaj przez pomyłkę złożył{am} zamówienie {order}. Czy mogą Państwo je "
             "anulować, zanim zostanie wysłane?",
             "Chciał{bym} zrezygnować z zamówienia {order} ({product}) – zmieniły mi się plany. "
             "Jeśli paczka została już wysłana, jak mogę ją zwrócić?"),
            "Dziękuję, widzę już zwrot środków na karcie.",
            "Gotowe – zamówienie {order} zostało anulowane przed wysyłką. Zwrot kwoty {amount} "
            "został zlecony na Państwa metodę płatności; w zależności od banku środki pojawią "
            "się w ciągu 3-5 dni roboczych.",
            "Anulowane w panelu przed kompletacją; operator płatności potwierdził anulowanie "
            "transakcji."),
    }),
    "payment_failed": Topic(7, ("payment",), (0, 5, 8, 3), {
        "en": Script(
            ("Payment failed but money taken", "Charged twice for order {order}?",
             "Problem with payment"),
            ("I tried to pay for my order and got an error saying the payment failed, but "
             "{amount} has been taken from my account. Has order {order} gone through or not?",
             "I can see {amount} twice on my card statement for order {order}. Could you "
             "refund one of the payments, please?"),
            "Okay, thanks for explaining. I'll keep an eye on my bank account.",
            "Sorry for the worry! We've checked with our payment provider: order {order} was "
            "paid once and is being packed now. The other {amount} you can see is only a "
            "pending authorisation from a checkout attempt that timed out; your bank will "
            "release it within a few days without you doing anything.",
            "Payment provider log: one captured payment, one expired authorisation. No double "
            "charge."),
        "ko": Script(
            ("결제 오류인데 돈이 빠져나갔어요", "주문 {order} 이중 결제 문의",
             "결제 관련 문의드립니다"),
            ("결제할 때 오류가 났다고 떴는데 통장에서는 {amount} 출금이 되었어요. 주문번호 "
             "{order} 주문이 정상적으로 들어간 건가요?",
             "주문번호 {order} 건이 두 번 결제된 것 같아요. 카드 내역에 같은 금액({amount})이 "
             "두 번 찍혀 있습니다. 하나는 취소해 주실 수 있나요?"),
            "알겠습니다. 확인해 주셔서 감사해요. 카드 내역 계속 지켜볼게요.",
            "걱정을 끼쳐 드려 죄송합니다. 결제대행사에 확인해 보니 주문번호 {order} 건은 한 "
            "번만 정상 결제되었고, 현재 포장 중입니다. 추가로 보이는 금액은 시간 초과된 결제 "
            "시도의 임시 승인으로, 며칠 안에 은행에서 자동으로 취소됩니다.",
            "결제대행사 로그 확인: 매입 1건, 만료된 승인 1건. 이중 결제 아님."),
        "pl": Script(
            ("Płatność nieudana, a pieniądze pobrane",
             "Podwójne obciążenie za zamówienie {order}?", "Problem z płatnością"),
            ("Przy płatności BLIK-iem wyświetlił się błąd, że transakcja się nie powiodła, ale "
             "z konta zniknęło {amount}. Czy zamówienie {order} zostało przyjęte?",
             "Na wyciągu widzę dwa razy tę samą kwotę {amount} za zamówienie {order}. Czy "
             "mogą Państwo zwrócić jedną z tych płatności?"),
            "Dobrze, dziękuję za wyjaśnienie. Będę obserwować konto.",
            "Przepraszamy za kłopot! Sprawdziliśmy to u operatora płatności: zamówienie {order} "
            "zostało opłacone jeden raz i jest właśnie pakowane. Druga kwota {amount}, którą "
            "Państwo widzą, to tylko tymczasowa blokada po próbie płatności, która przekroczyła "
            "czas oczekiwania – bank zwolni ją automatycznie w ciągu kilku dni.",
            "Log operatora płatności: jedna transakcja rozliczona, jedna autoryzacja wygasła. "
            "Brak podwójnego obciążenia."),
    }),
    "discount_code": Topic(8, ("discount",), (3, 10, 1, 0), {
        "en": Script(
            ("Code {code} says invalid", "Forgot to use my discount code",
             "Discount code for order {order}"),
            ("I entered the code {code} from your newsletter on order {order}, but the checkout "
             "said it was invalid, so I paid the full price. It's supposed to be valid until "
             "the end of the month. Can you help?",
             "I forgot to enter my discount code {code} when I placed order {order}. Is there "
             "any way to apply it afterwards?"),
            "Brilliant, thanks a lot - I'll definitely shop with you again.",
            "Thanks for letting us know! We've applied the {code} discount to order {order} "
            "after all and refunded the difference to your payment method - you should see it "
            "within a few days.",
            "Discount for {code} refunded by hand as a goodwill gesture, within the agent limit."),
        "ko": Script(
            ("{code} 코드 오류 문의", "할인 코드를 깜빡했어요", "주문 {order} 할인 코드 문의"),
            ("주문번호 {order} 결제할 때 뉴스레터에서 받은 {code} 코드를 입력했는데, 유효하지 "
             "않은 코드라고 나와서 정가로 결제했어요. 이번 달 말까지 쓸 수 있다고 되어 "
             "있었는데 확인 부탁드려요.",
             "주문번호 {order} 주문할 때 할인 코드({code})를 입력하는 걸 깜빡했어요. 혹시 "
             "지금이라도 적용받을 수 있을까요?"),
            "정말 감사합니다! 다음에도 또 주문할게요.",
            "알려 주셔서 감사합니다. 주문번호 {order}에 {code} 할인을 적용해 차액을 결제 "
            "수단으로 환불해 드렸습니다. 며칠 안에 확인하실 수 있습니다.",
            "{code} 할인 금액 수동 환불. 상담원 권한 범위 내 처리."),
        "pl": Script(
            ("Kod {code} jest nieprawidłowy", "Zapomniał{am} wpisać kod rabatowy",
             "Kod rabatowy do zamówienia {order}"),
            ("Przy zamówieniu {order} wpisał{am} kod {code} z newslettera, ale w koszyku "
             "pojawił się komunikat, że kod jest nieprawidłowy, więc zapłacił{am} pełną cenę. "
             "Kod miał być ważny do końca miesiąca. Czy mogą Państwo pomóc?",
             "Przy składaniu zamówienia {order} zapomniał{am} wpisać kod rabatowy {code}. Czy da "
             "się go jeszcze uwzględnić?"),
            "Super, bardzo dziękuję! Na pewno jeszcze u Państwa zamówię.",
            "Dziękujemy za wiadomość! Uwzględniliśmy rabat z kodem {code} w zamówieniu {order} "
            "i zwróciliśmy różnicę na Państwa metodę płatności – środki pojawią się w ciągu "
            "kilku dni.",
            "Rabat z kodem {code} zwrócony ręcznie jako gest dobrej woli, w ramach limitu "
            "agenta."),
    }),
    "stock": Topic(8, ("stock",), (6, 8, 0, 0), {
        "en": Script(
            ("Will the {product} be back in stock?", "Is the {product} in stock?",
             "Question about availability"),
            ("The {product} has been out of stock for a while. Do you know when it will be "
             "available again? I'd love to order two.",
             "Before I order: do you have the {product} in stock and ready to ship? I need it "
             "delivered within a week."),
            "Thanks, I've signed up for the notification.",
            "Thanks for your interest! The {product} is sold out at the moment and expected "
            "back in about {days} days. If you click 'Notify me' on the product page, you'll "
            "get an email the moment it's available.",
            "Supplier confirmed the next delivery; restock date added to the product page."),
        "ko": Script(
            ("{product} 재입고 문의", "{product} 바로 발송 가능한가요?", "재고 문의드립니다"),
            ("{product_i} 한동안 품절 상태인데 언제 다시 입고되는지 알 수 있을까요? 두 개 "
             "주문하고 싶어요.",
             "주문하기 전에 여쭤봅니다. {product} 재고가 있어서 바로 발송 가능한가요? 일주일 "
             "안에 받아야 해서요."),
            "감사합니다. 재입고 알림 신청해 두었어요.",
            "관심 가져 주셔서 감사합니다. {product_eun} 현재 품절이며 약 {days}일 후에 "
            "재입고될 예정입니다. 상품 페이지에서 '재입고 알림'을 신청하시면 입고되는 즉시 "
            "이메일로 알려 드립니다.",
            "공급업체에서 다음 입고 일정 확인, 상품 페이지에 재입고 예정일 추가함."),
        "pl": Script(
            ("Kiedy produkt „{product}” wróci do sprzedaży?",
             "Czy produkt „{product}” jest dostępny od ręki?", "Pytanie o dostępność produktu"),
            ("Produkt „{product}” od dłuższego czasu jest niedostępny. Czy wiadomo, kiedy znów "
             "będzie w sprzedaży? Chętnie zamówił{bym} dwie sztuki.",
             "Zanim złożę zamówienie: czy produkt „{product}” jest dostępny od ręki? Potrzebuję "
             "go w ciągu tygodnia."),
            "Dziękuję, zapisał{am} się na powiadomienie.",
            "Dziękujemy za zainteresowanie! Produkt „{product}” jest chwilowo wyprzedany, ale "
            "powinien wrócić do sprzedaży za około {days} dni. Wystarczy kliknąć „Powiadom mnie” "
            "na stronie produktu, a wyślemy e-mail, gdy tylko będzie dostępny.",
            "Dostawca potwierdził termin dostawy; data dostępności dodana na stronie produktu."),
    }),
}


@dataclass(frozen=True, slots=True)
class Voice:
    """How letters open and close in one language."""

    greetings: tuple[str, ...]
    closings: tuple[str, ...]
    chat_openers: tuple[str, ...]
    chasers: tuple[str, ...]  # the customer, before anyone answered
    signature: str
    agent_greeting: str
    agent_chat_greeting: str
    agent_signoff: str
    wrap_ups: tuple[str, ...]  # the agent's last word after the customer confirmed
    order_suffix: str  # marketplaces put the order in the subject


VOICES = {
    "en": Voice(
        ("Hello,", "Hi there,", "Good morning,", "Hi,"),
        ("Thanks in advance,", "Kind regards,", "Many thanks,", "Best wishes,"),
        ("Hi! ", "Hello! ", "Hi there! "),
        ("Hi, just following up on my message below - any news?",
         "Hello again, I haven't heard back yet. Could someone look at this, please?",
         "Any update on this? It's been a couple of days."),
        "{first}", "Hi {first},", "Hi {first}! ",
        "Best regards,\n{agent}\n{store} Customer Care",
        ("You're welcome - glad we could help! I'll close this ticket now, but just reply if "
         "anything else comes up.",
         "Thanks for confirming. Everything is sorted on our side; have a lovely day!"),
        " (Order: {order})"),
    "ko": Voice(
        ("안녕하세요.", "안녕하세요, 문의드립니다."),
        ("감사합니다.", "확인 부탁드립니다. 감사합니다.", "빠른 답변 부탁드려요."),
        ("안녕하세요! ", "문의드려요. "),
        ("혹시 확인해 보셨을까요? 아직 답변을 못 받아서 다시 문의드립니다.",
         "며칠째 답변이 없어서 다시 연락드립니다. 확인 부탁드려요."),
        "{name} 드림", "안녕하세요, {name} 고객님.", "{name} 고객님, 안녕하세요! ",
        "감사합니다.\n{store} 고객센터 {agent} 드림",
        ("확인해 주셔서 감사합니다. 문제가 해결되어 다행입니다. 다른 문의 사항이 있으시면 "
         "언제든지 이 메일로 답장 주세요.",
         "답변 감사합니다. 저희 쪽 처리도 모두 완료되었습니다. 좋은 하루 보내세요!"),
        " (주문번호: {order})"),
    "pl": Voice(
        ("Dzień dobry,", "Witam,", "Dzień dobry Państwu,"),
        ("Z góry dziękuję,", "Pozdrawiam,", "Z poważaniem,", "Dziękuję i pozdrawiam,"),
        ("Dzień dobry! ", "Dzień dobry, mam pytanie. ", "Hej! "),
        ("Dzień dobry, czy jest już jakaś informacja w mojej sprawie?",
         "Ponawiam pytanie z poprzedniej wiadomości – nadal nie otrzymał{am} odpowiedzi.",
         "Czy ktoś mógłby się tym zająć? Minęło już kilka dni."),
        "{name}", "Dzień dobry, {pani},", "Dzień dobry, {pani}! ",
        "Pozdrawiamy serdecznie,\n{agent}\nZespół obsługi klienta {store}",
        ("Cieszymy się, że udało się pomóc! Zamykamy zgłoszenie, ale w razie pytań wystarczy "
         "odpowiedzieć na tę wiadomość.",
         "Dziękujemy za potwierdzenie. Wszystko zostało załatwione – życzymy miłego dnia!"),
        " (zamówienie: {order})"),
}

# --- People, products and the details that vary --------------------------------------------

EN_FIRST = ("Emma", "Oliver", "Sophie", "Jack", "Amelia", "Harry", "Grace", "Noah", "Chloe",
            "Liam", "Isla", "Thomas", "Ella", "George", "Mia", "Lukas", "Hannah", "Daniel")
EN_LAST = ("Clarke", "Hughes", "Turner", "Robinson", "Walsh", "Price", "Murphy", "Bennett",
           "Evans", "O'Connor", "Campbell", "Wright", "Fraser", "Patel", "Weber", "Schmidt")
# (first name, its vocative, feminine?)
PL_FIRST = (("Anna", "Anno", True), ("Katarzyna", "Katarzyno", True),
            ("Magdalena", "Magdaleno", True), ("Agnieszka", "Agnieszko", True),
            ("Joanna", "Joanno", True), ("Ewa", "Ewo", True), ("Zofia", "Zofio", True),
            ("Małgorzata", "Małgorzato", True), ("Aleksandra", "Aleksandro", True),
            ("Natalia", "Natalio", True), ("Piotr", "Piotrze", False),
            ("Tomasz", "Tomaszu", False), ("Krzysztof", "Krzysztofie", False),
            ("Marek", "Marku", False), ("Paweł", "Pawle", False), ("Michał", "Michale", False),
            ("Jakub", "Jakubie", False), ("Łukasz", "Łukaszu", False), ("Adam", "Adamie", False),
            ("Wojciech", "Wojciechu", False))
# (masculine, feminine)
PL_LAST = (("Nowak", "Nowak"), ("Kowalski", "Kowalska"), ("Wiśniewski", "Wiśniewska"),
           ("Wójcik", "Wójcik"), ("Kamiński", "Kamińska"), ("Lewandowski", "Lewandowska"),
           ("Zieliński", "Zielińska"), ("Szymański", "Szymańska"), ("Woźniak", "Woźniak"),
           ("Dąbrowski", "Dąbrowska"), ("Kozłowski", "Kozłowska"), ("Mazur", "Mazur"),
           ("Krawczyk", "Krawczyk"), ("Jankowski", "Jankowska"))
KO_FAMILY = (("김", "kim"), ("이", "lee"), ("박", "park"), ("최", "choi"), ("정", "jung"),
             ("강", "kang"), ("조", "cho"), ("윤", "yoon"), ("장", "jang"), ("임", "lim"))
KO_GIVEN = (("민지", "minji"), ("서준", "seojun"), ("지우", "jiwoo"), ("하은", "haeun"),
            ("도윤", "doyun"), ("수빈", "subin"), ("예준", "yejun"), ("지민", "jimin"),
            ("유진", "yujin"), ("현우", "hyunwoo"), ("서연", "seoyeon"), ("은비", "eunbi"))

PRODUCTS: dict[str, tuple[str | tuple[str, ...], ...]] = {
    "en": ("linen tote bag", "celadon mug set", "wool scarf", "amber pendant necklace",
           "bamboo chopping board", "stoneware teapot", "silk sleep mask",
           "Bolesławiec pottery bowl", "merino beanie", "linen tablecloth", "soy candle"),
    "ko": ("린넨 토트백", "청자 머그컵 세트", "울 머플러", "호박 목걸이", "대나무 도마",
           "도자기 찻주전자", "실크 수면안대", "볼레스와비에츠 그릇", "메리노 비니", "린넨 식탁보",
           "소이 캔들"),
    # (nominative, accusative)
    "pl": (("torba lniana", "torbę lnianą"), ("zestaw kubków ceramicznych",) * 2,
           ("szalik wełniany",) * 2, ("naszyjnik z bursztynem",) * 2,
           ("deska bambusowa", "deskę bambusową"), ("dzbanek do herbaty",) * 2,
           ("jedwabna opaska na oczy", "jedwabną opaskę na oczy"),
           ("miska z Bolesławca", "miskę z Bolesławca"), ("świeca sojowa", "świecę sojową"),
           ("obrus lniany",) * 2, ("czapka z merynosa", "czapkę z merynosa")),
}
APPAREL: dict[str, tuple[str | tuple[str, ...], ...]] = {
    "en": ("linen shirt", "wool cardigan", "cotton hanbok robe", "merino jumper",
           "linen dress"),
    "ko": ("린넨 셔츠", "울 카디건", "면 한복 가운", "메리노 스웨터", "린넨 원피스"),
    "pl": (("koszula lniana", "koszulę lnianą"), ("kardigan wełniany",) * 2,
           ("szlafrok bawełniany",) * 2, ("sweter z merynosa",) * 2,
           ("sukienka lniana", "sukienkę lnianą")),
}
SIZES = ("XS", "S", "M", "L", "XL")
CODES = ("WELCOME10", "SPRING15", "NEWSLETTER20", "HANOK10", "WISLA15")
ADDRESSES = {
    "en": (("14 Elm Grove", "Manchester M14 5RT"), ("7 Harbour Street", "Bristol BS1 4QA"),
           ("22 Kingsley Road", "Leeds LS6 2AB"), ("3 Mill Lane", "Dublin D08 X2Y7")),
    "ko": (("월드컵북로12길 34, 501호", "서울특별시 마포구"),
           ("해운대로 570, 1203호", "부산광역시 해운대구"), ("동성로 45, 3층", "대구광역시 중구"),
           ("판교역로 166, 702호", "경기도 성남시 분당구")),
    "pl": (("ul. Długa 15/4", "31-042 Kraków"), ("ul. Polna 8", "60-101 Poznań"),
           ("al. Grunwaldzka 112/9", "80-244 Gdańsk"), ("ul. Ogrodowa 3", "00-876 Warszawa"),
           ("ul. Słoneczna 21", "50-305 Wrocław")),
}
COMPANIES = {
    "en": ("Brightside Studio Ltd", "Northwind Interiors Ltd", "Clarke & Hughes LLP"),
    "ko": ("(주)한빛디자인", "마음공방", "주식회사 새봄상사"),
    "pl": ("Kowalski Design sp. z o.o.", "Pracownia Wnętrz Mazur", "Biuro Rachunkowe Nowak"),
}
LANGUAGE_WEIGHTS = {"en": 40, "pl": 35, "ko": 25}
# Where messages come from, by language: (source, weight)
SOURCES: dict[str, tuple[tuple[str, int], ...]] = {
    "en": (("email", 30), ("amazon", 25), ("ebay", 15), ("chat", 18), ("api", 12)),
    "pl": (("email", 32), ("amazon", 18), ("ebay", 12), ("chat", 24), ("api", 14)),
    "ko": (("email", 45), ("amazon", 3), ("ebay", 2), ("chat", 32), ("api", 18)),
}
AMAZON_DOMAINS = {"en": ("amazon.co.uk", "amazon.de"), "pl": ("amazon.pl",), "ko": ("amazon.com",)}
MAIL_DOMAINS = {"en": "example.com", "pl": "example.pl", "ko": "example.kr"}
