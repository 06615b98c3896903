"""Statistical hotspots: Getis-Ord Gi* on the H3 grid, with a false discovery rate.

Why not PySAL's esda here: it pays 16–21 s of numba compilation in every new process
(each web worker) before its first answer; the statistic itself is a sparse
matrix-vector product. This implementation is checked against esda's
``G_Local(star=True, transform="B")`` in ``tests/test_geo_hotspots.py``.

Method (Ord & Getis 1995), for counts ``x`` over the ``n`` cells of a study area and
binary weights ``w_ij`` = 1 when cell j is i itself or one of its six neighbours:

    z_i = (Σ_j w_ij x_j − x̄ W_i) / (s √((n S1_i − W_i²) / (n − 1)))

with ``W_i = Σ_j w_ij``, ``S1_i = Σ_j w_ij²``, ``x̄`` the mean and ``s`` the population
standard deviation of ``x``. Its p-values come from the exact distribution of a
neighbourhood's sum under Gi*'s own null hypothesis (counts drawn at random from the
study area's), not from the normal approximation, which calls far too many small,
skewed street-level counts hot (:func:`randomisation_p_values`). Two-sided p-values
are then corrected for testing every cell at once with Benjamini–Hochberg: among the
cells called significant at level q, the expected share of false ones is at most q.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

import h3.api.basic_int as h3i
import numpy as np

from orfi.geo.hexagons import FINEST_RESOLUTION, cell_parents, grid_disk_cells

logger = logging.getLogger(__name__)

#: Default false discovery rate: 5 % of the cells called hot or cold may be chance.
DEFAULT_FDR = 0.05
#: Rings of cells around each résidence's own cell that belong to the study area, per
#: resolution: at street-block scale (r9, ~350 m across) the abords, car parks and
#: neighbouring blocks of a résidence spill over the next two rings (~500 m), at r8
#: over the next one; a district cell (r7) already contains them.
STUDY_RING = {9: 2, 8: 1}

HOT, COLD, NOT_SIGNIFICANT = 1, -1, 0
#: Largest count the exact p-values convolve without rescaling (see below).
MAX_LEVELS = 4096


@dataclass(frozen=True)
class HotspotResult:
    """Gi* over a study area: one entry per cell, aligned arrays."""

    cells: np.ndarray  # int64 H3 cells of the study area, sorted
    counts: np.ndarray  # int64 facts per cell
    z: np.ndarray  # Gi* z-scores (0 where undefined)
    p: np.ndarray  # two-sided p-values (exact under random allocation)
    kind: np.ndarray  # HOT, COLD or NOT_SIGNIFICANT after the FDR correction
    fdr: float
    neighbours: int  # k of the k-ring used as the neighbourhood

    @property
    def hot(self) -> np.ndarray:
        """Cells flagged as hot spots."""
        return self.cells[self.kind == HOT]

    @property
    def cold(self) -> np.ndarray:
        """Cells flagged as cold spots."""
        return self.cells[self.kind == COLD]


def study_area(
    residence_cells: np.ndarray,
    fact_cells: np.ndarray,
    resolution: int,
    *,
    ring: int | None = None,
) -> np.ndarray:
    """Return the cells on which hotspots are tested.

    The patrimoine's cells (those holding a résidence, plus ``ring`` steps around them)
    and any other cell holding a fact. Testing over a whole bounding box instead would
    compare the patrimoine with empty fields and rivers, and flag the patrimoine's edge
    cells as false cold spots.

    Parameters
    ----------
    residence_cells : numpy.ndarray
        Cells of the résidences' positions at any resolution ≥ ``resolution``.
    fact_cells : numpy.ndarray
        Cells holding at least one fact, at any resolution ≥ ``resolution``.
    resolution : int
        Resolution of the grid tested.
    ring : int, optional
        Steps around résidence cells; default :data:`STUDY_RING` for the resolution.

    Returns
    -------
    numpy.ndarray
        Sorted unique int64 cells at ``resolution``.
    """
    ring = STUDY_RING.get(resolution, 0) if ring is None else ring
    residence_cells = np.asarray(residence_cells, dtype=np.int64)
    fact_cells = np.asarray(fact_cells, dtype=np.int64)
    patrimoine = grid_disk_cells(cell_parents(residence_cells, resolution), ring)
    facts = cell_parents(fact_cells, resolution) if fact_cells.size else fact_cells
    return np.union1d(patrimoine, facts).astype(np.int64)


def neighbour_weights(cells: np.ndarray, k: int = 1, *, include_self: bool = True):
    """Return binary k-ring weights between ``cells`` as a sparse matrix.

    Parameters
    ----------
    cells : numpy.ndarray
        Sorted unique H3 cells (int64) at one resolution: the study area.
    k : int
        Grid distance of neighbours (1: the six adjacent hexagons).
    include_self : bool
        Put 1 on the diagonal (Gi*, the "star" variant) or 0 (Gi).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``w[i, j] = 1`` when cell j lies within ``k`` steps of cell i and both are in
        the study area. One h3 call per cell, never per fact.
    """
    from scipy import sparse

    cells = np.asarray(cells, dtype=np.int64)
    n = cells.size
    disks = [h3i.grid_disk(cell, k) for cell in cells.tolist()]
    rows = np.repeat(np.arange(n), [len(disk) for disk in disks])
    flat = np.fromiter(itertools.chain.from_iterable(disks), dtype=np.int64)
    positions = np.clip(np.searchsorted(cells, flat), 0, max(n - 1, 0))
    keep = cells[positions] == flat if n else np.zeros(0, dtype=bool)
    if not include_self:
        keep &= positions != rows
    rows, cols = rows[keep], positions[keep]
    data = np.ones(rows.size, dtype=float)
    return sparse.csr_matrix((data, (rows, cols)), shape=(n, n))


def getis_ord_gi_star(values: np.ndarray, weights) -> np.ndarray:
    """Return the Getis-Ord Gi* z-score of each cell.

    Parameters
    ----------
    values : numpy.ndarray
        The variable (here: facts per cell) over the whole study area.
    weights : scipy.sparse matrix
        Spatial weights with the self-weight on the diagonal (see
        :func:`neighbour_weights`); not row-standardised.

    Returns
    -------
    numpy.ndarray
        z-scores; 0 for every cell when the values do not vary (nothing to detect) or
        when a cell's neighbourhood is the whole study area.
    """
    x = np.asarray(values, dtype=float)
    n = x.size
    if n < 3:
        return np.zeros(n)
    mean = x.mean()
    std = x.std()  # population standard deviation, as in Getis & Ord
    if std == 0:
        return np.zeros(n)
    w_sum = np.asarray(weights.sum(axis=1)).ravel()
    w_sq = np.asarray(weights.multiply(weights).sum(axis=1)).ravel()
    local = weights @ x
    spread = (n * w_sq - w_sum**2) / (n - 1)
    z = np.zeros(n)
    ok = spread > 0
    z[ok] = (local[ok] - mean * w_sum[ok]) / (std * np.sqrt(spread[ok]))
    return z


def randomisation_p_values(
    values: np.ndarray, weights
) -> tuple[np.ndarray, np.ndarray]:
    """Return each cell's one-sided Gi* p-values, exact under random allocation.

    Gi*'s null hypothesis (Getis & Ord): the counts of the ``W_i`` cells of a
    neighbourhood are drawn at random from the counts of the study area. Its z-score
    approximates the distribution of their sum by a normal one, which is far off for
    the small and skewed counts of fine cells: on spatially uniform data the normal
    tail then calls too many cells hot, even after the FDR correction. Here the
    distribution of a sum of ``W_i`` counts drawn from the observed ones is computed
    exactly, as the ``W_i``-fold convolution of their frequency distribution (one FFT
    per neighbourhood size; draws with replacement, slightly conservative). Counts
    above :data:`MAX_LEVELS` are first divided by a common step so that the FFT stays
    small whatever the number of facts (sums then err by less than one step per cell).

    Parameters
    ----------
    values : numpy.ndarray
        Non-negative integer counts over the study area.
    weights : scipy.sparse matrix
        Binary weights with the self-weight on the diagonal (Gi*).

    Returns
    -------
    tuple of numpy.ndarray
        ``p_high``: probability of a neighbourhood sum at least the observed one;
        ``p_low``: at most the observed one.
    """
    from scipy import fft

    x = np.asarray(values)
    if x.size and (x.min() < 0 or not np.all(np.mod(x, 1) == 0)):
        raise ValueError("Randomisation p-values need non-negative integer counts.")
    x = x.astype(np.int64)
    n = x.size
    p_high, p_low = np.ones(n), np.ones(n)
    if n < 3 or x.max(initial=0) == 0:
        return p_high, p_low
    step = -(-int(x.max()) // MAX_LEVELS)
    if step > 1:
        x = np.rint(x / step).astype(np.int64)
    k = np.rint(np.asarray(weights.sum(axis=1)).ravel()).astype(np.int64)
    observed = np.rint(np.asarray(weights @ x).ravel()).astype(np.int64)
    frequencies = np.bincount(x) / n
    k_max = int(k.max(initial=0))
    size = fft.next_fast_len(k_max * (frequencies.size - 1) + 1, real=True)
    spectrum = fft.rfft(frequencies, size)
    for draws in np.unique(k):
        if draws == 0:
            continue
        cells = k == draws
        pmf = np.clip(fft.irfft(spectrum**draws, size), 0.0, None)
        cdf = np.cumsum(pmf)
        cdf /= cdf[-1]
        sums = observed[cells]
        below = np.where(sums > 0, cdf[np.maximum(sums - 1, 0)], 0.0)
        p_high[cells] = np.clip(1.0 - below, 0.0, 1.0)
        p_low[cells] = np.clip(cdf[sums], 0.0, 1.0)
    return p_high, p_low


def benjamini_hochberg(p: np.ndarray, q: float = DEFAULT_FDR) -> np.ndarray:
    """Return which tests are significant at false discovery rate ``q``.

    Parameters
    ----------
    p : numpy.ndarray
        p-values of all the tests made together.
    q : float
        False discovery rate (0 < q < 1).

    Returns
    -------
    numpy.ndarray
        Boolean mask: the ``k`` smallest p-values, for the largest ``k`` with
        ``p_(k) ≤ k q / m`` (Benjamini & Hochberg 1995).
    """
    if not 0 < q < 1:
        raise ValueError(f"The false discovery rate must be in (0, 1), got {q}.")
    p = np.asarray(p, dtype=float)
    m = p.size
    significant = np.zeros(m, dtype=bool)
    if m == 0:
        return significant
    order = np.argsort(p, kind="stable")
    thresholds = q * np.arange(1, m + 1) / m
    below = np.nonzero(p[order] <= thresholds)[0]
    if below.size:
        significant[order[: below[-1] + 1]] = True
    return significant


def find_hotspots(
    cells: np.ndarray,
    counts: np.ndarray,
    area: np.ndarray,
    *,
    k: int = 1,
    fdr: float = DEFAULT_FDR,
) -> HotspotResult:
    """Test every cell of a study area for hot and cold spots (Gi*, FDR-corrected).

    Parameters
    ----------
    cells : numpy.ndarray
        Cells holding facts (int64), at the resolution of ``area``.
    counts : numpy.ndarray
        Facts per cell, aligned with ``cells``.
    area : numpy.ndarray
        The study area (see :func:`study_area`); cells with facts outside it are
        ignored, cells of it without facts count 0.
    k : int
        Neighbourhood: the k-ring around each cell.
    fdr : float
        False discovery rate of the Benjamini–Hochberg correction.

    Returns
    -------
    HotspotResult
        z, p and the hot / cold / not significant class of each cell of the area.
    """
    area = np.unique(np.asarray(area, dtype=np.int64))
    values = np.zeros(area.size, dtype=np.int64)
    cells = np.asarray(cells, dtype=np.int64)
    if area.size and cells.size:
        positions = np.searchsorted(area, cells)
        positions[positions >= area.size] = 0
        inside = area[positions] == cells
        np.add.at(values, positions[inside], np.asarray(counts)[inside])
    weights = neighbour_weights(area, k)
    z = getis_ord_gi_star(values, weights)
    p_high, p_low = randomisation_p_values(values, weights)
    p = np.minimum(1.0, 2.0 * np.minimum(p_high, p_low))
    significant = benjamini_hochberg(p, fdr)
    kind = np.where(significant, np.sign(z), NOT_SIGNIFICANT).astype(np.int8)
    return HotspotResult(
        cells=area, counts=values, z=z, p=p, kind=kind, fdr=fdr, neighbours=k
    )


def residence_cells(latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
    """Return the finest stored H3 cell of each résidence position.

    Parameters
    ----------
    latitudes, longitudes : numpy.ndarray
        Degrees, WGS84. One h3 call per résidence.
    """
    return np.array(
        [
            h3i.latlng_to_cell(float(lat), float(lon), FINEST_RESOLUTION)
            for lat, lon in zip(latitudes, longitudes, strict=True)
        ],
        dtype=np.int64,
    )


# --------------------------------------------------------------------------------------
# Hot résidences: facts per logement, Empirical Bayes, leave-one-out, FDR
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateHotspots:
    """The résidence test (:func:`rate_hotspots`): one entry per unit, aligned."""

    counts: np.ndarray  # int64 facts per unit
    exposure: np.ndarray  # float logements per unit
    expected: np.ndarray  # facts expected from its logements and the others' rate
    smoothed: np.ndarray  # Empirical Bayes facts per logement (Marshall), NaN untested
    p: np.ndarray  # two-sided p-values (1 for untested units)
    kind: np.ndarray  # HOT, COLD or NOT_SIGNIFICANT after the FDR correction
    tested: np.ndarray  # bool: units with logements, among at least three
    fdr: float

    @property
    def hot(self) -> np.ndarray:
        """Positions of the units flagged hot."""
        return np.flatnonzero(self.kind == HOT)

    @property
    def cold(self) -> np.ndarray:
        """Positions of the units flagged cold."""
        return np.flatnonzero(self.kind == COLD)


def empirical_bayes_rates(
    counts: np.ndarray, exposure: np.ndarray
) -> tuple[np.ndarray, float, float]:
    """Return Marshall's global Empirical Bayes rates, the prior's mean and variance.

    Each raw rate ``y_i / e_i`` is pulled toward the overall rate ``b = Σy / Σe`` by
    the weight ``a / (a + b / e_i)``, where ``a`` is the spread of the rates beyond
    what Poisson chance gives (Marshall 1991): a small résidence with 2 facts is
    pulled nearly all the way back, a large one keeps its own rate. ``a`` is floored
    at 0 (then every rate is the overall one). Units need ``e_i > 0``.
    """
    y = np.asarray(counts, dtype=float)
    e = np.asarray(exposure, dtype=float)
    if y.size == 0 or e.sum() <= 0:
        return np.full(y.size, np.nan), 0.0, 0.0
    b = y.sum() / e.sum()
    rates = y / e
    spread = float((e * (rates - b) ** 2).sum() / e.sum())
    a = max(0.0, spread - b / e.mean())
    weight = a / (a + b / e) if a > 0 else np.zeros(y.size)
    return weight * rates + (1.0 - weight) * b, float(b), a


def leave_one_out_priors(
    counts: np.ndarray, exposure: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return, for each unit, the prior rate's mean and variance fitted on the others.

    Marshall's moments (see :func:`empirical_bayes_rates`) over every unit but
    ``i``, in O(n) from the totals: a hot résidence must not widen the spread it is
    judged against, or a single one among quiet neighbours would hide itself.
    """
    y = np.asarray(counts, dtype=float)
    e = np.asarray(exposure, dtype=float)
    others = y.size - 1
    exposure_rest = e.sum() - e
    facts_rest = y.sum() - y
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(exposure_rest > 0, facts_rest / exposure_rest, 0.0)
        squares_rest = (y * y / e).sum() - y * y / e
        spread = np.where(exposure_rest > 0, squares_rest / exposure_rest - b * b, 0.0)
        a = spread - b * others / np.where(exposure_rest > 0, exposure_rest, 1.0)
    return b, np.maximum(a, 0.0)


def rate_tails(
    counts: np.ndarray, exposure: np.ndarray, mean: np.ndarray, variance: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return each unit's P(Y ≥ y) and P(Y ≤ y) under the null hypothesis.

    Where the other units' rates spread more than Poisson chance (``variance`` > 0):
    the unit's rate is drawn from a gamma law of that mean and variance, its count
    from a Poisson law of mean rate × logements, so the count follows a negative
    binomial law of size ``mean² / variance`` and probability
    ``mean / (mean + variance e)``. Where they do not: one rate for all, and given
    the ``T`` facts of all the units, the unit's count is binomial (``T``, its share
    of the logements) — exact, even for the handful of facts of a small bailleur,
    where a rate estimated from the others (0 facts: nothing is possible) is not.
    """
    # scipy.special, not scipy.stats: the latter costs ~1.5 s to import in every new
    # worker. The tails are the regularised incomplete beta function and its
    # complement (P(Y ≥ y) = I_{1-q}(y, size)), exact down to the tiny p-values.
    from scipy import special

    y = np.asarray(counts, dtype=float)
    e = np.asarray(exposure, dtype=float)
    mean = np.asarray(mean, dtype=float)
    variance = np.asarray(variance, dtype=float)
    p_high, p_low = np.ones(y.size), np.ones(y.size)
    if y.size == 0:
        return p_high, p_low
    some = y > 0
    homogeneous = variance <= 0
    total, share = int(y.sum()), e / e.sum()
    p_low[homogeneous] = special.bdtr(y[homogeneous], total, share[homogeneous])
    high = homogeneous & some
    p_high[high] = special.bdtrc(y[high] - 1, total, share[high])
    spread = ~homogeneous
    size = np.ones(y.size)
    probability = np.ones(y.size)
    size[spread] = mean[spread] ** 2 / variance[spread]
    probability[spread] = mean[spread] / (mean[spread] + variance[spread] * e[spread])
    p_low[spread] = special.betainc(size[spread], y[spread] + 1, probability[spread])
    high = spread & some
    p_high[high] = special.betainc(y[high], size[high], 1 - probability[high])
    return np.clip(p_high, 0.0, 1.0), np.clip(p_low, 0.0, 1.0)


def rate_hotspots(
    counts: np.ndarray, exposure: np.ndarray, *, fdr: float = DEFAULT_FDR
) -> RateHotspots:
    """Test each résidence for more (or fewer) facts than its logements predict.

    For résidence ``i``, the rate per logement of the *other* résidences and the
    spread of their rates beyond Poisson chance give a gamma prior (Empirical Bayes,
    method of moments, :func:`leave_one_out_priors`); its count is then compared with
    the negative binomial law this implies for its logements (the binomial share of
    all the facts when the rates do not spread beyond chance, :func:`rate_tails`).
    So a résidence is hot only when it stands out more than résidences usually
    differ from one another, and a small one needs more facts per logement to stand
    out than a large one. Two-sided
    p-values, Benjamini–Hochberg over the units tested. Units without logements are
    not tested (no rate); nor is anything when fewer than three units have logements.

    Parameters
    ----------
    counts : numpy.ndarray
        Non-negative integer facts per unit.
    exposure : numpy.ndarray
        Logements per unit (0: not tested).
    fdr : float
        False discovery rate of the Benjamini–Hochberg correction.
    """
    y = np.asarray(counts)
    if y.size and (y.min() < 0 or not np.all(np.mod(y, 1) == 0)):
        raise ValueError("Rate hotspots need non-negative integer counts.")
    y = y.astype(np.int64)
    e = np.asarray(exposure, dtype=float)
    if e.shape != y.shape:
        raise ValueError("Counts and logements must be aligned.")
    tested = e > 0
    if tested.sum() < 3:
        tested[:] = False
    n = y.size
    expected = np.zeros(n)
    smoothed = np.full(n, np.nan)
    p = np.ones(n)
    kind = np.zeros(n, dtype=np.int8)
    if tested.any():
        yt, et = y[tested], e[tested]
        smoothed[tested] = empirical_bayes_rates(yt, et)[0]
        mean, variance = leave_one_out_priors(yt, et)
        expected[tested] = mean * et
        p_high, p_low = rate_tails(yt, et, mean, variance)
        p[tested] = np.minimum(1.0, 2.0 * np.minimum(p_high, p_low))
        significant = benjamini_hochberg(p[tested], fdr)
        direction = np.where(yt > expected[tested], HOT, COLD)
        kind[tested] = np.where(significant, direction, NOT_SIGNIFICANT)
    return RateHotspots(
        counts=y,
        exposure=e,
        expected=expected,
        smoothed=smoothed,
        p=p,
        kind=kind,
        tested=tested,
        fdr=fdr,
    )
