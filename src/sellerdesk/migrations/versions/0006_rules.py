"""Rules (triggers) on ticket events, with their runs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import sellerdesk.core.clock

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _time(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "rules",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("store_id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("events", _json(), nullable=False),
        sa.Column("conditions", _json(), nullable=False),
        sa.Column("actions", _json(), nullable=False),
        sa.Column("times_fired", sa.Integer(), nullable=False),
        _time("last_fired_at", nullable=True),
        _time("created_at"),
        _time("updated_at"),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_rules_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
        sa.UniqueConstraint("store_id", "name", name=op.f("uq_rules_store_id_name")),
    )
    op.create_index("ix_rules_store_position", "rules", ["store_id", "position"], unique=False)
    op.create_table(
        "rule_runs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("store_id", ID, nullable=False),
        sa.Column("rule_id", ID, nullable=False),
        sa.Column("ticket_id", ID, nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        _time("created_at"),
        sa.ForeignKeyConstraint(["rule_id"], ["rules.id"],
                                name=op.f("fk_rule_runs_rule_id_rules")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"],
                                name=op.f("fk_rule_runs_store_id_stores")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_rule_runs_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_runs")),
        sa.UniqueConstraint("rule_id", "event_key",
                            name=op.f("uq_rule_runs_rule_id_event_key")),
    )
    op.create_index("ix_rule_runs_ticket", "rule_runs", ["ticket_id", "id"], unique=False)
    op.create_table(
        "rule_sets",
        sa.Column("store_id", ID, nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        _time("updated_at"),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"],
                                name=op.f("fk_rule_sets_store_id_stores")),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_rule_sets")),
    )


def downgrade() -> None:
    op.drop_table("rule_sets")
    op.drop_index("ix_rule_runs_ticket", table_name="rule_runs")
    op.drop_table("rule_runs")
    op.drop_index("ix_rules_store_position", table_name="rules")
    op.drop_table("rules")
