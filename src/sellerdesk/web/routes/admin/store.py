"""Store settings: name, time zone, default language."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from sellerdesk.accounts import actions
from sellerdesk.accounts.permissions import Permission
from sellerdesk.api.deps import SessionDep
from sellerdesk.core.errors import AppError
from sellerdesk.web.routes.admin.common import Text, admin_page, error_text, refuse
from sellerdesk.web.session import CurrentUser

router = APIRouter()

ZONES = ("Europe/Warsaw", "Asia/Seoul", "Europe/London", "Europe/Berlin", "America/New_York",
         "UTC")


@router.get("/store")
async def store_form(request: Request, user: CurrentUser) -> Response:
    user.require(Permission.SETTINGS_MANAGE)
    store = user.store
    form = {"name": store.name, "timezone": store.timezone,
            "default_language": store.default_language}
    return admin_page(request, user, "admin/store.html", {"form": form, "zones": ZONES})


@router.post("/store")
async def store_save(request: Request, db: SessionDep, user: CurrentUser, name: Text = "",
                     timezone: Text = "", default_language: Text = "") -> Response:
    user.require(Permission.SETTINGS_MANAGE)
    try:
        await actions.update_store(db, store_id=user.store.id, name=name, timezone=timezone,
                                   default_language=default_language, actor=user.principal.actor)
    except AppError as exc:
        refuse(exc)
        form = {"name": name, "timezone": timezone, "default_language": default_language}
        return admin_page(request, user, "admin/store.html", {
            "form": form, "zones": ZONES, "error_field": exc.field,
            "error": error_text(user.page, exc, value=timezone if exc.field == "timezone"
                                else "")}, status_code=exc.status_code)
    return RedirectResponse("/admin/store?saved=1", status_code=303)
