"""QPV outlines for maps: read once, simplified, clipped to the area shown."""

from __future__ import annotations

import logging
import os
from functools import lru_cache

logger = logging.getLogger(__name__)

#: Lambert-93, the metric CRS of metropolitan France, for simplifying in metres.
METRIC_CRS = "EPSG:2154"


@lru_cache(maxsize=4)
def _simplified_layer(path: str, mtime: float, tolerance_m: float):
    import geopandas as gpd

    layer = gpd.read_file(path)
    if layer.crs is None:
        raise ValueError(f"{path} : la couche QPV n'a pas de système de coordonnées.")
    metric = layer.to_crs(METRIC_CRS)
    metric["geometry"] = metric.geometry.simplify(tolerance_m, preserve_topology=True)
    simplified = metric.to_crs("EPSG:4326")
    logger.info("Couche QPV %s chargée : %d contours", path, len(simplified))
    return simplified


def qpv_outlines(
    path: str,
    bounds: tuple[float, float, float, float] | None,
    *,
    tolerance_m: float = 10.0,
) -> dict:
    """Return the QPV outlines that meet ``bounds`` as a small GeoJSON dict.

    Parameters
    ----------
    path : str
        A QPV layer readable by geopandas (GeoJSON of the ANCT, WGS84), with
        ``code_qp`` and ``nom_qp`` properties.
    bounds : tuple of float or None
        (west, south, east, north) in degrees; None returns an empty collection.
    tolerance_m : float
        Douglas–Peucker tolerance in metres (in Lambert-93): a few metres are
        invisible at city zoom and divide the size by five or more.

    Returns
    -------
    dict
        A FeatureCollection with ``code`` and ``name`` properties, coordinates
        rounded to 1e-5 degree (about a metre).
    """
    empty = {"type": "FeatureCollection", "features": []}
    if bounds is None or not path or not os.path.exists(path):
        return empty
    layer = _simplified_layer(path, os.path.getmtime(path), tolerance_m)
    west, south, east, north = bounds
    selected = layer.cx[west:east, south:north]
    features = []
    for code, name, geometry in zip(
        selected.get("code_qp", []),
        selected.get("nom_qp", []),
        selected.geometry,
        strict=True,
    ):
        features.append(
            {
                "type": "Feature",
                "properties": {"code": str(code), "name": str(name)},
                "geometry": {
                    "type": geometry.geom_type,
                    "coordinates": _rounded(geometry.__geo_interface__["coordinates"]),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _rounded(coordinates, digits: int = 5):
    if isinstance(coordinates[0], int | float):
        return [round(value, digits) for value in coordinates]
    return [_rounded(part, digits) for part in coordinates]
