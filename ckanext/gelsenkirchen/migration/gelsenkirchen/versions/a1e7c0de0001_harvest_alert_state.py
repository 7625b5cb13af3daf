"""the last alerted state of each harvest source (harvesters/alert_state.py;
this revision keeps its own copy of the table: a migration does not import
the model it created)

Revision ID: a1e7c0de0001
Revises:
Create Date: 2026-12-02 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "a1e7c0de0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gelsenkirchen_harvest_alert",
        sa.Column("source_id", sa.UnicodeText, primary_key=True),
        sa.Column("state", sa.UnicodeText, nullable=False),
        sa.Column("since", sa.DateTime, nullable=False),
        sa.Column("mailed", sa.UnicodeText, nullable=False, server_default=""),
        sa.Column("posted", sa.UnicodeText, nullable=False, server_default=""),
        sa.Column("attempted", sa.DateTime),
        sa.Column("error", sa.UnicodeText, nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("gelsenkirchen_harvest_alert")
