"""Backups: an archive restored into an empty database gives the same facts, photos."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from orfi import create_app
from orfi.auth.models import Role, User
from orfi.backup import postgresql, services, sqlite
from orfi.backup.services import create_backup, restore_backup
from orfi.backup.settings import BackupError
from orfi.extensions import db
from orfi.reports.models import Lieu, Report, Status, Victime
from tests.factories import (
    commit,
    make_action,
    make_agence,
    make_complaint,
    make_organisation,
    make_photo,
    make_report,
    make_residence,
    make_user,
)
from tests.helpers import PG_ENV, create_pg_database, drop_pg_database

ON_POSTGRESQL = bool(os.environ.get("ORFI_TEST_DATABASE_URL"))
postgresql_only = pytest.mark.skipif(not ON_POSTGRESQL, reason="PostgreSQL seulement")
sqlite_only = pytest.mark.skipif(ON_POSTGRESQL, reason="SQLite seulement")


# ------------------------------------------------------------------- fixtures


def _head() -> str:
    _config, script = services._migration_script()
    return script.get_current_head()


@pytest.fixture
def stamped(app, tmp_path):
    """The shared test database (built by create_all) marked as at the code's head,
    as ``orfi init`` leaves a real one; photos and backups in temporary folders."""
    app.config["ORFI_PHOTO_DIR"] = str(tmp_path / "photos")
    app.config["ORFI_BACKUP_DIR"] = str(tmp_path / "backups")
    db.session.commit()
    config, _script = services._migration_script()
    command.stamp(config, "head")
    yield _head()
    db.session.rollback()
    db.session.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    db.session.commit()


@pytest.fixture
def world(app, stamped):
    """Two bailleurs, users of several roles, facts with photos and follow-up."""
    tmh = make_organisation(code="TMH", name="Toulouse Métropole Habitat")
    alt = make_organisation(code="ALT", name="Altéal")
    agence = make_agence(tmh, name="Agence Mirail")
    mirail = make_residence(
        tmh, agence=agence, name="Mirail", latitude=43.5736, longitude=1.4010
    )
    bagatelle = make_residence(tmh, name="Bagatelle")
    gardien = make_user(tmh, role=Role.GARDIEN, sector=[mirail, bagatelle])
    referent = make_user(tmh, role=Role.REFERENT)
    make_user(tmh, role=Role.ADMIN)
    make_user(role=Role.FEDERATION)
    alt_gardien = make_user(alt, role=Role.GARDIEN)
    graffiti = make_report(
        gardien,
        mirail,
        category_code="AB02",
        latitude=43.5741,
        longitude=1.4023,
        lieu=Lieu.HALL,
        description="Tags dans le hall, porte B.",
        gravity=2,
    )
    insult = make_report(
        gardien,
        bagatelle,
        category_code="AP01",
        victime=Victime.PERSONNEL_BAILLEUR,
        arret_travail_jours=2,
        gravity=3,
        description="Insultes envers le gardien à la loge.",
    )
    make_report(alt_gardien, description="Dépôt d'encombrants.")
    make_action(insult, referent, note="Signalé au commissariat.")
    make_complaint(insult, referent, reference="PV 2026/123")
    make_photo(graffiti, gardien)
    make_photo(graffiti, gardien)
    make_photo(insult, gardien)
    commit()
    # Plain ids: inside another app's context, a (lazy) load of these objects would
    # go through that app's engine.
    return {"gardien_id": gardien.id, "graffiti_id": graffiti.id}


@pytest.fixture
def target(fresh_database_url, tmp_path, test_config):
    """A second app on a new empty database, with its own photo folder."""
    other = create_app(
        {
            **test_config,
            "SQLALCHEMY_DATABASE_URI": fresh_database_url,
            "ORFI_PHOTO_DIR": str(tmp_path / "restored" / "photos"),
            "ORFI_BACKUP_DIR": str(tmp_path / "restored" / "backups"),
        }
    )
    yield other
    with other.app_context():
        db.engine.dispose()


def table_rows() -> dict[str, list[tuple]]:
    """Every row of every table of the current app's database, in primary-key order."""
    rows = {}
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            query = sa.select(table).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(row) for row in connection.execute(query)]
    return rows


def photo_bytes(app) -> dict[str, bytes]:
    """The files of the app's photo folder by relative name."""
    folder = Path(app.config["ORFI_PHOTO_DIR"])
    if not folder.exists():
        return {}
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def report_facts() -> list[tuple]:
    """The fields of facts that must come back, read through the ORM."""
    reports = db.session.scalars(db.select(Report).order_by(Report.reference))
    return [
        (
            r.uuid,
            r.reference,
            r.category.code,
            r.residence.name,
            r.occurred_at,
            r.latitude,
            r.longitude,
            r.gps_accuracy_m,
            r.description,
            r.status,
            r.lieu,
            r.victime,
            r.gravity,
            r.h3_r7,
            r.h3_r9,
            len(r.events),
        )
        for r in reports
    ]


def revision() -> str | None:
    with db.engine.connect() as connection:
        return connection.exec_driver_sql(
            "SELECT version_num FROM alembic_version"
        ).scalar()


def rewrite_archive(path: Path, out: Path, **manifest_changes) -> Path:
    """Copy an archive with some manifest fields changed (hashes stay right)."""
    with tarfile.open(path, "r:*") as source, tarfile.open(out, "w") as copy:
        for member in source:
            data = source.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(data)
                manifest.update(manifest_changes)
                data = json.dumps(manifest).encode()
                member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
    return out


# ---------------------------------------------------------------- round trip


def test_backup_restored_into_an_empty_database_gives_the_same_facts(
    app, world, target, stamped
):
    before = table_rows()
    facts = report_facts()
    photos = photo_bytes(app)
    assert len(facts) == 3 and len(photos) == 6  # three photos and their thumbnails
    assert {fact[9] for fact in facts} == {Status.NOUVEAU, Status.TRANSMIS}

    result = create_backup()

    with target.app_context():
        restored = restore_backup(result.path)
        assert table_rows() == before
        assert report_facts() == facts
        assert revision() == stamped
        assert restored.counts["report"] == 3
        assert restored.photo_files == 6
        # The restored database takes new facts: sequences and reference counters
        # carry on after the restored rows.
        gardien = db.session.get(User, world["gardien_id"])
        report = make_report(gardien, gardien.sector[0])
        db.session.commit()
        assert report.id > world["graffiti_id"]
        assert db.session.scalar(sa.select(sa.func.count(Report.id))) == 4
    assert photo_bytes(target) == photos


def test_archive_holds_database_photos_and_a_manifest_last(app, world, stamped):
    result = create_backup()

    backend = "sqlite" if not ON_POSTGRESQL else "postgresql"
    pattern = r"orfi-\d{8}-\d{6}Z\.tar" + (r"\.gz" if backend == "sqlite" else "")
    assert re.fullmatch(pattern, result.path.name)
    assert result.path.parent == Path(app.config["ORFI_BACKUP_DIR"])
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    assert not list(result.path.parent.glob(".*"))  # no work folder left behind
    with tarfile.open(result.path, "r:*") as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    database = "database.sqlite3" if backend == "sqlite" else "database.pgdump"
    assert names[0] == database and names[-1] == "manifest.json"
    assert len([n for n in names if n.startswith("photos/")]) == 6
    assert manifest["backend"] == backend
    assert manifest["alembic_revision"] == stamped
    assert manifest["orfi_version"]
    assert manifest["counts"]["report"] == 3
    assert manifest["counts"]["photo"] == 3
    assert manifest["counts"]["user_account"] == 5
    assert manifest["photos"] == {"files": 6, "missing": 0}
    assert set(manifest["members"]) == set(names) - {"manifest.json"}


def test_backup_counts_photos_recorded_without_their_file(app, world):
    photo_folder = Path(app.config["ORFI_PHOTO_DIR"])
    next(photo_folder.rglob("*-mini.jpg")).unlink()

    result = create_backup()

    assert result.missing_photos == 1
    assert result.manifest["photos"] == {"files": 5, "missing": 1}


def test_backup_never_overwrites_an_existing_file(app, world, tmp_path):
    existing = tmp_path / "backup.tar"
    existing.write_bytes(b"ancienne sauvegarde")
    with pytest.raises(BackupError, match="existe déjà"):
        create_backup(existing)
    assert existing.read_bytes() == b"ancienne sauvegarde"


# ---------------------------------------------------------- refusing to restore


def test_restore_refuses_a_database_that_holds_data_unless_forced(app, world, target):
    path = create_backup().path
    with target.app_context():
        restore_backup(path)
        expected = table_rows()
        gardien = db.session.get(User, world["gardien_id"])
        make_report(gardien, gardien.sector[0], description="Après la sauvegarde")
        db.session.commit()
        changed = table_rows()

        with pytest.raises(BackupError, match="n'est pas vide .*4 fait"):
            restore_backup(path)
        assert table_rows() == changed

        restore_backup(path, force=True)
        assert table_rows() == expected


def test_restore_refuses_photos_left_in_the_target_folder(app, world, target):
    path = create_backup().path
    stray = Path(target.config["ORFI_PHOTO_DIR"]) / "9" / "photo.jpg"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"x")
    with target.app_context():
        with pytest.raises(BackupError, match="dossier des photos"):
            restore_backup(path)
        assert services.count_rows() == {}
        restore_backup(path, force=True)
    assert not stray.exists()
    assert photo_bytes(target) == photo_bytes(app)


def _damaged(good: Path, name: str, damage) -> Path:
    copy = good.with_name(name)
    copy.write_bytes(good.read_bytes())
    damage(copy)
    return copy


def _truncate_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _drop_manifest(path: Path) -> None:
    """Cut the archive right before its last member (the manifest)."""
    with tarfile.open(path, "r") as tar:
        offset = tar.getmember("manifest.json").offset
    path.write_bytes(path.read_bytes()[:offset])


def _flip_database_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[512 + 2000] ^= 0xFF  # inside the first member's data, after its header
    path.write_bytes(bytes(data))


def _not_an_archive(path: Path) -> None:
    path.write_bytes(b"Ceci n'est pas une sauvegarde.\n" * 100)


def _escaping_member(path: Path) -> None:
    """A tar whose member would land outside the extraction folder."""
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("../hors-du-dossier.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))


def test_unusable_archives_are_refused_without_touching_the_target(
    app, world, target, tmp_path
):
    good = create_backup(tmp_path / "bonne.tar").path
    good_gz = create_backup(tmp_path / "bonne.tar.gz").path
    other = "postgresql" if not ON_POSTGRESQL else "sqlite"
    cases = [
        (_damaged(good, "moitie.tar", _truncate_half), "tronquée|incomplète"),
        (_damaged(good_gz, "moitie.tar.gz", _truncate_half), "tronquée|incomplète"),
        (_damaged(good, "sans-manifeste.tar", _drop_manifest), "pas de manifest"),
        (_damaged(good, "octet.tar", _flip_database_byte), "SHA-256"),
        (_damaged(good, "texte.tar", _not_an_archive), "illisible"),
        (_damaged(good, "evasion.tar", _escaping_member), "élément inattendu"),
        (
            rewrite_archive(good, tmp_path / "moteur.tar", backend=other),
            "d'un moteur de base à l'autre n'est pas prise en charge",
        ),
        (
            rewrite_archive(good, tmp_path / "futur.tar", alembic_revision="9999"),
            "schéma 9999, inconnu .* version plus récente",
        ),
        (tmp_path / "absente.tar", "Archive introuvable"),
    ]
    with target.app_context():
        restore_backup(good)
        before = table_rows()
        photos = photo_bytes(target)
        for path, message in cases:
            with pytest.raises(BackupError, match=message):
                restore_backup(path, force=True)
            assert table_rows() == before, path.name
            assert photo_bytes(target) == photos, path.name
    assert not (tmp_path / "hors-du-dossier.txt").exists()
    assert not list(Path(target.config["ORFI_PHOTO_DIR"]).parent.glob(".orfi-*"))


# ------------------------------------------------------------ older schema


@pytest.fixture
def old_database_url(tmp_path) -> Iterator[str]:
    """One more new empty database (``fresh_database_url`` gives one per test)."""
    server = os.environ.get(PG_ENV)
    if server:
        url = create_pg_database(server, "orfi_old")
        yield url
        drop_pg_database(server, url)
    else:
        yield "sqlite:///" + str(tmp_path / "old.sqlite3")


@pytest.fixture
def old_source(old_database_url, tmp_path, test_config):
    """An app whose database was migrated only to the first revision, with a row."""
    old = create_app(
        {
            **test_config,
            "SQLALCHEMY_DATABASE_URI": old_database_url,
            "ORFI_PHOTO_DIR": str(tmp_path / "old" / "photos"),
        }
    )
    with old.app_context():
        config, _script = services._migration_script()
        command.upgrade(config, "0001")
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO federation (code, name, region) "
                "VALUES ('USH-OCC', 'USH Occitanie', 'Occitanie')"
            )
    yield old
    with old.app_context():
        db.engine.dispose()


def test_an_older_backup_comes_up_to_the_current_schema(old_source, target, tmp_path):
    with old_source.app_context():
        path = create_backup(tmp_path / "ancienne.tar").path
    with tarfile.open(path) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert manifest["alembic_revision"] == "0001"
    assert "photo" not in manifest["counts"]

    # A target set up by `orfi init` (current schema, default nomenclature only)
    # counts as empty; its newer tables must not block the migrations.
    assert orfi(target, "init").exit_code == 0
    with target.app_context():
        restored = restore_backup(path)
        assert revision() == restored.revision == _head()
        assert restored.counts["federation"] == 1
        assert restored.counts["photo"] == 0  # created by a later migration
        assert set(services.count_rows()) == {
            t.name for t in db.metadata.tables.values()
        }


# ------------------------------------------------------ SQLite under writers


@sqlite_only
def test_sqlite_backup_while_another_connection_writes_is_consistent(app, world):
    """Writers are never blocked during the copy, which holds one snapshot."""
    live = db.engine.url.database
    writer = sqlite3.connect(live, timeout=0, isolation_level=None)
    at_start = writer.execute("SELECT count(*) FROM federation").fetchone()[0]
    steps = []

    def write_between_steps(done: int, total: int) -> None:
        # timeout=0: "database is locked" at once if the backup blocked writers.
        writer.execute("BEGIN IMMEDIATE")
        for _ in range(2):
            n = writer.execute("SELECT count(*) FROM federation").fetchone()[0]
            writer.execute(
                "INSERT INTO federation (code, name, region) VALUES (?, ?, '')",
                (f"W{n}", f"Écrite pendant la copie {n}"),
            )
        writer.execute("COMMIT")
        steps.append((done, total))

    try:
        result = create_backup(step_pages=2, progress=write_between_steps)
        now = writer.execute("SELECT count(*) FROM federation").fetchone()[0]
    finally:
        writer.close()

    assert len(steps) >= 5 and steps[-1][0] == steps[-1][1]
    assert now == at_start + 2 * len(steps)
    assert result.manifest["counts"]["federation"] == at_start
    checked = restore_backup(result.path, check_only=True)  # integrity_check passes
    assert checked.manifest["counts"]["federation"] == at_start


@sqlite_only
def test_sqlite_copy_is_a_single_file_and_passes_the_integrity_check(tmp_path, app):
    source = tmp_path / "source.sqlite3"
    connection = sqlite3.connect(source, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("CREATE TABLE t (x)")
    connection.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(500)])
    copy = tmp_path / "copy.sqlite3"
    sqlite.copy_sqlite_database(source, copy, step_pages=1)
    connection.close()
    check = sqlite3.connect(copy)
    assert check.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert check.execute("SELECT count(*) FROM t").fetchone()[0] == 500
    check.close()
    copy.write_bytes(copy.read_bytes()[:4096] + b"\0" * 4096)
    damaged = sqlite3.connect(copy)
    with pytest.raises(BackupError, match="corrompue"):
        sqlite.check_sqlite_integrity(damaged)
    damaged.close()


# --------------------------------------------------------- PostgreSQL tools


def test_pg_environment_carries_the_password_outside_the_command_line(app):
    url = sa.make_url(
        "postgresql+psycopg://orfi:s3cr%40t@db.exemple.fr:5433/orfi?sslmode=require"
    )
    env = postgresql.pg_environment(url)
    assert env["PGPASSWORD"] == "s3cr@t"
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGDATABASE"]) == (
        "db.exemple.fr",
        "5433",
        "orfi",
        "orfi",
    )
    assert env["PGSSLMODE"] == "require"


def _fake_tool(folder: Path, name: str, version: str) -> None:
    folder.mkdir(exist_ok=True)
    script = folder / name
    script.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
    script.chmod(0o755)


def test_missing_pg_tool_is_reported_in_french(app, tmp_path):
    app.config["ORFI_PG_BIN_DIR"] = str(tmp_path)
    with pytest.raises(BackupError, match="pg_dump est introuvable .*ORFI_PG_BIN_DIR"):
        postgresql.find_pg_tool("pg_dump")


def test_pg_tool_version_is_read(app, tmp_path):
    _fake_tool(tmp_path / "bin", "pg_dump", "16.4 (Debian 16.4-1)")
    app.config["ORFI_PG_BIN_DIR"] = str(tmp_path / "bin")
    assert postgresql.find_pg_tool("pg_dump").major == 16


@postgresql_only
def test_pg_dump_older_than_the_server_is_refused(app, world, tmp_path):
    _fake_tool(tmp_path / "bin", "pg_dump", "13.4")
    app.config["ORFI_PG_BIN_DIR"] = str(tmp_path / "bin")
    with pytest.raises(BackupError, match="pg_dump 13 .*serveur PostgreSQL 1[5-9]"):
        create_backup()
    assert not list(Path(app.config["ORFI_BACKUP_DIR"]).glob("*"))


@postgresql_only
def test_pg_password_never_appears_on_the_command_line(
    app, world, test_config, tmp_path, monkeypatch
):
    url = sa.make_url(test_config["SQLALCHEMY_DATABASE_URI"]).set(password="s3cret")
    with_password = create_app(
        {
            **test_config,
            "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
            "ORFI_PHOTO_DIR": str(tmp_path / "photos"),
        }
    )
    calls = []
    real_run = postgresql.subprocess.run

    def recording_run(args, **kwargs):
        calls.append((args, kwargs.get("env") or {}))
        return real_run(args, **kwargs)

    monkeypatch.setattr(postgresql.subprocess, "run", recording_run)
    with with_password.app_context():
        create_backup(tmp_path / "b.tar")
        db.engine.dispose()
    dumps = [(args, env) for args, env in calls if "--format=custom" in args]
    assert dumps and all("s3cret" not in " ".join(args) for args, _ in calls)
    assert dumps[0][1]["PGPASSWORD"] == "s3cret"


@postgresql_only
def test_pg_restore_older_than_the_dump_is_refused(app, world, tmp_path):
    path = create_backup().path
    _fake_tool(tmp_path / "bin", "pg_restore", "12.2")
    app.config["ORFI_PG_BIN_DIR"] = str(tmp_path / "bin")
    with pytest.raises(BackupError, match="pg_restore 12 .*ne lit pas .*pg_dump 1"):
        restore_backup(path, force=True)
    assert services.count_rows()["report"] == 3


@postgresql_only
def test_pg_restore_failing_midway_leaves_the_target_as_it_was(
    app, world, target, tmp_path
):
    path = create_backup().path
    folder = tmp_path / "bin"
    folder.mkdir()
    real = shutil.which("pg_restore")
    # pg_restore that sends part of the SQL, then fails (a disk error, a kill...).
    (folder / "pg_restore").write_text(
        "#!/bin/sh\n"
        f'case "$*" in *--file=-*) {real} "$@" | head -c 30000; exit 1;; esac\n'
        f'exec {real} "$@"\n'
    )
    (folder / "pg_restore").chmod(0o755)
    (folder / "psql").symlink_to(shutil.which("psql"))
    with target.app_context():
        restore_backup(path)
        before = table_rows()
        target.config["ORFI_PG_BIN_DIR"] = str(folder)
        with pytest.raises(BackupError, match="pas été modifiée.*pg_restore a échoué"):
            restore_backup(path, force=True)
        assert table_rows() == before


# ------------------------------------------------------------------ commands


def orfi(app, *args: str):
    """Run an ``orfi`` command on ``app`` (its own app context, not the test's)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=["orfi", *args])


def test_backup_and_restore_commands(app, world, target, tmp_path):
    output = tmp_path / "cli" / "sauvegarde.tar.gz"
    result = orfi(app, "backup", "--output", str(output))
    assert result.exit_code == 0, result.output
    assert f"Sauvegarde écrite : {output}" in result.output
    assert "3 fait(s), 1 action(s) de suivi, 3 photo(s), 5 utilisateur(s)" in (
        result.output
    )

    checked = orfi(target, "restore", str(output), "--check")
    assert checked.exit_code == 0, checked.output
    assert "Archive valide" in checked.output
    with target.app_context():
        assert services.count_rows() == {}

    restored = orfi(target, "restore", str(output))
    assert restored.exit_code == 0, restored.output
    assert "Restauration terminée" in restored.output
    assert "Base restaurée : 3 fait(s)" in restored.output
    assert "6 fichier(s) photo" in restored.output

    again = orfi(target, "restore", str(output))
    assert again.exit_code == 1
    assert "Erreur : La base cible n'est pas vide (3 fait(s)" in again.output
    assert "--force" in again.output

    forced = orfi(target, "restore", str(output), "--force")
    assert forced.exit_code == 0, forced.output


def test_restore_command_reports_a_missing_archive(app, tmp_path):
    app.config["ORFI_PHOTO_DIR"] = str(tmp_path / "photos")
    result = orfi(app, "restore", str(tmp_path / "absente.tar"))
    assert result.exit_code == 1
    assert "Erreur : Archive introuvable" in result.output


def test_backup_of_a_database_without_alembic_revision_warns(app, tmp_path):
    app.config["ORFI_PHOTO_DIR"] = str(tmp_path / "photos")
    make_organisation(code="SANS")
    commit()
    output = tmp_path / "sans-revision.tar"
    result = orfi(app, "backup", "--output", str(output))
    assert result.exit_code == 0, result.output
    assert "schéma inconnu" in result.output
    assert "Attention : la base n'a pas de révision Alembic" in result.output
    with tarfile.open(output) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert manifest["alembic_revision"] is None
    assert manifest["counts"]["organisation"] == 1
