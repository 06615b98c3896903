"""Drop ix_report_org_occurred: ix_report_stats_time starts with the same columns.

Every query that could use (organisation_id, occurred_at) uses the covering index just
as well, and one index less is one less to update for every fact filed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_report_org_occurred", table_name="report")


def downgrade():
    op.create_index(
        "ix_report_org_occurred", "report", ["organisation_id", "occurred_at"]
    )
