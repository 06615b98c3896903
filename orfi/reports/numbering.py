"""Facts' references: one counter per bailleur and year (``TMH-2026-000123``)."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from orfi.extensions import db
from orfi.reports.models import ReferenceCounter

#: The INSERT … ON CONFLICT construct of each dialect orfi runs on.
UPSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def next_reference(organisation_id: int, code: str, year: int) -> str:
    """Return the organisation's next reference for ``year`` (``TMH-2026-000123``).

    One statement creates the year's counter or moves it on; the counter's row then
    stays locked until the transaction ends, so numbers never repeat.
    """
    values = {"organisation_id": organisation_id, "year": year}
    statement = _next_number(db.session.get_bind().dialect.name)
    number = db.session.execute(statement, values).scalar_one()
    return f"{code}-{year}-{number:06d}"


@functools.cache
def _next_number(dialect: str) -> sa.Insert:
    """Create the year's counter at 1, or add one to it; RETURNING the number (built
    once per dialect: building it costs more than running it)."""
    upsert = UPSERTS.get(dialect)
    if upsert is None:
        raise NotImplementedError(f"Base {dialect} non prise en charge.")
    table = ReferenceCounter.__table__
    return (
        upsert(table)
        .values(
            organisation_id=sa.bindparam("organisation_id"),
            year=sa.bindparam("year"),
            last=1,
        )
        .on_conflict_do_update(
            index_elements=[table.c.organisation_id, table.c.year],
            set_={"last": table.c.last + 1},
        )
        .returning(table.c.last)
    )


def give_back_reference(organisation_id: int, year: int) -> None:
    """Give back the year's last number, drawn by this transaction for nothing (its
    counter's row is still locked: no other fact took a number since)."""
    table = ReferenceCounter.__table__
    db.session.execute(
        sa.update(table)
        .where(table.c.organisation_id == organisation_id, table.c.year == year)
        .values(last=table.c.last - 1)
    )
