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
    assert set(h3i.grid_disk(CENTRE, hs.STUDY_RING[9])) <= set(area.tolist())
    assert far in area
    assert area.size == len(h3i.grid_disk(CENTRE, hs.STUDY_RING[9])) + 1
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
