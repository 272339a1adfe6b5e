"""API shapes of tickets, messages, attachments, tags, audit events and search hits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sellerdesk.core.ids import Id
from sellerdesk.tickets.states import DeliveryStatus, Direction, Priority, Status


class TicketRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    subject: str
    status: Status
    priority: Priority
    channel_type: str
    channel_id: int | None
    marketplace: str | None
    customer_id: int | None
    assignee_id: int | None
    team_id: int | None
    language: str | None
    tags: list[str] = Field(default_factory=list)
    message_count: int
    merged_into_id: int | None
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime | None
    first_response_at: datetime | None
    solved_at: datetime | None
    closed_at: datetime | None
    sla_due_at: datetime | None


class TicketPageRead(BaseModel):
    items: list[TicketRead]
    next_cursor: str | None


class TicketUpdate(BaseModel):
    """Fields to change; fields left out stay as they are, null clears assignee or team."""

    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(default=None, min_length=1, max_length=500)
    status: Status | None = None
    priority: Priority | None = None
    assignee_id: Id | None = None
    team_id: Id | None = None
    marketplace: str | None = Field(default=None, max_length=32)
    language: str | None = Field(default=None, min_length=2, max_length=8)
    tags: list[str] | None = Field(default=None, max_length=50)

    def changes(self) -> dict[str, Any]:
        data = self.model_dump(exclude_unset=True)
        for key in ("subject", "status", "priority", "tags"):
            if key in data and data[key] is None:
                del data[key]
        return data


class AttachmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=255)
    content_type: str | None = Field(default=None, max_length=127)
    content_base64: str


class ReplyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(default="", max_length=200_000)
    html: str | None = Field(default=None, max_length=1_000_000)
    status: Status | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=200_000)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class TicketMerge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into_ticket_id: Id


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    url: str
    content_id: str | None = Field(
        description="The Content-ID by which the message's HTML shows it (cid: links)")
    inline: bool = Field(description="Shown inside the message's HTML rather than as a file")


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    direction: Direction
    author_agent_id: int | None
    author_customer_id: int | None
    author_name: str | None
    text: str = Field(description="The full text as received or written")
    display_text: str | None = Field(
        description="The new part of an inbound reply (quoted history and signature "
                    "removed); null when it is the same as text")
    html: str | None = Field(
        description="Sanitized HTML; its cid: links point at the attachments' URLs")
    external_id: str | None
    delivery_status: DeliveryStatus
    delivery_error: str | None
    sent_at: datetime | None
    created_at: datetime
    attachments: list[AttachmentRead] = Field(default_factory=list)


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int | None
    entity_type: str
    entity_id: int
    action: str
    actor_type: str
    actor_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime


class TagRead(BaseModel):
    name: str
    ticket_count: int


class SearchHitRead(BaseModel):
    ticket_id: int
    message_id: int
    subject: str
    direction: Direction
    snippet: str
    created_at: datetime


class SearchResults(BaseModel):
    items: list[SearchHitRead]
    next_before_id: int | None
