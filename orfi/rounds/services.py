"""The patrol sheet of a user's perimeter: its facts, the back-test, the list.

The list and its back-test come from :mod:`orfi.earlywarning.patrol`; this module
reads the perimeter's facts (reported, duplicates excluded) and résidences, and
decides what the sheet shows: the list only where the method beat the naive list
over the past year. Method and limits: docs/early-warning.md, « Priorités de rondes ».
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import pandas as pd

from orfi.auth.models import User
from orfi.auth.perimeter import visible_residences
from orfi.earlywarning.patrol import PatrolParams, backtest, patrol_list
from orfi.extensions import db
from orfi.patrimoine.models import Residence
from orfi.reports.models import Report
from orfi.reports.queries import counted_reports, visible_reports
from orfi.timezone import from_local, now_local

logger = logging.getLogger(__name__)

#: Most places on the sheet, and at most this share of the perimeter's résidences:
#: a list that holds most of the patrimoine says nothing.
SHEET_TOP = 10
SHEET_SHARE = 0.2
#: Weeks of the back-test; the facts read go back this far plus the score's history.
BACKTEST_WEEKS = 52
PARAMS = PatrolParams()


@dataclass
class PatrolSheet:
    """What the page shows: the week, the verdict in words, the list if offered."""

    perimeter: str
    week_start: date
    week_end: date
    facts_read: int
    places: int
    top: int
    offered: bool
    verdict: str
    rows: list[dict] = field(default_factory=list)
    hit_rate: float | None = None
    naive_hit_rate: float | None = None
    pai: float | None = None
    naive_pai: float | None = None


def coming_week(today: date) -> tuple[date, date]:
    """The week the sheet is for: from next Monday (today when it is Monday)."""
    start = today + timedelta(days=(7 - today.weekday()) % 7)
    return start, start + timedelta(days=6)


def read_facts(user: User, since: date) -> pd.DataFrame:
    """The perimeter's facts since ``since`` (local day): when (local), place,
    category; duplicates excluded."""
    query = (
        counted_reports(visible_reports(user))
        .where(
            Report.occurred_at >= from_local(datetime.combine(since, time())),
            Report.residence_id.is_not(None),
        )
        .with_only_columns(Report.occurred_at, Report.residence_id, Report.category_id)
    )
    rows = db.session.execute(query).all()
    when = pd.to_datetime([row[0] for row in rows], utc=True)
    return pd.DataFrame(
        {
            "when": when.tz_convert("Europe/Paris").tz_localize(None),
            "place": [row[1] for row in rows],
            "category": [row[2] for row in rows],
        }
    )


def read_places(user: User) -> pd.DataFrame:
    """The perimeter's résidences: id, name, reference, commune, logements."""
    query = visible_residences(user).with_only_columns(
        Residence.id,
        Residence.name,
        Residence.reference,
        Residence.commune_name,
        Residence.logements,
    )
    rows = db.session.execute(query.order_by(Residence.id)).all()
    return pd.DataFrame(
        rows, columns=["place", "name", "reference", "commune", "logements"]
    )


def build_patrol_sheet(user: User, today: date | None = None) -> PatrolSheet:
    """The sheet for the coming week: list offered only if it beat the naive list."""
    today = today or now_local().date()
    start, end = coming_week(today)
    # Complete weeks only: the back-test ends with the week before today's.
    this_monday = today - timedelta(days=today.weekday())
    since = this_monday - timedelta(weeks=BACKTEST_WEEKS + PARAMS.history_weeks)
    places = read_places(user)
    facts = read_facts(user, since)
    top = max(1, min(SHEET_TOP, int(len(places) * SHEET_SHARE)))
    # A chef d'agence's perimeter is the agence, anyone else's the bailleur.
    perimeter = (user.agence or user.organisation).name
    sheet = PatrolSheet(perimeter, start, end, len(facts), len(places), top, False, "")
    if places.empty:
        sheet.verdict = "Aucune résidence dans votre périmètre."
        return sheet
    result = backtest(
        facts, places, this_monday, weeks=BACKTEST_WEEKS, top=top, params=PARAMS
    )
    sheet.verdict = result.sentence()
    summary = result.summary
    sheet.hit_rate = summary.loc["methode", "hit_rate"]
    sheet.naive_hit_rate = summary.loc["naive", "hit_rate"]
    sheet.pai = summary.loc["methode", "pai"]
    sheet.naive_pai = summary.loc["naive", "pai"]
    sheet.offered = result.beats_naive
    if sheet.offered:
        listed = patrol_list(facts, places, start, top=top, params=PARAMS)
        names = places.set_index("place")
        sheet.rows = [
            {
                "rank": int(row.rank),
                "name": names.at[row.place, "name"],
                "reference": names.at[row.place, "reference"],
                "commune": names.at[row.place, "commune"],
                "reason": row.reason,
                "hours": row.hours,
            }
            for row in listed.itertuples()
        ]
    logger.info(
        "Priorités de rondes : %d faits, %d résidences, proposée : %s",
        len(facts),
        len(places),
        sheet.offered,
    )
    return sheet
