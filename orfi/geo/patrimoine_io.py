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
from pathlib import Path

from orfi.geo.patrimoine_columns import PatrimoineFileError
from orfi.geo.patrimoine_csv import read_csv_file
from orfi.geo.patrimoine_limits import ImportLimits
from orfi.geo.patrimoine_rows import PatrimoineData
from orfi.geo.patrimoine_vector import read_vector_file
from orfi.geo.qpv_layer import assign_qpv, load_qpv_layer

logger = logging.getLogger(__name__)

#: File suffixes read as delimited text; everything else goes to GDAL.
CSV_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})


def read_patrimoine(
    path: str | Path,
    *,
    layer: str | None = None,
    limits: ImportLimits | None = None,
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

    Returns
    -------
    PatrimoineData
        ``residences`` in WGS84 with the columns listed in the module docstring.

    Raises
    ------
    PatrimoineFileError
        The file is missing, unreadable, has no CRS (vector), lacks a required column
        or is beyond one of ``limits``.
    """
    path = Path(path)
    limits = limits or ImportLimits()
    if not path.is_file():
        raise PatrimoineFileError(f"Fichier introuvable : {path.name}.")
    limits.check_file_size(path)
    if path.suffix.lower() in CSV_SUFFIXES:
        return read_csv_file(path, limits)
    return read_vector_file(path, layer, limits)


def read_patrimoine_with_qpv(
    path: str | Path,
    *,
    qpv_path: str | Path | None,
    qpv_generation: str,
    layer: str | None = None,
    limits: ImportLimits | None = None,
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

    Returns
    -------
    PatrimoineData
    """
    data = read_patrimoine(path, layer=layer, limits=limits)
    if qpv_path is not None:
        data.residences = assign_qpv(
            data.residences, load_qpv_layer(qpv_path), qpv_generation
        )
    return data
