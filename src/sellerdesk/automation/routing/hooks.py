"""What a ticket change means for routing, called by the ticket actions (no commit)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import TeamMember
from sellerdesk.automation.routing.models import QueuedTicket, TeamRouting
from sellerdesk.automation.routing.strategies import SEAT_STATUSES, Mode
from sellerdesk.jobs import outbox
from sellerdesk.tickets.models import Ticket

_FIELDS = frozenset({"assignee_id", "status", "team_id"})


async def ticket_changed(db: AsyncSession, *, ticket: Ticket, before: Mapping[str, Any],
                         after: Mapping[str, Any]) -> None:
    """After a change, given the changed fields' old and new values: a seat freed lets the
    previous assignee's teams serve their queues; a ticket that now waits in a routed team
    (moved there, unassigned, reopened) is routed. Stores that don't route get no jobs."""
    if not _FIELDS & after.keys():
        return
    old_assignee = before.get("assignee_id") if "assignee_id" in after else ticket.assignee_id
    old_status = before.get("status") if "status" in after else ticket.status
    if (old_assignee is not None and old_status in SEAT_STATUSES
            and (ticket.assignee_id != old_assignee or ticket.status not in SEAT_STATUSES)
            and await _someone_waits(db, old_assignee)):
        outbox.enqueue(db, "routing.agent_freed", agent_id=old_assignee)
    now_waits = (ticket.assignee_id is None and ticket.team_id is not None
                 and ticket.status in SEAT_STATUSES)
    became = ("team_id" in after or "assignee_id" in after
              or ("status" in after and old_status not in SEAT_STATUSES))
    if now_waits and became and await _routed(db, ticket.team_id):
        outbox.enqueue(db, "routing.route", ticket_id=ticket.id)


async def _someone_waits(db: AsyncSession, agent_id: int) -> bool:
    """Whether a team of the agent has a queue (the periodic drain covers a race with this)."""
    found = await db.scalar(
        select(QueuedTicket.ticket_id)
        .join(TeamMember, TeamMember.team_id == QueuedTicket.team_id)
        .where(TeamMember.agent_id == agent_id).limit(1))
    return found is not None


async def _routed(db: AsyncSession, team_id: int | None) -> bool:
    mode = await db.scalar(select(TeamRouting.mode).where(TeamRouting.team_id == team_id))
    return mode is not None and mode != Mode.MANUAL
