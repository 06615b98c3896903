"""Backups of the database and the photos as one archive, and their restoration.

An archive is a tar file (gzip-compressed when its name ends in ``.gz`` or ``.tgz``)
holding, in this order:

- ``database.sqlite3`` (a copy made with SQLite's online backup API, checked with
  ``PRAGMA integrity_check``) or ``database.pgdump`` (``pg_dump --format=custom``);
- ``photos/<organisation id>/<uuid>[-mini].jpg``, the photo folder;
- ``manifest.json`` last: orfi version, backend, Alembic revision, date, row counts per
  table and the size and SHA-256 of every other member. A truncated archive therefore
  has no manifest and is refused before anything is written.

A restore checks the whole archive first (members, hashes, backend, revision, database
copy), then refuses a target that already holds data, or a damaged SQLite file, unless
forced; restores the database (a damaged file is kept aside, never written over),
checks the row counts, upgrades the schema to the code's head and replaces the photo
folder. See docs/backup.md.

This module holds the two steps and their checks; the parts live beside it:
:mod:`~orfi.backup.settings`, :mod:`~orfi.backup.snapshot`, :mod:`~orfi.backup.sqlite`,
:mod:`~orfi.backup.postgresql` and :mod:`~orfi.backup.archive`.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from orfi.backup.archive import extract_verified, photo_files, write_archive
from orfi.backup.postgresql import (
    PgTool,
    dump_postgresql,
    find_pg_tool,
    restore_postgresql,
    run_pg,
    server_major_version,
)
from orfi.backup.settings import (
    PG_MEMBER,
    PHOTOS,
    SQLITE_MEMBER,
    STEP_PAGES,
    BackupError,
    Progress,
    backend_name,
    default_backup_path,
    photo_dir,
    sqlite_path,
)
from orfi.backup.snapshot import count_rows
from orfi.backup.sqlite import (
    check_sqlite_integrity,
    create_private_file,
    diagnose_sqlite_file,
    dump_sqlite,
    is_damage,
    restore_sqlite,
)
from orfi.extensions import db

logger = logging.getLogger(__name__)

#: Tables that ``orfi init`` fills (the default nomenclature) or Alembic keeps: rows
#: there do not make a database "non-empty".
_SETUP_TABLES = frozenset({"alembic_version", "family", "category"})
#: How the command line names the tables people ask about, in this order.
SUMMARY_LABELS = {
    "report": "fait(s)",
    "followup_action": "action(s) de suivi",
    "photo": "photo(s)",
    "user_account": "utilisateur(s)",
    "organisation": "bailleur(s)",
    "residence": "résidence(s)",
}


@dataclass(frozen=True)
class BackupResult:
    """A backup written: where, how big, its manifest and the photos found missing."""

    path: Path
    size: int
    manifest: dict[str, Any]
    missing_photos: int = 0


@dataclass(frozen=True)
class Damage:
    """A SQLite target file that SQLite cannot use, and why (in French)."""

    path: Path
    reason: str

    def describe(self) -> str:
        """Return the damage as the start of a French sentence."""
        return f"La base cible {self.path} est endommagée ({self.reason})"

    def what_force_does(self) -> str:
        """Return what ``--force`` does with the damaged file, in French."""
        return (
            f"le fichier sera mis de côté tel quel sous {self.path.name}.damaged-"
            "AAAAMMJJ-HHMMSSZ (avec ses fichiers -wal et -shm), puis la sauvegarde "
            "restaurée à sa place"
        )


@dataclass(frozen=True)
class RestoreResult:
    """A restore done (or only checked): the archive's manifest and what is there."""

    manifest: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)
    photo_files: int = 0
    revision: str | None = None
    checked_only: bool = False
    #: A damaged SQLite target: its file and what is wrong with it, in French.
    damaged: Damage | None = None
    #: Where the damaged file was kept aside by the restore.
    set_aside: Path | None = None


def create_backup(
    output: Path | None = None,
    *,
    step_pages: int = STEP_PAGES,
    progress: Progress | None = None,
) -> BackupResult:
    """Back up the database and the photo folder into one archive; return it.

    The archive is written under a ``.part`` name then renamed, readable by its owner
    only (it holds offence data). An existing file is never overwritten.
    """
    backend = backend_name()
    if output is None:
        output = default_backup_path(backend)
        output.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    else:
        output.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if output.exists():
        raise BackupError(f"{output} existe déjà : choisissez un autre nom.")
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(
        prefix=".orfi-sauvegarde-", dir=output.parent
    ) as work_name:
        work = Path(work_name)
        if backend == "sqlite":
            snapshot = dump_sqlite(work, step_pages, progress)
        else:
            snapshot = dump_postgresql(work)
        manifest, missing = write_archive(
            output, work / snapshot.details["file"], snapshot, backend, started
        )
    if missing:
        logger.warning("Sauvegarde %s : %d photo(s) sans fichier", output, missing)
    logger.info("Sauvegarde écrite : %s", output)
    return BackupResult(
        path=output,
        size=output.stat().st_size,
        manifest=manifest,
        missing_photos=missing,
    )


def _migration_script():
    from alembic.script import ScriptDirectory

    config = current_app.extensions["migrate"].migrate.get_config()
    return config, ScriptDirectory.from_config(config)


def _check_compatible(manifest: dict[str, Any], backend: str) -> None:
    """Refuse another backend's archive, or one from a newer schema than the code's."""
    source = manifest.get("backend")
    if source != backend:
        raise BackupError(
            f"Cette sauvegarde vient d'une base {source} ; la base cible est "
            f"{backend}. "
            "La restauration d'un moteur de base à l'autre n'est pas prise en charge : "
            "restaurez dans une base du même moteur."
        )
    revision = manifest.get("alembic_revision")
    if revision is not None:
        _config, script = _migration_script()
        known = {entry.revision for entry in script.walk_revisions()}
        if revision not in known:
            raise BackupError(
                f"Cette sauvegarde a le schéma {revision}, inconnu de cette version "
                f"d'orfi (schéma le plus récent : {script.get_current_head()}) : elle "
                "vient d'une version plus récente. Mettez orfi à jour avant de "
                "restaurer."
            )


def _check_database_member(
    manifest: dict[str, Any], work: Path
) -> tuple[PgTool, PgTool] | None:
    """Check the database copy before it is used; return pg_restore and psql for
    PostgreSQL."""
    if manifest["backend"] == "sqlite":
        copy = work / SQLITE_MEMBER
        if not copy.is_file():
            raise BackupError("Archive incomplète : database.sqlite3 manque.")
        try:
            connection = sqlite3.connect(copy)
            try:
                check_sqlite_integrity(connection)
            finally:
                connection.close()
        except sqlite3.Error as error:
            raise BackupError(f"Copie SQLite illisible : {error}.") from None
        return None
    dump = work / PG_MEMBER
    if not dump.is_file():
        raise BackupError("Archive incomplète : database.pgdump manque.")
    pg_restore = find_pg_tool("pg_restore")
    dumped_by = int(manifest.get("database", {}).get("pg_dump_major") or 0)
    if pg_restore.major < dumped_by:
        raise BackupError(
            f"pg_restore {pg_restore.major} ({pg_restore.path}) ne lit pas une "
            f"sauvegarde faite par pg_dump {dumped_by} : installez le client "
            f"PostgreSQL {dumped_by} ou indiquez son dossier par ORFI_PG_BIN_DIR."
        )
    with db.engine.connect() as connection:
        server_major = server_major_version(connection)
    source_major = int(manifest.get("database", {}).get("server_major") or 0)
    if source_major > server_major:
        raise BackupError(
            f"Cette sauvegarde vient d'un serveur PostgreSQL {source_major} ; le "
            f"serveur cible est en version {server_major}. Restaurez sur un serveur "
            f"PostgreSQL {source_major} ou plus récent."
        )
    run_pg(pg_restore, ["--list", str(dump)], "Sauvegarde PostgreSQL illisible")
    return pg_restore, find_pg_tool("psql")


def _existing_data(counts: dict[str, int], photos: Path) -> list[str]:
    """Return what already lies in the target, described in French (empty: nothing)."""
    held = {name: n for name, n in counts.items() if n and name not in _SETUP_TABLES}
    described = [
        f"{held[name]} {label}"
        for name, label in SUMMARY_LABELS.items()
        if name in held
    ]
    others = sum(n for name, n in held.items() if name not in SUMMARY_LABELS)
    if others:
        described.append(f"{others} ligne(s) dans d'autres tables")
    files = sum(1 for _ in photo_files(photos))
    if files:
        described.append(f"{files} fichier(s) dans le dossier des photos {photos}")
    return described


def _target_damage(backend: str) -> Damage | None:
    """Return what is wrong with the app's SQLite file, read-only (None: usable,
    absent, or PostgreSQL)."""
    if backend != "sqlite":
        return None
    path = sqlite_path()
    reason = diagnose_sqlite_file(path)
    return Damage(path, reason) if reason else None


def _count_target_rows() -> tuple[dict[str, int], Damage | None]:
    """Return the target's row counts, or the damage that stops SQLite reading them."""
    if db.engine.dialect.name == "sqlite":
        # Counting connects, which creates a missing file: 0600, not SQLite's 0644.
        create_private_file(sqlite_path())
    try:
        return count_rows(), None
    except sa.exc.DBAPIError as error:
        if db.engine.dialect.name != "sqlite" or not is_damage(error.orig):
            raise
        db.engine.dispose()
        return {}, Damage(sqlite_path(), f"base illisible : {error.orig}")


def _check_target(
    photos: Path, *, force: bool, damaged: Damage | None
) -> Damage | None:
    """Refuse a damaged target, or one that holds data, unless ``force``; return the
    damage found."""
    counts: dict[str, int] = {}
    if damaged is None:
        counts, damaged = _count_target_rows()
    if damaged is not None:
        if not force:
            raise BackupError(
                f"{damaged.describe()} : rien n'a été restauré. Relancez avec "
                f"--force : {damaged.what_force_does()}."
            )
        return damaged
    existing = _existing_data(counts, photos)
    if existing and not force:
        raise BackupError(
            "La base cible n'est pas vide (" + ", ".join(existing) + ") : "
            "rien n'a été restauré. Relancez avec --force pour la remplacer."
        )
    return None


def _upgrade_schema() -> str | None:
    from alembic import command

    config, script = _migration_script()
    command.upgrade(config, "head")
    return script.get_current_head()


def _replace_photos(staged: Path, photos: Path) -> int:
    """Replace the photo folder's content by the staged photos; return their count."""
    photos.mkdir(mode=0o700, parents=True, exist_ok=True)
    for entry in photos.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    count = 0
    if staged.is_dir():
        count = sum(1 for path in staged.rglob("*") if path.is_file())
        for entry in staged.iterdir():
            shutil.move(str(entry), str(photos / entry.name))
    return count


def restore_backup(
    archive: Path, *, force: bool = False, check_only: bool = False
) -> RestoreResult:
    """Restore an archive into the app's database and photo folder.

    Everything is checked before the target is touched: the archive's members and
    hashes, its backend and schema revision, the database copy, and that the target
    holds no data (unless ``force``). Then the database is restored, its row counts
    checked against the manifest, its schema upgraded to the code's head, and the photo
    folder replaced. With ``check_only``, stops after the checks of the archive.
    """
    backend = backend_name()
    if not archive.is_file():
        raise BackupError(f"Archive introuvable : {archive}.")
    photos = photo_dir()
    photos.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(
        prefix=".orfi-restauration-", dir=photos.parent
    ) as work_name:
        work = Path(work_name)
        manifest = extract_verified(archive, work)
        _check_compatible(manifest, backend)
        pg_tools = _check_database_member(manifest, work)
        damaged = _target_damage(backend)
        if check_only:
            return RestoreResult(manifest=manifest, checked_only=True, damaged=damaged)
        db.session.remove()
        damaged = _check_target(photos, force=force, damaged=damaged)
        db.engine.dispose()
        set_aside = None
        if backend == "sqlite":
            set_aside = restore_sqlite(
                work / SQLITE_MEMBER, damaged=damaged is not None
            )
        else:
            restore_postgresql(*pg_tools, work / PG_MEMBER)
        db.engine.dispose()
        counts = _check_restored_counts(manifest["counts"])
        revision = manifest.get("alembic_revision")
        if revision is not None:
            revision = _upgrade_schema()
            db.engine.dispose()
            counts = count_rows()
        else:
            logger.warning("Sauvegarde sans révision Alembic : schéma non mis à jour")
        photo_files = _replace_photos(work / PHOTOS, photos)
    logger.info("Sauvegarde %s restaurée", archive)
    return RestoreResult(
        manifest=manifest,
        counts=counts,
        photo_files=photo_files,
        revision=revision,
        damaged=damaged,
        set_aside=set_aside,
    )


def _check_restored_counts(expected: dict[str, int]) -> dict[str, int]:
    """Return the restored database's row counts; refuse any that differs."""
    counts = count_rows()
    differing = sorted(
        name for name, count in expected.items() if counts.get(name) != count
    )
    if differing:
        raise BackupError(
            "Base restaurée mais les décomptes diffèrent de la sauvegarde pour : "
            + ", ".join(differing)
            + ". Vérifiez la base avant de la remettre en service."
        )
    return counts


def summarize_counts(counts: dict[str, int]) -> str:
    """Return the counts people ask about as a French phrase."""
    return ", ".join(
        f"{counts.get(name, 0)} {label}" for name, label in SUMMARY_LABELS.items()
    )
