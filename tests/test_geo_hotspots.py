"""orfi.geo.hotspots: Gi* against esda, the FDR, planted and uniform data.

esda is imported here only (its first use compiles numba code for a while).
"""

from __future__ import annotations

import h3.api.basic_int as h3i
import numpy as np
import pytest
from scipy import stats

from orfi.geo import hotspots as hs

CENTRE = h3i.latlng_to_cell(43.6045, 1.4440, 9)  # Capitole, Toulouse


def disk(k: int, centre: int = CENTRE) -> np.ndarray:
    """A hexagonal study area of radius ``k`` cells, sorted."""
    return np.array(sorted(h3i.grid_disk(centre, k)), dtype=np.int64)


@pytest.fixture(scope="module")
def esda():
    esda = pytest.importorskip("esda")
    pytest.importorskip("libpysal")
    return esda


def esda_weights(area: np.ndarray):
    """The same binary k-ring weights as a libpysal W (esda adds the self-weight)."""
    from libpysal.weights import WSP

    return WSP(hs.neighbour_weights(area, 1, include_self=False)).to_W(
        silence_warnings=True
    )


def test_weights_are_the_six_neighbours_plus_self():
    area = disk(3)
    w = hs.neighbour_weights(area, 1)
    assert (w != w.T).nnz == 0
    assert np.all(w.diagonal() == 1)
    row_sums = np.asarray(w.sum(axis=1)).ravel()
    centre = np.searchsorted(area, CENTRE)
    assert row_sums[centre] == 7
    # Cells on the edge of the study area have fewer neighbours in it.
    assert row_sums.min() == 4
    assert hs.neighbour_weights(area, 1, include_self=False).diagonal().sum() == 0


def test_gi_star_matches_esda(esda):
    rng = np.random.default_rng(7)
    area = disk(6)
    values = rng.poisson(3, area.size) + (rng.random(area.size) < 0.05) * 20
    z = hs.getis_ord_gi_star(values, hs.neighbour_weights(area, 1))
    reference = esda.G_Local(
        values.astype(float),
        esda_weights(area),
        transform="B",
        star=True,
        permutations=0,
    )
    np.testing.assert_allclose(z, reference.Zs, rtol=0, atol=1e-12)


def test_exact_p_values_agree_with_the_normal_ones_where_counts_are_large(esda):
    """With large, light-tailed counts the normal approximation holds: same p-values."""
    rng = np.random.default_rng(11)
    area = disk(8)
    values = rng.poisson(400, area.size)
    w = hs.neighbour_weights(area, 1)
    p_high, p_low = hs.randomisation_p_values(values, w)
    reference = esda.G_Local(
        values.astype(float),
        esda_weights(area),
        transform="B",
        star=True,
        permutations=0,
    )
    one_sided = np.where(reference.Zs > 0, p_high, p_low)
    # Sums of draws with replacement are a little more spread than without: slightly
    # larger (conservative) p-values, never smaller by more than a rounding.
    assert np.all(one_sided >= reference.p_norm - 0.01)
    np.testing.assert_allclose(one_sided, reference.p_norm, atol=0.03)


def test_exact_p_values_match_a_brute_force_randomisation():
    rng = np.random.default_rng(3)
    area = disk(4)
    values = rng.negative_binomial(1, 0.3, area.size)
    w = hs.neighbour_weights(area, 1)
    p_high, _ = hs.randomisation_p_values(values, w)
    sizes = np.asarray(w.sum(axis=1)).ravel().astype(int)
    observed = np.asarray(w @ values).ravel()
    for i in (0, area.size // 2):
        draws = rng.choice(values, size=(200_000, sizes[i]), replace=True).sum(axis=1)
        assert p_high[i] == pytest.approx((draws >= observed[i]).mean(), abs=0.005)


def test_benjamini_hochberg_by_hand_and_against_scipy():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.20])
    # q = 5 %, thresholds k·q/5 = .01 .02 .03 .04 .05; sorted p = .005 .01 .03 .04 .20:
    # the 4th (.04 ≤ .04) is the last below its threshold, so the 4 smallest pass.
    assert hs.benjamini_hochberg(p, 0.05).tolist() == [True, True, True, True, False]
    # q = 3 %: thresholds .006 .012 .018 .024 .03; only .005 and .01 pass.
    assert hs.benjamini_hochberg(p, 0.03).tolist() == [True, False, False, True, False]
    # q = 2 %: .005 > .004 already, nothing passes.
    assert not hs.benjamini_hochberg(p, 0.02).any()
    rng = np.random.default_rng(0)
    many = np.concatenate([rng.random(500), rng.random(20) * 1e-4])
    expected = stats.false_discovery_control(many, method="bh") <= 0.05
    assert hs.benjamini_hochberg(many, 0.05).tolist() == expected.tolist()
    with pytest.raises(ValueError):
        hs.benjamini_hochberg(p, 0)


def test_a_planted_cluster_is_a_hot_spot():
    rng = np.random.default_rng(5)
    area = disk(15)
    values = rng.poisson(2, area.size)
    cluster = np.array(h3i.grid_disk(h3i.grid_disk(CENTRE, 6)[-1], 1), dtype=np.int64)
    values[np.searchsorted(area, cluster)] += 6
    result = hs.find_hotspots(area, values, area)
    assert set(cluster.tolist()) <= set(result.hot.tolist())
    assert result.cold.size == 0
    # Anything else flagged touches the cluster (its neighbourhood holds cluster cells).
    around = set(hs.grid_disk_cells(cluster, 1).tolist())
    assert set(result.hot.tolist()) <= around
    assert result.fdr == hs.DEFAULT_FDR


def test_a_planted_cold_area_is_a_cold_spot():
    rng = np.random.default_rng(8)
    area = disk(15)
    values = rng.poisson(12, area.size)
    empty = np.array(hs.grid_disk_cells([CENTRE], 2), dtype=np.int64)
    values[np.searchsorted(area, empty)] = 0
    result = hs.find_hotspots(area, values, area)
    assert CENTRE in result.cold
    assert result.hot.size == 0


@pytest.mark.parametrize("mean", [0.5, 2, 20])
def test_spatially_uniform_data_has_no_hot_or_cold_spot(mean):
    """At the stated level (FDR 5 %), chance alone flags nothing, seed after seed."""
    area = disk(12)
    weights = hs.neighbour_weights(area, 1)
    flagged = 0
    for seed in range(30):
        values = np.random.default_rng(seed).poisson(mean, area.size)
        result = hs.find_hotspots(area, values, area)
        flagged += int((result.kind != 0).any())
        assert result.cells.size == area.size
    # BH bounds the chance of any false flag by 5 %: 30 seeds, 0 expected (1 allowed).
    assert flagged <= 1
    # Whereas the normal approximation of the z-score, even FDR-corrected, flags cells
    # at small counts: the reason for the exact p-values.
    if mean < 1:
        naive = 0
        for seed in range(30):
            values = np.random.default_rng(seed).poisson(mean, area.size)
            z = hs.getis_ord_gi_star(values, weights)
            naive += int(hs.benjamini_hochberg(2 * stats.norm.sf(np.abs(z))).any())
        assert naive >= 3


def test_constant_or_tiny_areas_flag_nothing():
    area = disk(2)
    result = hs.find_hotspots(area, np.full(area.size, 4), area)
    assert (result.kind == 0).all()
    assert (result.z == 0).all()
    tiny = area[:2]
    assert (hs.find_hotspots(tiny, np.array([5, 0]), tiny).kind == 0).all()


def test_large_counts_stay_fast_and_exact_enough():
    rng = np.random.default_rng(2)
    area = disk(10)
    values = rng.poisson(50_000, area.size)
    values[0] = 2_000_000
    p_high, p_low = hs.randomisation_p_values(values, hs.neighbour_weights(area, 1))
    assert np.all((p_high >= 0) & (p_high <= 1) & (p_low >= 0) & (p_low <= 1))


def test_study_area_is_the_patrimoine_rings_and_the_cells_with_facts():
    residence = np.array([CENTRE], dtype=np.int64)
    far = h3i.latlng_to_cell(43.70, 1.30, 9)
    area = hs.study_area(residence, np.array([far]), 9)
    # Two rings at r9: 1 + 6 + 12 cells, and the fact's cell far away.
    assert set(h3i.grid_disk(CENTRE, 2)) <= set(area.tolist())
    assert far in area
    assert area.size == 20
    assert area.dtype == np.int64
    # One ring at r8 (7 cells), none at r7; an explicit ring wins.
    assert hs.study_area(residence, np.array([], dtype=np.int64), 8).size == 7
    assert hs.study_area(residence, [], 9, ring=1).size == 7
    assert hs.study_area(residence, [far], 9, ring=0).tolist() == sorted([CENTRE, far])
    fine = np.array(h3i.cell_to_children(CENTRE, 11)[:3], dtype=np.int64)
    assert hs.study_area(fine, fine, 9, ring=0).tolist() == [CENTRE]
    coarse = hs.study_area(residence, np.array([far]), 7)
    assert coarse.tolist() == sorted(
        {h3i.cell_to_parent(CENTRE, 7), h3i.cell_to_parent(far, 7)}
    )


def test_facts_outside_the_study_area_are_ignored():
    area = disk(3)
    outside = h3i.latlng_to_cell(43.70, 1.30, 9)
    cells = np.array([area[0], outside], dtype=np.int64)
    result = hs.find_hotspots(cells, np.array([3, 100]), area)
    assert result.counts.sum() == 3


# ------------------------------------------- exact values against independent loops


def line_of_three() -> np.ndarray:
    """Three cells in a row: the middle one touches both ends, which do not touch."""
    ring = h3i.grid_ring(CENTRE, 1)
    ends = [ring[0]] + [c for c in ring if not h3i.are_neighbor_cells(ring[0], c)]
    a, b = ends[0], next(c for c in ends[1:] if h3i.grid_distance(ends[0], c) == 2)
    return np.array(sorted([a, CENTRE, b]), dtype=np.int64)


def ring_weights(area: np.ndarray, k: int) -> list[list[int]]:
    """For each cell, the positions of the cells of the area within ``k`` steps."""
    index = {int(c): i for i, c in enumerate(area)}
    return [
        [index[c] for c in h3i.grid_disk(int(cell), k) if c in index] for cell in area
    ]


def gi_star_loop(area: np.ndarray, values, k: int = 1) -> list[float]:
    """Getis-Ord Gi* written out cell by cell (Ord & Getis 1995, binary weights)."""
    x = [float(v) for v in values]
    n = len(x)
    mean = sum(x) / n
    s = (sum(v * v for v in x) / n - mean**2) ** 0.5
    z = []
    for neighbours in ring_weights(area, k):
        w = len(neighbours)
        spread = (n * w - w * w) / (n - 1)
        local = sum(x[j] for j in neighbours)
        z.append((local - mean * w) / (s * spread**0.5) if spread > 0 else 0.0)
    return z


def sum_distribution(values, draws: int) -> dict[int, float]:
    """Distribution of the sum of ``draws`` counts drawn with replacement, by loop."""
    n = len(values)
    distribution = {0: 1.0}
    for _ in range(draws):
        following: dict[int, float] = {}
        for total, p in distribution.items():
            for v in values:
                following[total + int(v)] = following.get(total + int(v), 0.0) + p / n
        distribution = following
    return distribution


def exact_tails(area: np.ndarray, values, k: int = 1) -> tuple[list, list]:
    """P(sum ≥ observed) and P(sum ≤ observed) of each cell, by enumeration."""
    high, low = [], []
    by_size: dict[int, dict[int, float]] = {}
    for neighbours in ring_weights(area, k):
        observed = sum(int(values[j]) for j in neighbours)
        size = len(neighbours)
        if size not in by_size:
            by_size[size] = sum_distribution(values, size)
        distribution = by_size[size]
        high.append(sum(p for s, p in distribution.items() if s >= observed))
        low.append(sum(p for s, p in distribution.items() if s <= observed))
    return high, low


SPARSE = {  # positions in disk(2) (19 cells) -> facts; every other cell is empty
    0: 1,
    4: 3,
    9: 1,
    13: 6,
}


def sparse_values(area: np.ndarray) -> np.ndarray:
    values = np.zeros(area.size, dtype=np.int64)
    for position, count in SPARSE.items():
        values[position] = count
    return values


def test_p_values_of_sparse_data_match_an_exact_enumeration():
    area = disk(2)
    values = sparse_values(area)
    p_high, p_low = hs.randomisation_p_values(values, hs.neighbour_weights(area, 1))
    high, low = exact_tails(area, values)
    np.testing.assert_allclose(p_high, high, rtol=0, atol=1e-12)
    np.testing.assert_allclose(p_low, low, rtol=0, atol=1e-12)


def test_empty_cells_of_sparse_data_are_not_cold_spots():
    """Most cells are empty: an empty neighbourhood is the likeliest, not a cold one."""
    area = disk(4)
    values = np.zeros(area.size, dtype=np.int64)
    values[[3, 17, 40]] = [2, 1, 4]
    result = hs.find_hotspots(area, values, area, fdr=0.5)
    assert result.cold.size == 0
    high, low = exact_tails(area, values)
    expected_p = np.minimum(1.0, 2 * np.minimum(high, low))
    np.testing.assert_allclose(result.p, expected_p, rtol=0, atol=1e-12)
    empty = [i for i, ns in enumerate(ring_weights(area, 1)) if not values[ns].any()]
    assert empty and all(result.p[i] == 1.0 for i in empty)


def test_binary_counts_and_an_isolated_cell_get_exact_p_values():
    far = h3i.latlng_to_cell(43.70, 1.30, 9)  # no neighbour in the area
    area = np.array(sorted([*disk(1).tolist(), far]), dtype=np.int64)
    values = np.array([1, 0, 0, 1, 0, 0, 0, 1])
    values[np.searchsorted(area, far)] = 1
    p_high, p_low = hs.randomisation_p_values(values, hs.neighbour_weights(area, 1))
    high, low = exact_tails(area, values)
    np.testing.assert_allclose(p_high, high, rtol=0, atol=1e-12)
    np.testing.assert_allclose(p_low, low, rtol=0, atol=1e-12)
    # Alone, a cell of 1 is at least as high as a draw with the share of ones.
    assert p_high[np.searchsorted(area, far)] == pytest.approx(values.mean())


def test_cells_without_neighbours_in_gi_weights_keep_p_one():
    """Gi weights (no self-weight): a cell alone has no neighbourhood to test."""
    far = h3i.latlng_to_cell(43.70, 1.30, 9)
    area = np.array(sorted([*disk(1).tolist(), far]), dtype=np.int64)
    values = np.array([3, 0, 1, 0, 2, 0, 5, 0])
    weights = hs.neighbour_weights(area, 1, include_self=False)
    p_high, p_low = hs.randomisation_p_values(values, weights)
    alone = np.searchsorted(area, far)
    assert (p_high[alone], p_low[alone]) == (1.0, 1.0)
    others = [i for i in range(area.size) if i != alone]
    assert (p_high[others] < 1).any()


def test_three_cells_in_a_row_are_tested():
    area = line_of_three()
    values = np.array([0, 1, 6])
    weights = hs.neighbour_weights(area, 1)
    assert np.asarray(weights.sum(axis=1)).ravel().tolist() in ([2, 3, 2], [2, 2, 3])
    z = hs.getis_ord_gi_star(values, weights)
    np.testing.assert_allclose(z, gi_star_loop(area, values), rtol=0, atol=1e-12)
    assert np.abs(z).max() > 0
    p_high, p_low = hs.randomisation_p_values(values, weights)
    high, low = exact_tails(area, values)
    np.testing.assert_allclose(p_high, high, rtol=0, atol=1e-12)
    np.testing.assert_allclose(p_low, low, rtol=0, atol=1e-12)
    assert (p_high < 1).any()


def test_two_cells_are_too_few():
    pair = disk(1)[:2]
    values = np.array([0, 7])
    weights = hs.neighbour_weights(pair, 1)
    assert hs.getis_ord_gi_star(values, weights).tolist() == [0.0, 0.0]
    p_high, p_low = hs.randomisation_p_values(values, weights)
    assert p_high.tolist() == [1.0, 1.0] and p_low.tolist() == [1.0, 1.0]


def test_z_is_zero_where_a_neighbourhood_is_the_whole_study_area():
    area = disk(1)  # the centre's ring 1 is the whole area
    values = np.array([0, 4, 1, 0, 2, 0, 9])
    z = hs.getis_ord_gi_star(values, hs.neighbour_weights(area, 1))
    assert np.isfinite(z).all()
    assert z[np.searchsorted(area, CENTRE)] == 0.0
    np.testing.assert_allclose(z, gi_star_loop(area, values), rtol=0, atol=1e-12)
    everywhere = hs.getis_ord_gi_star(values, hs.neighbour_weights(area, 2))
    assert everywhere.tolist() == [0.0] * 7


def test_find_hotspots_reports_exact_z_p_and_classes_with_two_rings():
    rng = np.random.default_rng(4)
    area = disk(4)
    values = rng.poisson(1, area.size)
    values[np.searchsorted(area, h3i.grid_disk(CENTRE, 1))] += 4
    result = hs.find_hotspots(area, values, area, k=2, fdr=0.3)
    assert result.neighbours == 2 and result.fdr == 0.3
    assert result.counts.dtype == np.int64 and result.kind.dtype == np.int8
    assert result.counts.tolist() == values.tolist()
    np.testing.assert_allclose(
        result.z, gi_star_loop(area, values, 2), rtol=0, atol=1e-12
    )
    high, low = exact_tails(area, values, 2)
    p = np.minimum(1.0, 2 * np.minimum(high, low))
    np.testing.assert_allclose(result.p, p, rtol=0, atol=1e-12)
    assert result.p.max() <= 1.0
    significant = stats.false_discovery_control(p, method="bh") <= 0.3
    expected = np.where(significant, np.sign(gi_star_loop(area, values, 2)), 0)
    assert result.kind.tolist() == expected.tolist()
    assert (result.kind != 0).any()


def test_weights_of_two_rings_an_empty_and_a_one_cell_area():
    area = disk(3)
    w = hs.neighbour_weights(area, 2)
    assert np.asarray(w.sum(axis=1)).ravel()[np.searchsorted(area, CENTRE)] == 19
    assert w.dtype == float
    default = np.asarray(hs.neighbour_weights(area).sum(axis=1)).ravel()
    assert default[np.searchsorted(area, CENTRE)] == 7  # one ring by default
    assert hs.neighbour_weights(np.array([], dtype=np.int64)).shape == (0, 0)
    one = hs.neighbour_weights(np.array([CENTRE]))
    assert one.shape == (1, 1) and one.toarray().tolist() == [[1.0]]


def test_facts_outside_a_one_cell_area_or_with_no_area_are_ignored():
    high_cell = max(h3i.grid_disk(CENTRE, 1))
    low_cell = min(h3i.grid_disk(CENTRE, 1))
    one = np.array([low_cell], dtype=np.int64)
    result = hs.find_hotspots([low_cell, high_cell], [2, 5], one)
    assert result.counts.tolist() == [2]
    empty = hs.find_hotspots([low_cell], [2], np.array([], dtype=np.int64))
    assert empty.cells.size == 0 and empty.counts.size == 0


def test_large_counts_keep_the_exact_p_values_of_their_scale():
    """Counts of millions are rescaled before the FFT. The null distribution does not
    depend on the unit: on a scale the rescaling divides exactly (2**19 facts a unit,
    8 units at most), millions of facts give exactly the p-values of their units."""
    area = disk(2)
    units = sparse_values(area) + np.arange(area.size) % 2
    units[2] = 8
    p_high, p_low = hs.randomisation_p_values(
        units * 2**19, hs.neighbour_weights(area, 1)
    )
    high, low = exact_tails(area, units)
    np.testing.assert_allclose(p_high, high, rtol=0, atol=1e-12)
    np.testing.assert_allclose(p_low, low, rtol=0, atol=1e-12)


def test_the_fft_does_not_grow_with_the_counts(monkeypatch):
    """Ten times more facts per cell cost the same transform (the docstring's promise:
    the FFT stays small whatever the number of facts)."""
    from scipy import fft

    lengths = []
    real_rfft = fft.rfft

    def recording_rfft(values, n=None, *args, **kwargs):
        lengths.append(n)
        return real_rfft(values, n, *args, **kwargs)

    monkeypatch.setattr(fft, "rfft", recording_rfft)
    area = disk(2)
    units = sparse_values(area) + 1
    weights = hs.neighbour_weights(area, 1)
    for scale in (10_000, 100_000):
        hs.randomisation_p_values(units * scale, weights)
    assert len(lengths) == 2 and lengths[1] < 2 * lengths[0]


@pytest.mark.parametrize("bad", [[1, -1, 2, 0], [1.5, 0, 2, 1]])
def test_p_values_need_non_negative_integer_counts(bad):
    area = disk(1)[:4]
    message = r"^Randomisation p-values need non-negative integer counts\.$"
    with pytest.raises(ValueError, match=message):
        hs.randomisation_p_values(np.array(bad), hs.neighbour_weights(area, 1))


def test_benjamini_hochberg_edge_cases():
    # A single test: significant when p ≤ q.
    assert hs.benjamini_hochberg(np.array([0.04]), 0.05).tolist() == [True]
    assert hs.benjamini_hochberg(np.array([0.06]), 0.05).tolist() == [False]
    assert hs.benjamini_hochberg(np.array([]), 0.05).tolist() == []
    mask = hs.benjamini_hochberg([0.01, 0.5], 0.05)
    assert mask.dtype == bool and mask.tolist() == [True, False]
    for q in (0, 1, 1.5, -0.1):
        with pytest.raises(ValueError, match="false discovery rate"):
            hs.benjamini_hochberg(np.array([0.01]), q)
    # q just under 1: every p-value under 1 passes.
    assert hs.benjamini_hochberg([0.3, 0.98, 0.6], 0.99).tolist() == [True] * 3


def test_residence_cells_are_the_finest_cells():
    cells = hs.residence_cells(np.array([43.6045, 43.70]), np.array([1.4440, 1.30]))
    assert cells.dtype == np.int64
    assert cells.tolist() == [
        h3i.latlng_to_cell(43.6045, 1.4440, 9),
        h3i.latlng_to_cell(43.70, 1.30, 9),
    ]
    with pytest.raises(ValueError):
        hs.residence_cells(np.array([43.6]), np.array([]))
    none = hs.residence_cells(np.array([]), np.array([]))
    assert none.dtype == np.int64 and none.size == 0


# ------------------------------------------------ hot résidences: rates, EB, FDR


def loo_prior_loop(counts, exposure) -> tuple[list[float], list[float]]:
    """Marshall's moments over every unit but one, written out unit by unit."""
    means, variances = [], []
    for i in range(len(counts)):
        y = [float(v) for j, v in enumerate(counts) if j != i]
        e = [float(v) for j, v in enumerate(exposure) if j != i]
        b = sum(y) / sum(e)
        spread = sum(
            ej * (yj / ej - b) ** 2 for yj, ej in zip(y, e, strict=True)
        ) / sum(e)
        means.append(b)
        variances.append(max(0.0, spread - b / (sum(e) / len(e))))
    return means, variances


def two_sided_loop(counts, exposure) -> list[float]:
    """Each unit's two-sided p-value from scipy's laws, one unit at a time."""
    means, variances = loo_prior_loop(counts, exposure)
    total, logements = sum(counts), sum(exposure)
    p = []
    for y, e, b, a in zip(counts, exposure, means, variances, strict=True):
        if a == 0:
            law = stats.binom(total, e / logements)
        else:
            law = stats.nbinom(b * b / a, b / (b + a * e))
        p.append(min(1.0, 2 * min(law.sf(y - 1), law.cdf(y))))
    return p


def quiet_world(seed: int, n: int = 40, rate: float = 0.05):
    """``n`` résidences of 20–400 logements, facts in proportion to logements."""
    rng = np.random.default_rng(seed)
    logements = rng.integers(20, 400, n).astype(float)
    return rng.poisson(logements * rate), logements


def test_empirical_bayes_rates_match_esda(esda):
    rng = np.random.default_rng(12)
    logements = rng.integers(10, 500, 60).astype(float)
    counts = rng.poisson(logements * 0.1 * rng.gamma(2, 0.5, 60))
    smoothed, mean, variance = hs.empirical_bayes_rates(counts, logements)
    assert variance > 0  # esda does not floor it: compare where both agree
    reference = esda.smoothing.Empirical_Bayes(counts, logements).r.ravel()
    np.testing.assert_allclose(smoothed, reference, rtol=1e-12)
    assert mean == pytest.approx(counts.sum() / logements.sum())
    # Pulled toward the overall rate: never further from it than the raw rate.
    raw = counts / logements
    assert np.all(np.abs(smoothed - mean) <= np.abs(raw - mean) + 1e-15)


def test_empirical_bayes_without_extra_spread_is_the_overall_rate():
    counts = np.array([5, 5, 5, 5])
    logements = np.array([100.0, 100, 100, 100])
    smoothed, mean, variance = hs.empirical_bayes_rates(counts, logements)
    assert variance == 0.0 and mean == 0.05
    assert smoothed.tolist() == [0.05] * 4
    nothing = hs.empirical_bayes_rates(np.array([]), np.array([]))
    assert nothing[0].size == 0 and nothing[1:] == (0.0, 0.0)


def test_leave_one_out_priors_match_a_loop():
    rng = np.random.default_rng(21)
    logements = rng.integers(5, 300, 25).astype(float)
    counts = rng.poisson(logements * 0.2 * rng.gamma(1.5, 1 / 1.5, 25))
    counts[4] += 60
    means, variances = hs.leave_one_out_priors(counts, logements)
    loop_means, loop_variances = loo_prior_loop(counts, logements)
    np.testing.assert_allclose(means, loop_means, rtol=1e-12)
    np.testing.assert_allclose(variances, loop_variances, rtol=1e-9, atol=1e-15)
    assert (variances > 0).any()


@pytest.mark.parametrize("spread", [0.0, 1 / 3])
def test_rate_hotspots_match_scipy_laws_and_bh_unit_by_unit(spread):
    rng = np.random.default_rng(33)
    logements = rng.integers(10, 400, 30).astype(float)
    rates = 0.08 * (rng.gamma(3, 1 / 3, 30) if spread else np.ones(30))
    # Without spread: the quiet units' facts exactly in proportion to their logements.
    counts = rng.poisson(logements * rates) if spread else np.rint(logements * rates)
    counts = counts.astype(np.int64)
    counts[[2, 17]] += [45 if spread else 0, 30]
    counts[9] = 0
    result = hs.rate_hotspots(counts, logements)
    expected_p = two_sided_loop(counts, logements)
    np.testing.assert_allclose(result.p, expected_p, rtol=1e-9, atol=1e-15)
    significant = stats.false_discovery_control(expected_p, method="bh") <= 0.05
    means, _ = loo_prior_loop(counts, logements)
    direction = np.where(counts > np.array(means) * logements, 1, -1)
    assert result.kind.tolist() == np.where(significant, direction, 0).tolist()
    np.testing.assert_allclose(result.expected, np.array(means) * logements)
    assert 17 in result.hot.tolist()
    assert result.tested.all() and result.fdr == 0.05
    # Both laws are exercised: with spread the others' rates spread beyond chance
    # (negative binomial); without, the hot unit's others do not (binomial).
    _, variances = loo_prior_loop(counts, logements)
    assert (variances[17] > 0) == (spread > 0) and any(v > 0 for v in variances)


def test_one_residence_with_40_facts_among_quiet_neighbours_is_hot():
    counts, logements = quiet_world(5)
    counts[7] += 40
    result = hs.rate_hotspots(counts, logements)
    assert result.hot.tolist() == [7]
    assert result.cold.size == 0
    assert result.expected[7] < counts[7] / 3


def test_uniform_worlds_flag_at_most_the_false_discovery_share():
    """50 worlds where every résidence has the same rate per logement: every flag is
    false. Benjamini–Hochberg at 5 % then bounds the chance that a world flags
    anything by 5 %: 2.5 worlds expected; 6 or more has a chance under 2 % (binomial
    50, 5 %). Uncorrected p < 0.05 would flag about 5 % of all the résidences."""
    worlds_flagged = flagged = uncorrected = tested = 0
    for seed in range(50):
        counts, logements = quiet_world(seed, rate=0.05 + 0.01 * (seed % 5))
        result = hs.rate_hotspots(counts, logements)
        flagged += int((result.kind != 0).sum())
        worlds_flagged += int((result.kind != 0).any())
        uncorrected += int((result.p < 0.05).sum())
        tested += int(result.tested.sum())
    assert worlds_flagged <= 5
    assert flagged <= 0.05 * 50 * 2
    # The test can fail: without the correction, chance flags dozens.
    assert uncorrected >= 0.02 * tested


def test_a_small_residence_with_two_facts_neither_tops_nor_is_flagged():
    counts, logements = quiet_world(8)
    counts[0], logements[0] = 2, 4.0  # 50 facts per 100 logements, raw
    counts[1] += 30
    result = hs.rate_hotspots(counts, logements)
    raw = counts / logements
    assert raw.argmax() == 0
    assert np.nanargmax(result.smoothed) == 1
    assert result.kind[0] == 0 and result.kind[1] == hs.HOT


def test_a_small_bailleur_with_a_handful_of_facts_flags_nothing():
    """Six résidences, three facts, two in one résidence: the others' rate is 0, yet
    nothing is impossible. Given three facts, two or more land in one résidence of
    a sixth of the logements with chance 7.4 % (binomial), 14.8 % two-sided."""
    counts = np.array([2, 1, 0, 0, 0, 0])
    result = hs.rate_hotspots(counts, np.full(6, 100.0))
    assert result.p[0] == pytest.approx(2 * (3 * (1 / 6) ** 2 * 5 / 6 + (1 / 6) ** 3))
    assert (result.kind == 0).all()
    alone = hs.rate_hotspots(np.array([2, 0, 0, 0, 0, 0]), np.full(6, 100.0))
    assert alone.p[0] == pytest.approx(2 / 36) and (alone.kind == 0).all()


def test_residences_without_logements_or_too_few_are_not_tested():
    counts = np.array([3, 40, 2, 1, 2])
    logements = np.array([100.0, 0, 120, 90, 110])
    result = hs.rate_hotspots(counts, logements)
    assert result.tested.tolist() == [True, False, True, True, True]
    assert result.kind[1] == 0 and result.p[1] == 1.0 and np.isnan(result.smoothed[1])
    few = hs.rate_hotspots(np.array([0, 50]), np.array([100.0, 100]))
    assert not few.tested.any() and (few.kind == 0).all() and (few.p == 1).all()
    empty = hs.rate_hotspots(np.array([], dtype=int), np.array([]))
    assert empty.kind.size == 0


def test_a_residence_with_no_fact_among_busy_ones_is_cold():
    logements = np.full(30, 200.0)
    counts = np.random.default_rng(3).poisson(40, 30)
    counts[11] = 0
    result = hs.rate_hotspots(counts, logements)
    assert result.cold.tolist() == [11] and result.hot.size == 0


@pytest.mark.parametrize(
    ("counts", "logements", "message"),
    [
        ([1, -1, 2], [10, 10, 10], "non-negative integer counts"),
        ([1.5, 1, 2], [10, 10, 10], "non-negative integer counts"),
        ([1, 1, 2], [10, 10], "aligned"),
    ],
)
def test_rate_hotspots_refuse_bad_input(counts, logements, message):
    with pytest.raises(ValueError, match=message):
        hs.rate_hotspots(np.array(counts), np.array(logements))
