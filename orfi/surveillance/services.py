"""Early warning for a bailleur: weekly counts from its facts, statuses stored, alarms
put through the alert pipeline (issue 14; method in orfi.earlywarning).

Services flush, never commit: the worker, the command and the page run them in
:func:`orfi.transaction.unit_of_work` (see :mod:`orfi.surveillance.runs`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from orfi.database import utcnow
from orfi.earlywarning import ALERTE, unit_statuses, weekly_counts
from orfi.earlywarning.nearrepeat import (
    NearRepeatParams,
    knox_by_category,
    project_lonlat,
)
from orfi.extensions import db
from orfi.nomenclature.models import Category, Family
from orfi.notifications.models import EventKind
from orfi.notifications.services import FactValues, record_event
from orfi.patrimoine.models import Residence
from orfi.reports.models import Report
from orfi.reports.queries import counted_reports
from orfi.surveillance.models import ALL_FACTS, EarlyWarningStatus
from orfi.timezone import PARIS, from_local, to_local

logger = logging.getLogger(__name__)

#: The event kind of an alarm (docs/alerts.md).
EARLY_WARNING = EventKind.EARLY_WARNING.value
#: Local hour on Monday from which the week just ended is computed.
WEEKLY_HOUR = 6
#: History read before the week checked: Farrington's 5 years and 3 weeks, plus margin.
HISTORY_WEEKS = 5 * 53 + 8
#: Weeks of facts (ending with the week computed) read by the Knox test per category.
KNOX_WEEKS = 26
#: Fewest facts of a category in those weeks for its Knox test to count.
KNOX_MIN_FACTS = 20
KNOX_PARAMS = NearRepeatParams(permutations=999)


def week_to_compute(now: datetime) -> date:
    """Return the Monday of the last complete ISO week, as seen at ``now``: from
    Monday 06:00 (Europe/Paris) the week that just ended, before that the one
    before (facts of Sunday night are still being filed)."""
    local = to_local(now)
    monday = local.date() - timedelta(days=local.weekday())
    if local.weekday() == 0 and local.hour < WEEKLY_HOUR:
        return monday - timedelta(days=14)
    return monday - timedelta(days=7)


def monday_of(day: date) -> date:
    """Return the Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


@dataclass
class Facts:
    """A bailleur's counted facts of the window: local date, résidence, family."""

    days: np.ndarray
    residence_ids: np.ndarray
    families: np.ndarray


def load_facts(organisation_id: int, first: date, last: date) -> Facts:
    """Return the bailleur's counted facts (duplicates excluded) whose local date
    falls in the weeks ``first`` to ``last`` (Mondays), by the date of the fact."""
    start = from_local(datetime.combine(first, time.min))
    end = from_local(datetime.combine(last + timedelta(days=7), time.min))
    rows = db.session.execute(
        counted_reports(
            sa.select(Report.occurred_at, Report.residence_id, Family.code)
            .select_from(Report)
            .join(Category, Report.category_id == Category.id)
            .join(Family, Category.family_id == Family.id)
        ).where(
            Report.organisation_id == organisation_id,
            Report.occurred_at >= start,
            Report.occurred_at < end,
        )
    ).all()
    if not rows:
        return Facts(np.array([], "datetime64[D]"), np.array([], int), np.array([]))
    moments, residence_ids, families = zip(*rows, strict=True)
    stamps = pd.to_datetime(list(moments), utc=True).tz_convert(PARIS)
    days = stamps.tz_localize(None).values.astype("datetime64[D]")
    return Facts(days, np.asarray(residence_ids), np.asarray(families))


def history_starts(
    residences: list[Residence], facts: Facts, organisation_first: date | None
) -> dict[int, date]:
    """Return when each résidence's history starts: when the bailleur's facts start,
    or later when the résidence joined orfi after that (unless it has facts from
    before it joined: an import of past facts)."""
    first_fact: dict[int, date] = {}
    if len(facts.days):
        frame = pd.DataFrame({"r": facts.residence_ids, "d": facts.days})
        for rid, day in frame.groupby("r")["d"].min().items():
            first_fact[int(rid)] = pd.Timestamp(day).date()
    starts = {}
    for residence in residences:
        joined = to_local(residence.created_at).date()
        start = organisation_first or joined
        if joined > start:
            start = min(joined, first_fact.get(residence.id, joined))
        starts[residence.id] = start
    return starts


def _family_unit(residence_id: int, family: str) -> str:
    return f"{residence_id}:{family}"


def compute_statuses(organisation_id: int, week: date) -> pd.DataFrame:
    """Return the statuses of ``week`` for the bailleur's résidences: one row per
    résidence for all facts (``family`` ALL_FACTS) and one per résidence × family
    that has facts in the window. Columns: residence_id, family, and those of
    :func:`orfi.earlywarning.unit_statuses`."""
    residences = list(
        db.session.scalars(
            sa.select(Residence)
            .where(Residence.organisation_id == organisation_id)
            .order_by(Residence.id)
        )
    )
    if not residences:
        return pd.DataFrame()
    first = week - timedelta(weeks=HISTORY_WEEKS)
    facts = load_facts(organisation_id, first, week)
    first_day = db.session.scalar(
        counted_reports(
            sa.select(sa.func.min(Report.occurred_at)).where(
                Report.organisation_id == organisation_id
            )
        )
    )
    organisation_first = to_local(first_day).date() if first_day else None
    starts = history_starts(residences, facts, organisation_first)
    ids = [r.id for r in residences]
    counts = weekly_counts(
        facts.days, facts.residence_ids, start=first, end=week, all_units=ids
    )
    frames = [
        _rows(unit_statuses(counts, [pd.Timestamp(week)], first_weeks=starts)).assign(
            residence_id=lambda f: f.index.astype(int), family=ALL_FACTS
        )
    ]
    if len(facts.days):
        units = [
            _family_unit(r, f)
            for r, f in zip(facts.residence_ids, facts.families, strict=True)
        ]
        by_family = weekly_counts(facts.days, units, start=first, end=week)
        family_starts = {
            unit: starts[int(unit.split(":")[0])] for unit in by_family.columns
        }
        rows = _rows(
            unit_statuses(by_family, [pd.Timestamp(week)], first_weeks=family_starts)
        )
        keys = rows.index.str.split(":", n=1)
        frames.append(
            rows.assign(
                residence_id=[int(k[0]) for k in keys], family=[k[1] for k in keys]
            )
        )
    return pd.concat(frames, ignore_index=True)


def _rows(statuses: pd.DataFrame) -> pd.DataFrame:
    """The one week's rows, indexed by unit."""
    return statuses.droplevel("week")


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def near_repeat_categories(organisation_id: int, week: date) -> list[int]:
    """Return the ids of the categories where the Knox test (999 permutations) finds
    a significant cell on the bailleur's counted facts of the :data:`KNOX_WEEKS`
    weeks ending with ``week``, each fact at its own position; categories with fewer
    than :data:`KNOX_MIN_FACTS` facts are not tested (as benchmarks/patrol.py)."""
    first = week - timedelta(weeks=KNOX_WEEKS - 1)
    start = from_local(datetime.combine(first, time.min))
    end = from_local(datetime.combine(week + timedelta(days=7), time.min))
    rows = db.session.execute(
        counted_reports(
            sa.select(
                Report.occurred_at,
                Report.longitude,
                Report.latitude,
                Report.category_id,
            )
        ).where(
            Report.organisation_id == organisation_id,
            Report.occurred_at >= start,
            Report.occurred_at < end,
        )
    ).all()
    if len(rows) < 2:
        return []
    moments, lon, lat, categories = zip(*rows, strict=True)
    x, y = project_lonlat(np.asarray(lon, float), np.asarray(lat, float))
    stamps = pd.to_datetime(list(moments), utc=True)
    days = (stamps - stamps.min()).total_seconds().to_numpy() / 86_400
    results = knox_by_category(x, y, days, np.asarray(categories), KNOX_PARAMS)
    return sorted(
        int(category)
        for category, result in results.items()
        if result.n_events >= KNOX_MIN_FACTS and len(result.significant())
    )


@dataclass
class Stored:
    """What storing a week did."""

    units: int
    alarms: int
    events: int


def store_statuses(organisation_id: int, week: date, statuses: pd.DataFrame) -> Stored:
    """Write the week's statuses (updating the rows of a week computed before) and
    record one alarm event per résidence that enters « alerte » (see
    :func:`record_alarms`). Flushed, not committed."""
    existing = {
        (row.residence_id, row.family): row
        for row in db.session.scalars(
            sa.select(EarlyWarningStatus).where(
                EarlyWarningStatus.organisation_id == organisation_id,
                EarlyWarningStatus.week == week,
            )
        )
    }
    now = utcnow()
    alarms = 0
    for item in statuses.itertuples(index=False):
        key = (int(item.residence_id), str(item.family))
        row = existing.pop(key, None)
        if row is None:
            row = EarlyWarningStatus(
                organisation_id=organisation_id,
                residence_id=key[0],
                week=week,
                family=key[1],
            )
            db.session.add(row)
        row.status = str(item.status)
        row.observed = int(item.observed)
        row.expected = _number(item.expected)
        row.low = _number(item.low)
        row.high = _number(item.high)
        row.threshold = _number(item.threshold)
        row.method = item.method if isinstance(item.method, str) else None
        row.years = None if pd.isna(item.years) else int(item.years)
        row.phrase = str(item.phrase)[:200]
        row.computed_at = now
        alarms += row.status == ALERTE
    # Units without facts any more (a fact moved or marked duplicate): not stale rows.
    for row in existing.values():
        db.session.delete(row)
    db.session.flush()
    events = record_alarms(organisation_id, week)
    return Stored(units=len(statuses), alarms=alarms, events=events)


def _alerting(organisation_id: int, week: date) -> dict[int, list[EarlyWarningStatus]]:
    """The week's rows in alerte, by résidence."""
    found: dict[int, list[EarlyWarningStatus]] = {}
    for row in db.session.scalars(
        sa.select(EarlyWarningStatus)
        .where(
            EarlyWarningStatus.organisation_id == organisation_id,
            EarlyWarningStatus.week == week,
            EarlyWarningStatus.status == ALERTE,
        )
        .order_by(EarlyWarningStatus.residence_id, EarlyWarningStatus.family)
    ):
        found.setdefault(row.residence_id, []).append(row)
    return found


def record_alarms(organisation_id: int, week: date) -> int:
    """Record one event per résidence that enters « alerte » in ``week`` (all its
    facts or one family): none when its week already has one (computed again), nor
    when the résidence was already in alerte the week before (it is still shown on
    the pages, not sent again). Return how many were recorded."""
    now_alerting = _alerting(organisation_id, week)
    if not now_alerting:
        return 0
    before = _alerting(organisation_id, week - timedelta(days=7))
    residences = {
        r.id: r
        for r in db.session.scalars(
            sa.select(Residence).where(Residence.id.in_(now_alerting))
        )
    }
    mains = {
        row.residence_id: row
        for row in db.session.scalars(
            sa.select(EarlyWarningStatus).where(
                EarlyWarningStatus.residence_id.in_(now_alerting),
                EarlyWarningStatus.week == week,
                EarlyWarningStatus.family == ALL_FACTS,
            )
        )
    }
    families = dict(db.session.execute(sa.select(Family.code, Family.label)).all())
    recorded = 0
    for residence_id, rows in now_alerting.items():
        main = mains.get(residence_id)
        if main is None or main.event_id is not None or residence_id in before:
            continue
        event = record_event(
            EARLY_WARNING,
            alarm_values(residences[residence_id]),
            actor_id=None,
            detail=alarm_detail(rows, families),
            extra={"week": week.isoformat()},
        )
        main.event_id = event.event.id
        recorded += 1
    db.session.flush()
    return recorded


def alarm_values(residence: Residence) -> FactValues:
    """What an alarm names: the résidence and its perimeter, no fact nor person."""
    return FactValues(
        organisation_id=residence.organisation_id,
        reference="",
        residence_id=residence.id,
        residence_name=residence.label,
        agence_id=residence.agence_id,
        category_code="",
        category_label="",
        gravity=None,
        occurred_at=None,
    )


def alarm_detail(rows: list[EarlyWarningStatus], families: dict[str, str]) -> str:
    """The alarm's sentence: « 9 faits cette semaine pour 2 à 4 attendus », per
    family when only a family alarms."""
    parts = []
    for row in rows:
        if row.family == ALL_FACTS:
            parts.insert(0, row.phrase)
        else:
            label = families.get(row.family, row.family)
            parts.append(f"{label} : {row.phrase}")
    return " ; ".join(parts)[:300]


def compute_and_store(organisation_id: int, week: date) -> Stored:
    """Compute a bailleur's week and store it (the caller's unit of work)."""
    statuses = compute_statuses(organisation_id, week)
    if statuses.empty:
        return Stored(0, 0, 0)
    return store_statuses(organisation_id, week, statuses)
