"""Near-repeat analysis: a multi-band Knox test, as in the Near Repeat Calculator.

Do facts follow one another close in space *and* time more often than chance says?
Every pair of facts closer than the largest distance band is put in a cell
(distance band x time band) and counted. The null hypothesis is « no space-time
interaction »: the places and the dates are each what they are, but which date goes
with which place is random. So the dates are permuted among the facts (Monte Carlo,
999 times, seeded) and the pairs counted again (Ratcliffe's Near Repeat Calculator;
Knox 1964; Johnson et al. 2007):

- ``observed``: pairs in the cell;
- ``expected``: mean count of the cell over the permutations (as the Calculator);
  ``expected_exact`` is its limit, NS(a) x NT(b) / (n (n - 1) / 2), where NS(a) is
  the number of pairs in distance band a and NT(b) that of all pairs in time band b
  (under a permutation every close-in-space pair gets the dates of a random pair);
- ``ratio`` = observed / expected (the Calculator's « Knox ratio »);
- ``p_value`` = (1 + number of permutations with a count >= observed) / (1 + 999),
  one-sided, as pointpats' ``Knox.p_sim``;
- ``q_value``: Benjamini-Hochberg over the cells of the table. A table has 20 cells,
  so about one of them passes p <= 0.05 by chance alone on data without any
  near-repeat: ``significant`` is q <= alpha by default (``correction=None`` gives
  the Calculator's raw p <= alpha).

Bands are closed on the right: « same place » is a distance of 0 m, then
(0, 100], (100, 200] … metres, and [0, 7], (7, 14] … days (for whole days:
0-7, 8-14, 15-21, 22-28 days). Pairs beyond the last bands are not counted.

Only the pairs within the largest distance are ever formed
(``scipy.spatial.cKDTree.query_pairs``), never an n x n matrix; the permutations
are applied to those pairs only, in vectorised batches.

Pure computation (numpy, pandas, scipy; pyproj for lon/lat): no Flask, no SQLAlchemy.
Places only, never people. Method and figures: docs/early-warning.md, « Near-repeat ».
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

logger = logging.getLogger(__name__)

DISTANCE_BANDS = (0.0, 100.0, 200.0, 300.0, 400.0)
TIME_BANDS = (7.0, 14.0, 21.0, 28.0)
LAMBERT93 = "EPSG:2154"
# Largest (permutations x pairs) block held at once: 8 MB per float64 array (a
# larger block was no faster and held four times the memory).
_BLOCK = 1_000_000


@dataclass(frozen=True)
class NearRepeatParams:
    """Bands (upper limits, metres and days), permutations, seed and threshold."""

    distance_bands: Sequence[float] = DISTANCE_BANDS
    time_bands: Sequence[float] = TIME_BANDS
    permutations: int = 999
    seed: int = 20261207
    alpha: float = 0.05
    # "bh": Benjamini-Hochberg over the table's cells; None: raw p-values.
    correction: str | None = "bh"


@dataclass
class NearRepeatResult:
    """One Knox table: a row per cell (distance band x time band), in band order."""

    table: pd.DataFrame
    n_events: int
    n_pairs: int
    params: NearRepeatParams
    sim: np.ndarray = field(repr=False)

    def significant(self) -> pd.DataFrame:
        """The cells with more pairs than chance explains, strongest ratio first."""
        cells = self.table[self.table["significant"]]
        return cells.sort_values("ratio", ascending=False)

    def matrix(self, column: str = "ratio") -> pd.DataFrame:
        """One column of the table as distance bands (rows) x time bands (columns)."""
        return self.table.pivot(index="distance", columns="time", values=column).loc[
            self.table["distance"].unique(), self.table["time"].unique()
        ]

    def sentences(self) -> list[str]:
        """The significant cells in French words, strongest first."""
        return [
            f"{row.distance}, {row.time} : {row.observed} paires observées pour "
            f"{_fr(row.expected)} attendues par hasard (× {_fr(row.ratio)}, "
            f"p = {_fr(row.p_value, 3)}, q = {_fr(row.q_value, 3)})"
            for row in self.significant().itertuples()
        ]


def _fr(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


def band_labels(distance_bands: Sequence[float], time_bands: Sequence[float]):
    """French labels of the bands: « même lieu », « 1 à 100 m », « 0 à 7 jours »."""
    distances, low = [], None
    for edge in distance_bands:
        if edge == 0:
            distances.append("même lieu")
        elif low is None:
            distances.append(f"0 à {edge:g} m")
        else:
            distances.append(f"{low + 1:g} à {edge:g} m")
        low = edge
    times, low = [], None
    for edge in time_bands:
        times.append(
            f"0 à {edge:g} jours" if low is None else f"{low + 1:g} à {edge:g} jours"
        )
        low = edge
    return distances, times


def project_lonlat(lon, lat, crs: str = LAMBERT93) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude (WGS 84) to metres in a projected CRS (Lambert-93 default)."""
    from pyproj import Transformer

    lon, lat = _column(lon, "lon"), _column(lat, "lat")
    transformer = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = transformer.transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def knox(
    x, y, days, params: NearRepeatParams = NearRepeatParams(), rng=None
) -> NearRepeatResult:
    """Multi-band Knox test of the events at (x, y) metres on ``days``.

    Parameters
    ----------
    x, y : array-like
        Coordinates in metres, in a projected CRS (see :func:`project_lonlat`).
    days : array-like
        Time of each event in days (e.g. days since an origin; fractions allowed).
    params : NearRepeatParams
    rng : numpy.random.Generator or numpy.random.RandomState, optional
        Source of the permutations (default: ``default_rng(params.seed)``); each
        permutation is drawn by ``rng.permutation(n)``, in order.

    Returns
    -------
    NearRepeatResult

    Raises
    ------
    ValueError
        Fewer than two events, lengths that differ, a missing or infinite value,
        bands not increasing or negative, fewer than one permutation, an unknown
        correction or an alpha outside (0, 1).
    """
    x, y, t = _column(x, "x"), _column(y, "y"), _column(days, "days")
    if not len(x) == len(y) == len(t):
        raise ValueError("x, y and days must have the same length")
    if len(t) < 2:
        raise ValueError("the Knox test needs at least two events (pairs of facts)")
    d_edges = _edges(params.distance_bands, "distance_bands")
    t_edges = _edges(params.time_bands, "time_bands")
    if int(params.permutations) < 1:
        raise ValueError("permutations must be at least 1")
    if params.correction not in ("bh", None) or not 0 < params.alpha < 1:
        raise ValueError("correction must be 'bh' or None, alpha between 0 and 1")
    rng = np.random.default_rng(params.seed) if rng is None else rng

    i, j, d_band = _close_pairs(np.column_stack([x, y]), d_edges)
    observed = _counts(t[i], t[j], d_band, len(d_edges), t_edges)
    sim = _permuted_counts(
        t, (i, j, d_band), len(d_edges), t_edges, int(params.permutations), rng
    )
    exact = _exact_expected(t, d_band, len(d_edges), t_edges)
    table = _table(observed, sim, exact, d_edges, t_edges, params)
    logger.debug("Knox: %d events, %d close pairs", len(t), len(i))
    return NearRepeatResult(table, len(t), len(i), params, sim)


def knox_by_category(
    x, y, days, categories, params: NearRepeatParams = NearRepeatParams()
) -> dict[Hashable, NearRepeatResult]:
    """One Knox table per category with at least two events (same seed for each)."""
    categories = np.asarray(categories)
    x, y, t = np.asarray(x), np.asarray(y), np.asarray(days)
    if not len(categories) == len(x):
        raise ValueError("categories must have one value per event")
    results = {}
    for category in pd.unique(categories):
        mask = categories == category
        if mask.sum() >= 2:
            results[category] = knox(x[mask], y[mask], t[mask], params)
    return results


def _column(values, name: str) -> np.ndarray:
    """A 1-D float array of finite values, or a ValueError naming ``name``."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: numbers expected ({error})") from None
    if array.ndim == 2 and 1 in array.shape:
        array = array.ravel()
    if array.ndim != 1:
        raise ValueError(f"{name}: one value per event expected")
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: a value is missing or infinite (NaN)")
    return array


def _edges(bands: Sequence[float], name: str) -> np.ndarray:
    edges = _column(bands, name)
    if len(edges) == 0 or edges[0] < 0 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"{name}: non-negative, strictly increasing limits expected")
    return edges


def _close_pairs(points: np.ndarray, d_edges: np.ndarray):
    """Pairs within the last distance band, and each pair's band."""
    pairs = cKDTree(points).query_pairs(r=d_edges[-1], output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    distance = np.hypot(*(points[i] - points[j]).T)
    band = np.searchsorted(d_edges, distance, side="left")
    # query_pairs and hypot may disagree by a rounding error at the last edge.
    keep = band < len(d_edges)
    return i[keep], j[keep], band[keep]


def _counts(ti, tj, d_band, n_d: int, t_edges: np.ndarray) -> np.ndarray:
    """Pairs per cell (pairs beyond the time bands go to a dropped extra slot)."""
    t_band = np.searchsorted(t_edges, np.abs(ti - tj), side="left")
    width = len(t_edges) + 1
    cells = np.bincount(d_band * width + t_band, minlength=n_d * width)
    return cells.reshape(-1, width)[:, :-1].ravel()


def _permuted_counts(t, pairs, n_d: int, t_edges, permutations: int, rng):
    """Cell counts (permutations x cells), the dates shuffled among the events."""
    i, j, d_band = pairs
    n_t = len(t_edges)
    width = n_t + 1
    t, band_of = _time_bander(t, t_edges)
    sim = np.zeros((permutations, n_d, n_t), dtype=np.int64)
    cell = d_band * width
    block = max(1, _BLOCK // max(len(i), 1))
    for start in range(0, permutations, block):
        stop = min(start + block, permutations)
        shuffled = t[np.stack([rng.permutation(len(t)) for _ in range(start, stop)])]
        t_band = band_of(np.abs(shuffled[:, i] - shuffled[:, j]))
        offset = (np.arange(stop - start) * n_d * width)[:, None]
        counts = np.bincount(
            (offset + cell + t_band).ravel(), minlength=(stop - start) * n_d * width
        )
        sim[start:stop] = counts.reshape(stop - start, n_d, width)[:, :, :n_t]
    return sim.reshape(permutations, -1)


def _time_bander(t: np.ndarray, t_edges: np.ndarray):
    """Times to permute, and the function giving the time band of their gaps.

    Whole days (the usual case) are shifted to small integers and banded by a lookup
    table, three times faster than a search over the edges for each pair.
    """
    span = t.max() - t.min()
    if np.all(t == np.round(t)) and span <= 1_000_000:
        lookup = np.searchsorted(t_edges, np.arange(span + 1), side="left")
        return (t - t.min()).astype(np.int32), lookup.__getitem__
    return t, lambda gaps: np.searchsorted(t_edges, gaps, side="left")


def _exact_expected(t, d_band, n_d: int, t_edges: np.ndarray) -> np.ndarray:
    """Mean cell counts over all permutations: NS(a) NT(b) / (n (n - 1) / 2)."""
    n = len(t)
    ordered = np.sort(t)
    # Pairs of all events with |dt| <= edge, then per band by difference.
    within = np.array(
        [
            (
                np.searchsorted(ordered, ordered + edge, side="right")
                - np.arange(1, n + 1)
            ).sum()
            for edge in t_edges
        ],
        dtype=float,
    )
    nt = np.diff(np.concatenate([[0.0], within]))
    ns = np.bincount(d_band, minlength=n_d).astype(float)
    return (np.outer(ns, nt) / (n * (n - 1) / 2)).ravel()


def _table(observed, sim, exact, d_edges, t_edges, params) -> pd.DataFrame:
    n_t = len(t_edges)
    expected = sim.mean(axis=0)
    p_value = (1 + (sim >= observed).sum(axis=0)) / (1 + len(sim))
    d_labels, t_labels = band_labels(d_edges, t_edges)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, observed / expected, np.nan)
    q_value = _benjamini_hochberg(p_value)
    decisive = q_value if params.correction == "bh" else p_value
    return pd.DataFrame(
        {
            "distance": np.repeat(d_labels, n_t),
            "time": np.tile(t_labels, len(d_edges)),
            "observed": observed.astype(int),
            "expected": expected,
            "expected_exact": exact,
            "ratio": ratio,
            "p_value": p_value,
            "q_value": q_value,
            "significant": decisive <= params.alpha,
        }
    )


def _benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q), in the order given."""
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty_like(q)
    out[order] = np.minimum(q, 1.0)
    return out
