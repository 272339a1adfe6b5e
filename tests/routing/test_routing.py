"""Routing through the real paths: inbound messages, ticket changes, availability, the queue."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts import actions as accounts
from sellerdesk.accounts.models import Store
from sellerdesk.accounts.permissions import Role
from sellerdesk.automation.routing import actions, engine
from sellerdesk.automation.routing.models import AgentRouting, TeamRouting
from sellerdesk.automation.routing.tasks import drain_queues
from sellerdesk.core.actor import SYSTEM
from sellerdesk.core.errors import Invalid, NotFound
from sellerdesk.jobs import outbox
from sellerdesk.jobs.models import Job
from sellerdesk.realtime.bus import bus
from sellerdesk.tickets import actions as tickets
from sellerdesk.tickets.models import AuditEvent, Message
from sellerdesk.tickets.states import Status
from tests.routing.conftest import (
    Desk,
    add_agent,
    assignee,
    go,
    queue_of,
    routed_events,
    set_mode,
    ticket_of,
)


@pytest.fixture(autouse=True)
def no_failed_routing_jobs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A job that fails in run_pending is only logged: fail the test instead. (Replies'
    delivery jobs fail here by design: the test channels have nowhere to send.)"""
    caplog.set_level(logging.ERROR, logger="sellerdesk.jobs.outbox")
    yield
    failures = [r.getMessage() for r in caplog.records if r.name == "sellerdesk.jobs.outbox"
                and ("routing." in r.getMessage() or "inbound.received" in r.getMessage())]
    assert failures == []


async def test_a_message_to_a_teams_channel_is_assigned_and_audited(
    db: AsyncSession, desk: Desk
) -> None:
    # given a round-robin team with one agent online
    await set_mode(db, desk, "round_robin")
    ann = desk.agents[0]
    await go(db, ann, "online")

    # when a customer writes in the team's chat, listening to live events
    async with bus.subscribe(desk.store.id) as events:
        ticket = await desk.receive(db, 1)
        seen = [events.get_nowait() for _ in range(events.qsize())]

    # then the ticket entered the team, went to ann, and the audit trail says how
    assert (ticket.team_id, ticket.assignee_id) == (desk.team.id, ann.id)
    assert await routed_events(db, ticket) == [
        ({"assignee_id": None}, {"assignee_id": ann.id, "team_id": desk.team.id,
                                 "mode": "round_robin", "reason": "next_in_rotation",
                                 "trigger": "inbound"})]
    assert {"type": "ticket.routed", "ticket_id": ticket.id, "team_id": desk.team.id,
            "assignee_id": ann.id, "mode": "round_robin", "reason": "next_in_rotation"} in seen
    # running the inbound job again changes nothing (jobs may be retried)
    message_id = await db.scalar(select(Message.id).where(Message.ticket_id == ticket.id))
    outbox.enqueue(db, "inbound.received", message_id=message_id)
    await db.commit()
    await outbox.run_pending(db)
    assert len(await routed_events(db, ticket)) == 1


async def test_a_manual_team_assigns_nobody(db: AsyncSession, desk: Desk) -> None:
    await go(db, desk.agents[0], "online")

    ticket = await desk.receive(db, 1)

    assert (ticket.team_id, ticket.assignee_id) == (desk.team.id, None)
    assert await queue_of(db, desk.team) == []


async def test_round_robin_rotates_and_its_pointer_survives_a_restart(
    db: AsyncSession, desk: Desk
) -> None:
    # given three online agents in a round-robin team, email (no capacity limit)
    await set_mode(db, desk, "round_robin")
    for a in desk.agents:
        await go(db, a, "online")

    # when four tickets arrive, the process "restarting" (a fresh session state) after two
    first = [await desk.receive(db, n, channel=desk.email) for n in (1, 2)]
    db.expunge_all()
    pointer = await db.get(TeamRouting, desk.team.id)
    assert pointer is not None
    assert pointer.rr_last_agent_id == desk.agents[1].id
    later = [await desk.receive(db, n, channel=desk.email) for n in (3, 4)]

    # then they went round: ann, bob, cat, ann
    ann, bob, cat = (a.id for a in desk.agents)
    assert [t.assignee_id for t in first + later] == [ann, bob, cat, ann]


async def test_load_balanced_picks_the_least_weighted_load(db: AsyncSession, desk: Desk) -> None:
    # given ann holds one urgent ticket (weight 4) and bob two normal ones (2); cat is away
    ann, bob, cat = desk.agents
    for a in (ann, bob):
        await go(db, a, "online")
    await go(db, cat, "away")
    for n, (who, priority) in enumerate([(ann, "urgent"), (bob, "normal"), (bob, "normal")]):
        ticket = await desk.receive(db, f"old{n}", channel=desk.email, priority=priority)
        await tickets.update_ticket(db, ticket=ticket, actor=SYSTEM,
                                    changes={"assignee_id": who.id})
    await set_mode(db, desk, "load_balanced")

    # when a new ticket arrives
    ticket = await desk.receive(db, "new", channel=desk.email)

    # then bob, with less weighted load, gets it; cat, away, never does
    assert ticket.assignee_id == bob.id
    assert (await routed_events(db, ticket))[0][1]["reason"] == "least_load"


async def test_language_match_prefers_a_korean_speaker_then_falls_back(
    db: AsyncSession, desk: Desk
) -> None:
    # given a skills team: only cat speaks Korean, and cat takes one chat at a time
    ann, bob, cat = desk.agents
    await set_mode(db, desk, "skills")
    await actions.update_agent_routing(db, agent=cat, actor=SYSTEM,
                                       changes={"languages": ["ko", "en"],
                                                "capacities": {"chat": 1}})
    for a in desk.agents:
        await go(db, a, "online")

    # when two Korean chats and a Polish one arrive
    first = await desk.receive(db, 1, language="ko")
    second = await desk.receive(db, 2, language="ko")
    polish = await desk.receive(db, 3, language="pl")

    # then the first goes to cat; with cat full the second falls back to the least loaded
    assert first.language == "ko"
    assert first.assignee_id == cat.id
    assert (await routed_events(db, first))[0][1]["reason"] == "speaks_ko"
    assert second.assignee_id == ann.id
    assert (await routed_events(db, second))[0][1]["reason"] == "no_ko_speaker_free"
    assert polish.assignee_id == bob.id


async def test_chat_capacity_queues_the_fourth_chat_but_not_email(
    db: AsyncSession, desk: Desk
) -> None:
    # given one online agent with the default chat capacity (3) and unlimited email
    ann = desk.agents[0]
    await set_mode(db, desk, "load_balanced")
    await go(db, ann, "online")

    # when four chats and an email arrive
    chats = [await desk.receive(db, n) for n in range(4)]
    mail = await desk.receive(db, "mail", channel=desk.email)

    # then three chats are ann's, the fourth waits in the team's queue; the email is ann's
    assert [t.assignee_id for t in chats] == [ann.id, ann.id, ann.id, None]
    assert await queue_of(db, desk.team) == [chats[3].id]
    assert mail.assignee_id == ann.id
    queued = (await db.execute(select(AuditEvent.after).where(
        AuditEvent.ticket_id == chats[3].id, AuditEvent.action == "ticket.queued"))).scalars()
    assert list(queued) == [{"team_id": desk.team.id, "reason": "all_agents_full"}]


async def test_capacity_follows_the_agent_then_the_store_default(
    db: AsyncSession, desk: Desk
) -> None:
    # given the store's chat default lowered to 1 and email capped at 1; bob may take 2 chats
    ann, bob, _ = desk.agents
    await actions.update_settings(db, store_id=desk.store.id, actor=SYSTEM,
                                  changes={"capacities": {"chat": 1, "email": 1}})
    await actions.update_agent_routing(db, agent=bob, actor=SYSTEM,
                                       changes={"capacities": {"chat": 2}})
    await set_mode(db, desk, "round_robin")
    for a in (ann, bob):
        await go(db, a, "online")

    # when four chats and three emails arrive
    chats = [await desk.receive(db, n) for n in range(4)]
    mails = [await desk.receive(db, f"mail{n}", channel=desk.email) for n in range(3)]

    # then ann holds one chat, bob two, one waits; one email each, one waits
    assert [t.assignee_id for t in chats] == [ann.id, bob.id, bob.id, None]
    assert sorted(t.assignee_id or 0 for t in mails) == [0, ann.id, bob.id]
    assert len(await queue_of(db, desk.team)) == 2


async def test_solving_a_ticket_serves_the_queue_most_urgent_then_oldest(
    db: AsyncSession, desk: Desk
) -> None:
    # given ann full with three chats, and three more waiting: normal, urgent, normal
    ann = desk.agents[0]
    await set_mode(db, desk, "round_robin")
    await go(db, ann, "online")
    held = [await desk.receive(db, n) for n in range(3)]
    waiting = [await desk.receive(db, "w1"), await desk.receive(db, "w2", priority="urgent"),
               await desk.receive(db, "w3")]
    assert [t.assignee_id for t in waiting] == [None, None, None]

    # when ann solves one chat, then replies to another and solves it with the reply
    await tickets.update_ticket(db, ticket=held[0], actor=SYSTEM, changes={"status": "solved"})
    await outbox.run_pending(db)
    after_first = [await assignee(db, t) for t in waiting]
    await tickets.reply(db, ticket=held[1], actor=SYSTEM, text="Gotowe.",
                        status=Status.SOLVED)
    await outbox.run_pending(db)

    # then the urgent one was served first, then the oldest normal one
    assert after_first == [None, ann.id, None]
    assert [await assignee(db, t) for t in waiting] == [ann.id, ann.id, None]
    assert await queue_of(db, desk.team) == [waiting[2].id]
    assert (await routed_events(db, waiting[1]))[0][1]["trigger"] == "queue"


async def test_pending_frees_a_seat(
    db: AsyncSession, desk: Desk
) -> None:
    # given ann's chat capacity is 1 and she holds one chat; another waits
    ann = desk.agents[0]
    await actions.update_agent_routing(db, agent=ann, actor=SYSTEM,
                                       changes={"capacities": {"chat": 1}})
    await set_mode(db, desk, "round_robin")
    await go(db, ann, "online")
    first = await desk.receive(db, 1)
    second = await desk.receive(db, 2)

    # when ann sets the first to pending (waiting on the customer)
    await tickets.update_ticket(db, ticket=first, actor=SYSTEM, changes={"status": "pending"})
    await outbox.run_pending(db)

    # then the seat went to the waiting chat
    assert await assignee(db, second) == ann.id


async def test_only_online_agents_get_tickets_and_coming_online_serves_the_queue(
    db: AsyncSession, desk: Desk
) -> None:
    # given a team whose agents are away or offline
    ann, bob, _ = desk.agents
    await set_mode(db, desk, "load_balanced")
    await go(db, ann, "away")

    # when chats arrive, then bob comes online
    chats = [await desk.receive(db, n) for n in range(2)]
    queued = await queue_of(db, desk.team)
    reasons = list((await db.execute(select(AuditEvent.after).where(
        AuditEvent.ticket_id == chats[0].id, AuditEvent.action == "ticket.queued"))).scalars())
    await go(db, bob, "online")
    await outbox.run_pending(db)

    # then nobody got them while away/offline, and bob got both when online
    assert queued == [c.id for c in chats]
    assert reasons == [{"team_id": desk.team.id, "reason": "no_agent_online"}]
    assert [await assignee(db, c) for c in chats] == [bob.id, bob.id]
    assert await queue_of(db, desk.team) == []


async def test_going_offline_reroutes_live_chats_and_keeps_email(
    db: AsyncSession, desk: Desk
) -> None:
    # given ann holds a chat and an email in a round-robin team, bob is online too
    ann, bob, _ = desk.agents
    await set_mode(db, desk, "round_robin")
    await go(db, ann, "online")
    chat = await desk.receive(db, 1)
    mail = await desk.receive(db, 2, channel=desk.email)
    await go(db, bob, "online")
    assert (chat.assignee_id, mail.assignee_id) == (ann.id, ann.id)

    # when ann goes offline
    await go(db, ann, "offline")
    await outbox.run_pending(db)

    # then the chat went to bob through the queue, recorded; the email waits for ann
    assert await assignee(db, chat) == bob.id
    assert await assignee(db, mail) == ann.id
    assert await routed_events(db, chat) == [
        ({"assignee_id": None}, {"assignee_id": ann.id, "team_id": desk.team.id,
                                 "mode": "round_robin", "reason": "next_in_rotation",
                                 "trigger": "inbound"}),
        ({"assignee_id": ann.id}, {"assignee_id": None, "team_id": desk.team.id,
                                   "mode": "round_robin", "reason": "agent_offline",
                                   "trigger": "availability"}),
        ({"assignee_id": None}, {"assignee_id": bob.id, "team_id": desk.team.id,
                                 "mode": "round_robin", "reason": "next_in_rotation",
                                 "trigger": "queue"}),
    ]
    row = await db.get(AgentRouting, ann.id, populate_existing=True)
    assert row is not None
    assert row.availability == "offline"


async def test_offline_reroute_channel_types_are_the_stores_choice(
    db: AsyncSession, desk: Desk
) -> None:
    # given a store that re-routes email too, and nobody else online
    ann = desk.agents[0]
    await actions.update_settings(db, store_id=desk.store.id, actor=SYSTEM,
                                  changes={"reroute_on_offline": ["email", "chat"]})
    await set_mode(db, desk, "load_balanced")
    await go(db, ann, "online")
    mail = await desk.receive(db, 1, channel=desk.email)

    # when ann goes offline
    await go(db, ann, "offline")
    await outbox.run_pending(db)

    # then the email is back in the team's queue
    assert await assignee(db, mail) is None
    assert await queue_of(db, desk.team) == [mail.id]


async def test_moving_a_ticket_into_a_team_or_unassigning_it_routes_it(
    db: AsyncSession, store: Store, desk: Desk
) -> None:
    # given a second, round-robin team with bob, and a ticket in the manual team
    ann, bob, _ = desk.agents
    sales = await accounts.create_team(db, store_id=store.id, name="Sales", agent_ids=[bob.id])
    await actions.update_team_routing(db, team=sales, actor=SYSTEM,
                                      changes={"mode": "round_robin"})
    await go(db, bob, "online")
    ticket = await desk.receive(db, 1)
    assert ticket.assignee_id is None

    # when an agent moves it to Sales
    await tickets.update_ticket(db, ticket=ticket, actor=SYSTEM, changes={"team_id": sales.id})
    await outbox.run_pending(db)

    # then Sales' routing gives it to bob; unassigned again, it comes back to bob
    assert await assignee(db, ticket) == bob.id
    await tickets.update_ticket(db, ticket=await ticket_of(db, ticket.id), actor=SYSTEM,
                                changes={"assignee_id": None})
    await outbox.run_pending(db)
    assert await assignee(db, ticket) == bob.id
    assert [e[1]["trigger"] for e in await routed_events(db, ticket)] == [
        "ticket_changed", "ticket_changed"]


async def test_turning_routing_on_serves_tickets_already_waiting(
    db: AsyncSession, desk: Desk
) -> None:
    # given two unassigned tickets in a manual team and an online agent
    await go(db, desk.agents[2], "online")
    waiting = [await desk.receive(db, n, channel=desk.email) for n in range(2)]

    # when the manager turns round-robin on
    await set_mode(db, desk, "round_robin")

    # then both are assigned; turning it off again leaves new tickets alone
    assert [await assignee(db, t) for t in waiting] == [desk.agents[2].id] * 2
    await set_mode(db, desk, "manual")
    assert (await desk.receive(db, 9, channel=desk.email)).assignee_id is None


async def test_a_viewer_or_a_deactivated_agent_is_never_routed(
    db: AsyncSession, store: Store, desk: Desk
) -> None:
    # given a viewer in the team who went online, and the only agent deactivated while online
    viewer = await add_agent(db, store, "vic", role=Role.VIEWER)
    await accounts_add_member(db, desk, viewer.id)
    await set_mode(db, desk, "round_robin")
    await go(db, viewer, "online")
    ann = desk.agents[0]
    await go(db, ann, "online")
    ann.is_active = False
    await db.commit()

    # when a ticket arrives
    ticket = await desk.receive(db, 1, channel=desk.email)

    # then it waits for a real agent
    assert ticket.assignee_id is None
    assert await queue_of(db, desk.team) == [ticket.id]


async def accounts_add_member(db: AsyncSession, desk: Desk, agent_id: int) -> None:
    from sellerdesk.accounts.models import TeamMember

    db.add(TeamMember(team_id=desk.team.id, agent_id=agent_id))
    await db.commit()


async def test_the_periodic_drain_serves_queues_whose_job_was_lost(
    db: AsyncSession, desk: Desk
) -> None:
    # given a queued chat, and an agent who came online but whose drain job was lost
    await set_mode(db, desk, "round_robin")
    chat = await desk.receive(db, 1)
    assert await queue_of(db, desk.team) == [chat.id]
    await go(db, desk.agents[1], "online")
    await db.execute(Job.__table__.delete())
    await db.commit()

    # when the scheduler's sweep runs (twice: the second has nothing to do)
    assigned = await drain_queues(db)
    again = await drain_queues(db)

    # then the chat is assigned
    assert (assigned, again) == (1, 0)
    assert await assignee(db, chat) == desk.agents[1].id


async def test_stale_queue_entries_are_dropped_when_the_queue_is_served(
    db: AsyncSession, desk: Desk
) -> None:
    # given a queued chat that an agent then takes by hand
    await set_mode(db, desk, "round_robin")
    chat = await desk.receive(db, 1)
    ann = desk.agents[0]
    await tickets.update_ticket(db, ticket=chat, actor=SYSTEM, changes={"assignee_id": ann.id})
    await outbox.run_pending(db)

    # when the queue is served
    assigned = await engine.drain(db, team_id=desk.team.id)

    # then the entry is gone and the hand assignment stands
    assert assigned == 0
    assert await queue_of(db, desk.team) == []
    assert await assignee(db, chat) == ann.id


async def test_routing_a_ticket_again_changes_nothing(
    db: AsyncSession, desk: Desk
) -> None:
    # given a waiting email in a routed team with two agents online
    await set_mode(db, desk, "round_robin")
    ticket = await desk.receive(db, 1, channel=desk.email, run_jobs=False)
    for a in desk.agents[:2]:
        await go(db, a, "online")

    # when the route job runs twice (a retry) and the inbound job too
    outbox.enqueue(db, "routing.route", ticket_id=ticket.id)
    outbox.enqueue(db, "routing.route", ticket_id=ticket.id)
    await db.commit()
    await outbox.run_pending(db)

    # then exactly one assignment is recorded
    assert len(await routed_events(db, ticket)) == 1
    assert await assignee(db, ticket) == desk.agents[0].id


async def test_a_deactivated_agent_cannot_go_online_but_can_go_offline(
    db: AsyncSession, desk: Desk
) -> None:
    ann = desk.agents[0]
    await go(db, ann, "online")
    ann.is_active = False
    await db.commit()

    with pytest.raises(Invalid) as refused:
        await go(db, ann, "away")
    await go(db, ann, "offline")

    assert (refused.value.code, refused.value.field) == ("routing.inactive_agent", "availability")
    row = await db.get(AgentRouting, ann.id, populate_existing=True)
    assert row is not None
    assert row.availability == "offline"


async def test_an_unknown_availability_or_agent_is_refused(db: AsyncSession, desk: Desk) -> None:
    with pytest.raises(Invalid) as bad:
        await go(db, desk.agents[0], "busy")
    with pytest.raises(NotFound) as missing:
        await actions.set_availability(db, agent_id=10**9, status="online", actor=SYSTEM)

    assert bad.value.code == "routing.invalid_availability"
    assert missing.value.code == "agent.not_found"
    assert await db.get(AgentRouting, desk.agents[0].id) is None
