"""Teams: create, rename, set the customer language, add and remove members."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from sellerdesk.accounts import actions, queries
from sellerdesk.accounts.permissions import Permission
from sellerdesk.api.deps import SessionDep
from sellerdesk.core.errors import AppError
from sellerdesk.core.ids import MAX_ID, IdPath
from sellerdesk.web.routes.admin.common import Text, admin_page, error_text, refuse
from sellerdesk.web.session import CurrentUser, WebUser

router = APIRouter()


async def _page(request: Request, db: SessionDep, user: WebUser, *, status_code: int = 200,
                **context: Any) -> Response:
    teams = await queries.store_teams(db, store_id=user.store.id)
    agents = await queries.store_agents(db, store_id=user.store.id)
    members = await queries.team_members(db, store_id=user.store.id)
    return admin_page(request, user, "admin/teams.html", {
        "teams": teams, "agents": {a.id: a for a in agents}, "agent_list": agents,
        "members": members, "saved": request.query_params.get("saved") == "1",
        "new_team": context.pop("new_team", {"name": "", "language": ""}), **context},
        status_code=status_code)


@router.get("/teams")
async def teams_list(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    user.require(Permission.AGENTS_MANAGE)
    return await _page(request, db, user)


@router.post("/teams")
async def team_create(request: Request, db: SessionDep, user: CurrentUser, name: Text = "",
                      language: Text = "") -> Response:
    user.require(Permission.AGENTS_MANAGE)
    try:
        team_name = actions.check_name(name, limit=100)
        team_language = actions.check_team_language(language)
        team = await actions.create_team(db, store_id=user.store.id, name=team_name,
                                         language=team_language, actor=user.principal.actor)
    except AppError as exc:
        refuse(exc)
        return await _page(request, db, user, status_code=exc.status_code,
                           new_team={"name": name, "language": language},
                           create_error=_team_error(user, exc, language))
    return RedirectResponse(f"/admin/teams?saved=1#team-{team.id}", status_code=303)


def _team_error(user: WebUser, exc: AppError, language: str) -> str:
    if exc.code == "account.invalid_language":
        return user.page._("Enter a language code such as ko, pl or en, or leave it empty.")
    return error_text(user.page, exc, value=language)


@router.post("/teams/{team_id}")
async def team_update(request: Request, db: SessionDep, user: CurrentUser, team_id: IdPath,
                      name: Text = "", language: Text = "") -> Response:
    user.require(Permission.AGENTS_MANAGE)
    try:
        await actions.update_team(db, store_id=user.store.id, team_id=team_id, name=name,
                                  language=language, actor=user.principal.actor)
    except AppError as exc:
        refuse(exc)
        return await _page(request, db, user, status_code=exc.status_code,
                           row_error=(team_id, _team_error(user, exc, language)))
    return RedirectResponse(f"/admin/teams?saved=1#team-{team_id}", status_code=303)


def _agent_id(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID \
        else None


@router.post("/teams/{team_id}/members")
async def team_add(request: Request, db: SessionDep, user: CurrentUser, team_id: IdPath,
                   agent_id: Text = "") -> Response:
    return await _membership(request, db, user, team_id, agent_id, member=True)


@router.post("/teams/{team_id}/members/{agent_id}/remove")
async def team_remove(request: Request, db: SessionDep, user: CurrentUser, team_id: IdPath,
                      agent_id: IdPath) -> Response:
    return await _membership(request, db, user, team_id, str(agent_id), member=False)


async def _membership(request: Request, db: SessionDep, user: WebUser, team_id: int,
                      agent_id: str, *, member: bool) -> Response:
    user.require(Permission.AGENTS_MANAGE)
    await queries.get_team(db, store_id=user.store.id, team_id=team_id)
    chosen = _agent_id(agent_id)
    if chosen is None:
        return await _page(request, db, user, status_code=422,
                           row_error=(team_id, user.page._("Choose an agent from the list.")))
    await actions.set_team_member(db, store_id=user.store.id, team_id=team_id, agent_id=chosen,
                                  member=member, actor=user.principal.actor)
    return RedirectResponse(f"/admin/teams?saved=1#team-{team_id}", status_code=303)
