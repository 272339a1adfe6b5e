"""Pre-approved actions, grants and approval requests; escalation decision trees.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import sellerdesk.core.clock

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _time() -> sellerdesk.core.clock.UTCDateTime:
    return sellerdesk.core.clock.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "preapproved_actions",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("store_id", _id(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("max_amount", sa.BigInteger(), nullable=True),
        sa.Column("limits", _json(), nullable=False),
        sa.Column("macro_id", _id(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"],
                                name=op.f("fk_preapproved_actions_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preapproved_actions")),
        sa.UniqueConstraint("store_id", "name", name=op.f("uq_preapproved_actions_store_id_name")),
    )
    op.create_table(
        "grants",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("store_id", _id(), nullable=False),
        sa.Column("action_id", _id(), nullable=False),
        sa.Column("ticket_id", _id(), nullable=False),
        sa.Column("customer_id", _id(), nullable=True),
        sa.Column("agent_id", _id(), nullable=True),
        sa.Column("token_id", _id(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action_name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("macro_values", _json(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("exceeded", _json(), nullable=False),
        sa.Column("decided_by_id", _id(), nullable=True),
        sa.Column("decided_at", _time(), nullable=True),
        sa.Column("decision_note", sa.String(length=1000), nullable=True),
        sa.Column("granted_at", _time(), nullable=True),
        sa.Column("message_id", _id(), nullable=True),
        sa.Column("walk_id", _id(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"],
                                name=op.f("fk_grants_store_id_stores")),
        sa.ForeignKeyConstraint(["action_id"], ["preapproved_actions.id"],
                                name=op.f("fk_grants_action_id_preapproved_actions")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_grants_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_grants_customer_id_customers")),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"],
                                name=op.f("fk_grants_agent_id_agents")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["agents.id"],
                                name=op.f("fk_grants_decided_by_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
    )
    op.create_index("ix_grants_action_status_customer", "grants",
                    ["action_id", "status", "customer_id"])
    op.create_index("ix_grants_action_status_agent", "grants",
                    ["action_id", "status", "agent_id"])
    op.create_index("ix_grants_ticket", "grants", ["ticket_id", "id"])
    op.create_index("ix_grants_store_status", "grants", ["store_id", "status", "id"])
    op.create_index("ix_grants_store_granted_at", "grants", ["store_id", "granted_at"])
    op.create_table(
        "escalation_trees",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("store_id", _id(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", _json(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"],
                                name=op.f("fk_escalation_trees_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_trees")),
        sa.UniqueConstraint("store_id", "name", name=op.f("uq_escalation_trees_store_id_name")),
    )
    op.create_table(
        "tree_walks",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("store_id", _id(), nullable=False),
        sa.Column("tree_id", _id(), nullable=False),
        sa.Column("tree_name", sa.String(length=100), nullable=False),
        sa.Column("tree_version", sa.Integer(), nullable=False),
        sa.Column("snapshot", _json(), nullable=False),
        sa.Column("ticket_id", _id(), nullable=False),
        sa.Column("started_by_id", _id(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_node", sa.String(length=64), nullable=False),
        sa.Column("path", _json(), nullable=False),
        sa.Column("outcome", _json(), nullable=True),
        sa.Column("started_at", _time(), nullable=False),
        sa.Column("finished_at", _time(), nullable=True),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"],
                                name=op.f("fk_tree_walks_store_id_stores")),
        sa.ForeignKeyConstraint(["tree_id"], ["escalation_trees.id"],
                                name=op.f("fk_tree_walks_tree_id_escalation_trees")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_tree_walks_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["started_by_id"], ["agents.id"],
                                name=op.f("fk_tree_walks_started_by_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tree_walks")),
    )
    op.create_index("ix_tree_walks_ticket", "tree_walks", ["ticket_id", "id"])
    op.create_index(op.f("ix_tree_walks_tree_id"), "tree_walks", ["tree_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_tree_walks_tree_id"), table_name="tree_walks")
    op.drop_index("ix_tree_walks_ticket", table_name="tree_walks")
    op.drop_table("tree_walks")
    op.drop_table("escalation_trees")
    for name in ("ix_grants_store_granted_at", "ix_grants_store_status", "ix_grants_ticket",
                 "ix_grants_action_status_agent", "ix_grants_action_status_customer"):
        op.drop_index(name, table_name="grants")
    op.drop_table("grants")
    op.drop_table("preapproved_actions")
