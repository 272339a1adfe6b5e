"""The inbox: views with live counts, filters, keyset pages of 50 rows, bulk actions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from sellerdesk.accounts.permissions import Permission
from sellerdesk.api.deps import SessionDep
from sellerdesk.channels.registry import CHANNEL_TYPES
from sellerdesk.core.actor import Actor
from sellerdesk.core.clock import now
from sellerdesk.core.db import rollback
from sellerdesk.core.errors import AppError, Invalid, NotFound
from sellerdesk.core.i18n import N_
from sellerdesk.core.ids import MAX_ID
from sellerdesk.tickets import actions, queries, views
from sellerdesk.tickets.errors import TicketError
from sellerdesk.tickets.queries import SORT_PRIORITY, Sort
from sellerdesk.tickets.states import Priority, Status
from sellerdesk.tickets.tags import normalize_tag
from sellerdesk.tickets.views import BREACH_WINDOW, COUNT_CAP, View
from sellerdesk.web.session import CurrentUser, WebUser
from sellerdesk.web.templating import render

router = APIRouter()

PAGE_SIZE = 50
MAX_BULK = 100
SORTS = (Sort.SLA_DUE, Sort.UPDATED, SORT_PRIORITY)
FILTERS = ("status", "priority", "channel", "marketplace", "tag", "team", "assignee")
# Live events after which the rows and the counts are fetched again (see live.js).
LIVE_EVENTS = ("ticket.created", "ticket.updated", "message.created", "ticket.routed",
               "ticket.merged")

VIEW_LABELS = {
    View.MINE: N_("Mine"),
    View.UNASSIGNED: N_("Unassigned"),
    View.MY_TEAMS: N_("My teams"),
    View.OPEN: N_("All open"),
    View.BREACHING: N_("Breaching SLA soon"),
    View.PENDING: N_("Pending"),
    View.SOLVED: N_("Solved"),
}
STATUS_LABELS = {
    Status.NEW: N_("New"),
    Status.OPEN: N_("Open"),
    Status.PENDING: N_("Pending"),
    Status.ON_HOLD: N_("On hold"),
    Status.SOLVED: N_("Solved"),
    Status.CLOSED: N_("Closed"),
}
PRIORITY_LABELS = {
    Priority.URGENT: N_("Urgent"),
    Priority.HIGH: N_("High"),
    Priority.NORMAL: N_("Normal"),
    Priority.LOW: N_("Low"),
}
CHANNEL_LABELS = {
    "email": N_("Email"),
    "chat": N_("Chat"),
    "api": N_("API"),
    "webform": N_("Web form"),
    "marketplace": N_("Marketplace"),
    "social": N_("Social media"),
}
# Brand names are written the same in every language.
MARKETPLACE_NAMES = {"amazon": "Amazon", "ebay": "eBay", "allegro": "Allegro",
                     "coupang": "Coupang", "naver": "Naver", "etsy": "Etsy"}
SORT_LABELS = {
    Sort.SLA_DUE: N_("SLA due first"),
    Sort.UPDATED: N_("Recently updated"),
    SORT_PRIORITY: N_("Highest priority"),
}
# What a failed bulk step tells the agent, by error code.
BULK_ERRORS: dict[str, str] = {
    TicketError.INVALID_TRANSITION: N_("Its status cannot change to that one."),
    TicketError.CLOSED: N_("It is closed and cannot be changed."),
    TicketError.MERGE_INVALID: N_("Closed tickets cannot be merged."),
    TicketError.MERGE_SELF: N_("A ticket cannot be merged into itself."),
    TicketError.UNKNOWN_AGENT: N_("That agent is not active in this store."),
    TicketError.UNKNOWN_TEAM: N_("That team does not exist in this store."),
}


def channel_label(page_: Callable[[str], str], value: str) -> str:
    label = CHANNEL_LABELS.get(value)
    return page_(label) if label else value


def marketplace_name(value: str) -> str:
    return MARKETPLACE_NAMES.get(value, value.capitalize())


def sorts_for(view: View) -> tuple[str, ...]:
    """Solved tickets have no SLA clock left to sort by."""
    return tuple(s for s in SORTS if not (view == View.SOLVED and s == Sort.SLA_DUE))


def _bad(user: WebUser, field: str, text: str) -> Invalid:
    return Invalid("request.invalid", user.page._(text), field=field)


def _id_value(value: str) -> int | None:
    if value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_ID:
        return int(value)
    return None


@dataclass(frozen=True, slots=True)
class Listing:
    """What the agent asked for: a view, filters, a sort and a cursor (all checked)."""

    view: View
    sort: str
    narrowing: views.Narrowing
    params: dict[str, str]  # the non-empty filters and sort, as they go into links
    cursor: str | None

    def url(self, path: str = "/inbox", **changes: str | None) -> str:
        values = {"view": self.view.value, **self.params}
        values.update({k: v for k, v in changes.items() if v is not None})
        for key, value in changes.items():
            if value is None:
                values.pop(key, None)
        return f"{path}?{urlencode(values)}"


def parse_listing(user: WebUser, query: Mapping[str, str]) -> Listing:
    raw_view = query.get("view") or View.MINE.value
    try:
        view = View(raw_view)
    except ValueError:
        raise _bad(user, "view", N_("Choose a view from the list.")) from None
    params = {k: query[k].strip() for k in FILTERS if query.get(k, "").strip()}
    sort = query.get("sort") or views.default_sort(view)
    if sort not in sorts_for(view):
        raise _bad(user, "sort", N_("Choose a sort order from the list."))
    if query.get("sort"):
        params["sort"] = sort
    status = priority = None
    if "status" in params:
        try:
            status = Status(params["status"])
        except ValueError:
            raise _bad(user, "status", N_("Choose a status from the list.")) from None
    if "priority" in params:
        try:
            priority = Priority(params["priority"]).value
        except ValueError:
            raise _bad(user, "priority", N_("Choose a priority from the list.")) from None
    team_id = None
    if "team" in params and (team_id := _id_value(params["team"])) is None:
        raise _bad(user, "team", N_("Choose a team from the list."))
    assignee_id, unassigned = None, False
    if "assignee" in params:
        value = params["assignee"]
        if value == "me":
            assignee_id = user.agent.id
        elif value == "none":
            unassigned = True
        elif (assignee_id := _id_value(value)) is None:
            raise _bad(user, "assignee", N_("Choose an agent from the list."))
    tag = normalize_tag(params["tag"], field="tag") if "tag" in params else None
    narrowing = views.Narrowing(
        status=status, priority=priority, team_id=team_id, assignee_id=assignee_id,
        unassigned=unassigned, channel=params.get("channel"),
        marketplace=params.get("marketplace"), tag=tag,
    )
    cursor = query.get("cursor") or None
    return Listing(view, sort, narrowing, params, cursor)


async def _rows_context(db: SessionDep, user: WebUser, listing: Listing) -> dict[str, Any]:
    at = now()
    viewer = await views.viewer_for(db, store_id=user.store.id, agent_id=user.agent.id)
    page = await views.view_page(db, viewer=viewer, view=listing.view,
                                 narrowing=listing.narrowing, sort=listing.sort, at=at,
                                 limit=PAGE_SIZE, cursor=listing.cursor)
    rows = await views.inbox_rows(db, store_id=user.store.id, tickets=page.items)
    agents = await views.store_agents(db, store_id=user.store.id)
    teams = await views.store_teams(db, store_id=user.store.id)
    return {
        "user": user, "section": "inbox", "listing": listing, "rows": rows,
        "next_cursor": page.next_cursor, "viewer": viewer, "now": at,
        "warn_before": at + BREACH_WINDOW, "agents": agents, "agent_names": dict(agents),
        "teams": teams, "team_names": dict(teams), "live_trigger": _live_trigger(),
        # Translated once per page rather than once per row.
        "status_names": {k: user.page._(v) for k, v in STATUS_LABELS.items()},
        "priority_names": {k: user.page._(v) for k, v in PRIORITY_LABELS.items()},
        "channel_names": {k: user.page._(v) for k, v in CHANNEL_LABELS.items()},
        **labels(),
    }


def _live_trigger(extra: str = "") -> str:
    triggers = [f"live:{name} from:body delay:500ms" for name in LIVE_EVENTS]
    triggers.append("inbox-changed from:body")
    return ", ".join(([extra] if extra else []) + triggers)


def labels() -> dict[str, Any]:
    return {
        "VIEW_LABELS": VIEW_LABELS, "STATUS_LABELS": STATUS_LABELS,
        "PRIORITY_LABELS": PRIORITY_LABELS, "SORT_LABELS": SORT_LABELS, "sorts_for": sorts_for,
        "channel_label": channel_label, "marketplace_name": marketplace_name,
        "COUNT_CAP": COUNT_CAP, "views_in_order": list(View),
        "CHANNEL_CHOICES": CHANNEL_TYPES, "MARKETPLACE_CHOICES": sorted(MARKETPLACE_NAMES),
    }


@router.get("/inbox")
async def inbox(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    listing = parse_listing(user, request.query_params)
    context = await _rows_context(db, user, listing)
    # The per-view numbers are index counts (well under a millisecond each); the per-channel
    # and per-marketplace ones group the active tickets, so the sidebar fetches those after.
    counts = await views.view_counts(db, viewer=context["viewer"], at=context["now"],
                                     with_channels=False)
    return render(request, user.page, "inbox/page.html",
                  {**context, "counts": counts, "lazy_counts": True})


@router.get("/inbox/rows")
async def inbox_rows(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    listing = parse_listing(user, request.query_params)
    context = await _rows_context(db, user, listing)
    return render(request, user.page, "inbox/rows.html", context)


@router.get("/inbox/counts")
async def inbox_counts(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    listing = parse_listing(user, request.query_params)
    viewer = await views.viewer_for(db, store_id=user.store.id, agent_id=user.agent.id)
    counts = await views.view_counts(db, viewer=viewer, at=now())
    return render(request, user.page, "inbox/views.html", {
        "user": user, "listing": listing, "counts": counts, "lazy_counts": False,
        "live_trigger": _live_trigger(), **labels()})


# --- bulk actions ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Outcome:
    ticket_id: int
    error: str | None = None


def _form_ids(user: WebUser, form: FormData) -> list[int]:
    ids: list[int] = []
    for value in form.getlist("ids"):
        found = _id_value(value) if isinstance(value, str) else None
        if found is None:
            raise _bad(user, "ids", N_("Choose tickets from the list."))
        if found not in ids:
            ids.append(found)
    if not ids:
        raise _bad(user, "ids", N_("Select at least one ticket."))
    if len(ids) > MAX_BULK:
        raise _bad(user, "ids", N_("Select at most 100 tickets at a time."))
    return ids


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _bulk_changes(db: SessionDep, user: WebUser, form: FormData,
                        action: str) -> dict[str, Any]:
    """The same change for every selected ticket, checked once before any is touched."""
    if action == "assign":
        target = _text(form, "assignee")
        if target == "me":
            return {"assignee_id": user.agent.id}
        if target == "none":
            return {"assignee_id": None}
        if target.startswith("team:"):
            team_id = _id_value(target[5:])
            if team_id is None or team_id not in dict(
                    await views.store_teams(db, store_id=user.store.id)):
                raise _bad(user, "assignee", N_("Choose a team from the list."))
            return {"team_id": team_id}
        agent_id = _id_value(target)
        if agent_id is None or agent_id not in dict(
                await views.store_agents(db, store_id=user.store.id)):
            raise _bad(user, "assignee", N_("Choose an agent from the list."))
        return {"assignee_id": agent_id}
    if action == "status":
        try:
            return {"status": Status(_text(form, "status"))}
        except ValueError:
            raise _bad(user, "status", N_("Choose a status from the list.")) from None
    if action == "tag":
        try:
            return {"tag": normalize_tag(_text(form, "tag"), field="tag")}
        except Invalid:
            raise _bad(user, "tag", N_("A tag has 1 to 64 characters and no commas.")) from None
    raise _bad(user, "action", N_("Choose what to do with the selected tickets."))


async def _apply_one(db: SessionDep, store_id: int, actor: Actor, ticket_id: int,
                     changes: dict[str, Any]) -> None:
    ticket = await queries.get_ticket(db, store_id=store_id, ticket_id=ticket_id)
    if "tag" in changes:
        tags = await queries.ticket_tag_names(db, ticket_id=ticket.id)
        if changes["tag"] in tags:
            return
        changes = {"tags": [*tags, changes["tag"]]}
    await actions.update_ticket(db, ticket=ticket, actor=actor, changes=changes)


async def _merge(db: SessionDep, store_id: int, actor: Actor, ids: list[int],
                 into: int | None) -> tuple[int, list[Outcome]]:
    target_id = into if into is not None else ids[0]
    outcomes = []
    for ticket_id in ids:
        if ticket_id == target_id:
            continue
        try:
            source = await queries.get_ticket(db, store_id=store_id, ticket_id=ticket_id)
            target = await queries.get_ticket(db, store_id=store_id, ticket_id=target_id)
            await actions.merge_tickets(db, source=source, target=target, actor=actor)
            outcomes.append(Outcome(ticket_id))
        except AppError as exc:
            await rollback(db)
            outcomes.append(Outcome(ticket_id, _bulk_error(exc)))
    return target_id, outcomes


def _bulk_error(exc: AppError) -> str:
    return BULK_ERRORS.get(exc.code, N_("This change could not be made."))


@router.post("/inbox/bulk")
async def bulk(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    """One change on many tickets through the ticket actions; each ticket succeeds or fails
    on its own (one transaction each), and the failures are listed."""
    form = await request.form()
    action = _text(form, "action")
    user.require(Permission.TICKET_MERGE if action == "merge" else Permission.TICKET_UPDATE)
    try:
        return await _bulk(request, db, user, form, action)
    except Invalid as exc:
        # The reason itself (already in the agent's language), where htmx shows errors.
        return HTMLResponse(f'<p class="error" role="alert">{escape(exc.message)}</p>',
                            status_code=exc.status_code, headers={"X-Error-Code": exc.code})


async def _bulk(request: Request, db: SessionDep, user: WebUser, form: FormData,
                action: str) -> Response:
    ids = _form_ids(user, form)
    into = None
    if action == "merge" and _text(form, "into"):
        into = _id_value(_text(form, "into").lstrip("#"))
        if into is None:
            raise _bad(user, "into", N_("Enter the number of a ticket to merge into."))
    wanted = [*ids, into] if into is not None else ids
    known = await views.existing_ids(db, store_id=user.store.id, ticket_ids=wanted)
    if missing := [i for i in wanted if i not in known]:
        # Unknown here or another store's: nothing is changed, and nothing is told about it.
        raise NotFound(TicketError.NOT_FOUND, f"ticket {missing[0]} not found", field="ids")
    target_id = None
    # Taken now: a failed ticket's rollback expires every loaded object, the user's too.
    store_id, actor = user.store.id, user.principal.actor
    if action == "merge":
        if len(ids) < 2 and into is None:
            raise _bad(user, "ids", N_("Select at least two tickets to merge."))
        target_id, outcomes = await _merge(db, store_id, actor, ids, into)
    else:
        changes = await _bulk_changes(db, user, form, action)
        outcomes = []
        for ticket_id in ids:
            try:
                await _apply_one(db, store_id, actor, ticket_id, changes)
                outcomes.append(Outcome(ticket_id))
            except AppError as exc:
                await rollback(db)
                outcomes.append(Outcome(ticket_id, _bulk_error(exc)))
    if any(o.error for o in outcomes):
        for loaded in (user.agent, user.store, user.session):
            await db.refresh(loaded)
    response = render(request, user.page, "inbox/bulk_result.html", {
        "user": user, "section": "inbox", "target_id": target_id, "action": action,
        "done": [o.ticket_id for o in outcomes if o.error is None],
        "failed": [o for o in outcomes if o.error is not None]})
    response.headers["HX-Trigger"] = "inbox-changed"
    return response

