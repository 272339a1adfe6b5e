"""The generic API channel: JSON in over POST /api/v1/inbound, signed webhooks out."""

from __future__ import annotations

import base64
import binascii
import json
import time
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.channels.base import (
    DeliveryError,
    DeliveryResult,
    IdentityKind,
    InboundAttachment,
    InboundMessage,
    OutboundDelivery,
    ParseError,
    SenderIdentity,
    ThreadHints,
)
from sellerdesk.channels.models import Channel, RawPayload
from sellerdesk.core import context
from sellerdesk.core.security import sign


class ApiSender(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    handle: str | None = Field(default=None, min_length=1, max_length=320)

    @model_validator(mode="after")
    def _one_address(self) -> ApiSender:
        if (self.email is None) == (self.handle is None):
            raise ValueError("give exactly one of email or handle")
        return self


class ApiAttachment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=255)
    content_type: str | None = Field(default=None, max_length=127)
    content_base64: str


class ApiInbound(BaseModel):
    """The JSON body of POST /api/v1/inbound."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    external_id: str = Field(min_length=1, max_length=512)
    sender: ApiSender = Field(alias="from")
    subject: str = Field(default="", max_length=500)
    text: str = Field(default="", max_length=1_000_000)
    html: str | None = Field(default=None, max_length=2_000_000)
    attachments: list[ApiAttachment] = Field(default_factory=list, max_length=50)
    thread_key: str | None = Field(default=None, min_length=1, max_length=255)
    sent_at: datetime | None = None
    marketplace: str | None = Field(default=None, max_length=32)

    @model_validator(mode="after")
    def _has_content(self) -> ApiInbound:
        if not self.text.strip() and not (self.html or "").strip() and not self.attachments:
            raise ValueError("a message needs text, html or an attachment")
        if self.sent_at is not None and self.sent_at.tzinfo is None:
            raise ValueError("sent_at needs a time zone, e.g. 2026-11-23T10:00:00Z")
        return self


def _field_of(err: Any) -> str:
    loc = [str(p) for p in err.get("loc", ()) if p != "__root__"]
    return ".".join(loc) or "body"


class ApiChannelAdapter:
    type = "api"

    def parse(self, raw: RawPayload, channel: Channel) -> InboundMessage:
        try:
            data = json.loads(raw.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ParseError("inbound.invalid_json", f"body is not valid JSON: {exc}") from exc
        try:
            body = ApiInbound.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = _field_of(err)
            raise ParseError(
                "inbound.invalid_field", f"{field}: {err['msg']}", field=field
            ) from exc
        attachments = []
        for i, att in enumerate(body.attachments):
            try:
                payload = base64.b64decode(att.content_base64, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ParseError(
                    "inbound.invalid_field",
                    f"attachments.{i}.content_base64: not valid base64",
                    field=f"attachments.{i}.content_base64",
                ) from exc
            attachments.append(InboundAttachment(att.filename, att.content_type, payload))
        if body.sender.email is not None:
            sender = SenderIdentity(IdentityKind.EMAIL, body.sender.email.lower(), body.sender.name)
        else:
            # The model guarantees exactly one of email and handle.
            sender = SenderIdentity(IdentityKind.HANDLE, body.sender.handle or "", body.sender.name)
        return InboundMessage(
            store_id=channel.store_id,
            channel_id=channel.id,
            channel_type=self.type,
            external_id=body.external_id,
            sender=sender,
            subject=body.subject,
            text=body.text,
            html=body.html,
            attachments=attachments,
            hints=ThreadHints(thread_key=body.thread_key),
            sent_at=body.sent_at,
            marketplace=body.marketplace or channel.marketplace,
            raw_payload_id=raw.id,
        )

    async def send(self, db: AsyncSession, delivery: OutboundDelivery) -> DeliveryResult:
        url = delivery.channel.config.get("webhook_url")
        secret = delivery.channel.config.get("webhook_secret")
        if not url or not secret:
            raise DeliveryError("channel has no webhook_url/webhook_secret", retryable=False)
        body = json.dumps(
            {
                "type": "message.outbound",
                "message_id": delivery.message_id,
                "ticket_id": delivery.ticket_id,
                "thread_key": delivery.thread_key,
                "to": _recipient_json(delivery.recipient),
                "subject": delivery.subject,
                "text": delivery.text,
                "html": delivery.html,
                "attachments": [
                    {
                        "filename": a.filename,
                        "content_type": a.content_type,
                        "content_base64": base64.b64encode(a.data).decode(),
                    }
                    for a in delivery.attachments
                ],
            },
            ensure_ascii=False,
        ).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": delivery.idempotency_key,
            "X-SellerDesk-Timestamp": timestamp,
            "X-SellerDesk-Signature": "sha256=" + sign(secret, timestamp.encode() + b"." + body),
        }
        timeout = context.get().settings.webhook_timeout_seconds
        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook request failed: {exc!r}", retryable=True) from exc
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise DeliveryError(f"webhook answered {response.status_code}", retryable=True)
        if response.status_code >= 400:
            raise DeliveryError(f"webhook refused with {response.status_code}", retryable=False)
        return DeliveryResult(external_id=response.headers.get("X-Message-Id"))


def _recipient_json(recipient: SenderIdentity | None) -> dict[str, str | None] | None:
    if recipient is None:
        return None
    return {"kind": recipient.kind.value, "value": recipient.value, "name": recipient.name}
