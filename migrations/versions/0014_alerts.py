"""Alerts that always arrive (issue 11).

- alert_event: what happened (kind, fact, grave, what a message may name of it).
- alert_delivery: the outbox, one row per (event, user, channel), claimed by the
  worker with a lease.
- inbox_message: the in-app inbox, written with the event.
- alert_subscription: the users' rules (none: their role's defaults).
- category.immediate_alert: « alerte immédiate », every fact of it is grave.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _enum(*values):
    return sa.Enum(*values, native_enum=False, length=32)


def _fk(table, column, target, ondelete=None):
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade():
    with op.batch_alter_table("category") as batch_op:
        batch_op.add_column(
            sa.Column(
                "immediate_alert",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
    with op.batch_alter_table("category") as batch_op:
        batch_op.alter_column("immediate_alert", server_default=None)

    op.create_table(
        "alert_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("residence_id", sa.Integer(), nullable=True),
        sa.Column("grave", sa.Boolean(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        _fk("alert_event", "organisation_id", "organisation"),
        _fk("alert_event", "report_id", "report", "CASCADE"),
        _fk("alert_event", "residence_id", "residence"),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user_account.id"],
            name=op.f("fk_alert_event_actor_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_event")),
    )
    op.create_index(
        "ix_alert_event_kind_report", "alert_event", ["kind", "report_id"]
    )

    op.create_table(
        "alert_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channel", _enum("email", "push", "inbox"), nullable=False),
        sa.Column("rhythm", _enum("immediate", "daily", "weekly"), nullable=False),
        sa.Column(
            "status",
            _enum("pending", "delivered", "skipped", "failed"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim", sa.String(32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(300), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        _fk("alert_delivery", "event_id", "alert_event", "CASCADE"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_alert_delivery_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_delivery")),
        sa.UniqueConstraint(
            "event_id",
            "user_id",
            "channel",
            name=op.f("uq_alert_delivery_event_id_user_id_channel"),
        ),
    )
    op.create_index("ix_alert_delivery_due", "alert_delivery", ["status", "due_at"])
    op.create_index("ix_alert_delivery_user", "alert_delivery", ["user_id", "id"])

    op.create_table(
        "inbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        _fk("inbox_message", "event_id", "alert_event", "CASCADE"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_inbox_message_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_message")),
        sa.UniqueConstraint(
            "event_id", "user_id", name=op.f("uq_inbox_message_event_id_user_id")
        ),
    )
    op.create_index(
        "ix_inbox_message_unread", "inbox_message", ["user_id", "read_at"]
    )

    op.create_table(
        "alert_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("agence_id", sa.Integer(), nullable=True),
        sa.Column("residence_ids", sa.JSON(), nullable=False),
        sa.Column("families", sa.JSON(), nullable=False),
        sa.Column("min_gravity", sa.SmallInteger(), nullable=True),
        sa.Column("rhythm", _enum("immediate", "daily", "weekly"), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_alert_subscription_user_id_user_account"),
            ondelete="CASCADE",
        ),
        _fk("alert_subscription", "agence_id", "agence", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_subscription")),
    )
    op.create_index(
        op.f("ix_alert_subscription_user_id"), "alert_subscription", ["user_id"]
    )


def downgrade():
    op.drop_table("alert_subscription")
    op.drop_table("inbox_message")
    op.drop_table("alert_delivery")
    op.drop_table("alert_event")
    with op.batch_alter_table("category") as batch_op:
        batch_op.drop_column("immediate_alert")
