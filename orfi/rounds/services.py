"""The patrol sheet of a user's perimeter: its facts, the back-test, the list.

The list and its back-test come from :mod:`orfi.earlywarning.patrol`; this module
reads the perimeter's facts (reported, duplicates excluded) and résidences, and what
early warning's weekly run stored (:mod:`orfi.surveillance`): the categories where the
Knox test found near-repeat (last run) and the résidences' statuses per week. It
decides what the sheet shows: the list only where the method beat the naive list
over the past year. Method and limits: docs/early-warning.md, « Priorités de rondes ».
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import pandas as pd
import sqlalchemy as sa

from orfi.auth.models import User
from orfi.auth.perimeter import visible_residences
from orfi.earlywarning.patrol import PatrolParams, backtest, patrol_list
from orfi.earlywarning.status import ALERTE, VIGILANCE
from orfi.extensions import db
from orfi.nomenclature.models import Category
from orfi.patrimoine.models import Residence
from orfi.reports.models import Report
from orfi.reports.queries import counted_reports, visible_reports
from orfi.surveillance.reading import stored_statuses
from orfi.surveillance.runs import last_run
from orfi.timezone import from_local, now_local, to_local

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
    #: Labels of the categories weighted for near-repeat (stored by the last run).
    near_repeat: list[str] = field(default_factory=list)
    #: When the near-repeat categories were computed (local time), None if never.
    near_repeat_at: datetime | None = None
    #: Week of the early-warning statuses read for the list, None when none stored.
    status_week: date | None = None
    #: Listed résidences boosted by early warning: (name, « alerte » or « vigilance »).
    boosted: list[tuple[str, str]] = field(default_factory=list)


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
        .with_only_columns(
            Report.occurred_at,
            Report.residence_id,
            Report.category_id,
            Report.longitude,
            Report.latitude,
        )
    )
    rows = db.session.execute(query).all()
    when = pd.to_datetime([row[0] for row in rows], utc=True)
    return pd.DataFrame(
        {
            "when": when.tz_convert("Europe/Paris").tz_localize(None),
            "place": [row[1] for row in rows],
            "category": [row[2] for row in rows],
            "lon": pd.Series([row[3] for row in rows], dtype=float),
            "lat": pd.Series([row[4] for row in rows], dtype=float),
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
        Residence.longitude,
        Residence.latitude,
    )
    rows = db.session.execute(query.order_by(Residence.id)).all()
    return pd.DataFrame(
        rows,
        columns=["place", "name", "reference", "commune", "logements", "lon", "lat"],
    )


def read_near_repeat(
    organisation_id: int,
) -> tuple[list[int], list[str], datetime | None]:
    """The categories the last early-warning run found near-repeat in: ids, labels
    (nomenclature order) and when it finished (local); none if never run."""
    run = last_run(organisation_id, near_repeat=True)
    if run is None or not run.near_repeat:
        return [], [], to_local(run.finished_at) if run else None
    rows = db.session.execute(
        sa.select(Category.id, Category.label)
        .where(Category.id.in_(run.near_repeat))
        .order_by(Category.id)
    ).all()
    return [r.id for r in rows], [r.label for r in rows], to_local(run.finished_at)


def current_statuses(table: pd.DataFrame, start: date) -> tuple[date | None, dict]:
    """The statuses the coming week's list reads: the last complete week before
    ``start`` when stored (the week just before it is still running when the sheet
    is read before Monday), else none."""
    if table.empty:
        return None, {}
    week = table.index.get_level_values("week").max().date()
    if week < start - timedelta(weeks=2):
        return None, {}
    return week, table.xs(pd.Timestamp(week), level="week")["status"].to_dict()


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
    organisation_id = user.organisation_id
    near_ids, sheet.near_repeat, sheet.near_repeat_at = read_near_repeat(
        organisation_id
    )
    statuses = stored_statuses(
        organisation_id,
        visible_residences(user).with_only_columns(Residence.id),
        since,
        this_monday,
    )
    sheet.status_week, current = current_statuses(statuses, start)
    result = backtest(
        facts,
        places,
        this_monday,
        weeks=BACKTEST_WEEKS,
        top=top,
        near_repeat=near_ids,
        statuses=statuses[["status"]] if not statuses.empty else None,
        params=PARAMS,
    )
    sheet.verdict = result.sentence()
    summary = result.summary
    sheet.hit_rate = summary.loc["methode", "hit_rate"]
    sheet.naive_hit_rate = summary.loc["naive", "hit_rate"]
    sheet.pai = summary.loc["methode", "pai"]
    sheet.naive_pai = summary.loc["naive", "pai"]
    sheet.offered = result.beats_naive
    if sheet.offered:
        listed = patrol_list(
            facts,
            places,
            start,
            top=top,
            near_repeat=near_ids,
            statuses=current,
            params=PARAMS,
        )
        names = places.set_index("place")
        sheet.boosted = [
            (names.at[row.place, "name"], row.status)
            for row in listed.itertuples()
            if row.status in (ALERTE, VIGILANCE)
        ]
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
