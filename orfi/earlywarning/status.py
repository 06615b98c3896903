"""Status of each unit-week (normal, vigilance, alerte) with its figures in words.

- **alerte**: the method's alarm. Farrington: the count is above the 99.5 % quantile of
  its expected distribution (``FarringtonParams.alpha``); CUSUM (short histories): the
  accumulated excess over a doubling passes ``CusumParams.h``.
- **vigilance**: no alarm, but the count is above the usual range, i.e. above the 90 %
  quantile of the expected distribution (``VIGILANCE_LEVEL``); the same quantile is the
  top of the range said in words.
- **normal** otherwise. Neither alerte nor vigilance with fewer than 5 facts in the
  last 4 weeks (the week included): tiny counts do not make a drift.
- **insuffisant**: fewer than 8 weeks of history before the last 4: nothing is said.

The words: « 9 faits cette semaine pour 2 à 4 attendus », the range being the 10 % and
90 % quantiles of the expected count (8 ordinary weeks in 10 fall inside).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from orfi.earlywarning.fallback import CusumParams, cusum
from orfi.earlywarning.farrington import (
    FarringtonParams,
    check_week,
    negbin_quantile,
    reference_weeks,
    week_positions,
)

logger = logging.getLogger(__name__)

VIGILANCE_LEVEL = 0.90
DEFAULT_PARAMS = FarringtonParams()
DEFAULT_CUSUM = CusumParams()
NORMAL, VIGILANCE, ALERTE, INSUFFISANT = "normal", "vigilance", "alerte", "insuffisant"


def describe(observed: int, low: float, high: float) -> str:
    """« 9 faits cette semaine pour 2 à 4 attendus » (French agreement included)."""
    if np.isnan(low) or np.isnan(high):
        faits = "fait" if observed <= 1 else "faits"
        return f"{observed} {faits} cette semaine (historique insuffisant)"
    low, high = int(low), int(high)
    faits = "fait" if observed <= 1 else "faits"
    attendus = "attendu" if high <= 1 else "attendus"
    expected = f"{low}" if low == high else f"{low} à {high}"
    return f"{observed} {faits} cette semaine pour {expected} {attendus}"


def _first_positions(counts: pd.DataFrame, first_weeks: Mapping | None) -> np.ndarray:
    """Position of each unit's first week of history (0 when not given)."""
    if not first_weeks:
        return np.zeros(counts.shape[1], dtype=int)
    index = counts.index
    positions = []
    for unit in counts.columns:
        start = first_weeks.get(unit)
        positions.append(
            0 if start is None else int(index.searchsorted(pd.Timestamp(start)))
        )
    return np.asarray(positions)


def _farrington_rows(counts, k, first, params) -> pd.DataFrame | None:
    """Farrington figures at ``k``, each unit with as many past years as it has.

    ``b`` years when the unit's history covers them, else fewer down to
    ``params.min_years``; the years used are in the ``years`` column.
    """
    frames = []
    waiting = np.ones(counts.shape[1], dtype=bool)
    for years in range(params.b, params.min_years - 1, -1):
        start = reference_weeks(counts.index, k, years)[-1] - params.w
        eligible = waiting & (start >= first)
        if start < 0 or not eligible.any():
            continue
        waiting &= ~eligible
        result = check_week(counts.loc[:, eligible], k, replace(params, b=years))
        frames.append(result[result["expected"].notna()].assign(years=years))
    return pd.concat(frames) if frames else None


def unit_statuses(
    counts: pd.DataFrame,
    weeks: Iterable | None = None,
    *,
    first_weeks: Mapping | None = None,
    params: FarringtonParams = DEFAULT_PARAMS,
    fallback: CusumParams = DEFAULT_CUSUM,
) -> pd.DataFrame:
    """Status of every unit in the given weeks (default: the last week of ``counts``).

    Parameters
    ----------
    counts : pandas.DataFrame
        Weekly counts from :func:`orfi.earlywarning.series.weekly_counts`.
    weeks : iterable, optional
        Mondays (date-like) or positions to report.
    first_weeks : mapping, optional
        Unit -> first date of its history (e.g. when the résidence joined orfi); weeks
        before are not its history. Default: the start of ``counts``.
    params, fallback : FarringtonParams, CusumParams

    Returns
    -------
    pandas.DataFrame
        Indexed by (``week``, ``unit``): ``observed``, ``expected``, ``low`` and
        ``high`` (the usual range), ``threshold`` (the alerte bound, Farrington
        only), ``method`` (``farrington``, ``cusum`` or None), ``years`` (past
        years of the Farrington baseline), ``status`` and ``phrase``.
    """
    positions = week_positions(counts.index, weeks)
    first = _first_positions(counts, first_weeks)
    short = cusum(counts, first, fallback)
    frames = {}
    for k in positions:
        frame = _cusum_frame(counts, k, short, fallback)
        long = _farrington_rows(counts, k, first, params)
        if long is not None and len(long):
            frame = pd.concat(
                [frame.drop(index=long.index), _farrington_frame(long)]
            ).reindex(counts.columns)
        frame["phrase"] = [
            describe(int(o), lo, hi)
            for o, lo, hi in zip(frame.observed, frame.low, frame.high, strict=True)
        ]
        frames[counts.index[k]] = frame
    return pd.concat(frames, names=["week", "unit"])


def _status(observed, high, alarm, enough) -> np.ndarray:
    """alerte, vigilance or normal from the alarm and the top of the usual range."""
    vigilant = enough & (observed > high)
    return np.where(alarm, ALERTE, np.where(vigilant, VIGILANCE, NORMAL))


def _cusum_frame(
    counts: pd.DataFrame, k: int, short: dict, fallback: CusumParams
) -> pd.DataFrame:
    """Rows of every unit at ``k`` by the CUSUM (insuffisant without a baseline)."""
    observed = counts.iloc[k].to_numpy()
    expected = short["expected"][k]
    phi = np.nan_to_num(short["dispersion"][k], nan=1.0)
    low = negbin_quantile(1 - VIGILANCE_LEVEL, expected, phi)
    high = negbin_quantile(VIGILANCE_LEVEL, expected, phi)
    recent = counts.iloc[max(k - fallback.limit_weeks + 1, 0) : k + 1].sum()
    enough = recent.to_numpy() >= fallback.limit_cases
    status = _status(observed, high, short["alarm"][k], enough)
    status = np.where(np.isnan(expected), INSUFFISANT, status)
    return pd.DataFrame(
        {
            "observed": observed,
            "expected": expected,
            "low": low,
            "high": high,
            "threshold": np.nan,
            "method": np.where(np.isnan(expected), None, "cusum"),
            "years": np.nan,
            "status": status,
        },
        index=counts.columns,
    ).astype({"threshold": float})


def _farrington_frame(result: pd.DataFrame) -> pd.DataFrame:
    """The same columns from :func:`check_week`'s result."""
    low = negbin_quantile(1 - VIGILANCE_LEVEL, result["expected"], result["phi"])
    high = negbin_quantile(VIGILANCE_LEVEL, result["expected"], result["phi"])
    return pd.DataFrame(
        {
            "observed": result["observed"],
            "expected": result["expected"],
            "low": low,
            "high": high,
            "threshold": result["upper"],
            "method": "farrington",
            "years": result["years"],
            "status": _status(
                result["observed"].to_numpy(),
                high,
                result["alarm"].to_numpy(),
                result["enough_cases"].to_numpy(),
            ),
        },
        index=result.index,
    )
