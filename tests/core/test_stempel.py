import gc
import gzip
import io
import itertools
import subprocess
import sys
import threading
import time
from importlib.resources import files

import pytest
from pystempel import Stemmer as PystempelStemmer
from pystempel.streams import DataInputStream

from sellerdesk.core.text import stempel

# Stems of nouns, verbs and adjectives a shop's customers write, cut where their endings start.
STEMS_TEXT = """
zamówi zamów zamawi zwrot zwroc zwraca paczk paczek przesył przesyłk reklamacj reklamow faktur
fakturow płatnoś płac zapłac dostaw dostarcz dostarcza kurier kurierk sklep sklepow towar produkt
klient klientk kont konc hasł adres adresow telefon telefoniczn wiadomoś zgłosz zgłasza zgłoszeni
problem problematyczn rachun rachunk pieniądz pieniędz cen cenow rabat rabatow kod kodow koszt
kosztow magazyn magazynow termin terminow dzień dni tygodni miesiąc miesięczn rok roczn godzin
minut sekund numer numerow przelew przelewow kart kartow blik gotów gotówk odbiór odbior odebra
odbiera paczkomat punkt punktow list listow poczt pocztow kraj krajow zagraniczn cło celn
opłat opłac podatk vat brutto netto gwarancj gwarancyjn serwis serwisow napraw naprawi uszkodz
uszkodzeni zniszcz zniszczeni zgubi zgubion zagini zaginięci opóźni opóźnieni spóźni czeka
oczekiwa pyta pytani odpowiedz odpowiada odpowiedzi prosz prośb wymian wymieni anulow anulowani
rezygnacj zrezygnow zmieni zmian zwróci zwrócon otrzyma otrzymywa dosta wysła wysyła wysyłk
nada nadani śledzi śledzeni status statusow informacj informow poinformow powiadomi powiadomieni
potwierdz potwierdzeni potwierdza kupi kupow kupuj sprzeda sprzedaw sprzedawc sprzedaż kupując
nabyw zakup zakupow koszyk koszyków ofert oferow promocj promocyjn okazj tani tań drog droższ
dobr lepsz najlepsz zł gorsz najgorsz szybk szybsz wolniejsz nowy now star używan ładn brzydk
duż większ mał mniejsz ciężk lekk długi dług krótk szerok wąsk wysok nisk czerwon niebiesk
zielon żółt biał czarn szar różow fioletow pomarańczow brązow złot srebrn drewnian metalow
plastikow szklan skórzan bawełnian wełnian jedwabn but butów spodn koszul sukien kurtk płaszcz
czapk rękawiczk skarpet torb plecak portfel zegar zegark telefon laptop komputer monitor
klawiatur mysz słuchawk głośnik ładowark kabl kabel bateri akumulator ekran obudow etui
szkł folij książk zeszyt długopis ołówek ołówk zabawk lalk klock gr piłk rower hulajnog
samochod samochód opon felg lamp żarów mebl krzesł stoł stół szaf łóżk materac poduszk kołdr
pościel ręcznik dywan zasłon firan garnk patelni talerz kubk kubek szklank sztućc nóż noż
widelec widelc łyżk czajnik ekspres lodówk pralk zmywark odkurzacz żelazk suszark kosmetyk
perfum krem szampon mydł pastw szczoteczk leki lek witamin suplement jedzeni żywnoś kaw herbat
czekolad cukier cukr mąk ryż makaron olej ocet sól sol pieprz przypraw warzyw owoc jabłk
gruszk śliwk wiśni truskawk malin borówk banan pomarańcz cytryn ziemniak marchew marchw
cebul czosnek czosnk pomidor ogórk ogórek sałat kapust mięs ryb kurczak wołowin wieprzowin
mlek mleczn ser serów jogurt masł jaj chleb bułk ciast ciastk tort pizz kanapk zup obiad
kolacj śniadani pracow pracown pracownik firm firmow biur biurow urzęd urząd dyrektor
kierownik szef zespoł zespół dział działow zarząd umow umówi spotkani rozmow rozmawi dzwoni
zadzwoni pisa napisa przeczyta czyta wiedzie wiedz rozumie zrozumie myśl pomyśl chcie chci
móg mog musi musz potrzeb potrzebn wa ważn pilny piln szczęśliw zadowolon niezadowolon
rozczarow zły zł smutn wesoł miły mił uprzejm grzeczn niegrzeczn profesjonaln fachow
"""

ENDINGS_TEXT = """
_ a ą ę i y e o u ie ów om ami ach em owi ego emu ej ym ymi ich ość ości ować owanie owany uje
ują ał ała ali ić ił iła ili ać am ają ny nego nych nie nia niem ka ki ek
"""

# Written for this test: how customers and agents write to a Polish shop.
POLISH_TEXT = """
Dzień dobry, zamówiłam w Państwa sklepie dwie pary butów i kurtkę, ale paczka do mnie nie
dotarła, chociaż status przesyłki od tygodnia pokazuje, że została doręczona do paczkomatu.
Proszę o sprawdzenie, co się stało, i o zwrot pieniędzy albo ponowne wysłanie zamówienia.
Numer zamówienia podałam w załączniku razem z potwierdzeniem przelewu i fakturą. Dziękuję!
Szanowna Pani, przepraszamy za opóźnienie. Reklamację przyjęliśmy i przekazaliśmy kurierowi,
który skontaktuje się z Panią jutro między dziewiątą a siedemnastą. Jeśli woli Pani odebrać
przesyłkę osobiście, prosimy o informację zwrotną. Pozdrawiamy serdecznie, zespół obsługi.
Chciałbym zrezygnować z subskrypcji i usunąć konto, bo dostaję za dużo wiadomości reklamowych.
Czy mogę wymienić rozmiar spodni na większy bez ponoszenia dodatkowych kosztów wysyłki?
Źle naliczono mi rabat: w koszyku było minus dwadzieścia procent, a na paragonie żadnej zniżki.
Ładowarka przestała działać po trzech dniach, ekran telefonu się nagrzewa, a słuchawki trzeszczą.
"""

ENGLISH_TEXT = """
the and you order orders ordered refund refunds refunded refunding shipping shipped delivery
delivered package parcel tracking number account password email invoice payment paid cancel
cancelled return returns returned exchange broken damaged missing late still darren policy
police customer service support help please thanks thank would could should there their
"""

ODD = [
    *"aąbcćdeęfghijklłmnńoóprsśtuwyzźż",
    *("".join(pair) for pair in itertools.product("aeiouyzwnk", repeat=2)),
    *(str(number) for number in (0, 7, 42, 100, 2024, 12345, 114_2233_445)),
    "x2", "abc123", "zł", "e-mail", "o’neil", "rock'n'roll", "u.s.", "co-op",
    "straße", "café", "naïve", "žluťoučký", "ünlü", "привет", "日本語", "환불", "😀", "abc😀",
    "ąę", "ÓÓÓ", "Zamówienie", "ZWROT", "PaCzKa", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
]


def words() -> list[str]:
    """About 20,000 word forms: inflected stems, written text, English and odd tokens."""
    endings = [ending.strip("_") for ending in ENDINGS_TEXT.split()]
    inflected = (stem + ending for stem in STEMS_TEXT.split() for ending in endings)
    text = "".join(char if char.isalpha() else " " for char in POLISH_TEXT).split()
    forms = {*inflected, *text, *(word.lower() for word in text), *ENGLISH_TEXT.split(), *ODD}
    return sorted(forms)


@pytest.fixture(scope="module")
def pystempel() -> PystempelStemmer:
    table = gzip.decompress(
        files("pystempel.data.polimorf").joinpath("stemmer_polimorf.tbl.gz").read_bytes()
    )
    gc.disable()  # collecting while its 1.4 million objects pile up would slow loading down
    try:
        return PystempelStemmer.from_stream(DataInputStream(io.BytesIO(table)))
    finally:
        gc.enable()


def test_stems_are_pystempels_for_twenty_thousand_words(pystempel: PystempelStemmer) -> None:
    # given
    forms = words()
    assert len(forms) > 20_000

    # when
    stems = {form: stempel.stem(form) for form in forms}

    # then
    assert stems == {form: pystempel(form) for form in forms}


def test_inflected_forms_share_a_stem() -> None:
    assert {stempel.stem(form) for form in ("zwrot", "zwrotu", "zwrocie", "zwrotów")} == {"zwrot"}
    assert stempel.stem("paczki") == "paczka"
    assert stempel.stem("zamówieniu") == "zamówienie"


def test_a_word_without_a_patch_is_its_own_stem() -> None:
    assert stempel.stem("日本語") == "日本語"
    assert stempel.stem("123") == "123"


def test_a_patch_that_deletes_the_whole_word_gives_no_stem() -> None:
    assert stempel.stem("siebie") is None
    assert stempel.stem("the") is None


def test_the_empty_word_has_no_stem() -> None:
    # pystempel raises IndexError for it
    assert stempel.stem("") is None


def test_a_table_that_is_not_a_multitrie_is_refused() -> None:
    with pytest.raises(ValueError, match="not a MultiTrie"):
        stempel.Stemmer.read(io.BytesIO(b"\x00\x02-0"))


def test_loading_runs_none_of_pystempels_code() -> None:
    # given: a fresh interpreter, as this one has imported pystempel to compare with it
    script = (
        "import sys\n"
        "from sellerdesk.core.text import stempel\n"
        "assert stempel.stem('paczki') == 'paczka'\n"
        "print(sorted(name for name in sys.modules if name.startswith(('pystempel', 'tqdm'))))\n"
    )

    # when
    run = subprocess.run(  # noqa: S603 (our own interpreter)
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )

    # then
    assert run.returncode == 0, run.stderr
    assert run.stdout == "[]\n"


def test_threads_loading_at_once_read_the_table_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    reads: list[object] = []

    def slow_read(table: object) -> object:
        time.sleep(0.05)
        reads.append(object())
        return reads[-1]

    monkeypatch.setattr(stempel, "_stemmer", None)
    monkeypatch.setattr(stempel.Stemmer, "read", slow_read)
    loaded: list[object] = []

    # when
    threads = [threading.Thread(target=lambda: loaded.append(stempel.load())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then
    assert len(reads) == 1
    assert loaded == reads * 8
