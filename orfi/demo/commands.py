"""Commands of the demo feature: ``orfi demo`` and ``orfi demo-logins``."""

from __future__ import annotations

import sys
import time

import click
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import DBAPIError

from orfi.commands import cli, fail
from orfi.database import utcnow
from orfi.errors import OrfiError
from orfi.extensions import db
from orfi.transaction import unit_of_work

# orfi.demo.world and orfi.demo.facts import geopandas, pandas and h3: they are imported
# by the commands so that every other ``orfi`` command starts fast.


def _number(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


@cli.command("demo")
@click.option(
    "--reports",
    "n_reports",
    type=click.IntRange(0, 5_000_000),
    default=3000,
    show_default=True,
    help="Nombre de faits à générer (jusqu'à 5 000 000).",
)
@click.option(
    "--seed",
    type=int,
    default=31,
    show_default=True,
    help="Graine du tirage : même graine, même démo (à la date près).",
)
@click.option(
    "--activity/--no-activity",
    default=True,
    show_default=True,
    help="Ajouter une année d'activité : réunions, interventions, suites, synthèses.",
)
@click.option(
    "--reset",
    is_flag=True,
    help="Supprimer d'abord la démo déjà chargée (et rien d'autre), puis la recharger.",
)
@click.option(
    "--if-missing",
    is_flag=True,
    help="Ne rien faire, sans erreur, si la démo est déjà chargée (pour make run).",
)
def demo_command(n_reports, seed, activity, reset, if_missing):
    """Load the demo: nine Toulouse-area bailleurs, their résidences around the QPVs,
    accounts of every role (see orfi demo-logins), facts over 18 months and, unless
    --no-activity, a year of the security mission's activity (orfi.demo.activity).

    Refuses (status 1) when the demo is already loaded, unless --reset (delete the demo
    bailleurs, the USH Occitanie federation and everything that depends on them, then
    load again) or --if-missing (do nothing). Refuses when a demo code (TMH, ALT...)
    belongs to a bailleur that is not the demo's, and in production (ORFI_ENV).

    Commits stage by stage (deletion, bailleurs and accounts, facts, activity), one
    unit of work each: a failure keeps the stages before it, which --reset deletes.
    """
    if current_app.config["ORFI_ENV"] == "production":
        click.echo(
            "Erreur : pas de démo en production (ORFI_ENV=production) : "
            "ses mots de passe sont publics.",
            err=True,
        )
        sys.exit(1)
    from orfi.demo.bulk import bulk_insert
    from orfi.demo.facts import draw_facts, insert_facts
    from orfi.demo.world import DemoState, build_world, delete_demo, demo_state
    from orfi.reports.models import Report, ReportEvent

    started = time.perf_counter()
    with unit_of_work():
        state, used = demo_state()
        if state is DemoState.CONFLICT:
            click.echo(
                f"Erreur : les codes {', '.join(used)} sont déjà utilisés par des "
                "données qui ne sont pas celles de la démo : démo non chargée.",
                err=True,
            )
            sys.exit(1)
        if state is DemoState.LOADED:
            if if_missing:
                click.echo("La démo est déjà chargée.")
                return
            if not reset:
                click.echo(
                    "Erreur : la démo est déjà chargée. Relancez avec --reset pour la "
                    "remplacer.",
                    err=True,
                )
                sys.exit(1)
            click.echo("Suppression de la démo existante…")
            delete_demo()

    click.echo("Création des bailleurs, résidences et comptes…")
    try:
        with unit_of_work():
            world = build_world(seed)
    except OrfiError as error:  # e.g. a demo e-mail already used elsewhere
        fail(error)
    if n_reports:
        click.echo(f"Tirage de {_number(n_reports)} faits…")
        facts = draw_facts(world, n_reports, seed=seed, now=utcnow())
        tables = [Report.__table__, ReportEvent.__table__]
        with unit_of_work():
            existing = db.session.scalar(sa.select(sa.func.count(Report.id)))
            with bulk_insert(
                tables, rows=n_reports, table_rows=existing + n_reports
            ) as deferred:
                with click.progressbar(
                    length=n_reports, label="Écriture des faits"
                ) as bar:
                    for written in insert_facts(world, facts):
                        bar.update(written)
                if deferred:
                    click.echo("Construction des index…")
    if activity:
        from orfi.demo.activity import generate_activity

        click.echo("Activité : réunions, interventions, suites et synthèses…")
        with unit_of_work():
            generate_activity(seed)
    elapsed = f"{time.perf_counter() - started:.1f}".replace(".", ",")
    click.echo(
        f"Démo chargée en {elapsed} s : {len(world.organisation_ids)} bailleurs, "
        f"{len(world.residence_ids)} résidences, {world.users} comptes, "
        f"{_number(n_reports)} faits. Comptes : orfi demo-logins"
    )


@cli.command("demo-logins")
def demo_logins_command():
    """Print the demo accounts (e-mail, role, bailleur, password)."""
    from orfi.auth.models import Role
    from orfi.demo.world import DEMO_PASSWORDS, list_demo_accounts, list_other_gardiens

    try:
        accounts = list_demo_accounts()
        others = list_other_gardiens() if accounts else []
    except DBAPIError:  # no schema yet
        db.session.rollback()
        accounts, others = [], []
    if not accounts:
        click.echo("Aucune donnée de démo (orfi demo pour la charger).")
        return
    header = ("E-mail", "Rôle", "Bailleur", "Mot de passe")
    rows = [
        (login.email, login.role_label, login.affiliation, login.password)
        for login, _user in accounts
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    click.echo("Comptes de démonstration :")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        line = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        click.echo(f"  {line.rstrip()}")
    if others:
        examples = ", ".join(others[:2])
        click.echo(
            f"  … et {len(others)} autres gardiens ({examples}…), "
            f"mot de passe {DEMO_PASSWORDS[Role.GARDIEN]}."
        )
