"""Checking a patrimoine file's rows and building the normalised GeoDataFrame."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from orfi.geo.patrimoine_columns import column_values, parse_number
from orfi.geo.patrimoine_coordinates import (
    WGS84,
    csv_coordinates,
    vector_coordinates,
    within_france,
)

logger = logging.getLogger(__name__)

#: Optional fields copied as text, with their maximum length (the database column's).
_TEXT_FIELDS = {
    "commune_name": 100,
    "agence": 200,
}
_MAX_LENGTH = {"reference": 50, "name": 200, "address": 300}
#: How a rejection names each field.
_LABELS = {
    "reference": "référence",
    "name": "nom",
    "address": "adresse",
    "commune_name": "nom de commune",
    "agence": "nom d'agence",
}
#: Columns of the normalised GeoDataFrame, before those the file lacks are dropped.
_COLUMNS = (
    "line",
    "reference",
    "name",
    "latitude",
    "longitude",
    "address",
    "commune_insee",
    "commune_name",
    "logements",
    "agence",
    "outline_geojson",
)
_INSEE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")


@dataclass(frozen=True)
class RejectedRow:
    """A row left out of the import: where it is, its reference if any, and why."""

    line: int
    reference: str
    reason: str


@dataclass
class PatrimoineData:
    """What :func:`read_patrimoine` returns."""

    #: Valid résidences, normalised columns, points in WGS84.
    residences: gpd.GeoDataFrame
    #: Rows left out, in file order.
    rejected: list[RejectedRow] = field(default_factory=list)
    #: Non-blank rows (or features) read.
    total: int = 0
    #: How the file was understood, for the report (format, separator, encoding, CRS).
    description: str = ""
    #: Remarks that do not reject a row (ignored columns, other layers...).
    warnings: list[str] = field(default_factory=list)
    #: "line" for delimited text, "feature" for vector files.
    line_kind: str = "line"


def _parse_logements(text: str) -> tuple[int | None, str | None]:
    """Return (logements, error): empty means 0; decimals like 12.0 are accepted."""
    if not text:
        return 0, None
    number = parse_number(text)
    if number is None or not math.isfinite(number) or not number.is_integer():
        return None, f"logements : « {text} » n'est pas un nombre entier"
    if number < 0:
        return None, f"logements : {int(number)} est négatif"
    return int(number), None


def _normalise_insee(text: str) -> tuple[str, str | None]:
    code = text.upper()
    if len(code) == 4 and code.isdigit():
        # A spreadsheet dropped the leading zero of départements 01–09.
        code = "0" + code
    if not _INSEE.match(code):
        return "", f"code INSEE « {text} » invalide (5 caractères, ex. 31555)"
    return code, None


def normalise_rows(
    frame: pd.DataFrame,
    mapping: dict,
    *,
    line_numbers: np.ndarray,
    geometry: np.ndarray | None,
    line_kind: str,
) -> PatrimoineData:
    """Build the normalised GeoDataFrame and the rejected rows of one source."""
    if geometry is None:
        lon, lat, coordinate_errors = csv_coordinates(frame, mapping)
        outlines = None
    else:
        lon, lat, outlines, coordinate_errors = vector_coordinates(geometry)
    cells = {
        name: column_values(frame, mapping, name)
        for name in ("reference", "name", "commune_insee", "logements", *_TEXT_FIELDS)
    }
    has_address, cells["address"] = _addresses(frame, mapping)
    lines: dict[str, list[int]] = {}
    for i, reference in enumerate(cells["reference"]):
        if reference:
            lines.setdefault(reference, []).append(int(line_numbers[i]))
    word = "lignes" if line_kind == "line" else "objets"
    positions = _position_problems(lon, lat, coordinate_errors)

    columns: dict[str, list] = {name: [] for name in _COLUMNS}
    rejected: list[RejectedRow] = []
    for i in range(len(frame)):
        row = {name: values[i] for name, values in cells.items()}
        values, reasons = _checked_row(row, lines.get(row["reference"], []), word)
        if positions[i]:
            reasons.append(positions[i])
        if reasons:
            rejected.append(
                RejectedRow(int(line_numbers[i]), row["reference"], " ; ".join(reasons))
            )
            continue
        values["line"] = int(line_numbers[i])
        values["latitude"] = round(float(lat[i]), 7)
        values["longitude"] = round(float(lon[i]), 7)
        values["outline_geojson"] = outlines[i] if outlines is not None else None
        for name in _COLUMNS:
            columns[name].append(values[name])

    keep = _kept_columns(mapping, has_address, outlines is not None)
    residences = _residence_frame({name: columns[name] for name in keep})
    return PatrimoineData(residences=residences, rejected=rejected, line_kind=line_kind)


def _kept_columns(mapping: dict, has_address: bool, has_outlines: bool) -> list[str]:
    """Return the columns to keep: only the fields the file carries.

    An update must not blank the fields a file leaves out.
    """
    keep = ["line", "reference", "name", "latitude", "longitude"]
    keep += [
        name for name in ("commune_insee", "logements", "agence") if name in mapping
    ]
    if has_address:
        keep.append("address")
    if "commune_name" in mapping:
        keep.append("commune_name")
    if has_outlines:
        keep.append("outline_geojson")
    return keep


def _addresses(frame: pd.DataFrame, mapping: dict) -> tuple[bool, list[str]]:
    """Return whether the file carries addresses, and each row's.

    RPLS files split the address in number, repetition, street type and name.
    """
    has_address = "address" in mapping or any(
        part in mapping for part in ("numvoie", "typvoie", "nomvoie")
    )
    addresses = column_values(frame, mapping, "address")
    if "address" not in mapping and has_address:
        parts = [
            column_values(frame, mapping, part)
            for part in ("numvoie", "indrep", "typvoie", "nomvoie")
        ]
        addresses = [" ".join(p for p in row if p) for row in zip(*parts, strict=True)]
    return has_address, addresses


def _checked_row(
    row: dict[str, str], lines: list[int], word: str
) -> tuple[dict, list[str]]:
    """Return a row's normalised values and the reasons to reject it (none: kept).

    ``lines`` are the lines (or objects) that carry the row's reference.
    """
    reasons: list[str] = []
    if not row["reference"]:
        reasons.append("référence manquante")
    elif len(lines) > 1:
        others = ", ".join(str(n) for n in lines)
        reasons.append(f"référence en double ({word} {others})")
    if not row["name"]:
        reasons.append("nom manquant")
    for name in ("reference", "name", "address"):
        if len(row[name]) > _MAX_LENGTH[name]:
            reasons.append(
                f"{_LABELS[name]} trop long(ue) ({len(row[name])} caractères, "
                f"{_MAX_LENGTH[name]} au plus)"
            )
    for name, limit in _TEXT_FIELDS.items():
        if len(row[name]) > limit:
            reasons.append(f"{_LABELS[name]} trop long ({limit} caractères au plus)")
    count, error = _parse_logements(row["logements"])
    if error:
        reasons.append(error)
    code = ""
    if row["commune_insee"]:
        code, error = _normalise_insee(row["commune_insee"])
        if error:
            reasons.append(error)
    return {**row, "logements": count, "commune_insee": code}, reasons


def _position_problems(
    lon: np.ndarray, lat: np.ndarray, coordinate_errors: list[str | None]
) -> list[str | None]:
    """Return why each row's position is refused (None: a point in France)."""
    inside = within_france(lon, lat)
    swapped = within_france(lat, lon)
    problems: list[str | None] = []
    for i, error in enumerate(coordinate_errors):
        if error:
            problems.append(error)
        elif not (math.isfinite(lon[i]) and math.isfinite(lat[i])):
            problems.append("coordonnées non finies")
        elif not inside[i]:
            hint = (
                " : latitude et longitude inversées ?"
                if swapped[i]
                else " (France métropolitaine ou DOM attendus)"
            )
            problems.append(
                f"position hors de France (latitude {lat[i]:.5f}, longitude "
                f"{lon[i]:.5f}){hint}"
            )
        else:
            problems.append(None)
    return problems


def _residence_frame(columns: dict[str, list]) -> gpd.GeoDataFrame:
    """Return the résidences' GeoDataFrame (WGS84 points) with typed columns."""
    # Object dtype keeps None (pandas' string dtype would turn it into NaN).
    table = pd.DataFrame(
        {name: pd.Series(values, dtype=object) for name, values in columns.items()}
    )
    if "logements" in table:
        table["logements"] = table["logements"].astype("int64")
    table["line"] = table["line"].astype("int64")
    table["latitude"] = table["latitude"].astype(float)
    table["longitude"] = table["longitude"].astype(float)
    return gpd.GeoDataFrame(
        table,
        geometry=gpd.points_from_xy(table["longitude"], table["latitude"]),
        crs=WGS84,
    )
