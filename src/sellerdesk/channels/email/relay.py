"""Marketplace relay mail: Amazon buyer aliases and eBay member messages, and their reply rules.

Amazon and eBay hide buyers behind relay addresses and police what sellers write back. This
module recognises that mail (so a ticket is marked with its marketplace, order and buyer and
threads on the alias instead of opening a new ticket per message) and checks a reply before it
is sent. Pure functions: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal
from urllib.parse import urlsplit

from sellerdesk.channels.email.threading import parse_address, parse_addresses

__all__ = [
    "AMAZON_SITES",
    "EBAY_SITES",
    "RelayInfo",
    "ReplyRules",
    "RuleCode",
    "RuleViolation",
    "check_reply",
    "detect_marketplace",
    "reply_rules",
]

# Every Amazon marketplace's domain suffix: buyer aliases live at marketplace.amazon.<site>.
AMAZON_SITES = frozenset({
    "com", "ca", "com.mx", "com.br", "co.uk", "ie", "de", "fr", "it", "es", "nl", "se", "pl",
    "com.be", "com.tr", "ae", "sa", "eg", "in", "co.jp", "cn", "com.au", "sg", "co.za",
})
EBAY_SITES = frozenset({
    "com", "ca", "co.uk", "de", "at", "ch", "fr", "it", "es", "nl", "be", "ie", "pl", "com.au",
    "com.hk", "com.sg", "com.my", "ph", "in",
})

SenderRole = Literal["buyer", "seller", "marketplace"]


@dataclass(frozen=True, slots=True)
class ReplyRules:
    """What a marketplace lets a seller write back to a buyer."""

    marketplace: str
    plain_text_only: bool
    requires_order_id: bool
    allow_external_links: bool
    link_domains: tuple[str, ...]  # links may point here (and to subdomains)
    allow_emojis: bool
    allow_contact_details: bool  # email addresses, phone numbers, messenger handles
    allowed_attachment_types: tuple[str, ...]  # lower-case extensions; empty means any
    max_attachment_bytes: int | None


_AMAZON_RULES = ReplyRules(
    marketplace="amazon",
    plain_text_only=True,
    requires_order_id=True,
    allow_external_links=False,
    link_domains=(*(f"amazon.{site}" for site in sorted(AMAZON_SITES)), "amzn.to", "amzn.eu",
                  "a.co"),
    allow_emojis=False,
    allow_contact_details=False,
    allowed_attachment_types=("pdf", "jpg", "jpeg", "png", "gif", "txt", "doc", "docx"),
    max_attachment_bytes=10 * 1024 * 1024,
)
_EBAY_RULES = ReplyRules(
    marketplace="ebay",
    plain_text_only=True,
    requires_order_id=False,
    allow_external_links=False,
    link_domains=(*(f"ebay.{site}" for site in sorted(EBAY_SITES)), "ebay.us"),
    allow_emojis=True,
    allow_contact_details=False,
    allowed_attachment_types=("jpg", "jpeg", "png", "gif"),
    max_attachment_bytes=None,
)
_RULES = {"amazon": _AMAZON_RULES, "ebay": _EBAY_RULES}


@dataclass(frozen=True, slots=True)
class RelayInfo:
    """What relay mail tells us about its marketplace, order and buyer."""

    marketplace: Literal["amazon", "ebay"]
    site: str  # the marketplace's domain suffix: "de", "co.uk", "com.au" …
    sender_role: SenderRole  # "marketplace" for the platform's own notifications
    buyer_alias: str | None  # the relay address standing for the buyer
    order_id: str | None
    item_id: str | None  # eBay item number, when one is named
    buyer_name: str | None
    thread_key: str | None  # stable per buyer and order; None when no buyer is known
    reply_rules: ReplyRules

    @property
    def is_buyer_message(self) -> bool:
        """True when a buyer wrote this, as opposed to the platform or the seller."""
        return self.sender_role == "buyer"


class RuleCode(StrEnum):
    """Why a reply would break a marketplace's messaging rules."""

    MISSING_ORDER_ID = "missing_order_id"
    EXTERNAL_LINK = "external_link"
    EMOJI = "emoji"
    EMAIL_ADDRESS = "email_address"
    PHONE_NUMBER = "phone_number"
    OFF_PLATFORM_CONTACT = "off_platform_contact"
    ATTACHMENT_TYPE = "attachment_type"


@dataclass(frozen=True, slots=True)
class RuleViolation:
    """One broken rule: a code for machines, a sentence for the agent, the offending text."""

    code: RuleCode
    message: str
    excerpt: str | None = None


def reply_rules(marketplace: str) -> ReplyRules | None:
    """The messaging rules of a marketplace ("amazon", "ebay"), or None when unknown."""
    return _RULES.get(marketplace.casefold())


# --- recognising relay mail -----------------------------------------------------------------

_AMAZON_ORDER = re.compile(r"(?<![\w-])(?:\d{3}|D\d{2})-\d{7}-\d{7}(?![\w-])")
_EBAY_ORDER = re.compile(r"(?<![\w-])(?:\d{2}-\d{5}-\d{5}|\d{12}-\d{12,14})(?![\w-])")
# An item number is only twelve digits, like many tracking numbers: it needs a word before it.
_EBAY_ITEM = re.compile(
    r"(?:#\s?|\b(?:item|artikel|przedmiot\w*|ofert\w*|article|articolo|artículo|상품|물품|아이템)"
    r"[^\d\n]{0,24}?)(\d{12})(?!\d)",
    re.IGNORECASE,
)
_MAX_NAME = 200
_AMAZON_NAME_SUFFIX = re.compile(
    r"\s*(?:[-–—]\s*(?:amazon(?:\s+marketplace)?|marketplace\s+amazon)(?:\.[a-z.]+)?"
    r"|\s(?:via|über|przez|par|tramite)\s+amazon.*)\s*$",
    re.IGNORECASE,
)
_AMAZON_SUBJECT_BUYER = re.compile(
    r"(?:amazon[- ]?(?:customer|kunde|kundin)|(?:customer|klienta?|client|cliente(?: de)?)\s+amazon"
    r"|amazon\s*고객)\s*:?\s+([^()\n:]{2,60}?)\s*(?:\(|$)",
    re.IGNORECASE,
)
_EBAY_MEMBER_MESSAGE = re.compile(
    r"^(?:[^:\n]{0,40}:\s*)?([\w.*-]{2,64})\s+(?:sent (?:you )?a (?:message|question)|"
    r"has sent (?:you )?a (?:message|question)|hat (?:ihnen |dir )?eine (?:nachricht|frage)|"
    r"wysłał(?:a|\(a\))?(?: ci| tobie)? (?:wiadomość|pytanie)|"
    r"a envoyé un message|ha inviato un messaggio|ha enviado un mensaje|님이 메시지를 보냈습니다)",
    re.IGNORECASE | re.MULTILINE,
)


def detect_marketplace(
    from_address: str, to: Iterable[str], subject: str, text: str
) -> RelayInfo | None:
    """Amazon or eBay relay mail as RelayInfo, or None for ordinary mail.

    A buyer alias in From is a buyer's message; in To, the seller's own message to the buyer
    (mail imported from a Sent folder); mail from amazon.<site> or ebay.<site> themselves is
    the platform's notification (sender_role "marketplace"), except eBay's relayed member
    messages, which name the buyer in the subject.
    """
    name, address = parse_address(from_address)
    relay = _relay_address(address)
    if relay is not None:
        return _build(relay, "buyer", address, name, subject, text)
    for _, recipient in parse_addresses(to):
        relay = _relay_address(recipient)
        if relay is not None:
            return _build(relay, "seller", recipient, "", subject, text)
    platform = _platform_address(address)
    if platform is None:
        return None
    marketplace, site = platform
    order_id, item_id = _order_and_item(marketplace, subject, text)
    if marketplace == "ebay":
        member = _EBAY_MEMBER_MESSAGE.search(subject) or _EBAY_MEMBER_MESSAGE.search(text[:4000])
        if member is not None:
            user = member.group(1)
            key = f"ebay:user:{user.casefold()}:{order_id or item_id or ''}".rstrip(":")
            return RelayInfo("ebay", site, "buyer", None, order_id, item_id, user, key,
                             _EBAY_RULES)
        return RelayInfo("ebay", site, "marketplace", None, order_id, item_id, None, None,
                         _EBAY_RULES)
    return RelayInfo("amazon", site, "marketplace", None, order_id, None, None, None,
                     _AMAZON_RULES)


def _domain(address: str) -> tuple[str, str]:
    local, _, domain = address.strip().rpartition("@")
    return local, domain.casefold().rstrip(".")


def _relay_address(address: str) -> tuple[Literal["amazon", "ebay"], str] | None:
    """Marketplace and site of a buyer relay address (exact domains only, never lookalikes)."""
    local, domain = _domain(address)
    if not local:
        return None
    for prefix, marketplace, sites in (("marketplace.amazon.", "amazon", AMAZON_SITES),
                                       ("members.ebay.", "ebay", EBAY_SITES)):
        if domain.startswith(prefix) and domain[len(prefix):] in sites:
            return ("amazon" if marketplace == "amazon" else "ebay"), domain[len(prefix):]
    return None


def _platform_address(address: str) -> tuple[Literal["amazon", "ebay"], str] | None:
    """Marketplace and site when the address belongs to amazon.<site> or ebay.<site> itself."""
    local, domain = _domain(address)
    if not local:
        return None
    labels = domain.split(".")
    for position, label in enumerate(labels):
        site = ".".join(labels[position + 1:])
        if label == "amazon" and site in AMAZON_SITES:
            return "amazon", site
        if label == "ebay" and site in EBAY_SITES:
            return "ebay", site
    return None


def _order_and_item(marketplace: str, subject: str, text: str) -> tuple[str | None, str | None]:
    pattern = _AMAZON_ORDER if marketplace == "amazon" else _EBAY_ORDER
    order = pattern.search(subject) or pattern.search(text)
    if marketplace == "amazon":
        return (order.group(0) if order else None), None
    item = _EBAY_ITEM.search(subject) or _EBAY_ITEM.search(text)
    return (order.group(0) if order else None), (item.group(1) if item else None)


def _build(
    relay: tuple[Literal["amazon", "ebay"], str],
    role: SenderRole,
    alias: str,
    display_name: str,
    subject: str,
    text: str,
) -> RelayInfo:
    marketplace, site = relay
    alias = alias.strip().casefold()
    order_id, item_id = _order_and_item(marketplace, subject, text)
    buyer = _buyer_name(marketplace, display_name, subject) if role == "buyer" else None
    # The alias is stable per buyer; the order splits one buyer's separate purchases.
    key = f"{marketplace}:{alias}" + (f":{order_id or item_id}" if order_id or item_id else "")
    return RelayInfo(marketplace, site, role, alias, order_id, item_id, buyer, key,
                     _RULES[marketplace])


def _buyer_name(marketplace: str, display_name: str, subject: str) -> str | None:
    # No real name is this long; the bound keeps the suffix search cheap on hostile headers.
    name = display_name.strip().strip('"')[:_MAX_NAME]
    if marketplace == "amazon":
        name = _AMAZON_NAME_SUFFIX.sub("", name).strip()
        if not name:
            match = _AMAZON_SUBJECT_BUYER.search(subject)
            name = match.group(1).strip() if match else ""
    return name if name and "@" not in name else None


# --- checking a reply before it is sent ------------------------------------------------------

_URL = re.compile(r"\bhttps?://[^\s<>\"'()\[\]]+|\bwww\.[^\s<>\"'()\[\]]+", re.IGNORECASE)
_BARE_DOMAIN = re.compile(
    r"(?<![@\w./-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?:com|net|org|info|biz|io|co|me|app|shop|store|online|site|xyz|link|ly|gl|to|eu|pl|de|"
    r"uk|fr|it|es|nl|se|kr|jp|cn|ru|us|ca|au|in|br|mx|tr|be|at|ch|ie|cz|sk|ua))"
    r"(?![\w-]|\.[a-z0-9])(?:/[^\s<>\"'()\[\]]*)?",
    re.IGNORECASE,
)
# Matches start only where a token starts: restarting inside "a.a.a…" would be quadratic.
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONES = (
    re.compile(r"(?<![\w+])\+\d[\d\s().-]{7,18}\d"),
    re.compile(r"(?<!\w)\(\d{2,4}\)\s*\d{3,4}[\s.-]?\d{3,4}\b"),
    re.compile(r"(?<![\w-])01[016789]-\d{3,4}-\d{4}(?![\w-])"),  # Korean mobile numbers
    re.compile(r"(?<![\w.-])\d{3}[.-]\d{3}[.-]\d{4}(?![\w.-])"),  # North American numbers
    re.compile(
        r"(?:phone|tel\.?|telephone|call me|call us|mobile|cell|whats ?app|viber|telefon\w*|"
        r"komórk\w*|zadzwoń\w*|handy|rufnummer|전화(?:번호)?|연락처|휴대폰|핸드폰)"
        r"\W{0,3}\s*(\+?\(?\d[\d\s().-]{6,18}\d)",
        re.IGNORECASE,
    ),
)
_OFF_PLATFORM = re.compile(
    r"\b(?:whats\s?app|telegram|skype|viber|wechat|kakao\s?talk|paypal\.me|venmo|zelle|revolut)\b"
    r"|\boutside (?:of )?(?:ebay|amazon)\b|\bpoza (?:ebay|amazon)\w*|카카오톡|카톡|텔레그램",
    re.IGNORECASE,
)
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u231a\u231b\u23e9-\u23f3\u23f8-\u23fa"
    "\u2b05-\u2b07\u2b1b\u2b1c\u2b50\u2b55\u3030\u303d\u3297\u3299]"
)


def check_reply(
    marketplace: str,
    text: str,
    *,
    order_id: str | None,
    attachments: Sequence[str] = (),
) -> list[RuleViolation]:
    """Rule violations in a reply to a marketplace buyer; empty when it may be sent.

    ``order_id`` is the thread's order (a reply without one must name it itself on Amazon);
    ``attachments`` are file names. An unknown marketplace has no rules here.
    """
    rules = reply_rules(marketplace)
    if rules is None:
        return []
    name = "Amazon" if rules.marketplace == "amazon" else "eBay"
    violations: list[RuleViolation] = []
    if rules.requires_order_id and order_id is None and not _AMAZON_ORDER.search(text):
        violations.append(RuleViolation(
            RuleCode.MISSING_ORDER_ID,
            f"{name} messages must concern an order: name the order id (123-1234567-1234567).",
        ))
    if not rules.allow_external_links:
        violations.extend(_link_violations(text, rules, name))
    if not rules.allow_contact_details:
        violations.extend(_contact_violations(text, name))
    if not rules.allow_emojis:
        violations.extend(
            RuleViolation(RuleCode.EMOJI, f"{name} does not allow emojis in buyer messages.",
                          emoji)
            for emoji in dict.fromkeys(_EMOJI.findall(text))
        )
    violations.extend(_attachment_violations(attachments, rules, name))
    return violations


def _host_allowed(host: str, rules: ReplyRules) -> bool:
    return any(host == domain or host.endswith("." + domain) for domain in rules.link_domains)


def _link_violations(text: str, rules: ReplyRules, name: str) -> list[RuleViolation]:
    without_emails = _EMAIL.sub(" ", text)
    links = [m.group(0) for m in _URL.finditer(without_emails)]
    rest = _URL.sub(" ", without_emails)
    links += [m.group(0) for m in _BARE_DOMAIN.finditer(rest)]
    violations: list[RuleViolation] = []
    for link in dict.fromkeys(links):
        target = link if "://" in link else f"http://{link}"
        host = (urlsplit(target.rstrip(".,;:!?")).hostname or "").rstrip(".")
        if host and not _host_allowed(host, rules):
            violations.append(RuleViolation(
                RuleCode.EXTERNAL_LINK,
                f"{name} does not allow links outside {name} in buyer messages: remove {host}.",
                link,
            ))
    return violations


def _contact_violations(text: str, name: str) -> list[RuleViolation]:
    violations = [
        RuleViolation(RuleCode.EMAIL_ADDRESS,
                      f"{name} does not allow email addresses in buyer messages.", email)
        for email in dict.fromkeys(_EMAIL.findall(text))
    ]
    phones: dict[str, None] = {}
    for pattern in _PHONES:
        for match in pattern.finditer(text):
            phones[match.group(match.lastindex or 0).strip()] = None
    violations += [
        RuleViolation(RuleCode.PHONE_NUMBER,
                      f"{name} does not allow phone numbers in buyer messages.", phone)
        for phone in phones
    ]
    violations += [
        RuleViolation(RuleCode.OFF_PLATFORM_CONTACT,
                      f"{name} does not allow moving the conversation or payment off {name}.",
                      match)
        for match in dict.fromkeys(m.group(0) for m in _OFF_PLATFORM.finditer(text))
    ]
    return violations


def _attachment_violations(
    attachments: Sequence[str], rules: ReplyRules, name: str
) -> list[RuleViolation]:
    if not rules.allowed_attachment_types:
        return []
    allowed = ", ".join(rules.allowed_attachment_types)
    violations: list[RuleViolation] = []
    for filename in attachments:
        extension = filename.rpartition(".")[2].casefold() if "." in filename else ""
        if extension not in rules.allowed_attachment_types:
            violations.append(RuleViolation(
                RuleCode.ATTACHMENT_TYPE,
                f"{name} accepts only these attachment types: {allowed}; {filename} is not one.",
                filename,
            ))
    return violations
