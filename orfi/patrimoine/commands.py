"""Commands of the patrimoine feature (import)."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

import click
from flask import current_app

from orfi.commands import cli, fail
from orfi.errors import ImportFileError, OrfiError, ValidationError
from orfi.geo.patrimoine_columns import (
    MAPPABLE_FIELDS,
    PatrimoineFileError,
    parse_column_choices,
)
from orfi.geo.patrimoine_limits import ImportLimits
from orfi.patrimoine.importer import ImportResult, import_residences, load_patrimoine
from orfi.patrimoine.services import get_organisation_by_code
from orfi.transaction import unit_of_work

logger = logging.getLogger(__name__)


@cli.command("import-patrimoine")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--organisation",
    "organisation_code",
    required=True,
    help="Code du bailleur dont on importe le patrimoine (ex. TMH).",
)
@click.option(
    "--qpv",
    "qpv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Couche des QPV (propriété code_qp) ; par défaut ORFI_QPV_FILE.",
)
@click.option(
    "--qpv-generation",
    help="Génération des QPV de --qpv (défaut 2015 ; sans --qpv : "
    "ORFI_QPV_GENERATION).",
)
@click.option("--layer", help="Couche à lire dans un fichier qui en a plusieurs.")
@click.option(
    "--strict",
    is_flag=True,
    help="Ne rien importer si une seule ligne est rejetée (code de sortie 1).",
)
@click.option("--dry-run", is_flag=True, help="Tout vérifier sans rien enregistrer.")
@click.option(
    "--column",
    "columns",
    multiple=True,
    metavar="CHAMP=COLONNE",
    help="Colonne du fichier pour un champ, si son nom n'est pas reconnu (ex. "
    "--column nom=LIBELLE_GROUPE ; répétable ; COLONNE vide : ne pas lire ce champ). "
    "Champs : " + ", ".join(MAPPABLE_FIELDS) + ".",
)
def import_patrimoine_command(
    file, organisation_code, qpv_file, qpv_generation, layer, strict, dry_run, columns
):
    """Create or update a bailleur's résidences from a CSV or vector file.

    FILE is a CSV (lat/lon or Lambert-93 X/Y), GeoJSON, GeoPackage or shapefile (also
    zipped); docs/import-patrimoine.md lists the column names recognised; --column
    names the others (--column reference=CODE_GPE --column nom=LIBELLE). Résidences are
    matched by reference: a new import updates them and never duplicates them. Valid
    rows are imported even when others are rejected, unless --strict.
    """
    if qpv_file is None:
        qpv_file = current_app.config["ORFI_QPV_FILE"] or None
        generation = qpv_generation or current_app.config["ORFI_QPV_GENERATION"]
    else:
        generation = qpv_generation or "2015"
    if not re.fullmatch(r"\d{4}", str(generation)):
        fail(
            ValidationError(
                {"qpv-generation": ["Année sur 4 chiffres attendue (ex. 2015, 2024)."]}
            )
        )

    try:
        chosen = parse_column_choices(columns)
    except PatrimoineFileError as error:
        fail(ImportFileError(str(error)))
    try:
        data = load_patrimoine(
            file,
            qpv_file=qpv_file,
            qpv_generation=generation,
            layer=layer,
            limits=ImportLimits.from_config(current_app.config),
            chosen=chosen,
        )
    except OrfiError as error:
        fail(error)
    click.echo(f"Fichier lu : {data.description}.")
    for warning in data.warnings:
        click.echo(f"Remarque : {warning}")

    with unit_of_work() as work:
        try:
            organisation = get_organisation_by_code(organisation_code)
            if strict and data.rejected:
                result = import_residences(
                    organisation, data.residences, rejected=data.rejected, strict=True
                )
            else:
                with click.progressbar(
                    length=len(data.residences), label="Écriture des résidences"
                ) as bar:
                    result = import_residences(
                        organisation,
                        data.residences,
                        rejected=data.rejected,
                        progress=bar.update,
                    )
        except OrfiError as error:
            fail(error)
        result.line_kind = data.line_kind
        if dry_run or not result.written:
            work.discard()

    _echo_result(result, generation=generation if qpv_file else None, dry_run=dry_run)
    if not result.written:
        click.echo(
            f"Mode strict : aucune résidence importée ({len(result.rejected)} "
            "ligne(s) rejetée(s)).",
            err=True,
        )
        sys.exit(1)


def _echo_result(result: ImportResult, *, generation: str | None, dry_run: bool):
    """Print the counts and the rejected rows in French."""
    unit = "ligne(s)" if result.line_kind == "line" else "objet(s)"
    click.echo(
        f"{result.total} {unit} lue(s) : {result.created} créée(s), "
        f"{result.updated} mise(s) à jour, {result.unchanged} inchangée(s), "
        f"{len(result.rejected)} rejetée(s)."
    )
    if result.agences_created:
        click.echo(f"{result.agences_created} agence(s) créée(s).")
    if generation and result.written:
        click.echo(f"{result.in_qpv} résidence(s) en QPV (génération {generation}).")
    if result.rejected:
        where = "ligne" if result.line_kind == "line" else "objet"
        if not result.written:
            click.echo("Lignes rejetées :")
        elif dry_run:
            click.echo("Lignes rejetées (les autres seraient importées) :")
        else:
            click.echo("Lignes rejetées (les autres ont été importées) :")
        for row in result.rejected:
            reference = f" [{row.reference}]" if row.reference else ""
            click.echo(f"  {where} {row.line}{reference} : {row.reason}")
    if dry_run:
        click.echo("Simulation (--dry-run) : rien n'a été enregistré.")
