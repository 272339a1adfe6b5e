"""The ticket page: thread, composer (reply or note, macros, files, marketplace rules), the
fragments the page refreshes itself with, and the ticket's files served to signed-in agents."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, UploadFile

from sellerdesk.accounts.models import Agent
from sellerdesk.accounts.permissions import Permission
from sellerdesk.api.deps import SessionDep
from sellerdesk.automation.macros import actions as macro_actions
from sellerdesk.automation.macros import queries as macro_queries
from sellerdesk.automation.macros import templating as macro_templating
from sellerdesk.automation.macros.models import Macro
from sellerdesk.channels.base import InboundAttachment
from sellerdesk.channels.email import adapter as email_adapter
from sellerdesk.channels.email.relay import RuleCode, RuleViolation
from sellerdesk.core import context
from sellerdesk.core.errors import AppError, Conflict, Invalid, NotFound, TooLarge
from sellerdesk.core.html import resolve_cid_links, sanitize
from sellerdesk.core.i18n import N_
from sellerdesk.core.ids import IdPath
from sellerdesk.customers.models import Customer
from sellerdesk.tickets import actions, queries
from sellerdesk.tickets.errors import TicketError
from sellerdesk.tickets.models import Attachment, Message, Ticket
from sellerdesk.tickets.states import Direction, Status, can_transition
from sellerdesk.web.routes import customers
from sellerdesk.web.routes.customers import (
    problem,
    recover,
    sidebar,
    sidebar_values,
)
from sellerdesk.web.session import CurrentUser, WebUser
from sellerdesk.web.templating import Page, render

router = APIRouter()
router.include_router(customers.router)

TEXT_MAX = 200_000
FILES_MAX = 20
# Shown with <img> and served inline: raster formats a browser cannot run as a document.
PREVIEW_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
DELIVERY_LABELS = {
    "queued": N_("Queued"), "sent": N_("Sent"), "failed": N_("Not sent"),
    "received": N_("Received"), "internal": N_("Internal"),
}
RULE_TEXTS = {
    RuleCode.MISSING_ORDER_ID: N_("{name} messages must concern an order: name the order "
                                  "number (123-1234567-1234567)."),
    RuleCode.EXTERNAL_LINK: N_("{name} does not allow links outside {name}: {excerpt}"),
    RuleCode.EMOJI: N_("{name} does not allow emojis in buyer messages: {excerpt}"),
    RuleCode.EMAIL_ADDRESS: N_("{name} does not allow email addresses in buyer messages: "
                               "{excerpt}"),
    RuleCode.PHONE_NUMBER: N_("{name} does not allow phone numbers in buyer messages: "
                              "{excerpt}"),
    RuleCode.OFF_PLATFORM_CONTACT: N_("{name} does not allow moving the conversation or "
                                      "payment elsewhere: {excerpt}"),
    RuleCode.ATTACHMENT_TYPE: N_("{name} does not accept this type of file: {excerpt}"),
}
VARIABLE_LABELS = {
    "customer.name": N_("Customer's name"), "customer.first_name": N_("Customer's first name"),
    "customer.email": N_("Customer's email"), "ticket.id": N_("Ticket number"),
    "ticket.subject": N_("Ticket subject"), "order.number": N_("Order number"),
    "order.tracking_url": N_("Tracking link"), "agent.name": N_("Your name"),
    "store.name": N_("Store name"),
}
_PLACEHOLDER = re.compile(r"\{\{ ([a-z_]+\.[a-z_]+) \}\}")


# --- the thread ---------------------------------------------------------------------------------

@dataclass
class FileView:
    id: int
    filename: str
    content_type: str
    size: int
    url: str
    preview: bool
    inline: bool


@dataclass
class MessageView:
    id: int
    direction: str
    author: str
    at: datetime
    delivery: str
    delivery_error: str | None
    text: str  # what is shown first: the new part of a reply, or all of it
    full_text: str | None  # the full original when `text` leaves quoted history out
    html: Markup | None  # sanitized, cid: links pointing at the files
    files: list[FileView]

    @property
    def note(self) -> bool:
        return self.direction == Direction.NOTE

    @property
    def outbound(self) -> bool:
        return self.direction == Direction.OUTBOUND


def size_text(page: Page, size: int) -> str:
    """A file size as people read it, with the language's decimal mark."""
    if size < 1024:
        text = f"{size} B"
    elif size < 1024 * 1024:
        text = f"{size / 1024:.0f} KB"
    else:
        text = f"{size / 1024 / 1024:.1f} MB"
    return text.replace(".", ",") if page.language == "pl" else text


def file_url(ticket_id: int, attachment_id: int) -> str:
    return f"/tickets/{ticket_id}/attachments/{attachment_id}"


def _file_views(ticket_id: int, files: list[Attachment]) -> list[FileView]:
    return [FileView(id=a.id, filename=a.filename, content_type=a.content_type, size=a.size,
                     url=file_url(ticket_id, a.id), preview=a.content_type in PREVIEW_TYPES,
                     inline=a.inline and a.content_id is not None)
            for a in files]


async def _authors(db: AsyncSession, ticket: Ticket, messages: list[Message]
                   ) -> tuple[dict[int, str], dict[int, str]]:
    agent_ids = {m.author_agent_id for m in messages if m.author_agent_id is not None}
    customer_ids = {m.author_customer_id for m in messages if m.author_customer_id is not None}
    if ticket.customer_id is not None:
        customer_ids.add(ticket.customer_id)
    agents: dict[int, str] = {}
    customers: dict[int, str] = {}
    if agent_ids:
        rows = await db.execute(select(Agent.id, Agent.name).where(
            Agent.id.in_(agent_ids), Agent.store_id == ticket.store_id))
        agents = {row.id: row.name for row in rows}
    if customer_ids:
        found = await db.execute(select(Customer.id, Customer.name, Customer.email).where(
            Customer.id.in_(customer_ids), Customer.store_id == ticket.store_id))
        customers = {cid: name or email or "" for cid, name, email in found}
    return agents, customers


def _author(page: Page, message: Message, ticket: Ticket, agents: dict[int, str],
            customers: dict[int, str]) -> str:
    if message.author_agent_id is not None and message.author_agent_id in agents:
        return agents[message.author_agent_id]
    if message.author_name:
        return message.author_name
    if message.author_customer_id is not None and customers.get(message.author_customer_id):
        return customers[message.author_customer_id]
    if message.direction == Direction.INBOUND:
        fallback = customers.get(ticket.customer_id) if ticket.customer_id else None
        return fallback or page._("Customer")
    return page._("SellerDesk")


def _message_view(page: Page, ticket: Ticket, message: Message, files: list[Attachment],
                  agents: dict[int, str], customers: dict[int, str]) -> MessageView:
    views = _file_views(ticket.id, files)
    html = None
    if message.html:
        # Stored sanitized; cleaned again here so that the page never trusts the database.
        cleaned = resolve_cid_links(sanitize(message.html), {
            a.content_id: file_url(ticket.id, a.id) for a in files if a.content_id})
        html = Markup(cleaned)  # noqa: S704 (nh3-sanitized just above)
    quoted = message.display_text is not None and message.display_text.strip() != ""
    return MessageView(
        id=message.id, direction=message.direction,
        author=_author(page, message, ticket, agents, customers), at=message.created_at,
        delivery=message.delivery_status, delivery_error=message.delivery_error,
        text=message.display_text if quoted and message.display_text else message.text,
        full_text=message.text if quoted else None,
        html=html, files=[v for v in views if not (v.inline and html is not None)],
    )


async def thread(db: AsyncSession, page: Page, ticket: Ticket) -> list[MessageView]:
    """The messages with their authors and files: four queries whatever the length."""
    messages = await queries.ticket_messages(db, ticket=ticket)
    files = await queries.attachments_by_message(db, [m.id for m in messages])
    agents, customers = await _authors(db, ticket, messages)
    return [_message_view(page, ticket, m, files[m.id], agents, customers) for m in messages]


# --- the composer -------------------------------------------------------------------------------

@dataclass
class Composer:
    mode: str = "reply"
    text: str = ""
    macro_id: int | None = None
    error: str | None = None
    warnings: list[str] | None = None
    sent: bool = False


async def _macros(db: AsyncSession, user: WebUser, ticket: Ticket) -> list[tuple[Macro, str]]:
    """The store's macros with the language each would answer this ticket in."""
    if not user.can(Permission.TICKET_REPLY):
        return []
    found = await macro_queries.list_macros(db, store_id=ticket.store_id)
    language = ticket.language
    result = []
    for macro in found:
        chosen = macro_templating.choose_language(
            macro.variants, ticket_language=language, store_language=user.store.default_language)
        result.append((macro, chosen))
    # The ticket's own language first, then the rest by name.
    result.sort(key=lambda item: (item[1] != (language or item[1]), item[0].name.casefold()))
    return result


def _page_values(user: WebUser, ticket: Ticket) -> dict[str, Any]:
    return {"user": user, "ticket": ticket, "section": "inbox",
            "DELIVERY_LABELS": DELIVERY_LABELS, "VARIABLE_LABELS": VARIABLE_LABELS,
            "size_text": partial(size_text, user.page), **sidebar_values(user.page)}


async def _page(request: Request, db: AsyncSession, user: WebUser, ticket: Ticket,
                composer: Composer, *, status_code: int = 200) -> Response:
    messages = await thread(db, user.page, ticket)
    side = await sidebar(db, user, ticket)
    return render(request, user.page, "ticket/page.html", {
        **_page_values(user, ticket), "messages": messages, "side": side,
        "composer": composer, "macros": await _macros(db, user, ticket)},
        status_code=status_code)


@router.get("/tickets/{ticket_id}")
async def ticket_page(request: Request, ticket_id: IdPath, db: SessionDep,
                      user: CurrentUser) -> Response:
    ticket = await queries.get_ticket(db, store_id=user.store.id, ticket_id=ticket_id)
    mode = "reply" if user.can(Permission.TICKET_REPLY) else "note"
    return await _page(request, db, user, ticket, Composer(mode=mode))


@router.get("/tickets/{ticket_id}/thread")
async def thread_fragment(request: Request, ticket_id: IdPath, db: SessionDep,
                          user: CurrentUser) -> Response:
    ticket = await queries.get_ticket(db, store_id=user.store.id, ticket_id=ticket_id)
    return render(request, user.page, "ticket/_thread.html", {
        **_page_values(user, ticket), "messages": await thread(db, user.page, ticket)})


async def _message_of(db: AsyncSession, ticket: Ticket, message_id: int) -> Message:
    message = await db.scalar(select(Message).where(
        Message.id == message_id, Message.ticket_id == ticket.id,
        Message.store_id == ticket.store_id))
    if message is None:
        raise NotFound("message.not_found", f"message {message_id} not found",
                       field="message_id")
    return message


@router.get("/tickets/{ticket_id}/messages/{message_id}/status")
async def delivery_fragment(request: Request, ticket_id: IdPath, message_id: IdPath,
                            db: SessionDep, user: CurrentUser) -> Response:
    """One message's delivery state, for the live helper to swap in place."""
    ticket = await queries.get_ticket(db, store_id=user.store.id, ticket_id=ticket_id)
    message = await _message_of(db, ticket, message_id)
    view = MessageView(id=message.id, direction=message.direction, author="",
                       at=message.created_at, delivery=message.delivery_status,
                       delivery_error=message.delivery_error, text="", full_text=None,
                       html=None, files=[])
    return render(request, user.page, "ticket/_delivery.html", {
        **_page_values(user, ticket), "m": view})


@router.get("/tickets/{ticket_id}/attachments/{attachment_id}")
async def attachment_file(ticket_id: IdPath, attachment_id: IdPath, db: SessionDep,
                          user: CurrentUser) -> Response:
    """A file of this ticket: raster images inline (for previews), anything else as a
    download, never sniffed and never able to run as a page of ours."""
    ticket = await queries.get_ticket(db, store_id=user.store.id, ticket_id=ticket_id)
    att = await queries.get_attachment(db, store_id=user.store.id, attachment_id=attachment_id)
    await _message_of(db, ticket, att.message_id)
    data = context.get().blobs.get(att.sha256)
    ascii_name = att.filename.encode("ascii", "replace").decode().replace('"', "_")
    kind = "inline" if att.content_type in PREVIEW_TYPES else "attachment"
    return Response(content=data, media_type=att.content_type, headers={
        "Content-Disposition":
            f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(att.filename)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "private, max-age=86400",
    })


def _values(form: FormData) -> dict[str, str]:
    """The macro variables the agent filled in (fields named var.<variable>)."""
    result = {}
    for key, value in form.multi_items():
        if key.startswith("var.") and isinstance(value, str) and value.strip():
            result[key[4:]] = value.strip()
    return result


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _macro(db: AsyncSession, ticket: Ticket, raw: str) -> Macro | None:
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        raise Invalid("macro.not_found", "macro_id must be an id", field="macro_id")
    return await macro_queries.get_macro(db, store_id=ticket.store_id, macro_id=int(raw))


@router.get("/tickets/{ticket_id}/macro-preview")
async def macro_preview(request: Request, ticket_id: IdPath, db: SessionDep,
                        user: CurrentUser) -> Response:
    """The chosen macro rendered for this ticket: its text and the variables it lacks."""
    ticket = await queries.get_ticket(db, store_id=user.store.id, ticket_id=ticket_id)
    items: list[tuple[str, str | UploadFile]] = list(request.query_params.multi_items())
    params = FormData(items)
    values = {**_page_values(user, ticket), "preview": None, "macro": None, "error": None,
              "given": {}}
    try:
        user.require(Permission.TICKET_REPLY)
        macro = await _macro(db, ticket, _field(params, "macro_id"))
        if macro is not None:
            values["macro"] = macro
            values["preview"] = await macro_queries.preview(
                db, macro=macro, ticket=ticket, agent_id=user.agent.id, values=_values(params))
            values["given"] = _values(params)
    except AppError as exc:
        values["error"] = problem(user.page, exc)
        return render(request, user.page, "ticket/_macro_preview.html", values,
                      status_code=exc.status_code)
    return render(request, user.page, "ticket/_macro_preview.html", values)


def _rule_texts(page: Page, marketplace: str, found: list[RuleViolation]) -> list[str]:
    name = "Amazon" if marketplace.casefold() == "amazon" else "eBay"
    return [page._(RULE_TEXTS[v.code], name=name, excerpt=v.excerpt or "") for v in found]


async def _warnings(db: AsyncSession, user: WebUser, ticket: Ticket, text: str,
                    filenames: list[str]) -> list[str]:
    found = await email_adapter.reply_warnings(db, ticket=ticket, text=text,
                                               attachments=filenames)
    return _rule_texts(user.page, ticket.marketplace or "", found)


@router.post("/tickets/{ticket_id}/rules-check")
async def rules_check(request: Request, ticket_id: IdPath, db: SessionDep,
                      user: CurrentUser) -> Response:
    """The marketplace's messaging rules a draft breaks, shown while the agent writes."""
    ticket = await queries.get_ticket(db, store_id=user.store.id, ticket_id=ticket_id)
    form = await request.form()
    text = _field(form, "text")[:TEXT_MAX]
    warnings = await _warnings(db, user, ticket, text, []) if _field(form, "mode") != "note" \
        else []
    return render(request, user.page, "ticket/_rule_warnings.html",
                  {"warnings": warnings, "confirmable": False})


async def _files(form: FormData, page: Page) -> list[InboundAttachment]:
    uploads = [v for v in form.getlist("files")
               if isinstance(v, UploadFile) and (v.filename or v.size)]
    if len(uploads) > FILES_MAX:
        raise TooLarge("composer.too_many_files", page._("Attach at most {n} files.", n=FILES_MAX),
                       field="files")
    limit = context.get().blobs.max_bytes
    result = []
    for upload in uploads:
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise TooLarge("composer.file_too_large", page._(
                "The file {name} is larger than {size}.", name=upload.filename or "?",
                size=size_text(page, limit)), field="files")
        result.append(InboundAttachment(upload.filename or "attachment",
                                        upload.content_type, data))
    return result


def _check_status(ticket: Ticket, *targets: str | None) -> None:
    current = Status(ticket.status)
    if current == Status.CLOSED:
        raise Conflict(TicketError.CLOSED, "a closed ticket takes no new messages",
                       field="status")
    for target in targets:
        if not target:
            continue
        wanted = Status(target)
        if wanted != current and not can_transition(current, wanted):
            raise Conflict(TicketError.INVALID_TRANSITION,
                           f"a {current.value} ticket cannot become {wanted.value}",
                           field="status")
        current = wanted


@dataclass
class Draft:
    mode: str
    text: str
    status: str | None
    macro: Macro | None
    values: dict[str, str]
    files: list[InboundAttachment]
    confirmed: bool


async def _draft(db: AsyncSession, user: WebUser, ticket: Ticket, form: FormData) -> Draft:
    """What the composer sent, checked before anything is written."""
    mode = _field(form, "mode")
    if mode not in ("reply", "note"):
        raise Invalid("request.invalid", "mode must be reply or note", field="mode")
    user.require(Permission.TICKET_REPLY if mode == "reply" else Permission.TICKET_NOTE)
    status = _field(form, "status") or None
    if status is not None:
        if status not in {s.value for s in Status} - {Status.NEW.value}:
            raise Invalid("request.invalid", "unknown status", field="status")
        if mode == "note":
            user.require(Permission.TICKET_UPDATE)
    text = _field(form, "text")
    if len(text) > TEXT_MAX:
        raise TooLarge("composer.text_too_large", user.page._(
            "A message may have at most {n} characters.", n=TEXT_MAX), field="text")
    files = await _files(form, user.page)
    if not text.strip() and not files:
        raise Invalid(TicketError.EMPTY_MESSAGE, "text must not be empty", field="text")
    macro = await _macro(db, ticket, _field(form, "macro_id")) if mode == "reply" else None
    values = _values(form)
    macro_status = macro.actions.get("status") if macro is not None else None
    _check_status(ticket, macro_status, status)
    if macro is not None:
        preview = await macro_queries.preview(db, macro=macro, ticket=ticket,
                                              agent_id=user.agent.id, values=values)
        left = [name for name in _PLACEHOLDER.findall(text) if name in preview.missing]
        if left:
            raise Invalid("macro.missing_variables", f"no value for {', '.join(left)}",
                          field="values")
    return Draft(mode=mode, text=text, status=status, macro=macro, values=values, files=files,
                 confirmed=_field(form, "confirm_rules") == "1")


async def _send(db: AsyncSession, user: WebUser, ticket: Ticket, draft: Draft) -> None:
    actor = user.principal.actor
    if draft.mode == "note":
        await actions.add_note(db, ticket=ticket, actor=actor, text=draft.text,
                               author_agent_id=user.agent.id, attachments=draft.files)
        if draft.status is not None and draft.status != ticket.status:
            await actions.update_ticket(db, ticket=ticket, actor=actor,
                                        changes={"status": draft.status})
        return
    if draft.macro is not None:
        # The macro's tags, priority and status; the text sent is the agent's, edited or not.
        await macro_actions.apply_macro(db, macro=draft.macro, ticket=ticket, actor=actor,
                                        agent_id=user.agent.id, values=draft.values,
                                        send=False)
    await actions.reply(db, ticket=ticket, actor=actor, text=draft.text,
                        author_agent_id=user.agent.id,
                        status=Status(draft.status) if draft.status else None,
                        attachments=draft.files)


# Raised here with the sentence already in the agent's language.
_TRANSLATED = frozenset({"composer.too_many_files", "composer.file_too_large",
                         "composer.text_too_large"})


def _message(page: Page, exc: AppError) -> str:
    return exc.message if exc.code in _TRANSLATED else problem(page, exc)


async def _composer_response(request: Request, db: AsyncSession, user: WebUser,
                             ticket: Ticket, composer: Composer, status_code: int) -> Response:
    """A refused or held draft: the message above the composer, the draft left as it is."""
    if request.headers.get("hx-request") != "true":
        return await _page(request, db, user, ticket, composer, status_code=status_code)
    return render(request, user.page, "ticket/_feedback.html",
                  {"composer": composer, "user": user, "ticket": ticket},
                  status_code=status_code)


@router.post("/tickets/{ticket_id}/messages")
async def send_message(request: Request, ticket_id: IdPath, db: SessionDep,
                       user: CurrentUser) -> Response:
    """The composer: a reply or a note, with files, a macro and maybe a new status."""
    ticket = await queries.get_ticket(db, store_id=user.store.id, ticket_id=ticket_id)
    form = await request.form()
    mode = _field(form, "mode") if _field(form, "mode") in ("reply", "note") else "reply"
    composer = Composer(mode=mode, text=_field(form, "text")[:TEXT_MAX])
    try:
        draft = await _draft(db, user, ticket, form)
        if draft.mode == "reply" and not draft.confirmed:
            warnings = await _warnings(db, user, ticket, draft.text,
                                       [f.filename for f in draft.files])
            if warnings:
                composer.warnings = warnings
                return await _composer_response(request, db, user, ticket, composer, 409)
        await _send(db, user, ticket, draft)
    except AppError as exc:
        await recover(db, user, ticket)
        composer.error = _message(user.page, exc)
        return await _composer_response(request, db, user, ticket, composer,
                                        exc.status_code)
    if request.headers.get("hx-request") != "true":
        return RedirectResponse(f"/tickets/{ticket.id}", status_code=303)
    fresh = Composer(mode=mode, sent=True)
    return render(request, user.page, "ticket/_sent.html", {
        **_page_values(user, ticket), "composer": fresh,
        "messages": await thread(db, user.page, ticket),
        "side": await sidebar(db, user, ticket), "macros": await _macros(db, user, ticket)},
        headers={"HX-Retarget": "#composer", "HX-Reswap": "outerHTML"})

