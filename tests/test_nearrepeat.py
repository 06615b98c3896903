"""orfi.earlywarning.nearrepeat: the multi-band Knox test (issue 14, point 4).

Reference: pointpats' ``Knox`` (pointpats.spacetime). Stated tolerance against it, on
a single band (distance <= delta, |days| <= tau): the observed count equal; the exact
expected count (NS x NT / pairs) to 1e-12 relative; the permutation p-value equal
when both draw the same permutations (pointpats uses numpy's global
``np.random.permutation``, orfi a ``RandomState`` of the same seed), and within
Monte Carlo error (3 binomial standard errors of the two estimates) with
independent seeds.
"""

from __future__ import annotations

import numpy as np
import pytest
from pointpats.spacetime import Knox
from scipy import stats

from orfi.earlywarning import nearrepeat as nr
from orfi.earlywarning.nearrepeat import NearRepeatParams


def random_world(seed: int, n: int = 300, side: float = 2000.0, days: int = 365):
    """Events uniform in a square (metres) and a year, some at shared addresses."""
    rng = np.random.default_rng(seed)
    # Facts are recorded at entrances: a third share one of 40 addresses.
    addresses = rng.uniform(0, side, (40, 2))
    points = rng.uniform(0, side, (n, 2))
    shared = rng.random(n) < 1 / 3
    points[shared] = addresses[rng.integers(0, 40, shared.sum())]
    t = rng.integers(0, days, n).astype(float)
    return points[:, 0], points[:, 1], t


def single_band(delta: float, tau: float, permutations: int = 99):
    return NearRepeatParams(
        distance_bands=(delta,), time_bands=(tau,), permutations=permutations
    )


@pytest.mark.parametrize(
    ("seed", "delta", "tau"), [(1, 100.0, 7.0), (2, 250.0, 14.0), (3, 400.0, 28.0)]
)
def test_single_band_equals_pointpats_knox(seed, delta, tau):
    x, y, t = random_world(seed)
    np.random.seed(seed)  # pointpats draws from numpy's global generator
    reference = Knox(np.column_stack([x, y]), t[:, None], delta, tau, permutations=99)
    result = nr.knox(x, y, t, single_band(delta, tau), rng=np.random.RandomState(seed))
    cell = result.table.iloc[0]
    assert cell["observed"] == reference.nst
    assert cell["expected_exact"] == pytest.approx(reference.expected[0, 0], rel=1e-12)
    assert cell["p_value"] == reference.p_sim


def test_single_band_p_value_within_monte_carlo_error_of_pointpats():
    # A faint near-repeat: a p-value near 0.15, far from both ends.
    x, y, t = planted_world(seed=4, followers=3)
    np.random.seed(11)
    reference = Knox(np.column_stack([x, y]), t[:, None], 100.0, 7.0, permutations=199)
    p = nr.knox(x, y, t, single_band(100.0, 7.0, 999)).table.iloc[0]["p_value"]
    error = np.sqrt(p * (1 - p) / 999 + reference.p_sim * (1 - reference.p_sim) / 199)
    assert abs(p - reference.p_sim) <= 3 * error + 1 / 200


def test_cells_count_the_pairs_a_plain_loop_counts():
    rng = np.random.default_rng(7)
    n = 60
    x = rng.choice([0.0, 50.0, 100.0, 150.0, 250.0, 400.0, 401.0], n)
    y = np.zeros(n)
    t = rng.choice([0.0, 7.0, 8.0, 14.0, 15.0, 28.0, 29.0, 40.0], n)
    result = nr.knox(x, y, t, NearRepeatParams(permutations=9))
    loop = np.zeros((5, 4), dtype=int)
    for a in range(n):
        for b in range(a + 1, n):
            d, dt = abs(x[a] - x[b]), abs(t[a] - t[b])
            if d > 400 or dt > 28:
                continue
            row = 0 if d == 0 else int(np.ceil(d / 100))
            col = max(int(np.ceil(dt / 7)) - 1, 0)
            loop[row, col] += 1
    assert result.table["observed"].to_numpy().reshape(5, 4).tolist() == loop.tolist()
    assert result.matrix("observed").to_numpy().tolist() == loop.tolist()


def test_fractional_days_give_what_whole_days_give():
    # Whole days go through a lookup table, fractions through a search: same cells.
    x, y, t = random_world(10)
    whole = nr.knox(x, y, t, NearRepeatParams(permutations=99)).table
    shifted = nr.knox(x, y, t + 0.25, NearRepeatParams(permutations=99)).table
    assert whole.equals(shifted)


def test_monte_carlo_expected_converges_to_the_exact_expectation():
    x, y, t = random_world(5)
    result = nr.knox(x, y, t, NearRepeatParams(permutations=999))
    table = result.table
    standard_error = result.sim.std(axis=0) / np.sqrt(999)
    gap = np.abs(table["expected"] - table["expected_exact"])
    assert (gap <= 4 * standard_error + 1e-9).all()
    assert table["expected_exact"].sum() > 0


def planted_world(seed: int, followers: int = 40):
    """Background events, plus followers 10-90 m and 1-6 days after some of them."""
    rng = np.random.default_rng(seed)
    x, y, t = random_world(seed, n=300)
    lead = rng.choice(len(t), followers, replace=False)
    angle = rng.uniform(0, 2 * np.pi, followers)
    radius = rng.uniform(10, 90, followers)
    fx = x[lead] + radius * np.cos(angle)
    fy = y[lead] + radius * np.sin(angle)
    ft = t[lead] + rng.integers(1, 7, followers)
    return np.r_[x, fx], np.r_[y, fy], np.r_[t, ft]


def test_planted_near_repeat_is_flagged_in_its_cell():
    x, y, t = planted_world(seed=6)
    result = nr.knox(x, y, t)
    flagged = result.significant()
    assert list(flagged.iloc[0][["distance", "time"]]) == ["1 à 100 m", "0 à 7 jours"]
    assert flagged.iloc[0]["ratio"] > 2
    # Nothing was planted beyond 200 m.
    assert not flagged["distance"].isin(["201 à 300 m", "301 à 400 m"]).any()
    assert result.sentences()[0].startswith("1 à 100 m, 0 à 7 jours : ")


def test_random_data_flags_about_nothing():
    """Bound: on 20 worlds without any near-repeat, the share of cells with a raw
    p <= 0.05 stays under the 99.9 % binomial quantile of 5 %, and the worlds
    with a cell flagged after Benjamini-Hochberg under that of 5 % of 20."""
    worlds, cells, raw, flagged = 20, 0, 0, 0
    for seed in range(100, 100 + worlds):
        x, y, t = random_world(seed, n=250)
        table = nr.knox(x, y, t, NearRepeatParams(permutations=199)).table
        tested = table[table["expected"] > 0]
        cells += len(tested)
        raw += int((tested["p_value"] <= 0.05).sum())
        flagged += int(table["significant"].any())
    assert raw <= stats.binom.ppf(0.999, cells, 0.05)
    assert flagged <= stats.binom.ppf(0.999, worlds, 0.05)


def test_the_seed_makes_the_result_reproducible():
    x, y, t = random_world(8)
    first = nr.knox(x, y, t, NearRepeatParams(permutations=99, seed=3)).table
    again = nr.knox(x, y, t, NearRepeatParams(permutations=99, seed=3)).table
    other = nr.knox(x, y, t, NearRepeatParams(permutations=99, seed=4)).table
    assert first.equals(again)
    assert not first["p_value"].equals(other["p_value"])


def test_one_table_per_category_with_two_events_or_more():
    x, y, t = random_world(9, n=100)
    categories = np.where(np.arange(100) < 60, "tags", "encombrants")
    categories[0] = "seul"
    results = nr.knox_by_category(
        x, y, t, categories, NearRepeatParams(permutations=19)
    )
    assert sorted(results) == ["encombrants", "tags"]
    assert results["tags"].n_events == 59


def test_lon_lat_are_projected_to_metres():
    # Two points one thousandth of a degree of latitude apart in Toulouse: ~111 m.
    x, y = nr.project_lonlat([1.444, 1.444], [43.604, 43.605])
    assert np.hypot(x[1] - x[0], y[1] - y[0]) == pytest.approx(111.1, abs=0.5)


@pytest.mark.parametrize(
    ("x", "y", "t", "params", "message"),
    [
        ([], [], [], NearRepeatParams(), "at least two events"),
        ([1.0], [2.0], [3.0], NearRepeatParams(), "at least two events"),
        ([1.0, np.nan], [2.0, 3.0], [3.0, 4.0], NearRepeatParams(), "x: a value"),
        ([1.0, 2.0], [2.0, 3.0], [3.0, np.inf], NearRepeatParams(), "days: a value"),
        ([1.0, 2.0], [2.0, 3.0], ["a", "b"], NearRepeatParams(), "days: numbers"),
        ([1.0, 2.0], [2.0], [3.0, 4.0], NearRepeatParams(), "same length"),
        ([1.0, 2.0], [2.0, 3.0], [3.0, 4.0], single_band(100, 7, 0), "permutations"),
        (
            [1.0, 2.0],
            [2.0, 3.0],
            [3.0, 4.0],
            NearRepeatParams(distance_bands=(100, 50)),
            "distance_bands",
        ),
        (
            [1.0, 2.0],
            [2.0, 3.0],
            [3.0, 4.0],
            NearRepeatParams(time_bands=()),
            "time_bands",
        ),
        (
            [1.0, 2.0],
            [2.0, 3.0],
            [3.0, 4.0],
            NearRepeatParams(correction="bonferroni"),
            "correction",
        ),
        ([1.0, 2.0], [2.0, 3.0], [3.0, 4.0], NearRepeatParams(alpha=5), "alpha"),
    ],
)
def test_bad_input_is_a_clear_error(x, y, t, params, message):
    with pytest.raises(ValueError, match=message):
        nr.knox(x, y, t, params)


def test_events_without_any_close_pair_give_an_empty_table_not_a_crash():
    result = nr.knox([0.0, 5000.0], [0.0, 0.0], [0.0, 1.0], NearRepeatParams())
    assert result.n_pairs == 0
    assert (result.table["observed"] == 0).all()
    assert result.significant().empty
