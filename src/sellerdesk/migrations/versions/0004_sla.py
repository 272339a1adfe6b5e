"""SLA: business-hours calendars, SLA policies, per-ticket SLA state and targets.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 16:04:06.443259
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import sellerdesk.core.clock

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "business_calendars",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column(
            "hours",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "holidays",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_business_calendars_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_calendars")),
        sa.UniqueConstraint("store_id", "name", name=op.f("uq_business_calendars_store_id_name")),
    )
    op.create_table(
        "sla_policies",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column(
            "conditions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "targets",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "calendar_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "pause_on",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("warn_percent", sa.Integer(), nullable=True),
        sa.Column("warn_minutes_before", sa.Integer(), nullable=True),
        sa.Column("created_at", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["business_calendars.id"],
            name=op.f("fk_sla_policies_calendar_id_business_calendars"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_sla_policies_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("store_id", "name", name=op.f("uq_sla_policies_store_id_name")),
    )
    with op.batch_alter_table("sla_policies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sla_policies_calendar_id"), ["calendar_id"], unique=False
        )
        batch_op.create_index(
            "ix_sla_policies_store_position", ["store_id", "position"], unique=False
        )

    op.create_table(
        "ticket_sla_targets",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("goal", sa.Interval(), nullable=False),
        sa.Column("warn_after", sa.Interval(), nullable=True),
        sa.Column(
            "calendar_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("started_at", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "checkpoint_at", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("elapsed", sa.Interval(), nullable=False),
        sa.Column("running", sa.Boolean(), nullable=False),
        sa.Column("paused_since", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paused", sa.Interval(), nullable=False),
        sa.Column("due_at", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=True),
        sa.Column("warn_at", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=True),
        sa.Column("warned_at", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_check_at", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_ticket_sla_targets_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_sla_targets_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_sla_targets")),
        sa.UniqueConstraint("ticket_id", "kind", name=op.f("uq_ticket_sla_targets_ticket_id_kind")),
    )
    with op.batch_alter_table("ticket_sla_targets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ticket_sla_targets_next_check",
            ["next_check_at"],
            unique=False,
            sqlite_where=sa.text("next_check_at IS NOT NULL"),
            postgresql_where=sa.text("next_check_at IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_ticket_sla_targets_open_calendar",
            ["calendar_id", "id"],
            unique=False,
            sqlite_where=sa.text("calendar_id IS NOT NULL AND completed_at IS NULL"),
            postgresql_where=sa.text("calendar_id IS NOT NULL AND completed_at IS NULL"),
        )

    op.create_table(
        "ticket_slas",
        sa.Column(
            "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("policy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("policy_name", sa.String(length=100), nullable=True),
        sa.Column(
            "pause_on",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("applied_at", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["sla_policies.id"], name=op.f("fk_ticket_slas_policy_id_sla_policies")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_ticket_slas_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_slas_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_slas")),
    )
    with op.batch_alter_table("ticket_slas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_slas_policy_id"), ["policy_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_slas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_slas_policy_id"))

    op.drop_table("ticket_slas")
    with op.batch_alter_table("ticket_sla_targets", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_sla_targets_open_calendar")
        batch_op.drop_index(
            "ix_ticket_sla_targets_next_check",
            sqlite_where=sa.text("next_check_at IS NOT NULL"),
            postgresql_where=sa.text("next_check_at IS NOT NULL"),
        )

    op.drop_table("ticket_sla_targets")
    with op.batch_alter_table("sla_policies", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_policies_store_position")
        batch_op.drop_index(batch_op.f("ix_sla_policies_calendar_id"))

    op.drop_table("sla_policies")
    op.drop_table("business_calendars")
