"""Importing a bailleur's patrimoine: create or update résidences by reference.

Reading and validating the file is :mod:`orfi.geo.patrimoine_io`'s job; this module
turns its GeoDataFrame into rows. Services write and never commit: the command or the
view commits once, or rolls back for a dry run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import sqlalchemy as sa

from orfi.characters import BIDI, CONTROLS, code_point, visible, without_bidi
from orfi.database import utcnow
from orfi.errors import ImportFileError
from orfi.extensions import db
from orfi.geo.patrimoine_columns import PatrimoineFileError
from orfi.geo.patrimoine_io import PatrimoinePreview, read_patrimoine_with_qpv
from orfi.geo.patrimoine_limits import ImportLimits
from orfi.geo.patrimoine_rows import PatrimoineData, RejectedRow
from orfi.patrimoine.models import Agence, Organisation, Residence
from orfi.patrimoine.services import get_or_create_agence

logger = logging.getLogger(__name__)

#: Résidence attributes an import may set, when the file carries them.
IMPORTED_FIELDS = (
    "name",
    "address",
    "commune_insee",
    "commune_name",
    "logements",
    "latitude",
    "longitude",
    "outline_geojson",
    "qpv_code",
    "qpv_generation",
)
#: Text columns an import stores, and how a rejection names them.
_TEXT_COLUMNS = {
    "reference": "référence",
    "name": "nom",
    "address": "adresse",
    "commune_name": "nom de commune",
    "agence": "agence",
}
#: Rows written between two flushes (and two progress updates).
BATCH_SIZE = 1000


@dataclass
class ImportResult:
    """Counts and rejected rows of one import."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    #: Rows read: valid or rejected.
    total: int = 0
    agences_created: int = 0
    in_qpv: int = 0
    #: False when ``strict`` stopped the import because some rows were rejected.
    written: bool = True
    description: str = ""
    warnings: list[str] = field(default_factory=list)
    #: "line" (CSV, header = line 1) or "feature" (vector files, from 1).
    line_kind: str = "line"


def load_patrimoine(
    path: str | Path,
    *,
    qpv_file: str | Path | None,
    qpv_generation: str,
    layer: str | None = None,
    limits: ImportLimits | None = None,
    chosen: Mapping[str, str] | None = None,
) -> PatrimoineData:
    """Read, validate and locate in QPVs a patrimoine file, or raise ImportFileError.

    ``chosen`` maps champs to the file's columns ({"nom": "LIBELLE"}); the other
    champs are guessed from the column names.
    """
    try:
        data = read_patrimoine_with_qpv(
            path,
            qpv_path=qpv_file,
            qpv_generation=qpv_generation,
            layer=layer,
            limits=limits,
            chosen=chosen,
        )
    except PatrimoineFileError as error:
        raise ImportFileError(str(error)) from error
    _check_characters(data)
    return data


def _check_characters(data: PatrimoineData) -> None:
    """Reject the rows whose stored text holds a control character; drop bidi ones.

    A NUL byte would fail PostgreSQL's write of the whole import (SQLite would keep
    it): such a row is rejected like any invalid row, naming its line and column. A
    spreadsheet cell may hold tabulations and line breaks (an address on two lines):
    they are kept. Bidi controls, invisible, would let a name show other than what
    it is; they are removed rather than refused, so that a mark copied along with a
    name does not cost the résidence.
    """
    frame = data.residences
    refused: dict[int, RejectedRow] = {}
    for name, label in _TEXT_COLUMNS.items():
        if name not in frame.columns:
            continue
        values = frame[name].tolist()
        # One search over the column: tens of thousands of clean cells cost nothing.
        whole = "\n".join(value for value in values if isinstance(value, str))
        if not (CONTROLS.search(whole) or BIDI.search(whole)):
            continue
        for position, value in enumerate(values):
            found = CONTROLS.search(value) if isinstance(value, str) else None
            if found is not None and position not in refused:
                refused[position] = RejectedRow(
                    int(frame["line"].iat[position]),
                    visible(str(frame["reference"].iat[position])),
                    f"colonne « {label} » : caractère de contrôle "
                    f"{code_point(found.group())} interdit",
                )
        frame[name] = pd.Series(
            [without_bidi(v) if isinstance(v, str) else v for v in values],
            index=frame.index,
            dtype=object,
        )
    if refused:
        data.residences = frame.drop(index=frame.index[sorted(refused)])
        data.rejected = sorted(
            [*data.rejected, *refused.values()], key=lambda row: row.line
        )


def _agence_ids(organisation: Organisation, names: Iterable[str]) -> tuple[dict, int]:
    """Map each agence name (case-insensitive) to its id, creating missing agences."""
    existing = db.session.scalars(
        db.select(Agence).where(Agence.organisation_id == organisation.id)
    )
    ids = {agence.name.casefold(): agence.id for agence in existing}
    created = 0
    for name in names:
        if name and name.casefold() not in ids:
            ids[name.casefold()] = get_or_create_agence(organisation.id, name).id
            created += 1
    return ids, created


def import_residences(
    organisation: Organisation,
    residences: gpd.GeoDataFrame,
    *,
    rejected: Iterable[RejectedRow] = (),
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Create or update ``organisation``'s résidences from a normalised GeoDataFrame.

    Résidences are matched by reference; columns absent from ``residences`` are left
    as they are; résidences missing from the file are kept. With ``strict``, nothing
    is written when ``rejected`` is not empty. Writes in bulk statements (objects
    already loaded in the session are not refreshed); does not commit.
    """
    result = ImportResult(rejected=list(rejected))
    result.total = len(residences) + len(result.rejected)
    if strict and result.rejected:
        result.written = False
        return result

    fields = [name for name in IMPORTED_FIELDS if name in residences.columns]
    has_agence = "agence" in residences.columns
    records = residences.drop(columns=residences.geometry.name).to_dict("records")
    agence_ids: dict[str, int] = {}
    if has_agence:
        agence_ids, result.agences_created = _agence_ids(
            organisation, dict.fromkeys(r["agence"] for r in records if r["agence"])
        )

    # One query for the whole organisation, as plain rows: tens of thousands of ORM
    # objects and their unit-of-work bookkeeping cost more than the writes themselves.
    compared = fields + (["agence_id"] if has_agence else [])
    existing = {
        row.reference: row
        for row in db.session.execute(
            db.select(
                Residence.id,
                Residence.reference,
                *(getattr(Residence, name) for name in compared),
            ).where(Residence.organisation_id == organisation.id)
        )
    }
    now = utcnow()
    table = Residence.__table__
    update = (
        table.update()
        .where(table.c.id == sa.bindparam("row_id"))
        .values({name: sa.bindparam(name) for name in ["updated_at", *compared]})
    )
    for start in range(0, len(records), BATCH_SIZE):
        batch = records[start : start + BATCH_SIZE]
        new_rows: list[dict] = []
        changed_rows: list[dict] = []
        for record in batch:
            values = {name: record[name] for name in fields}
            if has_agence:
                values["agence_id"] = (
                    agence_ids[record["agence"].casefold()]
                    if record["agence"]
                    else None
                )
            if values.get("qpv_code"):
                result.in_qpv += 1
            row = existing.get(record["reference"])
            if row is None:
                new_rows.append(
                    {
                        "organisation_id": organisation.id,
                        "reference": record["reference"],
                        "created_at": now,
                        "updated_at": now,
                        **values,
                    }
                )
            elif any(getattr(row, name) != value for name, value in values.items()):
                # Every imported field, changed or not: one statement per batch.
                changed_rows.append({"row_id": row.id, "updated_at": now, **values})
            else:
                result.unchanged += 1
        # Core executemany statements: the ORM's unit of work would insert row by row
        # on SQLite to fetch ids we do not need, and costs more than the writes.
        if new_rows:
            db.session.execute(table.insert(), new_rows)
            result.created += len(new_rows)
        if changed_rows:
            db.session.execute(update, changed_rows)
            result.updated += len(changed_rows)
        if progress is not None:
            progress(len(batch))
    logger.info(
        "Import for %s: %d created, %d updated, %d unchanged, %d rejected",
        organisation.code,
        result.created,
        result.updated,
        result.unchanged,
        len(result.rejected),
    )
    return result


def import_patrimoine_file(
    organisation: Organisation,
    path: str | Path,
    *,
    qpv_file: str | Path | None,
    qpv_generation: str,
    layer: str | None = None,
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
    limits: ImportLimits | None = None,
    chosen: Mapping[str, str] | None = None,
) -> ImportResult:
    """Read ``path`` and import its résidences into ``organisation`` (flushes only)."""
    data = load_patrimoine(
        path,
        qpv_file=qpv_file,
        qpv_generation=qpv_generation,
        layer=layer,
        limits=limits,
        chosen=chosen,
    )
    result = import_residences(
        organisation,
        data.residences,
        rejected=data.rejected,
        strict=strict,
        progress=progress,
    )
    result.description = data.description
    result.warnings = data.warnings
    result.line_kind = data.line_kind
    return result


def preselected_columns(
    preview: PatrimoinePreview, remembered: Mapping[str, str]
) -> dict[str, str]:
    """Return the column each champ starts from: the one remembered from the
    organisation's last mapped import where this file has it, else the guess.

    A champ remembered without a column does not undo this file's guess: the last
    file may simply have had no such column.
    """
    selected = dict(preview.guesses)
    for champ, column in remembered.items():
        if champ in preview.champs and column and column in preview.columns:
            selected[champ] = column
    return selected
