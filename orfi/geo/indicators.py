"""Indicators per résidence: counts, rates per 100 logements, QPV, rankings.

Counts arrive already grouped by the database (one row per résidence); everything
here is vectorised pandas over résidences, never a loop over facts.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

#: The résidence columns these functions read.
RESIDENCE_COLUMNS = ("id", "logements", "qpv_code")


def rate_per_100(counts, logements):
    """Return facts per 100 logements (NaN where a résidence has no logements).

    Parameters
    ----------
    counts, logements : array-like
        Facts and logements, aligned.

    Returns
    -------
    numpy.ndarray
        ``100 * counts / logements`` as floats.
    """
    counts = np.asarray(counts, dtype=float)
    logements = np.asarray(logements, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(logements > 0, 100.0 * counts / logements, np.nan)


def percent_change(current: float, previous: float) -> float | None:
    """Return the change from ``previous`` to ``current`` in percent (None if from 0).

    Parameters
    ----------
    current, previous : float
        The values of this period and of the one it is compared with.
    """
    if not previous:
        return None
    return 100.0 * (current - previous) / previous


def residence_table(
    residences: pd.DataFrame,
    current: pd.Series,
    previous: pd.Series | None = None,
) -> pd.DataFrame:
    """Return one row per résidence with its facts, rate and change.

    Parameters
    ----------
    residences : pandas.DataFrame
        At least :data:`RESIDENCE_COLUMNS`; other columns (name, reference...) are
        kept. Résidences without facts get 0.
    current : pandas.Series
        Facts of the period by résidence id.
    previous : pandas.Series, optional
        Facts of the period compared with, by résidence id.

    Returns
    -------
    pandas.DataFrame
        The résidence columns plus ``count``, ``rate`` (facts per 100 logements),
        ``previous``, ``change`` (count − previous) and ``change_pct`` (NaN from 0),
        indexed by résidence id.
    """
    table = residences.set_index("id", drop=False).rename_axis("residence_id").copy()
    table["count"] = current.reindex(table.index, fill_value=0).astype(np.int64)
    table["rate"] = rate_per_100(table["count"], table["logements"])
    prev = (
        previous.reindex(table.index, fill_value=0)
        if previous is not None
        else pd.Series(0, index=table.index)
    )
    table["previous"] = prev.astype(np.int64)
    table["change"] = table["count"] - table["previous"]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["change_pct"] = np.where(
            table["previous"] > 0,
            100.0 * table["change"] / table["previous"].where(table["previous"] > 0),
            np.nan,
        )
    table["in_qpv"] = table["qpv_code"].notna() & (table["qpv_code"] != "")
    return table


def rank_residences(table: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """Return the résidences with the most facts, the rate breaking ties.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`residence_table`.
    top : int
        How many to keep; résidences without facts are never listed.

    Returns
    -------
    pandas.DataFrame
        At most ``top`` rows with a ``rank`` column (1 = most facts).
    """
    ranked = table[table["count"] > 0].sort_values(
        ["count", "rate", "id"], ascending=[False, False, True], na_position="last"
    )
    ranked = ranked.head(top).copy()
    ranked["rank"] = np.arange(1, len(ranked) + 1)
    return ranked


def qpv_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """Return facts, logements and rates inside QPV, outside, and in total.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`residence_table`.

    Returns
    -------
    pandas.DataFrame
        Rows ``qpv``, ``hors_qpv``, ``total``; columns ``residences``, ``logements``,
        ``count``, ``share`` (percent of the facts), ``logements_share`` (percent of
        the logements) and ``rate`` (facts per 100 logements).
    """
    groups = {
        "qpv": table[table["in_qpv"]],
        "hors_qpv": table[~table["in_qpv"]],
        "total": table,
    }
    total_count = int(table["count"].sum())
    total_logements = int(table["logements"].sum())
    rows = {}
    for key, part in groups.items():
        count = int(part["count"].sum())
        logements = int(part["logements"].sum())
        rows[key] = {
            "residences": len(part),
            "logements": logements,
            "count": count,
            "share": 100.0 * count / total_count if total_count else math.nan,
            "logements_share": (
                100.0 * logements / total_logements if total_logements else math.nan
            ),
            "rate": float(rate_per_100(count, logements)),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def class_breaks(values, classes: int = 5) -> list[float]:
    """Return upper bounds of ``classes`` quantile classes of the positive values.

    Parameters
    ----------
    values : array-like
        Values to classify (NaN and values ≤ 0 are ignored).
    classes : int
        Number of classes wanted; fewer when values repeat.

    Returns
    -------
    list of float
        Increasing upper bounds, rounded to two significant digits (the last one
        is the maximum, kept exact so that it covers every value).
    """
    array = np.asarray(values, dtype=float)
    array = array[np.isfinite(array) & (array > 0)]
    if array.size == 0:
        return []
    quantiles = np.quantile(array, np.linspace(0, 1, classes + 1)[1:-1])
    rounded = [_round_significant(q) for q in quantiles]
    breaks = sorted({b for b in rounded if 0 < b < array.max()})
    return [*breaks, float(array.max())]


def classify(values, breaks: list[float]) -> np.ndarray:
    """Return the class (0-based) of each value for :func:`class_breaks`' bounds.

    Parameters
    ----------
    values : array-like
        Values to classify.
    breaks : list of float
        Increasing upper bounds; values above the last one fall in the last class,
        NaN gets -1.
    """
    array = np.asarray(values, dtype=float)
    if not breaks:
        return np.where(np.isfinite(array), 0, -1)
    classes = np.searchsorted(np.asarray(breaks), array, side="left")
    classes = np.minimum(classes, len(breaks) - 1)
    return np.where(np.isfinite(array), classes, -1)


def _round_significant(value: float, digits: int = 2) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def read_facts(connection, query):
    """Load facts into a GeoDataFrame straight from SQL.

    Parameters
    ----------
    connection : sqlalchemy.engine.Connection
        An open connection (or engine).
    query : sqlalchemy.sql.Select
        A select already carrying every filter (period, perimeter...) and returning
        ``latitude`` and ``longitude`` columns among others. Nothing is filtered in
        Python: the query decides how many rows come back.

    Returns
    -------
    geopandas.GeoDataFrame
        One point per fact in EPSG:4326, with the query's other columns.
    """
    import geopandas as gpd

    frame = pd.read_sql(query, connection)
    geometry = gpd.points_from_xy(frame["longitude"], frame["latitude"])
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")
