"""API tokens and photos (issue: offline capture, JSON API and photos).

- api_token: personal API tokens, stored as the SHA-256 of their secret.
- photo: up to three re-encoded photos per fact, idempotent by client UUID; the limit
  is a check constraint on ``position`` plus a unique (report_id, position).
- report_event.client_uuid: the client's id of an addition ("Déjà signalé ?"), so
  that a resent addition is recorded once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_api_token_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_index(op.f("ix_api_token_user_id"), "api_token", ["user_id"])

    op.create_table(
        "photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "position BETWEEN 1 AND 3", name=op.f("ck_photo_position_range")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["report.id"], name=op.f("fk_photo_report_id_report")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["user_account.id"],
            name=op.f("fk_photo_uploaded_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photo")),
        sa.UniqueConstraint(
            "report_id", "position", name=op.f("uq_photo_report_id_position")
        ),
        sa.UniqueConstraint("uuid", name=op.f("uq_photo_uuid")),
    )

    with op.batch_alter_table("report_event") as batch_op:
        batch_op.add_column(sa.Column("client_uuid", sa.Uuid(), nullable=True))
        batch_op.create_unique_constraint(
            op.f("uq_report_event_client_uuid"), ["client_uuid"]
        )


def downgrade():
    with op.batch_alter_table("report_event") as batch_op:
        batch_op.drop_constraint(op.f("uq_report_event_client_uuid"), type_="unique")
        batch_op.drop_column("client_uuid")
    op.drop_table("photo")
    op.drop_index(op.f("ix_api_token_user_id"), table_name="api_token")
    op.drop_table("api_token")
