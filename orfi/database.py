"""Engine set-up shared by every entry point: SQLite pragmas and write transactions.

SQLite answers "database is locked" at once when a deferred transaction that has read
tries to write while another writer holds the lock (see shared/PERFORMANCE.md).
Transactions that intend to write therefore start with ``BEGIN IMMEDIATE``; read-only
ones keep a plain
``BEGIN`` so that readers never queue behind writers.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.engine import Engine

_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "orfi_write_intent", default=False
)


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime (used as a callable default)."""
    return datetime.now(UTC)


@contextlib.contextmanager
def write_intent() -> Iterator[None]:
    """Open transactions started in this block with ``BEGIN IMMEDIATE`` on SQLite."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def declare_write_intent() -> contextvars.Token:
    """Mark the current context as writing; return the token to reset it."""
    return _write_intent.set(True)


def reset_write_intent(token: contextvars.Token) -> None:
    """Undo :func:`declare_write_intent`."""
    _write_intent.reset(token)


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
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql(
            "BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN"
        )
