"""The improved Farrington method (Noufaily et al. 2013), as R's ``farringtonFlexible``.

For the week checked, the baseline is the same season ``b`` years back: a window of
``2w + 1`` weeks around the same calendar week of each past year, plus the weeks
between those windows split into ``no_periods - 1`` seasonal blocks (a factor of
``no_periods`` levels, the windows being the last level). The last
``past_weeks_not_included`` weeks (and the week itself) stay out of the baseline, so
that a slowly growing outbreak does not raise its own threshold. On it a quasi-Poisson
GLM (log link) is fitted, with a linear trend kept only when significant, when ``b``
is at least 3 and when it does not extrapolate past the largest baseline count; past
outbreaks are down-weighted by their Anscombe residuals (weeks above
``weights_threshold``) and the model refitted. The threshold is the ``1 - alpha``
quantile of a negative binomial with the fitted mean and dispersion (R's
``thresholdMethod = "nbPlugin"``); no alarm is raised with fewer than ``limit_cases``
facts in the last ``limit_weeks`` weeks (the week itself included).

Every definition follows surveillance 1.20.3's source (``blocks``,
``algo.farrington.referencetimepoints``, ``algo.farrington.fitGLM.flexible``,
``algo.farrington.glm``, ``algo.farrington.threshold.noufaily``), weeks given as dates:
the reference weeks are the weeks nearest the same calendar date 1..b years back.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from orfi.earlywarning.glm import (
    anscombe_residuals,
    fit_quasipoisson,
    outbreak_weights,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FarringtonParams:
    """Options of the method; the defaults are orfi's (Noufaily's, trend at 5 %)."""

    b: int = 5
    w: int = 3
    no_periods: int = 10
    reweight: bool = True
    weights_threshold: float = 2.58
    past_weeks_not_included: int = 26
    trend: bool = True
    p_threshold_trend: float = 0.05
    alpha: float = 0.005
    limit_cases: int = 5
    limit_weeks: int = 4
    #: Units with fewer than ``b`` years are checked with as many years as they have,
    #: down to this many (the trend needs 3); below, the CUSUM fallback.
    min_years: int = 2


@dataclass(frozen=True)
class Design:
    """The baseline of one checked week: its rows and the two model matrices."""

    rows: np.ndarray
    with_trend: np.ndarray
    now_with_trend: np.ndarray
    flat: np.ndarray
    now_flat: np.ndarray


def _years_back(day: datetime.date, years: int) -> datetime.date:
    """The same calendar date ``years`` back; 29 February becomes 1 March, as in R."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return datetime.date(day.year - years, 3, 1)


def reference_weeks(weeks: pd.DatetimeIndex, k: int, b: int) -> list[int]:
    """Positions of week ``k`` and of the weeks nearest its date 1..``b`` years back."""
    day = weeks[k].date()
    positions = [k]
    for years in range(1, b + 1):
        # Weeks are 7 days apart: the nearest one is never a tie.
        positions.append(k - round((day - _years_back(day, years)).days / 7))
    return positions


def seasonal_blocks(
    length: int, references: list[int], w: int, no_periods: int
) -> np.ndarray:
    """Seasonal level (1..``no_periods``) of each week, NaN outside the baseline."""
    levels = np.full(length, np.nan)
    now = references[0]
    levels[now - w : now + 1] = no_periods
    for newer, ref in zip(references[:-1], references[1:], strict=True):
        levels[ref - w : ref + w + 1] = no_periods
        if no_periods == 1:
            continue
        period = newer - 2 * w - 1 - ref
        if period < no_periods - (2 * w + 1):
            raise ValueError("too many seasonal levels for the period between windows")
        size, rest = divmod(period, no_periods - 1)
        start = ref + w + 1
        for level in range(1, no_periods):
            end = start + size + (1 if level <= rest else 0)
            levels[start:end] = level
            start = end
    return levels


def first_checkable_week(weeks: pd.DatetimeIndex, params: FarringtonParams) -> int:
    """The first position whose ``b`` years of baseline all fall inside ``weeks``."""
    for k in range(len(weeks)):
        if reference_weeks(weeks, k, params.b)[-1] - params.w >= 0:
            return k
    raise ValueError("the series is shorter than the baseline the method needs")


def build_design(weeks: pd.DatetimeIndex, k: int, params: FarringtonParams) -> Design:
    """Baseline rows and model matrices (intercept, trend, seasons) for week k."""
    references = reference_weeks(weeks, k, params.b)
    if references[-1] - params.w < 0:
        raise ValueError(f"week {weeks[k].date()} lacks {params.b} years of history")
    levels = seasonal_blocks(len(weeks), references, params.w, params.no_periods)
    levels[max(k - params.past_weeks_not_included, 0) : k + 1] = np.nan
    rows = np.flatnonzero(~np.isnan(levels))
    groups = levels[rows]
    # Treatment contrasts against the lowest level present, as R's factor().
    others = np.unique(groups)[1:]
    dummies = (groups[:, None] == others[None, :]).astype(float)
    now_dummies = (others == params.no_periods).astype(float)
    ones = np.ones((len(rows), 1))
    wtime = (rows - rows[0]).astype(float)[:, None]
    return Design(
        rows=rows,
        with_trend=np.hstack([ones, wtime, dummies]),
        now_with_trend=np.concatenate([[1.0, k - rows[0]], now_dummies]),
        flat=np.hstack([ones, dummies]),
        now_flat=np.concatenate([[1.0], now_dummies]),
    )


def _fit(X: np.ndarray, Y: np.ndarray, params: FarringtonParams):
    """First fit, then the refit with past outbreaks down-weighted.

    Returns the final fit, its phi (dispersion, at least 1), whether the first fit
    converged (R gives up otherwise) and the outbreak weights (ones if not reweighted).
    """
    first = fit_quasipoisson(X, Y)
    phi = np.maximum(first.dispersion, 1.0)
    if not params.reweight:
        return first, phi, first.converged, np.ones_like(Y, dtype=float)
    omega = outbreak_weights(
        anscombe_residuals(Y, first, phi), params.weights_threshold
    )
    second = fit_quasipoisson(X, Y, omega)
    return second, np.maximum(second.dispersion, 1.0), first.converged, omega


def _keep_trend(design, fit, omega, Y, params) -> np.ndarray:
    """R's rule: trend significant, b >= 3 and no extrapolation past the baseline.

    The significance is R's ``summary.glm`` t test on the refitted model, whose
    ``weights`` surveillance overwrites with the outbreak weights: its dispersion is
    therefore sum(omega * ((y - mu) / mu)^2) / df, not the Pearson one; kept as is so
    that orfi keeps the trend in the same weeks as the reference.
    """
    X = design.with_trend
    df = X.shape[0] - X.shape[1]
    dispersion = np.sum(omega * ((Y - fit.mu) / fit.mu) ** 2, axis=0) / df
    se = np.sqrt(dispersion * fit.cov_unscaled[:, 1, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        p_value = 2 * stats.t.sf(np.abs(fit.beta[:, 1] / se), df)
    predicted = np.exp(fit.beta @ design.now_with_trend)
    return (
        (params.b >= 3)
        & (p_value < params.p_threshold_trend)
        & (predicted <= Y.max(axis=0))
    )


def negbin_quantile(q: float, mu: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Quantile of a count of mean ``mu``, variance ``phi * mu`` (Poisson at 1)."""
    mu = np.asarray(mu, dtype=float)
    phi = np.broadcast_to(np.asarray(phi, dtype=float), mu.shape)
    out = np.full(mu.shape, np.nan)
    ok = np.isfinite(mu)
    over = ok & (phi > 1)
    out[over] = stats.nbinom.ppf(q, mu[over] / (phi[over] - 1), 1 / phi[over])
    plain = ok & ~over
    out[plain] = stats.poisson.ppf(q, mu[plain])
    return out


def check_week(
    counts: pd.DataFrame, k: int, params: FarringtonParams = FarringtonParams()
) -> pd.DataFrame:
    """Expected count, dispersion, threshold and alarm of every unit at position ``k``.

    Returns one row per unit (index: the units): ``observed``, ``expected`` (the
    fitted mean mu0), ``phi``, ``trend`` (kept or not), ``upper`` (the ``1 - alpha``
    quantile), ``enough_cases`` and ``alarm``. ``expected`` is NaN where the GLM did
    not converge (R gives no result there either).
    """
    design = build_design(counts.index, k, params)
    Y = counts.to_numpy(dtype=float)[design.rows]
    flat, phi_flat, ok_flat, _ = _fit(design.flat, Y, params)
    eta = flat.beta @ design.now_flat
    phi = phi_flat
    trend = np.zeros(Y.shape[1], dtype=bool)
    if params.trend:
        with_trend, phi_trend, ok_trend, omega = _fit(design.with_trend, Y, params)
        trend = ok_trend & _keep_trend(design, with_trend, omega, Y, params)
        eta = np.where(trend, with_trend.beta @ design.now_with_trend, eta)
        phi = np.where(trend, phi_trend, phi)
    expected = np.where(trend | ok_flat, np.exp(eta), np.nan)
    upper = negbin_quantile(1 - params.alpha, expected, phi)
    observed = counts.iloc[k].to_numpy()
    recent = counts.iloc[max(k - params.limit_weeks + 1, 0) : k + 1].sum().to_numpy()
    enough = recent >= params.limit_cases
    return pd.DataFrame(
        {
            "observed": observed,
            "expected": expected,
            "phi": phi,
            "trend": trend,
            "upper": upper,
            "enough_cases": enough,
            "alarm": enough & (observed > upper) & (observed != 0),
        },
        index=counts.columns,
    )


def check_weeks(
    counts: pd.DataFrame,
    weeks: Iterable | None = None,
    params: FarringtonParams = FarringtonParams(),
) -> pd.DataFrame:
    """Run :func:`check_week` over several weeks (default: the last one).

    Parameters
    ----------
    counts : pandas.DataFrame
        Weekly counts from :func:`orfi.earlywarning.series.weekly_counts` (consecutive
        Monday index, one column per unit).
    weeks : iterable, optional
        Weeks to check, as Mondays (date-like) or positions.
    params : FarringtonParams

    Returns
    -------
    pandas.DataFrame
        Indexed by (``week``, ``unit``), columns of :func:`check_week`.
    """
    frames = {
        counts.index[k]: check_week(counts, k, params)
        for k in week_positions(counts.index, weeks)
    }
    return pd.concat(frames, names=["week", "unit"])


def week_positions(index: pd.DatetimeIndex, weeks: Iterable | None) -> list[int]:
    """Positions of ``weeks`` (Mondays or positions) in ``index``; default the last."""
    if weeks is None:
        return [len(index) - 1]
    return [
        int(week)
        if isinstance(week, int | np.integer)
        else int(index.get_loc(pd.Timestamp(week)))
        for week in weeks
    ]
