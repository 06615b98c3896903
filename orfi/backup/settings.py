"""What every part of a backup shares: its error, folders, backend and member names."""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app

from orfi.errors import OrfiError
from orfi.extensions import db

logger = logging.getLogger(__name__)

#: The archive's members: the database copy (one or the other) and the photo folder.
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
PHOTOS = "photos"
#: Pages copied per step of SQLite's online backup (4 MB with 4 kB pages): between two
#: steps the source is free, and in WAL mode writers are never blocked at all.
STEP_PAGES = 1024
#: Bytes copied at a time between an archive member and a file or a pipe.
CHUNK = 1024 * 1024
#: A progress callback: (done, total).
Progress = Callable[[int, int], None]


class BackupError(OrfiError):
    """Raised when a backup cannot be made, or an archive cannot be restored as asked.

    Raised before the target is touched for every check of the archive and of the
    target; a failure while writing says what state the target was left in.
    """


def backend_name() -> str:
    """Return the backend of the app's database: ``sqlite`` or ``postgresql``."""
    name = db.engine.dialect.name
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"Moteur de base non pris en charge : {name}.")
    return name


def backup_dir() -> Path:
    """Return the folder of backups (``ORFI_BACKUP_DIR``, else instance/backups)."""
    configured = current_app.config.get("ORFI_BACKUP_DIR") or ""
    return Path(configured or Path(current_app.instance_path) / "backups")


def photo_dir() -> Path:
    """Return the photo folder (``ORFI_PHOTO_DIR``)."""
    return Path(current_app.config["ORFI_PHOTO_DIR"])


def default_backup_path(backend: str, now: datetime | None = None) -> Path:
    """Return a new timestamped archive path in the backup folder.

    SQLite archives are gzipped (a database file compresses well); PostgreSQL's
    custom format is already compressed, as are the JPEG photos.
    """
    now = now or datetime.now(UTC)
    suffix = ".tar.gz" if backend == "sqlite" else ".tar"
    return backup_dir() / f"orfi-{now:%Y%m%d-%H%M%S}Z{suffix}"


def orfi_version() -> str:
    """Return the installed orfi version, or « inconnue »."""
    try:
        return importlib.metadata.version("orfi")
    except importlib.metadata.PackageNotFoundError:
        return "inconnue"


def sqlite_path() -> Path:
    """Return the file of the app's SQLite database; refuse an in-memory one."""
    database = db.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(
            "La base SQLite doit être un fichier désigné par son chemin "
            "(sqlite:///chemin/orfi.sqlite3)."
        )
    return Path(database)


def busy_timeout() -> float:
    """Return how long SQLite waits for a lock, in seconds."""
    return float(current_app.config.get("ORFI_SQLITE_BUSY_TIMEOUT", 10))
