"""The columns a bailleur chose for its patrimoine file (issue 12, point 8).

- import_column_mapping: one row per organisation, {champ: column name} as JSON; the
  web import preselects them at the organisation's next import.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_column_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_import_column_mapping_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_column_mapping")),
        sa.UniqueConstraint(
            "organisation_id", name=op.f("uq_import_column_mapping_organisation_id")
        ),
    )


def downgrade():
    op.drop_table("import_column_mapping")
