"""Inbound: historical (imported) messages.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The server default gives the rows already stored a value: not history.
    for table in ("messages", "raw_payloads"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("is_historical", sa.Boolean(), server_default=sa.false(),
                          nullable=False)
            )


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+) rather than batch mode's copy-and-rename,
    # which would break the foreign keys that point at messages.
    for table in ("raw_payloads", "messages"):
        with op.batch_alter_table(table, schema=None, recreate="never") as batch_op:
            batch_op.drop_column("is_historical")
