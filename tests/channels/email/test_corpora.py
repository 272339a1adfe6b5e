"""parse_email on real mail: django-helpdesk's awkward emails, SpamScope's hostile corpus, talon's
replies from real clients (fixtures/SOURCE.md says where each comes from)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sellerdesk.channels.base import ParseError
from sellerdesk.channels.email.mime import ParsedEmail, parse_email

FIXTURES = Path(__file__).parent / "fixtures"
LIMIT = 25 * 1024 * 1024


def parse(path: Path) -> ParsedEmail:
    return parse_email(path.read_bytes(), max_attachment_bytes=LIMIT)


def helpdesk(name: str) -> ParsedEmail:
    return parse(FIXTURES / "django_helpdesk" / name)


# --- django-helpdesk -----------------------------------------------------------------------


def test_all_special_chars() -> None:
    email = helpdesk("all-special-chars.eml")

    assert email.subject == "Testovácí email"
    assert (email.from_name, email.from_address) == ("Timothy Hobbs", "timothy.hobbs@auto-mat.cz")
    assert email.text == "íářčšáíéřášč"
    assert email.html is None
    assert email.attachments == ()
    assert email.message_id == "0fd7067e-2842-5b6c-3548-3cf7e6a1c9ea@auto-mat.cz"
    assert email.date == datetime(2019, 3, 8, 22, 40, 4, tzinfo=UTC)


def test_blank_body_with_attachment_yields_the_attachment() -> None:
    email = helpdesk("blank-body-with-attachment.eml")

    assert email.subject.startswith("Attachment without body - and a loooo")
    assert email.subject.endswith("ooong subject")
    assert email.text == ""
    assert [(a.filename, a.content_type, a.data) for a in email.attachments] == [
        ("baf", "text/plain", b"You shouldn't see this.\n")]


def test_forwarded_message_inline() -> None:
    email = helpdesk("forwarded-message.eml")

    assert email.subject == "Test with original message from GitHub"
    assert email.from_address == "sender@domain.tld"
    assert email.to == ("recipient@domain.tld",)
    assert email.text.startswith("This is email body\n\n-----Original Message-----\n"
                                 "From: GitHub <noreply@github.com>\n")
    assert email.text.endswith("Thanks,\nThe GitHub Team")
    assert email.headers["return-path"] == "sender@domain.tld"


def test_pgp_signed_mail_keeps_signature_and_reads_the_signed_text() -> None:
    email = helpdesk("pgp.eml")

    assert email.subject == "example email that crashes django-helpdesk get_email"
    assert email.from_address == "bugreporter@example.com"
    assert email.delivered_to == ("djangohelpdesk@example.com",)
    assert email.text == ("hi, thanks for looking into this :)\n\nhttps://github.com/"
                          "django-helpdesk/django-helpdesk/issues/567#issuecomment-342954233")
    (signature,) = email.attachments
    assert (signature.filename, signature.content_type) == (
        "signature.asc", "application/pgp-signature")
    assert signature.data.startswith(b"-----BEGIN PGP SIGNATURE-----")


def test_quoted_printable() -> None:
    email = helpdesk("quoted_printable.eml")

    assert email.subject == "Český test"
    assert email.text == "Tohle je test českých písmen odeslaných z gmailu."
    assert email.html == "<div>Tohle je test českých písmen odeslaných z gmailu.</div>"


def test_utf_nondecodable_still_gives_readable_text() -> None:
    email = helpdesk("utf-nondecodable.eml")

    assert email.subject == "Fwd: Cyklozaměstnavatel - změna vyhodnocení"
    assert email.in_reply_to == (
        "CAK0Q_=uQY=3V5iUSgEN16GLtYoJ-6oQu-vYjsgQ=jv6DwOkuLQ@mail.gmail.com",)
    assert email.references == email.in_reply_to
    assert "Ahoj Johne,\npodle domluvy bych Tě poprosila o změnu vyhodnocení soutěže" in email.text
    assert "\ufffd" not in email.text
    assert email.html is not None
    assert "prosazuje lepší" in email.html


# --- SpamScope's hostile corpus ------------------------------------------------------------

# Parsed: (subject, from address, attachment names); otherwise the ParseError code.
HOSTILE: dict[str, tuple[str, str, tuple[str, ...]] | str] = {
    "mail_malformed_1": ("immagine", "femucca@tin.it", ("20160523_916527.jpg_.zip",)),
    "mail_malformed_2": ("Delivery failure (abh@netpar.com.br)", "postmaster@netpar.com.br",
                         ("DSN57BAC498.txt", "original-headers.txt")),
    "mail_malformed_3": ("Ahorre Dinero en su Recibo de Luz", "smgsiso@yahoo.com.mx", ()),
    "mail_outlook_1": "email.not_mime",
    "mail_test_1": ("письмо уведом-е", "suvorov.s@nalg.ru", ("ФНС_РФ558.zip",)),
    "mail_test_2": ("Bollettino Meteorologico del 29/11/2015", "meteo@regione.vda.it",
                    ("intestazione.jpg", "logometeo.jpg", "Bollettino.pdf")),
    "mail_test_3": ("Hi there", "oneil.844@randtelekom.com.tr", ("message.txt",)),
    "mail_test_4": ("PI", "anabelgonzalo@fanox.com", ("img1.jpg", "Payment Invoice.zip")),
    "mail_test_5": ("Je prépare mon été zéro complexe !", "contact@carlance.fr", (
        "mailingassets_d68799cd6301c7f5731a3c42946e528bcb78eb84.jpg",
        "mailingassets_a9ed45ff2645cff7fca702b289bc684b1bc72e2a.png",
        "mailingassets_0e4def97310df75c2fa6e0db8fe67b79d130b3c3.png",
        "mailingassets_228b182da05725833a4003dcbd8f6fe67956ad40.png",
        "mailingassets_4545af8d596bb510a1181c9a3be0460bc5718649.png")),
    "mail_test_6": ("Быстрее вкладывайте в золото!", "noreply@ggg.com",
                    ("attachment-1.png", "attachment-2.png", "attachment-3.png",
                     "attachment-4.png")),
    "mail_test_7": ("I: Ordine", "geronazzo@voidstudicom.it", (
        "image001.jpg", "att24916.htm", "image002.jpg", "att09558.htm", "image003.jpg",
        "att04803.htm", "20170609091403417.pdf", "att18831.htm")),
    "mail_test_8": ("Have you ever wanted to land on an Aircraft Carrier",
                    "helicopter_flight_simulator@moneytrack.top", ()),
    "mail_test_9": ("我把镜头拉近些，你们看看这个是什么屄，这种场合自然少不了内射",
                    "zyb@sgis.com.cn", ()),
    "mail_test_10": ("*** ATTENZIONE *** - Modelli POWER7+ inclusi nella campagna Move To Eight",
                     "nicoletta_bernasconi@it.ibm.com",
                     ("attachment-1.gif", "attachment-2.gif", "attachment-3.gif",
                      "Move To Eight ZWEP6227F.pdf")),
    "mail_test_11": ("письмо уведом-е", "suvorov.s@nalg.ru", (
        "Prokuratura Rejonowa Warszawa-Śródmieście północ sygn. 2Ds. 137414 - RSK pracowników "
        "Skarbowych NSZZ Solidarność - Zarządzenie o odmowie dopuszczenia SOWP do udziału w "
        "postepowaniu.pdf",)),
    "mail_test_12": ("代开各地增值税发票", "baoguan@hotmail.com", ()),
    "mail_test_13": ("New Webinar: So, You Have A Disaster... Now What?",
                     "info@continuityinsights.com", ()),
    "mail_test_14": ("Test", "example@example.com", ("attachment-1.png",)),
    "mail_test_15": ("Urgent Request for Order Quotation", "do-not-reply@ncs.gov.ng",
                     ("REQUEST FOR QUOTE.zip",)),
    "mail_test_16": ("Test spam mail (GTUBE)", "sender@example.net", ()),
    "mail_test_17": ("Transferencia Interbancaria Banca en Línea",
                     "notificaccion-clientes@bbva.mx", ()),
    "mail_test_18": ("Test for Comma and Name Bugs", "comma.name@example.com", ()),
    "mail_test_19": ("Test email with email address as display name", "bob@example.com", ()),
}


def _hostile_file(name: str) -> Path:
    folder = FIXTURES / "spamscope_hostile"
    defanged = folder / f"{name}.defanged"
    return defanged if defanged.exists() else folder / name


def test_every_hostile_mail_has_a_fixture() -> None:
    names = {p.name.removesuffix(".defanged") for p in (FIXTURES / "spamscope_hostile").iterdir()
             if p.name.startswith("mail_")}

    assert names == set(HOSTILE)
    assert len(names) == 23


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_mail_is_parsed_or_refused_with_a_reason(name: str) -> None:
    expected = HOSTILE[name]
    raw = _hostile_file(name).read_bytes()

    if isinstance(expected, str):
        with pytest.raises(ParseError) as caught:
            parse_email(raw, max_attachment_bytes=LIMIT)
        assert caught.value.code == expected
        assert caught.value.reason
        return
    email = parse_email(raw, max_attachment_bytes=LIMIT)
    subject, from_address, attachments = expected
    assert email.subject == subject
    assert email.from_address == from_address
    assert tuple(a.filename for a in email.attachments) == attachments
    assert email.raw_size == len(raw)
    assert "\x00" not in email.text


def test_hostile_display_name_that_looks_like_an_address_is_not_the_sender() -> None:
    email = parse(_hostile_file("mail_test_15"))

    assert email.from_name == "purchasing@aquillaindustries.com"
    assert email.from_address == "do-not-reply@ncs.gov.ng"
    assert email.reply_to == ((None, "purchasing@aquiilaindustries.com"),)


def test_hostile_comma_in_encoded_display_name() -> None:
    email = parse(_hostile_file("mail_test_18"))

    assert email.from_name == "LastßlName, FirstName"


def test_hostile_gb2312_body_is_decoded_as_gb18030() -> None:
    email = parse(_hostile_file("mail_test_12"))

    assert email.from_name == "张先生"
    assert email.text.startswith("你好！我公司可代开各类增值税发票")


def test_hostile_mismatched_boundary_still_finds_the_html() -> None:
    email = parse(_hostile_file("mail_malformed_3"))

    assert email.priority == "high"  # X-Priority: 1 with X-MSMail-Priority: High
    assert email.text.startswith("Problemas para visualizar | Ver\non-line")
    assert email.html is not None


def test_hostile_boundary_reused_by_an_inner_part_keeps_the_attachment() -> None:
    email = parse(_hostile_file("mail_malformed_1"))

    assert email.text == "--Sent from my iPhone"
    (archive,) = email.attachments
    assert archive.content_type == "application/zip"
    assert archive.content_id == "002801d1b5bd$8889be70$6900a8c0@NIKX7058"


def test_hostile_bounce_report() -> None:
    email = parse(_hostile_file("mail_malformed_2"))

    assert email.is_dsn is True
    assert email.dsn is not None
    assert email.dsn.original_message_id == "004801d1fc84$01c934ac$b247f0b7$@infospacemail.com"
    assert email.dsn.status == "4.2.2"
    assert email.dsn.action == "failed"
    assert email.dsn.diagnostic == "Persistent transient failure - mailbox: mailbox full"
    assert email.dsn.failed_recipients == ("abh@netpar.com.br",)


def test_hostile_related_images_are_inline() -> None:
    email = parse(_hostile_file("mail_test_10"))

    assert [a.inline for a in email.attachments] == [True, True, True, False]
    assert email.attachments[0].content_id == "_1_0B4E24640B4E1564005C1243C12580DD"


# --- talon: replies from real clients ------------------------------------------------------

TALON = sorted((FIXTURES / "talon_replies").glob("*.eml"))


def test_talon_standard_replies_are_all_here() -> None:
    assert len(TALON) == 12


@pytest.mark.parametrize("path", TALON, ids=lambda p: p.stem)
def test_talon_reply_parses(path: Path) -> None:
    expected_file = path.with_name(f"{path.stem}_reply_text")
    expected = expected_file.read_text().strip() if expected_file.exists() else "Hello"

    email = parse(path)

    assert email.subject in ("Re: Test", "RE: Test", "Test", "Re: Hello there")
    assert "@" in email.from_address
    assert expected in email.text
    assert email.attachments == ()


def test_talon_android_reply_in_russian_quote_header() -> None:
    email = parse(FIXTURES / "talon_replies" / "android.eml")

    assert (email.from_name, email.from_address) == ("Sergey Obykhov", "bob@example.com")
    assert email.text.startswith("Hello\n02.04.2012 14:20 пользователь")


def test_talon_thunderbird_flowed_reply() -> None:
    email = parse(FIXTURES / "talon_replies" / "thunderbird.eml")

    assert email.text == "On 04/02/2012 06:26 PM, Megan One wrote:\n> Hi \nHello"
    assert email.message_id == "4F79B73C.9030506@xxx.mailgun.org"
