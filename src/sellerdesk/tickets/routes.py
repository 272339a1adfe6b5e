"""HTTP routes for tickets, messages, tags, attachments, audit and search (thin)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import func, select

from sellerdesk.api.deps import (
    CanMergeTickets,
    CanNote,
    CanReadAudit,
    CanReadTickets,
    CanReply,
    CanUpdateTickets,
    SessionDep,
)
from sellerdesk.channels.base import InboundAttachment
from sellerdesk.core import context
from sellerdesk.core.errors import Invalid
from sellerdesk.core.html import resolve_cid_links
from sellerdesk.core.ids import MAX_ID, IdPath, IdQuery
from sellerdesk.tickets import actions, queries
from sellerdesk.tickets.models import Attachment, Message, Tag, Ticket, ticket_tags
from sellerdesk.tickets.schemas import (
    AttachmentIn,
    AttachmentRead,
    AuditEventRead,
    MessageRead,
    NoteCreate,
    ReplyCreate,
    SearchHitRead,
    SearchResults,
    TagRead,
    TicketMerge,
    TicketPageRead,
    TicketRead,
    TicketUpdate,
)
from sellerdesk.tickets.states import Priority, Status

router = APIRouter(tags=["tickets"])


def _ticket_read(ticket: Ticket, tags: list[str]) -> TicketRead:
    read = TicketRead.model_validate(ticket)
    read.tags = tags
    return read


async def _read_one(db: SessionDep, ticket: Ticket) -> TicketRead:
    return _ticket_read(ticket, await queries.ticket_tag_names(db, ticket_id=ticket.id))


def _statuses(value: str | None) -> tuple[Status, ...]:
    if not value:
        return ()
    if value == "active":
        return (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)
    result = []
    for part in value.split(","):
        try:
            result.append(Status(part.strip()))
        except ValueError:
            allowed = ", ".join(s.value for s in Status)
            raise Invalid("request.invalid", f"status {part!r} is not one of {allowed} "
                          "(or 'active')", field="status") from None
    return tuple(result)


def _assignee(value: str | None) -> tuple[int | None, bool]:
    if value is None:
        return None, False
    if value == "none":
        return None, True
    if value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_ID:
        return int(value), False
    raise Invalid("request.invalid", "assignee must be an agent id or 'none'", field="assignee")


@router.get("/tickets", response_model=TicketPageRead)
async def list_tickets(
    db: SessionDep,
    principal: CanReadTickets,
    status_: Annotated[str | None, Query(alias="status", max_length=200)] = None,
    assignee: Annotated[str | None, Query(max_length=20)] = None,
    team: IdQuery = None,
    channel: Annotated[str | None, Query(max_length=32)] = None,
    marketplace: Annotated[str | None, Query(max_length=32)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    priority: Priority | None = None,
    customer: IdQuery = None,
    q: Annotated[str | None, Query(max_length=500)] = None,
    sort: Annotated[str, Query(pattern="^(updated|sla_due)$")] = queries.Sort.UPDATED,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
) -> TicketPageRead:
    assignee_id, unassigned = _assignee(assignee)
    filters = queries.TicketFilters(
        statuses=_statuses(status_), assignee_id=assignee_id, unassigned=unassigned,
        team_id=team, channel=channel, marketplace=marketplace, tag=tag,
        priority=priority.value if priority else None, customer_id=customer, q=q,
    )
    page = await queries.list_tickets(db, store_id=principal.store_id, filters=filters,
                                      sort=sort, limit=limit, cursor=cursor)
    tags = await queries.tags_by_ticket(db, [t.id for t in page.items])
    return TicketPageRead(items=[_ticket_read(t, tags[t.id]) for t in page.items],
                          next_cursor=page.next_cursor)


@router.get("/tickets/{ticket_id}", response_model=TicketRead)
async def get_ticket(ticket_id: IdPath, db: SessionDep, principal: CanReadTickets) -> TicketRead:
    ticket = await queries.get_ticket(db, store_id=principal.store_id, ticket_id=ticket_id)
    return await _read_one(db, ticket)


@router.patch("/tickets/{ticket_id}", response_model=TicketRead)
async def update_ticket(
    ticket_id: IdPath, body: TicketUpdate, db: SessionDep, principal: CanUpdateTickets
) -> TicketRead:
    ticket = await queries.get_ticket(db, store_id=principal.store_id, ticket_id=ticket_id)
    ticket = await actions.update_ticket(db, ticket=ticket, actor=principal.actor,
                                         changes=body.changes())
    return await _read_one(db, ticket)


@router.post("/tickets/{ticket_id}/merge", response_model=TicketRead)
async def merge_ticket(
    ticket_id: IdPath, body: TicketMerge, db: SessionDep, principal: CanMergeTickets
) -> TicketRead:
    source = await queries.get_ticket(db, store_id=principal.store_id, ticket_id=ticket_id)
    target = await queries.get_ticket(db, store_id=principal.store_id,
                                      ticket_id=body.into_ticket_id, field="into_ticket_id")
    target = await actions.merge_tickets(db, source=source, target=target,
                                         actor=principal.actor)
    return await _read_one(db, target)


def _message_reads(
    messages: list[Message], attachments: dict[int, list[Attachment]]
) -> list[MessageRead]:
    result = []
    for message in messages:
        read = MessageRead.model_validate(message)
        read.attachments = [
            AttachmentRead(id=a.id, filename=a.filename, content_type=a.content_type,
                           size=a.size, sha256=a.sha256, url=f"/api/v1/attachments/{a.id}",
                           content_id=a.content_id, inline=a.inline)
            for a in attachments.get(message.id, [])
        ]
        if read.html is not None:
            # At read time, so the stored HTML stays as received.
            read.html = resolve_cid_links(read.html, {
                a.content_id: a.url for a in read.attachments if a.content_id is not None})
        result.append(read)
    return result


@router.get("/tickets/{ticket_id}/messages", response_model=list[MessageRead])
async def list_messages(
    ticket_id: IdPath, db: SessionDep, principal: CanReadTickets
) -> list[MessageRead]:
    ticket = await queries.get_ticket(db, store_id=principal.store_id, ticket_id=ticket_id)
    messages = await queries.ticket_messages(db, ticket=ticket)
    attachments = await queries.attachments_by_message(db, [m.id for m in messages])
    return _message_reads(messages, attachments)


def _decode_attachments(items: list[AttachmentIn]) -> list[InboundAttachment]:
    result = []
    for i, item in enumerate(items):
        try:
            data = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise Invalid("request.invalid", "not valid base64",
                          field=f"attachments.{i}.content_base64") from None
        result.append(InboundAttachment(item.filename, item.content_type, data))
    return result


async def _one_message(db: SessionDep, message: Message) -> MessageRead:
    attachments = await queries.attachments_by_message(db, [message.id])
    return _message_reads([message], attachments)[0]


@router.post("/tickets/{ticket_id}/replies", response_model=MessageRead,
             status_code=status.HTTP_201_CREATED)
async def create_reply(
    ticket_id: IdPath, body: ReplyCreate, db: SessionDep, principal: CanReply
) -> MessageRead:
    ticket = await queries.get_ticket(db, store_id=principal.store_id, ticket_id=ticket_id)
    message = await actions.reply(
        db, ticket=ticket, actor=principal.actor, text=body.text, html=body.html,
        author_agent_id=principal.agent_id, status=body.status,
        attachments=_decode_attachments(body.attachments),
    )
    return await _one_message(db, message)


@router.post("/tickets/{ticket_id}/notes", response_model=MessageRead,
             status_code=status.HTTP_201_CREATED)
async def create_note(
    ticket_id: IdPath, body: NoteCreate, db: SessionDep, principal: CanNote
) -> MessageRead:
    ticket = await queries.get_ticket(db, store_id=principal.store_id, ticket_id=ticket_id)
    message = await actions.add_note(
        db, ticket=ticket, actor=principal.actor, text=body.text,
        author_agent_id=principal.agent_id, attachments=_decode_attachments(body.attachments),
    )
    return await _one_message(db, message)


@router.get("/tickets/{ticket_id}/audit", response_model=list[AuditEventRead])
async def ticket_audit(
    ticket_id: IdPath, db: SessionDep, principal: CanReadAudit,
    before_id: IdQuery = None, limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[AuditEventRead]:
    ticket = await queries.get_ticket(db, store_id=principal.store_id, ticket_id=ticket_id)
    events = await queries.audit_events(db, store_id=principal.store_id, ticket_id=ticket.id,
                                        before_id=before_id, limit=limit)
    return [AuditEventRead.model_validate(e) for e in events]


@router.get("/audit", response_model=list[AuditEventRead])
async def audit_log(
    db: SessionDep,
    principal: CanReadAudit,
    entity_type: Annotated[str | None, Query(max_length=32)] = None,
    entity_id: IdQuery = None,
    before_id: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[AuditEventRead]:
    events = await queries.audit_events(db, store_id=principal.store_id,
                                        entity_type=entity_type, entity_id=entity_id,
                                        before_id=before_id, limit=limit)
    return [AuditEventRead.model_validate(e) for e in events]


@router.get("/tags", response_model=list[TagRead])
async def list_tags(db: SessionDep, principal: CanReadTickets) -> list[TagRead]:
    rows = await db.execute(
        select(Tag.name, func.count(ticket_tags.c.ticket_id))
        .outerjoin(ticket_tags, ticket_tags.c.tag_id == Tag.id)
        .where(Tag.store_id == principal.store_id)
        .group_by(Tag.id, Tag.name).order_by(Tag.name)
    )
    return [TagRead(name=name, ticket_count=count) for name, count in rows]


@router.get("/attachments/{attachment_id}")
async def download_attachment(
    attachment_id: IdPath, db: SessionDep, principal: CanReadTickets
) -> Response:
    att = await queries.get_attachment(db, store_id=principal.store_id,
                                       attachment_id=attachment_id)
    data = context.get().blobs.get(att.sha256)
    ascii_name = att.filename.encode("ascii", "replace").decode().replace('"', "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(att.filename)}"
    return Response(
        content=data,
        media_type=att.content_type,
        headers={
            # Never rendered inline: an attachment from a customer is untrusted content.
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )


def _snippet(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@router.get("/search", response_model=SearchResults)
async def search(
    db: SessionDep,
    principal: CanReadTickets,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    before_id: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
) -> SearchResults:
    hits = await queries.search_messages(db, store_id=principal.store_id, q=q, limit=limit,
                                         before_id=before_id)
    items = [
        SearchHitRead(ticket_id=h.ticket.id, message_id=h.message.id, subject=h.ticket.subject,
                      direction=h.message.direction, snippet=_snippet(h.message.text),
                      created_at=h.message.created_at)
        for h in hits
    ]
    next_before = items[-1].message_id if len(items) == limit else None
    return SearchResults(items=items, next_before_id=next_before)
