"""A fact can be marked as the duplicate of another; duplicates leave the statistics.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("report") as batch_op:
        batch_op.add_column(sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_report_duplicate_of_id_report"), "report", ["duplicate_of_id"], ["id"]
        )
        batch_op.create_index(op.f("ix_report_duplicate_of_id"), ["duplicate_of_id"])


def downgrade():
    with op.batch_alter_table("report") as batch_op:
        batch_op.drop_index(op.f("ix_report_duplicate_of_id"))
        batch_op.drop_constraint(op.f("fk_report_duplicate_of_id_report"), type_="foreignkey")
        batch_op.drop_column("duplicate_of_id")
