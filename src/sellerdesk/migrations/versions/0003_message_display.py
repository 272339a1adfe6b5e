"""Message display: reply-stripped text, attachments' Content-ID and inline flag.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:12:41.208315
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_text", sa.Text(), nullable=True))
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_id", sa.String(length=255), nullable=True))
        # The server default gives the attachments already stored a value.
        batch_op.add_column(
            sa.Column("inline", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+) rather than batch mode's copy-and-rename:
    # dropping the old messages table would break the attachments' foreign keys to it.
    with op.batch_alter_table("attachments", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("inline")
        batch_op.drop_column("content_id")
    with op.batch_alter_table("messages", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("display_text")
