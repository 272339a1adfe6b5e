"""The ticket page's sidebar: customer, past tickets, properties, SLA and timeline, and the
inline edits made there (properties, tags, the customer's note), each through an action."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sellerdesk.accounts.models import Agent, Team
from sellerdesk.accounts.permissions import Permission
from sellerdesk.api.deps import SessionDep
from sellerdesk.automation import queries as sla_queries
from sellerdesk.automation.sla import TargetState
from sellerdesk.core.clock import now
from sellerdesk.core.db import rollback
from sellerdesk.core.errors import AppError, Invalid
from sellerdesk.core.i18n import N_
from sellerdesk.core.ids import MAX_ID, IdPath
from sellerdesk.customers import actions as customer_actions
from sellerdesk.customers import queries as customer_queries
from sellerdesk.customers.models import Customer, CustomerIdentity
from sellerdesk.tickets import actions, queries
from sellerdesk.tickets.models import AuditEvent, Ticket
from sellerdesk.tickets.states import TRANSITIONS, Priority, Status
from sellerdesk.web.session import CurrentUser, WebUser
from sellerdesk.web.templating import Page, render

router = APIRouter()

STATUS_LABELS = {
    "new": N_("New"), "open": N_("Open"), "pending": N_("Pending"), "on_hold": N_("On hold"),
    "solved": N_("Solved"), "closed": N_("Closed"),
}
PRIORITY_LABELS = {
    "low": N_("Low"), "normal": N_("Normal"), "high": N_("High"), "urgent": N_("Urgent"),
}
CHANNEL_LABELS = {
    "api": N_("Shop API"), "email": N_("Email"), "chat": N_("Chat"), "webform": N_("Web form"),
    "marketplace": N_("Marketplace"), "social": N_("Social media"),
}
# Brand names stay as the brands write them in every language.
MARKETPLACE_NAMES = {"amazon": "Amazon", "ebay": "eBay", "allegro": "Allegro",
                     "coupang": "Coupang", "naver": "Naver", "etsy": "Etsy"}
IDENTITY_LABELS = {
    "email": N_("Email"), "phone": N_("Phone"), "chat": N_("Chat"),
    "marketplace": N_("Marketplace buyer"), "social": N_("Social media"), "handle": N_("Handle"),
}
SLA_KIND_LABELS = {
    "first_response": N_("First response"), "next_response": N_("Next response"),
    "resolution": N_("Resolution"),
}
SLA_STATE_LABELS = {
    TargetState.ACTIVE: N_("Running"), TargetState.PAUSED: N_("Paused"),
    TargetState.MET: N_("Met"), TargetState.BREACHED: N_("Breached"),
}
AUDIT_LABELS = {
    "ticket.created": N_("Ticket created"),
    "ticket.updated": N_("Ticket updated"),
    "ticket.merged": N_("Merged into another ticket"),
    "ticket.merge_received": N_("Another ticket merged into this one"),
    "ticket.reopened": N_("Ticket reopened"),
    "ticket.routed": N_("Ticket routed"),
    "ticket.queued": N_("Ticket queued for routing"),
    "ticket.language_detected": N_("Language detected"),
    "message.received": N_("Message received"),
    "message.replied": N_("Reply written"),
    "message.noted": N_("Internal note added"),
    "message.sent": N_("Reply sent"),
    "message.failed": N_("Reply could not be sent"),
    "message.bounced": N_("Reply bounced"),
    "macro.applied": N_("Macro applied"),
    "rule.applied": N_("Rule applied"),
    "rule.webhook_sent": N_("Rule webhook sent"),
    "rule.webhook_failed": N_("Rule webhook failed"),
    "sla.applied": N_("SLA policy applied"),
    "sla.met": N_("SLA target met"),
    "sla.met_late": N_("SLA target met late"),
    "sla.warning": N_("SLA warning"),
    "sla.breached": N_("SLA breached"),
    "walk.started": N_("Escalation guide started"),
    "walk.answered": N_("Escalation guide step answered"),
    "walk.completed": N_("Escalation guide completed"),
    "grant.approval_requested": N_("Approval requested"),
    "grant.approved": N_("Approval granted"),
    "grant.declined": N_("Approval declined"),
    "customer.updated": N_("Customer updated"),
}
FIELD_LABELS = {
    "status": N_("Status"), "priority": N_("Priority"), "assignee_id": N_("Assignee"),
    "team_id": N_("Team"), "tags": N_("Tags"), "subject": N_("Subject"),
}
ERROR_TEXTS = {
    "ticket.empty_message": N_("Write a message or attach a file first."),
    "ticket.invalid_transition": N_("The ticket cannot take this status now."),
    "ticket.closed": N_("The ticket is closed and cannot be changed."),
    "ticket.unknown_agent": N_("Choose an active agent of your store."),
    "ticket.unknown_team": N_("Choose a team of your store."),
    "ticket.invalid_tag": N_("A tag needs 1 to 64 characters and no commas."),
    "ticket.not_found": N_("This page or ticket does not exist in your store."),
    "access.forbidden": N_("Your role may not do this."),
    "account.bad_csrf": N_("The form has expired. Reload the page and try again."),
    "macro.not_found": N_("Choose a macro from the list."),
    "macro.unknown_variable": N_("Choose a macro from the list."),
    "macro.missing_variables": N_("Fill in the missing values first."),
    "macro.empty_text": N_("This macro has no text for this ticket."),
    "macro.output_too_large": N_("The file or message is too large."),
    "macro.invalid_template": N_("This macro cannot be used; ask an admin to fix it."),
    "attachment.too_large": N_("The file or message is too large."),
    "customer.note_too_long": N_("The note may have at most {n} characters."),
}
NOTE_MAX = 5000
TIMELINE_LIMIT = 50
PAST_TICKETS = 8


def problem(page: Page, exc: AppError) -> str:
    """The agent's language's sentence for an action's error code."""
    text = ERROR_TEXTS.get(exc.code)
    if text is None:
        return page._("Some of what was sent is not valid. Check the form and try again.")
    if exc.code == "customer.note_too_long":
        return page._(text, n=NOTE_MAX)
    return page._(text)


async def recover(db: AsyncSession, user: WebUser, *objects: object) -> None:
    """Undo what a refused action wrote, and reload what the page still shows."""
    await rollback(db)
    for obj in (user.agent, user.store, *objects):
        await db.refresh(obj)


def label(page: Page, labels: dict[str, str], value: str | None) -> str:
    if value is None:
        return ""
    known = labels.get(value)
    return page._(known) if known is not None else value


def marketplace_name(value: str | None) -> str:
    if not value:
        return ""
    return MARKETPLACE_NAMES.get(value, value.capitalize())


@dataclass
class SlaRow:
    kind: str
    state: str
    due_at: datetime | None
    breached: bool
    paused: bool
    met: bool


@dataclass
class TimelineEntry:
    action: str
    actor: str
    at: datetime
    changes: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class Sidebar:
    ticket: Ticket
    customer: Customer | None
    identities: list[CustomerIdentity]
    past: list[Ticket]
    tags: list[str]
    agents: list[Agent]
    teams: list[Team]
    statuses: list[str]
    sla: list[SlaRow]
    sla_policy: str | None
    can_read_audit: bool  # the timeline comes on demand: GET /tickets/{id}/timeline


async def _customer(db: AsyncSession, ticket: Ticket) -> Customer | None:
    if ticket.customer_id is None:
        return None
    return await db.scalar(select(Customer).where(
        Customer.id == ticket.customer_id, Customer.store_id == ticket.store_id))


async def _sla(db: AsyncSession, ticket: Ticket) -> tuple[list[SlaRow], str | None]:
    view = await sla_queries.ticket_sla(db, ticket_id=ticket.id)
    rows = [SlaRow(kind=t.kind.value, state=t.state.value, due_at=t.due_at,
                   breached=t.state == TargetState.BREACHED,
                   paused=t.state == TargetState.PAUSED or not t.running,
                   met=t.state == TargetState.MET)
            for t in view.targets]
    return rows, view.state.policy_name if view.state else None


def _value(page: Page, key: str, value: Any, agents: dict[int, str], teams: dict[int, str]
           ) -> str:
    if value is None or value == []:
        return "—"
    if key == "status":
        return label(page, STATUS_LABELS, str(value))
    if key == "priority":
        return label(page, PRIORITY_LABELS, str(value))
    if key == "assignee_id":
        return agents.get(value, f"#{value}")
    if key == "team_id":
        return teams.get(value, f"#{value}")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _timeline(page: Page, events: list[AuditEvent], agents: dict[int, str],
              teams: dict[int, str]) -> list[TimelineEntry]:
    result = []
    for event in events:
        if event.actor_type == "agent" and event.actor_id is not None:
            actor = agents.get(event.actor_id, page._("Agent"))
        elif event.actor_type == "channel":
            actor = page._("Channel")
        elif event.actor_type == "customer":
            actor = page._("Customer")
        elif event.actor_type == "system":
            actor = page._("SellerDesk")
        else:
            actor = page._("Integration")
        entry = TimelineEntry(action=label(page, AUDIT_LABELS, event.action), actor=actor,
                              at=event.created_at)
        if event.action == "ticket.updated" and event.after:
            before = event.before or {}
            for key, after in event.after.items():
                if key in FIELD_LABELS:
                    entry.changes.append((page._(FIELD_LABELS[key]),
                                          _value(page, key, before.get(key), agents, teams),
                                          _value(page, key, after, agents, teams)))
        result.append(entry)
    return result


async def timeline(db: AsyncSession, user: WebUser, ticket: Ticket) -> list[TimelineEntry]:
    """The ticket's audit trail, newest first, with names and translated actions."""
    user.require(Permission.AUDIT_READ)
    events = await queries.audit_events(db, store_id=ticket.store_id, ticket_id=ticket.id,
                                        limit=TIMELINE_LIMIT)
    agent_ids = {e.actor_id for e in events if e.actor_type == "agent" and e.actor_id}
    team_ids: set[int] = set()
    for event in events:
        for values in (event.before or {}, event.after or {}):
            if isinstance(values.get("assignee_id"), int):
                agent_ids.add(values["assignee_id"])
            if isinstance(values.get("team_id"), int):
                team_ids.add(values["team_id"])
    agents: dict[int, str] = {}
    teams: dict[int, str] = {}
    if agent_ids:
        rows = await db.execute(select(Agent.id, Agent.name).where(
            Agent.id.in_(agent_ids), Agent.store_id == ticket.store_id))
        agents = {row.id: row.name for row in rows}
    if team_ids:
        found = await db.execute(select(Team.id, Team.name).where(
            Team.id.in_(team_ids), Team.store_id == ticket.store_id))
        teams = {row.id: row.name for row in found}
    return _timeline(user.page, events, agents, teams)


async def sidebar(db: AsyncSession, user: WebUser, ticket: Ticket) -> Sidebar:
    """Everything the sidebar shows, in a fixed number of queries."""
    customer = await _customer(db, ticket)
    identities: list[CustomerIdentity] = []
    past: list[Ticket] = []
    if customer is not None:
        identities = await customer_queries.identities(db, customer_id=customer.id)
        found = await queries.list_tickets(
            db, store_id=ticket.store_id,
            filters=queries.TicketFilters(customer_id=customer.id), limit=PAST_TICKETS + 1)
        past = [t for t in found.items if t.id != ticket.id][:PAST_TICKETS]
    agents = list((await db.execute(
        select(Agent).where(Agent.store_id == ticket.store_id, Agent.is_active.is_(True))
        .order_by(Agent.name, Agent.id))).scalars())
    teams = list((await db.execute(
        select(Team).where(Team.store_id == ticket.store_id).order_by(Team.name, Team.id)
    )).scalars())
    sla_rows, policy = await _sla(db, ticket)
    current = Status(ticket.status)
    statuses = [s.value for s in Status if s == current or s in TRANSITIONS[current]]
    return Sidebar(ticket=ticket, customer=customer, identities=identities, past=past,
                   tags=await queries.ticket_tag_names(db, ticket_id=ticket.id), agents=agents,
                   teams=teams, statuses=statuses, sla=sla_rows, sla_policy=policy,
                   can_read_audit=user.can(Permission.AUDIT_READ))


def sidebar_values(page: Page) -> dict[str, Any]:
    """The label tables the ticket templates use, and `label(table, value)` to show one."""
    return {"STATUS_LABELS": STATUS_LABELS, "PRIORITY_LABELS": PRIORITY_LABELS,
            "IDENTITY_LABELS": IDENTITY_LABELS, "SLA_KIND_LABELS": SLA_KIND_LABELS,
            "SLA_STATE_LABELS": SLA_STATE_LABELS, "CHANNEL_LABELS": CHANNEL_LABELS,
            "label": partial(label, page), "marketplace_name": marketplace_name,
            "now": now()}


async def _fragment(request: Request, db: AsyncSession, user: WebUser, ticket: Ticket,
                    name: str, *, status_code: int = 200, error: str | None = None,
                    saved: bool = False) -> Response:
    side = await sidebar(db, user, ticket)
    # A saved change also refreshes the thread's header (status and priority badges).
    headers = {"HX-Trigger": "ticket:refresh"} if saved else None
    return render(request, user.page, name, {
        "user": user, "ticket": ticket, "side": side, "error": error, "saved": saved,
        **sidebar_values(user.page)}, status_code=status_code, headers=headers)


Text = Annotated[str, Form(max_length=10_000)]


def _id_value(value: str, field_name: str) -> int | None:
    if value in ("", "none"):
        return None
    if value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_ID:
        return int(value)
    raise Invalid("request.invalid", f"{field_name} must be an id", field=field_name)


def _changes(user: WebUser, name: str, value: str) -> dict[str, Any]:
    if name == "assignee":
        if value == "me":
            return {"assignee_id": user.agent.id}
        return {"assignee_id": _id_value(value, "assignee_id")}
    if name == "team":
        return {"team_id": _id_value(value, "team_id")}
    if name == "priority" and value in {p.value for p in Priority}:
        return {"priority": value}
    if name == "status" and value in {s.value for s in Status} - {Status.NEW.value}:
        return {"status": value}
    raise Invalid("request.invalid", f"{name} cannot be set to {value!r}", field=name)


@router.get("/tickets/{ticket_id}/sidebar")
async def sidebar_fragment(request: Request, ticket_id: IdPath, db: SessionDep,
                           user: CurrentUser) -> Response:
    ticket = await queries.get_ticket(db, store_id=user.store.id, ticket_id=ticket_id)
    return await _fragment(request, db, user, ticket, "ticket/_sidebar.html")


@router.get("/tickets/{ticket_id}/timeline")
async def timeline_fragment(request: Request, ticket_id: IdPath, db: SessionDep,
                            user: CurrentUser) -> Response:
    """The audit trail, loaded when the agent opens the History section."""
    ticket = await queries.get_ticket(db, store_id=user.store.id, ticket_id=ticket_id)
    entries = await timeline(db, user, ticket)
    return render(request, user.page, "ticket/_timeline_items.html",
                  {"user": user, "ticket": ticket, "entries": entries})


@router.post("/tickets/{ticket_id}/properties")
async def edit_property(request: Request, ticket_id: IdPath, db: SessionDep,
                        user: CurrentUser, name: Text, value: Text = "") -> Response:
    """One property changed inline (assignee, team, priority, status); the section again."""
    ticket = await queries.get_ticket(db, store_id=user.store.id, ticket_id=ticket_id)
    try:
        user.require(Permission.TICKET_UPDATE)
        await actions.update_ticket(db, ticket=ticket, actor=user.principal.actor,
                                    changes=_changes(user, name, value))
    except AppError as exc:
        await recover(db, user, ticket)
        return await _fragment(request, db, user, ticket, "ticket/_properties.html",
                               status_code=exc.status_code, error=problem(user.page, exc))
    return await _fragment(request, db, user, ticket, "ticket/_properties.html", saved=True)


@router.post("/tickets/{ticket_id}/tags")
async def edit_tags(request: Request, ticket_id: IdPath, db: SessionDep, user: CurrentUser,
                    tag: Annotated[str, Form(max_length=200)],
                    op: Annotated[str, Form(pattern="^(add|remove)$")] = "add") -> Response:
    """Add or remove one tag; the properties section again."""
    ticket = await queries.get_ticket(db, store_id=user.store.id, ticket_id=ticket_id)
    try:
        user.require(Permission.TICKET_UPDATE)
        current = await queries.ticket_tag_names(db, ticket_id=ticket.id)
        wanted = [*current, tag] if op == "add" else [t for t in current if t != tag]
        await actions.update_ticket(db, ticket=ticket, actor=user.principal.actor,
                                    changes={"tags": wanted})
    except AppError as exc:
        await recover(db, user, ticket)
        return await _fragment(request, db, user, ticket, "ticket/_properties.html",
                               status_code=exc.status_code, error=problem(user.page, exc))
    return await _fragment(request, db, user, ticket, "ticket/_properties.html", saved=True)


@router.post("/tickets/{ticket_id}/customer-note")
async def edit_customer_note(request: Request, ticket_id: IdPath, db: SessionDep,
                             user: CurrentUser,
                             note: Annotated[str, Form(max_length=100_000)] = "") -> Response:
    """The ticket's customer's note, saved through the customers' action."""
    ticket = await queries.get_ticket(db, store_id=user.store.id, ticket_id=ticket_id)
    customer = await _customer(db, ticket)
    if customer is None:
        raise Invalid("customer.not_found", "this ticket has no customer", field="customer_id")
    try:
        user.require(Permission.CUSTOMER_UPDATE)
        if len(note) > NOTE_MAX:
            raise Invalid("customer.note_too_long", f"at most {NOTE_MAX} characters",
                          field="note")
        await customer_actions.update_customer(
            db, customer=customer, actor=user.principal.actor,
            changes={"note": note.strip() or None})
    except AppError as exc:
        await recover(db, user, ticket, customer)
        return await _fragment(request, db, user, ticket, "ticket/_customer.html",
                               status_code=exc.status_code, error=problem(user.page, exc))
    return await _fragment(request, db, user, ticket, "ticket/_customer.html", saved=True)
