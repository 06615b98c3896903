"""Periods of whole months: parsing, labels, runs of consecutive months."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from orfi.errors import ValidationError
from orfi.timezone import now_local

logger = logging.getLogger(__name__)

_PERIOD = re.compile(
    r"^\s*(?P<y1>\d{4})(?:-(?P<m1>\d{2}))?\s*(?:(?:\.\.|/)\s*(?P<y2>\d{4})-(?P<m2>\d{2}))?\s*$"
)


@dataclass(frozen=True, order=True)
class Period:
    """Whole months from ``start`` to ``end`` inclusive, as YYYYMM integers."""

    start: int
    end: int

    @classmethod
    def year(cls, year: int) -> Period:
        """Return the calendar year ``year``."""
        return cls(year * 100 + 1, year * 100 + 12)

    @property
    def months(self) -> list[int]:
        """Return every month of the period, in order."""
        months, month = [], self.start
        while month <= self.end:
            months.append(month)
            month = _next_month(month)
        return months

    @property
    def label(self) -> str:
        """Return the period as people write it: ``2026``, ``2026-03``, ``a..b``."""
        if self.start % 100 == 1 and self.end == self.start + 11:
            return str(self.start // 100)
        if self.start == self.end:
            return month_text(self.start)
        return f"{month_text(self.start)}..{month_text(self.end)}"

    @property
    def french(self) -> str:
        """Return the period in words (``année 2026``, ``de 01/2026 à 06/2026``)."""
        if self.start % 100 == 1 and self.end == self.start + 11:
            return f"année {self.start // 100}"
        if self.start == self.end:
            return f"{self.start % 100:02d}/{self.start // 100}"
        return (
            f"de {self.start % 100:02d}/{self.start // 100} "
            f"à {self.end % 100:02d}/{self.end // 100}"
        )

    def contains(self, other: Period) -> bool:
        """Whether ``other`` lies within this period."""
        return self.start <= other.start and other.end <= self.end

    def overlaps(self, other: Period) -> bool:
        """Whether the two periods share a month."""
        return self.start <= other.end and other.start <= self.end


def month_text(month: int) -> str:
    """Return ``YYYY-MM`` for a YYYYMM integer."""
    return f"{month // 100:04d}-{month % 100:02d}"


def parse_month(text: str) -> int:
    """Return the YYYYMM integer of ``YYYY-MM`` (ValueError if invalid)."""
    year, month = text.split("-")
    if len(year) != 4 or len(month) != 2 or not 1 <= int(month) <= 12:
        raise ValueError(text)
    return int(year) * 100 + int(month)


def parse_period(text: str | None) -> Period:
    """Parse ``2026``, ``2026-03`` or ``2026-01..2026-06``; French error otherwise."""
    match = _PERIOD.match(text or "")
    message = (
        "Période invalide : indiquez une année (2026), un mois (2026-03) ou deux mois "
        "(2026-01..2026-06)."
    )
    if not match:
        raise ValidationError({"period": [message]})
    y1, m1, y2, m2 = (match.group(n) for n in ("y1", "m1", "y2", "m2"))
    if y2 and not m1:
        raise ValidationError({"period": [message]})
    try:
        if not m1:
            period = Period.year(int(y1))
        else:
            start = parse_month(f"{y1}-{m1}")
            end = parse_month(f"{y2}-{m2}") if y2 else start
            period = Period(start, end)
    except ValueError:
        raise ValidationError({"period": [message]}) from None
    if period.start > period.end:
        raise ValidationError(
            {"period": ["Période invalide : le mois de fin précède celui de début."]}
        )
    if not 2000 <= period.start // 100 <= 2100:
        raise ValidationError({"period": ["Période invalide : année hors limites."]})
    return period


def current_year() -> int:
    """Return the current year in Europe/Paris."""
    return now_local().year


def consecutive_runs(months: list[int]) -> list[Period]:
    """Group sorted months into periods of consecutive months."""
    runs: list[Period] = []
    for month in months:
        if runs and _next_month(runs[-1].end) == month:
            runs[-1] = Period(runs[-1].start, month)
        else:
            runs.append(Period(month, month))
    return runs


def _next_month(month: int) -> int:
    return month + 1 if month % 100 < 12 else (month // 100 + 1) * 100 + 1
