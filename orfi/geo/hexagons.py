"""H3 hexagonal cells: resolutions per zoom, vectorised parents, counts and outlines.

Facts carry their H3 cells at resolutions 7 and 9 as 64-bit integers (see
``orfi.reports.creation.derived_fields``). Counting them per cell happens in the
database (``GROUP BY h3_r9``); this module turns those few rows into coarser cells,
centres, outlines and GeoDataFrames without a Python loop over facts.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from functools import lru_cache

import h3.api.basic_int as h3i
import numpy as np

logger = logging.getLogger(__name__)

#: Finest resolution stored on each fact (street block, ~0.1 km² per cell).
FINEST_RESOLUTION = 9
#: Coarsest resolution the map offers (~250 km² per cell).
COARSEST_RESOLUTION = 4

# H3 index bit layout (https://h3geo.org/docs/core-library/h3Indexing): resolution in
# bits 52–55, then fifteen 3-bit digits from resolution 1 (bits 42–44) to 15 (0–2);
# digits finer than the cell's resolution are 7 (0b111).
_RES_SHIFT = 52
_RES_MASK = np.int64(0xF) << _RES_SHIFT
_DIGIT_BITS = 3

#: Map zoom (Leaflet) → H3 resolution whose cells are 20–60 px wide on screen.
_ZOOM_TO_RESOLUTION = (
    (7, 4),
    (9, 5),
    (10, 6),
    (12, 7),
    (13, 8),
)


def resolution_for_zoom(zoom: float) -> int:
    """Return the H3 resolution to draw at a Leaflet zoom level.

    Parameters
    ----------
    zoom : float
        Leaflet zoom (0 = whole world, 18 = building).

    Returns
    -------
    int
        A resolution between :data:`COARSEST_RESOLUTION` and :data:`FINEST_RESOLUTION`:
        cells stay a few dozen pixels wide, so the number drawn depends on the screen,
        not on the number of facts.
    """
    for max_zoom, resolution in _ZOOM_TO_RESOLUTION:
        if zoom <= max_zoom:
            return resolution
    return FINEST_RESOLUTION


def cell_resolutions(cells: np.ndarray) -> np.ndarray:
    """Return the resolution of each H3 cell (vectorised).

    Parameters
    ----------
    cells : numpy.ndarray
        H3 cells as 64-bit integers.
    """
    cells = np.asarray(cells, dtype=np.int64)
    return ((cells & _RES_MASK) >> _RES_SHIFT).astype(np.int64)


def cell_parents(cells: np.ndarray, resolution: int) -> np.ndarray:
    """Return the parent of each cell at a coarser ``resolution`` (vectorised).

    Equivalent to ``h3.cell_to_parent`` on every element, with bit operations on the
    64-bit integers instead of a Python loop.

    Parameters
    ----------
    cells : numpy.ndarray
        H3 cells as 64-bit integers, all at a resolution ≥ ``resolution``.
    resolution : int
        Target resolution (0–15).

    Returns
    -------
    numpy.ndarray
        int64 parent cells, aligned with ``cells``.

    Raises
    ------
    ValueError
        If a cell is coarser than ``resolution``.
    """
    cells = np.asarray(cells, dtype=np.int64)
    if not 0 <= resolution <= 15:
        raise ValueError(f"H3 resolution must be 0–15, got {resolution}.")
    if cells.size and cell_resolutions(cells).min() < resolution:
        raise ValueError(f"Cannot take the parent at {resolution} of a coarser cell.")
    unused_digits = np.int64((1 << ((15 - resolution) * _DIGIT_BITS)) - 1)
    return ((cells | unused_digits) & ~_RES_MASK) | (np.int64(resolution) << _RES_SHIFT)


def aggregate_cells(
    cells: np.ndarray, counts: np.ndarray, resolution: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sum counts of fine cells into their parents at ``resolution``.

    Parameters
    ----------
    cells : numpy.ndarray
        Fine H3 cells (int64), e.g. the ``h3_r9`` groups of a ``GROUP BY``.
    counts : numpy.ndarray
        The count of each fine cell.
    resolution : int
        Target resolution, no finer than the cells'.

    Returns
    -------
    tuple of numpy.ndarray
        Sorted unique parent cells (int64) and their summed counts (int64).
    """
    cells = np.asarray(cells, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    if cells.size == 0:
        return cells, counts
    parents = cell_parents(cells, resolution)
    unique, inverse = np.unique(parents, return_inverse=True)
    return unique, np.bincount(inverse, weights=counts).astype(np.int64)


@lru_cache(maxsize=200_000)
def _center(cell: int) -> tuple[float, float]:
    return h3i.cell_to_latlng(cell)


def cell_centers(cells: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the (latitudes, longitudes) of the cells' centres.

    Parameters
    ----------
    cells : sequence of int
        H3 cells as integers. One h3 call per *cell* (never per fact), cached.

    Returns
    -------
    tuple of numpy.ndarray
        Latitudes and longitudes in degrees (WGS84).
    """
    if len(cells) == 0:
        return np.empty(0), np.empty(0)
    centers = np.array([_center(int(cell)) for cell in cells], dtype=float)
    return centers[:, 0], centers[:, 1]


def cells_in_bbox(
    cells: np.ndarray,
    bbox: tuple[float, float, float, float] | None,
    *,
    margin: float = 0.25,
    pad: float | None = None,
) -> np.ndarray:
    """Return a boolean mask of the cells that may cover part of ``bbox``.

    Parameters
    ----------
    cells : numpy.ndarray
        H3 cells as integers.
    bbox : tuple of float or None
        (west, south, east, north) in degrees; None keeps every cell.
    margin : float
        Fraction of the box's width and height added on each side, so that cells
        straddling the edge and a little panning need no new request.
    pad : float, optional
        Degrees added on each side besides ``margin``; by default the radius of a
        cell, so that a cell whose centre is just outside the box but whose area
        overlaps it is kept (at street zoom, a view is smaller than a cell).
    """
    cells = np.asarray(cells, dtype=np.int64)
    if bbox is None or cells.size == 0:
        return np.ones(cells.size, dtype=bool)
    west, south, east, north = bbox
    if pad is None:
        pad = cell_radius_degrees(int(cell_resolutions(cells[:1])[0]))
    dx, dy = (east - west) * margin + pad, (north - south) * margin + pad
    lat, lon = cell_centers(cells)
    return (
        (lat >= south - dy)
        & (lat <= north + dy)
        & (lon >= west - dx)
        & (lon <= east + dx)
    )


def cell_radius_degrees(resolution: int) -> float:
    """Return an upper bound of a cell's centre-to-corner distance, in degrees.

    Parameters
    ----------
    resolution : int
        H3 resolution.

    Returns
    -------
    float
        1.5 × the average edge length (the largest cells are ~1.4 × the average),
        converted at the worst of latitude and longitude in metropolitan France.
    """
    edge_km = h3i.average_hexagon_edge_length(resolution, unit="km")
    return 1.5 * edge_km / (111.32 * math.cos(math.radians(51.5)))


def cell_ids(cells: np.ndarray) -> list[str]:
    """Return the cells as H3 hexadecimal strings (the form JavaScript's h3-js reads).

    Parameters
    ----------
    cells : numpy.ndarray
        H3 cells as integers.
    """
    return [format(int(cell), "x") for cell in np.asarray(cells, dtype=np.int64)]


def cells_frame(cells: np.ndarray, **columns):
    """Return a GeoDataFrame of hexagon outlines with the given columns.

    Parameters
    ----------
    cells : numpy.ndarray
        H3 cells as integers.
    **columns : array-like
        Values aligned with ``cells`` (e.g. ``count=...``).

    Returns
    -------
    geopandas.GeoDataFrame
        One polygon per cell, CRS EPSG:4326, with a ``cell`` column (int64).
    """
    import geopandas as gpd
    import shapely

    cells = np.asarray(cells, dtype=np.int64)
    rings = [[(lon, lat) for lat, lon in h3i.cell_to_boundary(int(c))] for c in cells]
    geometry = shapely.polygons(rings) if rings else shapely.polygons([])
    return gpd.GeoDataFrame(
        {"cell": cells, **columns}, geometry=geometry, crs="EPSG:4326"
    )


def grid_disk_cells(cells: Sequence[int] | np.ndarray, ring: int) -> np.ndarray:
    """Return the cells within ``ring`` steps of any of ``cells`` (sorted, unique).

    Parameters
    ----------
    cells : sequence of int
        H3 cells as integers, all at one resolution.
    ring : int
        0 returns the cells themselves; 1 adds their six neighbours, and so on.
    """
    unique = np.unique(np.asarray(cells, dtype=np.int64))
    if ring <= 0 or unique.size == 0:
        return unique
    disks = [n for c in unique for n in h3i.grid_disk(int(c), ring)]
    return np.unique(np.asarray(disks, dtype=np.int64))


def finest_range(cell: int) -> tuple[int, int]:
    """Return the smallest and largest :data:`FINEST_RESOLUTION` ids inside ``cell``.

    The finest descendants of a cell are exactly the finest cells whose integer id
    lies in this range: they share every bit above the cell's last digit, their
    finer digits run from 0 to 6. So « the facts of this sector » is one range on
    the stored ``h3_r9`` column, as the density layer sums them (:func:`cell_parents`).

    Raises
    ------
    ValueError
        If ``cell`` is not a valid H3 cell no finer than :data:`FINEST_RESOLUTION`.
    """
    cell = int(cell)
    if not h3i.is_valid_cell(cell):
        raise ValueError("Not an H3 cell.")
    resolution = h3i.get_resolution(cell)
    if resolution > FINEST_RESOLUTION:
        raise ValueError(f"H3 cells of resolution {FINEST_RESOLUTION} at most.")
    low = h3i.cell_to_center_child(cell, FINEST_RESOLUTION)
    high = low
    for digit in range(resolution + 1, FINEST_RESOLUTION + 1):
        high |= 6 << (3 * (15 - digit))
    return low, high
