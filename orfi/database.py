"""Engine set-up shared by every entry point: SQLite pragmas and write transactions.

SQLite answers "database is locked" at once when a deferred transaction that has read
tries to write while another writer holds the lock (see shared/PERFORMANCE.md).
Transactions that intend to write therefore start with ``BEGIN IMMEDIATE``; read-only
ones keep a plain ``BEGIN`` so that readers never queue behind writers.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.engine import Engine

#: What a transaction of the current context begins with on SQLite: "BEGIN" (read)
#: or "BEGIN IMMEDIATE" (write).
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
        connection.exec_driver_sql(_begin.get())
