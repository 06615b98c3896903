"""The browsers on which users receive the alerts by Web Push (issue 11, point 3).

- push_device: one row per browser subscription (endpoint at the push service, the
  browser's public key and auth secret), owned by a user; deleted with the user.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "push_device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(length=1024), nullable=False),
        sa.Column("p256dh", sa.String(length=100), nullable=False),
        sa.Column("auth", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_push_device_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_device")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_device_endpoint")),
    )
    op.create_index(
        op.f("ix_push_device_user_id"), "push_device", ["user_id"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_push_device_user_id"), table_name="push_device")
    op.drop_table("push_device")
