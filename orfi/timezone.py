"""Europe/Paris time: facts are stored in UTC, shown and grouped in local time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def to_local(moment: datetime) -> datetime:
    """Return ``moment`` in Europe/Paris (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(PARIS)


def from_local(naive_local: datetime) -> datetime:
    """Return the UTC instant of a wall-clock time read in Europe/Paris."""
    return naive_local.replace(tzinfo=PARIS).astimezone(UTC)


def now_local() -> datetime:
    """Return the current wall-clock time in Europe/Paris."""
    return datetime.now(PARIS)
