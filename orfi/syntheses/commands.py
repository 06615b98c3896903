"""Commands of the syntheses feature: ``orfi synthese``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app

from orfi.commands import cli, fail
from orfi.errors import OrfiError
from orfi.timezone import now_local
from orfi.transaction import rollback, unit_of_work


@cli.command("synthese")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Jour de la synthèse (AAAA-MM-JJ) ; par défaut hier.",
)
@click.option(
    "--organisation",
    "organisation_codes",
    multiple=True,
    help="Code d'un bailleur (répétable). Par défaut : tous les bailleurs, leurs "
    "agences ayant un chef d'agence, et toutes les fédérations.",
)
@click.option(
    "--federation",
    "federation_codes",
    multiple=True,
    help="Code d'une fédération (répétable).",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Dossier des fichiers HTML (défaut : instance/syntheses).",
)
@click.option(
    "--send/--no-send",
    default=True,
    show_default=True,
    help="Envoyer par e-mail quand ORFI_SMTP_HOST est défini.",
)
def synthese_command(day, organisation_codes, federation_codes, output, send):
    """Write the daily synthesis of each perimeter as HTML (instance/syntheses) and
    e-mail it to the perimeter's direction accounts when ORFI_SMTP_HOST is set.

    Each synthesis is recorded (day, perimeter, sending) for the bilan d'activité;
    running the command again for the same day updates the record. Exits with status 1
    when a sending failed (the other syntheses are still written and sent). One unit
    of work per synthesis: a failure keeps the records of those before it.
    """
    from orfi.syntheses.forms import FUTURE_DAY
    from orfi.syntheses.services import (
        default_day,
        list_synthesis_perimeters,
        parse_extra_recipients,
        produce_synthesis,
    )

    day = day.date() if day else default_day()
    if day > now_local().date():
        click.echo(f"Erreur : {FUTURE_DAY}", err=True)
        sys.exit(1)
    output = output or Path(current_app.instance_path) / "syntheses"
    try:
        parse_extra_recipients(current_app.config["ORFI_SYNTHESE_RECIPIENTS"])
    except ValueError as error:
        click.echo(f"Erreur : {error}", err=True)
        sys.exit(1)
    failures = 0
    try:
        perimeters = list_synthesis_perimeters(
            tuple(organisation_codes), tuple(federation_codes)
        )
    except OrfiError as error:
        fail(error)
    # End the read, so that each synthesis begins a write transaction of its own.
    rollback()
    for perimeter in perimeters:
        with unit_of_work():
            result = produce_synthesis(perimeter, day, output, send=send)
        sent = (
            f", envoyée à {result.recipients} destinataire(s)"
            if result.recipients
            else ""
        )
        if result.error:
            failures += 1
            sent = f", {result.error}"
        click.echo(
            f"{perimeter.label} : {result.total} fait(s) marquant(s) → "
            f"{result.path}{sent}"
        )
    if failures:
        click.echo(f"Erreur : {failures} synthèse(s) non envoyée(s).", err=True)
        sys.exit(1)
