"""Rules at work: through the inbound path, on status changes and SLA events; each run audited
and counted, once per event even when a job is retried, and loop-safe."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent, Store, Team
from sellerdesk.automation import sweep
from sellerdesk.automation.actions import create_calendar
from sellerdesk.automation.macros.actions import create_macro
from sellerdesk.automation.rules import actions as rule_actions
from sellerdesk.automation.rules import engine
from sellerdesk.automation.rules import tasks as rule_tasks
from sellerdesk.automation.rules.events import MAX_DEPTH
from sellerdesk.automation.rules.models import Rule, RuleRun
from sellerdesk.channels.models import Channel
from sellerdesk.core.actor import SYSTEM, Actor
from sellerdesk.core.clock import now
from sellerdesk.jobs import outbox
from sellerdesk.jobs.models import Job
from sellerdesk.realtime.bus import bus
from sellerdesk.tickets import actions as tickets
from sellerdesk.tickets.models import AuditEvent, Message
from sellerdesk.tickets.states import Direction
from sellerdesk.tickets.tasks import inbound_received
from tests.automation.conftest import add_policy, minutes
from tests.rules.conftest import add_rule, audits, fresh, leaf, receive, tags_of

REFUND = {"all": [leaf("message.text", "mentions", ["zwrot", "refund", "환불"])]}


async def test_an_inbound_message_sets_priority_and_tag_through_a_rule(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    # given a rule on customer messages that mention a refund
    rule = await add_rule(db, store, "Refunds", conditions=REFUND, actions_=[
        {"type": "set_priority", "value": "high"}, {"type": "add_tags", "tags": ["refund"]}])

    # when a Polish customer asks for a refund ("zwrotu" is inflected)
    ticket_id = await receive(db, api_channel[0], external_id="m1",
                              text="Dzień dobry, proszę o zwrotu pieniędzy.")

    # then the ticket is high priority and tagged, by the rule, on the audit trail
    ticket = await fresh(db, ticket_id)
    assert ticket.priority == "high"
    assert await tags_of(db, ticket_id) == ["refund"]
    applied = await audits(db, ticket_id, "rule.applied")
    assert len(applied) == 1
    assert (applied[0].entity_type, applied[0].entity_id) == ("rule", rule.id)
    assert (applied[0].actor_type, applied[0].actor_id) == ("rule", rule.id)
    assert applied[0].after is not None
    assert applied[0].after["rule"] == "Refunds"
    assert applied[0].after["events"] == ["message.received", "ticket.created"]
    assert applied[0].after["chain"] == [rule.id]
    assert applied[0].after["changes"] == {"priority": "high", "tags": ["refund"]}
    updated = await audits(db, ticket_id, "ticket.updated")
    assert [(e.actor_type, e.actor_id, e.after) for e in updated] == [
        ("rule", rule.id, {"priority": "high", "tags": ["refund"]})]
    await db.refresh(rule)
    assert rule.times_fired == 1
    assert rule.last_fired_at is not None


async def test_a_message_that_does_not_match_changes_nothing(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    rule = await add_rule(db, store, "Refunds", conditions=REFUND,
                          actions_=[{"type": "set_priority", "value": "high"}])

    ticket_id = await receive(db, api_channel[0], external_id="m1",
                              text="Kiedy wyślecie paczkę?")

    assert (await fresh(db, ticket_id)).priority == "normal"
    assert await audits(db, ticket_id, "rule.applied") == []
    await db.refresh(rule)
    assert rule.times_fired == 0


async def test_ticket_created_fires_on_the_first_message_only(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    created = await add_rule(db, store, "New", events=["ticket.created"],
                             actions_=[{"type": "add_tags", "tags": ["new"]}])
    every = await add_rule(db, store, "Every", events=["message.received"],
                           actions_=[{"type": "add_note", "text": "Customer wrote"}])

    ticket_id = await receive(db, api_channel[0], external_id="m1", text="Hello",
                              thread_key="order:1")
    again = await receive(db, api_channel[0], external_id="m2", text="Hello again",
                          thread_key="order:1")

    assert again == ticket_id
    fired = [e.entity_id for e in await audits(db, ticket_id, "rule.applied")]
    assert fired == [created.id, every.id, every.id]
    notes = (await db.execute(select(Message.text).where(
        Message.ticket_id == ticket_id, Message.direction == Direction.NOTE))).scalars().all()
    assert notes == ["Customer wrote", "Customer wrote"]


async def test_a_retried_inbound_job_applies_no_rule_twice(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    # given a rule that replies and tags, already run for a message
    rule = await add_rule(db, store, "Auto-reply", conditions=REFUND, actions_=[
        {"type": "reply", "text": "Dzień dobry {{ customer.first_name }}, sprawdzamy zwrot."},
        {"type": "add_tags", "tags": ["refund"]}])
    ticket_id = await receive(db, api_channel[0], external_id="m1", text="Proszę o zwrot")
    message_id = await db.scalar(select(Message.id).where(
        Message.ticket_id == ticket_id, Message.direction == Direction.INBOUND))
    assert message_id is not None

    # when the inbound job runs again for the same message (a retry)
    await inbound_received(db, message_id=message_id)
    await outbox.run_pending(db)

    # then the rule ran once: one reply, one audit, one run, counted once
    replies = (await db.execute(select(Message.text).where(
        Message.ticket_id == ticket_id, Message.direction == Direction.OUTBOUND))).scalars().all()
    assert replies == ["Dzień dobry Ewa, sprawdzamy zwrot."]
    assert len(await audits(db, ticket_id, "rule.applied")) == 1
    assert await db.scalar(select(func.count()).select_from(RuleRun)) == 1
    await db.refresh(rule)
    assert rule.times_fired == 1


async def test_two_rules_that_undo_each_other_stop_after_one_round(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    # given two rules that would ping-pong a ticket between pending and open forever
    reopen = await add_rule(db, store, "Reopen pending", events=["status.changed"],
                            conditions={"all": [leaf("ticket.status", "is", "pending")]},
                            actions_=[{"type": "set_status", "value": "open"}])
    park = await add_rule(db, store, "Park open", events=["status.changed"],
                          conditions={"all": [leaf("ticket.status", "is", "open")]},
                          actions_=[{"type": "set_status", "value": "pending"}])
    ticket_id = await receive(db, api_channel[0], external_id="m1", text="Hello")

    # when an agent sets the ticket pending
    await tickets.update_ticket(db, ticket=await fresh(db, ticket_id), actor=Actor("agent", 1),
                                changes={"status": "pending"})
    await outbox.run_pending(db)

    # then each rule fired once, in one chain, and nothing is left to run
    applied = await audits(db, ticket_id, "rule.applied")
    assert [(e.entity_id, e.after["chain"] if e.after else None) for e in applied] == [
        (reopen.id, [reopen.id]), (park.id, [reopen.id, park.id])]
    assert (await fresh(db, ticket_id)).status == "pending"
    assert await db.scalar(select(func.count()).select_from(Job)) == 0


async def test_an_event_at_the_depth_limit_fires_nothing(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    await add_rule(db, store, "Any status", events=["status.changed"],
                   actions_=[{"type": "add_tags", "tags": ["x"]}])
    ticket_id = await receive(db, api_channel[0], external_id="m1", text="Hello")
    ticket = await fresh(db, ticket_id)

    deep = engine.Occurrence(frozenset({"status.changed"}), key="k1", at=now(),
                             chain=(10**6,), depth=MAX_DEPTH)
    shallow = engine.Occurrence(frozenset({"status.changed"}), key="k2", at=now(),
                                chain=(10**6,), depth=MAX_DEPTH - 1)

    assert await engine.handle(db, ticket=ticket, occurrence=deep) == []
    assert len(await engine.handle(db, ticket=ticket, occurrence=shallow)) == 1


async def test_a_cycle_of_three_rules_ends_with_each_fired_once(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    # given rules that each move the ticket on to a status another rule reacts to, forever
    cycle = ["open", "pending", "on_hold"]
    for i in range(3):
        await add_rule(db, store, f"Step {i}", events=["status.changed"],
                       conditions={"all": [leaf("ticket.status", "is", cycle[i])]},
                       actions_=[{"type": "set_status", "value": cycle[(i + 1) % 3]},
                                 {"type": "add_note", "text": f"step {i}"}])
    ticket_id = await receive(db, api_channel[0], external_id="m1", text="Hello")

    # when an agent opens the ticket
    await tickets.update_ticket(db, ticket=await fresh(db, ticket_id), actor=Actor("agent", 1),
                                changes={"status": "open"})
    await outbox.run_pending(db)

    # then every rule fired once and the cascade ended
    fired = [e.entity_id for e in await audits(db, ticket_id, "rule.applied")]
    assert len(fired) == len(set(fired)) == 3
    assert await db.scalar(select(func.count()).select_from(Job)) == 0


async def test_status_changed_sees_the_previous_status(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    rule = await add_rule(db, store, "Solved note", events=["status.changed"], conditions={
        "all": [leaf("ticket.status", "is", "solved"),
                leaf("event.previous_status", "is", "pending")]},
        actions_=[{"type": "add_note", "text": "Solved after waiting"}])
    ticket_id = await receive(db, api_channel[0], external_id="m1", text="Hello")
    agent = Actor("agent", 1)

    await tickets.update_ticket(db, ticket=await fresh(db, ticket_id), actor=agent,
                                changes={"status": "solved"})
    await outbox.run_pending(db)
    assert await audits(db, ticket_id, "rule.applied") == []

    await tickets.update_ticket(db, ticket=await fresh(db, ticket_id), actor=agent,
                                changes={"status": "open"})
    await tickets.update_ticket(db, ticket=await fresh(db, ticket_id), actor=agent,
                                changes={"status": "pending"})
    await tickets.update_ticket(db, ticket=await fresh(db, ticket_id), actor=agent,
                                changes={"status": "solved"})
    await outbox.run_pending(db)
    assert [e.entity_id for e in await audits(db, ticket_id, "rule.applied")] == [rule.id]


async def test_sla_breach_fires_rules_for_that_target(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    # given a one-hour first response policy and a rule on its breach
    await add_policy(db, store, "All", {"first_response": minutes(60)})
    rule = await add_rule(db, store, "Breached", events=["sla.breached"],
                          conditions={"all": [leaf("event.sla_target", "is", "first_response")]},
                          actions_=[{"type": "set_priority", "value": "urgent"},
                                    {"type": "add_tags", "tags": ["sla-breached"]}])
    t0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    ticket_id = await receive(db, api_channel[0], external_id="m1", text="Hello", at=t0)

    # when the sweep finds the warning and then the breach
    await sweep.sweep(db, now=t0 + timedelta(minutes=50))
    await outbox.run_pending(db)
    warned_priority = (await fresh(db, ticket_id)).priority
    await sweep.sweep(db, now=t0 + timedelta(minutes=61))
    await outbox.run_pending(db)

    # then only the breach fired the rule
    assert warned_priority == "normal"
    assert (await fresh(db, ticket_id)).priority == "urgent"
    assert await tags_of(db, ticket_id) == ["sla-breached"]
    applied = await audits(db, ticket_id, "rule.applied")
    assert [(e.entity_id, e.after["events"] if e.after else None) for e in applied] == [
        (rule.id, ["sla.breached"])]


async def test_later_rules_see_what_earlier_rules_changed(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    await add_rule(db, store, "VIP by address", conditions={
        "all": [leaf("customer.email", "ends_with", "@vip.example")]},
        actions_=[{"type": "add_tags", "tags": ["vip"]}])
    await add_rule(db, store, "VIP urgent", conditions={
        "all": [leaf("ticket.tags", "has", "vip")]},
        actions_=[{"type": "set_priority", "value": "urgent"}])

    ticket_id = await receive(db, api_channel[0], external_id="m1", text="Hello",
                              email="boss@vip.example")

    assert (await fresh(db, ticket_id)).priority == "urgent"


async def test_inactive_rules_do_not_fire_and_edits_take_effect_at_once(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    rule = await add_rule(db, store, "Tag", is_active=False,
                          actions_=[{"type": "add_tags", "tags": ["seen"]}])
    first = await receive(db, api_channel[0], external_id="m1", text="Hello")
    assert await tags_of(db, first) == []

    await rule_actions.update_rule(db, rule=rule, actor=SYSTEM, changes={"is_active": True})
    second = await receive(db, api_channel[0], external_id="m2", text="Hi",
                           email="jan@example.pl")
    assert await tags_of(db, second) == ["seen"]

    await rule_actions.update_rule(db, rule=rule, actor=SYSTEM, changes={
        "actions": [{"type": "add_tags", "tags": ["changed"]}]})
    third = await receive(db, api_channel[0], external_id="m3", text="Hej",
                          email="ola@example.pl")
    assert await tags_of(db, third) == ["changed"]


async def test_team_assignee_status_and_tag_removal(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str], team: Team,
    agent_row: Agent,
) -> None:
    await add_rule(db, store, "Tag first", actions_=[
        {"type": "add_tags", "tags": ["triage", "keep"]}])
    await add_rule(db, store, "Route", actions_=[
        {"type": "set_team", "team_id": team.id},
        {"type": "set_assignee", "agent_id": agent_row.id},
        {"type": "set_status", "value": "pending"},
        {"type": "remove_tags", "tags": ["triage"]}])

    ticket_id = await receive(db, api_channel[0], external_id="m1", text="Hello")

    ticket = await fresh(db, ticket_id)
    assert (ticket.team_id, ticket.assignee_id, ticket.status) == (
        team.id, agent_row.id, "pending")
    assert await tags_of(db, ticket_id) == ["keep"]


async def test_an_action_that_cannot_apply_is_skipped_and_recorded(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    # given a reply naming an order the ticket does not have, and a tag
    rule = await add_rule(db, store, "Order reply", actions_=[
        {"type": "reply", "text": "Your order {{ order.number }} is on its way."},
        {"type": "add_tags", "tags": ["answered"]}])
    rule_id = rule.id  # the skipped reply rolled back, which expires loaded objects

    ticket_id = await receive(db, api_channel[0], external_id="m1", text="Where is it?")

    # then no reply with a blank went out, the tag was still added, and the skip is audited
    replies = await db.scalar(select(func.count()).select_from(Message).where(
        Message.ticket_id == ticket_id, Message.direction == Direction.OUTBOUND))
    assert replies == 0
    assert await tags_of(db, ticket_id) == ["answered"]
    applied = await audits(db, ticket_id, "rule.applied")
    assert applied[0].entity_id == rule_id
    assert applied[0].after is not None
    assert applied[0].after["actions"] == [{
        "type": "reply",
        "skipped": "no value for order.number: the reply was not sent"}]


async def test_apply_macro_and_notify(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str], agent_row: Agent,
) -> None:
    macro = await create_macro(db, store_id=store.id, actor=SYSTEM, name="Got it",
                               variants={"en": "Hello {{ customer.first_name }}, got it.",
                                         "pl": "Dzień dobry {{ customer.first_name }}."},
                               actions={"tags": ["acknowledged"], "status": "pending"})
    rule = await add_rule(db, store, "Acknowledge", actions_=[
        {"type": "apply_macro", "macro_id": macro.id, "send": True},
        {"type": "notify", "message": "Nowe zgłoszenie", "agent_ids": [agent_row.id]}])

    async with bus.subscribe(store.id) as queue:
        ticket_id = await receive(db, api_channel[0], external_id="m1",
                                  text="Dzień dobry, mam pytanie o zamówienie.")
        events: list[dict[str, Any]] = []
        while not queue.empty():
            events.append(queue.get_nowait())

    ticket = await fresh(db, ticket_id)
    assert ticket.status == "pending"
    assert await tags_of(db, ticket_id) == ["acknowledged"]
    replies = (await db.execute(select(Message.text).where(
        Message.ticket_id == ticket_id, Message.direction == Direction.OUTBOUND))).scalars().all()
    assert replies == ["Dzień dobry Ewa."]
    notices = [e for e in events if e["type"] == "rule.notification"]
    assert notices == [{"type": "rule.notification", "ticket_id": ticket_id, "rule_id": rule.id,
                        "rule": "Acknowledge", "message": "Nowe zgłoszenie",
                        "agent_ids": [agent_row.id]}]
    assert await asyncio.sleep(0) is None


async def test_a_deleted_rule_fires_no_more(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    rule = await add_rule(db, store, "Tag", actions_=[{"type": "add_tags", "tags": ["seen"]}])
    first = await receive(db, api_channel[0], external_id="m1", text="Hello")
    await rule_actions.delete_rule(db, rule=rule, actor=SYSTEM)

    second = await receive(db, api_channel[0], external_id="m2", text="Hi",
                           email="jan@example.pl")

    assert await tags_of(db, first) == ["seen"]
    assert await tags_of(db, second) == []
    assert await db.get(Rule, rule.id) is None
    assert len(await audits(db, first, "rule.applied")) == 1
    assert await db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "rule.deleted")) == 1


async def test_a_retried_status_job_applies_the_rule_once(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    # given a rule on status changes and the job a status change enqueued
    await add_rule(db, store, "Solved note", events=["status.changed"],
                   conditions={"all": [leaf("ticket.status", "is", "solved")]},
                   actions_=[{"type": "add_note", "text": "Solved"}])
    ticket_id = await receive(db, api_channel[0], external_id="m1", text="Hello")
    await tickets.update_ticket(db, ticket=await fresh(db, ticket_id), actor=Actor("agent", 1),
                                changes={"status": "solved"})
    job = (await db.execute(select(Job).where(Job.name == "rules.event"))).scalar_one()
    payload = dict(job.payload)

    # when it runs, and runs again as a retry would
    await outbox.run_pending(db)
    await rule_tasks.rule_event(db, **payload)

    # then one note, one run
    notes = await db.scalar(select(func.count()).select_from(Message).where(
        Message.ticket_id == ticket_id, Message.direction == Direction.NOTE))
    assert notes == 1
    assert len(await audits(db, ticket_id, "rule.applied")) == 1


async def test_business_hours_in_the_calendars_zone_through_the_inbound_path(
    db: AsyncSession, store: Store, api_channel: tuple[Channel, str],
) -> None:
    # given Mon-Fri 09:00-17:00 in Seoul and a rule for messages outside those hours
    seoul = await create_calendar(db, store_id=store.id, actor=SYSTEM, name="Seoul",
                                  timezone="Asia/Seoul", hours={
                                      d: [{"start": "09:00", "end": "17:00"}]
                                      for d in ("mon", "tue", "wed", "thu", "fri")})
    await add_rule(db, store, "After hours",
                   conditions={"all": [leaf("business_hours", "outside", seoul.id)]},
                   actions_=[{"type": "add_tags", "tags": ["after-hours"]}])

    # when one message comes at 10:00 in Seoul (01:00 UTC) and one at 18:00 (09:00 UTC)
    monday = datetime(2026, 11, 23, tzinfo=UTC)
    open_hours = await receive(db, api_channel[0], external_id="m1", text="안녕하세요",
                               at=monday + timedelta(hours=1), email="kim@example.kr")
    closed = await receive(db, api_channel[0], external_id="m2", text="안녕하세요",
                           at=monday + timedelta(hours=9), email="lee@example.kr")

    # then only the evening one is tagged
    assert await tags_of(db, open_hours) == []
    assert await tags_of(db, closed) == ["after-hours"]
