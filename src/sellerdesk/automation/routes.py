"""HTTP routes for calendars, SLA policies and a ticket's SLA state (thin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status

from sellerdesk.accounts.permissions import Permission, Principal
from sellerdesk.api.deps import CanReadTickets, SessionDep, permitted
from sellerdesk.automation import actions, queries
from sellerdesk.automation.defaults import install_default_sla
from sellerdesk.automation.models import Calendar, SlaPolicy
from sellerdesk.automation.schemas import (
    CalendarCreate,
    CalendarRead,
    CalendarUpdate,
    PolicyCreate,
    PolicyOrder,
    PolicyRead,
    PolicyUpdate,
    TargetRead,
    TicketSlaRead,
    WarningIO,
)
from sellerdesk.core.clock import now
from sellerdesk.core.ids import IdPath
from sellerdesk.tickets.queries import get_ticket

router = APIRouter(tags=["sla"])

CanManageSettings = Annotated[Principal, Depends(permitted(Permission.SETTINGS_MANAGE))]


# --- calendars ---------------------------------------------------------------------------------

@router.get("/calendars", response_model=list[CalendarRead])
async def list_calendars(db: SessionDep, principal: CanReadTickets) -> list[Calendar]:
    return await queries.list_calendars(db, store_id=principal.store_id)


@router.post("/calendars", response_model=CalendarRead, status_code=status.HTTP_201_CREATED)
async def create_calendar(
    body: CalendarCreate, db: SessionDep, principal: CanManageSettings
) -> Calendar:
    data = body.model_dump(mode="json")
    return await actions.create_calendar(
        db, store_id=principal.store_id, actor=principal.actor, name=body.name,
        timezone=body.timezone, hours=data["hours"], holidays=data["holidays"],
    )


@router.get("/calendars/{calendar_id}", response_model=CalendarRead)
async def get_calendar(calendar_id: IdPath, db: SessionDep, principal: CanReadTickets
                       ) -> Calendar:
    return await queries.get_calendar(db, store_id=principal.store_id, calendar_id=calendar_id)


@router.patch("/calendars/{calendar_id}", response_model=CalendarRead)
async def update_calendar(
    calendar_id: IdPath, body: CalendarUpdate, db: SessionDep, principal: CanManageSettings
) -> Calendar:
    calendar = await queries.get_calendar(db, store_id=principal.store_id,
                                          calendar_id=calendar_id)
    return await actions.update_calendar(db, calendar=calendar, actor=principal.actor,
                                         changes=body.changes())


@router.delete("/calendars/{calendar_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_calendar(calendar_id: IdPath, db: SessionDep, principal: CanManageSettings
                          ) -> Response:
    calendar = await queries.get_calendar(db, store_id=principal.store_id,
                                          calendar_id=calendar_id)
    await actions.delete_calendar(db, calendar=calendar, actor=principal.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- policies ----------------------------------------------------------------------------------

def _policy_read(row: SlaPolicy) -> PolicyRead:
    warning = None
    if row.warn_percent is not None or row.warn_minutes_before is not None:
        warning = WarningIO(percent=row.warn_percent, minutes_before=row.warn_minutes_before)
    return PolicyRead.model_validate({
        "id": row.id, "name": row.name, "position": row.position, "is_active": row.is_active,
        "conditions": row.conditions, "targets": row.targets, "calendar_id": row.calendar_id,
        "pause_on": row.pause_on, "warning": warning, "created_at": row.created_at,
        "updated_at": row.updated_at,
    })


def _settings(data: dict[str, Any]) -> dict[str, Any]:
    """API fields → action arguments: `warning` becomes warn_percent / warn_minutes_before."""
    if "warning" in data:
        warning = data.pop("warning") or {}
        data["warn_percent"] = warning.get("percent")
        data["warn_minutes_before"] = warning.get("minutes_before")
    return data


@router.get("/sla/policies", response_model=list[PolicyRead])
async def list_policies(db: SessionDep, principal: CanReadTickets) -> list[PolicyRead]:
    return [_policy_read(p) for p in await queries.list_policies(db, store_id=principal.store_id)]


@router.post("/sla/policies", response_model=PolicyRead, status_code=status.HTTP_201_CREATED)
async def create_policy(body: PolicyCreate, db: SessionDep, principal: CanManageSettings
                        ) -> PolicyRead:
    data = _settings(body.model_dump(mode="json"))
    policy = await actions.create_policy(db, store_id=principal.store_id, actor=principal.actor,
                                         **data)
    return _policy_read(policy)


@router.put("/sla/policies/order", response_model=list[PolicyRead])
async def reorder_policies(body: PolicyOrder, db: SessionDep, principal: CanManageSettings
                           ) -> list[PolicyRead]:
    rows = await actions.reorder_policies(db, store_id=principal.store_id, actor=principal.actor,
                                          ids=body.ids)
    return [_policy_read(p) for p in rows]


@router.post("/sla/defaults", response_model=list[PolicyRead],
             status_code=status.HTTP_201_CREATED)
async def install_defaults(db: SessionDep, principal: CanManageSettings) -> list[PolicyRead]:
    """An office-hours calendar and starter policies (Amazon/eBay 24 h, chat 1 min, email 4
    business hours, ...); refused when the store has policies."""
    rows = await install_default_sla(db, store_id=principal.store_id, actor=principal.actor)
    return [_policy_read(p) for p in rows]


@router.get("/sla/policies/{policy_id}", response_model=PolicyRead)
async def get_policy(policy_id: IdPath, db: SessionDep, principal: CanReadTickets) -> PolicyRead:
    return _policy_read(await queries.get_policy(db, store_id=principal.store_id,
                                                 policy_id=policy_id))


@router.patch("/sla/policies/{policy_id}", response_model=PolicyRead)
async def update_policy(
    policy_id: IdPath, body: PolicyUpdate, db: SessionDep, principal: CanManageSettings
) -> PolicyRead:
    policy = await queries.get_policy(db, store_id=principal.store_id, policy_id=policy_id)
    policy = await actions.update_policy(db, policy=policy, actor=principal.actor,
                                         changes=_settings(body.changes()))
    return _policy_read(policy)


@router.delete("/sla/policies/{policy_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_policy(policy_id: IdPath, db: SessionDep, principal: CanManageSettings
                        ) -> Response:
    policy = await queries.get_policy(db, store_id=principal.store_id, policy_id=policy_id)
    await actions.delete_policy(db, policy=policy, actor=principal.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- a ticket's SLA ----------------------------------------------------------------------------

@router.get("/tickets/{ticket_id}/sla", response_model=TicketSlaRead)
async def ticket_sla(ticket_id: IdPath, db: SessionDep, principal: CanReadTickets
                     ) -> TicketSlaRead:
    ticket = await get_ticket(db, store_id=principal.store_id, ticket_id=ticket_id)
    view = await queries.ticket_sla(db, ticket_id=ticket.id)
    at = now()
    targets = []
    for t in view.targets:
        clock = view.clocks.get(t.calendar_id) or view.clocks[None]
        elapsed = t.elapsed_at(at, clock)
        targets.append(TargetRead(
            kind=t.kind, state=t.state, goal_minutes=t.goal.total_seconds() / 60,
            business_hours=t.calendar_id is not None, calendar_id=t.calendar_id,
            started_at=t.started_at, due_at=t.due_at, warn_at=t.warn_at,
            elapsed_seconds=elapsed.total_seconds(),
            remaining_seconds=(t.goal - elapsed).total_seconds(),
            paused_seconds=t.paused.total_seconds(), paused_since=t.paused_since,
            completed_at=t.completed_at, warned_at=t.warned_at, breached_at=t.breached_at,
        ))
    return TicketSlaRead(
        ticket_id=ticket.id, policy_id=view.state.policy_id if view.state else None,
        policy_name=view.state.policy_name if view.state else None,
        sla_due_at=ticket.sla_due_at, targets=targets,
    )
