"""API shapes of inbound results and quarantined payloads."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class InboundAccepted(BaseModel):
    outcome: str
    raw_payload_id: int | None
    ticket_id: int | None
    message_id: int | None


class QuarantineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel_id: int
    content_type: str
    status: str
    error_code: str | None
    error_reason: str | None
    attempts: int
    size: int
    received_at: datetime
    processed_at: datetime | None


class QuarantineDetail(QuarantineRead):
    body_preview: str
