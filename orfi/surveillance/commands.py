"""Commands of early warning: ``orfi early-warning`` (for cron)."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa

from orfi.commands import cli
from orfi.database import utcnow
from orfi.extensions import db
from orfi.patrimoine.models import Organisation
from orfi.surveillance.runs import run_now
from orfi.surveillance.services import monday_of, week_to_compute
from orfi.timezone import now_local
from orfi.transaction import rollback


@cli.command("early-warning")
@click.option(
    "--organisation",
    "organisation_codes",
    multiple=True,
    help="Code d'un bailleur (répétable). Par défaut : tous les bailleurs.",
)
@click.option(
    "--week",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Un jour de la semaine à calculer (AAAA-MM-JJ) ; par défaut la dernière "
    "semaine complète (à partir du lundi 6 h).",
)
def early_warning_command(organisation_codes, day):
    """Compute the early-warning statuses of a week for each bailleur, store them and
    record an alarm (the alert pipeline) for each résidence entering « alerte ».
    Computing a week again updates it and never alarms twice. One run (and unit of
    work) per bailleur."""
    query = sa.select(Organisation).order_by(Organisation.code)
    if organisation_codes:
        query = query.where(Organisation.code.in_(organisation_codes))
    organisations = [(o.id, o.code) for o in db.session.scalars(query)]
    missing = set(organisation_codes) - {code for _, code in organisations}
    if missing:
        names = ", ".join(sorted(missing))
        click.echo(f"Erreur : Bailleur inconnu : {names}.", err=True)
        sys.exit(1)
    week = monday_of(day.date()) if day else week_to_compute(utcnow())
    if week > now_local().date():
        click.echo("Erreur : cette semaine n'a pas encore commencé.", err=True)
        sys.exit(1)
    rollback()  # each bailleur's run is a transaction of its own
    failures = 0
    for organisation_id, code in organisations:
        tally = run_now(organisation_id, week)
        if tally.errors:
            failures += 1
            click.echo(f"{code} : calcul impossible ({tally.errors[0]})")
            continue
        click.echo(
            f"{code} : semaine du {week:%d/%m/%Y}, {tally.alarms} unité(s) en alerte, "
            f"{tally.events} nouvelle(s) alarme(s)."
        )
    if failures:
        click.echo(f"Erreur : {failures} bailleur(s) non calculé(s).", err=True)
        sys.exit(1)
