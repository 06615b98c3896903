"""Commands of the federation feature: export, import and removal of files."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa

from orfi.commands import cli, fail
from orfi.errors import NotFound, OrfiError, ValidationError
from orfi.extensions import db
from orfi.transaction import unit_of_work

FORMATS = ("json", "csv", "xlsx")


def _organisation(code: str | None):
    """Return the bailleur named by ``--organisation``, or the instance's only one."""
    from orfi.patrimoine.models import Organisation
    from orfi.patrimoine.services import get_organisation_by_code

    if code:
        return get_organisation_by_code(code)
    organisations = list(db.session.scalars(sa.select(Organisation).limit(2)))
    if len(organisations) != 1:
        raise ValidationError(
            {
                "organisation": [
                    "Plusieurs bailleurs (ou aucun) sur cette instance : précisez "
                    "--organisation CODE, ou --consolidated."
                ]
            }
        )
    return organisations[0]


@cli.command("export-federation")
@click.option(
    "--period", required=True, help="Année (2026), mois (2026-03) ou 2026-01..2026-06."
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Fichier à écrire ; l'extension (.json, .csv, .xlsx) choisit le format.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Format, si l'extension du fichier ne le dit pas.",
)
@click.option("--organisation", "organisation_code", help="Code du bailleur.")
@click.option(
    "--consolidated",
    is_flag=True,
    help="Tous les bailleurs (de cette instance et importés) au lieu d'un seul.",
)
@click.option(
    "--region",
    default="",
    help="Avec --consolidated : seulement les bailleurs de cette région.",
)
def export_federation_command(
    period, out_path, fmt, organisation_code, consolidated, region
):
    """Write the aggregated statistics of a bailleur for its federation.

    Counts by commune × QPV × family/category × month with the logements, under the
    small-count rule; no free text, no names, no positions. JSON and CSV can be
    imported by ``orfi import-federation``; XLSX is for people.
    """
    from orfi.federation.consolidation import consolidate, consolidated_document
    from orfi.federation.dashboard import nomenclature_labels
    from orfi.federation.documents import build_bailleur_document
    from orfi.federation.formats import (
        dump_json,
        iter_csv_document,
        write_xlsx_document,
    )
    from orfi.federation.periods import parse_period

    fmt = fmt or out_path.suffix.lower().lstrip(".")
    try:
        if fmt not in FORMATS:
            raise ValidationError(
                {
                    "format": [
                        "Format inconnu : utilisez .json, .csv ou .xlsx (--format)."
                    ]
                }
            )
        parsed = parse_period(period)
        if consolidated:
            identity = {
                "code": "ORFI",
                "name": f"Consolidation {region or 'toutes régions'}",
                "region": region,
            }
            document = consolidated_document(identity, consolidate(region, parsed))
            count = sum(r["count"] for d in document["documents"] for r in d["rows"])
        else:
            organisation = _organisation(organisation_code)
            document = build_bailleur_document(organisation, parsed)
            count = sum(r["count"] for r in document["rows"])
    except OrfiError as error:
        fail(error)
    try:
        with out_path.open("wb") as out:
            if fmt == "json":
                out.write(dump_json(document))
            elif fmt == "csv":
                for chunk in iter_csv_document(document):
                    out.write(chunk)
            else:
                write_xlsx_document(out, document, nomenclature_labels(), parsed.french)
    except OSError as error:
        click.echo(
            f"Erreur : impossible d'écrire {out_path} ({error.strerror}).", err=True
        )
        sys.exit(1)
    db.session.rollback()
    click.echo(f"{out_path} écrit : {count} fait(s), période {parsed.label}.")


@cli.command("import-federation")
@click.argument(
    "files",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
def import_federation_command(files):
    """Load federation files (JSON or CSV) of bailleurs that run their own instance.

    Idempotent: a bailleur's file for the same period replaces the previous one. A
    file that breaks the format or the small-count rule is refused whole.
    """
    from orfi.federation.formats import read_documents
    from orfi.federation.imports import import_documents

    messages = []
    with unit_of_work():
        for path in files:
            raw = path.read_bytes()
            try:
                results = import_documents(read_documents(raw, path.name), raw)
            except ValidationError as error:  # sys.exit rolls the unit of work back
                click.echo(f"Erreur : {path} refusé, rien n'a été importé.", err=True)
                for message in error.errors.get("file", []):
                    click.echo(f"  - {message}", err=True)
                sys.exit(1)
            except NotFound as error:
                fail(error)
            messages.extend(f"{path.name} : {r.message}" for r in results)
    for message in messages:
        click.echo(message)


@cli.command("remove-federation-import")
@click.option("--code", required=True, help="Code du bailleur, ex. TMH.")
@click.option(
    "--from", "start", required=True, help="Premier mois du fichier (AAAA-MM)."
)
@click.option("--to", "end", required=True, help="Dernier mois du fichier (AAAA-MM).")
def remove_federation_import_command(code, start, end):
    """Remove the imported file of a bailleur for exactly these months, rows and all.

    A native bailleur's facts recorded here in those months count again; a file of
    the months before its first fact here may then be imported.
    """
    from orfi.federation.imports import find_import, remove_import
    from orfi.federation.periods import Period, parse_month

    with unit_of_work():
        try:
            months = []
            for name, text in (("from", start), ("to", end)):
                try:
                    months.append(parse_month(text.strip()))
                except ValueError:
                    raise ValidationError(
                        {
                            name: [
                                f"mois invalide « {text} » : écrivez AAAA-MM (2025-04)."
                            ]
                        }
                    ) from None
            if months[0] > months[1]:
                raise ValidationError(
                    {"to": ["le mois de fin (--to) précède celui de début (--from)."]}
                )
            source = find_import(code, Period(*months))
            removal = remove_import(source.id, region="")
        except OrfiError as error:
            fail(error)
    click.echo(removal.message)
