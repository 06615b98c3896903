"""PostgreSQL client tools: finding them, dumping and restoring with them."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import URL

from orfi.backup.settings import CHUNK, PG_MEMBER, BackupError
from orfi.backup.snapshot import Snapshot, take_snapshot
from orfi.extensions import db

logger = logging.getLogger(__name__)

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
#: What a failed restore says first: the transaction leaves the target as it was.
_RESTORE_FAILED = (
    "Restauration PostgreSQL impossible (la base cible n'a pas été modifiée)"
)


@dataclass(frozen=True)
class PgTool:
    """A PostgreSQL client program and its major version."""

    path: str
    major: int


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


def server_major_version(connection: sa.Connection) -> int:
    """Return the major version of the PostgreSQL server behind ``connection``."""
    return int(connection.exec_driver_sql("SHOW server_version_num").scalar()) // 10000


def run_pg(tool: PgTool, args: list[str], what: str) -> None:
    """Run a PostgreSQL client on the app's database; raise BackupError if it fails."""
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


def dump_postgresql(work: Path) -> Snapshot:
    """Run pg_dump on a snapshot exported by a transaction that also counts the rows."""
    pg_dump = find_pg_tool("pg_dump")
    engine = db.engine
    with engine.connect().execution_options(
        isolation_level="REPEATABLE READ"
    ) as connection:
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        server_major = server_major_version(connection)
        if pg_dump.major < server_major:
            raise BackupError(
                f"pg_dump {pg_dump.major} ({pg_dump.path}) ne sait pas sauvegarder un "
                f"serveur PostgreSQL {server_major} : installez le client "
                f"PostgreSQL {server_major} (paquet postgresql-client-{server_major}) "
                "ou indiquez son dossier par ORFI_PG_BIN_DIR."
            )
        snapshot_id = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
        snapshot = take_snapshot(
            connection,
            {
                "file": PG_MEMBER,
                "server_version": connection.exec_driver_sql(
                    "SHOW server_version"
                ).scalar(),
                "server_major": server_major,
                "pg_dump_major": pg_dump.major,
            },
        )
        # The exporting transaction stays open while pg_dump reads its snapshot.
        run_pg(
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


def restore_postgresql(pg_restore: PgTool, psql: PgTool, dump: Path) -> None:
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
    with (
        tempfile.TemporaryFile("w+") as restore_errors,
        tempfile.TemporaryFile("w+") as psql_errors,
    ):
        restore, runner = _start_restore(
            pg_restore, psql, dump, restore_errors, psql_errors
        )
        _pipe_in_transaction(restore, runner, drops)
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
            raise BackupError(f"{_RESTORE_FAILED} : " + " ; ".join(failures))


def _start_restore(
    pg_restore: PgTool,
    psql: PgTool,
    dump: Path,
    restore_errors: IO[str],
    psql_errors: IO[str],
) -> tuple[subprocess.Popen, subprocess.Popen]:
    """Start pg_restore writing SQL and psql reading it; return both processes."""
    env = pg_environment(db.engine.url)
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
            f"{_RESTORE_FAILED} : pg_restore ne démarre pas ({error})."
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
        raise BackupError(
            f"{_RESTORE_FAILED} : psql ne démarre pas ({error})."
        ) from None
    return restore, runner


def _pipe_in_transaction(
    restore: subprocess.Popen, runner: subprocess.Popen, drops: str
) -> None:
    """Feed psql the drops, then pg_restore's SQL; commit if pg_restore succeeded."""
    try:
        runner.stdin.write(
            f"SET client_min_messages = warning;\nBEGIN;\n{drops}".encode()
        )
        shutil.copyfileobj(restore.stdout, runner.stdin, CHUNK)
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


def _quote(connection: sa.Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote_identifier(name)
