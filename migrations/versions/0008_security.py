"""Login throttling (issue 5: web hardening).

- login_failure: one row per refused login, keyed by HMACs of the e-mail typed and
  of the client address; rows older than a day are deleted as new ones come in.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("address_key", sa.String(length=64), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failure")),
    )
    op.create_index(
        "ix_login_failure_account_key_failed_at",
        "login_failure",
        ["account_key", "failed_at"],
    )
    op.create_index(
        "ix_login_failure_address_key_failed_at",
        "login_failure",
        ["address_key", "failed_at"],
    )
    op.create_index(op.f("ix_login_failure_failed_at"), "login_failure", ["failed_at"])


def downgrade():
    op.drop_table("login_failure")
