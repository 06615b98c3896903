"""Reading a bailleur's patrimoine file: columns, validation, reprojection and QPV.

A file goes in (CSV, or any vector format GDAL reads); a GeoDataFrame of résidences with
normalised columns and the list of rejected rows come out. Nothing here touches the
database: :mod:`orfi.patrimoine.importer` writes what this module returns.

The normalised GeoDataFrame is in WGS84 (EPSG:4326) with one point per résidence and
these columns (optional ones only when the file carries them, so that an update leaves
the other fields alone): ``line``, ``reference``, ``name``, ``latitude``,
``longitude``, and optionally ``address``, ``commune_insee``, ``commune_name``,
``logements``, ``agence``, ``outline_geojson`` (vector files only), ``qpv_code`` and
``qpv_generation`` (after :func:`~orfi.geo.qpv_layer.assign_qpv`).

This module only routes a file to its reader; each step has its module:
:mod:`~orfi.geo.patrimoine_csv` and :mod:`~orfi.geo.patrimoine_vector` read,
:mod:`~orfi.geo.patrimoine_columns` matches columns to fields,
:mod:`~orfi.geo.patrimoine_coordinates` reads positions,
:mod:`~orfi.geo.patrimoine_rows` checks rows and builds the GeoDataFrame, and
:mod:`~orfi.geo.qpv_layer` assigns QPVs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orfi.geo.patrimoine_columns import (
    COORDINATE_FIELDS,
    MAPPABLE_FIELDS,
    PatrimoineFileError,
    cell_text,
    guess_columns,
)
from orfi.geo.patrimoine_csv import read_csv_file, read_csv_records
from orfi.geo.patrimoine_limits import ImportLimits
from orfi.geo.patrimoine_rows import PatrimoineData
from orfi.geo.patrimoine_vector import read_vector_file, read_vector_frame
from orfi.geo.qpv_layer import assign_qpv, load_qpv_layer

logger = logging.getLogger(__name__)

#: File suffixes read as delimited text; everything else goes to GDAL.
CSV_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
#: Rows a preview shows.
PREVIEW_ROWS = 5


@dataclass
class PatrimoinePreview:
    """A file's columns, its first rows and the column guessed for each champ."""

    #: Column names, in file order (a vector file's attributes, not its geometry).
    columns: list[str]
    #: The first rows, as text, one cell per column.
    rows: list[list[str]]
    #: {champ of MAPPABLE_FIELDS: column} for the champs a column was guessed for.
    guesses: dict[str, str]
    #: True when the geometry gives the positions (no coordinate champs then).
    vector: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def champs(self) -> list[str]:
        """The champs a person may map for this file."""
        return [
            champ
            for champ in MAPPABLE_FIELDS
            if not (self.vector and champ in COORDINATE_FIELDS)
        ]


def preview_patrimoine(
    path: str | Path,
    *,
    layer: str | None = None,
    limits: ImportLimits | None = None,
    rows: int = PREVIEW_ROWS,
) -> PatrimoinePreview:
    """Read a patrimoine file's columns and first rows, and guess each champ's column.

    Parameters
    ----------
    path : str or Path
        See :func:`read_patrimoine`.
    layer : str, optional
        Layer of a multi-layer file.
    limits : ImportLimits, optional
        See :func:`read_patrimoine`.
    rows : int
        How many rows to return.

    Returns
    -------
    PatrimoinePreview

    Raises
    ------
    PatrimoineFileError
        The file is missing, unreadable or beyond one of ``limits``.
    """
    path = Path(path)
    limits = limits or ImportLimits()
    if not path.is_file():
        raise PatrimoineFileError(f"Fichier introuvable : {path.name}.")
    limits.check_file_size(path)
    warnings: list[str] = []
    if path.suffix.lower() in CSV_SUFFIXES:
        records, _delimiter, _encoding = read_csv_records(path, limits)
        columns = [cell.strip() for cell in records[0]]
        data = [
            (record + [""] * len(columns))[: len(columns)]
            for record in records[1:]
            if any(cell.strip() for cell in record)
        ][:rows]
        vector = False
    else:
        frame, _source, warnings = read_vector_frame(path, layer, limits, rows=rows)
        columns = [str(c) for c in frame.columns if c != frame.geometry.name]
        data = [[cell_text(v) for v in frame[c].tolist()] for c in columns]
        data = [list(row) for row in zip(*data, strict=True)] if columns else []
        vector = True
    reverse = {name: champ for champ, name in MAPPABLE_FIELDS.items()}
    guesses = {
        reverse[name]: str(column)
        for name, column in guess_columns(columns).items()
        if name in reverse and not (vector and reverse[name] in COORDINATE_FIELDS)
    }
    return PatrimoinePreview(
        columns=columns,
        rows=[[cell_text(c) for c in row] for row in data],
        guesses=guesses,
        vector=vector,
        warnings=warnings,
    )


def read_patrimoine(
    path: str | Path,
    *,
    layer: str | None = None,
    limits: ImportLimits | None = None,
    chosen: Mapping[str, str] | None = None,
) -> PatrimoineData:
    """Read and validate a patrimoine file; return valid résidences and rejected rows.

    Parameters
    ----------
    path : str or Path
        A CSV file (``.csv``, ``.txt``, ``.tsv``: ``;``, ``,`` or tab separated,
        UTF-8 with or without BOM, else Windows-1252/Latin-1; latitude/longitude or
        Lambert-93 X/Y columns), a zip archive holding a shapefile (or a GeoPackage or
        GeoJSON), or any vector file GDAL reads (GeoJSON, GeoPackage, Shapefile with
        its ``.cpg``...).
    layer : str, optional
        Layer to read in a multi-layer file; the first one by default.
    limits : ImportLimits, optional
        Size, rows and points a file may not exceed; the defaults when None.
    chosen : mapping, optional
        {champ: column} chosen by a person (see
        :func:`~.patrimoine_columns.match_columns`); the rest is guessed.

    Returns
    -------
    PatrimoineData
        ``residences`` in WGS84 with the columns listed in the module docstring.

    Raises
    ------
    PatrimoineFileError
        The file is missing, unreadable, has no CRS (vector), lacks a required column
        (or a chosen one) or is beyond one of ``limits``.
    """
    path = Path(path)
    limits = limits or ImportLimits()
    if not path.is_file():
        raise PatrimoineFileError(f"Fichier introuvable : {path.name}.")
    limits.check_file_size(path)
    if path.suffix.lower() in CSV_SUFFIXES:
        return read_csv_file(path, limits, chosen)
    return read_vector_file(path, layer, limits, chosen)


def read_patrimoine_with_qpv(
    path: str | Path,
    *,
    qpv_path: str | Path | None,
    qpv_generation: str,
    layer: str | None = None,
    limits: ImportLimits | None = None,
    chosen: Mapping[str, str] | None = None,
) -> PatrimoineData:
    """Read a patrimoine file and fill each résidence's QPV from ``qpv_path``.

    Parameters
    ----------
    path : str or Path
        See :func:`read_patrimoine`.
    qpv_path : str or Path or None
        QPV layer; None leaves the QPV columns out (existing values are kept).
    qpv_generation : str
        Generation of that layer.
    layer : str, optional
        Layer of a multi-layer patrimoine file.
    limits : ImportLimits, optional
        See :func:`read_patrimoine`.
    chosen : mapping, optional
        See :func:`read_patrimoine`.

    Returns
    -------
    PatrimoineData
    """
    data = read_patrimoine(path, layer=layer, limits=limits, chosen=chosen)
    if qpv_path is not None:
        data.residences = assign_qpv(
            data.residences, load_qpv_layer(qpv_path), qpv_generation
        )
    return data
