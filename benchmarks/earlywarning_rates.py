"""Error rates and speed of orfi's early warning (issue 14), on simulated résidences.

Simulated world: each résidence has a base level (log-normal, median 3 facts a week,
from about 0.3 to 30), a yearly season of its own amplitude (summer peak), a trend
(-10 % to +10 % a year), and Poisson or negative binomial noise (size 5 to 50);
seven years of weeks, the last 52 checked one by one as the weekly job would.

- **False alarms**: the same world without any outbreak; alerts (and vigilance flags)
  per 100 résidence-weeks, overall and by base level.
- **Detection**: the same world with, at each résidence, a sustained doubling or
  tripling from a random week of the checked year (at least 8 weeks before its end):
  share of outbreaks alerted within 8 weeks of their onset and the median delay in
  weeks (0 = alerted in the onset week), overall and by base level.
- The same for résidences with 2 to 3 years of history (Farrington with the two past
  years they have), and for the short-history fallback (Poisson CUSUM against the
  bailleur-wide season) with 1 to 2 years, for a few values of its threshold h.
- **Speed**: 3,000 résidences, facts to weekly counts to statuses of the current week
  (the weekly job), with 5 years of history (Farrington with 4 past years: 5 need 5
  years and 3 weeks) and 6 years (5 past years). CPU time is printed next to wall time
  (the machine is shared).

Usage::

    .venv/bin/python benchmarks/earlywarning_rates.py            # about 5 minutes
    .venv/bin/python benchmarks/earlywarning_rates.py --units 200 --skip-speed
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from orfi.earlywarning import (
    ALERTE,
    VIGILANCE,
    CusumParams,
    cusum,
    unit_statuses,
    weekly_counts,
)

WEEKS = 7 * 52
CHECKED = 52
BANDS = [(0, 1), (1, 3), (3, 10), (10, np.inf)]


def simulate(rng, units: int, weeks: int = WEEKS, factor: float = 1.0):
    """Counts (weeks x units), base levels and outbreak onsets (-1 without)."""
    base = np.exp(rng.normal(np.log(3), 1.0, units))
    amplitude = rng.uniform(0, 0.5, units)
    trend = rng.uniform(-0.1, 0.1, units)
    t = np.arange(weeks)[:, None]
    mean = base * np.exp(
        amplitude * np.cos(2 * np.pi * (t - 28) / 52.18) + trend * (t - weeks) / 52
    )
    onset = np.full(units, -1)
    if factor != 1.0:
        onset = rng.integers(weeks - CHECKED, weeks - 8, units)
        mean = np.where(t >= onset, mean * factor, mean)
    size = np.where(rng.random(units) < 0.5, np.inf, rng.uniform(5, 50, units))
    counts = np.empty((weeks, units), dtype=int)
    poisson = np.isinf(size)
    counts[:, poisson] = rng.poisson(mean[:, poisson])
    nb_size = size[~poisson]
    counts[:, ~poisson] = rng.negative_binomial(
        nb_size, nb_size / (nb_size + mean[:, ~poisson])
    )
    index = pd.DatetimeIndex(
        pd.date_range("2019-01-07", periods=weeks, freq="7D"), name="week"
    )
    names = [f"R{u:04d}" for u in range(units)]
    return pd.DataFrame(counts, index=index, columns=names), base, onset


def band_label(low: float, high: float) -> str:
    """« 1–3 » facts a week."""
    return f"{low:g}+" if np.isinf(high) else f"{low:g}–{high:g}"


def farrington_alarms(counts: pd.DataFrame):
    """Alerte and vigilance flags (checked weeks x units), and the years used."""
    checked = range(len(counts) - CHECKED, len(counts))
    statuses = unit_statuses(counts, checked)
    status = statuses["status"].unstack("unit").reindex(columns=counts.columns)
    years = statuses["years"].value_counts(dropna=False).to_dict()
    return (status == ALERTE).to_numpy(), (status == VIGILANCE).to_numpy(), years


def report_false_alarms(name: str, alert, vigilant, base) -> None:
    """Alerts and vigilance flags per 100 résidence-weeks, overall and by band."""
    print(f"\n{name}: false alarms per 100 résidence-weeks ({alert.size} weeks)")
    print(
        f"  all: alerte {100 * alert.mean():.2f}, vigilance {100 * vigilant.mean():.2f}"
    )
    for low, high in BANDS:
        inside = (base >= low) & (base < high)
        if inside.any():
            print(
                f"  base {band_label(low, high):>5} a week ({inside.sum():4d} rés.): "
                f"alerte {100 * alert[:, inside].mean():.2f}, "
                f"vigilance {100 * vigilant[:, inside].mean():.2f}"
            )


def detection(alert: np.ndarray, onset: np.ndarray, weeks: int) -> np.ndarray:
    """Delay in weeks to the first alert within 8 weeks of the onset (NaN: missed)."""
    delays = np.full(len(onset), np.nan)
    for u, start in enumerate(onset - (weeks - CHECKED)):
        hits = np.flatnonzero(alert[start : start + 8, u])
        if len(hits):
            delays[u] = hits[0]
    return delays


def report_detection(name: str, delays: np.ndarray, base: np.ndarray) -> None:
    """Share detected and median delay, overall and by band."""
    found = ~np.isnan(delays)
    median = np.nanmedian(delays) if found.any() else float("nan")
    print(f"  {name}: detected {100 * found.mean():.1f} %, median delay {median:g} wk")
    for low, high in BANDS:
        inside = (base >= low) & (base < high)
        if inside.any():
            d = delays[inside]
            ok = ~np.isnan(d)
            med = np.nanmedian(d) if ok.any() else float("nan")
            print(
                f"    base {band_label(low, high):>5}: detected "
                f"{100 * ok.mean():5.1f} %, median delay {med:g} wk"
            )


def farrington_rates(units: int, seed: int, weeks: int, label: str) -> None:
    """False alarms and detection of the Farrington path over ``weeks`` of history."""
    counts, base, _ = simulate(np.random.default_rng(seed), units, weeks=weeks)
    alert, vigilant, years = farrington_alarms(counts)
    report_false_alarms(
        f"Farrington ({label}; past years used: {years})", alert, vigilant, base
    )
    print("Farrington: planted sustained outbreaks, alerted within 8 weeks")
    for factor in (2.0, 3.0):
        counts, base, onset = simulate(
            np.random.default_rng(seed + 1), units, weeks=weeks, factor=factor
        )
        alert, _, _ = farrington_alarms(counts)
        report_detection(f"x{factor:g}", detection(alert, onset, weeks), base)


def cusum_rates(units: int, seed: int, hs=(3.0, 4.0, 5.0)) -> None:
    """False alarms and detection of the fallback, one to two years of history."""
    weeks = 52 + CHECKED
    counts, base, _ = simulate(np.random.default_rng(seed), units, weeks=weeks)
    # A bailleur-wide season from the other résidences' long history.
    long, _, _ = simulate(np.random.default_rng(seed + 7), units, weeks=weeks)
    for h in hs:
        params = CusumParams(h=h)
        result = cusum(counts, params=params, profile=_profile(long, params))
        alert = result["alarm"][-CHECKED:]
        print(f"\nCUSUM h = {h:g} (1 to 2 years of history)")
        report_false_alarms("  CUSUM", alert, np.zeros_like(alert), base)
        for factor in (2.0, 3.0):
            planted, pbase, onset = simulate(
                np.random.default_rng(seed + 1), units, weeks=weeks, factor=factor
            )
            result = cusum(planted, params=params, profile=_profile(long, params))
            delays = detection(result["alarm"][-CHECKED:], onset, weeks)
            report_detection(f"x{factor:g}", delays, pbase)


def _profile(counts: pd.DataFrame, params: CusumParams) -> np.ndarray:
    from orfi.earlywarning import seasonal_profile

    return seasonal_profile(counts, smoothing=params.smoothing)


def speed(units: int, years: int, seed: int) -> None:
    """Facts to weekly counts to statuses of the current week, ``units`` résidences."""
    counts, _, _ = simulate(np.random.default_rng(seed), units, weeks=years * 52)
    per_cell = counts.to_numpy()
    mondays = counts.index.to_numpy().astype("datetime64[D]")
    rng = np.random.default_rng(seed)
    n_facts = int(per_cell.sum())
    week_of_fact = np.repeat(
        np.tile(mondays[:, None], (1, units)).ravel(), per_cell.ravel()
    )
    unit_of_fact = np.repeat(
        np.tile(np.asarray(counts.columns)[None, :], (len(mondays), 1)).ravel(),
        per_cell.ravel(),
    )
    dates = week_of_fact + rng.integers(0, 7, n_facts).astype("timedelta64[D]")
    wall, cpu = time.perf_counter(), time.process_time()
    series = weekly_counts(dates, unit_of_fact)
    t_counts = time.perf_counter() - wall
    statuses = unit_statuses(series)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    methods = statuses["method"].value_counts(dropna=False).to_dict()
    years_used = statuses["years"].value_counts(dropna=False).to_dict()
    print(
        f"\n{units} résidences x {years} years ({n_facts:,} facts): weekly job "
        f"{wall:.1f} s wall, {cpu:.1f} s CPU (counts {t_counts:.1f} s); "
        f"methods {methods}, past years {years_used}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    """Print the figures quoted in docs/early-warning.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=400)
    parser.add_argument("--speed-units", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-rates", action="store_true")
    args = parser.parse_args()
    if not args.skip_rates:
        farrington_rates(args.units, args.seed, WEEKS, "7 years of history")
        # Two years and four weeks before the checked year: b = 2 all year long.
        farrington_rates(
            args.units, args.seed, 2 * 52 + 4 + CHECKED, "2 to 3 years of history"
        )
        cusum_rates(args.units, args.seed)
    if not args.skip_speed:
        for years in (5, 6):
            speed(args.speed_units, years, args.seed)


if __name__ == "__main__":
    main()
