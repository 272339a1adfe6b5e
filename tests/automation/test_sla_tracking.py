"""Tickets' SLA state through the real paths: inbound job, replies, ticket updates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Store
from sellerdesk.automation import actions
from sellerdesk.automation.models import Calendar, TicketSlaTarget
from sellerdesk.channels.models import Channel
from sellerdesk.core.actor import SYSTEM
from sellerdesk.core.clock import now
from sellerdesk.jobs import outbox, registry
from sellerdesk.tickets import actions as tickets
from sellerdesk.tickets.models import AuditEvent, Message
from tests.automation.conftest import (
    add_policy,
    minutes,
    receive,
    sla_audit,
    sla_state,
    targets,
    ticket_of,
)

FRIDAY_16_WARSAW = datetime(2026, 6, 5, 14, 0, tzinfo=UTC)
MONDAY = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
M = timedelta(minutes=1)
H = timedelta(hours=1)


async def test_new_ticket_gets_the_first_matching_policy_and_due_times(
    db: AsyncSession, store: Store, office: Calendar, api_channel: tuple[Channel, str],
) -> None:
    # given an Amazon policy in calendar time before a business-hours catch-all
    channel, _ = api_channel
    await add_policy(db, store, "Amazon", {"first_response": minutes(24 * 60),
                                           "resolution": minutes(72 * 60)},
                     conditions={"marketplaces": ["amazon"]})
    await add_policy(db, store, "Everything else",
                     {"first_response": minutes(240, business=True),
                      "resolution": minutes(40 * 60, business=True)}, calendar_id=office.id)

    # when two messages arrive on Friday at 16:00 in Warsaw, one relayed by Amazon
    amazon = await receive(db, channel, at=FRIDAY_16_WARSAW, external_id="a",
                           marketplace="amazon")
    other = await receive(db, channel, at=FRIDAY_16_WARSAW, external_id="b",
                          email="jan@example.pl")

    # then Amazon counts weekends, the catch-all counts Warsaw office hours
    state = await sla_state(db, amazon)
    assert state is not None
    assert state.policy_name == "Amazon"
    rows = await targets(db, amazon)
    assert {k: (r.state, r.due_at) for k, r in rows.items()} == {
        "first_response": ("active", FRIDAY_16_WARSAW + 24 * H),
        "resolution": ("active", FRIDAY_16_WARSAW + 72 * H),
    }
    assert (await ticket_of(db, amazon)).sla_due_at == FRIDAY_16_WARSAW + 24 * H
    rows = await targets(db, other)
    # 1 h on Friday + 3 h on Monday; 40 h: Friday 1 + Mon-Thu 32 + Friday 7
    assert rows["first_response"].due_at == datetime(2026, 6, 8, 10, 0, tzinfo=UTC)
    assert rows["resolution"].due_at == datetime(2026, 6, 12, 14, 0, tzinfo=UTC)
    assert rows["first_response"].calendar_id == office.id
    audit = await sla_audit(db, amazon)
    assert [a for a, _ in audit] == ["sla.applied"]
    assert audit[0][1] == {"policy_id": state.policy_id, "policy_name": "Amazon", "due": {
        "first_response": (FRIDAY_16_WARSAW + 24 * H).isoformat(),
        "resolution": (FRIDAY_16_WARSAW + 72 * H).isoformat()}}


async def test_a_ticket_no_policy_matches_has_no_sla(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    await add_policy(db, store, "Chat", {"first_response": minutes(1)},
                     conditions={"channel_types": ["chat"]})

    ticket_id = await receive(db, api_channel[0], at=MONDAY, external_id="a")

    assert await sla_state(db, ticket_id) is None
    assert await targets(db, ticket_id) == {}
    assert (await ticket_of(db, ticket_id)).sla_due_at is None


async def test_running_the_inbound_job_twice_changes_nothing(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    await add_policy(db, store, "All", {"first_response": minutes(60)})
    ticket_id = await receive(db, api_channel[0], at=MONDAY, external_id="a")
    message_id = await db.scalar(select(Message.id).where(Message.ticket_id == ticket_id))
    before = {k: (r.id, r.due_at) for k, r in (await targets(db, ticket_id)).items()}

    await registry.call(db, "inbound.received", {"message_id": message_id})

    assert {k: (r.id, r.due_at) for k, r in (await targets(db, ticket_id)).items()} == before
    assert [a for a, _ in await sla_audit(db, ticket_id)] == ["sla.applied"]


async def test_first_reply_meets_first_response(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    await add_policy(db, store, "All", {"first_response": minutes(60),
                                        "resolution": minutes(24 * 60)})
    t0 = now() - 10 * M
    ticket_id = await receive(db, api_channel[0], at=t0, external_id="a")
    ticket = await ticket_of(db, ticket_id)

    message = await tickets.reply(db, ticket=ticket, actor=SYSTEM, text="Wysłane dziś.")

    rows = await targets(db, ticket_id)
    first = rows["first_response"]
    assert (first.state, first.completed_at, first.next_check_at) == (
        "met", message.created_at, None)
    assert first.elapsed == message.created_at - t0
    assert (await ticket_of(db, ticket_id)).sla_due_at == t0 + 24 * H
    audit = await sla_audit(db, ticket_id)
    assert [a for a, _ in audit] == ["sla.applied", "sla.met"]
    assert audit[1][1] == {"target": "first_response", "due_at": (t0 + H).isoformat(),
                           "met_at": message.created_at.isoformat()}


async def test_a_late_reply_is_recorded_as_a_breach(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    await add_policy(db, store, "All", {"first_response": minutes(60)})
    ticket_id = await receive(db, api_channel[0], at=MONDAY, external_id="a")

    await tickets.record_sent_reply(db, ticket=await ticket_of(db, ticket_id), actor=SYSTEM,
                                    text="Przepraszamy za zwłokę.", sent_at=MONDAY + 2 * H)

    first = (await targets(db, ticket_id))["first_response"]
    assert (first.state, first.breached_at, first.completed_at) == (
        "breached", MONDAY + H, MONDAY + 2 * H)
    assert (await sla_audit(db, ticket_id))[-1] == ("sla.met_late", {
        "target": "first_response", "due_at": (MONDAY + H).isoformat(),
        "met_at": (MONDAY + 2 * H).isoformat()})


async def test_next_response_restarts_on_each_customer_message_after_a_reply(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    channel = api_channel[0]
    await add_policy(db, store, "All", {"first_response": minutes(60),
                                        "next_response": minutes(30)})
    ticket_id = await receive(db, channel, at=MONDAY, external_id="1", thread_key="c")

    async def agent_reply(at: datetime) -> None:
        await tickets.record_sent_reply(db, ticket=await ticket_of(db, ticket_id), actor=SYSTEM,
                                        text="Odpowiedź", sent_at=at)

    async def customer(external_id: str, at: datetime) -> None:
        assert await receive(db, channel, at=at, external_id=external_id,
                             thread_key="c") == ticket_id

    # a second message before any reply starts nothing: first response still runs
    await customer("2", MONDAY + 5 * M)
    assert set(await targets(db, ticket_id)) == {"first_response"}

    await agent_reply(MONDAY + 20 * M)
    await customer("3", MONDAY + H)
    first_cycle = (await targets(db, ticket_id))["next_response"]
    assert (first_cycle.state, first_cycle.started_at, first_cycle.due_at) == (
        "active", MONDAY + H, MONDAY + H + 30 * M)

    await customer("4", MONDAY + H + 10 * M)  # still waiting: the clock keeps its start
    assert (await targets(db, ticket_id))["next_response"].started_at == MONDAY + H

    await agent_reply(MONDAY + H + 20 * M)
    met = (await targets(db, ticket_id))["next_response"]
    assert (met.state, met.completed_at) == ("met", MONDAY + H + 20 * M)
    assert (await ticket_of(db, ticket_id)).sla_due_at is None

    await customer("5", MONDAY + 2 * H)
    again = (await targets(db, ticket_id))["next_response"]
    assert (again.state, again.started_at, again.due_at, again.completed_at) == (
        "active", MONDAY + 2 * H, MONDAY + 2 * H + 30 * M, None)
    assert (await ticket_of(db, ticket_id)).sla_due_at == MONDAY + 2 * H + 30 * M
    assert [a for a, _ in await sla_audit(db, ticket_id)] == ["sla.applied", "sla.met",
                                                               "sla.met"]


async def test_pending_pauses_the_clocks_and_open_resumes_without_the_paused_span(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    await add_policy(db, store, "All", {"first_response": minutes(60),
                                        "resolution": minutes(24 * 60)})
    t0 = now() - 10 * M
    ticket_id = await receive(db, api_channel[0], at=t0, external_id="a")

    await tickets.update_ticket(db, ticket=await ticket_of(db, ticket_id), actor=SYSTEM,
                                changes={"status": "pending"})

    paused = await targets(db, ticket_id)
    assert {k: (r.state, r.due_at, r.next_check_at) for k, r in paused.items()} == {
        "first_response": ("paused", None, None), "resolution": ("paused", None, None)}
    since = paused["first_response"].paused_since
    assert since is not None
    assert paused["first_response"].elapsed == since - t0
    assert (await ticket_of(db, ticket_id)).sla_due_at is None

    await tickets.update_ticket(db, ticket=await ticket_of(db, ticket_id), actor=SYSTEM,
                                changes={"status": "open"})

    resumed = await targets(db, ticket_id)
    first = resumed["first_response"]
    assert first.state == "active"
    assert first.paused > timedelta(0)
    assert first.due_at == t0 + H + first.paused
    assert resumed["resolution"].due_at == t0 + 24 * H + resumed["resolution"].paused
    assert (await ticket_of(db, ticket_id)).sla_due_at == first.due_at


async def test_pause_on_follows_the_policy(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    await add_policy(db, store, "All", {"first_response": minutes(60)}, pause_on=[])
    ticket_id = await receive(db, api_channel[0], at=now() - M, external_id="a")

    await tickets.update_ticket(db, ticket=await ticket_of(db, ticket_id), actor=SYSTEM,
                                changes={"status": "on_hold"})

    assert (await targets(db, ticket_id))["first_response"].state == "active"


async def test_solving_meets_resolution_and_a_customer_reply_reopens_it(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    channel = api_channel[0]
    await add_policy(db, store, "All", {"first_response": minutes(60),
                                        "resolution": minutes(24 * 60)})
    t0 = now() - 10 * M
    ticket_id = await receive(db, channel, at=t0, external_id="a", thread_key="c")

    await tickets.update_ticket(db, ticket=await ticket_of(db, ticket_id), actor=SYSTEM,
                                changes={"status": "solved"})

    solved = await targets(db, ticket_id)
    assert {k: r.state for k, r in solved.items()} == {"first_response": "met",
                                                        "resolution": "met"}
    assert (await ticket_of(db, ticket_id)).sla_due_at is None
    elapsed = solved["resolution"].elapsed

    await receive(db, channel, at=now(), external_id="b", thread_key="c")

    ticket = await ticket_of(db, ticket_id)
    assert ticket.status == "open"
    reopened = await targets(db, ticket_id)
    resolution = reopened["resolution"]
    assert (resolution.state, resolution.completed_at, resolution.elapsed) == (
        "active", None, elapsed)
    assert resolution.due_at == resolution.checkpoint_at + 24 * H - elapsed
    assert reopened["first_response"].state == "met"
    assert ticket.sla_due_at == resolution.due_at


async def test_priority_change_rematches_keeping_elapsed_time(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    urgent = await add_policy(db, store, "Urgent", {"first_response": minutes(60)},
                              conditions={"priorities": ["urgent"]})
    default = await add_policy(db, store, "Default", {"first_response": minutes(24 * 60)})
    t0 = now() - 30 * M
    ticket_id = await receive(db, api_channel[0], at=t0, external_id="a")
    assert (await targets(db, ticket_id))["first_response"].due_at == t0 + 24 * H

    await tickets.update_ticket(db, ticket=await ticket_of(db, ticket_id), actor=SYSTEM,
                                changes={"priority": "urgent"})

    state = await sla_state(db, ticket_id)
    assert state is not None
    assert (state.policy_id, state.policy_name) == (urgent.id, "Urgent")
    first = (await targets(db, ticket_id))["first_response"]
    assert first.due_at == t0 + H  # the 30 minutes already waited still count
    assert first.goal == H
    assert (await ticket_of(db, ticket_id)).sla_due_at == t0 + H
    applied = (await sla_audit(db, ticket_id))[-1]
    assert applied[0] == "sla.applied"
    assert applied[1] is not None
    assert (applied[1]["policy_id"], applied[1]["due"]) == (
        urgent.id, {"first_response": (t0 + H).isoformat()})

    await tickets.update_ticket(db, ticket=await ticket_of(db, ticket_id), actor=SYSTEM,
                                changes={"priority": "normal"})

    state = await sla_state(db, ticket_id)
    assert state is not None
    assert state.policy_id == default.id
    assert (await targets(db, ticket_id))["first_response"].due_at == t0 + 24 * H


async def test_tags_select_a_policy_and_losing_every_match_drops_the_targets(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    vip = await add_policy(db, store, "VIP", {"first_response": minutes(30)},
                           conditions={"tags": ["vip"]})
    ticket_id = await receive(db, api_channel[0], at=now() - M, external_id="a")
    assert await sla_state(db, ticket_id) is None

    await tickets.update_ticket(db, ticket=await ticket_of(db, ticket_id), actor=SYSTEM,
                                changes={"tags": ["VIP", "invoice"]})

    state = await sla_state(db, ticket_id)
    assert state is not None
    assert state.policy_id == vip.id
    assert set(await targets(db, ticket_id)) == {"first_response"}

    await tickets.update_ticket(db, ticket=await ticket_of(db, ticket_id), actor=SYSTEM,
                                changes={"tags": ["invoice"]})

    state = await sla_state(db, ticket_id)
    assert state is not None
    assert (state.policy_id, state.policy_name) == (None, None)
    assert await targets(db, ticket_id) == {}
    assert (await ticket_of(db, ticket_id)).sla_due_at is None


async def test_customer_language_is_the_segment(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    polish = await add_policy(db, store, "Polish customers", {"first_response": minutes(30)},
                              conditions={"customer_languages": ["pl"]})
    await add_policy(db, store, "Others", {"first_response": minutes(600)})

    ticket_id = await receive(db, api_channel[0], at=MONDAY, external_id="a")

    state = await sla_state(db, ticket_id)
    assert state is not None
    assert state.policy_id == polish.id


async def test_merging_closes_the_source_tickets_targets(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    await add_policy(db, store, "All", {"first_response": minutes(60)})
    source = await receive(db, api_channel[0], at=now() - M, external_id="a")
    target = await receive(db, api_channel[0], at=now() - M, external_id="b",
                           email="jan@example.pl")

    await tickets.merge_tickets(db, source=await ticket_of(db, source),
                                target=await ticket_of(db, target), actor=SYSTEM)

    assert (await targets(db, source))["first_response"].next_check_at is None
    assert (await ticket_of(db, source)).sla_due_at is None
    total = await db.scalar(select(func.count()).select_from(TicketSlaTarget)
                            .where(TicketSlaTarget.next_check_at.is_not(None)))
    assert total == 1
    assert await db.scalar(select(func.count()).select_from(AuditEvent)
                           .where(AuditEvent.action == "sla.met")) == 1


async def test_a_new_holiday_moves_the_running_due_times(
    db: AsyncSession, store: Store, office: Calendar, api_channel: tuple[Channel, str],
) -> None:
    await add_policy(db, store, "Office", {"first_response": minutes(240, business=True)},
                     calendar_id=office.id)
    ticket_id = await receive(db, api_channel[0], at=FRIDAY_16_WARSAW, external_id="a")
    monday_noon = datetime(2026, 6, 8, 10, 0, tzinfo=UTC)
    assert (await targets(db, ticket_id))["first_response"].due_at == monday_noon

    await actions.update_calendar(db, calendar=office, actor=SYSTEM, changes={
        "holidays": [{"date": "2026-06-08", "name": "Poniedziałek wolny"}]})
    await outbox.run_pending(db)

    first = (await targets(db, ticket_id))["first_response"]
    assert first.due_at == monday_noon + 24 * H
    assert first.warn_at == monday_noon + 24 * H - 48 * M
    assert (await ticket_of(db, ticket_id)).sla_due_at == monday_noon + 24 * H
