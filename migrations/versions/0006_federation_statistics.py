"""Federation statistics imported from bailleurs' own instances (issue: federation).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "federation_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bailleur_code", sa.String(length=12), nullable=False),
        sa.Column("bailleur_name", sa.String(length=200), nullable=False),
        sa.Column(
            "bailleur_kind",
            sa.Enum(
                "oph",
                "esh",
                "sem",
                "cooperative",
                name="organisationkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("bailleur_region", sa.String(length=100), nullable=False),
        sa.Column("period_from", sa.Integer(), nullable=False),
        sa.Column("period_to", sa.Integer(), nullable=False),
        sa.Column("format_version", sa.String(length=10), nullable=False),
        sa.Column("min_count", sa.Integer(), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.Column("fact_count", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "period_from <= period_to",
            name=op.f("ck_federation_import_period_order"),
        ),
        sa.ForeignKeyConstraint(
            ["imported_by_id"],
            ["user_account.id"],
            name=op.f("fk_federation_import_imported_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_import")),
        sa.UniqueConstraint(
            "bailleur_code",
            "period_from",
            "period_to",
            name=op.f("uq_federation_import_bailleur_code_period_from_period_to"),
        ),
    )
    op.create_index(
        op.f("ix_federation_import_bailleur_code"),
        "federation_import",
        ["bailleur_code"],
    )
    op.create_table(
        "federation_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=True),
        sa.Column("commune_name", sa.String(length=100), nullable=True),
        sa.Column("qpv_code", sa.String(length=12), nullable=True),
        sa.Column("qpv_generation", sa.String(length=4), nullable=True),
        sa.Column("family_code", sa.String(length=4), nullable=True),
        sa.Column("category_code", sa.String(length=8), nullable=True),
        sa.Column("month", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("logements", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["federation_import.id"],
            name=op.f("fk_federation_row_import_id_federation_import"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_row")),
    )
    op.create_index(
        op.f("ix_federation_row_import_id"), "federation_row", ["import_id"]
    )
    # Covering index of the federation's counts (see orfi/federation/models.py).
    op.create_index(
        "ix_report_federation",
        "report",
        [
            "organisation_id",
            "occurred_month",
            "residence_id",
            "category_id",
            "duplicate_of_id",
        ],
    )


def downgrade():
    op.drop_index("ix_report_federation", table_name="report")
    op.drop_index(op.f("ix_federation_row_import_id"), table_name="federation_row")
    op.drop_table("federation_row")
    op.drop_index(
        op.f("ix_federation_import_bailleur_code"), table_name="federation_import"
    )
    op.drop_table("federation_import")
