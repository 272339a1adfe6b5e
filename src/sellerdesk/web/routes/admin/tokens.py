"""API tokens: the list, a new token (shown once), revocation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from sellerdesk.accounts import actions, queries
from sellerdesk.accounts.permissions import Permission, Role
from sellerdesk.api.deps import SessionDep
from sellerdesk.core.errors import AppError
from sellerdesk.core.ids import IdPath
from sellerdesk.web.routes.admin.common import Text, admin_page, error_text, refuse
from sellerdesk.web.session import CurrentUser, WebUser

router = APIRouter()


async def _page(request: Request, db: SessionDep, user: WebUser, *, status_code: int = 200,
                **context: Any) -> Response:
    tokens = await queries.store_tokens(db, store_id=user.store.id)
    agents = {a.id: a for a in await queries.store_agents(db, store_id=user.store.id)}
    return admin_page(request, user, "admin/tokens.html", {
        "tokens": tokens, "agents": agents,
        "revoked": request.query_params.get("revoked") == "1",
        "grantable": [r for r in Role if r != Role.OWNER or user.agent.role == Role.OWNER.value],
        "new": context.pop("new", {"name": "", "role": Role.AGENT.value}), **context},
        status_code=status_code)


@router.get("/tokens")
async def tokens_list(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    user.require(Permission.TOKENS_MANAGE)
    return await _page(request, db, user)


@router.post("/tokens")
async def token_create(request: Request, db: SessionDep, user: CurrentUser, name: Text = "",
                       role: Text = "") -> Response:
    user.require(Permission.TOKENS_MANAGE)
    try:
        token, plain = await actions.issue_api_token(
            db, store_id=user.store.id, name=name, role=actions.parse_role(role),
            by=user.principal)
    except AppError as exc:
        refuse(exc)
        return await _page(request, db, user, status_code=exc.status_code,
                           new={"name": name, "role": role},
                           create_error=error_text(user.page, exc))
    # Shown this once and never again: only its hash is kept. Not cached anywhere.
    response = await _page(request, db, user, created=token, plain=plain)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/tokens/{token_id}/revoke")
async def token_revoke(db: SessionDep, user: CurrentUser, token_id: IdPath) -> Response:
    user.require(Permission.TOKENS_MANAGE)
    await actions.revoke_api_token(db, store_id=user.store.id, token_id=token_id,
                                   actor=user.principal.actor)
    return RedirectResponse(f"/admin/tokens?revoked=1#token-{token_id}", status_code=303)
