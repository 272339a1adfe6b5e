"""HTTP routes for the API channel's inbound endpoint and the quarantine (thin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from sellerdesk.api.deps import CanManageQuarantine, CurrentChannel, SessionDep
from sellerdesk.api.errors import error_body
from sellerdesk.channels import inbound, queries
from sellerdesk.channels.models import RawPayload
from sellerdesk.channels.schemas import InboundAccepted, QuarantineDetail, QuarantineRead
from sellerdesk.core import context
from sellerdesk.core.errors import Conflict, TooLarge
from sellerdesk.core.ids import IdPath, IdQuery

router = APIRouter(tags=["channels"])


def _accepted(result: inbound.IngestResult) -> JSONResponse:
    if result.outcome == inbound.Outcome.QUARANTINED:
        status = 413 if result.error_code == "attachment.too_large" else 422
        body = error_body(result.error_code or "inbound.invalid",
                          result.error_reason or "payload could not be parsed",
                          result.error_field)
        body["error"]["raw_payload_id"] = result.raw_payload_id
        return JSONResponse(body, status)
    accepted = InboundAccepted(outcome=result.outcome.value,
                               raw_payload_id=result.raw_payload_id,
                               ticket_id=result.ticket_id, message_id=result.message_id)
    code = 200 if result.outcome == inbound.Outcome.DUPLICATE else 201
    return JSONResponse(accepted.model_dump(), code)


@router.post(
    "/inbound",
    responses={201: {"model": InboundAccepted}, 200: {"model": InboundAccepted}},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ApiInbound"}}}}},
)
async def receive_inbound(request: Request, db: SessionDep, channel: CurrentChannel
                          ) -> JSONResponse:
    """Receive one message on an API channel (authenticated with the channel's token)."""
    limit = context.get().settings.max_inbound_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge("inbound.too_large", f"body is over the {limit}-byte limit", field="body")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise TooLarge("inbound.too_large", f"body is over the {limit}-byte limit",
                           field="body")
    result = await inbound.receive(
        db, channel=channel, body=bytes(body),
        content_type=request.headers.get("content-type", "application/octet-stream")[:127],
    )
    return _accepted(result)


@router.get("/quarantine", response_model=list[QuarantineRead])
async def list_quarantine(
    db: SessionDep, principal: CanManageQuarantine, before_id: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[QuarantineRead]:
    rows = await queries.quarantined(db, store_id=principal.store_id, before_id=before_id,
                                     limit=limit)
    return [QuarantineRead(size=size, **_fields(raw)) for raw, size in rows]


def _fields(raw: RawPayload) -> dict[str, object]:
    return {
        "id": raw.id, "channel_id": raw.channel_id, "content_type": raw.content_type,
        "status": raw.status, "error_code": raw.error_code, "error_reason": raw.error_reason,
        "attempts": raw.attempts, "received_at": raw.received_at,
        "processed_at": raw.processed_at,
    }


@router.get("/quarantine/{payload_id}", response_model=QuarantineDetail)
async def get_quarantined(
    payload_id: IdPath, db: SessionDep, principal: CanManageQuarantine
) -> QuarantineDetail:
    raw = await queries.get_raw(db, store_id=principal.store_id, raw_id=payload_id)
    preview = raw.body[:4096].decode("utf-8", "replace")
    return QuarantineDetail(size=len(raw.body), body_preview=preview, **_fields(raw))


@router.post("/quarantine/{payload_id}/retry")
async def retry_quarantined(
    payload_id: IdPath, db: SessionDep, principal: CanManageQuarantine
) -> JSONResponse:
    """Parse a quarantined payload again (after a fix to its adapter, say)."""
    raw = await queries.get_raw(db, store_id=principal.store_id, raw_id=payload_id)
    if raw.status != inbound.RawStatus.QUARANTINED:
        raise Conflict("quarantine.not_quarantined",
                       f"payload {payload_id} is {raw.status}, not quarantined",
                       field="payload_id")
    channel = await queries.get_channel(db, channel_id=raw.channel_id)
    result = await inbound.process_raw(db, raw=raw, channel=channel)
    return _accepted(result)
