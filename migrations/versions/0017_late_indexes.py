"""Indexes of the work queue at a million facts (issue 11; docs/work-queue.md).

A résidence's facts by date (residence_id, occurred_at), in place of the plain index
of the foreign key: the list sorted by résidence reads one résidence at a time.

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
    # A résidence's facts by date (the list sorted by résidence, read one résidence
    # at a time); it serves the foreign key as the plain index did.
    op.create_index("ix_report_residence_date", "report", ["residence_id", "occurred_at"])
    op.drop_index("ix_report_residence_id", table_name="report")
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
    op.create_index("ix_report_residence_id", "report", ["residence_id"])
    op.drop_index("ix_report_residence_date", table_name="report")


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
