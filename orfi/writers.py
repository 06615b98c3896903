"""SQLite writers wait their turn on a file lock rather than in SQLite's busy handler.

SQLite lets one writer at a time hold its write lock; a writer that finds it taken
waits in its busy handler, which *sleeps* between tries (1, 2, 5, 10… up to 100 ms):
with a few gunicorn workers filing at once, much of their time goes into those sleeps
and the lock sits free while they doze. Taking an exclusive ``flock`` on a file next to
the database first makes waiters block in the kernel, which wakes the next one the
moment the lock is released. SQLite's own locking still guarantees correctness; this
only orders the queue. PostgreSQL (and SQLite in memory) need nothing of the kind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator

from sqlalchemy.engine import Engine

_local = threading.local()


def _lock_file(database: str) -> int:
    """This thread's (and process's) descriptor of the lock file of ``database``.

    One open file per thread and process: flock excludes open file descriptions, so a
    descriptor shared across a fork or between threads would not exclude anything.
    """
    files = getattr(_local, "files", None)
    if files is None or _local.pid != os.getpid():
        _local.files, _local.pid = {}, os.getpid()
        files = _local.files
    if database not in files:
        files[database] = os.open(
            database + ".writers", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
    return files[database]


@contextlib.contextmanager
def writer_turn(engine: Engine) -> Iterator[None]:
    """Wait for this process's turn to write to the SQLite database of ``engine``."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    descriptor = _lock_file(database)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
