"""API shapes of rules. Events, conditions and actions are checked by the domain (conditions.py,
effects.py), which names the exact part at fault, e.g. `conditions.all.2.op`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sellerdesk.automation.rules.queries import DRY_RUN_DEFAULT, DRY_RUN_MAX
from sellerdesk.core.ids import Id

EVENTS_DOC = ("Events the rule listens to: ticket.created, message.received, status.changed, "
              "sla.warning, sla.breached, survey.answered")
CONDITIONS_DOC = (
    'A group {"all": [...]} or {"any": [...]} of conditions {"field", "op", "value"} and '
    'nested groups; {"all": []} matches every event. Fields: ticket.subject, ticket.status, '
    "ticket.priority, ticket.marketplace, ticket.language, ticket.tags, ticket.team_id, "
    "ticket.assignee_id, ticket.intent, message.text, customer.email, customer.name, "
    "customer.language, channel.type, channel.id, event.previous_status, event.sla_target, "
    "business_hours (op within/outside, value: a calendar id). Text operators: contains, "
    "not_contains (case-folded), mentions (words and their Polish/English stems, Korean "
    "bigrams), equals, not_equals, starts_with, ends_with, matches (regex), is_empty, "
    "is_not_empty.")
ACTIONS_DOC = (
    "In order; types: set_priority {value}, set_status {value}, set_team {team_id}, "
    "set_assignee {agent_id}, add_tags {tags}, remove_tags {tags}, apply_macro {macro_id, "
    "send}, reply {text}, add_note {text} (texts may use the macro variables), notify "
    "{message, agent_ids}, webhook {url, secret} (HMAC-SHA256 signed POST; the secret is "
    "never shown again, and an update that leaves it out keeps it for the same URL).")
CONDITIONS_EXAMPLE = {"all": [
    {"field": "message.text", "op": "mentions", "value": ["zwrot", "refund", "환불"]},
    {"any": [{"field": "ticket.marketplace", "op": "is", "value": "amazon"},
             {"field": "channel.type", "op": "is", "value": "email"}]},
]}
ACTIONS_EXAMPLE = [{"type": "set_priority", "value": "high"},
                   {"type": "add_tags", "tags": ["refund"]}]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleCreate(_In):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    is_active: bool = True
    position: int | None = Field(default=None, ge=1, le=10_000,
                                 description="1-based place in the order; default: last")
    events: list[str] = Field(max_length=10, description=EVENTS_DOC,
                              examples=[["ticket.created", "message.received"]])
    conditions: dict[str, Any] = Field(default_factory=lambda: {"all": []},
                                       description=CONDITIONS_DOC,
                                       examples=[CONDITIONS_EXAMPLE])
    actions: list[dict[str, Any]] = Field(max_length=50, description=ACTIONS_DOC,
                                          examples=[ACTIONS_EXAMPLE])


class RuleUpdate(_In):
    """Fields to change; events, conditions and actions are replaced whole."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    is_active: bool | None = None
    events: list[str] | None = Field(default=None, max_length=10, description=EVENTS_DOC)
    conditions: dict[str, Any] | None = Field(default=None, description=CONDITIONS_DOC)
    actions: list[dict[str, Any]] | None = Field(default=None, max_length=50,
                                                 description=ACTIONS_DOC)

    def changes(self) -> dict[str, Any]:
        data = self.model_dump(exclude_unset=True)
        return {k: v for k, v in data.items() if v is not None or k == "description"}


class RuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    position: int
    is_active: bool
    events: list[str]
    conditions: dict[str, Any]
    actions: list[dict[str, Any]] = Field(description="Webhook secrets are not shown")
    times_fired: int
    last_fired_at: datetime | None
    created_at: datetime
    updated_at: datetime


class RuleOrder(_In):
    ids: list[Id] = Field(max_length=1000, description="every rule of the store, in order")


Limit = Field(default=DRY_RUN_DEFAULT, ge=1, le=DRY_RUN_MAX,
              description="How many of the store's most recent tickets to evaluate")


class DryRunIn(_In):
    """A rule definition to try; actions are optional here (then only matches are shown)."""

    events: list[str] = Field(max_length=10, description=EVENTS_DOC)
    conditions: dict[str, Any] = Field(description=CONDITIONS_DOC,
                                       examples=[CONDITIONS_EXAMPLE])
    actions: list[dict[str, Any]] = Field(default_factory=list, max_length=50,
                                          description=ACTIONS_DOC)
    limit: int = Limit


class SavedDryRunIn(_In):
    limit: int = Limit


class DryRunMatchRead(BaseModel):
    ticket_id: int
    subject: str
    status: str
    actions: list[dict[str, Any]] = Field(
        description="What the rule would do: messages, notifications and webhooks, then "
                    "{type: update, changes} for the ticket fields, and skipped actions "
                    "with a reason")


class DryRunRead(BaseModel):
    examined: int = Field(description="Tickets evaluated (the most recent first)")
    matched: list[DryRunMatchRead]
