"""Partial indexes of the facts that may be late (issue 11; docs/work-queue.md).

The « en retard » filter, the « Suivi » page and the alerts' scan of facts left
without follow-up read a few per cent of the facts: the open grave ones (by day of
filing) and those with a next step (by its day). Plain indexes, no table rebuild (the
full-text index's triggers on report are untouched).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    for name, columns, where, include in _INDEXES:
        op.create_index(
            name,
            "report",
            columns,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
            postgresql_include=include,
        )


def downgrade():
    for name, *_rest in reversed(_INDEXES):
        op.drop_index(name, table_name="report")


_INDEXES = (
    # The conditions as orfi.reports.models states them at this revision.
    (
        "ix_report_open_grave",
        # Every column the test reads, so that the index alone answers it.
        [
            "organisation_id",
            "created_at",
            "next_step_on",
            "duplicate_of_id",
            "gravity",
            "status",
        ],
        "gravity >= 3 AND status != 'clos'",
        # The fact's id too, so that PostgreSQL answers from the index alone (SQLite's
        # indexes hold the rowid already).
        ["id"],
    ),
    (
        "ix_report_next_step",
        ["organisation_id", "next_step_on"],
        "next_step_on IS NOT NULL",
        [],
    ),
)
