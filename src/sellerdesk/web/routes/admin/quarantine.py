"""Quarantine: payloads the inbound path could not take; their reason, their bytes, a retry."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sellerdesk.accounts import queries as accounts
from sellerdesk.accounts.permissions import Permission
from sellerdesk.api.deps import SessionDep
from sellerdesk.channels import inbound
from sellerdesk.channels import queries as channels
from sellerdesk.core.errors import Conflict
from sellerdesk.core.ids import IdPath, IdQuery
from sellerdesk.web.routes.admin.common import admin_page, error_text
from sellerdesk.web.session import CurrentUser

router = APIRouter()

PAGE_SIZE = 50
PREVIEW_BYTES = 4096


@router.get("/quarantine")
async def quarantine_list(request: Request, db: SessionDep, user: CurrentUser,
                          before_id: IdQuery = None) -> Response:
    user.require(Permission.QUARANTINE_MANAGE)
    rows = await channels.quarantined(db, store_id=user.store.id, before_id=before_id,
                                      limit=PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return admin_page(request, user, "admin/quarantine.html", {
        "rows": rows, "channels": await accounts.channel_names(db, store_id=user.store.id),
        "older": rows[-1][0].id if more else None, "before_id": before_id})


async def _item(request: Request, db: SessionDep, user: CurrentUser, payload_id: int, *,
                result: inbound.IngestResult | None = None, error: str | None = None,
                status_code: int = 200) -> Response:
    raw = await channels.get_raw(db, store_id=user.store.id, raw_id=payload_id)
    names = await accounts.channel_names(db, store_id=user.store.id)
    return admin_page(request, user, "admin/quarantine_item.html", {
        "raw": raw, "channel": names.get(raw.channel_id), "size": len(raw.body),
        "preview": raw.body[:PREVIEW_BYTES].decode("utf-8", "replace"),
        "cut": len(raw.body) > PREVIEW_BYTES, "result": result, "error": error},
        status_code=status_code)


@router.get("/quarantine/{payload_id}")
async def quarantine_item(request: Request, db: SessionDep, user: CurrentUser,
                          payload_id: IdPath) -> Response:
    user.require(Permission.QUARANTINE_MANAGE)
    return await _item(request, db, user, payload_id)


@router.post("/quarantine/{payload_id}/retry")
async def quarantine_retry(request: Request, db: SessionDep, user: CurrentUser,
                           payload_id: IdPath) -> Response:
    """Parse the payload again (after a fix or a raised limit) and say what came of it."""
    user.require(Permission.QUARANTINE_MANAGE)
    raw = await channels.get_raw(db, store_id=user.store.id, raw_id=payload_id)
    if raw.status != inbound.RawStatus.QUARANTINED:
        exc = Conflict("quarantine.not_quarantined", f"payload {payload_id} is {raw.status}")
        return await _item(request, db, user, payload_id, status_code=409,
                           error=error_text(user.page, exc))
    channel = await channels.get_channel(db, channel_id=raw.channel_id)
    result = await inbound.process_raw(db, raw=raw, channel=channel)
    return await _item(request, db, user, payload_id, result=result)
