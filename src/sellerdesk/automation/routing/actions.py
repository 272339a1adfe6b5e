"""Writes on routing: availability, agents' and teams' routing settings, store defaults.

Each is one transaction with its audit event; drains are enqueued and live events published
only after the commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent, Team
from sellerdesk.automation.routing import engine, queries
from sellerdesk.automation.routing.errors import RoutingError
from sellerdesk.automation.routing.models import (
    AgentRouting,
    ChannelTeam,
    QueuedTicket,
    RoutingSettings,
    TeamRouting,
)
from sellerdesk.automation.routing.strategies import SEAT_STATUSES, Availability, Mode
from sellerdesk.channels.models import Channel
from sellerdesk.channels.registry import CHANNEL_TYPES
from sellerdesk.core.actor import Actor
from sellerdesk.core.clock import now
from sellerdesk.core.db import commit, dialect_name
from sellerdesk.core.errors import Conflict, Invalid, NotFound
from sellerdesk.jobs import outbox
from sellerdesk.tickets import audit
from sellerdesk.tickets.events import publish_after_commit
from sellerdesk.tickets.models import Ticket

SKILL_MAX = 64


def _channel_types(values: Iterable[str], field: str) -> None:
    for value in values:
        if value not in CHANNEL_TYPES:
            raise Invalid(RoutingError.UNKNOWN_CHANNEL_TYPE,
                          f"{value[:40]!r} is not a channel type "
                          f"(use {', '.join(CHANNEL_TYPES)})", field=f"{field}.{value[:40]}")


def check_capacities(values: Mapping[str, int | None], *, field: str = "capacities"
                     ) -> dict[str, int | None]:
    _channel_types(values, field)
    return {k: values[k] for k in sorted(values)}


def check_skills(values: Iterable[str]) -> list[str]:
    """Skills are spelled like tags (they match a ticket's tags and marketplace)."""
    skills: list[str] = []
    for i, value in enumerate(values):
        skill = " ".join(value.strip().casefold().split())
        if not skill or len(skill) > SKILL_MAX or "," in skill:
            raise Invalid(RoutingError.INVALID_SKILL,
                          f"skill {value[:70]!r} must be 1-{SKILL_MAX} characters without commas",
                          field=f"skills.{i}")
        if skill not in skills:
            skills.append(skill)
    return skills


def check_languages(values: Iterable[str]) -> list[str]:
    languages: list[str] = []
    for i, value in enumerate(values):
        code = value.strip().lower()
        if not (2 <= len(code) <= 3 and code.isascii() and code.isalpha()):
            raise Invalid(RoutingError.INVALID_LANGUAGE,
                          f"{value[:20]!r} is not a language code such as ko, pl or en",
                          field=f"languages.{i}")
        if code not in languages:
            languages.append(code)
    return languages


async def _agent_row(db: AsyncSession, agent: Agent) -> AgentRouting:
    """The agent's routing row, created if missing, locked for this transaction."""
    values = {"agent_id": agent.id, "store_id": agent.store_id,
              "availability": Availability.OFFLINE.value, "languages": [], "skills": [],
              "capacities": {}, "updated_at": now()}
    stmt = (postgresql.insert(AgentRouting) if dialect_name(db) == "postgresql"
            else sqlite.insert(AgentRouting))
    await db.execute(stmt.values(**values).on_conflict_do_nothing(index_elements=["agent_id"]))
    return (await db.execute(
        select(AgentRouting).where(AgentRouting.agent_id == agent.id).with_for_update()
        .execution_options(populate_existing=True)
    )).scalar_one()


async def set_availability(db: AsyncSession, *, agent_id: int, status: str, actor: Actor
                           ) -> AgentRouting:
    """Online, away or offline. Only online agents get new tickets; going online serves the
    queues of their teams; going offline sends their open tickets on live channel types (the
    store's `reroute_on_offline`, chat by default) back to routing. Email and other
    asynchronous tickets stay with their agent, who answers when back."""
    try:
        target = Availability(status)
    except ValueError:
        allowed = ", ".join(a.value for a in Availability)
        raise Invalid(RoutingError.INVALID_AVAILABILITY,
                      f"availability must be one of {allowed}", field="availability") from None
    agent = await db.get(Agent, agent_id)
    if agent is None:
        raise NotFound(RoutingError.AGENT_NOT_FOUND, f"agent {agent_id} not found",
                       field="agent_id")
    if target != Availability.OFFLINE and not agent.is_active:
        raise Invalid(RoutingError.INACTIVE_AGENT,
                      f"agent {agent_id} is deactivated and cannot go {target.value}",
                      field="availability")
    row = await _agent_row(db, agent)
    before = row.availability
    if before == target:
        await commit(db)
        return row
    stamp = now()
    row.availability, row.availability_changed_at, row.updated_at = target.value, stamp, stamp
    audit.record(db, store_id=agent.store_id, actor=actor, entity_type="agent",
                 entity_id=agent.id, action="agent.availability_changed",
                 before={"availability": before}, after={"availability": target.value})
    if target == Availability.OFFLINE:
        defaults = await queries.store_defaults(db, store_id=agent.store_id)
        await engine.release(db, agent_id=agent.id, store_id=agent.store_id,
                             channel_types=defaults.reroute_on_offline)
    elif target == Availability.ONLINE:
        outbox.enqueue(db, "routing.agent_freed", agent_id=agent.id)
    publish_after_commit(db, agent.store_id, {"type": "agent.availability_changed",
                                              "agent_id": agent.id,
                                              "availability": target.value})
    await commit(db)
    return row


async def update_agent_routing(db: AsyncSession, *, agent: Agent, actor: Actor,
                               changes: Mapping[str, Any]) -> AgentRouting:
    """Languages, skills and capacity overrides (a capacity of null: unlimited; a channel type
    left out of `capacities`: the store's default)."""
    values: dict[str, Any] = {}
    if "languages" in changes:
        values["languages"] = check_languages(changes["languages"] or [])
    if "skills" in changes:
        values["skills"] = check_skills(changes["skills"] or [])
    if "capacities" in changes:
        values["capacities"] = check_capacities(changes["capacities"] or {})
    row = await _agent_row(db, agent)
    before = {k: getattr(row, k) for k in values}
    old, new = audit.diff(before, values)
    if new:
        for key, value in new.items():
            setattr(row, key, value)
        row.updated_at = now()
        audit.record(db, store_id=agent.store_id, actor=actor, entity_type="agent",
                     entity_id=agent.id, action="agent.routing_updated", before=old, after=new)
        # More seats or new languages may let this agent take someone waiting.
        outbox.enqueue(db, "routing.agent_freed", agent_id=agent.id)
    await commit(db)
    return row


async def _check_channels(db: AsyncSession, team: Team, channel_ids: list[int]) -> list[int]:
    wanted = sorted(set(channel_ids))
    found = set((await db.execute(
        select(Channel.id).where(Channel.store_id == team.store_id, Channel.id.in_(wanted))
    )).scalars())
    for channel_id in wanted:
        if channel_id not in found:
            raise Invalid(RoutingError.UNKNOWN_CHANNEL, f"no channel {channel_id} in this store",
                          field="channel_ids")
    taken = (await db.execute(
        select(ChannelTeam.channel_id, ChannelTeam.team_id)
        .where(ChannelTeam.channel_id.in_(wanted), ChannelTeam.team_id != team.id)
    )).first()
    if taken is not None:
        raise Conflict(RoutingError.CHANNEL_TAKEN,
                       f"channel {taken[0]} already feeds team {taken[1]}; take it off that "
                       "team first", field="channel_ids")
    return wanted


async def update_team_routing(db: AsyncSession, *, team: Team, actor: Actor,
                              changes: Mapping[str, Any]) -> TeamRouting:
    """The team's mode and the channels whose new tickets enter it. Turning routing on
    queues the team's waiting tickets and serves them; turning it off empties the queue."""
    channel_ids = (await _check_channels(db, team, list(changes["channel_ids"] or []))
                   if "channel_ids" in changes else None)
    stmt = (postgresql.insert(TeamRouting) if dialect_name(db) == "postgresql"
            else sqlite.insert(TeamRouting))
    await db.execute(stmt.values(team_id=team.id, store_id=team.store_id,
                                 mode=Mode.MANUAL.value, updated_at=now())
                     .on_conflict_do_nothing(index_elements=["team_id"]))
    row = (await db.execute(
        select(TeamRouting).where(TeamRouting.team_id == team.id).with_for_update()
        .execution_options(populate_existing=True)
    )).scalar_one()
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    if "mode" in changes and changes["mode"] is not None:
        mode = Mode(changes["mode"])
        if mode != row.mode:
            old["mode"], new["mode"] = row.mode, mode.value
            row.mode = mode.value
            await _mode_changed(db, team, mode)
    if channel_ids is not None:
        current = sorted((await db.execute(
            select(ChannelTeam.channel_id).where(ChannelTeam.team_id == team.id)
        )).scalars())
        if current != channel_ids:
            old["channel_ids"], new["channel_ids"] = current, channel_ids
            await db.execute(delete(ChannelTeam).where(ChannelTeam.team_id == team.id))
            for channel_id in channel_ids:
                db.add(ChannelTeam(channel_id=channel_id, store_id=team.store_id,
                                   team_id=team.id))
    if new:
        row.updated_at = now()
        audit.record(db, store_id=team.store_id, actor=actor, entity_type="team",
                     entity_id=team.id, action="team.routing_updated", before=old, after=new)
    await commit(db)
    return row


async def _mode_changed(db: AsyncSession, team: Team, mode: Mode) -> None:
    if mode == Mode.MANUAL:
        await db.execute(delete(QueuedTicket).where(QueuedTicket.team_id == team.id))
        return
    queued = select(QueuedTicket.ticket_id).where(QueuedTicket.ticket_id == Ticket.id)
    waiting = (
        select(Ticket.id, Ticket.store_id, Ticket.team_id, Ticket.created_at)
        .where(Ticket.store_id == team.store_id, Ticket.team_id == team.id,
               Ticket.assignee_id.is_(None), Ticket.status.in_(SEAT_STATUSES),
               Ticket.merged_into_id.is_(None), ~queued.exists())
    )
    await db.execute(insert(QueuedTicket).from_select(
        ["ticket_id", "store_id", "team_id", "queued_at"], waiting))
    outbox.enqueue(db, "routing.drain", team_id=team.id)


async def update_settings(db: AsyncSession, *, store_id: int, actor: Actor,
                          changes: Mapping[str, Any]) -> queries.StoreDefaults:
    """The store's default capacities and the channel types re-routed when an agent leaves."""
    current = await queries.store_defaults(db, store_id=store_id)
    values: dict[str, Any] = {"capacities": current.capacities,
                              "reroute_on_offline": list(current.reroute_on_offline)}
    if changes.get("capacities") is not None:
        values["capacities"] = check_capacities(changes["capacities"])
    if changes.get("reroute_on_offline") is not None:
        _channel_types(changes["reroute_on_offline"], "reroute_on_offline")
        values["reroute_on_offline"] = sorted(set(changes["reroute_on_offline"]))
    old, new = audit.diff({"capacities": current.capacities,
                           "reroute_on_offline": list(current.reroute_on_offline)}, values)
    if new:
        row = await db.get(RoutingSettings, store_id)
        if row is None:
            row = RoutingSettings(store_id=store_id)
            db.add(row)
        row.capacities, row.reroute_on_offline = values["capacities"], values["reroute_on_offline"]
        row.updated_at = now()
        audit.record(db, store_id=store_id, actor=actor, entity_type="store", entity_id=store_id,
                     action="routing.settings_updated", before=old, after=new)
        if "capacities" in new:
            for team_id in await _store_queues(db, store_id):
                outbox.enqueue(db, "routing.drain", team_id=team_id)
    await commit(db)
    return await queries.store_defaults(db, store_id=store_id)


async def _store_queues(db: AsyncSession, store_id: int) -> list[int]:
    rows = await db.execute(select(QueuedTicket.team_id).distinct()
                            .where(QueuedTicket.store_id == store_id))
    return sorted(rows.scalars())
