"""Early warning stored (issue 14): statuses per résidence × week × family, and runs.

- early_warning_status: one row per résidence, ISO week and family ("" = all facts),
  with the status, its figures and sentence, and the alarm's event.
- early_warning_run: each computation (scheduled: unique key; asked: waits for the
  worker).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "early_warning_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("residence_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("family", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("observed", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=True),
        sa.Column("low", sa.Float(), nullable=True),
        sa.Column("high", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=True),
        sa.Column("years", sa.SmallInteger(), nullable=True),
        sa.Column("phrase", sa.String(length=200), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["alert_event.id"],
            name=op.f("fk_early_warning_status_event_id_alert_event"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_early_warning_status_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["residence_id"],
            ["residence.id"],
            name=op.f("fk_early_warning_status_residence_id_residence"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_early_warning_status")),
        sa.UniqueConstraint(
            "residence_id",
            "week",
            "family",
            name=op.f("uq_early_warning_status_residence_id_week_family"),
        ),
    )
    op.create_index(
        "ix_early_warning_status_org_week",
        "early_warning_status",
        ["organisation_id", "week"],
        unique=False,
    )
    op.create_table(
        "early_warning_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("scheduled_key", sa.String(length=64), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("alarms", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_early_warning_run_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["user_account.id"],
            name=op.f("fk_early_warning_run_requested_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_early_warning_run")),
        sa.UniqueConstraint(
            "scheduled_key", name=op.f("uq_early_warning_run_scheduled_key")
        ),
    )
    op.create_index(
        "ix_early_warning_run_pending",
        "early_warning_run",
        ["started_at", "organisation_id"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_early_warning_run_pending", table_name="early_warning_run")
    op.drop_table("early_warning_run")
    op.drop_index("ix_early_warning_status_org_week", table_name="early_warning_status")
    op.drop_table("early_warning_status")
