"""Admin pages of the workspace (owners and admins): store, agents, teams, email accounts,
API tokens, quarantine."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sellerdesk.accounts.permissions import Permission
from sellerdesk.web.routes.admin import agents, email, quarantine, store, teams, tokens
from sellerdesk.web.routes.admin.common import admin_page
from sellerdesk.web.session import CurrentUser

router = APIRouter(prefix="/admin")


@router.get("")
async def overview(request: Request, user: CurrentUser) -> Response:
    user.require(Permission.SETTINGS_MANAGE)
    return admin_page(request, user, "admin/index.html")


for _area in (store, agents, teams, email, tokens, quarantine):
    router.include_router(_area.router)
