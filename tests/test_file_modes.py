"""Every file orfi writes in its instance folder is its owner's alone (issue 17).

The database, its -wal and -shm, the photos, the secret key and the backups hold
offence data or what guards it: 0600 for files, 0700 for folders, whatever the umask
leaves (0022, the usual one, would give 0644 and 0755).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from orfi import create_app
from orfi.auth.models import Role
from orfi.extensions import db
from tests.factories import (
    commit,
    make_organisation,
    make_photo,
    make_report,
    make_residence,
    make_user,
)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask of a default Debian account: new files 0644, folders 0755."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _instance_app(test_config: dict, instance: Path) -> Flask:
    """An app whose instance folder (database, photos, secret, backups) is ``instance``,
    as a SQLite installation uses it by default."""
    app = create_app(
        {
            **test_config,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'orfi.sqlite3'}",
            "ORFI_PHOTO_DIR": str(instance / "photos"),
            "ORFI_BACKUP_DIR": "",
            "ORFI_SECRET_KEY": "",
        }
    )
    app.instance_path = str(instance)
    return app


def orfi(app: Flask, *args: str) -> str:
    """Run an ``orfi`` command on ``app``; return its output, having checked it ran."""
    result = app.test_cli_runner().invoke(args=["orfi", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _modes(folder: Path) -> dict[str, str]:
    """Return the mode of the folder and of everything under it, by relative name."""
    modes = {".": oct(stat.S_IMODE(folder.stat().st_mode))}
    for path in folder.rglob("*"):
        modes[str(path.relative_to(folder))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return modes


def _not_private(modes: dict[str, str], folder: Path) -> dict[str, str]:
    return {
        name: mode
        for name, mode in modes.items()
        if mode != ("0o700" if (folder / name).is_dir() else "0o600")
    }


def _file_a_fact_with_a_photo() -> None:
    bailleur = make_organisation(code="MOD", name="Habitat Privé")
    residence = make_residence(bailleur, name="Les Glycines")
    gardien = make_user(bailleur, role=Role.GARDIEN, sector=[residence])
    make_photo(make_report(gardien, residence), gardien)
    commit()


def test_init_a_fact_with_a_photo_and_a_backup_leave_only_private_files(
    tmp_path, test_config
):
    instance = tmp_path / "instance"
    app = _instance_app(test_config, instance)
    with app.app_context():
        orfi(app, "init")
        _file_a_fact_with_a_photo()
        orfi(app, "backup")
        # Taken while the engine's connections are open: -wal and -shm exist.
        modes = _modes(instance)
        db.engine.dispose()
    names = set(modes)
    assert {"orfi.sqlite3", "orfi.sqlite3-wal", "orfi.sqlite3-shm"} <= names
    assert "secret_key" in names
    assert sum(name.endswith(".jpg") for name in names) == 2
    assert sum(name.endswith(".tar.gz") for name in names) == 1
    assert _not_private(modes, instance) == {}


def test_a_restore_into_a_new_instance_leaves_only_private_files(tmp_path, test_config):
    source = _instance_app(test_config, tmp_path / "source")
    with source.app_context():
        orfi(source, "init")
        _file_a_fact_with_a_photo()
        archive = tmp_path / "sauvegarde.tar.gz"
        orfi(source, "backup", "--output", str(archive))
        db.engine.dispose()

    instance = tmp_path / "restored"
    target = _instance_app(test_config, instance)
    with target.app_context():
        orfi(target, "restore", str(archive))
        modes = _modes(instance)
        db.engine.dispose()
    assert "orfi.sqlite3" in modes
    assert sum(name.endswith(".jpg") for name in modes) == 2
    assert _not_private(modes, instance) == {}
