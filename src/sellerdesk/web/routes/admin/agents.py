"""Agents: the list, invitations by email, roles, deactivation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from sellerdesk.accounts import actions, queries
from sellerdesk.accounts.models import Agent
from sellerdesk.accounts.permissions import Permission, Role
from sellerdesk.api.deps import SessionDep
from sellerdesk.automation.routing.actions import set_availability
from sellerdesk.channels.email.notices import sending_account
from sellerdesk.core.errors import AppError
from sellerdesk.core.ids import IdPath
from sellerdesk.web.routes.admin.common import Text, admin_page, error_text, refuse
from sellerdesk.web.session import CurrentUser, WebUser

router = APIRouter()

_DONE = {"invited", "role", "deactivated", "reactivated", "resent"}


async def _page(request: Request, db: SessionDep, user: WebUser, *, status_code: int = 200,
                **context: Any) -> Response:
    agents = await queries.store_agents(db, store_id=user.store.id)
    owners = sum(1 for a in agents if a.role == Role.OWNER.value and a.is_active)
    done = request.query_params.get("done")
    invite = context.pop("invite", None) or {"email": "", "name": "", "role": Role.AGENT.value,
                                             "language": user.store.default_language}
    can_mail = await sending_account(db, store_id=user.store.id) is not None
    return admin_page(request, user, "admin/agents.html", {
        "agents": agents, "owners": owners, "invite": invite, "can_mail": can_mail,
        "done": done if done in _DONE else None,
        "grantable": [r for r in Role if r != Role.OWNER or user.agent.role == Role.OWNER.value],
        **context}, status_code=status_code)


@router.get("/agents")
async def agents_list(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    user.require(Permission.AGENTS_MANAGE)
    return await _page(request, db, user)


def _role(value: str) -> Role:
    return actions.parse_role(value)


@router.post("/agents")
async def agent_invite(request: Request, db: SessionDep, user: CurrentUser, email: Text = "",
                       name: Text = "", role: Text = "", language: Text = "") -> Response:
    user.require(Permission.AGENTS_MANAGE)
    try:
        await actions.invite_agent(db, store_id=user.store.id, email=email, name=name,
                                   role=_role(role), language=language, by=user.principal)
    except AppError as exc:
        refuse(exc)
        invite = {"email": email, "name": name, "role": role, "language": language}
        return await _page(request, db, user, status_code=exc.status_code, invite=invite,
                           invite_error=error_text(user.page, exc, value=email),
                           error_field=exc.field)
    return RedirectResponse("/admin/agents?done=invited", status_code=303)


async def _change(request: Request, db: SessionDep, user: WebUser, agent_id: int,
                  done: str, change: Any) -> Response:
    try:
        await change
    except AppError as exc:
        refuse(exc)
        return await _page(request, db, user, status_code=exc.status_code,
                           row_error=(agent_id, error_text(user.page, exc)))
    return RedirectResponse(f"/admin/agents?done={done}#agent-{agent_id}", status_code=303)


@router.post("/agents/{agent_id}/role")
async def agent_role(request: Request, db: SessionDep, user: CurrentUser, agent_id: IdPath,
                     role: Text = "") -> Response:
    user.require(Permission.AGENTS_MANAGE)
    await queries.get_agent(db, store_id=user.store.id, agent_id=agent_id)
    try:
        new_role = _role(role)
    except AppError as exc:
        return await _page(request, db, user, status_code=exc.status_code,
                           row_error=(agent_id, error_text(user.page, exc)))
    return await _change(request, db, user, agent_id, "role", actions.change_role(
        db, store_id=user.store.id, agent_id=agent_id, role=new_role, by=user.principal))


@router.post("/agents/{agent_id}/active")
async def agent_active(request: Request, db: SessionDep, user: CurrentUser, agent_id: IdPath,
                       active: Text = "") -> Response:
    user.require(Permission.AGENTS_MANAGE)
    if active not in ("0", "1"):
        await queries.get_agent(db, store_id=user.store.id, agent_id=agent_id)
        return await _page(request, db, user, status_code=422,
                           row_error=(agent_id, user.page._("That did not work")))
    on = active == "1"

    async def change() -> Agent:
        agent = await actions.set_agent_active(db, store_id=user.store.id, agent_id=agent_id,
                                               active=on, by=user.principal)
        if not on:
            # Off duty for routing too: their live chats go back to the team's queue.
            await set_availability(db, agent_id=agent.id, status="offline",
                                   actor=user.principal.actor)
        return agent

    return await _change(request, db, user, agent_id, "reactivated" if on else "deactivated",
                         change())


@router.post("/agents/{agent_id}/invitation")
async def agent_reinvite(request: Request, db: SessionDep, user: CurrentUser,
                         agent_id: IdPath) -> Response:
    user.require(Permission.AGENTS_MANAGE)
    return await _change(request, db, user, agent_id, "resent", actions.resend_invitation(
        db, store_id=user.store.id, agent_id=agent_id, by=user.principal))
