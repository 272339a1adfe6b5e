"""Rule evaluation per inbound message with 200 active rules and 30 SLA policies (goal: median
under 2 ms).

One store with an API channel, teams, agents, an office calendar, 30 SLA policies (channel,
marketplace, priority, tag and language conditions, one catch-all) and 200 active rules of the
mix sellers write: most look for words in the message (en/pl/ko, `mentions` with stems and
bigrams, or case-folded `contains`), combined with marketplace, language, channel, priority,
tags, the customer's address or business hours, some with nested any/all groups and a regex on
order numbers. N customer messages (benchmarks/_corpus.py: 40 % en, 30 % pl, 30 % ko) come in
through `channels.inbound.ingest`, and the inbound job's language and SLA steps run for each,
untimed.

Timed, per message, on a warm process (rules compiled once per store version):
- `evaluate`: `rules.engine.evaluate`, the work done for every message whatever matches:
  the rule-set version read, the snapshot (tags and customer read only because some rule looks
  at them), all 200 predicates. This is the goal's figure.
- `match_only`: the predicates alone on a prepared snapshot (in memory, no database).
- `rules_step`: `rules.tasks.message_received` as the inbound job calls it: evaluation plus
  running the matching rules (claim, ticket actions, audit, counters: several commits per
  fired rule), on the first 50 messages.
Also: compiling the 200 rules (a cold cache after a rule change).

    .venv/bin/python benchmarks/rules.py [--n 1000] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from collections import Counter
from typing import Any

from _common import bench_database, emit, log, machine_info, parser, rss_mib, summary_ms
from _corpus import Corpus

GOAL_MS = 2.0
RULES = 200
POLICIES = 30
STEP_MESSAGES = 50  # running the actions costs commits: timed on the first 50 messages

WORDS = {  # (en, pl, ko) words of the corpus, looked for by rules
    "refund": ("refund", "zwrot", "환불"),
    "damaged": ("damaged", "uszkodzony", "파손"),
    "tracking": ("tracking", "przesyłka", "배송"),
    "invoice": ("invoice", "faktura", "세금계산서"),
    "cancel": ("cancel", "anulować", "취소"),
    "size": ("size", "rozmiar", "사이즈"),
    "charged": ("charged twice", "dwukrotnie", "두 번"),
    "missing": ("missing", "brakowało", "없었습니다"),
    "broken": ("stopped working", "przestał działać", "고장"),
    "colour": ("colour", "kolor", "색상"),
    "courier": ("courier", "kurier", "택배"),
    "stock": ("back in stock", "dostępny", "재입고"),
}
MARKETPLACES = ("amazon", "ebay", "allegro", "local")
CHANNELS = ("api", "email", "chat", "marketplace")


def leaf(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op} | ({} if value is None else {"value": value})


def rule_defs(rng: random.Random, *, team_ids: list[int], agent_ids: list[int],
              calendar_id: int) -> list[dict[str, Any]]:
    """200 rules: mostly text conditions in three languages, mixed with ticket fields."""
    rules = []
    topics = list(WORDS)
    for i in range(RULES):
        topic = topics[i % len(topics)]
        en, pl, ko = WORDS[topic]
        kind = rng.random()
        text_op = "mentions" if rng.random() < 0.6 else "contains"
        words = [en, pl, ko] if rng.random() < 0.3 else [rng.choice((en, pl, ko))]
        text = leaf("message.text", text_op, words)
        extra: list[dict[str, Any]] = []
        if kind < 0.30:
            extra.append(leaf("ticket.marketplace", "in", rng.sample(MARKETPLACES, 2)))
        elif kind < 0.45:
            extra.append(leaf("ticket.language", "is", rng.choice(("en", "pl", "ko"))))
        elif kind < 0.55:
            extra.append(leaf("channel.type", "in", rng.sample(CHANNELS, 2)))
        elif kind < 0.62:
            extra.append(leaf("ticket.tags", "has_none", [f"{topic}-handled"]))
        elif kind < 0.68:
            extra.append(leaf("customer.email", "ends_with",
                              rng.choice(("@example.pl", ".kr", "@example.com"))))
        elif kind < 0.73:
            extra.append(leaf("business_hours", rng.choice(("within", "outside")), calendar_id))
        elif kind < 0.78:
            extra.append(leaf("ticket.subject", "matches", r"\d{3}-\d{7}-\d{7}"))
        elif kind < 0.85:
            extra.append({"any": [leaf("ticket.priority", "in", ["high", "urgent"]),
                                  {"all": [leaf("ticket.marketplace", "is", "amazon"),
                                           leaf("ticket.subject", "contains",
                                                rng.choice((en, pl, ko)))]}]})
        else:
            extra.append(leaf("ticket.priority", "is", rng.choice(("normal", "high"))))
        conditions = {"all": [text, *extra]} if rng.random() < 0.9 else {"any": [text, *extra]}
        actions: list[dict[str, Any]] = [{"type": "add_tags", "tags": [topic]}]
        roll = rng.random()
        if roll < 0.15:
            actions.append({"type": "set_priority", "value": rng.choice(("high", "urgent"))})
        elif roll < 0.20:
            actions.append({"type": "set_team", "team_id": rng.choice(team_ids)})
        elif roll < 0.25:
            actions.append({"type": "notify", "message": f"{topic} ticket",
                            "agent_ids": [rng.choice(agent_ids)]})
        events = ["message.received"] if rng.random() < 0.8 else rng.choice(
            (["ticket.created"], ["status.changed"], ["sla.warning", "sla.breached"]))
        rules.append({"name": f"{topic} {i}", "events": events, "conditions": conditions,
                      "actions": actions})
    return rules


def policy_defs(rng: random.Random, calendar_id: int) -> list[dict[str, Any]]:
    policies = []
    for i in range(POLICIES - 1):
        conditions: dict[str, list[str]] = {}
        if rng.random() < 0.6:
            conditions["marketplaces"] = rng.sample(MARKETPLACES, rng.randint(1, 2))
        if rng.random() < 0.4:
            conditions["channel_types"] = rng.sample(CHANNELS, 1)
        if rng.random() < 0.4:
            conditions["priorities"] = rng.sample(["low", "normal", "high", "urgent"], 2)
        if rng.random() < 0.2:
            conditions["tags"] = [rng.choice(list(WORDS))]
        if rng.random() < 0.3:
            conditions["customer_languages"] = [rng.choice(("en", "pl", "ko"))]
        business = rng.random() < 0.5
        policies.append({
            "name": f"Policy {i}", "conditions": conditions,
            "targets": {"first_response": {"minutes": rng.choice((60, 240, 1440)),
                                           "business_hours": business},
                        "resolution": {"minutes": 7 * 1440, "business_hours": False}},
            "calendar_id": calendar_id if business else None,
        })
    policies.append({"name": "Everything else", "conditions": {},
                     "targets": {"first_response": {"minutes": 1440,
                                                    "business_hours": False}},
                     "calendar_id": None})
    return policies


async def seed(db: Any, rng: random.Random) -> dict[str, Any]:
    from sellerdesk.accounts import actions as accounts
    from sellerdesk.accounts.permissions import Role
    from sellerdesk.automation import actions as sla_actions
    from sellerdesk.automation.rules import actions as rule_actions
    from sellerdesk.core.actor import SYSTEM

    store = await accounts.create_store(db, slug="bench", name="Bench Shop")
    channel, _ = await accounts.create_channel(db, store_id=store.id, type="api", name="Shop")
    teams = [(await accounts.create_team(db, store_id=store.id, name=f"Team {i}")).id
             for i in range(4)]
    agents = [(await accounts.create_agent(db, store_id=store.id, email=f"a{i}@bench.example",
                                           name=f"Agent {i}", role=Role.AGENT)).id
              for i in range(8)]
    calendar = await sla_actions.create_calendar(
        db, store_id=store.id, actor=SYSTEM, name="Office", timezone="Europe/Warsaw",
        hours={d: [{"start": "09:00", "end": "17:00"}]
               for d in ("mon", "tue", "wed", "thu", "fri")})
    for p in policy_defs(rng, calendar.id):
        await sla_actions.create_policy(db, store_id=store.id, actor=SYSTEM, **p)
    for r in rule_defs(rng, team_ids=teams, agent_ids=agents, calendar_id=calendar.id):
        await rule_actions.create_rule(db, store_id=store.id, actor=SYSTEM, name=r["name"],
                                       events=r["events"], conditions_tree=r["conditions"],
                                       actions=r["actions"])
    return {"store": store, "channel": channel}


async def ingest(db: Any, channel: Any, n: int, seed_value: int) -> list[int]:
    """N customer messages through the inbound path; language and SLA steps run (untimed)."""
    from sqlalchemy import delete

    from sellerdesk.automation import tracking as sla
    from sellerdesk.channels import inbound
    from sellerdesk.channels.base import (
        IdentityKind,
        InboundMessage,
        SenderIdentity,
        ThreadHints,
    )
    from sellerdesk.core.db import commit
    from sellerdesk.core.text import detect_language
    from sellerdesk.jobs.models import Job
    from sellerdesk.tickets.models import Message, Ticket

    corpus = Corpus(seed_value)
    rng = random.Random(seed_value)
    ids = []
    for i in range(n):
        sender = corpus.sender(number=i)
        text = corpus.first_message(sender)
        result = await inbound.ingest(db, InboundMessage(
            store_id=channel.store_id, channel_id=channel.id, channel_type="api",
            external_id=f"m{i}", sender=SenderIdentity(IdentityKind.EMAIL, sender.email,
                                                       sender.name),
            subject=text.subject, text=text.body, hints=ThreadHints(),
            marketplace=rng.choice((*MARKETPLACES, None)),
        ))
        message = await db.get(Message, result.message_id)
        ticket = await db.get(Ticket, result.ticket_id)
        ticket.language = detect_language(message.text)
        await sla.customer_wrote(db, ticket=ticket, message=message)
        ids.append(result.message_id)
    await db.execute(delete(Job))
    await commit(db)
    return ids


async def measure(dbh: Any, n: int, seed_value: int) -> dict[str, Any]:
    from sellerdesk.automation.rules import engine
    from sellerdesk.automation.rules import tasks as rule_tasks
    from sellerdesk.core import context
    from sellerdesk.core.db import Database
    from sellerdesk.jobs import outbox
    from sellerdesk.tickets.models import Message, Ticket

    database = Database(dbh.url)
    context.init(dbh.settings(), database)
    outbox.set_dispatcher(None)
    rng = random.Random(seed_value)
    try:
        async with database.sessionmaker() as db:
            log(f"seeding {RULES} rules and {POLICIES} SLA policies")
            seeded = await seed(db, rng)
            store_id = seeded["store"].id
            log(f"ingesting {n} messages")
            message_ids = await ingest(db, seeded["channel"], n, seed_value)

            compile_s = []
            for _ in range(20):
                engine._books.clear()
                t0 = time.perf_counter()
                book = await engine.rulebook(db, store_id=store_id)
                compile_s.append(time.perf_counter() - t0)
            assert len(book.rules) == RULES

            pairs = []
            for message_id in message_ids:
                message = await db.get(Message, message_id)
                ticket = await db.get(Ticket, message.ticket_id)
                pairs.append((ticket, message, engine.Occurrence(
                    frozenset({"message.received", "ticket.created"}),
                    key=f"message:{message.id}", at=message.created_at,
                    message_text=message.text)))

            evaluate_s, evaluate_cpu, match_s, matched = [], [], [], []
            for ticket, _, occurrence in pairs * 2:  # the first pass warms caches
                c0, t0 = time.process_time(), time.perf_counter()
                _, found, facts = await engine.evaluate(db, ticket=ticket, occurrence=occurrence)
                evaluate_s.append(time.perf_counter() - t0)
                evaluate_cpu.append(time.process_time() - c0)
                matched.append(len(found))
                candidates = book.listening(occurrence.events)
                fresh = engine.Facts(facts.values, at=facts.at, calendars=facts.calendars)
                t0 = time.perf_counter()
                for rule in candidates:
                    rule.predicate(fresh)
                match_s.append(time.perf_counter() - t0)
            evaluate_s, match_s, matched = evaluate_s[n:], match_s[n:], matched[n:]
            evaluate_cpu = evaluate_cpu[n:]

            step_s, step_cpu, fired = [], [], Counter()
            for ticket, message, _ in pairs[:STEP_MESSAGES]:
                c0, t0 = time.process_time(), time.perf_counter()
                done = await rule_tasks.message_received(db, ticket=ticket, message=message)
                step_s.append(time.perf_counter() - t0)
                step_cpu.append(time.process_time() - c0)
                fired[len(done)] += 1
        evaluate = summary_ms(evaluate_s)
        return {
            "evaluate": evaluate,
            # CPU time of this process (all its threads, aiosqlite's included): what the
            # work costs when other processes crowd the machine and wall time waits on them
            "evaluate_cpu": summary_ms(evaluate_cpu),
            "match_only": summary_ms(match_s),
            "rules_step": summary_ms(step_s),
            "rules_step_cpu": summary_ms(step_cpu),
            "compile_200_rules": summary_ms(compile_s),
            "median_ms": evaluate["p50_ms"], "p95_ms": evaluate["p95_ms"],
            "p99_ms": evaluate["p99_ms"],
            "matched_rules_per_message": {
                "mean": round(statistics.fmean(matched), 2), "max": max(matched),
                "none": sum(1 for m in matched if m == 0)},
            "fired_rules_per_message": dict(sorted(fired.items())),
        }
    finally:
        await database.dispose()
        context.reset()


def main() -> None:
    args = parser("rules", 1000, __doc__).parse_args()
    load_before = os.getloadavg()
    with bench_database("rules", args) as dbh:
        figures = asyncio.run(measure(dbh, args.n, args.seed))
    emit({
        "benchmark": "rules",
        "backend": args.backend,
        "messages": args.n,
        "active_rules": RULES,
        "sla_policies": POLICIES,
        "goal_median_ms": GOAL_MS,
        "within_goal": figures["median_ms"] < GOAL_MS,
        **figures,
        "loadavg_before": load_before,
        "rss_mib": rss_mib(),
        "machine": machine_info(),
    })


if __name__ == "__main__":
    main()
