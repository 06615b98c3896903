"""Exports of a bailleur's own facts: CSV, XLSX and GeoJSON in constant memory.

The facts are those of the facts list page with the same filters ("export what I
see"), duplicates left out. They are read in keyset batches on short connections, so
that neither the rows nor a database transaction are held while a slow client
downloads.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from orfi.auth.models import User
from orfi.errors import ValidationError
from orfi.exports.spreadsheet import FORMULA_START, XLSX_MAX_ROWS, iter_csv, write_xlsx
from orfi.extensions import db
from orfi.nomenclature.models import Category, Family
from orfi.patrimoine.models import Batiment, Residence
from orfi.reports.models import (
    Intervention,
    Lieu,
    LocationSource,
    Report,
    Status,
    Suite,
    Victime,
)
from orfi.reports.queries import ReportFilters, counted_reports, filtered_reports
from orfi.timezone import to_local

logger = logging.getLogger(__name__)

#: Facts read per database round trip.
BATCH_SIZE = 2000
#: Rows an XLSX export may hold (one sheet, under the header).
XLSX_MAX_FACTS = XLSX_MAX_ROWS - 1

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    ),
    "geojson": ("application/geo+json", "geojson"),
}

#: (key, header) of every column, in file order; keys name GeoJSON properties.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("reference", "Référence"),
    ("occurred_at", "Date et heure (Europe/Paris)"),
    ("category_code", "Catégorie (code)"),
    ("category_label", "Catégorie"),
    ("family_code", "Famille (code)"),
    ("family_label", "Famille"),
    ("residence_reference", "Résidence (référence)"),
    ("residence_name", "Résidence"),
    ("batiment", "Bâtiment ou entrée"),
    ("commune_insee", "Commune (code INSEE)"),
    ("commune_name", "Commune"),
    ("qpv_code", "QPV (code)"),
    ("qpv_generation", "QPV (génération)"),
    ("lieu", "Lieu"),
    ("victime", "Victime"),
    ("arret_travail_jours", "Arrêt de travail (jours)"),
    ("mission_service_public", "Mission de service public"),
    ("suite", "Suites"),
    ("intervention", "Intervention"),
    ("gravity", "Gravité (1 à 4)"),
    ("damage_cost_eur", "Coût estimé (€)"),
    ("status", "Statut"),
    ("latitude", "Latitude (WGS84)"),
    ("longitude", "Longitude (WGS84)"),
    ("gps_accuracy_m", "Précision (m)"),
    ("location_source", "Origine de la position"),
    ("description", "Description"),
)
HEADER = tuple(header for _key, header in COLUMNS)
KEYS = tuple(key for key, _header in COLUMNS)
_WIDTHS = (16, 17, 9, 40, 8, 26, 12, 28, 12, 10, 20, 11, 8, 22, 22, 8, 8, 24, 18,
           8, 10, 10, 11, 11, 9, 24, 60)  # fmt: skip
_LAT, _LON = KEYS.index("latitude"), KEYS.index("longitude")
# CSV conversions by column, decided once: text that may start like a formula, floats
# with a decimal comma, the date, the yes/no flag. Ints and None go to csv as they are.
_CSV_TEXT = tuple(
    KEYS.index(k)
    for k in ("category_label", "family_label", "residence_reference",
              "residence_name", "batiment", "commune_name", "description")
)  # fmt: skip
_CSV_FLOAT = tuple(KEYS.index(k) for k in ("latitude", "longitude", "gps_accuracy_m"))
_CSV_DATE = KEYS.index("occurred_at")
_CSV_FLAG = KEYS.index("mission_service_public")


def _labels(choice) -> dict[str, str]:
    return {member.value: member.label for member in choice}


# Enum columns are read as their stored codes and labelled through these mappings:
# cheaper than building enum members for every row.
_LIEU, _VICTIME, _SUITE = _labels(Lieu), _labels(Victime), _labels(Suite)
_INTERVENTION, _STATUS = _labels(Intervention), _labels(Status)
_SOURCE = _labels(LocationSource)


@dataclass(frozen=True)
class ExportQuery:
    """The facts of one export: a Core query of columns, ordered as the list page."""

    select: sa.Select
    count: int


def export_query(user: User, filters: ReportFilters) -> ExportQuery:
    """Return the query of the facts ``user`` sees with ``filters``, and their number.

    Only readers of an organisation get any facts: the caller checks the role.
    """
    base = counted_reports(filtered_reports(user, filters))
    count = db.session.scalar(
        base.with_only_columns(sa.func.count(Report.id)).order_by(None)
    )
    residence = aliased(Residence, name="export_residence")
    select = (
        base.with_only_columns(
            Report.id,
            Report.reference,
            Report.occurred_at,
            Category.code,
            Category.label,
            Family.code,
            Family.label,
            residence.reference,
            residence.name,
            Batiment.reference,
            residence.commune_insee,
            residence.commune_name,
            residence.qpv_code,
            residence.qpv_generation,
            _code(Report.lieu),
            _code(Report.victime),
            Report.arret_travail_jours,
            Report.mission_service_public,
            _code(Report.suite),
            _code(Report.intervention),
            Report.gravity,
            Report.damage_cost_eur,
            _code(Report.status),
            Report.latitude,
            Report.longitude,
            Report.gps_accuracy_m,
            _code(Report.location_source),
            Report.description,
            maintain_column_froms=False,
        )
        .join_from(Report, Category, Report.category_id == Category.id)
        .join_from(Category, Family, Category.family_id == Family.id)
        .join_from(Report, residence, Report.residence_id == residence.id)
        .outerjoin_from(Report, Batiment, Report.batiment_id == Batiment.id)
    )
    return ExportQuery(select=select, count=count or 0)


def _code(column) -> sa.ColumnElement:
    return sa.type_coerce(column, sa.String).label(column.key)


def iter_rows(query: ExportQuery, batch_size: int = BATCH_SIZE) -> Iterator[tuple]:
    """Yield the export rows (Python values, in COLUMNS order) batch by batch.

    Each batch is one short read on its own connection; the next one starts after the
    last (occurred_at, id) seen, so memory and locks stay constant whatever the size.
    """
    last: tuple | None = None
    while True:
        select = query.select
        if last is not None:
            at, report_id = last
            select = select.where(
                Report.occurred_at <= at,
                sa.or_(
                    Report.occurred_at < at,
                    sa.and_(Report.occurred_at == at, Report.id < report_id),
                ),
            )
        with db.engine.connect() as connection:
            batch = connection.execute(select.limit(batch_size)).all()
        for row in batch:
            yield _values(row)
        if len(batch) < batch_size:
            return
        last = (batch[-1][2], batch[-1][0])


def _values(row) -> tuple:
    (
        _id, reference, occurred_at, category_code, category_label, family_code,
        family_label, residence_reference, residence_name, batiment, commune_insee,
        commune_name, qpv_code, qpv_generation, lieu, victime, arret, mission, suite,
        intervention, gravity, cost, status, latitude, longitude, accuracy, source,
        description,
    ) = row  # fmt: skip
    return (
        reference,
        to_local(occurred_at).replace(tzinfo=None, second=0, microsecond=0),
        category_code,
        category_label,
        family_code,
        family_label,
        residence_reference,
        residence_name,
        batiment,
        commune_insee or None,
        commune_name or None,
        qpv_code or None,
        qpv_generation or None,
        _LIEU.get(lieu),
        _VICTIME.get(victime),
        arret,
        bool(mission),
        _SUITE.get(suite),
        _INTERVENTION.get(intervention),
        gravity,
        cost,
        _STATUS.get(status),
        latitude,
        longitude,
        accuracy,
        _SOURCE.get(source),
        description or None,
    )


def _csv_rows(rows) -> Iterator[list]:
    """Convert export rows for the C csv writer (see the _CSV_* column indexes)."""
    for values in rows:
        row = list(values)
        for i in _CSV_TEXT:
            text = row[i]
            if text and text[0] in FORMULA_START:
                row[i] = "'" + text
        for i in _CSV_FLOAT:
            if row[i] is not None:
                row[i] = repr(row[i]).replace(".", ",")
        row[_CSV_DATE] = row[_CSV_DATE].strftime("%Y-%m-%d %H:%M")
        row[_CSV_FLAG] = "oui" if row[_CSV_FLAG] else "non"
        yield row


def stream_csv(query: ExportQuery) -> Iterator[bytes]:
    """Yield the export as a French CSV (``;``, UTF-8 with BOM), chunk by chunk."""
    return iter_csv(HEADER, _csv_rows(iter_rows(query)), ready=True)


def stream_geojson(query: ExportQuery) -> Iterator[bytes]:
    """Yield the export as a GeoJSON FeatureCollection (RFC 7946, WGS84)."""
    yield b'{"type":"FeatureCollection","features":[\n'
    parts: list[str] = []
    first = True
    for index, values in enumerate(iter_rows(query), 1):
        feature = {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [values[_LON], values[_LAT]],
            },
            "properties": {
                key: _json_value(value) for key, value in zip(KEYS, values, strict=True)
            },
        }
        parts.append(("" if first else ",\n") + json.dumps(feature, ensure_ascii=False))
        first = False
        if index % 500 == 0:
            yield "".join(parts).encode("utf-8")
            parts.clear()
    parts.append("\n]}\n")
    yield "".join(parts).encode("utf-8")


def _json_value(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat(timespec="minutes")
    return value


def check_xlsx_size(query: ExportQuery) -> None:
    """Refuse an XLSX export larger than one sheet, with a French message."""
    if query.count > XLSX_MAX_FACTS:
        raise ValidationError(
            {
                "format": [
                    f"Un fichier XLSX contient au plus {XLSX_MAX_FACTS:,} lignes ; "
                    f"cet export en compte {query.count:,}. Réduisez la période ou "
                    "choisissez le format CSV.".replace(",", "\u202f")
                ]
            }
        )


def build_xlsx(query: ExportQuery) -> tuple[IO[bytes], int]:
    """Write the export as XLSX to a temporary file; return it rewound and its size.

    openpyxl's write-only mode keeps memory constant; the file lives on disk (deleted
    when closed) so that its size can be announced and the download show progress.
    """
    check_xlsx_size(query)
    # Closed by the response once sent (or below on failure): no context manager.
    out = tempfile.TemporaryFile(prefix="orfi-export-", suffix=".xlsx")  # noqa: SIM115
    try:
        write_xlsx(out, [("Faits", HEADER, iter_rows(query), {"widths": _WIDTHS})])
    except BaseException:
        out.close()
        raise
    size = out.tell()
    out.seek(0)
    return out, size


def estimated_size(count: int, fmt: str) -> int:
    """Return a rough size in bytes of an export of ``count`` facts (for the page)."""
    per_row = {"csv": 330, "xlsx": 190, "geojson": 900}[fmt]
    return 2_000 + per_row * count
