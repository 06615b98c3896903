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
copy), then refuses a target that already holds data unless forced, restores the
database, checks the row counts, upgrades the schema to the code's head and replaces the
photo folder. See docs/backup.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import URL

from orfi.errors import OrfiError
from orfi.extensions import db

logger = logging.getLogger(__name__)

FORMAT = "orfi-sauvegarde"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
PHOTOS = "photos"
#: Pages copied per step of SQLite's online backup (4 MB with 4 kB pages): between two
#: steps the source is free, and in WAL mode writers are never blocked at all.
STEP_PAGES = 1024
#: Tables that ``orfi init`` fills (the default nomenclature) or Alembic keeps: rows
#: there do not make a database "non-empty".
_SETUP_TABLES = frozenset({"alembic_version", "family", "category"})
_CHUNK = 1024 * 1024
_MAX_MANIFEST_BYTES = 16 * 1024 * 1024
#: Query parameters of a PostgreSQL URL that libpq also reads from the environment.
_LIBPQ_ENV = {
    "host": "PGHOST",
    "port": "PGPORT",
    "sslmode": "PGSSLMODE",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcrl": "PGSSLCRL",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "service": "PGSERVICE",
    "passfile": "PGPASSFILE",
}
#: How the command line names the tables people ask about, in this order.
SUMMARY_LABELS = {
    "report": "fait(s)",
    "followup_action": "action(s) de suivi",
    "photo": "photo(s)",
    "user_account": "utilisateur(s)",
    "organisation": "bailleur(s)",
    "residence": "résidence(s)",
}

Progress = Callable[[int, int], None]


class BackupError(OrfiError):
    """Raised when a backup cannot be made, or an archive cannot be restored as asked.

    Raised before the target is touched for every check of the archive and of the
    target; a failure while writing says what state the target was left in.
    """


@dataclass(frozen=True)
class BackupResult:
    """A backup written: where, how big, its manifest and the photos found missing."""

    path: Path
    size: int
    manifest: dict[str, Any]
    missing_photos: int = 0


@dataclass(frozen=True)
class RestoreResult:
    """A restore done (or only checked): the archive's manifest and what is there."""

    manifest: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)
    photo_files: int = 0
    revision: str | None = None
    checked_only: bool = False


@dataclass(frozen=True)
class PgTool:
    """A PostgreSQL client program and its major version."""

    path: str
    major: int


# -------------------------------------------------------------------- settings


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


def _orfi_version() -> str:
    try:
        return importlib.metadata.version("orfi")
    except importlib.metadata.PackageNotFoundError:
        return "inconnue"


def _sqlite_path() -> Path:
    database = db.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(
            "La base SQLite doit être un fichier désigné par son chemin "
            "(sqlite:///chemin/orfi.sqlite3)."
        )
    return Path(database)


def _busy_timeout() -> float:
    return float(current_app.config.get("ORFI_SQLITE_BUSY_TIMEOUT", 10))


# ---------------------------------------------------------------- PostgreSQL


def pg_environment(url: URL) -> dict[str, str]:
    """Return the environment giving libpq tools the connection of ``url``.

    The password travels in ``PGPASSWORD``, never on a command line that ``ps`` shows.
    """
    env = dict(os.environ)
    for key, value in (
        ("PGHOST", url.host),
        ("PGPORT", url.port),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value not in (None, ""):
            env[key] = str(value)
    for name, value in url.query.items():
        variable = _LIBPQ_ENV.get(name)
        if variable is None:
            continue
        env[variable] = value if isinstance(value, str) else str(value[0])
    return env


def find_pg_tool(name: str) -> PgTool:
    """Return the PostgreSQL client ``name`` (``ORFI_PG_BIN_DIR``, else the PATH)."""
    folder = current_app.config.get("ORFI_PG_BIN_DIR") or ""
    if folder:
        candidate = Path(folder) / name
        path = str(candidate) if os.access(candidate, os.X_OK) else None
        where = f"dans {folder} (ORFI_PG_BIN_DIR)"
    else:
        path = shutil.which(name)
        where = "dans le PATH"
    if path is None:
        raise BackupError(
            f"{name} est introuvable {where} : installez le client PostgreSQL de la "
            "version du serveur (paquet Debian postgresql-client-N) ou indiquez son "
            "dossier par ORFI_PG_BIN_DIR."
        )
    try:
        completed = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise BackupError(f"{name} ne démarre pas ({path}) : {error}") from None
    match = re.search(r"\)\s*(\d+)", completed.stdout) or re.search(
        r"(\d+)", completed.stdout
    )
    if completed.returncode != 0 or match is None:
        raise BackupError(
            f"{name} ({path}) ne donne pas sa version : "
            f"{(completed.stderr or completed.stdout).strip()}"
        )
    return PgTool(path=path, major=int(match.group(1)))


def _server_major(connection: sa.Connection) -> int:
    return int(connection.exec_driver_sql("SHOW server_version_num").scalar()) // 10000


def _run_pg(tool: PgTool, args: list[str], what: str) -> None:
    env = pg_environment(db.engine.url)
    try:
        completed = subprocess.run(
            [tool.path, *args], env=env, capture_output=True, text=True
        )
    except OSError as error:
        raise BackupError(
            f"{what} : {Path(tool.path).name} ne démarre pas ({error})."
        ) from None
    if completed.returncode != 0:
        detail = completed.stderr.strip() or completed.stdout.strip()
        raise BackupError(
            f"{what} : {Path(tool.path).name} a échoué (code "
            f"{completed.returncode}) : {detail}"
        )


# -------------------------------------------------------------- snapshot facts


def _table_counts(connection: sa.Connection) -> dict[str, int]:
    names = sorted(sa.inspect(connection).get_table_names())
    return {
        name: connection.execute(
            sa.select(sa.func.count()).select_from(sa.table(name))
        ).scalar_one()
        for name in names
        if name != "alembic_version"
    }


def _revision(connection: sa.Connection) -> str | None:
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.exec_driver_sql(
        "SELECT version_num FROM alembic_version"
    ).scalar()


def _expected_photo_files(connection: sa.Connection) -> set[str]:
    """Return the photo files the database refers to, relative to the photo folder."""
    if not sa.inspect(connection).has_table("photo"):
        return set()
    rows = connection.exec_driver_sql(
        "SELECT report.organisation_id, photo.uuid FROM photo "
        "JOIN report ON report.id = photo.report_id"
    )
    expected = set()
    for organisation_id, raw_uuid in rows:
        # SQLite keeps a UUID as 32 hex digits, PostgreSQL as a uuid.
        name = str(uuid.UUID(str(raw_uuid)))
        expected.add(f"{organisation_id}/{name}.jpg")
        expected.add(f"{organisation_id}/{name}-mini.jpg")
    return expected


@dataclass
class _Snapshot:
    counts: dict[str, int]
    revision: str | None
    expected_photos: set[str]
    details: dict[str, Any]


# ------------------------------------------------------------------ SQLite copy


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
    source = sqlite3.connect(source_path, timeout=_busy_timeout(), isolation_level=None)
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


def _sqlite_snapshot(copy: Path) -> _Snapshot:
    engine = sa.create_engine(f"sqlite:///{copy}", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            snapshot = _Snapshot(
                counts=_table_counts(connection),
                revision=_revision(connection),
                expected_photos=_expected_photo_files(connection),
                details={
                    "file": SQLITE_MEMBER,
                    "sqlite_version": sqlite3.sqlite_version,
                },
            )
    finally:
        engine.dispose()
    return snapshot


def _dump_sqlite(work: Path, step_pages: int, progress: Progress | None) -> _Snapshot:
    copy = work / SQLITE_MEMBER
    copy_sqlite_database(_sqlite_path(), copy, step_pages=step_pages, progress=progress)
    return _sqlite_snapshot(copy)


# -------------------------------------------------------------- PostgreSQL dump


def _dump_postgresql(work: Path) -> _Snapshot:
    """Run pg_dump on a snapshot exported by a transaction that also counts the rows."""
    pg_dump = find_pg_tool("pg_dump")
    engine = db.engine
    with engine.connect().execution_options(
        isolation_level="REPEATABLE READ"
    ) as connection:
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        server_major = _server_major(connection)
        if pg_dump.major < server_major:
            raise BackupError(
                f"pg_dump {pg_dump.major} ({pg_dump.path}) ne sait pas sauvegarder un "
                f"serveur PostgreSQL {server_major} : installez le client "
                f"PostgreSQL {server_major} (paquet postgresql-client-{server_major}) "
                "ou indiquez son dossier par ORFI_PG_BIN_DIR."
            )
        snapshot_id = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
        snapshot = _Snapshot(
            counts=_table_counts(connection),
            revision=_revision(connection),
            expected_photos=_expected_photo_files(connection),
            details={
                "file": PG_MEMBER,
                "server_version": connection.exec_driver_sql(
                    "SHOW server_version"
                ).scalar(),
                "server_major": server_major,
                "pg_dump_major": pg_dump.major,
            },
        )
        # The exporting transaction stays open while pg_dump reads its snapshot.
        _run_pg(
            pg_dump,
            [
                "--format=custom",
                "--no-password",
                f"--snapshot={snapshot_id}",
                f"--file={work / PG_MEMBER}",
            ],
            "Sauvegarde PostgreSQL impossible",
        )
        connection.rollback()
    return snapshot


# ------------------------------------------------------------------- archive


class _HashingReader:
    """A file wrapper that hashes what tarfile reads from it."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha256.update(data)
        return data


def _add_member(tar: tarfile.TarFile, path: Path, name: str) -> dict[str, Any]:
    info = tar.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    with path.open("rb") as raw:
        reader = _HashingReader(raw)
        tar.addfile(info, reader)
    return {"size": info.size, "sha256": reader.sha256.hexdigest()}


def _photo_files(folder: Path) -> Iterator[tuple[Path, str]]:
    """Yield the photo files (not temporary or hidden ones) with their relative name."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_symlink() or not path.is_file() or path.suffix == ".tmp":
            continue
        yield path, relative.as_posix()


def _open_output(path: Path) -> IO[bytes]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "wb")


def _compressed(path: Path) -> bool:
    return path.name.endswith((".gz", ".tgz"))


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
        output.parent.mkdir(parents=True, exist_ok=True)
    if output.exists():
        raise BackupError(f"{output} existe déjà : choisissez un autre nom.")
    partial = output.with_name(output.name + ".part")
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(
        prefix=".orfi-sauvegarde-", dir=output.parent
    ) as work_name:
        work = Path(work_name)
        if backend == "sqlite":
            snapshot = _dump_sqlite(work, step_pages, progress)
        else:
            snapshot = _dump_postgresql(work)
        database_file = work / snapshot.details["file"]
        members: dict[str, dict[str, Any]] = {}
        photos_found: set[str] = set()
        try:
            with _open_output(partial) as raw:
                mode = "w:gz" if _compressed(output) else "w"
                with tarfile.open(fileobj=raw, mode=mode) as tar:
                    members[database_file.name] = _add_member(
                        tar, database_file, database_file.name
                    )
                    for path, relative in _photo_files(photo_dir()):
                        name = f"{PHOTOS}/{relative}"
                        try:
                            members[name] = _add_member(tar, path, name)
                        except FileNotFoundError:
                            continue  # deleted since listed: its row went with it
                        photos_found.add(relative)
                    missing = len(snapshot.expected_photos - photos_found)
                    manifest = _manifest(backend, started, snapshot, members, missing)
                    _add_bytes(tar, MANIFEST, _manifest_bytes(manifest))
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(partial, output)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    if missing:
        logger.warning("Sauvegarde %s : %d photo(s) sans fichier", output, missing)
    logger.info("Sauvegarde écrite : %s", output)
    return BackupResult(
        path=output,
        size=output.stat().st_size,
        manifest=manifest,
        missing_photos=missing,
    )


def _manifest(
    backend: str,
    started: datetime,
    snapshot: _Snapshot,
    members: dict[str, dict[str, Any]],
    missing_photos: int,
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "orfi_version": _orfi_version(),
        "created_at": started.isoformat(timespec="seconds"),
        "backend": backend,
        "alembic_revision": snapshot.revision,
        "database": snapshot.details,
        "counts": snapshot.counts,
        "photos": {
            "files": sum(1 for name in members if name.startswith(f"{PHOTOS}/")),
            "missing": missing_photos,
        },
        "members": members,
    }


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True).encode()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


# ----------------------------------------------------------------- reading back


def _safe_member_name(name: str) -> bool:
    path = PurePosixPath(name)
    if path.is_absolute() or "\\" in name or not path.parts:
        return False
    if any(part in ("", ".", "..") for part in path.parts):
        return False
    if name in (MANIFEST, SQLITE_MEMBER, PG_MEMBER):
        return True
    return path.parts[0] == PHOTOS and len(path.parts) >= 2


def _extract_verified(archive: Path, work: Path) -> dict[str, Any]:
    """Extract ``archive`` into ``work`` and check it; return its manifest.

    Every member is a regular file with an expected name; the manifest lists exactly
    the other members, with their size and SHA-256.
    """
    if not archive.is_file():
        raise BackupError(f"Archive introuvable : {archive}.")
    found: dict[str, dict[str, Any]] = {}
    manifest_data: bytes | None = None
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            for member in tar:
                name = member.name
                if not member.isfile() or not _safe_member_name(name):
                    raise BackupError(
                        f"Archive refusée : élément inattendu « {name} » (ce n'est pas "
                        "une sauvegarde d'orfi)."
                    )
                if name in found or (name == MANIFEST and manifest_data is not None):
                    raise BackupError(f"Archive refusée : « {name} » en double.")
                source = tar.extractfile(member)
                if name == MANIFEST:
                    manifest_data = source.read(_MAX_MANIFEST_BYTES + 1)
                    continue
                destination = work / name
                destination.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                size = 0
                with destination.open("wb") as out:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                found[name] = {"size": size, "sha256": digest.hexdigest()}
    except BackupError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise BackupError(
            f"Archive illisible ou tronquée ({archive.name}) : {error}"
        ) from None
    if manifest_data is None:
        raise BackupError(
            f"Archive incomplète ({archive.name}) : pas de manifest.json "
            "(archive tronquée, ou qui n'est pas une sauvegarde d'orfi)."
        )
    manifest = _parse_manifest(manifest_data)
    expected = manifest["members"]
    if set(expected) != set(found):
        absent = sorted(set(expected) - set(found))
        extra = sorted(set(found) - set(expected))
        raise BackupError(
            "Archive incomplète ou modifiée : "
            + (f"manquent {', '.join(absent[:5])} ; " if absent else "")
            + (f"en trop {', '.join(extra[:5])}" if extra else "")
        )
    damaged = [
        name
        for name, facts in found.items()
        if facts["sha256"] != expected[name].get("sha256")
        or facts["size"] != expected[name].get("size")
    ]
    if damaged:
        raise BackupError(
            "Archive corrompue : empreinte SHA-256 différente pour "
            + ", ".join(sorted(damaged)[:5])
            + "."
        )
    return manifest


def _parse_manifest(data: bytes) -> dict[str, Any]:
    try:
        if len(data) > _MAX_MANIFEST_BYTES:
            raise ValueError("trop grand")
        manifest = json.loads(data)
        if manifest.get("format") != FORMAT:
            raise ValueError("format inconnu")
        members = manifest.get("members")
        if not isinstance(members, dict) or not all(
            isinstance(facts, dict) for facts in members.values()
        ):
            raise ValueError("liste des fichiers absente")
        if not isinstance(manifest.get("counts"), dict):
            raise ValueError("décomptes absents")
    except (ValueError, AttributeError) as error:
        raise BackupError(f"manifest.json illisible : {error}.") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"Format de sauvegarde {manifest.get('format_version')} inconnu de cette "
            f"version d'orfi (qui lit le format {FORMAT_VERSION})."
        )
    return manifest


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
        server_major = _server_major(connection)
    source_major = int(manifest.get("database", {}).get("server_major") or 0)
    if source_major > server_major:
        raise BackupError(
            f"Cette sauvegarde vient d'un serveur PostgreSQL {source_major} ; le "
            f"serveur cible est en version {server_major}. Restaurez sur un serveur "
            f"PostgreSQL {source_major} ou plus récent."
        )
    _run_pg(pg_restore, ["--list", str(dump)], "Sauvegarde PostgreSQL illisible")
    return pg_restore, find_pg_tool("psql")


# --------------------------------------------------------------------- restore


def count_rows() -> dict[str, int]:
    """Return the row count of every table of the app's database (Alembic's aside)."""
    with db.engine.connect() as connection:
        return _table_counts(connection)


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
    files = sum(1 for _ in _photo_files(photos))
    if files:
        described.append(f"{files} fichier(s) dans le dossier des photos {photos}")
    return described


def _restore_sqlite(copy: Path) -> None:
    target_path = _sqlite_path()
    target_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        source = sqlite3.connect(copy)
        target = sqlite3.connect(target_path, timeout=_busy_timeout())
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


def _restore_postgresql(pg_restore: PgTool, psql: PgTool, dump: Path) -> None:
    """Replace the target's tables by the dump's, in one transaction.

    ``pg_restore --clean --if-exists --no-owner`` turns the dump into SQL that psql
    runs after dropping every table of the target (a newer schema's tables and
    constraints would otherwise block the dump's own drops or the migrations). The
    transaction is committed only once pg_restore has ended without error: any failure
    leaves the target as it was.
    """
    with db.engine.connect() as connection:
        drops = "".join(
            f"DROP TABLE IF EXISTS {_quote(connection, name)} CASCADE;\n"
            for name in sorted(sa.inspect(connection).get_table_names())
        )
    env = pg_environment(db.engine.url)
    what = "Restauration PostgreSQL impossible (la base cible n'a pas été modifiée)"
    with (
        tempfile.TemporaryFile("w+") as restore_errors,
        tempfile.TemporaryFile("w+") as psql_errors,
    ):
        try:
            restore = subprocess.Popen(
                [
                    pg_restore.path,
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                    "--file=-",
                    str(dump),
                ],
                stdout=subprocess.PIPE,
                stderr=restore_errors,
                env=env,
            )
        except OSError as error:
            raise BackupError(
                f"{what} : pg_restore ne démarre pas ({error})."
            ) from None
        try:
            runner = subprocess.Popen(
                [
                    psql.path,
                    "--no-psqlrc",
                    "--quiet",
                    "--no-password",
                    "--set=ON_ERROR_STOP=1",
                    f"--dbname={db.engine.url.database}",
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=psql_errors,
                env=env,
            )
        except OSError as error:
            restore.kill()
            restore.wait()
            raise BackupError(f"{what} : psql ne démarre pas ({error}).") from None
        try:
            runner.stdin.write(
                f"SET client_min_messages = warning;\nBEGIN;\n{drops}".encode()
            )
            shutil.copyfileobj(restore.stdout, runner.stdin, _CHUNK)
            if restore.wait() == 0:
                runner.stdin.write(b"COMMIT;\n")
        except BrokenPipeError:
            pass  # psql stopped on an error; its message says which
        finally:
            with contextlib.suppress(BrokenPipeError):
                runner.stdin.close()
            restore.stdout.close()
            if restore.poll() is None:
                restore.kill()
            restore.wait()
            runner.wait()
        failures = []
        for process, errors, name in (
            (restore, restore_errors, "pg_restore"),
            (runner, psql_errors, "psql"),
        ):
            if process.returncode != 0:
                errors.seek(0)
                failures.append(
                    f"{name} a échoué (code {process.returncode}) : "
                    f"{errors.read().strip()[-1000:]}"
                )
        if failures:
            raise BackupError(f"{what} : " + " ; ".join(failures))


def _quote(connection: sa.Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote_identifier(name)


def _upgrade_schema() -> str | None:
    from alembic import command

    config, script = _migration_script()
    command.upgrade(config, "head")
    return script.get_current_head()


def _replace_photos(staged: Path, photos: Path) -> int:
    """Replace the photo folder's content by the staged photos; return their count."""
    photos.mkdir(parents=True, exist_ok=True)
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
    photos.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(
        prefix=".orfi-restauration-", dir=photos.parent
    ) as work_name:
        work = Path(work_name)
        manifest = _extract_verified(archive, work)
        _check_compatible(manifest, backend)
        pg_tools = _check_database_member(manifest, work)
        if check_only:
            return RestoreResult(manifest=manifest, checked_only=True)
        db.session.remove()
        existing = _existing_data(count_rows(), photos)
        if existing and not force:
            raise BackupError(
                "La base cible n'est pas vide (" + ", ".join(existing) + ") : "
                "rien n'a été restauré. Relancez avec --force pour la remplacer."
            )
        db.engine.dispose()
        if backend == "sqlite":
            _restore_sqlite(work / SQLITE_MEMBER)
        else:
            _restore_postgresql(*pg_tools, work / PG_MEMBER)
        db.engine.dispose()
        counts = count_rows()
        differing = sorted(
            name
            for name, expected in manifest["counts"].items()
            if counts.get(name) != expected
        )
        if differing:
            raise BackupError(
                "Base restaurée mais les décomptes diffèrent de la sauvegarde pour : "
                + ", ".join(differing)
                + ". Vérifiez la base avant de la remettre en service."
            )
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
        manifest=manifest, counts=counts, photo_files=photo_files, revision=revision
    )


def summarize_counts(counts: dict[str, int]) -> str:
    """Return the counts people ask about as a French phrase."""
    return ", ".join(
        f"{counts.get(name, 0)} {label}" for name, label in SUMMARY_LABELS.items()
    )
