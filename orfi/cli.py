"""The ``orfi`` command line: thin wrappers over services, one transaction each."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup

# Each feature's commands module adds its commands to ``cli`` when imported.
import orfi.alerts.commands  # noqa: F401
import orfi.api.commands  # noqa: F401
import orfi.backup.commands  # noqa: F401
import orfi.demo.commands  # noqa: F401
import orfi.exports.commands  # noqa: F401
import orfi.federation.commands  # noqa: F401
import orfi.patrimoine.commands  # noqa: F401
import orfi.privacy.commands  # noqa: F401
import orfi.surveillance.commands  # noqa: F401
import orfi.syntheses.commands  # noqa: F401
from orfi.alerts.push import ensure_vapid_key
from orfi.auth.models import Federation, Role
from orfi.auth.services import create_federation, create_user
from orfi.backup.settings import BackupError, sqlite_path
from orfi.backup.sqlite import create_private_file
from orfi.commands import FrenchUsage, cli, fail
from orfi.errors import OrfiError, ValidationError
from orfi.extensions import db
from orfi.nomenclature.services import load_default_nomenclature
from orfi.patrimoine.models import OrganisationKind
from orfi.patrimoine.services import create_organisation, get_organisation_by_code
from orfi.transaction import unit_of_work


@cli.command("init", schema=False)
def init_command():
    """Create or upgrade the database schema and load the default nomenclature."""
    from flask_migrate import upgrade

    instance = Path(current_app.instance_path)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret = instance / "secret_key"
    if not secret.exists() and not current_app.config["ORFI_SECRET_KEY"]:
        # Created 0600 at once: a write then a chmod leaves it readable meanwhile.
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    _create_private_database()
    ensure_vapid_key()
    upgrade()
    with unit_of_work():
        added = load_default_nomenclature()
    click.echo(f"Base à jour ; nomenclature : {added} élément(s) ajouté(s).")


def _create_private_database() -> None:
    """Create a new SQLite database file 0600 before SQLite creates it 0644; its
    -wal and -shm files then take the same mode."""
    if db.engine.dialect.name != "sqlite":
        return
    try:
        path = sqlite_path()
    except BackupError:
        return  # an in-memory database has no file
    create_private_file(path)


@cli.command("create-organisation")
@click.option("--code", required=True, help="Code court, ex. TMH.")
@click.option("--name", required=True, help="Nom du bailleur.")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in OrganisationKind]),
    default="esh",
    show_default=True,
    help="Nature du bailleur.",
)
@click.option("--region", default="", help="Région, ex. Occitanie.")
def create_organisation_command(code, name, kind, region):
    """Create a bailleur with its own copy of the default nomenclature."""
    try:
        with unit_of_work():
            organisation = create_organisation(
                code=code, name=name, kind=OrganisationKind(kind), region=region
            )
    except OrfiError as error:
        fail(error)
    click.echo(f"Bailleur {organisation.code} créé.")


@cli.command("create-federation")
@click.option("--code", required=True, help="Code court, ex. USH-OCC.")
@click.option("--name", required=True, help="Nom de la fédération.")
@click.option("--region", default="", help="Région couverte (vide : nationale).")
def create_federation_command(code, name, region):
    """Create a federation (USH or a regional association)."""
    try:
        with unit_of_work():
            federation = create_federation(code=code, name=name, region=region)
    except OrfiError as error:
        fail(error)
    click.echo(f"Fédération {federation.code} créée.")


@cli.command("create-user")
@click.argument("email")
@click.option("--name", required=True, help="Nom affiché.")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--organisation", "organisation_code", help="Code du bailleur.")
@click.option("--federation", "federation_code", help="Code de la fédération.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Mot de passe (demandé s'il n'est pas donné).",
)
def create_user_command(
    email, name, role, organisation_code, federation_code, password
):
    """Create a user of a bailleur (or of a federation, with --federation)."""
    try:
        with unit_of_work():
            organisation = (
                get_organisation_by_code(organisation_code)
                if organisation_code
                else None
            )
            federation = None
            if federation_code:
                federation = db.session.scalar(
                    db.select(Federation).where(Federation.code == federation_code)
                )
                if federation is None:
                    raise ValidationError({"federation": ["Fédération inconnue."]})
            create_user(
                email=email,
                name=name,
                password=password,
                role=Role(role),
                organisation=organisation,
                federation=federation,
            )
    except OrfiError as error:
        fail(error)
    click.echo(f"Compte {email} créé.")


class _ConsoleGroup(FrenchUsage, FlaskGroup):
    """Flask's console group, with its usage errors in French like ``orfi``'s."""


def main() -> None:
    """Entry point of the ``orfi`` console script (Flask's commands plus ours)."""
    from orfi import create_app

    group = _ConsoleGroup(
        create_app=create_app, help="orfi : faits d'incivilité des bailleurs."
    )
    for name, command in cli.commands.items():
        group.add_command(command, name)
    group.main(prog_name="orfi")
