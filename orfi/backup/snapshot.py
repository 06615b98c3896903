"""What a database holds at the moment of a backup: row counts, revision, photos."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from orfi.extensions import db
from orfi.reports.search_index import TABLE as SEARCH_TABLE

logger = logging.getLogger(__name__)


def table_counts(connection: sa.Connection) -> dict[str, int]:
    """Return the row count of every table seen by ``connection`` (Alembic's aside)."""
    names = sorted(sa.inspect(connection).get_table_names())
    return {
        name: connection.execute(
            sa.select(sa.func.count()).select_from(sa.table(name))
        ).scalar_one()
        for name in names
        # The full-text index is the facts' own (rebuilt with them; FTS5's shadow
        # tables hold rows even when empty).
        if name != "alembic_version" and not name.startswith(SEARCH_TABLE)
    }


def _revision(connection: sa.Connection) -> str | None:
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.exec_driver_sql(
        "SELECT version_num FROM alembic_version"
    ).scalar()


def _expected_photo_files(connection: sa.Connection) -> set[str]:
    """Return the photo files the database refers to, relative to the photo folder."""
    if not sa.inspect(connection).has_table("photo"):
        return set()
    rows = connection.exec_driver_sql(
        "SELECT report.organisation_id, photo.uuid FROM photo "
        "JOIN report ON report.id = photo.report_id"
    )
    expected = set()
    for organisation_id, raw_uuid in rows:
        # SQLite keeps a UUID as 32 hex digits, PostgreSQL as a uuid.
        name = str(uuid.UUID(str(raw_uuid)))
        expected.add(f"{organisation_id}/{name}.jpg")
        expected.add(f"{organisation_id}/{name}-mini.jpg")
    return expected


@dataclass
class Snapshot:
    """What a database copy holds: row counts, revision, photo files, copy details."""

    counts: dict[str, int]
    revision: str | None
    expected_photos: set[str]
    details: dict[str, Any]


def take_snapshot(connection: sa.Connection, details: dict[str, Any]) -> Snapshot:
    """Return what the database behind ``connection`` holds, and the copy's details."""
    return Snapshot(
        counts=table_counts(connection),
        revision=_revision(connection),
        expected_photos=_expected_photo_files(connection),
        details=details,
    )


def count_rows() -> dict[str, int]:
    """Return the row count of every table of the app's database (Alembic's aside)."""
    with db.engine.connect() as connection:
        return table_counts(connection)
