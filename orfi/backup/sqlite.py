"""Copying, checking and restoring a SQLite database file."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

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


#: The first bytes of every SQLite database file.
_HEADER = b"SQLite format 3\x00"
#: Files SQLite keeps beside a database: they belong to it and move with it.
COMPANIONS = ("-wal", "-shm", "-journal")
#: How many problems ``PRAGMA quick_check`` lists before it stops.
_PROBLEMS = 5


def create_private_file(path: Path) -> None:
    """Create ``path`` empty, readable by its owner only, unless it exists.

    SQLite gives a new database the mode 0644 (less the umask), and its -wal, -shm and
    -journal files the mode of the database: created 0600 first, all of them are.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def diagnose_sqlite_file(path: Path) -> str | None:
    """Return why ``path`` is not a usable SQLite database, in French; None when it
    is one, or absent.

    Read-only: the damaged file is what one may need to examine later.
    """
    if not path.exists():
        return None
    if not path.is_file():
        raise BackupError(f"La base SQLite {path} n'est pas un fichier.")
    try:
        with path.open("rb") as raw:
            header = raw.read(len(_HEADER))
    except OSError as error:
        raise BackupError(
            f"Lecture de la base SQLite {path} impossible : {error}."
        ) from None
    if not header:
        return "fichier vide, 0 octet"
    if header != _HEADER:
        return "ce fichier n'est pas une base SQLite"
    try:
        # A URI, for read-only: a path's "?", "#" or "%" must not be read as syntax.
        connection = sqlite3.connect(
            f"file:{quote(str(path))}?mode=ro", uri=True, timeout=busy_timeout()
        )
        try:
            rows = connection.execute(f"PRAGMA quick_check({_PROBLEMS})").fetchall()
        finally:
            connection.close()
    except sqlite3.Error as error:
        if is_damage(error):
            return f"base illisible : {error}"
        # Locked, unreadable by this account…: a healthy file must never go aside.
        raise BackupError(
            f"Lecture de la base SQLite {path} impossible ({error}) : rien n'a été "
            "restauré. Arrêtez l'application (gunicorn, cron) et vérifiez les droits "
            "du fichier."
        ) from None
    problems = [line for (row,) in rows for line in str(row).splitlines()]
    if problems == ["ok"]:
        return None
    problems = [line for line in problems if not line.startswith("***")]
    return "base endommagée : " + "; ".join(problems[:_PROBLEMS])


def is_damage(error: sqlite3.Error) -> bool:
    """Tell whether SQLite refused a file for its content (corrupt, not a database),
    not for a lock or a permission."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_NOTADB,
    )


def aside_name(path: Path, now: datetime | None = None) -> Path:
    """Return a free name beside ``path`` for keeping it aside, dated in UTC."""
    now = now or datetime.now(UTC)
    stem = f"{path.name}.damaged-{now:%Y%m%d-%H%M%S}Z"
    candidate, number = path.with_name(stem), 1
    while any(Path(f"{candidate}{end}").exists() for end in ("", *COMPANIONS)):
        number += 1
        candidate = path.with_name(f"{stem}-{number}")
    return candidate


def set_aside(path: Path) -> Path:
    """Rename a damaged database and its -wal, -shm and -journal files aside, as
    they are; return the database's new name."""
    aside = aside_name(path)
    # Companions first: a -wal left beside a new database of the same name would be
    # replayed into it.
    for end in COMPANIONS:
        companion = Path(f"{path}{end}")
        if companion.exists():
            os.replace(companion, f"{aside}{end}")
    os.replace(path, aside)
    logger.warning("Base SQLite endommagée mise de côté : %s", aside)
    return aside


def _copy_database(copy: Path, target_path: Path) -> None:
    source = sqlite3.connect(copy)
    target = sqlite3.connect(target_path, timeout=busy_timeout())
    try:
        # One step: the target changes in a single transaction, or not at all.
        source.backup(target)
    finally:
        target.close()
        source.close()


def restore_sqlite(copy: Path, *, damaged: bool = False) -> Path | None:
    """Replace the app's SQLite database by ``copy``, in one step or not at all.

    A ``damaged`` database is not written over: the copy is written beside it, then
    the damaged file and its companions are renamed aside and the copy takes its
    name. Return where the damaged file went (None when there was none).
    """
    target_path = sqlite_path()
    if damaged:
        return _replace_damaged(copy, target_path)
    create_private_file(target_path)
    try:
        _copy_database(copy, target_path)
    except sqlite3.Error as error:
        raise BackupError(
            f"Restauration SQLite impossible ({error}) ; la base cible n'a pas été "
            "modifiée."
        ) from None
    return None


def _replace_damaged(copy: Path, target_path: Path) -> Path:
    staged = target_path.with_name(f".{target_path.name}.restauration")
    for end in ("", *COMPANIONS):
        Path(f"{staged}{end}").unlink(missing_ok=True)
    try:
        create_private_file(staged)
        _copy_database(copy, staged)
    except (sqlite3.Error, OSError) as error:
        staged.unlink(missing_ok=True)
        raise BackupError(
            f"Restauration SQLite impossible ({error}) ; la base endommagée "
            f"{target_path} n'a pas été déplacée."
        ) from None
    try:
        aside = set_aside(target_path)
    except OSError as error:
        staged.unlink(missing_ok=True)
        raise BackupError(
            f"Impossible de mettre de côté la base endommagée {target_path} "
            f"({error}) : rien n'a été restauré."
        ) from None
    os.replace(staged, target_path)
    return aside
