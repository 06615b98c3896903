"""orfi.earlywarning: weekly series, Farrington against R's surveillance, statuses.

The fixtures in tests/fixtures/earlywarning/ are written by
benchmarks/earlywarning/reference.R (surveillance::farringtonFlexible on twelve
simulated series, 104 checked weeks each); regenerate them with that script.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from orfi import earlywarning as ew
from orfi.earlywarning import farrington as fa
from orfi.earlywarning.glm import fit_quasipoisson

FIXTURES = Path(__file__).parent / "fixtures" / "earlywarning"
# Stated tolerance against R: expected counts to 1e-6 (relative), thresholds (integer
# quantiles) equal on 99 % of the weeks and never more than one count apart; alarms in
# agreement on at least 95 % of the weeks (issue 14).
EXPECTED_RTOL = 1e-6


def fixture_counts() -> pd.DataFrame:
    """The simulated series R checked, as orfi's weekly counts (one column a unit)."""
    series = pd.read_csv(FIXTURES / "series.csv", parse_dates=["week"])
    counts = series.pivot(index="week", columns="unit", values="count")
    counts.index = pd.DatetimeIndex(counts.index, name="week")
    return counts


@pytest.fixture(scope="module")
def orfi_vs_r():
    """orfi's Farrington on R's weeks, joined to R's results at both levels."""
    counts = fixture_counts()
    strict = pd.read_csv(
        FIXTURES / "farrington_alpha_0.005.csv", parse_dates=["week"]
    ).set_index(["week", "unit"])
    loose = pd.read_csv(
        FIXTURES / "farrington_alpha_0.1.csv", parse_dates=["week"]
    ).set_index(["week", "unit"])
    weeks = sorted(strict.index.get_level_values("week").unique())
    ours = ew.check_weeks(counts, weeks, ew.FarringtonParams(alpha=0.005))
    return ours.reindex(strict.index), strict, loose


def test_parameters_of_the_fixtures_are_orfis_defaults():
    written = pd.read_csv(FIXTURES / "parameters.csv").set_index("parameter")["value"]
    params = ew.FarringtonParams()
    assert int(written["b"]) == params.b
    assert int(written["w"]) == params.w
    assert int(written["noPeriods"]) == params.no_periods
    assert float(written["weightsThreshold"]) == params.weights_threshold
    assert int(written["pastWeeksNotIncluded"]) == params.past_weeks_not_included
    assert float(written["pThresholdTrend"]) == params.p_threshold_trend
    assert int(written["limit54_cases"]) == params.limit_cases
    assert int(written["limit54_weeks"]) == params.limit_weeks


def test_expected_counts_and_trend_match_surveillance(orfi_vs_r):
    ours, r, _ = orfi_vs_r
    assert len(ours) == 12 * 104
    np.testing.assert_allclose(ours["expected"], r["mu0"], rtol=EXPECTED_RTOL)
    np.testing.assert_allclose(ours["phi"], r["phi"], rtol=EXPECTED_RTOL)
    assert (ours["trend"] == r["trend"].astype(bool)).mean() >= 0.99
    # The fixtures hold both decisions, so the trend rule is really exercised.
    assert 0 < r["trend"].sum() < len(r)


@pytest.mark.parametrize("level", ["strict", "loose"])
def test_thresholds_match_surveillance(orfi_vs_r, level):
    ours, strict, loose = orfi_vs_r
    r, alpha = (strict, 0.005) if level == "strict" else (loose, 0.1)
    upper = fa.negbin_quantile(1 - alpha, ours["expected"], ours["phi"])
    defined = r["upperbound"].notna()
    assert defined.sum() > 900
    difference = np.abs(upper[defined.to_numpy()] - r["upperbound"][defined])
    assert (difference == 0).mean() >= 0.99
    assert difference.max() <= 1


def test_alarms_agree_with_surveillance(orfi_vs_r):
    ours, r, _ = orfi_vs_r
    assert r["alarm"].sum() >= 10  # planted outbreaks are in the checked range
    assert (ours["alarm"] == r["alarm"].astype(bool)).mean() >= 0.95


def test_two_years_back_match_surveillance():
    # Résidences with two to five years of history are checked with the years they
    # have: R's farringtonFlexible with b = 2 on the same series.
    counts = fixture_counts()
    r = pd.read_csv(
        FIXTURES / "farrington_b2_alpha_0.005.csv", parse_dates=["week"]
    ).set_index(["week", "unit"])
    weeks = sorted(r.index.get_level_values("week").unique())[::4]
    ours = ew.check_weeks(counts, weeks, ew.FarringtonParams(b=2)).reindex(
        r.loc[weeks].index
    )
    r = r.loc[weeks]
    np.testing.assert_allclose(ours["expected"], r["mu0"], rtol=EXPECTED_RTOL)
    assert not ours["trend"].any()  # no trend with fewer than 3 years
    defined = r["upperbound"].notna()
    assert (ours["upper"][defined] == r["upperbound"][defined]).mean() >= 0.99
    assert (ours["alarm"] == r["alarm"].astype(bool)).mean() >= 0.95


def test_statuses_use_the_years_each_unit_has():
    counts = fixture_counts()
    k = len(counts) - 1
    first = {
        "R01-calme": counts.index[k - 3 * 52],  # three years: b = 3
        "R02-faible": counts.index[k - 60],  # a year and two months: CUSUM
    }
    statuses = ew.unit_statuses(counts, first_weeks=first).droplevel("week")
    assert statuses.loc["R01-calme", "years"] == 2  # 3 years lack the 3 weeks of w
    assert statuses.loc["R02-faible", "method"] == "cusum"
    assert (statuses.drop(index=["R01-calme", "R02-faible"])["years"] == 5).all()
    reference = ew.check_week(counts[["R01-calme"]], k, ew.FarringtonParams(b=2))
    assert statuses.loc["R01-calme", "expected"] == pytest.approx(
        reference.loc["R01-calme", "expected"]
    )


def test_batched_glm_matches_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(3)
    n = 120
    levels = rng.integers(0, 4, n)
    X = np.column_stack(
        [np.ones(n), np.arange(n) / 10, *(levels == j for j in range(1, 4))]
    ).astype(float)
    Y = rng.poisson(np.exp(0.8 + 0.02 * np.arange(n))[:, None], (n, 3))
    prior = rng.uniform(0.3, 1.5, (n, 3))
    fit = fit_quasipoisson(X, Y, prior)
    assert fit.converged.all()
    for u in range(3):
        reference = sm.GLM(
            Y[:, u], X, family=sm.families.Poisson(), var_weights=prior[:, u]
        ).fit(scale="X2")
        np.testing.assert_allclose(fit.beta[u], reference.params, rtol=1e-6)
        # R (and orfi) take the dispersion with the working weights of the last
        # iteration's start, statsmodels with the final ones: equal at convergence.
        np.testing.assert_allclose(fit.dispersion[u], reference.scale, rtol=1e-4)
        np.testing.assert_allclose(
            fit.hat[:, u], reference.get_hat_matrix_diag(), rtol=1e-4
        )


def test_weekly_counts_use_iso_weeks_and_fill_empty_weeks():
    dates = [
        datetime.date(2026, 1, 4),  # Sunday: ISO week 2026-W01 starts 29 December
        datetime.date(2026, 1, 5),  # Monday: week 2
        datetime.datetime(2026, 1, 11, 23, 30),  # Sunday night: still week 2
        datetime.date(2026, 1, 20),  # week 4; week 3 has nothing
    ]
    counts = ew.weekly_counts(dates, ["a", "a", "b", "a"], all_units=["c"])
    assert list(counts.index.date) == [
        datetime.date(2025, 12, 29),
        datetime.date(2026, 1, 5),
        datetime.date(2026, 1, 12),
        datetime.date(2026, 1, 19),
    ]
    assert counts["a"].tolist() == [1, 1, 0, 1]
    assert counts["b"].tolist() == [0, 1, 0, 0]
    assert counts["c"].tolist() == [0, 0, 0, 0]
    wider = ew.weekly_counts(dates, ["a"] * 4, start="2025-12-01", end="2026-01-07")
    assert len(wider) == 6 and wider["a"].sum() == 3


def test_weekly_counts_refuse_a_missing_date_and_allow_no_fact():
    with pytest.raises(ValueError, match="date is missing"):
        ew.weekly_counts([None, "2026-01-05"], ["a", "b"])
    empty = ew.weekly_counts(
        [], [], start="2026-01-05", end="2026-01-20", all_units=["a"]
    )
    assert empty["a"].tolist() == [0, 0, 0]
    statuses = ew.unit_statuses(empty)
    assert statuses["status"].tolist() == [ew.INSUFFISANT]


def test_reference_weeks_follow_the_calendar_like_r():
    weeks = pd.DatetimeIndex(pd.date_range("2009-01-05", "2016-03-07", freq="7D"))
    k = weeks.get_loc(pd.Timestamp("2016-02-29"))
    refs = fa.reference_weeks(weeks, k, 5)
    # 29 February 2016 one year back is 1 March 2015 (a Sunday): nearest Monday 2 March.
    assert weeks[refs[1]].date() == datetime.date(2015, 3, 2)
    for years, ref in enumerate(refs[1:], start=1):
        assert abs((weeks[ref] - pd.Timestamp(2016 - years, 3, 1)).days) <= 3
    with pytest.raises(ValueError, match="history"):
        fa.build_design(weeks, 200, ew.FarringtonParams())
    assert fa.first_checkable_week(weeks, ew.FarringtonParams()) > 260


def planted_world(seed: int = 11, units: int = 12, years: int = 6):
    """Facts of a bailleur over ``years``: seasonal Poisson counts, one tripling."""
    rng = np.random.default_rng(seed)
    weeks = pd.date_range("2020-01-06", periods=years * 52, freq="7D")
    season = np.exp(0.3 * np.cos(2 * np.pi * (np.arange(len(weeks)) - 28) / 52))
    rates = rng.uniform(3, 8, units)
    means = rates[None, :] * season[:, None]
    onset = len(weeks) - 4
    means[onset:, 0] *= 3  # résidence R00 triples for its last four weeks
    counts = rng.poisson(means)
    dates, names = [], []
    for t, week in enumerate(weeks):
        for u in range(units):
            days = rng.integers(0, 7, counts[t, u])
            dates.extend(week + pd.to_timedelta(days, unit="D"))
            names.extend([f"R{u:02d}"] * counts[t, u])
    return dates, names, onset


def test_planted_tripling_alarms_within_two_weeks_and_nothing_else():
    dates, names, onset = planted_world()
    counts = ew.weekly_counts(dates, names)
    checked = range(onset - 8, len(counts))
    statuses = ew.unit_statuses(counts, checked)
    assert (statuses["method"] == "farrington").all()
    alerts = statuses[statuses["status"] == ew.ALERTE].reset_index()
    assert set(alerts["unit"]) == {"R00"}
    first_alert = alerts["week"].min()
    assert counts.index[onset] <= first_alert <= counts.index[onset + 1]
    row = statuses.loc[(first_alert, "R00")]
    assert row["observed"] > row["threshold"] > row["high"]
    # Vigilance is « above the range the sentence gives », short of the alarm.
    vigilant = statuses[statuses["status"] == ew.VIGILANCE]
    assert len(vigilant) and (vigilant["observed"] > vigilant["high"]).all()
    assert (vigilant["observed"] <= vigilant["threshold"]).all()
    normal = statuses[statuses["status"] == ew.NORMAL]
    assert (normal["observed"] > normal["high"]).mean() < 0.05
    assert row["phrase"].startswith(f"{int(row['observed'])} faits cette semaine pour ")


def test_short_history_falls_back_to_cusum():
    rng = np.random.default_rng(5)
    # Under two years and three weeks: no Farrington baseline at all.
    weeks = pd.date_range("2024-01-01", periods=100, freq="7D")
    rates = np.array([4.0, 4.0, 6.0, 3.0])
    means = np.tile(rates, (len(weeks), 1))
    means[-6:, 1] *= 2.5  # the new résidence "b" drifts in its last six weeks
    counts = pd.DataFrame(
        rng.poisson(means),
        index=pd.DatetimeIndex(weeks, name="week"),
        columns=["a", "b", "c", "d"],
    )
    first = {"b": weeks[40], "d": weeks[-6]}
    statuses = ew.unit_statuses(counts, range(70, 100), first_weeks=first)
    assert set(statuses["method"].dropna()) == {"cusum"}
    d = statuses.xs("d", level="unit")
    assert (d["status"] == ew.INSUFFISANT).all()
    assert d["phrase"].str.contains("historique insuffisant").all()
    b = statuses.xs("b", level="unit")
    assert (b["status"].iloc[:-6] != ew.ALERTE).all()
    assert (b["status"].iloc[-6:-3] == ew.ALERTE).any()
    steady = statuses.drop(index=["b", "d"], level="unit")
    assert (steady["status"] != ew.ALERTE).all()
    # The expected level is the unit's own, not the bailleur's.
    c = statuses.xs("c", level="unit")
    assert c["expected"].mean() == pytest.approx(6, rel=0.15)


def test_cusum_weighs_by_dispersion_and_restarts_after_an_alarm():
    weeks = pd.DatetimeIndex(pd.date_range("2024-01-01", periods=40, freq="7D"))
    steady = np.tile([4, 2, 6, 3, 5, 4, 1, 7], 5)
    rising = steady.copy()
    rising[30:] *= 3
    counts = pd.DataFrame({"steady": steady, "rising": rising}, index=weeks)
    result = ew.cusum(counts)
    alarms = result["alarm"]
    assert not alarms[:, 0].any() and not alarms[:30, 1].any()
    first = 30 + np.flatnonzero(alarms[30:, 1])[0]
    assert first <= 31
    assert result["statistic"][first, 1] > ew.CusumParams().h
    # Restarted: the next week starts again from its own step, not the old excess.
    step = result["statistic"][first + 1, 1]
    assert step < result["statistic"][first, 1]
    # The baseline keeps the last 4 weeks out: the level has not moved yet.
    assert result["expected"][first, 1] == pytest.approx(
        result["expected"][first, 0], rel=0.05
    )
    assert (result["dispersion"][20:] >= 1).all()
    assert np.isnan(result["expected"][:12]).all()  # 8 weeks + the 4 left out


def test_seasonal_profile_is_flat_without_a_year_and_has_mean_one():
    weeks = pd.DatetimeIndex(pd.date_range("2023-01-02", periods=30, freq="7D"))
    short = pd.DataFrame({"a": np.arange(30)}, index=weeks)
    assert (ew.seasonal_profile(short) == 1).all()
    weeks = pd.DatetimeIndex(pd.date_range("2021-01-04", periods=156, freq="7D"))
    summer = np.where(weeks.isocalendar().week.between(25, 35), 10, 2)
    profile = ew.seasonal_profile(pd.DataFrame({"a": summer}, index=weeks))
    assert profile[1:53].mean() == pytest.approx(1)
    assert profile[30] > 2 * profile[5]


@pytest.mark.parametrize(
    ("observed", "low", "high", "phrase"),
    [
        (9, 2, 4, "9 faits cette semaine pour 2 à 4 attendus"),
        (1, 0, 1, "1 fait cette semaine pour 0 à 1 attendu"),
        (0, 3, 3, "0 fait cette semaine pour 3 attendus"),
        (2, np.nan, np.nan, "2 faits cette semaine (historique insuffisant)"),
    ],
)
def test_observed_and_expected_in_words(observed, low, high, phrase):
    assert ew.describe(observed, low, high) == phrase


def test_a_week_without_any_fact_keeps_the_dispersion_measured():
    """A week with no fact anywhere (a seasonal profile of 0) adds nothing to the
    dispersion; it made NaN that every later week carried, and phi fell back to 1."""
    weeks = pd.DatetimeIndex(pd.date_range("2024-01-01", periods=40, freq="7D"))
    rng = np.random.default_rng(3)
    wild = rng.choice([0, 1, 9, 14], size=40).astype(float)
    counts = pd.DataFrame({"wild": wild}, index=weeks)
    counts.iloc[5] = 0
    wild = counts["wild"].to_numpy()
    profile = np.ones(54)
    profile[weeks[5].isocalendar().week] = 0.0
    result = ew.cusum(counts, profile=profile)
    # Pearson dispersion over the baseline (weeks [0, end - 4)), by a plain loop.
    season = profile[weeks.isocalendar().week.to_numpy()]
    end = 30 - 4
    rate = wild[:end].sum() / season[:end].sum()
    chi2 = sum(
        (wild[t] - rate * season[t]) ** 2 / (rate * season[t])
        for t in range(end)
        if season[t] > 0
    )
    assert result["dispersion"][30, 0] == pytest.approx(max(chi2 / (end - 1), 1))
    assert result["dispersion"][30, 0] > 2
