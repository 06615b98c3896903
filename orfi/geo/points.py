"""Points: validation, distances and H3 cells for single positions."""

from __future__ import annotations

import math

import h3

EARTH_RADIUS_M = 6_371_008.8


def is_valid_position(latitude: float, longitude: float) -> bool:
    """Return whether (latitude, longitude) are finite WGS84 degrees within range.

    Parameters
    ----------
    latitude, longitude : float
        Degrees, WGS84.
    """
    return (
        math.isfinite(latitude)
        and math.isfinite(longitude)
        and -90.0 <= latitude <= 90.0
        and -180.0 <= longitude <= 180.0
    )


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance in metres between two WGS84 points.

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : float
        Degrees, WGS84.

    Returns
    -------
    float
        Haversine distance in metres (accurate to ~0.5 % at these scales).
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = (
        math.sin(dphi / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def h3_cell(latitude: float, longitude: float, resolution: int) -> int:
    """Return the H3 cell containing the point, as a 64-bit integer.

    Parameters
    ----------
    latitude, longitude : float
        Degrees, WGS84.
    resolution : int
        H3 resolution (0–15).
    """
    return h3.str_to_int(h3.latlng_to_cell(latitude, longitude, resolution))


def to_folium(longitude: float, latitude: float) -> list[float]:
    """Convert a (lon, lat) pair, as GeoJSON orders it, to folium's [lat, lon]."""
    return [latitude, longitude]
