"""Access log and retention (issue 5: privacy).

``access_log``: who read or exported what (kept ORFI_ACCESS_LOG_RETENTION_MONTHS);
``report_anonymisation``: the facts ``orfi purge`` anonymised, when, by which rule.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ACCESS_ACTIONS = ("view", "download-photo", "export", "api-read", "purge")
RETENTION_RULES = ("sans_suite", "bail", "contravention", "delit", "crime")


def upgrade():
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("federation_id", sa.Integer(), nullable=True),
        sa.Column(
            "action",
            sa.Enum(
                *ACCESS_ACTIONS, name="accessaction", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("object_type", sa.String(length=20), nullable=False),
        sa.Column("object_ref", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.CheckConstraint(
            "(organisation_id IS NULL) <> (federation_id IS NULL)",
            name=op.f("ck_access_log_one_owner"),
        ),
        sa.ForeignKeyConstraint(
            ["federation_id"],
            ["federation.id"],
            name=op.f("fk_access_log_federation_id_federation"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_access_log_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_access_log_user_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    op.create_index(op.f("ix_access_log_at"), "access_log", ["at"])
    op.create_index("ix_access_log_org_at", "access_log", ["organisation_id", "at"])
    op.create_index("ix_access_log_fed_at", "access_log", ["federation_id", "at"])

    op.create_table(
        "report_anonymisation",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "rule",
            sa.Enum(
                *RETENTION_RULES, name="retentionrule", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_report_anonymisation_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_report_anonymisation")),
    )


def downgrade():
    op.drop_table("report_anonymisation")
    op.drop_index("ix_access_log_fed_at", table_name="access_log")
    op.drop_index("ix_access_log_org_at", table_name="access_log")
    op.drop_index(op.f("ix_access_log_at"), table_name="access_log")
    op.drop_table("access_log")
