"""Automation settings in the workspace: SLA calendars and policies, macros, rules, routing,
pre-approved actions and escalation trees.

Each kind is edited as its REST API definition (the same JSON the API takes), saved by the
browser through the API with the signed-in session: one validation, one set of error codes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sellerdesk.accounts.permissions import Permission
from sellerdesk.automation.rules.schemas import ACTIONS_EXAMPLE, CONDITIONS_EXAMPLE
from sellerdesk.core.errors import NotFound
from sellerdesk.core.i18n import N_
from sellerdesk.core.ids import IdPath
from sellerdesk.web.session import CurrentUser
from sellerdesk.web.templating import render

router = APIRouter(prefix="/automation")

# Fields the API returns but does not take back.
_READ_ONLY = ("id", "position", "created_at", "updated_at")


@dataclass(frozen=True)
class Kind:
    key: str  # the URL part
    title: str  # N_() text
    description: str  # N_() text
    api: str  # the REST collection
    template: dict[str, Any]  # what "New" starts from
    read_only: tuple[str, ...] = _READ_ONLY
    columns: tuple[str, ...] = ("name",)
    permission: Permission = Permission.SETTINGS_MANAGE
    singleton: bool = False  # one object per store: GET and PATCH on `api` itself


KINDS: dict[str, Kind] = {k.key: k for k in (
    Kind("calendars", N_("Business hours"),
         N_("Opening hours and holidays per time zone; SLA targets in business time count "
            "only these hours."),
         "/api/v1/calendars",
         {"name": "Office hours", "timezone": "Europe/Warsaw",
          "hours": {d: [{"start": "09:00", "end": "17:00"}]
                    for d in ("mon", "tue", "wed", "thu", "fri")},
          "holidays": [{"date": "2026-12-25", "name": "Boże Narodzenie"}]},
         columns=("name", "timezone")),
    Kind("sla-policies", N_("SLA policies"),
         N_("Response and resolution targets, matched in order by channel, marketplace, "
            "priority, tag and customer language."),
         "/api/v1/sla/policies",
         {"name": "Amazon buyer messages", "is_active": True,
          "conditions": {"marketplaces": ["amazon"]},
          "targets": {"first_response": {"minutes": 1440, "business_hours": False}},
          "calendar_id": None, "pause_on": ["pending", "on_hold"], "warning": {"percent": 80}},
         columns=("name", "is_active")),
    Kind("macros", N_("Macros"),
         N_("Reply templates with variables, one text per language, and optional actions."),
         "/api/v1/macros",
         {"name": "Parcel on its way", "description": None,
          "variants": {"en": "Hello {{ customer.first_name }},\n\nyour parcel is on its way.",
                       "pl": "Dzień dobry {{ customer.first_name }},\n\npaczka jest w drodze.",
                       "ko": "{{ customer.name }}님, 안녕하세요.\n\n상품이 배송 중입니다."},
          "actions": {"status": "pending", "tags": ["shipping"]}},
         columns=("name", "description")),
    Kind("rules", N_("Rules"),
         N_("When something happens to a ticket (created, message received, status changed, "
            "SLA warning or breach) and the conditions hold, the actions run, in order."),
         "/api/v1/rules",
         {"name": "Refunds from Amazon are urgent", "description": None, "is_active": True,
          "events": ["ticket.created", "message.received"],
          "conditions": CONDITIONS_EXAMPLE, "actions": ACTIONS_EXAMPLE},
         read_only=(*_READ_ONLY, "times_fired", "last_fired_at"),
         columns=("name", "is_active", "events")),
    Kind("pre-approved-actions", N_("Pre-approved actions"),
         N_("What agents may grant on their own (refunds, reships, credits), with limits per "
            "role, ticket, customer and period; above a limit a manager approves."),
         "/api/v1/pre-approved-actions",
         {"name": "Refund up to 30 EUR", "description": None, "kind": "refund",
          "currency": "EUR", "max_amount": "30.00",
          "limits": [{"kind": "role", "role": "agent", "max_amount": "30.00"},
                     {"kind": "customer", "count": 2, "period_days": 30}],
          "macro_id": None, "is_active": True},
         columns=("name", "kind", "is_active")),
    Kind("escalation-trees", N_("Escalation trees"),
         N_("Questions an agent answers from a ticket, leading to an outcome: a macro, a "
            "pre-approved action or an escalation."),
         "/api/v1/escalation-trees",
         {"name": "Damaged parcel", "description": None, "is_active": True, "nodes": [
             {"id": "photo", "kind": "question",
              "text": {"en": "Did the customer send a photo of the damage?",
                       "pl": "Czy klient przysłał zdjęcie uszkodzenia?",
                       "ko": "고객이 파손 사진을 보냈나요?"},
              "answers": [{"id": "yes", "label": {"en": "Yes", "pl": "Tak", "ko": "예"},
                           "next": "refund"},
                          {"id": "no", "label": {"en": "No", "pl": "Nie", "ko": "아니요"},
                           "next": "ask"}]},
             {"id": "refund", "kind": "outcome",
              "text": {"en": "Offer a refund or a replacement.",
                       "pl": "Zaproponuj zwrot pieniędzy lub wymianę.",
                       "ko": "환불 또는 교환을 안내하세요."},
              "outcome": {"type": "advice"}},
             {"id": "ask", "kind": "outcome",
              "text": {"en": "Ask the customer for a photo.", "pl": "Poproś klienta o zdjęcie.",
                       "ko": "고객에게 사진을 요청하세요."},
              "outcome": {"type": "advice"}}]},
         read_only=(*_READ_ONLY, "version", "root"),
         columns=("name", "is_active")),
    Kind("routing", N_("Routing"),
         N_("Store-wide routing defaults: capacity per channel for each agent."),
         "/api/v1/routing/settings", {}, columns=(), singleton=True),
)}


COLUMN_LABELS = {"name": N_("Name"), "timezone": N_("Time zone"), "is_active": N_("Active"),
                 "description": N_("Description"), "kind": N_("Kind"), "events": N_("Events")}


def register(kind: Kind) -> None:
    """Another domain adds its kind of automation object here."""
    KINDS[kind.key] = kind


def _kind(key: str, user: Any) -> Kind:
    kind = KINDS.get(key)
    if kind is None:
        raise NotFound("automation.unknown_kind", f"no automation kind {key!r}")
    user.require(kind.permission)
    return kind


@router.get("")
async def index(request: Request, user: CurrentUser) -> Response:
    user.require(Permission.SETTINGS_MANAGE)
    return render(request, user.page, "automation/index.html",
                  {"user": user, "section": "automation", "kinds": list(KINDS.values())})


@router.get("/{key}")
async def listing(request: Request, key: str, user: CurrentUser) -> Response:
    kind = _kind(key, user)
    if kind.singleton:
        return render(request, user.page, "automation/edit.html", {
            "user": user, "section": "automation", "kind": kind, "object_id": None,
            "definition": ""})
    return render(request, user.page, "automation/list.html",
                  {"user": user, "section": "automation", "kind": kind,
                   "COLUMN_LABELS": COLUMN_LABELS})


@router.get("/{key}/new")
async def new(request: Request, key: str, user: CurrentUser) -> Response:
    kind = _kind(key, user)
    return render(request, user.page, "automation/edit.html", {
        "user": user, "section": "automation", "kind": kind, "object_id": None,
        "definition": json.dumps(kind.template, ensure_ascii=False, indent=2)})


@router.get("/{key}/{object_id}")
async def edit(request: Request, key: str, object_id: IdPath, user: CurrentUser) -> Response:
    kind = _kind(key, user)
    return render(request, user.page, "automation/edit.html", {
        "user": user, "section": "automation", "kind": kind, "object_id": object_id,
        "definition": ""})
