"""The inbox: views and their counts, filters, sorts, pages, bulk actions, tenancy, roles,
Korean and Polish, search."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Agent, Store, Team
from sellerdesk.accounts.permissions import Role
from sellerdesk.channels import inbound
from sellerdesk.channels.base import IdentityKind, InboundMessage, SenderIdentity, ThreadHints
from sellerdesk.channels.models import Channel
from sellerdesk.core.actor import Actor
from sellerdesk.core.clock import now
from sellerdesk.core.db import commit
from sellerdesk.tickets import actions
from sellerdesk.tickets.models import AuditEvent, Ticket
from sellerdesk.tickets.queries import ticket_tag_names
from sellerdesk.web.routes.search import snippet
from tests.api.support import snapshot
from tests.web.support import PASSWORD, sign_in

SYSTEM = Actor("system")
HX = {"HX-Request": "true"}
_ROW = re.compile(r'<tr id="ticket-(\d+)"')


def ids_in(html: str) -> list[int]:
    return [int(i) for i in _ROW.findall(html)]


async def make_ticket(
    db: AsyncSession, channel: Channel, key: str, *, subject: str = "Zamówienie",
    text: str = "Dzień dobry, kiedy wyślecie paczkę?", name: str = "Ewa Kowalska",
    status: str | None = None, assignee: Agent | None = None, team: Team | None = None,
    priority: str | None = None, marketplace: str | None = None, tags: list[str] | None = None,
    language: str | None = None, sla_in: timedelta | None = None,
) -> Ticket:
    """A customer's message through the inbound path, then the agents' changes."""
    result = await inbound.ingest(db, InboundMessage(
        store_id=channel.store_id, channel_id=channel.id, channel_type=channel.type,
        external_id=f"m-{key}", sender=SenderIdentity(IdentityKind.EMAIL, f"{key}@example.pl",
                                                      name),
        subject=subject, text=text, marketplace=marketplace,
        hints=ThreadHints(thread_key=f"thread-{key}"),
    ))
    assert result.ticket_id is not None
    ticket = await db.get(Ticket, result.ticket_id, populate_existing=True)
    assert ticket is not None
    changes: dict[str, object] = {}
    if status:
        changes["status"] = status
    if assignee:
        changes["assignee_id"] = assignee.id
    if team:
        changes["team_id"] = team.id
    if priority:
        changes["priority"] = priority
    if tags:
        changes["tags"] = tags
    if language:
        changes["language"] = language
    if changes:
        await actions.update_ticket(db, ticket=ticket, actor=SYSTEM, changes=changes)
    # No SLA policy in these stores: the due time is set as the SLA tracker would.
    ticket.sla_due_at = now() + sla_in if sla_in is not None else None
    await commit(db)
    return ticket


@dataclass
class Desk:
    ola: Agent
    kim: Agent
    team_a: Team
    team_b: Team
    email: Channel
    chat: Channel
    api: Channel
    mine: Ticket
    unassigned: Ticket
    team: Ticket
    pending: Ticket
    solved: Ticket
    other_team: Ticket
    foreign: Ticket


@pytest.fixture
async def desk(db: AsyncSession, store: Store, other_store: Store, agent: Agent) -> Desk:
    kim = await accounts.create_agent(db, store_id=store.id, email="kim@acme.test",
                                      name="Kim Minji", role=Role.AGENT, password=PASSWORD,
                                      language="ko")
    team_a = await accounts.create_team(db, store_id=store.id, name="Zwroty",
                                        agent_ids=[agent.id])
    team_b = await accounts.create_team(db, store_id=store.id, name="Hurt")
    email, _ = await accounts.create_channel(db, store_id=store.id, type="email", name="Mail")
    chat, _ = await accounts.create_channel(db, store_id=store.id, type="chat", name="Czat")
    api, _ = await accounts.create_channel(db, store_id=store.id, type="api", name="Sklep")
    foreign_channel, _ = await accounts.create_channel(db, store_id=other_store.id,
                                                       type="email", name="Other")
    minute = timedelta(minutes=1)
    mine = await make_ticket(
        db, email, "mine", subject="Zwrot pieniędzy", text="Proszę o zwrot pieniędzy za buty.",
        status="open", assignee=agent, tags=["refund"], sla_in=30 * minute, language="pl")
    unassigned = await make_ticket(
        db, chat, "unassigned", subject="배송 문의", text="환불 요청합니다. 배송이 너무 늦어요.",
        name="김민수", sla_in=300 * minute, language="ko", priority="high")
    team = await make_ticket(
        db, api, "team", subject="Refund for order 42", text="I would like a refund, please.",
        name="John Smith", status="open", assignee=kim, team=team_a, marketplace="amazon",
        sla_in=-120 * minute, language="en", priority="urgent", tags=["vip"])
    pending = await make_ticket(
        db, email, "pending", subject="Faktura", text="Czekam na fakturę.", status="pending",
        assignee=agent, marketplace="ebay", priority="low")
    solved = await make_ticket(db, chat, "solved", subject="Rozmiar", status="solved",
                               assignee=kim)
    other_team = await make_ticket(db, email, "other-team", subject="Hurtowe zamówienie",
                                   status="on_hold", assignee=kim, team=team_b)
    foreign = await make_ticket(db, foreign_channel, "foreign", subject="Zwrot obcy",
                                text="Proszę o zwrot pieniędzy, inny sklep.", sla_in=minute)
    return Desk(agent, kim, team_a, team_b, email, chat, api, mine, unassigned, team, pending,
                solved, other_team, foreign)


async def view_ids(browser: httpx.AsyncClient, query: str) -> list[int]:
    response = await browser.get(f"/inbox/rows?{query}", headers=HX)
    assert response.status_code == 200, response.text
    return ids_in(response.text)


# --- views and counts ----------------------------------------------------------------------


async def test_each_view_shows_exactly_its_tickets_and_the_counts_agree(
    browser: httpx.AsyncClient, desk: Desk
) -> None:
    expected = {
        "mine": {desk.mine.id, desk.pending.id},
        "unassigned": {desk.unassigned.id},
        "teams": {desk.team.id},
        "open": {desk.mine.id, desk.unassigned.id, desk.team.id, desk.pending.id,
                 desk.other_team.id},
        "breaching": {desk.mine.id, desk.team.id},
        "pending": {desk.pending.id},
        "solved": {desk.solved.id},
    }

    for view, ids in expected.items():
        page = await browser.get(f"/inbox?view={view}")
        assert page.status_code == 200
        assert set(ids_in(page.text)) == ids, view
        assert len(ids_in(page.text)) == len(ids), view
        for other, other_ids in expected.items():
            assert f'data-count="{other}">{len(other_ids)}</span>' in page.text, (view, other)


async def test_the_counts_fragment_adds_channels_and_marketplaces_of_active_tickets(
    browser: httpx.AsyncClient, desk: Desk
) -> None:
    response = await browser.get("/inbox/counts?view=mine", headers=HX)

    assert response.status_code == 200
    html = response.text
    assert 'data-count="channel-email">3</span>' in html  # mine, pending, other_team
    assert 'data-count="channel-chat">1</span>' in html  # the solved chat is not counted
    assert 'data-count="channel-api">1</span>' in html
    assert 'data-count="marketplace-amazon">1</span>' in html
    assert 'data-count="marketplace-ebay">1</span>' in html
    assert 'data-count="mine">2</span>' in html
    assert 'href="/inbox?view=open&amp;channel=email"' in html
    # It refreshes itself on live events, and is not loaded again on its own load.
    assert 'hx-trigger="live:ticket.created from:body delay:500ms' in html
    assert "load," not in html


async def test_the_page_loads_channel_counts_after_and_refreshes_on_live_events(
    browser: httpx.AsyncClient, desk: Desk
) -> None:
    page = await browser.get("/inbox")

    html = page.text
    assert 'hx-get="/inbox/counts?view=mine"' in html
    assert 'hx-trigger="load, live:ticket.created from:body delay:500ms' in html
    tbody = re.search(r'<tbody id="inbox-rows"[^>]*>', html)
    assert tbody is not None
    for event in ("ticket.created", "ticket.updated", "message.created", "ticket.routed"):
        assert f"live:{event} from:body" in tbody.group(0)
    assert 'hx-get="/inbox/rows?view=mine"' in tbody.group(0)
    assert "/static/js/inbox.js?v=" in html
    assert "/static/css/inbox.css?v=" in html


async def test_my_teams_is_empty_for_an_agent_in_no_team(
    client: httpx.AsyncClient, db: AsyncSession, desk: Desk
) -> None:
    await sign_in(client, desk.kim.email)

    assert await view_ids(client, "view=teams") == []
    assert await view_ids(client, "view=mine") == [desk.team.id, desk.other_team.id]


async def test_counts_follow_changes(
    browser: httpx.AsyncClient, db: AsyncSession, desk: Desk
) -> None:
    await actions.update_ticket(db, ticket=desk.unassigned, actor=SYSTEM,
                                changes={"assignee_id": desk.ola.id})

    page = await browser.get("/inbox?view=mine")

    assert 'data-count="mine">3</span>' in page.text
    assert 'data-count="unassigned">0</span>' in page.text


# --- filters, sorts, pages -----------------------------------------------------------------


@pytest.mark.parametrize(("query", "expected"), [
    ("view=open&status=pending", ["pending"]),
    ("view=open&priority=urgent", ["team"]),
    ("view=open&channel=chat", ["unassigned"]),
    ("view=open&marketplace=ebay", ["pending"]),
    ("view=open&tag=REFUND", ["mine"]),
    ("view=open&team={team_a}", ["team"]),
    ("view=open&assignee={kim}", ["team", "other_team"]),
    ("view=open&assignee=me", ["mine", "pending"]),
    ("view=open&assignee=none", ["unassigned"]),
    ("view=mine&status=solved", []),  # a filter never widens the view
    ("view=unassigned&assignee={kim}", []),
    ("view=teams&team={team_b}", []),
    ("view=solved&channel=chat", ["solved"]),
])
async def test_filters_narrow_the_view(
    browser: httpx.AsyncClient, desk: Desk, query: str, expected: list[str]
) -> None:
    query = query.format(team_a=desk.team_a.id, team_b=desk.team_b.id, kim=desk.kim.id)

    found = await view_ids(browser, query)

    assert sorted(found) == sorted(getattr(desk, name).id for name in expected)


async def test_sorts_by_sla_updated_and_priority(
    browser: httpx.AsyncClient, db: AsyncSession, desk: Desk
) -> None:
    by_sla = await view_ids(browser, "view=open&sort=sla_due")
    by_priority = await view_ids(browser, "view=open&sort=priority")
    await actions.update_ticket(db, ticket=desk.pending, actor=SYSTEM,
                                changes={"subject": "Faktura VAT"})
    by_updated = await view_ids(browser, "view=open&sort=updated")

    # Soonest due first (the overdue one leads), tickets without an SLA after, by id.
    assert by_sla == [desk.team.id, desk.mine.id, desk.unassigned.id, desk.pending.id,
                      desk.other_team.id]
    # urgent, high, then normal (newest activity first), then low.
    assert by_priority == [desk.team.id, desk.unassigned.id, desk.other_team.id, desk.mine.id,
                           desk.pending.id]
    assert by_updated[0] == desk.pending.id
    assert sorted(by_updated) == sorted(by_sla)


async def test_fifty_rows_a_page_and_older_follows_the_cursor(
    browser: httpx.AsyncClient, db: AsyncSession, store: Store, desk: Desk
) -> None:
    for n in range(50):
        await make_ticket(db, desk.chat, f"bulk-{n}", subject=f"Pytanie {n}")

    first = await browser.get("/inbox?view=unassigned&sort=updated")
    older = re.search(r'href="([^"]+)" rel="next" id="older"', first.text)
    assert older is not None
    second = await browser.get(older.group(1).replace("&amp;", "&"))

    first_ids, second_ids = ids_in(first.text), ids_in(second.text)
    assert len(first_ids) == 50
    assert len(second_ids) == 1
    assert not set(first_ids) & set(second_ids)
    assert second_ids == [desk.unassigned.id]  # the oldest of the 51
    assert 'id="older"' not in second.text
    assert 'data-testid="newest"' in second.text


@pytest.mark.parametrize("query", [
    "view=everything", "view=open&status=lost", "view=open&priority=asap",
    "view=open&sort=random", "view=open&team=x", "view=open&assignee=-1",
    "view=open&cursor=bm90IGEgY3Vyc29y", "view=open&tag=a,b", "view=solved&sort=sla_due",
])
async def test_bad_filters_are_refused(browser: httpx.AsyncClient, desk: Desk,
                                       query: str) -> None:
    response = await browser.get(f"/inbox?{query}")

    assert response.status_code == 422


async def test_a_row_shows_the_ticket_at_a_glance(
    client: httpx.AsyncClient, db: AsyncSession, desk: Desk
) -> None:
    await accounts.create_agent(db, store_id=desk.ola.store_id, email="en@acme.test",
                                name="Emma", role=Role.AGENT, password=PASSWORD)
    await sign_in(client, "en@acme.test")

    page = await client.get("/inbox?view=open")

    row = re.search(rf'<tr id="ticket-{desk.team.id}".*?</tr>', page.text, re.S)
    assert row is not None
    html = row.group(0)
    assert f'name="ids" value="{desk.team.id}"' in html
    assert f'aria-label="Select ticket {desk.team.id}"' in html
    assert "Refund for order 42" in html
    assert "John Smith" in html
    assert '<span class="badge">API</span>' in html
    assert '<span class="badge market">Amazon</span>' in html
    assert "Open" in html
    assert "Urgent" in html
    assert "Kim Minji" in html
    assert "Zwroty" in html  # the team
    assert '<span class="tag">vip</span>' in html
    assert 'class="badge danger"' in html  # overdue
    assert "2 h overdue" in html
    assert ">EN</span>" in html
    mine = re.search(rf'<tr id="ticket-{desk.mine.id}".*?</tr>', page.text, re.S)
    assert mine is not None
    assert 'class="badge warn"' in mine.group(0)  # due within the hour
    assert "just now" in mine.group(0)
    pending = re.search(rf'<tr id="ticket-{desk.pending.id}".*?</tr>', page.text, re.S)
    assert pending is not None
    assert "badge warn" not in pending.group(0)
    assert "badge danger" not in pending.group(0)


# --- bulk actions --------------------------------------------------------------------------


async def test_bulk_status_changes_the_valid_ones_and_names_the_failure(
    browser: httpx.AsyncClient, db: AsyncSession, desk: Desk
) -> None:
    # (ids read first: the failed ticket's rollback expires every object the test holds)
    mine, solved, unassigned, ola = desk.mine.id, desk.solved.id, desk.unassigned.id, desk.ola.id

    response = await browser.post("/inbox/bulk", headers=HX, data={
        "ids": [str(mine), str(solved), str(unassigned)], "action": "status",
        "status": "pending"})

    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "inbox-changed"
    assert "Zmieniono 2 zgłoszenia." in response.text
    assert f'data-failed="{solved}"' in response.text
    assert "Nie można zmienić jego statusu na wybrany." in response.text
    statuses = dict((await db.execute(
        select(Ticket.id, Ticket.status).where(Ticket.id.in_([mine, solved, unassigned]))
        .execution_options(populate_existing=True))).all())
    assert statuses == {mine: "pending", solved: "solved", unassigned: "pending"}
    audited = (await db.execute(
        select(AuditEvent.ticket_id, AuditEvent.actor_id).where(
            AuditEvent.action == "ticket.updated",
            AuditEvent.ticket_id.in_([mine, solved, unassigned]),
            AuditEvent.actor_type == "agent"))).all()
    assert sorted(audited) == sorted([(mine, ola), (unassigned, ola)])


async def test_bulk_assign_to_me_an_agent_and_a_team(
    browser: httpx.AsyncClient, db: AsyncSession, desk: Desk
) -> None:
    async def assign(target: str, *ids: int) -> httpx.Response:
        return await browser.post("/inbox/bulk", headers=HX, data={
            "ids": [str(i) for i in ids], "action": "assign", "assignee": target})

    me = await assign("me", desk.unassigned.id)
    kim = await assign(str(desk.kim.id), desk.mine.id, desk.pending.id)
    team = await assign(f"team:{desk.team_b.id}", desk.mine.id)

    assert [me.status_code, kim.status_code, team.status_code] == [200, 200, 200]
    rows = dict((await db.execute(
        select(Ticket.id, Ticket.assignee_id).where(Ticket.store_id == desk.ola.store_id)
        .execution_options(populate_existing=True))).all())
    assert rows[desk.unassigned.id] == desk.ola.id
    assert rows[desk.mine.id] == desk.kim.id
    assert rows[desk.pending.id] == desk.kim.id
    mine = await db.get(Ticket, desk.mine.id, populate_existing=True)
    assert mine is not None
    assert mine.team_id == desk.team_b.id


async def test_bulk_add_tag_keeps_existing_tags(
    browser: httpx.AsyncClient, db: AsyncSession, desk: Desk
) -> None:
    response = await browser.post("/inbox/bulk", headers=HX, data={
        "ids": [str(desk.mine.id), str(desk.pending.id)], "action": "tag", "tag": " Pilne "})

    assert response.status_code == 200
    assert await ticket_tag_names(db, ticket_id=desk.mine.id) == ["pilne", "refund"]
    assert await ticket_tag_names(db, ticket_id=desk.pending.id) == ["pilne"]


async def test_bulk_merge_into_the_first_selected(
    browser: httpx.AsyncClient, db: AsyncSession, desk: Desk
) -> None:
    response = await browser.post("/inbox/bulk", headers=HX, data={
        "ids": [str(desk.mine.id), str(desk.pending.id), str(desk.solved.id)],
        "action": "merge"})

    assert response.status_code == 200
    assert f"2 zgłoszenia scalono z #{desk.mine.id}." in response.text
    merged = dict((await db.execute(
        select(Ticket.id, Ticket.merged_into_id).where(
            Ticket.id.in_([desk.pending.id, desk.solved.id]))
        .execution_options(populate_existing=True))).all())
    assert merged == {desk.pending.id: desk.mine.id, desk.solved.id: desk.mine.id}
    target = await db.get(Ticket, desk.mine.id, populate_existing=True)
    assert target is not None
    assert target.message_count == 3


async def test_bulk_merge_into_a_chosen_ticket_reports_a_closed_one(
    browser: httpx.AsyncClient, db: AsyncSession, desk: Desk
) -> None:
    await actions.update_ticket(db, ticket=desk.solved, actor=SYSTEM,
                                changes={"status": "closed"})
    mine, solved, team = desk.mine.id, desk.solved.id, desk.team.id

    response = await browser.post("/inbox/bulk", headers=HX, data={
        "ids": [str(mine), str(solved)], "action": "merge", "into": f"#{team}"})

    assert response.status_code == 200
    assert f'data-failed="{solved}"' in response.text
    assert "Zamkniętych zgłoszeń nie można scalać." in response.text
    merged = await db.get(Ticket, mine, populate_existing=True)
    assert merged is not None
    assert merged.merged_into_id == team


@pytest.mark.parametrize(("data", "message"), [
    ({"action": "status", "status": "solved"}, "Zaznacz co najmniej jedno zgłoszenie."),
    ({"ids": ["abc"], "action": "status", "status": "solved"},
     "Wybierz zgłoszenia z listy."),
    ({"ids": ["{mine}"], "action": "explode"},
     "Wybierz, co zrobić z zaznaczonymi zgłoszeniami."),
    ({"ids": ["{mine}"], "action": "status", "status": "lost"}, "Wybierz status z listy."),
    ({"ids": ["{mine}"], "action": "tag", "tag": "a,b"},
     "Tag ma od 1 do 64 znaków i nie zawiera przecinków."),
    ({"ids": ["{mine}"], "action": "assign", "assignee": "{foreign_agent}"},
     "Wybierz agenta z listy."),
    ({"ids": ["{mine}"], "action": "assign", "assignee": "team:999999"},
     "Wybierz zespół z listy."),
    ({"ids": ["{mine}"], "action": "merge"},
     "Zaznacz co najmniej dwa zgłoszenia do scalenia."),
    ({"ids": ["{mine}", "{pending}"], "action": "merge", "into": "abc"},
     "Wpisz numer zgłoszenia, z którym chcesz scalić."),
])
async def test_bad_bulk_input_is_refused_with_a_reason_and_changes_nothing(
    browser: httpx.AsyncClient, db: AsyncSession, other_store: Store, desk: Desk,
    data: dict[str, object], message: str,
) -> None:
    foreign_agent = await accounts.create_agent(db, store_id=other_store.id, email="x@o.test",
                                                name="X", role=Role.AGENT)
    values = {"mine": desk.mine.id, "pending": desk.pending.id,
              "foreign_agent": foreign_agent.id}
    body = {k: [x.format(**values) for x in v] if isinstance(v, list) else str(v).format(**values)
            for k, v in data.items()}
    before = await snapshot(db)

    response = await browser.post("/inbox/bulk", headers=HX, data=body)

    assert response.status_code == 422
    assert message in response.text
    assert await snapshot(db) == before


async def test_bulk_with_another_stores_ticket_is_404_and_changes_nothing(
    browser: httpx.AsyncClient, db: AsyncSession, desk: Desk
) -> None:
    before = await snapshot(db)

    response = await browser.post("/inbox/bulk", headers=HX, data={
        "ids": [str(desk.mine.id), str(desk.foreign.id)], "action": "status",
        "status": "solved"})
    merge = await browser.post("/inbox/bulk", headers=HX, data={
        "ids": [str(desk.mine.id)], "action": "merge", "into": str(desk.foreign.id)})

    assert response.status_code == 404
    assert merge.status_code == 404
    assert await snapshot(db) == before


async def test_bulk_needs_the_csrf_token(
    browser: httpx.AsyncClient, db: AsyncSession, desk: Desk
) -> None:
    before = await snapshot(db)

    response = await browser.post("/inbox/bulk", headers={**HX, "X-CSRF-Token": "forged"},
                                  data={"ids": [str(desk.mine.id)], "action": "status",
                                        "status": "solved"})

    assert response.status_code == 403
    assert await snapshot(db) == before


async def test_a_viewer_sees_the_inbox_but_cannot_change_it(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, desk: Desk
) -> None:
    await accounts.create_agent(db, store_id=store.id, email="view@acme.test", name="Viewer",
                                role=Role.VIEWER, password=PASSWORD)
    token = await sign_in(client, "view@acme.test")
    before = await snapshot(db)

    page = await client.get("/inbox?view=open")
    status = await client.post("/inbox/bulk", headers={**HX, "X-CSRF-Token": token}, data={
        "ids": [str(desk.mine.id)], "action": "status", "status": "solved"})
    merge = await client.post("/inbox/bulk", headers={**HX, "X-CSRF-Token": token}, data={
        "ids": [str(desk.mine.id), str(desk.pending.id)], "action": "merge"})

    assert page.status_code == 200
    assert len(ids_in(page.text)) == 5
    assert 'id="bulk-bar"' not in page.text
    assert status.status_code == 403
    assert merge.status_code == 403
    assert await snapshot(db) == before


async def test_another_stores_tickets_never_appear(
    browser: httpx.AsyncClient, desk: Desk
) -> None:
    for view in ("mine", "unassigned", "teams", "open", "breaching", "pending", "solved"):
        assert desk.foreign.id not in await view_ids(browser, f"view={view}")
    search = await browser.get("/search?q=zwrot")
    assert f'href="/tickets/{desk.foreign.id}"' not in search.text
    assert f'href="/tickets/{desk.mine.id}"' in search.text


async def test_the_inbox_needs_a_session(client: httpx.AsyncClient) -> None:
    response = await client.get("/inbox?view=open")

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/inbox%3Fview%3Dopen"


# --- languages -----------------------------------------------------------------------------

ENGLISH_LABELS = ("Breaching SLA soon", "All open", "My teams", "Unassigned", "Filters and sorting",
                  "With the selected tickets", "Set status", "Add tag", "Merge into ticket",
                  "Select all tickets on this page", "Subject and customer", "Highest priority",
                  "Clear filters", "On hold", ">Urgent<", ">Pending<", ">Chat<")


@pytest.mark.parametrize(("language", "translated"), [
    ("pl", ("Bliskie przekroczenia SLA", "Wszystkie otwarte", "Moje zespoły", "Nieprzypisane",
            "Filtry i sortowanie", "Ustaw status", "Wstrzymane", ">Pilny<", "Czat")),
    ("ko", ("SLA 위반 임박", "열린 티켓 전체", "내 팀", "미배정", "필터 및 정렬", "상태 변경",
            "보류", ">긴급<", "채팅")),
])
async def test_korean_and_polish_inboxes_show_no_english(
    client: httpx.AsyncClient, db: AsyncSession, store: Store, desk: Desk, language: str,
    translated: tuple[str, ...],
) -> None:
    await accounts.create_agent(db, store_id=store.id, email=f"{language}@acme.test",
                                name="Agent", role=Role.MANAGER, password=PASSWORD,
                                language=language)
    await sign_in(client, f"{language}@acme.test")

    page = await client.get("/inbox?view=open")
    counts = await client.get("/inbox/counts?view=open", headers=HX)
    html = page.text + counts.text

    for text in translated:
        assert text in html, text
    for text in ENGLISH_LABELS:
        assert text not in html, text


# --- search --------------------------------------------------------------------------------


async def test_an_empty_search_shows_the_form(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/search?q=%20")

    assert response.status_code == 200
    assert 'id="search-q"' in response.text
    assert 'data-testid="search-results"' not in response.text


@pytest.mark.parametrize(("query", "ticket", "marked"), [
    ("zwroty", "mine", "<mark>zwrot</mark>"),  # Polish stem: zwroty -> zwrot
    ("refunds", "team", "<mark>refund</mark>"),  # English stem
    ("환불", "unassigned", "<mark>환불</mark>"),  # Korean bigram
])
async def test_search_finds_tickets_in_each_language_and_marks_the_words(
    browser: httpx.AsyncClient, desk: Desk, query: str, ticket: str, marked: str
) -> None:
    response = await browser.get("/search", params={"q": query})

    assert response.status_code == 200
    hits = re.findall(r'<li class="hit" data-id="(\d+)"', response.text)
    assert hits == [str(getattr(desk, ticket).id)]
    assert marked in response.text


async def test_search_without_matches_says_so(browser: httpx.AsyncClient, desk: Desk) -> None:
    response = await browser.get("/search", params={"q": "parasol"})

    assert response.status_code == 200
    assert "Żadna wiadomość nie pasuje do „parasol”." in response.text


def test_snippets_escape_the_text_and_mark_stems_and_bigrams() -> None:
    assert snippet("Zwroty <b>i</b> zwrot", "zwrot") == (
        "<mark>Zwroty</mark> &lt;b&gt;i&lt;/b&gt; <mark>zwrot</mark>")
    assert snippet("배송이 늦어요", "배송") == "<mark>배송</mark>이 늦어요"
    long = "word " * 100 + "refunded here"
    cut = snippet(long, "refund")
    assert cut.startswith("…")
    assert "<mark>refunded</mark> here" in cut
