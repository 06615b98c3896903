"""The work queue of the référent (issue 11, point 6; docs/work-queue.md).

- report.assignee_id (« pris en charge par ») and report.next_step_on (the day of the
  fact's next step), with an index for « Mes faits à traiter »;
- two indexes for the list's sorts by gravity and by status;
- the full-text index of the facts (FTS5 on SQLite, tsvector 'french' on PostgreSQL)
  and the triggers that keep it in step, filled with the facts already there. Its DDL
  is orfi.reports.search_index's, the one place that also serves db.create_all().

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from orfi.reports.search_index import create_search_index, drop_search_index

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("report") as batch_op:
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("next_step_on", sa.Date(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_report_assignee_id_user_account"),
            "user_account",
            ["assignee_id"],
            ["id"],
        )
        batch_op.create_index("ix_report_assignee", ["assignee_id", "next_step_on"])
        batch_op.create_index(
            "ix_report_queue_gravity", ["organisation_id", "gravity", "occurred_at"]
        )
        batch_op.create_index(
            "ix_report_queue_status", ["organisation_id", "status", "occurred_at"]
        )
    # After the batch: on SQLite it rebuilds the report table, and its triggers with it.
    create_search_index(op.get_bind())


def downgrade():
    drop_search_index(op.get_bind())
    with op.batch_alter_table("report") as batch_op:
        batch_op.drop_index("ix_report_queue_status")
        batch_op.drop_index("ix_report_queue_gravity")
        batch_op.drop_index("ix_report_assignee")
        batch_op.drop_constraint(
            op.f("fk_report_assignee_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("next_step_on")
        batch_op.drop_column("assignee_id")
