"""Engine set-up shared by every entry point: SQLite pragmas and write transactions.

SQLite answers "database is locked" at once when a deferred transaction that has read
tries to write while another writer holds the lock (see shared/PERFORMANCE.md).
Transactions that intend to write therefore start with ``BEGIN IMMEDIATE``; read-only
ones keep a plain
``BEGIN`` so that readers never queue behind writers. The API's intake reads with no
transaction, then begins its write one (:func:`autocommit_reads`).
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.sql.expression import Executable

#: What a transaction of the current context begins with on SQLite: "BEGIN" (read),
#: "BEGIN IMMEDIATE" (write) or "" (no transaction: see :func:`autocommit_reads`).
_begin: contextvars.ContextVar[str] = contextvars.ContextVar(
    "orfi_begin", default="BEGIN"
)


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime (used as a callable default)."""
    return datetime.now(UTC)


@contextlib.contextmanager
def _beginning_with(statement: str) -> Iterator[None]:
    token = _begin.set(statement)
    try:
        yield
    finally:
        _begin.reset(token)


def write_intent() -> contextlib.AbstractContextManager[None]:
    """Open transactions started in this block with ``BEGIN IMMEDIATE`` on SQLite."""
    return _beginning_with("BEGIN IMMEDIATE")


def read_intent() -> contextlib.AbstractContextManager[None]:
    """Open transactions started in this block with a plain ``BEGIN`` on SQLite, even
    in a write request: reads then never wait for the write lock."""
    return _beginning_with("BEGIN")


def autocommit_reads() -> contextlib.AbstractContextManager[None]:
    """Open no transaction at all on SQLite for what starts in this block.

    Each statement is then a transaction of its own, reading the latest commit: right
    for checks that read a few independent rows before a write (the API's intake), and
    cheaper than a read transaction that must be ended before the write one begins.
    Call :func:`begin_writing` before the first write. PostgreSQL is not affected.
    """
    return _beginning_with("")


def begin_writing(connection: Connection) -> None:
    """Start the write transaction on ``connection`` after :func:`autocommit_reads`.

    SQLAlchemy's transaction is already open (it began with no statement); this begins
    SQLite's, with the write lock. No-op on other databases.
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextlib.contextmanager
def driver_transaction(connection) -> Iterator[None]:
    """A write transaction on a DBAPI ``connection`` of the engine's pool: committed
    at the end of the block, rolled back on error (``BEGIN IMMEDIATE`` on SQLite,
    whose connections orfi leaves in autocommit; the driver's own elsewhere)."""
    if isinstance(connection.dbapi_connection, sqlite3.Connection):
        connection.cursor().execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.rollback()
        raise
    connection.commit()


def declare_write_intent() -> contextvars.Token:
    """Mark the current context as writing; return the token to reset it."""
    return _begin.set("BEGIN IMMEDIATE")


def reset_write_intent(token: contextvars.Token) -> None:
    """Undo :func:`declare_write_intent`."""
    _begin.reset(token)


#: The most of a SQLite database read through a memory map (address space, not memory).
MMAP_SIZE = 1 << 30


def configure_engine(engine: Engine, busy_timeout_s: int) -> None:
    """Install SQLite pragmas and transaction handling on ``engine`` (else no-op)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Take over transaction control from pysqlite so that BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        # Statement journals (a write statement inside a transaction that follows
        # another write, as filing a fact does) and sorts stay in memory: on disk,
        # each one that outgrows its buffer creates, writes and deletes a file.
        cursor.execute("PRAGMA temp_store = MEMORY")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            # Read the database file through a memory map, not a read() per page:
            # each time another process commits, SQLite drops the connection's page
            # cache, and with gunicorn's workers filing facts that is every request.
            cursor.execute(f"PRAGMA mmap_size = {MMAP_SIZE}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        statement = _begin.get()
        if statement:
            connection.exec_driver_sql(statement)


_REQUIRED = object()


class Prepared:
    """A Core statement compiled once for a dialect and run on a DBAPI cursor.

    Running a statement through a SQLAlchemy ``Connection`` costs several times more
    than the statement itself on SQLite (an execution context, a result object…). The
    few statements run for every fact filed are therefore compiled once and run
    straight on the driver, with the column types' own bind and result processors, so
    that values are stored and read exactly as SQLAlchemy would.
    """

    def __init__(self, statement: Executable, dialect: Dialect, keys=None):
        compiled = statement.compile(dialect=dialect, column_keys=keys)
        self.sql = compiled.string
        self.positional = compiled.positiontup is not None
        names = compiled.positiontup if self.positional else list(compiled.binds)
        # (name, processor, value of a literal the statement holds, else _REQUIRED)
        self.binds = [
            (
                name,
                compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect),
                _REQUIRED
                if compiled.binds[name].required
                else compiled.binds[name].value,
            )
            for name in names
        ]
        columns = list(getattr(statement, "exported_columns", ()))
        self.row = collections.namedtuple(
            "Row", [column.key for column in columns], rename=True
        )
        self._types = [column.type.dialect_impl(dialect) for column in columns]
        self._dialect = dialect
        self.results: list | None = None  # from the first result's type codes

    def parameters(self, values: Mapping[str, Any]) -> Sequence | dict:
        """The driver's parameters for ``values`` (keyed by bind name)."""
        processed = []
        for name, process, literal in self.binds:
            value = values[name] if literal is _REQUIRED else literal
            processed.append(process(value) if process else value)
        if self.positional:
            return processed
        return dict(zip((name for name, _, _ in self.binds), processed, strict=True))

    def execute(self, cursor, values: Mapping[str, Any]):
        """Run the statement on ``cursor``; return the cursor."""
        cursor.execute(self.sql, self.parameters(values))
        return cursor

    def first(self, cursor, values: Mapping[str, Any]):
        """Run the statement; return its first row (a named tuple) or None."""
        raw = self.execute(cursor, values).fetchone()
        return None if raw is None else self._row(cursor, raw)

    def all(self, cursor, values: Mapping[str, Any]) -> list:
        """Run the statement; return its rows (named tuples)."""
        raws = self.execute(cursor, values).fetchall()
        return [self._row(cursor, raw) for raw in raws]

    def _row(self, cursor, raw: Sequence):
        if self.results is None:
            # Some processors depend on the type the driver reports (numerics on
            # PostgreSQL), as they do in SQLAlchemy's own results.
            self.results = [
                kind.result_processor(self._dialect, description[1])
                for kind, description in zip(
                    self._types, cursor.description, strict=True
                )
            ]
        return self.row._make(
            process(value) if process else value
            for value, process in zip(raw, self.results, strict=True)
        )


_PREPARED: dict[tuple, Prepared] = {}


def prepared(
    dialect: Dialect, build, keys: tuple[str, ...] | None = None, *, by_dialect=False
) -> Prepared:
    """Return the statement made by ``build()`` (``build(dialect name)`` if
    ``by_dialect``) compiled for ``dialect``, with ``keys`` as its INSERT's columns;
    compiled once per dialect."""
    key = (build, dialect.name, keys)
    statement = _PREPARED.get(key)
    if statement is None:
        made = build(dialect.name) if by_dialect else build()
        statement = _PREPARED[key] = Prepared(made, dialect, keys)
    return statement
