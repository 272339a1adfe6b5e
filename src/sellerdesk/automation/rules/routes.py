"""HTTP routes for rules: CRUD, order and dry-run, all for those who manage settings. Thin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from sellerdesk.accounts.permissions import Permission, Principal
from sellerdesk.api.deps import SessionDep, permitted
from sellerdesk.automation.rules import actions, queries
from sellerdesk.automation.rules.models import Rule
from sellerdesk.automation.rules.schemas import (
    DryRunIn,
    DryRunMatchRead,
    DryRunRead,
    RuleCreate,
    RuleOrder,
    RuleRead,
    RuleUpdate,
    SavedDryRunIn,
)
from sellerdesk.core.ids import IdPath

router = APIRouter(tags=["rules"])

# Rules hold webhook secrets and act on every ticket: settings, like SLA policies and macros.
CanManageRules = Annotated[Principal, Depends(permitted(Permission.SETTINGS_MANAGE))]


def _read(rule: Rule) -> RuleRead:
    read = RuleRead.model_validate(rule)
    read.actions = actions.redacted(rule.actions)
    return read


def _dry_run_read(result: queries.DryRun) -> DryRunRead:
    return DryRunRead(examined=result.examined, matched=[
        DryRunMatchRead(ticket_id=m.ticket.id, subject=m.ticket.subject,
                        status=m.ticket.status, actions=m.actions)
        for m in result.matches])


@router.get("/rules", response_model=list[RuleRead])
async def list_rules(db: SessionDep, principal: CanManageRules) -> list[RuleRead]:
    return [_read(r) for r in await queries.list_rules(db, store_id=principal.store_id)]


@router.post("/rules", response_model=RuleRead, status_code=status.HTTP_201_CREATED)
async def create_rule(body: RuleCreate, db: SessionDep, principal: CanManageRules) -> RuleRead:
    rule = await actions.create_rule(
        db, store_id=principal.store_id, actor=principal.actor, name=body.name,
        description=body.description, is_active=body.is_active, position=body.position,
        events=body.events, conditions_tree=body.conditions, actions=body.actions,
    )
    return _read(rule)


@router.put("/rules/order", response_model=list[RuleRead])
async def reorder_rules(body: RuleOrder, db: SessionDep, principal: CanManageRules
                        ) -> list[RuleRead]:
    rows = await actions.reorder_rules(db, store_id=principal.store_id, actor=principal.actor,
                                       ids=body.ids)
    return [_read(r) for r in rows]


@router.post("/rules/dry-run", response_model=DryRunRead)
async def dry_run(body: DryRunIn, db: SessionDep, principal: CanManageRules) -> DryRunRead:
    definition = await actions.check_definition(
        db, store_id=principal.store_id, events=body.events, conditions_tree=body.conditions,
        actions=body.actions, require_actions=False)
    result = await queries.dry_run(db, store_id=principal.store_id,
                                   conditions=definition.conditions,
                                   actions=definition.actions, limit=body.limit)
    return _dry_run_read(result)


@router.get("/rules/{rule_id}", response_model=RuleRead)
async def get_rule(rule_id: IdPath, db: SessionDep, principal: CanManageRules) -> RuleRead:
    return _read(await queries.get_rule(db, store_id=principal.store_id, rule_id=rule_id))


@router.patch("/rules/{rule_id}", response_model=RuleRead)
async def update_rule(rule_id: IdPath, body: RuleUpdate, db: SessionDep,
                      principal: CanManageRules) -> RuleRead:
    rule = await queries.get_rule(db, store_id=principal.store_id, rule_id=rule_id)
    return _read(await actions.update_rule(db, rule=rule, actor=principal.actor,
                                           changes=body.changes()))


@router.delete("/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(rule_id: IdPath, db: SessionDep, principal: CanManageRules) -> Response:
    rule = await queries.get_rule(db, store_id=principal.store_id, rule_id=rule_id)
    await actions.delete_rule(db, rule=rule, actor=principal.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/rules/{rule_id}/dry-run", response_model=DryRunRead)
async def dry_run_saved(rule_id: IdPath, body: SavedDryRunIn, db: SessionDep,
                        principal: CanManageRules) -> DryRunRead:
    rule = await queries.get_rule(db, store_id=principal.store_id, rule_id=rule_id)
    result = await queries.dry_run(db, store_id=principal.store_id, conditions=rule.conditions,
                                   actions=rule.actions, limit=body.limit)
    return _dry_run_read(result)
