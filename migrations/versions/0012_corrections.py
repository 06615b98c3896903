"""Corrections and « à préciser » categories (issue 12, points 3 and 7).

- category.description_required: a fact of the category needs a description. Set for
  every category whose label says « à préciser » (AU99 · Autre fait (à préciser) in
  the default nomenclature), whatever its bailleur.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("category") as batch_op:
        batch_op.add_column(
            sa.Column(
                "description_required",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
    category = sa.table(
        "category",
        sa.column("id", sa.Integer),
        sa.column("label", sa.String),
        sa.column("description_required", sa.Boolean),
    )
    # Read in Python: SQLite's LOWER() folds ASCII only (« À PRÉCISER »); a
    # nomenclature is a few dozen rows per bailleur.
    connection = op.get_bind()
    rows = connection.execute(sa.select(category.c.id, category.c.label)).all()
    flagged = [row.id for row in rows if "à préciser" in row.label.casefold()]
    if flagged:
        connection.execute(
            category.update()
            .where(category.c.id.in_(flagged))
            .values(description_required=True)
        )
    with op.batch_alter_table("category") as batch_op:
        batch_op.alter_column("description_required", server_default=None)


def downgrade():
    with op.batch_alter_table("category") as batch_op:
        batch_op.drop_column("description_required")
