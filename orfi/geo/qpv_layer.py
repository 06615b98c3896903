"""The QPV layer of an import: read it, and give each résidence its QPV."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from orfi.geo.patrimoine_columns import PatrimoineFileError, cell_text, normalise_column
from orfi.geo.patrimoine_coordinates import WGS84
from orfi.geo.patrimoine_vector import dataset_path

logger = logging.getLogger(__name__)


def load_qpv_layer(path: str | Path) -> gpd.GeoDataFrame:
    """Read a QPV layer; return its ``code_qp`` and polygons in WGS84.

    Parameters
    ----------
    path : str or Path
        Any vector file GDAL reads, with a CRS and a ``code_qp`` property (or
        ``code_qpv``, ``code_quartier``).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``code_qp`` and ``geometry``, EPSG:4326.

    Raises
    ------
    PatrimoineFileError
        The layer is missing, unreadable, has no CRS or no code column.
    """
    path = Path(path)
    if not path.is_file():
        raise PatrimoineFileError(f"Couche des QPV introuvable : {path.name}.")
    source, _warnings = dataset_path(path)
    try:
        layer = gpd.read_file(source)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as error:
        raise PatrimoineFileError(f"Couche des QPV illisible : {path.name}.") from error
    if layer.crs is None:
        raise PatrimoineFileError(
            f"La couche des QPV {path.name} n'indique pas son système de coordonnées."
        )
    codes = {
        normalise_column(c): c
        for c in layer.columns
        if normalise_column(c) in ("code_qp", "code_qpv", "code_quartier")
    }
    column = next(
        (codes[k] for k in ("code_qp", "code_qpv", "code_quartier") if k in codes),
        None,
    )
    if column is None:
        raise PatrimoineFileError(
            f"La couche des QPV {path.name} n'a pas de colonne code_qp."
        )
    layer = layer[[column, layer.geometry.name]].rename(columns={column: "code_qp"})
    layer = layer.set_geometry(layer.geometry.name).to_crs(WGS84)
    layer = layer[~(layer.geometry.is_empty | layer.geometry.isna())]
    layer["code_qp"] = [cell_text(v) for v in layer["code_qp"]]
    return layer


def assign_qpv(
    residences: gpd.GeoDataFrame, qpv: gpd.GeoDataFrame, generation: str
) -> gpd.GeoDataFrame:
    """Return ``residences`` with the QPV containing each point, by one spatial join.

    Parameters
    ----------
    residences : geopandas.GeoDataFrame
        Points, any CRS (reprojected to the QPV layer's for the join).
    qpv : geopandas.GeoDataFrame
        From :func:`load_qpv_layer`.
    generation : str
        QPV generation of the layer, e.g. "2015" or "2024".

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with ``qpv_code`` and ``qpv_generation`` (both None outside any QPV; the
        first polygon wins where two overlap).
    """
    result = residences.copy()
    if result.empty:
        result["qpv_code"] = pd.Series(dtype=object)
        result["qpv_generation"] = pd.Series(dtype=object)
        return result
    points = result[[result.geometry.name]].to_crs(qpv.crs)
    joined = gpd.sjoin(
        points, qpv[["code_qp", qpv.geometry.name]], how="left", predicate="within"
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    codes = joined["code_qp"].reindex(result.index)
    # Object dtype keeps None (pandas' string dtype would turn it into NaN).
    found = [c if isinstance(c, str) and c else None for c in codes]
    result["qpv_code"] = pd.Series(found, index=result.index, dtype=object)
    result["qpv_generation"] = pd.Series(
        [generation if code else None for code in found],
        index=result.index,
        dtype=object,
    )
    return result
