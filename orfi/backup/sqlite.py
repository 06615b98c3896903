"""Copying, checking and restoring a SQLite database file."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import sqlalchemy as sa

from orfi.backup.settings import (
    SQLITE_MEMBER,
    STEP_PAGES,
    BackupError,
    Progress,
    busy_timeout,
    sqlite_path,
)
from orfi.backup.snapshot import Snapshot, take_snapshot

logger = logging.getLogger(__name__)


def copy_sqlite_database(
    source_path: Path,
    target_path: Path,
    *,
    step_pages: int = STEP_PAGES,
    progress: Progress | None = None,
) -> None:
    """Copy a live SQLite database with the online backup API, in steps of pages.

    In WAL mode the copy reads one snapshot (a read transaction held on the source
    across steps): writers go on meanwhile and the copy never restarts. Otherwise it
    is made in one step, which holds a read lock for the copy's duration.
    """
    if not source_path.is_file():
        raise BackupError(f"La base SQLite {source_path} n'existe pas.")
    source = sqlite3.connect(source_path, timeout=busy_timeout(), isolation_level=None)
    target = sqlite3.connect(target_path, isolation_level=None)
    try:
        wal = source.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
        if wal:
            source.execute("BEGIN")
            source.execute("SELECT count(*) FROM sqlite_master").fetchone()

        def _step(_status: int, remaining: int, total: int) -> None:
            if progress is not None:
                progress(total - remaining, total)

        source.backup(target, pages=step_pages if wal else -1, progress=_step)
        if wal:
            source.execute("COMMIT")
        # A self-contained file: no -wal or -shm beside it in the archive.
        target.execute("PRAGMA journal_mode = DELETE")
        check_sqlite_integrity(target)
    except sqlite3.Error as error:
        raise BackupError(f"Copie de la base SQLite impossible : {error}") from None
    finally:
        target.close()
        source.close()


def check_sqlite_integrity(connection: sqlite3.Connection) -> None:
    """Raise BackupError unless ``PRAGMA integrity_check`` answers ``ok``."""
    try:
        rows = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as error:
        rows = [str(error)]
    if rows != ["ok"]:
        raise BackupError(
            "La copie de la base SQLite est corrompue : " + "; ".join(rows[:5])
        )


def _sqlite_snapshot(copy: Path) -> Snapshot:
    engine = sa.create_engine(f"sqlite:///{copy}", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            snapshot = take_snapshot(
                connection,
                {
                    "file": SQLITE_MEMBER,
                    "sqlite_version": sqlite3.sqlite_version,
                },
            )
    finally:
        engine.dispose()
    return snapshot


def dump_sqlite(work: Path, step_pages: int, progress: Progress | None) -> Snapshot:
    """Copy the app's SQLite database into ``work``; return what the copy holds."""
    copy = work / SQLITE_MEMBER
    copy_sqlite_database(sqlite_path(), copy, step_pages=step_pages, progress=progress)
    return _sqlite_snapshot(copy)


def restore_sqlite(copy: Path) -> None:
    """Replace the app's SQLite database by ``copy``, in one step or not at all."""
    target_path = sqlite_path()
    target_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        source = sqlite3.connect(copy)
        target = sqlite3.connect(target_path, timeout=busy_timeout())
        try:
            # One step: the target changes in a single transaction, or not at all.
            source.backup(target)
        finally:
            target.close()
            source.close()
    except sqlite3.Error as error:
        raise BackupError(
            f"Restauration SQLite impossible ({error}) ; la base cible n'a pas été "
            "modifiée."
        ) from None
