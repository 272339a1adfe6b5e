"""A deterministic plan of the demo conversations, drawn from one seeded random generator."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sellerdesk.accounts.permissions import Role
from sellerdesk.channels.base import IdentityKind, InboundMessage, SenderIdentity, ThreadHints
from sellerdesk.channels.models import Channel
from sellerdesk.demo.content import (
    ADDRESSES,
    AGENT_DOMAIN,
    AGENTS,
    AMAZON_DOMAINS,
    APPAREL,
    CODES,
    COMPANIES,
    DAYS,
    EN_FIRST,
    EN_LAST,
    KO_FAMILY,
    KO_GIVEN,
    LANGUAGE_WEIGHTS,
    MAIL_DOMAINS,
    PL_FIRST,
    PL_LAST,
    PRODUCTS,
    SIGNATURES,
    SIZES,
    SOURCES,
    STORE_NAME,
    TICKETS,
    TOPICS,
    VOICES,
    Script,
    Topic,
    Voice,
)
from sellerdesk.tickets.states import Priority, Status


def _ascii(text: str) -> str:
    table = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ'", "acelnoszzACELNOSZZ ")
    return text.translate(table).replace(" ", "").lower()

T = TypeVar("T")


def _has_batchim(word: str) -> bool:
    """Whether a Korean word ends in a consonant, which picks the particle (을/를, 이/가)."""
    code = ord(word[-1]) - 0xAC00
    return 0 <= code < 11172 and code % 28 != 0


@dataclass(frozen=True, slots=True)
class Person:
    lang: str
    name: str
    first: str
    email: str
    amazon: str
    ebay: str
    words: dict[str, str] = field(default_factory=dict)  # Polish forms that follow gender


def make_person(rng: random.Random, lang: str, n: int) -> Person:
    relay = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=14))
    domain = MAIL_DOMAINS[lang]
    amazon = f"{relay}@marketplace.{rng.choice(AMAZON_DOMAINS[lang])}"
    words: dict[str, str] = {}
    if lang == "en":
        first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
        name, local = f"{first} {last}", f"{_ascii(first)}.{_ascii(last)}"
    elif lang == "pl":
        first, vocative, feminine = rng.choice(PL_FIRST)
        last = rng.choice(PL_LAST)[1 if feminine else 0]
        name, local = f"{first} {last}", f"{_ascii(first)}.{_ascii(last)}"
        words = {"am": "am" if feminine else "em", "bym": "abym" if feminine else "bym",
                 "pani": f"Pani {vocative}" if feminine else f"Panie {vocative}"}
    else:
        (family, family_r), (given, given_r) = rng.choice(KO_FAMILY), rng.choice(KO_GIVEN)
        name, first, local = f"{family}{given}", given, f"{given_r}.{family_r}"
    handle = f"{local.replace('.', '_')}{n % 97}"
    return Person(lang, name, first, f"{local}{n % 89}@{domain}", amazon,
                  f"{handle}.{relay[:6]}@members.ebay.com", words)


def _order_id(rng: random.Random, source: str) -> str:
    digits = "0123456789"
    if source == "amazon":
        a, b = "".join(rng.choices(digits, k=7)), "".join(rng.choices(digits, k=7))
        return f"{rng.choice(('302', '303', '305', '028'))}-{a}-{b}"
    if source == "ebay":
        return f"{rng.randint(10, 27)}-{rng.randint(10000, 99999)}-{rng.randint(10000, 99999)}"
    return f"HW-{rng.randint(100000, 199999)}"


def _money(rng: random.Random, lang: str) -> str:
    if lang == "ko":
        return f"{rng.randrange(25_000, 180_000, 500):,}원"
    cents = rng.choice(("00", "90", "99", "50"))
    if lang == "pl":
        return f"{rng.randint(59, 499)},{cents} zł"
    return f"€{rng.randint(15, 120)}.{cents}"


def _variables(rng: random.Random, lang: str, topic: Topic, person: Person, source: str,
               agent: str) -> dict[str, str]:
    product = rng.choice((APPAREL if topic.apparel else PRODUCTS)[lang])
    size = rng.randrange(len(SIZES) - 1)
    street, city = rng.choice(ADDRESSES[lang])
    tracking = (f"6{rng.randint(10**22, 10**23 - 1)}" if lang == "pl"
                else f"RR{rng.randint(10**8, 10**9 - 1)}PL")
    values = {
        "name": person.name, "first": person.first, "order": _order_id(rng, source),
        "tracking": tracking, "days": str(rng.randint(3, 12)), "amount": _money(rng, lang),
        "size": SIZES[size], "size2": SIZES[size + 1], "code": rng.choice(CODES),
        "street": street, "city": city, "company": rng.choice(COMPANIES[lang]),
        "vat": f"GB{rng.randint(10**8, 10**9 - 1)}", "nip": str(rng.randint(10**9, 10**10 - 1)),
        "brn": f"{rng.randint(100, 899)}-{rng.randint(10, 99)}-{rng.randint(10000, 99999)}",
        "agent": agent, "store": STORE_NAME, **person.words,
    }
    if isinstance(product, tuple):
        values["product"], values["product_acc"] = product
    else:
        values["product"] = product
    if lang == "ko" and isinstance(product, str):
        final = _has_batchim(product)
        values["product_eul"] = product + ("을" if final else "를")
        values["product_i"] = product + ("이" if final else "가")
        values["product_eun"] = product + ("은" if final else "는")
    return values


# --- The plan of one ticket, then writing it ------------------------------------------------

# (status, weight) by the ticket's age: fresh tickets are still waiting, old ones are done.
STATUS_BY_AGE: tuple[tuple[float, tuple[tuple[Status, int], ...]], ...] = (
    (1.0, ((Status.NEW, 45), (Status.OPEN, 30), (Status.PENDING, 20), (Status.SOLVED, 5))),
    (4.0, ((Status.NEW, 12), (Status.OPEN, 28), (Status.PENDING, 25), (Status.SOLVED, 30),
           (Status.CLOSED, 5))),
    (float("inf"), ((Status.NEW, 3), (Status.OPEN, 10), (Status.PENDING, 12),
                    (Status.SOLVED, 40), (Status.CLOSED, 35))),
)

# Who spoke, in order: in (customer), chase (customer, unanswered), out (agent), follow
# (customer answers the agent), wrap (agent's last word). (story, weight) per status.
STORIES: dict[Status, tuple[tuple[tuple[str, ...], int], ...]] = {
    Status.NEW: ((("in",), 82), (("in", "chase"), 18)),
    Status.OPEN: ((("in",), 45), (("in", "out", "follow"), 50),
                  (("in", "chase", "out", "follow"), 5)),
    Status.PENDING: ((("in", "out"), 85), (("in", "chase", "out"), 15)),
    Status.SOLVED: ((("in", "out"), 70), (("in", "out", "follow", "wrap"), 22),
                    (("in", "chase", "out"), 8)),
}
STORIES[Status.CLOSED] = STORIES[Status.SOLVED]
# Hours after the previous message: (shortest, longest)
DELAYS = {"chase": (18.0, 40.0), "out": (0.2, 20.0), "follow": (0.5, 30.0), "wrap": (0.2, 6.0)}
PRIORITIES = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)


def _pick(rng: random.Random, weighted: tuple[tuple[T, int], ...] | dict[T, int]) -> T:
    pairs = tuple(weighted.items()) if isinstance(weighted, dict) else weighted
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


CUSTOMER = ("in", "chase", "follow")
MAIL_SOURCES = ("email", "amazon", "ebay")
PEOPLE = {"en": 95, "pl": 85, "ko": 60}  # fewer people than tickets: some write again


@dataclass(frozen=True, slots=True)
class _Event:
    at: datetime
    kind: str
    text: str
    external_id: str | None


@dataclass(frozen=True, slots=True)
class Plan:
    n: int
    lang: str
    source: str
    person: Person
    subject: str
    order: str
    thread: str
    status: Status
    priority: Priority
    tags: tuple[str, ...]
    team: str
    assignee: str | None  # an agent's email local part
    events: tuple[_Event, ...]
    note: str | None


def _customer_text(rng: random.Random, voice: Voice, values: dict[str, str], core: str,
                   source: str, first: bool) -> str:
    if source == "chat":
        return rng.choice(voice.chat_openers) + core if first else core
    signature = voice.signature.format_map(values)
    if source == "api" or not first:
        return f"{core}\n\n{signature}"
    return (f"{rng.choice(voice.greetings)}\n\n{core}\n\n"
            f"{rng.choice(voice.closings)}\n{signature}")


def _agent_text(voice: Voice, values: dict[str, str], core: str, source: str,
                first: bool) -> str:
    if source == "chat":
        return voice.agent_chat_greeting.format_map(values) + core if first else core
    return (f"{voice.agent_greeting.format_map(values)}\n\n{core}\n\n"
            f"{voice.agent_signoff.format_map(values)}")


def _text(rng: random.Random, kind: str, script: Script, voice: Voice, values: dict[str, str],
          which: int, source: str) -> str:
    if kind == "in":
        core = script.bodies[which].format_map(values)
        return _customer_text(rng, voice, values, core, source, first=True)
    if kind == "chase":
        core = rng.choice(voice.chasers).format_map(values)
        return _customer_text(rng, voice, values, core, source, first=False)
    if kind == "follow":
        core = script.follow_up.format_map(values)
        return _customer_text(rng, voice, values, core, source, first=False)
    if kind == "out":
        return _agent_text(voice, values, script.reply.format_map(values), source, first=True)
    return _agent_text(voice, values, rng.choice(voice.wrap_ups), source, first=False)


def _external_id(rng: random.Random, kind: str, source: str, lang: str) -> str | None:
    """A Message-ID for mail (stored without <>, as the email channel does), the channel's
    message id for chat and API; replies there have none."""
    token = f"{rng.getrandbits(64):016x}"
    if source in MAIL_SOURCES:
        domain = AGENT_DOMAIN if kind in ("out", "wrap") else f"mail.{MAIL_DOMAINS[lang]}"
        return f"{token}@{domain}"
    return f"{source}-{token}" if kind in CUSTOMER else None


def make_plan(rng: random.Random, n: int, base: datetime, people: dict[str, list[Person]]) -> Plan:
    """Everything about one ticket, drawn from rng in a fixed order (same seed, same ticket)."""
    lang = _pick(rng, LANGUAGE_WEIGHTS)
    topic = TOPICS[_pick(rng, {name: t.weight for name, t in TOPICS.items()})]
    script, voice = topic.scripts[lang], VOICES[lang]
    source = _pick(rng, SOURCES[lang])
    person = rng.choice(people[lang])
    team = lang.upper()
    members = tuple((a[1], 1 if a[2] is Role.MANAGER else 3) for a in AGENTS if a[3] == team)
    agent = _pick(rng, members)
    values = _variables(rng, lang, topic, person, source, SIGNATURES[agent])
    which = rng.randrange(2)
    subject = rng.choice((script.subjects[which], script.subjects[2])).format_map(values)
    if source in ("amazon", "ebay") and values["order"] not in subject:
        subject += voice.order_suffix.format_map(values)
    # In the last DAYS days, more often recent. Only offsets from `base`, so the order of
    # tickets and messages, hence their ids, is the same whenever the demo is seeded.
    created = base - timedelta(days=DAYS * rng.random() ** 1.6, minutes=20)
    age_days = (base - created) / timedelta(days=1)
    status = _pick(rng, next(w for limit, w in STATUS_BY_AGE if age_days < limit))
    story = _pick(rng, STORIES[status])
    events: list[_Event] = []
    at = created
    for kind in story:
        if kind != "in":
            low, high = DELAYS[kind]
            step = timedelta(hours=rng.uniform(low, high))
            if step >= base - at:  # it would happen in the future: squeeze it in before now
                step = (base - at) * rng.uniform(0.2, 0.6)
            at += step
        text = _text(rng, kind, script, voice, values, which, source)
        events.append(_Event(at, kind, text, _external_id(rng, kind, source, lang)))
    tags = list(topic.tags)
    if source in ("amazon", "ebay") and "refund" in tags and rng.random() < 0.25:
        tags.append("a-to-z-claim" if source == "amazon" else "ebay-case")
    if rng.random() < 0.05:
        tags.append("vip")
    assigned = status is not Status.NEW or rng.random() < 0.1
    note = script.note.format_map(values) if assigned and rng.random() < 0.3 else None
    return Plan(
        n=n, lang=lang, source=source, person=person, subject=subject, order=values["order"],
        thread=f"{rng.getrandbits(48):012x}", status=status,
        priority=_pick(rng, tuple(zip(PRIORITIES, topic.priorities, strict=True))),
        tags=tuple(tags), team=team, assignee=agent if assigned else None,
        events=tuple(events), note=note,
    )


def inbound_message(plan: Plan, index: int, store_id: int, channel: Channel) -> InboundMessage:
    event = plan.events[index]
    person, source = plan.person, plan.source
    if source in MAIL_SOURCES:
        earlier = tuple(e.external_id for e in plan.events[:index] if e.external_id)
        address = {"amazon": person.amazon, "ebay": person.ebay}.get(source, person.email)
        # Relay mail threads on buyer alias + order, keyed as the email channel keys it.
        relay = f"{source}:{address}:{plan.order}" if channel.marketplace else None
        hints = ThreadHints(references=earlier, thread_key=relay,
                            order_id=plan.order if channel.marketplace else None)
        sender = SenderIdentity(IdentityKind.EMAIL, address, person.name)
        subject = plan.subject if index == 0 else f"Re: {plan.subject}"
    else:
        hints = ThreadHints(thread_key=f"{source}-{plan.thread}")
        if source == "chat":
            sender = SenderIdentity(IdentityKind.CHAT, f"visitor-{plan.thread}", person.name)
            subject = ""  # chats have none: the ticket takes the first line
        else:
            sender = SenderIdentity(IdentityKind.EMAIL, person.email, person.name)
            subject = plan.subject if index == 0 else ""
    return InboundMessage(
        store_id=store_id, channel_id=channel.id, channel_type=channel.type,
        external_id=event.external_id or "", sender=sender, subject=subject, text=event.text,
        hints=hints, sent_at=event.at, marketplace=channel.marketplace, received_at=event.at,
    )


# --- Writing it through the actions ---------------------------------------------------------


def plan_demo(seed: int, base: datetime, tickets: int = TICKETS) -> list[Plan]:
    """The whole demo as data: the same seed and base time give the same plans."""
    rng = random.Random(seed)  # noqa: S311 (synthetic content, not secrets)
    people = {lang: [make_person(rng, lang, i) for i in range(count)]
              for lang, count in PEOPLE.items()}
    return [make_plan(rng, n, base, people) for n in range(tickets)]
