"""``orfi restore`` after a disaster: a damaged SQLite target is set aside, replaced.

The attack of issue 17: the database file is random bytes, truncated, has a corrupted
page or is empty. Restore must never end on a traceback; without ``--force`` it says
what ``--force`` will do and touches nothing; with it, the damaged file (and its -wal,
-shm) is kept aside under a ``.damaged-…`` name and the backup's rows come back.

Damage to a database file is SQLite's alone: these tests build their own SQLite apps,
so they run the same whatever backend the rest of the suite is on.
"""

from __future__ import annotations

import random
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from flask import Flask

from orfi import create_app
from orfi.auth.models import Role
from orfi.backup import services
from orfi.backup.services import create_backup
from orfi.extensions import db
from tests.factories import (
    commit,
    make_organisation,
    make_photo,
    make_report,
    make_residence,
    make_user,
)

PAGE = 4096


def _sqlite_app(test_config: dict, folder: Path) -> Flask:
    return create_app(
        {
            **test_config,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'orfi.sqlite3'}",
            "ORFI_PHOTO_DIR": str(folder / "photos"),
            "ORFI_BACKUP_DIR": str(folder / "backups"),
        }
    )


@pytest.fixture(scope="module")
def source(tmp_path_factory, test_config) -> Iterator[dict]:
    """A SQLite orfi with facts and a photo, its backup archive and a file copy of
    its database (to damage)."""
    folder = tmp_path_factory.mktemp("source")
    app = _sqlite_app(test_config, folder)
    with app.app_context():
        config, _script = services._migration_script()
        command.upgrade(config, "head")
        bailleur = make_organisation(code="DMG", name="Habitat Endommagé")
        residence = make_residence(bailleur, name="Les Tilleuls")
        gardien = make_user(bailleur, role=Role.GARDIEN, sector=[residence])
        first = make_report(gardien, residence, description="Tags dans le hall.")
        make_report(gardien, residence, description="Porte de cave forcée.")
        make_photo(first, gardien)
        commit()
        references = sorted(
            db.session.scalars(db.text("SELECT reference FROM report")).all()
        )
        archive = create_backup(folder / "sauvegarde.tar.gz").path
        db.session.remove()
        db.engine.dispose()
    database = folder / "copie.sqlite3"
    source = sqlite3.connect(folder / "orfi.sqlite3")
    target = sqlite3.connect(database)
    source.backup(target)
    target.execute("PRAGMA journal_mode = DELETE")
    target.close()
    source.close()
    yield {"archive": archive, "references": references, "database": database}


def _random_bytes(path: Path, database: Path) -> None:
    path.write_bytes(random.Random(17).randbytes(50_000))
    # A stray WAL of garbage beside it: it must go aside with the file.
    Path(f"{path}-wal").write_bytes(random.Random(18).randbytes(8_000))


def _truncated(path: Path, database: Path) -> None:
    data = database.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _corrupted_page(path: Path, database: Path) -> None:
    data = bytearray(database.read_bytes())
    # Page 2 is a table's root page: its b-tree header turns to noise.
    data[PAGE : 2 * PAGE] = random.Random(19).randbytes(PAGE)
    path.write_bytes(bytes(data))


def _zero_length(path: Path, database: Path) -> None:
    path.write_bytes(b"")


DAMAGES: dict[str, Callable[[Path, Path], None]] = {
    "octets-aleatoires": _random_bytes,
    "base-tronquee": _truncated,
    "page-corrompue": _corrupted_page,
    "fichier-vide": _zero_length,
}


@pytest.fixture(params=sorted(DAMAGES))
def damaged(request, source, tmp_path, test_config) -> Iterator[dict]:
    """A target app whose database file was damaged in one of the ways above."""
    folder = tmp_path / "instance"
    folder.mkdir()
    path = folder / "orfi.sqlite3"
    DAMAGES[request.param](path, source["database"])
    app = _sqlite_app(test_config, folder)
    yield {
        "app": app,
        "path": path,
        "before": {p.name: p.read_bytes() for p in folder.glob("orfi.sqlite3*")},
    }
    with app.app_context():
        db.engine.dispose()


def orfi(app: Flask, *args: str):
    """Run an ``orfi`` command on ``app`` in its own app context."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=["orfi", *args])


def restore(target: dict | Flask, source: dict, *flags: str, status: int):
    """Run ``orfi restore`` of the source's archive on the (damaged) target; check it
    ends with ``status`` and a message, never a traceback."""
    app = target["app"] if isinstance(target, dict) else target
    result = orfi(app, "restore", str(source["archive"]), *flags)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.output
    )
    assert "Traceback" not in result.output
    assert result.exit_code == status, result.output
    return result


def _set_aside(folder: Path) -> list[Path]:
    return sorted(folder.glob("orfi.sqlite3.damaged-*"))


def test_restore_without_force_explains_and_touches_nothing(damaged, source):
    result = restore(damaged, source, status=1)
    assert "est endommagée" in result.output
    assert "rien n'a été restauré" in result.output
    assert "Relancez avec --force" in result.output
    assert "de côté" in result.output
    folder = damaged["path"].parent
    after = {p.name: p.read_bytes() for p in folder.glob("orfi.sqlite3*")}
    assert after == damaged["before"]
    assert not _set_aside(folder)


def test_check_warns_that_the_target_is_damaged(damaged, source):
    result = restore(damaged, source, "--check", status=0)
    assert "Archive valide" in result.output
    assert "est endommagée" in result.output
    assert "--force" in result.output


def test_restore_with_force_sets_the_damaged_file_aside_and_restores(damaged, source):
    result = restore(damaged, source, "--force", status=0)
    assert "Restauration terminée" in result.output
    assert "Base restaurée : 2 fait(s)" in result.output

    path = damaged["path"]
    aside = _set_aside(path.parent)
    kept = [p for p in aside if not p.name.endswith(("-wal", "-shm"))]
    assert len(kept) == 1, aside
    assert f"mise de côté telle quelle : {kept[0]}" in result.output
    # The damaged bytes are kept as they were, with their companions.
    assert kept[0].read_bytes() == damaged["before"]["orfi.sqlite3"]
    if "orfi.sqlite3-wal" in damaged["before"]:
        wal = Path(f"{kept[0]}-wal")
        assert wal.read_bytes() == damaged["before"]["orfi.sqlite3-wal"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = connection.execute("SELECT reference FROM report").fetchall()
    finally:
        connection.close()
    assert sorted(reference for (reference,) in rows) == source["references"]
    with damaged["app"].app_context():
        assert services.count_rows()["photo"] == 1


def test_restore_over_a_damaged_database_then_restores_again_as_usual(damaged, source):
    restore(damaged, source, "--force", status=0)
    # The repaired database now holds data: the usual refusal, no more damage.
    again = restore(damaged, source, status=1)
    assert "La base cible n'est pas vide (2 fait(s)" in again.output
    assert len(_set_aside(damaged["path"].parent)) >= 1


def test_a_locked_database_is_never_taken_for_a_damaged_one(
    source, tmp_path, test_config
):
    """The application left running: its lock is no damage, the file stays put."""
    folder = tmp_path / "instance"
    folder.mkdir()
    path = folder / "orfi.sqlite3"
    path.write_bytes(source["database"].read_bytes())  # rollback journal: locks all
    app = _sqlite_app({**test_config, "ORFI_SQLITE_BUSY_TIMEOUT": 0.1}, folder)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = restore(app, source, "--force", status=1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "database is locked" in result.output
    assert "Arrêtez l'application" in result.output
    assert not _set_aside(folder)
    assert path.read_bytes() == source["database"].read_bytes()
    with app.app_context():
        db.engine.dispose()
