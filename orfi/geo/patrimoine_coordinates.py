"""A patrimoine file's positions: read from columns or geometries, checked in France."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from orfi.geo.patrimoine_columns import column_values, parse_number

logger = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
LAMBERT93 = "EPSG:2154"
#: Bounding boxes (lon_min, lat_min, lon_max, lat_max) of France métropolitaine (with
#: Corsica) and of the five départements d'outre-mer.
FRANCE_BOUNDS: dict[str, tuple[float, float, float, float]] = {
    "France métropolitaine": (-5.5, 41.2, 9.8, 51.3),
    "Guadeloupe": (-61.9, 15.8, -60.9, 16.6),
    "Martinique": (-61.3, 14.3, -60.7, 14.95),
    "Guyane": (-54.7, 2.0, -51.5, 5.9),
    "La Réunion": (55.1, -21.5, 55.9, -20.8),
    "Mayotte": (44.9, -13.1, 45.4, -12.5),
}


def within_france(longitude: np.ndarray, latitude: np.ndarray) -> np.ndarray:
    """Return which points lie in France métropolitaine or a DOM (bounding boxes).

    Parameters
    ----------
    longitude, latitude : numpy.ndarray
        Degrees, WGS84; NaN is never within.

    Returns
    -------
    numpy.ndarray of bool
    """
    longitude = np.asarray(longitude, dtype=float)
    latitude = np.asarray(latitude, dtype=float)
    inside = np.zeros(longitude.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        for lon_min, lat_min, lon_max, lat_max in FRANCE_BOUNDS.values():
            inside |= (
                (longitude >= lon_min)
                & (longitude <= lon_max)
                & (latitude >= lat_min)
                & (latitude <= lat_max)
            )
    return inside


def csv_coordinates(
    frame: pd.DataFrame, mapping: dict
) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Return WGS84 lon/lat arrays and a per-row error from lat/lon or X/Y columns."""
    size = len(frame)
    lon = np.full(size, np.nan)
    lat = np.full(size, np.nan)
    errors: list[str | None] = [None] * size
    lat_text, lon_text = (
        column_values(frame, mapping, "latitude"),
        column_values(frame, mapping, "longitude"),
    )
    x_text, y_text = (
        column_values(frame, mapping, "x_l93"),
        column_values(frame, mapping, "y_l93"),
    )
    x = np.full(size, np.nan)
    y = np.full(size, np.nan)
    from_l93 = np.zeros(size, dtype=bool)
    for i in range(size):
        if lat_text[i] or lon_text[i]:
            a, b = parse_number(lat_text[i]), parse_number(lon_text[i])
            if a is None or b is None:
                errors[i] = (
                    f"coordonnées invalides (latitude « {lat_text[i]} », "
                    f"longitude « {lon_text[i]} »)"
                )
            else:
                lat[i], lon[i] = a, b
        elif x_text[i] or y_text[i]:
            a, b = parse_number(x_text[i]), parse_number(y_text[i])
            if a is None or b is None:
                errors[i] = (
                    f"coordonnées invalides (X « {x_text[i]} », Y « {y_text[i]} »)"
                )
            else:
                x[i], y[i] = a, b
                from_l93[i] = True
        else:
            errors[i] = "coordonnées manquantes"
    if from_l93.any():
        with np.errstate(invalid="ignore"):
            finite = from_l93 & np.isfinite(x) & np.isfinite(y)
        points = gpd.GeoSeries(
            gpd.points_from_xy(x[finite], y[finite]), crs=LAMBERT93
        ).to_crs(WGS84)
        lon[finite] = points.x.to_numpy()
        lat[finite] = points.y.to_numpy()
        for i in np.flatnonzero(from_l93 & ~finite):
            errors[i] = "coordonnées X/Y non finies"
        # Degrees in X/Y columns are a frequent mistake: say so, not "hors France".
        looks_like_degrees = from_l93 & within_france(x, y)
        for i in np.flatnonzero(looks_like_degrees):
            errors[i] = (
                f"X/Y ({x_text[i]}, {y_text[i]}) ressemblent à des degrés : nommez "
                "ces colonnes longitude et latitude (X/Y sont lus en Lambert-93)"
            )
    return lon, lat, errors


def vector_coordinates(
    geometry: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, list[str | None], list[str | None]]:
    """Return lon/lat of representative points, outlines of polygons, per-row errors."""
    size = len(geometry)
    errors: list[str | None] = [None] * size
    missing = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    for i in np.flatnonzero(missing):
        errors[i] = "géométrie absente"
    geometry = np.where(missing, None, geometry)
    geometry = shapely.force_2d(geometry)
    kind = shapely.get_type_id(geometry)
    polygonal = np.isin(kind, (3, 6))  # Polygon, MultiPolygon
    invalid = polygonal & ~shapely.is_valid(geometry)
    if invalid.any():
        geometry[invalid] = shapely.make_valid(geometry[invalid])
    points = shapely.point_on_surface(geometry)
    lon = np.where(missing, np.nan, shapely.get_x(points))
    lat = np.where(missing, np.nan, shapely.get_y(points))
    outlines: list[str | None] = [None] * size
    if polygonal.any():
        texts = shapely.to_geojson(geometry[polygonal])
        for i, text in zip(np.flatnonzero(polygonal), texts, strict=True):
            outlines[i] = str(text)
    return lon, lat, outlines, errors
