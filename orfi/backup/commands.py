"""``orfi backup`` and ``orfi restore``."""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import sqlalchemy as sa

from orfi.backup.services import create_backup, restore_backup, summarize_counts
from orfi.backup.settings import BackupError
from orfi.commands import cli, fail


@contextlib.contextmanager
def _page_progress() -> Iterator:
    """Yield a progress callback drawing a bar on a terminal (None elsewhere: cron)."""
    if not sys.stderr.isatty():
        yield None
        return
    state: dict = {"bar": None, "done": 0}
    with contextlib.ExitStack() as stack:

        def _progress(done: int, total: int) -> None:
            if state["bar"] is None:
                state["bar"] = stack.enter_context(
                    click.progressbar(
                        length=total,
                        label="Copie de la base",
                        file=sys.stderr,
                    )
                )
            state["bar"].update(done - state["done"])
            state["done"] = done

        yield _progress


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} Mo".replace(".", ",")


@cli.command("backup", schema=False)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Fichier de l'archive (.tar, ou .tar.gz pour la compresser). Par défaut : "
    "instance/backups/orfi-AAAAMMJJ-HHMMSSZ.tar[.gz] (ORFI_BACKUP_DIR).",
)
def backup_command(output):
    """Back up the database and the photos into one archive, while orfi keeps running.

    SQLite: online copy (backup API, WAL snapshot) checked by PRAGMA integrity_check.
    PostgreSQL: pg_dump --format=custom. The archive also holds the photo folder and a
    manifest (version, schema revision, counts, SHA-256 of each file). See
    docs/backup.md for cron and retention.
    """
    try:
        with _page_progress() as progress:
            result = create_backup(output, progress=progress)
    except BackupError as error:
        fail(error)
    manifest = result.manifest
    click.echo(
        f"Sauvegarde écrite : {result.path} ({_megabytes(result.size)}, "
        f"{manifest['backend']}, schéma {manifest['alembic_revision'] or 'inconnu'})."
    )
    click.echo(
        f"Contenu : {summarize_counts(manifest['counts'])} ; "
        f"{manifest['photos']['files']} fichier(s) photo."
    )
    if manifest["alembic_revision"] is None:
        click.echo(
            "Attention : la base n'a pas de révision Alembic (lancez « orfi init ») ; "
            "la restauration ne pourra pas mettre son schéma à jour.",
            err=True,
        )
    if result.missing_photos:
        click.echo(
            f"Attention : {result.missing_photos} fichier(s) photo enregistré(s) en "
            "base manquent dans le dossier des photos.",
            err=True,
        )


@cli.command("restore", schema=False)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="Remplacer la base et les photos même si elles contiennent déjà des données.",
)
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Vérifier l'archive (empreintes, version, copie de la base) sans rien "
    "restaurer.",
)
def restore_command(path, force, check_only):
    """Restore an archive of ``orfi backup`` into this database and photo folder.

    Stop the application first. The archive is checked completely before anything is
    written; a database that already holds data is refused unless --force. A damaged
    SQLite file (not a database, truncated, corrupted, empty) is refused too; with
    --force it is kept aside as it is (orfi.sqlite3.damaged-AAAAMMJJ-HHMMSSZ, with its
    -wal and -shm) and the archive restored in its place. The schema is then upgraded
    to this version of orfi. Backups restore into the same database engine only
    (SQLite into SQLite, PostgreSQL into PostgreSQL).
    """
    try:
        result = restore_backup(path, force=force, check_only=check_only)
    except BackupError as error:
        fail(error)
    except (sa.exc.SQLAlchemyError, sqlite3.Error, OSError) as error:
        # After a disaster, never a traceback: say what failed and where to look.
        fail(
            BackupError(
                f"Restauration interrompue par une erreur de la base ou du disque : "
                f"{error}. Vérifiez la base cible avant de la remettre en service."
            )
        )
    manifest = result.manifest
    origin = (
        f"sauvegarde du {manifest['created_at']} (orfi {manifest['orfi_version']}, "
        f"{manifest['backend']}, schéma {manifest['alembic_revision'] or 'inconnu'})"
    )
    if result.checked_only:
        click.echo(
            f"Archive valide : {origin} ; {summarize_counts(manifest['counts'])} ; "
            f"{manifest['photos']['files']} fichier(s) photo."
        )
        if result.damaged:
            click.echo(
                f"Attention : {result.damaged.describe()}. Avec « orfi restore "
                f"--force », {result.damaged.what_force_does()}.",
                err=True,
            )
        return
    before = manifest["alembic_revision"]
    schema = ""
    if result.revision and result.revision != before:
        schema = f", schéma mis à jour : {before} → {result.revision}"
    if result.set_aside:
        click.echo(
            f"Base cible endommagée ({result.damaged.reason}) mise de côté telle "
            f"quelle : {result.set_aside} (avec ses fichiers -wal et -shm s'il y en "
            "avait) ; supprimez-la une fois la base restaurée vérifiée."
        )
    click.echo(f"Restauration terminée depuis la {origin}{schema}.")
    click.echo(
        f"Base restaurée : {summarize_counts(result.counts)} ; "
        f"{result.photo_files} fichier(s) photo."
    )
    if manifest["alembic_revision"] is None:
        click.echo(
            "Attention : sauvegarde sans révision Alembic, schéma non mis à jour.",
            err=True,
        )
