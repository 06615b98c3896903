"""Short histories: a Poisson CUSUM against the bailleur-wide seasonal profile.

A unit with less than the Farrington baseline (five years and three weeks) cannot be
compared with its own past seasons. Its expected count for week t is then its own
mean level (over its weeks from its first one up to ``baseline_excluded`` weeks
before t, at least ``min_baseline_weeks`` of them), shaped by the season of all the
bailleur's units together:

    lambda0(t) = s(t) * sum(y over the baseline) / sum(s over the baseline)

where s is the profile of the ISO week of the year (mean 1; flat while the bailleur's
own history is shorter than a year). The CUSUM accumulates the log-likelihood ratio of
a ``shift``-fold rise against lambda0 (Lucas 1985):

    S(t) = max(0, S(t-1) + [y(t) ln(shift) - (shift - 1) lambda0(t)] / phi)

divided by the unit's dispersion phi (Pearson, over the same baseline, at least 1) so
that overdispersed units do not accumulate noise; it alarms when S(t) > h (with the
same minimum count as the Farrington method) and restarts from 0 after an alarm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CusumParams:
    """Options of the fallback; ``h`` set by benchmarks/earlywarning_rates.py."""

    shift: float = 2.0
    h: float = 4.0
    baseline_excluded: int = 4
    min_baseline_weeks: int = 8
    smoothing: int = 2
    limit_cases: int = 5
    limit_weeks: int = 4


def seasonal_profile(
    counts: pd.DataFrame, until: int | None = None, smoothing: int = 2
) -> np.ndarray:
    """Relative level of each ISO week of the year (index 1..53), mean 1, all units.

    Parameters
    ----------
    counts : pandas.DataFrame
        Weekly counts (Monday index, one column per unit).
    until : int, optional
        Use only the weeks before this position (default: all).
    smoothing : int
        Half-width, in weeks, of the circular moving average over the year.

    Returns
    -------
    numpy.ndarray
        54 values; position 0 is unused, 53 is the mean of weeks 52 and 1. All ones
        when fewer than 52 weeks are available or no fact at all.
    """
    totals = counts.iloc[:until].sum(axis=1).to_numpy(dtype=float)
    profile = np.ones(54)
    if len(totals) < 52 or totals.sum() == 0:
        return profile
    weeks = counts.index[: len(totals)].isocalendar().week.to_numpy()
    per_week = np.array(
        [
            totals[weeks == week].mean() if (weeks == week).any() else np.nan
            for week in range(1, 53)
        ]
    )
    per_week = pd.Series(per_week).interpolate(limit_direction="both").to_numpy()
    kernel = np.ones(2 * smoothing + 1) / (2 * smoothing + 1)
    wrapped = np.concatenate([per_week[-smoothing:], per_week, per_week[:smoothing]])
    smooth = np.convolve(wrapped, kernel, mode="valid")
    smooth = smooth / smooth.mean()
    profile[1:53] = smooth
    profile[53] = (smooth[-1] + smooth[0]) / 2
    return profile


def cusum(
    counts: pd.DataFrame,
    first: np.ndarray | None = None,
    params: CusumParams = CusumParams(),
    profile: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Expected counts, CUSUM and alarms of every unit at every week.

    Parameters
    ----------
    counts : pandas.DataFrame
        Weekly counts (Monday index, one column per unit).
    first : numpy.ndarray, optional
        Position of each unit's first week of history (default 0): weeks before it
        are not part of its baseline.
    params : CusumParams
    profile : numpy.ndarray, optional
        Seasonal profile from :func:`seasonal_profile` (default: from ``counts``).

    Returns
    -------
    dict
        Arrays (weeks x units): ``expected`` (NaN while the baseline is too short),
        ``dispersion`` (phi, at least 1), ``statistic`` (S) and ``alarm``.
    """
    y = counts.to_numpy(dtype=float)
    n_weeks, n_units = y.shape
    first = np.zeros(n_units, dtype=int) if first is None else np.asarray(first)
    if profile is None:
        profile = seasonal_profile(counts, smoothing=params.smoothing)
    season = profile[counts.index.isocalendar().week.to_numpy()].astype(float)
    baseline = _Baseline(y, season, first)
    recent = _recent_sums(y, params.limit_weeks)
    out = {
        "expected": np.full(y.shape, np.nan),
        "dispersion": np.full(y.shape, np.nan),
        "statistic": np.zeros(y.shape),
        "alarm": np.zeros(y.shape, dtype=bool),
    }
    s_prev = np.zeros(n_units)
    log_shift = np.log(params.shift)
    for t in range(n_weeks):
        end = max(t - params.baseline_excluded, 0)
        ok = end - first >= params.min_baseline_weeks
        lam, phi = baseline.level(end, season[t])
        lam, phi = np.where(ok, lam, np.nan), np.where(ok, phi, np.nan)
        step = (y[t] * log_shift - (params.shift - 1) * lam) / phi
        s_now = np.where(ok, np.maximum(0.0, s_prev + step), 0.0)
        alarm = ok & (s_now > params.h) & (recent[t] >= params.limit_cases)
        out["expected"][t], out["dispersion"][t] = lam, phi
        out["statistic"][t], out["alarm"][t] = s_now, alarm
        # Restart after an alarm, as a CUSUM does: a lasting rise alarms again
        # once it has built up anew, not every week on the old excess.
        s_prev = np.where(alarm, 0.0, s_now)
    return out


def _recent_sums(y: np.ndarray, weeks: int) -> np.ndarray:
    """Sum of each unit's last ``weeks`` weeks, the week itself included."""
    cum = np.vstack([np.zeros(y.shape[1]), np.cumsum(y, axis=0)])
    lagged = np.vstack([np.zeros((weeks, y.shape[1])), cum[:-weeks]])[1:]
    return cum[1:] - lagged[: len(y)]


class _Baseline:
    """Each unit's own level and dispersion over [first, end), by running sums."""

    def __init__(self, y: np.ndarray, season: np.ndarray, first: np.ndarray):
        zeros = np.zeros((1, y.shape[1]))
        self.first = first
        self.units = np.arange(y.shape[1])
        self.cum_y = np.vstack([zeros, np.cumsum(y, axis=0)])
        # A week whose bailleur-wide profile is 0 holds no fact anywhere: it adds
        # nothing (0/0 made NaN, which the running sum carried to every later week).
        y2s = np.divide(
            y**2,
            season[:, None],
            out=np.zeros(y.shape),
            where=season[:, None] > 0,
        )
        self.cum_y2s = np.vstack([zeros, np.cumsum(y2s, axis=0)])
        self.cum_s = np.concatenate([[0.0], np.cumsum(season)])

    def _window(self, cum: np.ndarray, end: int, start: np.ndarray) -> np.ndarray:
        return (
            cum[end] - cum[start, self.units]
            if cum.ndim == 2
            else cum[end] - cum[start]
        )

    def level(self, end: int, season_now: float) -> tuple[np.ndarray, np.ndarray]:
        """Expected count this week and Pearson dispersion (at least 1)."""
        start = np.minimum(self.first, end)
        total = self._window(self.cum_y, end, start)
        weight = np.maximum(self._window(self.cum_s, end, start), 1e-12)
        rate = total / weight
        # sum((y - r s)^2 / (r s)) = sum(y^2 / s) / r - 2 sum(y) + r sum(s)
        with np.errstate(divide="ignore", invalid="ignore"):
            chi2 = (
                self._window(self.cum_y2s, end, start) / rate
                - 2 * total
                + rate * weight
            )
            phi = chi2 / np.maximum(end - start - 1, 1)
        phi = np.where(np.isfinite(phi), np.maximum(phi, 1.0), 1.0)
        return rate * season_now, phi
