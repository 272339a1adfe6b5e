"""Email accounts: IMAP/SMTP settings, sealed secrets, UID fetch state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:27:34.570575
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sellerdesk.core.clock

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_accounts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("imap_host", sa.String(length=255), nullable=True),
        sa.Column("imap_port", sa.Integer(), nullable=True),
        sa.Column("imap_security", sa.String(length=16), nullable=False),
        sa.Column("imap_username", sa.String(length=320), nullable=True),
        sa.Column("imap_folder", sa.String(length=255), nullable=False),
        sa.Column("processed_folder", sa.String(length=255), nullable=True),
        sa.Column("auth_method", sa.String(length=16), nullable=False),
        sa.Column("password_sealed", sa.Text(), nullable=True),
        sa.Column("oauth_provider", sa.String(length=32), nullable=True),
        sa.Column("oauth_client_id", sa.String(length=255), nullable=True),
        sa.Column("oauth_client_secret_sealed", sa.Text(), nullable=True),
        sa.Column("oauth_authorize_url", sa.String(length=500), nullable=True),
        sa.Column("oauth_token_url", sa.String(length=500), nullable=True),
        sa.Column("oauth_scopes", sa.String(length=500), nullable=True),
        sa.Column("oauth_refresh_token_sealed", sa.Text(), nullable=True),
        sa.Column("oauth_access_token_sealed", sa.Text(), nullable=True),
        sa.Column(
            "oauth_expires_at", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("smtp_host", sa.String(length=255), nullable=True),
        sa.Column("smtp_port", sa.Integer(), nullable=True),
        sa.Column("smtp_security", sa.String(length=16), nullable=False),
        sa.Column("smtp_username", sa.String(length=320), nullable=True),
        sa.Column("smtp_password_sealed", sa.Text(), nullable=True),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column(
            "last_checked_at", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sellerdesk.core.clock.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_email_accounts_channel_id_channels")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_email_accounts_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_accounts")),
        sa.UniqueConstraint("store_id", "address", name=op.f("uq_email_accounts_store_id_address")),
    )
    with op.batch_alter_table("email_accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_email_accounts_channel_id"), ["channel_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_email_accounts_store_id"), ["store_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("email_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_accounts_store_id"))
        batch_op.drop_index(batch_op.f("ix_email_accounts_channel_id"))
    op.drop_table("email_accounts")
