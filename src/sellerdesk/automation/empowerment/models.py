"""Pre-approved actions, the grants made under them, escalation trees and their walks.

Amounts are integers in the currency's minor units (cents; won have none), never floats.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sellerdesk.core.clock import now
from sellerdesk.core.db import Base, BigId, CreatedAt, IdPK, JsonType


class PreApprovedAction(Base):
    """Something an agent may grant a customer without asking, within limits (limits.py)."""

    __tablename__ = "preapproved_actions"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    kind: Mapped[str] = mapped_column(String(16))  # refund | reship | credit | discount | custom
    # Both set for money actions, both None otherwise.
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    max_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # [{"kind": "role", "role": "agent", "max_amount": 3000}, {"kind": "ticket", "count": 1},
    #  {"kind": "customer", "count": 2, "period_days": 30}, {"kind": "agent", "amount": ...}]
    limits: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    # The macro that tells the customer; checked when saved and when used (no FK: a macro
    # deleted later makes grants refuse with a clear error rather than block the deletion).
    macro_id: Mapped[int | None] = mapped_column(BigId, default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[datetime] = mapped_column(default=now)


class Grant(Base):
    """One use of a pre-approved action on a ticket: granted at once, or an approval request
    (pending_approval → granted or declined). The approval's id is the grant's id."""

    __tablename__ = "grants"
    __table_args__ = (
        Index("ix_grants_action_status_customer", "action_id", "status", "customer_id"),
        Index("ix_grants_action_status_agent", "action_id", "status", "agent_id"),
        Index("ix_grants_ticket", "ticket_id", "id"),
        Index("ix_grants_store_status", "store_id", "status", "id"),
        Index("ix_grants_store_granted_at", "store_id", "granted_at"),
    )

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    action_id: Mapped[int] = mapped_column(BigId, ForeignKey("preapproved_actions.id"))
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id"))
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id"))
    # Who asked: an agent, or None for a token without one (then token_id says which).
    agent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("agents.id"), default=None)
    token_id: Mapped[int | None] = mapped_column(BigId, default=None)
    role: Mapped[str] = mapped_column(String(16))
    # Copied from the action when asked, so later edits of the action do not rewrite history.
    action_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    reason: Mapped[str] = mapped_column(String(1000))
    # Values for the macro's variables the ticket does not give, kept for the approval.
    macro_values: Mapped[dict[str, str]] = mapped_column(JsonType, default=dict)
    status: Mapped[str] = mapped_column(String(20))  # granted | pending_approval | declined
    # The limits the request went over: [{"limit": "role", "message": ...}, ...]; [] if none.
    exceeded: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    decided_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("agents.id"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_note: Mapped[str | None] = mapped_column(String(1000), default=None)
    granted_at: Mapped[datetime | None] = mapped_column(default=None)
    message_id: Mapped[int | None] = mapped_column(BigId, default=None)  # the notification
    walk_id: Mapped[int | None] = mapped_column(BigId, default=None)
    created_at: Mapped[CreatedAt]


class EscalationTree(Base):
    """Questions and outcomes an agent walks (trees.py); `version` grows with every edit."""

    __tablename__ = "escalation_trees"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # {"nodes": [{"id", "kind", "text", "answers" | "outcome"}, ...]}, validated when saved
    definition: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[datetime] = mapped_column(default=now)


class TreeWalk(Base):
    """An agent's way through a tree on one ticket, on the tree as it was when started."""

    __tablename__ = "tree_walks"
    __table_args__ = (Index("ix_tree_walks_ticket", "ticket_id", "id"),)

    id: Mapped[IdPK]
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("stores.id"))
    tree_id: Mapped[int] = mapped_column(BigId, ForeignKey("escalation_trees.id"), index=True)
    tree_name: Mapped[str] = mapped_column(String(100))
    tree_version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JsonType)
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id"))
    started_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("agents.id"), default=None)
    status: Mapped[str] = mapped_column(String(16))  # in_progress | completed
    current_node: Mapped[str] = mapped_column(String(64))
    # [{"node", "question", "answer", "label", "by": {"type", "id"}, "at"}, ...]
    path: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    # {"kind": "resolve" | "action" | "escalate" | "advice", ...what was done}
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)
    started_at: Mapped[datetime] = mapped_column(default=now)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
