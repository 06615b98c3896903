"""Weekly count series per unit (résidence, entrée...): ISO weeks, zero weeks filled."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)


def week_monday(dates: Sequence | np.ndarray | pd.Series) -> np.ndarray:
    """The Monday that starts each date's ISO week, as ``datetime64[D]``.

    Parameters
    ----------
    dates : array-like of dates or datetimes
        Local (Europe/Paris) dates of the facts; a time of day is dropped.

    Returns
    -------
    numpy.ndarray
        ``datetime64[D]`` Mondays, one per input date.
    """
    days = np.asarray(pd.to_datetime(np.asarray(dates)).values.astype("datetime64[D]"))
    if np.isnat(days).any():
        raise ValueError("a date is missing: every fact needs its date")
    # 1970-01-01 was a Thursday: (days + 3) % 7 is 0 on Mondays.
    ordinal = days.astype("int64")
    return (ordinal - (ordinal + 3) % 7).astype("datetime64[D]")


def weekly_counts(
    dates: Sequence | np.ndarray | pd.Series,
    units: Sequence | np.ndarray | pd.Series,
    *,
    start=None,
    end=None,
    all_units: Sequence | None = None,
) -> pd.DataFrame:
    """Count facts per ISO week and unit, weeks without facts filled with zeros.

    Parameters
    ----------
    dates : array-like
        Date of each fact (local date; datetimes are truncated to the day).
    units : array-like
        Unit id of each fact (same length as ``dates``).
    start, end : date-like, optional
        First and last week to cover (any day of the week); default: the weeks of the
        first and last fact. Facts outside are ignored.
    all_units : sequence, optional
        Units to give a column even without any fact (their series is all zeros).

    Returns
    -------
    pandas.DataFrame
        One row per week (index ``week``: the Monday, consecutive), one column per
        unit, integer counts.
    """
    mondays = week_monday(dates)
    units = np.asarray(units)
    if len(mondays) != len(units):
        raise ValueError("dates and units must have the same length")
    if start is None and not len(mondays):
        raise ValueError("no fact and no start: the weeks are unknown")
    first = week_monday([start])[0] if start is not None else mondays.min()
    last = week_monday([end])[0] if end is not None else mondays.max()
    if last < first:
        raise ValueError("end is before start")
    index = pd.DatetimeIndex(
        np.arange(first, last + np.timedelta64(7, "D"), 7), name="week"
    )
    keep = (mondays >= first) & (mondays <= last)
    columns = pd.Index(
        sorted(set(units[keep].tolist()) | set(all_units or ())), name="unit"
    )
    row = ((mondays[keep] - first) // np.timedelta64(7, "D")).astype("int64")
    col = columns.get_indexer(units[keep])
    table = np.zeros((len(index), len(columns)), dtype="int64")
    np.add.at(table, (row, col), 1)
    return pd.DataFrame(table, index=index, columns=columns)
