"""A fact's row is its own creation record: no more "created" events.

Every fact had a "created" event copying its author and creation time; the history
page now shows that line from the fact itself, and filing a fact writes one row less.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("DELETE FROM report_event WHERE kind = 'created'")


def downgrade():
    op.execute(
        "INSERT INTO report_event (report_id, user_id, at, kind, changes, comment) "
        "SELECT id, author_id, created_at, 'created', '{}', '' FROM report"
    )
