"""Early warning's weekly run also stores the categories where the Knox test found
near-repeat (the patrol sheet's near-repeat weighting reads them).

- early_warning_run.near_repeat: JSON list of category ids with a significant Knox
  cell over the run's last 26 weeks; NULL when not computed.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("early_warning_run", sa.Column("near_repeat", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("early_warning_run") as batch:
        batch.drop_column("near_repeat")
