"""The hotspot map: its page, its folium scaffold and its data per zoom and view.

Three requests draw the map, none of which grows with the number of facts:

- the page (filters, legend, ranking of hot résidences): one grouped query;
- the scaffold (``carte.js``), written by folium: layer groups, QPV outlines and the
  initial view of the user's perimeter; no fact in it;
- the data (``donnees.json``) for the current zoom and view: facts counted per H3
  cell by the database (``GROUP BY h3_r9``, read in index order), coarsened in numpy
  to the zoom's resolution, the hot and cold résidences (facts per logement against
  the other résidences', Empirical Bayes, false discovery rate), résidences with
  their rates, and the facts one by one only when the view holds few of them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from orfi.auth.models import User
from orfi.extensions import db
from orfi.geo.hexagons import (
    aggregate_cells,
    cell_centers,
    cell_ids,
    cells_in_bbox,
    resolution_for_zoom,
)
from orfi.geo.indicators import (
    class_breaks,
    classify,
    rank_residences,
    residence_table,
)
from orfi.nomenclature.models import Category
from orfi.reports.models import Lieu, Report, Status
from orfi.stats.filters import FilterChoices, StatsFilters, filtered_reports
from orfi.stats.services import count_reports_by_residence, residence_frame
from orfi.timezone import to_local

logger = logging.getLogger(__name__)

#: Facts drawn one by one only when the view holds at most this many.
MAX_POINTS = 2000
#: Résidences listed beside the map.
TOP_RESIDENCES = 10
#: Up to this many résidences, the page carries the résidences layer (it has the
#: figures already) and the data requests skip it; beyond, it is fetched per view.
MAX_EMBEDDED_RESIDENCES = 1500
#: QPV outlines drawn this far (degrees, ~2 km) around the patrimoine.
QPV_MARGIN_DEGREES = 0.02
LAYERS = frozenset({"hex", "gi", "heat", "residences", "facts"})
Bbox = tuple[float, float, float, float]


# --------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------


def count_reports_by_cell(
    user: User, filters: StatsFilters
) -> tuple[np.ndarray, np.ndarray]:
    """Return the H3 r9 cells holding facts and their counts (one row per cell)."""
    query = (
        filtered_reports(user, filters)
        .with_only_columns(Report.h3_r9, sa.func.count().label("n"))
        .group_by(Report.h3_r9)
    )
    rows = db.session.execute(query).all()
    cells = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    counts = np.fromiter((row[1] for row in rows), dtype=np.int64, count=len(rows))
    return cells, counts


def read_facts_in_cells(
    user: User, filters: StatsFilters, cells: np.ndarray, limit: int
):
    """Return at most ``limit`` facts lying in the given r9 cells as a GeoDataFrame.

    The filters, the perimeter and the cells are all in the SQL query
    (:func:`orfi.geo.indicators.read_facts`). No ``ORDER BY`` there: it would lead
    SQLite to walk the whole period in date order; seeking the few cells in
    ``ix_report_stats_h3`` then sorting at most ``limit`` rows here is far cheaper.
    """
    from orfi.geo.indicators import read_facts

    query = (
        filtered_reports(user, filters)
        .join(Category, Category.id == Report.category_id)
        .with_only_columns(
            Report.uuid,
            Report.reference,
            Report.latitude,
            Report.longitude,
            Report.occurred_at,
            Report.lieu,
            Report.status,
            Category.code,
            Category.label,
        )
        .where(Report.h3_r9.in_([int(c) for c in cells]))
        .limit(limit)
    )
    facts = read_facts(db.session.connection(), query)
    return facts.sort_values("occurred_at", ascending=False, kind="stable")


# --------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------


@dataclass
class MapPage:
    """What the map page shows around the map."""

    total: int
    previous_total: int
    ranking: pd.DataFrame
    rate_breaks: list[float]
    focus: tuple[tuple[float, float], tuple[float, float]] | None
    residences: dict | None  # the résidences layer, when small enough to embed
    hotspots: dict | None = None  # the hot résidences (the data's "gi" layer)


def perimeter_bounds(
    residences: pd.DataFrame,
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Return ((south, west), (north, east)) around the résidences, or None."""
    if residences.empty:
        return None
    lat, lon = residences["latitude"], residences["longitude"]
    pad_lat = max(0.002, 0.05 * float(lat.max() - lat.min()))
    pad_lon = max(0.003, 0.05 * float(lon.max() - lon.min()))
    return (
        (round(float(lat.min()) - pad_lat, 5), round(float(lon.min()) - pad_lon, 5)),
        (round(float(lat.max()) + pad_lat, 5), round(float(lon.max()) + pad_lon, 5)),
    )


def _residence_stats(
    user, filters, choices, counts: pd.DataFrame | None = None
) -> pd.DataFrame:
    periods = {"current": filters.period, "previous": filters.period.previous()}
    if counts is None:
        counts = count_reports_by_residence(user, filters, periods)
    by_residence = counts.groupby("residence_id")[["current", "previous"]].sum()
    return residence_table(
        residence_frame(choices, filters.residence_ids),
        by_residence["current"],
        by_residence["previous"],
    )


def build_map_page(
    user: User,
    filters: StatsFilters,
    choices: FilterChoices,
    list_url: Callable[..., str] | None = None,
) -> MapPage:
    """Return the ranking of hot résidences and the legend of the map page.

    One query, facts per résidence and category for the period and the previous one,
    gives the ranking, the résidences layer and the hot résidences (which do not
    depend on the view: the page carries them, the data requests skip them).
    """
    periods = {"current": filters.period, "previous": filters.period.previous()}
    counts = count_reports_by_residence(user, filters, periods)
    table = _residence_stats(user, filters, choices, counts)
    focused = filters.residence_ids is not None
    focus = perimeter_bounds(table.reset_index(drop=True)) if focused else None
    return MapPage(
        total=int(table["count"].sum()),
        previous_total=int(table["previous"].sum()),
        ranking=rank_residences(table, TOP_RESIDENCES),
        rate_breaks=class_breaks(table["rate"]),
        focus=focus,
        residences=(
            residence_layer(table) if len(table) <= MAX_EMBEDDED_RESIDENCES else None
        ),
        hotspots=_hot_layer(user, filters, choices, list_url, counts),
    )


# --------------------------------------------------------------------------------------
# The scaffold
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapScript:
    """The folium scaffold as a JavaScript file, with its validator for caching."""

    source: str
    etag: str


def build_map_script(
    choices: FilterChoices,
    *,
    static_url: Callable[[str], str],
    qpv_file: str,
    tile_url: str = "",
    tile_attribution: str = "",
) -> MapScript:
    """Return the scaffold of the user's perimeter (folium) as a JavaScript file."""
    from orfi.geo.basemap import build_map_scaffold, render_scaffold
    from orfi.geo.qpv import qpv_outlines

    bounds = perimeter_bounds(residence_frame(choices))
    qpv = {"type": "FeatureCollection", "features": []}
    if bounds is not None:
        # Neighbouring QPVs too (about 2 km around the patrimoine): they are context.
        (south, west), (north, east) = bounds
        margin = QPV_MARGIN_DEGREES
        qpv = qpv_outlines(
            qpv_file, (west - margin, south - margin, east + margin, north + margin)
        )
    m = build_map_scaffold(
        bounds=bounds,
        qpv=qpv,
        static_url=static_url,
        tile_url=tile_url,
        tile_attribution=tile_attribution,
    )
    source = render_scaffold(m).script + "\n"
    etag = hashlib.sha256(source.encode()).hexdigest()[:32]
    return MapScript(source=source, etag=etag)


def map_assets(static_url: Callable[[str], str]) -> tuple[list[str], list[str]]:
    """Return the JS and CSS URLs the scaffold needs (for the page's head and foot)."""
    from orfi.geo.basemap import LOCAL_ASSETS

    js = ["leaflet", "leaflet-heat.js", "markerclusterjs"]
    css = ["leaflet_css", "markerclustercss", "markerclusterdefaultcss"]
    return (
        [static_url(LOCAL_ASSETS[name]) for name in js],
        [static_url(LOCAL_ASSETS[name]) for name in css],
    )


# --------------------------------------------------------------------------------------
# The data
# --------------------------------------------------------------------------------------


def build_map_data(
    user: User,
    filters: StatsFilters,
    choices: FilterChoices,
    *,
    layers: frozenset[str],
    zoom: float,
    bbox: Bbox | None,
    list_url: Callable[..., str] | None = None,
) -> dict:
    """Return the map's layers for a zoom and a view, as compact JSON-ready lists.

    ``list_url(residence=id)`` gives the link to the facts list of a résidence for
    the period (the view knows the routes).

    H3 cells travel as their hexadecimal ids (h3-js draws them in the browser), so a
    cell costs ~25 bytes whatever it holds.
    """
    layers = layers & LAYERS
    resolution = resolution_for_zoom(zoom)
    data: dict = {"zoom": zoom, "resolution": resolution}
    needs_cells = bool(layers & {"hex", "heat", "facts"})
    cells, counts = (
        count_reports_by_cell(user, filters) if needs_cells else (None, None)
    )
    if "hex" in layers:
        data["hex"] = _hex_layer(cells, counts, resolution, bbox)
    if "heat" in layers:
        data["heat"] = _heat_layer(cells, counts, min(9, resolution + 1), bbox)
    if "gi" in layers:
        data["gi"] = _hot_layer(user, filters, choices, list_url)
    if "residences" in layers:
        table = _residence_stats(user, filters, choices)
        data["residences"] = residence_layer(table, bbox)
    if "facts" in layers:
        data["facts"] = _facts_layer(user, filters, cells, counts, bbox)
    return data


def _cells_in_view(
    cells: np.ndarray, counts: np.ndarray, resolution: int, bbox: Bbox | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return the counts per cell of ``resolution``, for the cells in ``bbox``."""
    coarse, coarse_counts = aggregate_cells(cells, counts, resolution)
    keep = cells_in_bbox(coarse, bbox)
    return coarse[keep], coarse_counts[keep]


def _hex_layer(
    cells: np.ndarray, counts: np.ndarray, resolution: int, bbox: Bbox | None
) -> dict:
    """Return the hexagon layer: counts per cell of ``resolution``, classed."""
    hexes, hex_counts = _cells_in_view(cells, counts, resolution, bbox)
    breaks = class_breaks(hex_counts)
    return {
        "resolution": resolution,
        "cells": cell_ids(hexes),
        "counts": hex_counts.tolist(),
        "classes": classify(hex_counts, breaks).tolist(),
        "breaks": breaks,
    }


def _heat_layer(
    cells: np.ndarray, counts: np.ndarray, resolution: int, bbox: Bbox | None
) -> dict:
    """Return the heat layer: one weighted point per cell centre of ``resolution``."""
    heat_cells, heat_counts = _cells_in_view(cells, counts, resolution, bbox)
    lat, lon = cell_centers(heat_cells)
    return {
        "resolution": resolution,
        "points": [
            [round(float(a), 5), round(float(b), 5), int(c)]
            for a, b, c in zip(lat, lon, heat_counts, strict=True)
        ],
        "max": int(heat_counts.max(initial=0)),
    }


def _hot_layer(
    user: User,
    filters: StatsFilters,
    choices: FilterChoices,
    list_url: Callable[..., str] | None,
    counts: pd.DataFrame | None = None,
) -> dict:
    """Return the hot (and cold) résidences of the period, with their categories.

    The unit is the résidence, its facts compared with its logements
    (:func:`orfi.geo.hotspots.rate_hotspots`). One query, the facts per résidence and
    category of the period, gives both the test and each flagged résidence's
    breakdown. Every flagged résidence is sent whatever the view: they are few.
    """
    from orfi.geo.hotspots import rate_hotspots

    if counts is None:
        counts = count_reports_by_residence(user, filters, {"current": filters.period})
    by_category = counts[counts["current"] > 0]
    table = residence_table(
        residence_frame(choices, filters.residence_ids),
        by_category.groupby("residence_id")["current"].sum(),
    )
    result = rate_hotspots(table["count"].to_numpy(), table["logements"].to_numpy())
    labels = {category.id: category.display for category in choices.categories}
    flagged = np.flatnonzero(result.kind != 0)
    order = flagged[np.argsort(result.p[flagged], kind="stable")]
    rows = []
    for i in order.tolist():
        residence = table.iloc[i]
        own = by_category[by_category["residence_id"] == residence["id"]]
        own = own.sort_values(["current", "category_id"], ascending=[False, True])
        rows.append(
            {
                "id": int(residence["id"]),
                "name": residence["name"],
                "latitude": round(float(residence["latitude"]), 5),
                "longitude": round(float(residence["longitude"]), 5),
                "hot": bool(result.kind[i] > 0),
                "count": int(result.counts[i]),
                "expected": round(float(result.expected[i]), 1),
                "logements": int(residence["logements"]),
                "smoothed": round(100 * float(result.smoothed[i]), 1),
                "p": float(f"{result.p[i]:.2g}"),
                "categories": [
                    [labels.get(int(c), "?"), int(n)]
                    for c, n in zip(own["category_id"], own["current"], strict=True)
                ],
                "list_url": list_url(residence=int(residence["id"]))
                if list_url
                else None,
            }
        )
    return {
        "unit": "residence",
        "fdr": result.fdr,
        "tested": int(result.tested.sum()),
        "hot_total": int((result.kind > 0).sum()),
        "cold_total": int((result.kind < 0).sum()),
        "rows": rows,
    }


def sector_summary(
    user: User, filters: StatsFilters, choices: FilterChoices, cell: int
) -> dict:
    """Return the facts of one sector of the map (an H3 cell) by category.

    The sector's facts are one range of the stored ``h3_r9``
    (:func:`orfi.geo.hexagons.finest_range`), read from the covering index that
    leads with it: the same facts the density layer counted in that hexagon.
    """
    from orfi.geo.hexagons import finest_range

    query = (
        filtered_reports(user, filters)
        .with_only_columns(Report.category_id, sa.func.count().label("n"))
        .where(Report.h3_r9.between(*finest_range(cell)))
        .group_by(Report.category_id)
    )
    labels = {category.id: category.display for category in choices.categories}
    rows = sorted(
        ((labels.get(category_id, "?"), int(n)) for category_id, n in
         db.session.execute(query).all()),
        key=lambda row: (-row[1], row[0]),
    )  # fmt: skip
    return {
        "count": sum(n for _, n in rows),
        "categories": [list(row) for row in rows],
    }


def residence_layer(table: pd.DataFrame, bbox: Bbox | None = None) -> dict:
    """Return the résidences layer: one compact row per résidence (in ``bbox``).

    Row: id, name, reference, latitude, longitude, logements, facts, facts per 100
    logements (None without logements), rate class (-1: none), QPV code or None,
    facts of the previous period, address, commune (the last two for the map's
    « Trouver une résidence » box, which searches the page's rows).
    """
    breaks = class_breaks(table["rate"])
    classes = classify(table["rate"], breaks)
    inside = _points_in_bbox(table["latitude"], table["longitude"], bbox)
    rows = [
        [
            int(row.id),
            row.name,
            row.reference,
            round(float(row.latitude), 5),
            round(float(row.longitude), 5),
            int(row.logements),
            int(row.count),
            None if np.isnan(row.rate) else round(float(row.rate), 1),
            int(rate_class),
            row.qpv_code or None,
            int(row.previous),
            row.address or "",
            row.commune or "",
        ]
        for row, rate_class, keep in zip(
            table.itertuples(), classes, inside, strict=True
        )
        if keep
    ]
    return {
        "breaks": breaks,
        "max_count": int(table["count"].max()) if len(table) else 0,
        "rows": rows,
    }


def _points_in_bbox(lat: pd.Series, lon: pd.Series, bbox: Bbox | None) -> np.ndarray:
    if bbox is None:
        return np.ones(len(lat), dtype=bool)
    west, south, east, north = bbox
    dx, dy = (east - west) * 0.25, (north - south) * 0.25
    return (
        (lat >= south - dy)
        & (lat <= north + dy)
        & (lon >= west - dx)
        & (lon <= east + dx)
    ).to_numpy()


def _facts_layer(user, filters, cells, counts, bbox) -> dict:
    """Facts one by one when the view holds at most :data:`MAX_POINTS` of them."""
    if bbox is None:
        return {"count": int(counts.sum()), "limit": MAX_POINTS, "rows": None}
    # Every r9 cell that may hold a point of the view (cells_in_bbox pads the view
    # with a cell's radius).
    in_view = cells_in_bbox(cells, bbox, margin=0.1)
    total = int(counts[in_view].sum())
    if total > MAX_POINTS:
        return {"count": total, "limit": MAX_POINTS, "rows": None}
    if not in_view.any():
        return {"count": 0, "limit": MAX_POINTS, "rows": []}
    facts = read_facts_in_cells(user, filters, cells[in_view], MAX_POINTS)
    return {
        "count": total,
        "limit": MAX_POINTS,
        "rows": [
            [
                round(point.y, 6),
                round(point.x, 6),
                reference,
                f"{code} · {label}",
                to_local(occurred_at).strftime("%d/%m/%Y %H:%M"),
                Lieu(lieu).label if isinstance(lieu, str) and lieu else "",
                Status(status).label,
                str(uuid),
            ]
            for point, reference, code, label, occurred_at, lieu, status, uuid in zip(
                facts.geometry,
                facts["reference"],
                facts["code"],
                facts["label"],
                facts["occurred_at"],
                facts["lieu"],
                facts["status"],
                facts["uuid"],
                strict=True,
            )
        ],
    }
