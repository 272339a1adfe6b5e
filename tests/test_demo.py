"""The demo seeder: what `sellerdesk demo` and the first `sellerdesk serve` put in the database."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent, Team, TeamMember
from sellerdesk.channels.models import Channel
from sellerdesk.core.clock import now
from sellerdesk.core.config import load_settings
from sellerdesk.core.db import Database
from sellerdesk.core.errors import Conflict
from sellerdesk.core.security import verify_password
from sellerdesk.demo import DemoSummary, print_summary, seed_demo
from sellerdesk.demo.content import DEMO_PASSWORD
from sellerdesk.demo.plan import plan_demo
from sellerdesk.jobs.models import Job
from sellerdesk.tickets.models import Message, Ticket
from sellerdesk.tickets.queries import search_messages

HANGUL = re.compile(r"[\uac00-\ud7a3]")
POLISH = re.compile(r"[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]")

Seeded = tuple[AsyncSession, DemoSummary]


@pytest.fixture(scope="module")
async def seeded(database: Database) -> AsyncIterator[Seeded]:
    """One demo store for the whole module, rolled back at the end, like `db`.

    Seeding writes ~300 tickets through the actions (tens of seconds on a small machine),
    so the read-only checks below share one seed instead of each paying for their own.
    """
    async with database.engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint",
                               expire_on_commit=False, autoflush=False)
        try:
            yield session, await seed_demo(session, slug="demo", seed=42)
        finally:
            await session.close()
            await outer.rollback()


async def _tickets(db: AsyncSession, store_id: int) -> list[Ticket]:
    rows = await db.execute(select(Ticket).where(Ticket.store_id == store_id).order_by(Ticket.id))
    return list(rows.scalars())


async def _texts(db: AsyncSession, store_id: int) -> list[str]:
    rows = await db.execute(select(Message.text).where(Message.store_id == store_id))
    return list(rows.scalars())


async def test_demo_store_has_three_language_teams_and_agents(seeded: Seeded) -> None:
    # given: the seeded demo
    db, summary = seeded

    # when: its teams and agents are read
    teams = {t.name: t for t in (await db.execute(
        select(Team).where(Team.store_id == summary.store_id))).scalars()}
    agents = list((await db.execute(
        select(Agent).where(Agent.store_id == summary.store_id).order_by(Agent.id))).scalars())
    members: dict[str, list[str]] = {}
    for team in teams.values():
        ids = set((await db.execute(
            select(TeamMember.agent_id).where(TeamMember.team_id == team.id))).scalars())
        members[team.name] = sorted(a.email for a in agents if a.id in ids)

    # then: one owner and eight agents in the EN, KO and PL teams, as the summary says
    assert summary.slug == "demo"
    assert summary.store_name == "Hanok & Wisła Goods"
    assert {name: t.language for name, t in teams.items()} == {"EN": "en", "KO": "ko", "PL": "pl"}
    assert [a.role for a in agents].count("owner") == 1
    assert len(agents) == 9
    assert [(a.email, a.role) for a in agents] == [(a.email, a.role) for a in summary.agents]
    assert members == {
        name: sorted(a.email for a in summary.agents if a.team == name)
        for name in ("EN", "KO", "PL")
    }
    assert sorted(len(emails) for emails in members.values()) == [2, 3, 3]
    assert {a.language for a in agents if a.role != "owner"} == {"en", "ko", "pl"}


async def test_demo_agents_sign_in_with_the_demo_password(seeded: Seeded) -> None:
    # given: the seeded demo's agents
    db, summary = seeded
    agents = list((await db.execute(
        select(Agent).where(Agent.store_id == summary.store_id))).scalars())

    # when: their passwords are checked
    right = [verify_password(a.password_hash or "", DEMO_PASSWORD) for a in agents]
    wrong = verify_password(agents[0].password_hash or "", "not-the-password")

    # then: the printed password works for every one of them, and only that one
    assert summary.password == DEMO_PASSWORD == "demo-password"
    assert right == [True] * 9
    assert wrong is False


async def test_demo_tickets_speak_english_korean_and_polish(seeded: Seeded) -> None:
    # given: the seeded demo
    db, summary = seeded

    # when: its tickets, teams and message texts are read
    tickets = await _tickets(db, summary.store_id)
    texts = await _texts(db, summary.store_id)
    team_language = dict((await db.execute(
        select(Team.id, Team.language).where(Team.store_id == summary.store_id))).all())

    # then: a few hundred tickets, in all three languages, their language jobs all run
    assert 250 <= len(tickets) <= 400
    assert summary.tickets == len(tickets)
    assert summary.messages == len(texts)
    assert any(HANGUL.search(t) for t in texts)
    assert any(POLISH.search(t) for t in texts)
    assert any("order" in t.lower() for t in texts)
    assert {t.language for t in tickets} == {"en", "ko", "pl"}
    assert [t.id for t in tickets if t.language != team_language[t.team_id or 0]] == []
    assert await db.scalar(select(func.count()).select_from(Job)) == 0


async def test_demo_covers_every_channel_marketplace_and_status(seeded: Seeded) -> None:
    # given: the seeded demo
    db, summary = seeded

    # when: its tickets and channels are read
    tickets = await _tickets(db, summary.store_id)
    channels = list((await db.execute(
        select(Channel).where(Channel.store_id == summary.store_id))).scalars())

    # then: email, chat and API, Amazon and eBay (by email), every working status
    assert {t.channel_type for t in tickets} == {"email", "chat", "api"}
    assert {t.marketplace for t in tickets} == {None, "amazon", "ebay"}
    assert {t.channel_type for t in tickets if t.marketplace} == {"email"}
    assert {t.status for t in tickets} == {"new", "open", "pending", "solved", "closed"}
    assert {(c.type, c.marketplace) for c in channels} == {
        ("email", None), ("email", "amazon"), ("email", "ebay"), ("chat", None), ("api", None)}
    assert all(t.team_id is not None for t in tickets)


async def test_demo_threads_have_follow_ups_replies_and_notes(seeded: Seeded) -> None:
    # given: the seeded demo
    db, summary = seeded

    # when: messages are counted per ticket and direction
    rows = (await db.execute(
        select(Message.ticket_id, Message.direction, func.count())
        .where(Message.store_id == summary.store_id)
        .group_by(Message.ticket_id, Message.direction)
    )).all()
    inbound = {ticket_id: n for ticket_id, direction, n in rows if direction == "inbound"}
    replied = {ticket_id for ticket_id, direction, _ in rows if direction == "outbound"}
    noted = {ticket_id for ticket_id, direction, _ in rows if direction == "note"}

    # then: about 30% have a customer follow-up, many a reply, some a note
    followed_up = sum(1 for n in inbound.values() if n > 1)
    assert 0.2 <= followed_up / summary.tickets <= 0.4
    assert len(replied) > summary.tickets / 2
    assert 0 < len(noted) < summary.tickets / 2


async def test_korean_search_finds_demo_refunds(seeded: Seeded) -> None:
    # given: the seeded demo and the messages that mention a refund (환불) in Korean
    db, summary = seeded
    rows = await db.execute(select(Message.id, Message.text)
                            .where(Message.store_id == summary.store_id))
    mentioning = sorted((i for i, text in rows if "환불" in text), reverse=True)

    # when: an agent searches for 환불
    hits = await search_messages(db, store_id=summary.store_id, q="환불")

    # then: the newest 25 of exactly those messages, with their tickets
    assert len(mentioning) > 25
    assert [h.message.id for h in hits] == mentioning[:25]
    assert all(h.ticket.store_id == summary.store_id for h in hits)


def test_same_seed_gives_the_same_plan_and_another_seed_another() -> None:
    # given: one base time
    base = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

    # when: the demo is planned twice with seed 42 and once with seed 7
    first, second, other = plan_demo(42, base), plan_demo(42, base), plan_demo(7, base)

    # then: the same seed gives identical conversations, another seed different ones
    assert first == second
    assert len(first) == 300
    assert [p.subject for p in other] != [p.subject for p in first]


async def test_seeded_tickets_follow_the_plan(seeded: Seeded) -> None:
    # given: the demo seeded with 42
    db, summary = seeded

    # when: its tickets are read oldest first
    subjects = [t.subject for t in await _tickets(db, summary.store_id)]

    # then: one ticket per planned conversation, titled as planned (a chat has no subject:
    # its ticket is titled by its first line)
    plans = plan_demo(42, now())
    titled = Counter(p.subject for p in plans if p.source != "chat")
    assert len(subjects) == len(plans)
    assert titled - Counter(subjects) == Counter()


async def test_seeding_a_taken_slug_is_a_conflict(seeded: Seeded) -> None:
    # given: the demo store "demo"
    db, summary = seeded
    before = await db.scalar(select(func.count()).select_from(Ticket))

    # when / then: seeding "demo" again is refused and writes nothing
    with pytest.raises(Conflict):
        await seed_demo(db, slug="demo")
    assert await db.scalar(select(func.count()).select_from(Ticket)) == before


async def test_summary_prints_where_to_go_logins_and_tokens(
    seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given: the seed's summary and settings with a public URL
    _, summary = seeded
    settings = load_settings(data_dir=tmp_path, base_url="https://desk.example.com")

    # when: it is printed
    print_summary(summary, settings)

    # then: the URL, the API docs, every login, the password and both tokens are there
    out = capsys.readouterr().out
    assert "https://desk.example.com\n" in out
    assert "https://desk.example.com/api/v1/docs\n" in out
    assert all(a.email in out for a in summary.agents)
    assert "demo-password" in out
    assert summary.api_token in out
    curl = next(line for line in out.splitlines() if "/api/v1/inbound" in line)
    assert curl.strip().startswith("curl -X POST https://desk.example.com/api/v1/inbound ")
    assert f"Authorization: Bearer {summary.inbound_token}" in curl


async def test_demo_tickets_are_measured_against_the_default_slas(seeded: Seeded) -> None:
    # given: the seeded demo
    db, summary = seeded

    # when: its tickets still waiting for an agent are read
    waiting = list((await db.execute(
        select(Ticket).where(Ticket.store_id == summary.store_id,
                             Ticket.status.in_(("new", "open")))
    )).scalars())

    # then: each has an SLA clock running, so the inbox can sort by what is due first
    assert waiting
    assert all(t.sla_due_at is not None for t in waiting)
