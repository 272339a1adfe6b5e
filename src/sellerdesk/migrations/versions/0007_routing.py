"""Routing: agent availability, per-channel capacity, team routing modes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import sellerdesk.core.clock

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> Any:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _time() -> sellerdesk.core.clock.UTCDateTime:
    return sellerdesk.core.clock.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "routing_settings",
        sa.Column("store_id", _id(), nullable=False),
        sa.Column("capacities", _json(), nullable=False),
        sa.Column("reroute_on_offline", _json(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"],
                                name=op.f("fk_routing_settings_store_id_stores")),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_routing_settings")),
    )
    op.create_table(
        "routing_agents",
        sa.Column("agent_id", _id(), nullable=False),
        sa.Column("store_id", _id(), nullable=False),
        sa.Column("availability", sa.String(length=16), nullable=False),
        sa.Column("availability_changed_at", _time(), nullable=True),
        sa.Column("languages", _json(), nullable=False),
        sa.Column("skills", _json(), nullable=False),
        sa.Column("capacities", _json(), nullable=False),
        sa.Column("last_routed_at", _time(), nullable=True),
        sa.Column("updated_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"],
                                name=op.f("fk_routing_agents_agent_id_agents")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"],
                                name=op.f("fk_routing_agents_store_id_stores")),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_routing_agents")),
    )
    op.create_index(op.f("ix_routing_agents_store_id"), "routing_agents", ["store_id"])
    op.create_table(
        "routing_teams",
        sa.Column("team_id", _id(), nullable=False),
        sa.Column("store_id", _id(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("rr_last_agent_id", _id(), nullable=True),
        sa.Column("updated_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"],
                                name=op.f("fk_routing_teams_store_id_stores")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"],
                                name=op.f("fk_routing_teams_team_id_teams")),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_routing_teams")),
    )
    op.create_index(op.f("ix_routing_teams_store_id"), "routing_teams", ["store_id"])
    op.create_table(
        "routing_channels",
        sa.Column("channel_id", _id(), nullable=False),
        sa.Column("store_id", _id(), nullable=False),
        sa.Column("team_id", _id(), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"],
                                name=op.f("fk_routing_channels_channel_id_channels")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"],
                                name=op.f("fk_routing_channels_store_id_stores")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"],
                                name=op.f("fk_routing_channels_team_id_teams")),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_routing_channels")),
    )
    op.create_index(op.f("ix_routing_channels_team_id"), "routing_channels", ["team_id"])
    op.create_table(
        "routing_queue",
        sa.Column("ticket_id", _id(), nullable=False),
        sa.Column("store_id", _id(), nullable=False),
        sa.Column("team_id", _id(), nullable=False),
        sa.Column("queued_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"],
                                name=op.f("fk_routing_queue_store_id_stores")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"],
                                name=op.f("fk_routing_queue_team_id_teams")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_routing_queue_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_routing_queue")),
    )
    op.create_index("ix_routing_queue_team_queued", "routing_queue", ["team_id", "queued_at"])


def downgrade() -> None:
    op.drop_index("ix_routing_queue_team_queued", table_name="routing_queue")
    op.drop_table("routing_queue")
    op.drop_index(op.f("ix_routing_channels_team_id"), table_name="routing_channels")
    op.drop_table("routing_channels")
    op.drop_index(op.f("ix_routing_teams_store_id"), table_name="routing_teams")
    op.drop_table("routing_teams")
    op.drop_index(op.f("ix_routing_agents_store_id"), table_name="routing_agents")
    op.drop_table("routing_agents")
    op.drop_table("routing_settings")
