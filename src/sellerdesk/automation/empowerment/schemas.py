"""API shapes of pre-approved actions, grants, approvals, escalation trees and walks.

Amounts travel as decimal strings ("30.00"); JSON numbers are accepted on input.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sellerdesk.automation.macros.schemas import VALUES_DOC, Value
from sellerdesk.automation.macros.templating import VARIABLES
from sellerdesk.core.ids import Id

Kind = Literal["refund", "reship", "credit", "discount", "custom"]
Amount = Annotated[Decimal, Field(max_digits=20, decimal_places=6)]
Currency = Annotated[str, Field(min_length=3, max_length=3, examples=["EUR"])]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- pre-approved actions ----------------------------------------------------------------------

class LimitIO(_In):
    """One limit. kind role: role + max_amount (none: that role always needs approval);
    ticket: count and/or amount; customer and agent: count and/or amount, optional
    period_days (rolling window)."""

    kind: str = Field(max_length=30, examples=["customer"])
    role: str | None = Field(default=None, max_length=16)
    max_amount: Amount | None = None
    count: int | None = None
    amount: Amount | None = None
    period_days: int | None = None


class ActionCreate(_In):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    kind: Kind
    currency: Currency | None = Field(default=None, description="Money actions only")
    max_amount: Amount | None = Field(
        default=None, description="The most one grant may be without approval, for roles "
                                  "without a role limit; money actions only")
    limits: list[LimitIO] = Field(default_factory=list, max_length=20)
    macro_id: Id | None = Field(default=None, description="Macro sent to the customer when "
                                                          "granted")
    is_active: bool = True


class ActionUpdate(_In):
    """Fields to change; limits are replaced whole; null clears description, currency,
    max_amount and macro_id."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    kind: Kind | None = None
    currency: Currency | None = None
    max_amount: Amount | None = None
    limits: list[LimitIO] | None = Field(default=None, max_length=20)
    macro_id: Id | None = None
    is_active: bool | None = None

    def changes(self) -> dict[str, Any]:
        data = self.model_dump(exclude_unset=True)
        nullable = {"description", "currency", "max_amount", "macro_id"}
        return {k: v for k, v in data.items() if v is not None or k in nullable}


class LimitRead(BaseModel):
    kind: str
    role: str | None = None
    max_amount: Decimal | None = None
    count: int | None = None
    amount: Decimal | None = None
    period_days: int | None = None


class ActionRead(BaseModel):
    id: int
    name: str
    description: str | None
    kind: str
    currency: str | None
    max_amount: Decimal | None
    limits: list[LimitRead]
    macro_id: int | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


# --- grants and approvals ----------------------------------------------------------------------

class GrantCreate(_In):
    action_id: Id
    amount: Amount | None = Field(default=None, description="Money actions only, in the "
                                                            "action's currency")
    reason: str = Field(min_length=1, max_length=1000)
    values: dict[str, Value] = Field(default_factory=dict, max_length=len(VARIABLES),
                                     description=VALUES_DOC + " (for the action's macro)")


class ExceededRead(BaseModel):
    limit: str = Field(description="role, max_amount, ticket, customer or agent")
    message: str


class GrantRead(BaseModel):
    id: int
    action_id: int
    action_name: str
    kind: str
    ticket_id: int
    customer_id: int | None
    agent_id: int | None
    role: str
    currency: str | None
    amount: Decimal | None
    reason: str
    status: Literal["granted", "pending_approval", "declined"]
    exceeded: list[ExceededRead] = Field(description="The limits that made it an approval "
                                                     "request; empty when within all")
    decided_by_id: int | None
    decided_at: datetime | None
    decision_note: str | None
    granted_at: datetime | None
    message_id: int | None = Field(description="The reply that told the customer")
    walk_id: int | None
    created_at: datetime


class ApprovalDecision(_In):
    note: str | None = Field(default=None, max_length=1000)


class DeclineIn(_In):
    reason: str = Field(min_length=1, max_length=1000)


class ReportRow(BaseModel):
    key: str = Field(description="The action's id, the agent's id or the kind")
    label: str
    currency: str | None
    count: int
    amount: Decimal | None


class ReportTotal(BaseModel):
    currency: str | None
    count: int
    amount: Decimal | None


class GrantReport(BaseModel):
    group_by: Literal["action", "agent", "kind"]
    rows: list[ReportRow]
    totals: list[ReportTotal] = Field(description="Per currency (null: actions without money)")


# --- escalation trees --------------------------------------------------------------------------

TEXT_DOC = "language code (en, ko, pl...) → text; shown in the agent's language, else English"


class AnswerIO(_In):
    id: str = Field(min_length=1, max_length=64)
    label: dict[str, Annotated[str, Field(max_length=500)]] = Field(description=TEXT_DOC)
    next: str = Field(min_length=1, max_length=64, description="The node it leads to")


class OutcomeIO(_In):
    """type resolve: macro_id; action: action_id (+ amount, else the agent gives it);
    escalate: team_id and/or assignee_id (+ priority); advice: the node's text only."""

    type: str = Field(max_length=30, examples=["escalate"])
    macro_id: Id | None = None
    action_id: Id | None = None
    amount: Amount | None = None
    team_id: Id | None = None
    assignee_id: Id | None = None
    priority: str | None = Field(default=None, max_length=16)


class NodeIO(_In):
    id: str = Field(min_length=1, max_length=64)
    kind: str = Field(max_length=30, description="question or outcome")
    text: dict[str, Annotated[str, Field(max_length=4000)]] = Field(description=TEXT_DOC)
    answers: list[AnswerIO] | None = Field(default=None, max_length=50)
    outcome: OutcomeIO | None = None


class TreeCreate(_In):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    is_active: bool = True
    nodes: list[NodeIO] = Field(max_length=500, description="Exactly one node no answer "
                                "leads to (the root); no cycles")


class TreeUpdate(_In):
    """Fields to change; nodes are replaced whole (a new version; walks in progress keep
    theirs)."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    is_active: bool | None = None
    nodes: list[NodeIO] | None = Field(default=None, max_length=500)

    def changes(self) -> dict[str, Any]:
        data = self.model_dump(exclude_unset=True, exclude_none=False, mode="json")
        if "nodes" in data:
            data["nodes"] = [n.model_dump(mode="json", exclude_none=True)
                             for n in self.nodes or []]
        return {k: v for k, v in data.items() if v is not None or k == "description"}


class TreeRead(BaseModel):
    id: int
    name: str
    description: str | None
    is_active: bool
    version: int
    root: str
    nodes: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


# --- walks -------------------------------------------------------------------------------------

class WalkCreate(_In):
    tree_id: Id


class WalkAnswer(_In):
    answer: str = Field(min_length=1, max_length=64)
    amount: Amount | None = Field(default=None, description="For an action outcome that "
                                                            "does not fix the amount")
    reason: str | None = Field(default=None, max_length=1000)
    values: dict[str, Value] = Field(default_factory=dict, max_length=len(VARIABLES),
                                     description=VALUES_DOC)


class AnswerRead(BaseModel):
    id: str
    label: str


class NodeRead(BaseModel):
    id: str
    kind: str
    text: str = Field(description="In the reader's language, else English, else any")
    answers: list[AnswerRead]
    outcome: dict[str, Any] | None


class WalkRead(BaseModel):
    id: int
    tree_id: int
    tree_name: str
    tree_version: int
    ticket_id: int
    started_by_id: int | None
    status: Literal["in_progress", "completed"]
    language: str
    current: NodeRead
    path: list[dict[str, Any]]
    outcome: dict[str, Any] | None
    started_at: datetime
    finished_at: datetime | None
