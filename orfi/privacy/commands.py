"""``orfi purge``: apply the retention rules; ``orfi access-log``: read a log."""

from __future__ import annotations

import sys
from datetime import datetime, time

import click
import sqlalchemy as sa
from flask import current_app

from orfi.commands import cli
from orfi.extensions import db
from orfi.timezone import from_local, to_local


def _number(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


@cli.command("purge")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Compter seulement : ce que la purge ferait, sans rien modifier.",
)
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Avec --dry-run seulement : simuler la purge de ce jour (AAAA-MM-JJ).",
)
def purge_command(dry_run, day):
    """Apply the retention rules (docs/privacy.md): anonymise the facts past their
    retention (description, comments, notes, complaint reference, photos, precise
    position), empty the notes of the old meetings and interventions of the activity
    log, and delete the access log entries past their retention.

    Idempotent and meant for cron (e.g. every night); one transaction per batch of
    facts or notes. Prints the counts per rule and exits with status 0; status 1 when
    a setting is wrong or a photo file could not be deleted.
    """
    from orfi.privacy.models import RetentionRule
    from orfi.privacy.purge import purge
    from orfi.privacy.retention import RetentionPolicy

    if day is not None and not dry_run:
        click.echo(
            "Erreur : --date ne sert qu'à simuler (avec --dry-run) : une purge réelle "
            "s'applique au jour présent.",
            err=True,
        )
        sys.exit(1)
    now = None
    if day is not None:
        now = from_local(datetime.combine(day.date(), time(12)))
    try:
        policy = RetentionPolicy.from_config(current_app.config)
        result = purge(now, dry_run=dry_run)
    except ValueError as error:  # raised before any batch: nothing to roll back
        click.echo(f"Erreur : {error}", err=True)
        sys.exit(1)
    verb = "à anonymiser" if dry_run else "anonymisé(s)"
    if dry_run:
        click.echo("Simulation (--dry-run) : rien n'est modifié.")
    click.echo(f"Durées de conservation au {result.today:%d/%m/%Y} :")
    for rule in RetentionRule:
        click.echo(
            f"  {rule.label:<22} {policy.months(rule):>4} mois : "
            f"{_number(result.facts[rule]):>9} fait(s) {verb}"
        )
    click.echo(
        f"  Total : {_number(result.fact_count)} fait(s) {verb}, dont "
        f"{_number(result.open_facts)} encore ouvert(s)"
    )
    click.echo(
        f"Photos {'à supprimer' if dry_run else 'supprimées'} : "
        f"{_number(result.photos)}"
    )
    activity_months = current_app.config["ORFI_RETENTION_MONTHS_ACTIVITY"]
    click.echo(
        f"Notes du journal d'activité (plus de {activity_months} mois) "
        f"{'à effacer' if dry_run else 'effacées'} : "
        f"{_number(result.meeting_notes)} réunion(s), "
        f"{_number(result.intervention_notes)} intervention(s)"
    )
    months = current_app.config["ORFI_ACCESS_LOG_RETENTION_MONTHS"]
    click.echo(
        f"Journal des accès (plus de {months} mois) : {_number(result.log_entries)} "
        f"entrée(s) {'à supprimer' if dry_run else 'supprimée(s)'}"
    )
    if result.photo_files_failed:
        click.echo(
            f"Erreur : {result.photo_files_failed} fichier(s) de photo non "
            "supprimé(s) (voir le journal de l'application).",
            err=True,
        )
        sys.exit(1)


@cli.command("access-log")
@click.option("--organisation", "organisation_code", help="Code du bailleur.")
@click.option("--federation", "federation_code", help="Code de la fédération.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Depuis ce jour (AAAA-MM-JJ).",
)
@click.option(
    "--limit", type=click.IntRange(1, 100_000), default=100, show_default=True
)
def access_log_command(organisation_code, federation_code, since, limit):
    """Print the access log of a bailleur or of a federation, newest first.

    A federation has no administrator account: its log (its users' downloads) is read
    here by the instance's operator.
    """
    from orfi.auth.models import Federation
    from orfi.patrimoine.models import Organisation
    from orfi.privacy.services import LogFilters, access_log_query

    if bool(organisation_code) == bool(federation_code):
        click.echo(
            "Erreur : précisez --organisation CODE ou --federation CODE.", err=True
        )
        sys.exit(1)
    model, code = (
        (Organisation, organisation_code)
        if organisation_code
        else (Federation, federation_code)
    )
    owner = db.session.scalar(sa.select(model).where(model.code == code.strip()))
    if owner is None:
        click.echo(f"Erreur : code inconnu : {code}.", err=True)
        sys.exit(1)
    filters = LogFilters(date_from=since.date() if since else None)
    ids = (
        {"organisation_id": owner.id}
        if organisation_code
        else {"federation_id": owner.id}
    )
    entries = db.session.scalars(
        access_log_query(filters=filters, **ids).limit(limit)
    ).all()
    if not entries:
        click.echo("Aucune entrée.")
    for entry in entries:
        who = f"{entry.user.name} <{entry.user.email}>" if entry.user else "orfi"
        fields = [
            f"{to_local(entry.at):%Y-%m-%d %H:%M:%S}",
            who,
            entry.action.label,
            entry.object_ref,
            entry.detail,
            entry.ip or "",
        ]
        click.echo(" | ".join(fields))
    db.session.rollback()
