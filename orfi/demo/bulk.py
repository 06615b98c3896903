"""Writing and deleting many rows at once: SQLite settings and deferred indexes.

Writing a million facts into a table with a dozen secondary indexes updates every
index row by row; dropping them and building them once afterwards does about 40 %
less work on SQLite and PostgreSQL. Everything happens in the caller's transaction, so
a failed load rolls the indexes back with the rows. Deletes keep their indexes: the
foreign-key checks of each deleted row need the indexes of the referencing columns.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence

import sqlalchemy as sa

from orfi.extensions import db
from orfi.reports.search_index import create_search_index, drop_search_index

logger = logging.getLogger(__name__)

#: Indexes are rebuilt only for loads of at least this many rows that make at least
#: half of the main table.
BULK_MIN_ROWS = 50_000
#: SQLite page cache (KiB) during bulk changes (default 2 MB): the indexes outgrow it.
BULK_CACHE_KIB = 256 * 1024
#: SQLite WAL pages between checkpoints during bulk changes (default 1,000).
BULK_WAL_CHECKPOINT_PAGES = 16_384


def present_tables() -> list[sa.Table]:
    """Return the metadata's tables that exist in the database, parents first."""
    names = set(sa.inspect(db.session.connection()).get_table_names())
    return [table for table in db.metadata.sorted_tables if table.name in names]


@contextlib.contextmanager
def tuned_sqlite() -> Iterator[None]:
    """Give the session's SQLite connection a large cache and few checkpoints for the
    block (no-op on other databases)."""
    connection = db.session.connection()
    restore = _speed_up_sqlite(connection)
    yield
    restore(db.session.connection())


@contextlib.contextmanager
def bulk_insert(
    tables: Sequence[sa.Table], *, rows: int, table_rows: int
) -> Iterator[bool]:
    """Prepare the session's connection for inserting ``rows`` rows into a table that
    will then hold ``table_rows``; yield whether the secondary indexes of ``tables``
    were dropped, to be built again at the end of the block.

    Indexes behind a primary key or a unique constraint always stay. If the block
    raises, nothing is rebuilt: rolling the transaction back restores the indexes.
    """
    definitions: list[tuple[str, str]] = []
    if rows >= BULK_MIN_ROWS and 2 * rows >= table_rows:
        for table in tables:
            definitions.extend(_secondary_indexes(table))
    connection = db.session.connection()
    restore = _speed_up_sqlite(connection)
    for name, _definition in definitions:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    # The full-text index too: its triggers write each fact's document row by row;
    # built again at the end, it reads every fact in one statement.
    search = bool(definitions) and any(t.name == "report" for t in tables)
    if search:
        drop_search_index(connection)
    if definitions:
        logger.info("%d index supprimés le temps des écritures.", len(definitions))
    yield bool(definitions)
    connection = db.session.connection()
    for _name, definition in definitions:
        connection.exec_driver_sql(definition)
    if search:
        create_search_index(connection)
    if definitions and connection.dialect.name == "postgresql":
        for table in tables:
            connection.exec_driver_sql(f'ANALYZE "{table.name}"')
    restore(connection)


def _speed_up_sqlite(connection: sa.Connection):
    """Enlarge SQLite's cache and checkpoint interval; return what puts them back."""
    if connection.dialect.name != "sqlite":
        return lambda _connection: None
    cache = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    checkpoint = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
    connection.exec_driver_sql(
        f"PRAGMA wal_autocheckpoint = {BULK_WAL_CHECKPOINT_PAGES}"
    )

    def restore(connection: sa.Connection) -> None:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(cache)}")
        connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {int(checkpoint)}")

    return restore


def _secondary_indexes(table: sa.Table) -> list[tuple[str, str]]:
    """Return the (name, CREATE INDEX statement) of the table's droppable indexes, as
    the database has them (SQLite and PostgreSQL; none elsewhere)."""
    connection = db.session.connection()
    dialect = connection.dialect.name
    if dialect == "sqlite":
        query = sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = :table AND sql IS NOT NULL ORDER BY name"
        )
    elif dialect == "postgresql":
        query = sa.text(
            "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = CAST(:table AS regclass) AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY c.relname"
        )
    else:
        return []
    return [tuple(row) for row in connection.execute(query, {"table": table.name})]
