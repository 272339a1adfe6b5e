"""HTTP routes for macros: CRUD (admins), preview and apply on a ticket (agents). Thin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from sellerdesk.accounts.permissions import Permission, Principal, require
from sellerdesk.api.deps import CanReadTickets, CanUpdateTickets, SessionDep, permitted
from sellerdesk.automation.macros import actions, queries
from sellerdesk.automation.macros.models import Macro
from sellerdesk.automation.macros.schemas import (
    MacroApplyIn,
    MacroApplyRead,
    MacroCreate,
    MacroPreviewIn,
    MacroPreviewRead,
    MacroRead,
    MacroUpdate,
)
from sellerdesk.core.ids import IdPath
from sellerdesk.tickets.queries import get_ticket, ticket_tag_names
from sellerdesk.tickets.schemas import TicketRead

router = APIRouter(tags=["macros"])

CanManageMacros = Annotated[Principal, Depends(permitted(Permission.SETTINGS_MANAGE))]


@router.get("/macros", response_model=list[MacroRead])
async def list_macros(db: SessionDep, principal: CanReadTickets) -> list[Macro]:
    return await queries.list_macros(db, store_id=principal.store_id)


@router.post("/macros", response_model=MacroRead, status_code=status.HTTP_201_CREATED)
async def create_macro(body: MacroCreate, db: SessionDep, principal: CanManageMacros) -> Macro:
    return await actions.create_macro(
        db, store_id=principal.store_id, actor=principal.actor, name=body.name,
        description=body.description, variants=body.variants,
        actions=body.actions.model_dump(mode="json", exclude_none=True),
    )


@router.get("/macros/{macro_id}", response_model=MacroRead)
async def get_macro(macro_id: IdPath, db: SessionDep, principal: CanReadTickets) -> Macro:
    return await queries.get_macro(db, store_id=principal.store_id, macro_id=macro_id)


@router.patch("/macros/{macro_id}", response_model=MacroRead)
async def update_macro(
    macro_id: IdPath, body: MacroUpdate, db: SessionDep, principal: CanManageMacros
) -> Macro:
    macro = await queries.get_macro(db, store_id=principal.store_id, macro_id=macro_id)
    return await actions.update_macro(db, macro=macro, actor=principal.actor,
                                      changes=body.changes())


@router.delete("/macros/{macro_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_macro(macro_id: IdPath, db: SessionDep, principal: CanManageMacros
                       ) -> Response:
    macro = await queries.get_macro(db, store_id=principal.store_id, macro_id=macro_id)
    await actions.delete_macro(db, macro=macro, actor=principal.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/macros/{macro_id}/preview", response_model=MacroPreviewRead)
async def preview_macro(
    macro_id: IdPath, body: MacroPreviewIn, db: SessionDep, principal: CanReadTickets
) -> MacroPreviewRead:
    macro = await queries.get_macro(db, store_id=principal.store_id, macro_id=macro_id)
    ticket = await get_ticket(db, store_id=principal.store_id, ticket_id=body.ticket_id)
    result = await queries.preview(db, macro=macro, ticket=ticket,
                                   agent_id=principal.agent_id, values=body.values)
    return MacroPreviewRead(language=result.language, text=result.text,
                            missing=list(result.missing))


@router.post("/tickets/{ticket_id}/macros/{macro_id}/apply", response_model=MacroApplyRead)
async def apply_macro(
    ticket_id: IdPath, macro_id: IdPath, body: MacroApplyIn, db: SessionDep,
    principal: CanUpdateTickets,
) -> MacroApplyRead:
    if body.send:
        require(principal, Permission.TICKET_REPLY)
    ticket = await get_ticket(db, store_id=principal.store_id, ticket_id=ticket_id)
    macro = await queries.get_macro(db, store_id=principal.store_id, macro_id=macro_id)
    applied = await actions.apply_macro(
        db, macro=macro, ticket=ticket, actor=principal.actor, agent_id=principal.agent_id,
        values=body.values, send=body.send,
    )
    read = TicketRead.model_validate(applied.ticket)
    read.tags = await ticket_tag_names(db, ticket_id=applied.ticket.id)
    return MacroApplyRead(
        language=applied.preview.language, text=applied.preview.text,
        missing=list(applied.preview.missing),
        message_id=applied.message.id if applied.message is not None else None, ticket=read,
    )
