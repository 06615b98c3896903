"""Statistics of a user's perimeter: three grouped queries, then vectorised pandas.

The database answers three ``GROUP BY`` queries whatever the number of facts, each
served by a covering index of migration 0003:

1. facts by UTC hour (``ix_report_stats_time``): every series over time and the hour ×
   weekday grid follow in pandas (Paris offsets are whole hours);
2. facts by category, lieu, victime and suite (``ix_report_stats_nature``, read in
   index order, no sort): families, categories, lieux, victimes, taux de plainte;
3. facts by résidence and category for this period, the previous one and the same
   period a year before in one pass (``ix_report_stats_residence``): top résidences,
   rates per 100 logements, QPV share, period comparisons.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from orfi.auth.models import User
from orfi.extensions import db
from orfi.geo.indicators import (
    percent_change,
    qpv_comparison,
    rank_residences,
    residence_table,
)
from orfi.nomenclature.services import list_categories
from orfi.reports.models import Lieu, Report, Suite, Victime
from orfi.reports.queries import visible_reports
from orfi.stats.charts import (
    WEEKDAY_NAMES,
    BarChart,
    ColumnChart,
    HeatGrid,
    bar_chart,
    column_chart,
    format_number,
    heat_grid,
)
from orfi.stats.filters import (
    FilterChoices,
    Period,
    StatsFilters,
    filtered_reports,
    utc_hour_of,
)
from orfi.stats.tables import Table
from orfi.timezone import PARIS, now_local, to_local

logger = logging.getLogger(__name__)

COMPLAINTS = frozenset({Suite.PLAINTE_BAILLEUR, Suite.PLAINTE_VICTIME})
NOT_SPECIFIED = "Non précisé"
MONTHS = (
    "janv.", "févr.", "mars", "avr.", "mai", "juin",
    "juil.", "août", "sept.", "oct.", "nov.", "déc.",
)  # fmt: skip
#: Résidences listed in the ranking.
TOP_RESIDENCES = 15


# --------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------


def utc_hour_query(user: User, filters: StatsFilters) -> sa.Select:
    """Facts per UTC hour of the period (``bucket``, ``n``)."""
    bucket = utc_hour_of(Report.occurred_at).label("bucket")
    return (
        filtered_reports(user, filters)
        .with_only_columns(bucket, sa.func.count().label("n"))
        .group_by(bucket)
    )


def hours_frame(rows) -> pd.DataFrame:
    """Rows of :func:`utc_hour_query` as columns ``hour`` (UTC) and ``count``."""
    if not rows:
        return pd.DataFrame({"hour": pd.DatetimeIndex([], tz="UTC"), "count": []})
    buckets = [row[0] for row in rows]
    if isinstance(buckets[0], str):
        hours = pd.to_datetime(buckets, format="%Y-%m-%d %H", utc=True)
    else:
        hours = pd.to_datetime(buckets, utc=True)
    return pd.DataFrame({"hour": hours, "count": [row[1] for row in rows]})


def count_reports_by_utc_hour(user: User, filters: StatsFilters) -> pd.DataFrame:
    """Return facts per UTC hour of the period: columns ``hour`` (UTC), ``count``."""
    return hours_frame(db.session.execute(utc_hour_query(user, filters)).all())


NATURE_COLUMNS = ("category_id", "lieu", "victime", "suite")


def nature_query(user: User, filters: StatsFilters) -> sa.Select:
    """Facts per (category, lieu, victime, suite) over the period."""
    columns = [getattr(Report, name) for name in NATURE_COLUMNS]
    return (
        filtered_reports(user, filters)
        .with_only_columns(*columns, sa.func.count().label("count"))
        .group_by(*columns)
    )


def nature_frame(rows) -> pd.DataFrame:
    """Rows of :func:`nature_query` as a DataFrame (enum codes, "" when missing)."""
    # Missing values become "" (never NaN): they are groups of their own.
    return pd.DataFrame(
        [
            (category_id, _code(lieu), _code(victime), _code(suite), count)
            for category_id, lieu, victime, suite, count in rows
        ],
        columns=[*NATURE_COLUMNS, "count"],
    ).astype({"count": np.int64})


def count_reports_by_nature(user: User, filters: StatsFilters) -> pd.DataFrame:
    """Return facts per (category, lieu, victime, suite) over the period."""
    return nature_frame(db.session.execute(nature_query(user, filters)).all())


def _code(member) -> str:
    return "" if member is None else member.value


def residence_query(
    user: User, filters: StatsFilters, periods: dict[str, Period]
) -> sa.Select:
    """Facts per (résidence, category) since each cut point of ``periods``, one pass.

    Periods may overlap (a 12-month period's previous one *is* the year before), so
    the query counts facts at or after each distinct bound — one comparison per
    bound and row instead of two per period — and :func:`residence_counts_frame`
    takes differences.
    """
    span, cuts = _cut_points(periods)
    columns = [sa.func.count().label("from_start")]
    columns += [
        sa.func.sum(sa.case((Report.occurred_at >= cut, 1), else_=0)).label(f"c{i}")
        for i, cut in enumerate(cuts)
    ]
    return (
        filtered_reports(user, filters, span=span)
        .with_only_columns(Report.residence_id, Report.category_id, *columns)
        .group_by(Report.residence_id, Report.category_id)
    )


def _cut_points(periods: dict[str, Period]):
    bounds = [period.bounds() for period in periods.values()]
    span = (min(lo for lo, _ in bounds), max(hi for _, hi in bounds))
    cuts = sorted({t for pair in bounds for t in pair if span[0] < t < span[1]})
    return span, cuts


def residence_counts_frame(rows, periods: dict[str, Period]) -> pd.DataFrame:
    """Rows of :func:`residence_query` as ``residence_id``, ``category_id`` and the
    facts of each period."""
    span, cuts = _cut_points(periods)
    names = ["from_start", *(f"c{i}" for i in range(len(cuts)))]
    raw = pd.DataFrame(
        [tuple(row) for row in rows], columns=["residence_id", "category_id", *names]
    )
    # Facts at or after each instant: from_start at the span's start, 0 at its end.
    at_or_after = {
        span[0]: "from_start",
        **{cut: f"c{i}" for i, cut in enumerate(cuts)},
    }
    frame = raw[["residence_id", "category_id"]].copy()
    for name, period in periods.items():
        lo, hi = period.bounds()
        since_lo = raw[at_or_after[lo]].fillna(0)
        since_hi = raw[at_or_after[hi]].fillna(0) if hi in at_or_after else 0
        frame[name] = (since_lo - since_hi).astype(np.int64)
    return frame


def count_reports_by_residence(
    user: User, filters: StatsFilters, periods: dict[str, Period]
) -> pd.DataFrame:
    """Return facts per (résidence, category) in each of ``periods``, in one pass.

    The columns are ``residence_id``, ``category_id`` and one count per period name.
    """
    rows = db.session.execute(residence_query(user, filters, periods)).all()
    return residence_counts_frame(rows, periods)


# --------------------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------------------


@dataclass
class Calendar:
    """Facts over time in Europe/Paris: per day, week, month, and hour × weekday."""

    days: pd.Series  # indexed by date, every day of the period
    grid: list[list[int]]  # [weekday][hour]


def local_calendar(by_hour: pd.DataFrame, period: Period) -> Calendar:
    """Spread UTC-hour counts over local days and the hour × weekday grid."""
    all_days = pd.date_range(period.start, period.end, freq="D")
    grid = np.zeros((7, 24), dtype=np.int64)
    if by_hour.empty:
        return Calendar(days=pd.Series(0, index=all_days.date), grid=grid.tolist())
    local = pd.DatetimeIndex(by_hour["hour"]).tz_convert(PARIS)
    counts = by_hour["count"].to_numpy(dtype=np.int64)
    np.add.at(grid, (local.day_of_week, local.hour), counts)
    day_index = local.tz_localize(None).normalize()
    days = (
        pd.Series(counts, index=day_index)
        .groupby(level=0)
        .sum()
        .reindex(all_days, fill_value=0)
    )
    return Calendar(
        days=pd.Series(days.to_numpy(), index=all_days.date), grid=grid.tolist()
    )


def _month_series(days: pd.Series, period: Period) -> list[tuple[date, int, bool]]:
    """(first day of month, count, partial) for each month the period touches."""
    index = pd.DatetimeIndex(days.index)
    months = pd.Series(days.to_numpy(), index=index).groupby(index.to_period("M")).sum()
    result = []
    for month, count in months.items():
        first = month.start_time.date()
        last = month.end_time.date()
        partial = first < period.start or last > period.end
        result.append((first, int(count), partial))
    return result


def _week_series(days: pd.Series, period: Period) -> list[tuple[date, int, bool]]:
    """(Monday, count, partial) for each week (Monday to Sunday) the period touches."""
    index = pd.DatetimeIndex(days.index)
    mondays = index - pd.to_timedelta(index.day_of_week, unit="D")
    weeks = pd.Series(days.to_numpy(), index=mondays).groupby(level=0).sum()
    result = []
    for monday, count in weeks.items():
        first = monday.date()
        partial = first < period.start or first + timedelta(days=6) > period.end
        result.append((first, int(count), partial))
    return result


# --------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------


@dataclass
class Comparison:
    """This period against another: dates, facts, difference."""

    name: str
    period: Period
    count: int
    change: int | None = None
    change_pct: float | None = None
    #: False when the period starts before the perimeter's history (no comparison).
    covered: bool = True


@dataclass
class Statistics:
    """Everything the statistics page shows, and the tables it lets people download."""

    filters: StatsFilters
    total: int
    complaint_rate: float | None
    qpv_share: float | None
    comparisons: list[Comparison]
    months: ColumnChart
    weeks: ColumnChart
    families: BarChart
    categories: BarChart
    lieux: BarChart
    victimes: BarChart
    grid: HeatGrid
    tables: dict[str, Table] = field(default_factory=dict)
    #: First day of the month of the perimeter's first fact (None: no fact yet).
    history_from: date | None = None


def residence_frame(
    choices: FilterChoices, residence_ids: tuple[int, ...] | None = None
) -> pd.DataFrame:
    """Return the résidences of the perimeter (or these ones) as a DataFrame."""
    residences = choices.residences
    if residence_ids is not None:
        wanted = set(residence_ids)
        residences = [r for r in residences if r.id in wanted]
    return pd.DataFrame(
        {
            "id": [r.id for r in residences],
            "reference": [r.reference for r in residences],
            "name": [r.name for r in residences],
            "commune": [r.commune_name for r in residences],
            "address": [r.address or "" for r in residences],
            "logements": [r.logements or 0 for r in residences],
            "qpv_code": [r.qpv_code or "" for r in residences],
            "agence_id": [r.agence_id for r in residences],
            "latitude": [r.latitude for r in residences],
            "longitude": [r.longitude for r in residences],
        },
        columns=[
            "id",
            "reference",
            "name",
            "commune",
            "address",
            "logements",
            "qpv_code",
            "agence_id",
            "latitude",
            "longitude",
        ],  # fmt: skip
    )


#: From this length on, the previous period is the year before (or overlaps it).
YEAR_DAYS = 365


def comparison_periods(filters: StatsFilters) -> dict[str, Period]:
    """The period, the one just before and, for a period shorter than a year, the
    same dates a year before (over a year the two would be the same figure)."""
    periods = {"current": filters.period, "previous": filters.period.previous()}
    if filters.period.days < YEAR_DAYS:
        periods["year_before"] = filters.period.year_before()
    return periods


def find_history_start(user: User) -> date | None:
    """Return the first day of the month of the first fact ``user``'s perimeter
    holds (recorded or imported, duplicates included), or None if it holds none.

    A comparison is meaningful only over months the perimeter has recorded: before
    its first fact, a new deployment has no history, not zero facts.
    """
    first = db.session.scalar(
        visible_reports(user).with_only_columns(sa.func.min(Report.occurred_at))
    )
    if first is None:
        return None
    return to_local(first).date().replace(day=1)


def covers(history_from: date | None, period: Period) -> bool:
    """Whether the perimeter's history covers ``period`` (it starts after it began)."""
    return history_from is not None and period.start >= history_from


def build_statistics(
    user: User, filters: StatsFilters, choices: FilterChoices
) -> Statistics:
    """Compute every figure and table of the statistics page for ``user``."""
    period = filters.period
    periods = comparison_periods(filters)
    # One session, one transaction: every table of the page reads the same snapshot.
    # (Running the three queries on parallel connections gained nothing measurable
    # on the two shared cores this was measured on.)
    calendar = local_calendar(count_reports_by_utc_hour(user, filters), period)
    nature = count_reports_by_nature(user, filters)
    by_residence = count_reports_by_residence(user, filters, periods)

    categories = {c.id: c for c in choices.categories}
    families = {f.id: f for f in choices.families}
    nature["family"] = nature["category_id"].map(
        lambda i: categories[i].family.code if i in categories else "??"
    )
    total = int(nature["count"].sum())
    tables: dict[str, Table] = {}
    month_chart, week_chart, grid = _time_figures(calendar, period, tables)
    complaints = nature[nature["suite"].isin({s.value for s in COMPLAINTS})]
    family_chart, family_order = _family_figures(
        nature, complaints, families, total, tables
    )
    category_chart = _category_figures(nature, categories, total, tables)
    lieu_chart, tables["lieux"] = _enum_breakdown(
        nature, "lieu", Lieu, "Faits par lieu", "lieu", total
    )
    victime_chart, tables["victimes"] = _enum_breakdown(
        nature, "victime", Victime, "Faits par victime", "victime", total
    )
    complaint_count = int(complaints["count"].sum())
    complaint_rate = _share(complaint_count, total) if total else None
    history_from = find_history_start(user)
    covered = {name: covers(history_from, p) for name, p in periods.items()}
    qpv_share = _residence_figures(
        choices, filters, by_residence, periods, tables, covered["previous"]
    )
    comparisons = _comparisons(by_residence, periods, total, covered)
    tables["comparaison"] = _comparison_table(
        by_residence, periods, categories, family_order, covered
    )
    return Statistics(
        filters=filters,
        total=total,
        complaint_rate=complaint_rate,
        qpv_share=qpv_share,
        comparisons=comparisons,
        months=month_chart,
        weeks=week_chart,
        families=family_chart,
        categories=category_chart,
        lieux=lieu_chart,
        victimes=victime_chart,
        grid=grid,
        tables=tables,
        history_from=history_from,
    )


#: Months the résidence dossier covers, the current one included.
DOSSIER_MONTHS = 24
#: Bars of the dossier's category chart, the last pooling the other categories (so
#: that the busiest résidence still prints on two A4 pages).
DOSSIER_CATEGORIES = 8


@dataclass
class ResidenceFigures:
    """The résidence dossier's figures: the same charts as the statistics page,
    narrowed to one résidence over the last DOSSIER_MONTHS months."""

    period: Period
    total: int
    complaints: int
    months: ColumnChart
    categories: BarChart
    grid: HeatGrid


def dossier_period(today: date | None = None) -> Period:
    """From the first day of the month DOSSIER_MONTHS - 1 months ago to today."""
    today = today or now_local().date()
    year, month = divmod(today.year * 12 + today.month - DOSSIER_MONTHS, 12)
    return Period(date(year, month + 1, 1), today)


def build_residence_figures(
    user: User, residence_id: int, today: date | None = None
) -> ResidenceFigures:
    """Facts per month, per category and per hour × weekday of one résidence, with
    the statistics page's two grouped queries (duplicates left out, as there)."""
    period = dossier_period(today)
    filters = StatsFilters(
        period=period, residence_id=residence_id, residence_ids=(residence_id,)
    )
    calendar = local_calendar(count_reports_by_utc_hour(user, filters), period)
    nature = count_reports_by_nature(user, filters)
    tables: dict[str, Table] = {}
    # One month named in four: 24 labels do not fit a phone's width.
    month_chart, _, grid = _time_figures(calendar, period, tables, month_labels=6)
    categories = {
        c.id: c for c in list_categories(user.organisation_id, active_only=False)
    }
    total = int(nature["count"].sum())
    complaints = nature[nature["suite"].isin({s.value for s in COMPLAINTS})]
    return ResidenceFigures(
        period=period,
        total=total,
        complaints=int(complaints["count"].sum()),
        months=month_chart,
        categories=_pool_small_categories(
            _category_figures(nature, categories, total, tables)
        ),
        grid=grid,
    )


def _pool_small_categories(chart: BarChart) -> BarChart:
    """Keep the DOSSIER_CATEGORIES - 1 largest bars and pool the others in one."""
    if len(chart.bars) <= DOSSIER_CATEGORIES:
        return chart
    kept = chart.bars[: DOSSIER_CATEGORIES - 1]
    rest = chart.bars[DOSSIER_CATEGORIES - 1 :]
    rows = [(bar.key, bar.label, bar.value) for bar in kept]
    rows.append(
        ("", f"Autres catégories ({len(rest)})", sum(bar.value for bar in rest))
    )
    return bar_chart(chart.title, rows)


def _series_chart(
    name: str, series: list, *, label, title, max_labels: int = 12
) -> ColumnChart:
    """Return the column chart of a ``(start, facts, partial)`` series, each column
    named by ``label(start)`` under it and ``title(start)`` on hover."""
    return column_chart(
        name,
        labels=[label(start) for start, _, _ in series],
        titles=[title(start) for start, _, _ in series],
        values=[facts for _, facts, _ in series],
        partial=[partial for _, _, partial in series],
        max_labels=max_labels,
    )


def _time_figures(
    calendar: Calendar,
    period: Period,
    tables: dict[str, Table],
    month_labels: int = 12,
) -> tuple[ColumnChart, ColumnChart, HeatGrid]:
    """Return the month and week charts and the hour grid; add their tables. At most
    ``month_labels`` months are named under the month chart."""
    months = _month_series(calendar.days, period)
    month_chart = _series_chart(
        "Faits par mois",
        months,
        label=lambda m: f"{MONTHS[m.month - 1]} {m:%y}",
        title=lambda m: f"{MONTHS[m.month - 1]} {m.year}",
        max_labels=month_labels,
    )
    tables["mois"] = Table(
        "mois",
        "Faits par mois",
        [("mois", "Mois"), ("faits", "Faits"), ("incomplet", "Mois incomplet")],
        [
            {"mois": f"{m:%Y-%m}", "faits": c, "incomplet": "oui" if p else ""}
            for m, c, p in months
        ],
    )
    weeks = _week_series(calendar.days, period)
    week_chart = _series_chart(
        "Faits par semaine",
        weeks,
        label=lambda m: f"{m:%d/%m}",
        title=lambda m: f"Semaine du {m:%d/%m/%Y}",
        max_labels=8,
    )
    tables["semaines"] = Table(
        "semaines",
        "Faits par semaine (du lundi au dimanche)",
        [
            ("lundi", "Semaine du"),
            ("faits", "Faits"),
            ("incomplete", "Semaine incomplète"),
        ],
        [
            {"lundi": m.isoformat(), "faits": c, "incomplete": "oui" if p else ""}
            for m, c, p in weeks
        ],
    )
    grid = heat_grid(calendar.grid)
    tables["heures"] = Table(
        "heures",
        "Faits par heure et jour de la semaine (heure de Paris)",
        [("heure", "Heure"), *((d, d.capitalize()) for d in WEEKDAY_NAMES)],
        [
            {
                "heure": f"{h} h",
                **{WEEKDAY_NAMES[d]: calendar.grid[d][h] for d in range(7)},
            }
            for h in range(24)
        ],
    )
    return month_chart, week_chart, grid


def _family_figures(
    nature: pd.DataFrame,
    complaints: pd.DataFrame,
    families: dict,
    total: int,
    tables: dict[str, Table],
) -> tuple[BarChart, list]:
    """Return the family chart and the families in order; add their table."""
    by_family = nature.groupby("family")["count"].sum()
    complaints_by_family = complaints.groupby("family")["count"].sum()
    family_rows = []
    family_order = sorted(families.values(), key=lambda f: (f.position, f.code))
    for family in family_order:
        count = int(by_family.get(family.code, 0))
        filed = int(complaints_by_family.get(family.code, 0))
        family_rows.append((family, count, filed))
    family_chart = bar_chart(
        "Faits par famille",
        [(f.code, f"{f.code} · {f.label}", c) for f, c, _ in family_rows],
    )
    tables["familles"] = Table(
        "familles",
        "Faits et taux de plainte par famille",
        [
            ("famille", "Famille"),
            ("libelle", "Libellé"),
            ("faits", "Faits"),
            ("part", "Part (%)"),
            ("plaintes", "Plaintes"),
            ("taux_plainte", "Taux de plainte (%)"),
        ],  # fmt: skip
        [
            {
                "famille": f.code,
                "libelle": f.label,
                "faits": c,
                "part": _share(c, total),
                "plaintes": filed,
                "taux_plainte": _share(filed, c),
            }
            for f, c, filed in family_rows
        ],
    )
    return family_chart, family_order


def _category_figures(
    nature: pd.DataFrame, categories: dict, total: int, tables: dict[str, Table]
) -> BarChart:
    """Return the category chart; add its table."""
    by_category = (
        nature.groupby("category_id")["count"].sum().sort_values(ascending=False)
    )
    category_rows = [
        (categories[i].code, categories[i].display, int(c))
        for i, c in by_category.items()
        if i in categories and c > 0
    ]
    category_chart = bar_chart("Faits par catégorie", category_rows)
    tables["categories"] = Table(
        "categories",
        "Faits par catégorie",
        [
            ("code", "Code"),
            ("categorie", "Catégorie"),
            ("faits", "Faits"),
            ("part", "Part (%)"),
        ],
        [
            {
                "code": code,
                "categorie": categories_label,
                "faits": c,
                "part": _share(c, total),
            }
            for code, categories_label, c in category_rows
        ],
    )
    return category_chart


def _residence_figures(
    choices: FilterChoices,
    filters: StatsFilters,
    by_residence: pd.DataFrame,
    periods: dict[str, Period],
    tables: dict[str, Table],
    previous_covered: bool = True,
) -> float | None:
    """Add the résidence and QPV tables; return the share of facts in QPV.

    When the previous period starts before the perimeter's history, its columns
    are left empty rather than compared with facts never recorded.
    """
    residences = residence_frame(choices, filters.residence_ids)
    current = by_residence.groupby("residence_id")["current"].sum()
    previous = by_residence.groupby("residence_id")["previous"].sum()
    table = residence_table(residences, current, previous)
    ranking = rank_residences(table, TOP_RESIDENCES)
    tables["residences"] = Table(
        "residences",
        "Résidences les plus touchées",
        [
            ("rang", "Rang"),
            ("reference", "Référence"),
            ("residence", "Résidence"),
            ("commune", "Commune"),
            ("qpv", "QPV"),
            ("logements", "Logements"),
            ("faits", "Faits"),
            ("taux_100_logements", "Faits pour 100 logements"),
            ("periode_precedente", "Période précédente"),
            ("evolution", "Écart"),
            ("evolution_pct", "Évolution (%)"),
        ],  # fmt: skip
        [_residence_row(row, previous_covered) for row in ranking.itertuples()],
        note=(
            f"Période précédente : {periods['previous'].label()}."
            if previous_covered
            else f"Période précédente : {NO_HISTORY}."
        ),
    )
    tables["residences_toutes"] = Table(
        "residences_toutes",
        "Toutes les résidences",
        tables["residences"].columns[1:],
        [
            _residence_row(row, previous_covered)
            for row in table.sort_values(
                ["count", "name"], ascending=[False, True]
            ).itertuples()
        ],
    )
    tables["qpv"], qpv_share = _qpv_table(table)
    return qpv_share


def _qpv_table(table: pd.DataFrame) -> tuple[Table, float | None]:
    """Return the table of facts in and out of QPV, and the share in QPV."""
    qpv = qpv_comparison(table)
    qpv_labels = {"qpv": "En QPV", "hors_qpv": "Hors QPV", "total": "Total"}
    qpv_table = Table(
        "qpv",
        "Faits en QPV et hors QPV",
        [
            ("zone", "Zone"),
            ("residences", "Résidences"),
            ("logements", "Logements"),
            ("part_logements", "Part des logements (%)"),
            ("faits", "Faits"),
            ("part_faits", "Part des faits (%)"),
            ("taux_100_logements", "Faits pour 100 logements"),
        ],  # fmt: skip
        [
            {
                "zone": qpv_labels[key],
                "residences": int(row["residences"]),
                "logements": int(row["logements"]),
                "part_logements": float(row["logements_share"]),
                "faits": int(row["count"]),
                "part_faits": float(row["share"]),
                "taux_100_logements": float(row["rate"]),
            }
            for key, row in qpv.iterrows()
        ],
        note="Faits des résidences du périmètre, selon le QPV de la résidence.",
    )
    qpv_total = int(qpv.loc["total", "count"])
    qpv_share = float(qpv.loc["qpv", "share"]) if qpv_total else None
    return qpv_table, qpv_share


TABLE_SLUGS = (
    "mois", "semaines", "heures", "familles", "categories", "lieux", "victimes",
    "residences", "residences_toutes", "qpv", "comparaison",
)  # fmt: skip


def _share(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else math.nan


def _enum_breakdown(nature, column, enum_cls, title, slug_key, total):
    counts = nature.groupby(column)["count"].sum()
    rows = [
        (member.value, member.label, int(counts.get(member.value, 0)))
        for member in enum_cls
    ]
    rows.sort(key=lambda row: -row[2])
    unspecified = int(counts.get("", 0))
    if unspecified:
        rows.append(("", NOT_SPECIFIED, unspecified))
    rows = [row for row in rows if row[2] > 0]
    chart = bar_chart(title, rows)
    plural = {"lieu": "lieux", "victime": "victimes"}[slug_key]
    table = Table(
        plural,
        title,
        [
            ("code", "Code"),
            (slug_key, title.split()[-1].capitalize()),
            ("faits", "Faits"),
            ("part", "Part (%)"),
        ],
        [
            {"code": code, slug_key: label, "faits": c, "part": _share(c, total)}
            for code, label, c in rows
        ],
    )
    return chart, table


def _residence_row(row, previous_covered: bool = True) -> dict:
    unknown = {} if previous_covered else dict.fromkeys(_CHANGE_COLUMNS)
    return {
        "id": int(row.id),
        "rang": getattr(row, "rank", ""),
        "reference": row.reference,
        "residence": row.name,
        "commune": row.commune,
        "qpv": row.qpv_code or "",
        "logements": int(row.logements),
        "faits": int(row.count),
        "taux_100_logements": float(row.rate),
        "periode_precedente": int(row.previous),
        "evolution": int(row.change),
        "evolution_pct": float(row.change_pct),
    } | unknown


#: The résidence columns that compare with the previous period.
_CHANGE_COLUMNS = ("periode_precedente", "evolution", "evolution_pct")
NO_HISTORY = "pas encore d'historique"


_PERIOD_NAMES = {
    "current": "Période choisie",
    "previous": "Période précédente",
    "year_before": "Même période un an avant",
}


def _comparisons(
    by_residence: pd.DataFrame,
    periods: dict[str, Period],
    total: int,
    covered: dict[str, bool],
) -> list[Comparison]:
    result = []
    for name, period in periods.items():
        count = int(by_residence[name].sum()) if not by_residence.empty else 0
        comparison = Comparison(_PERIOD_NAMES[name], period, count)
        if name != "current":
            comparison.covered = covered[name]
        if name != "current" and comparison.covered:
            comparison.change = total - count
            comparison.change_pct = percent_change(total, count)
        result.append(comparison)
    return result


def _comparison_table(
    by_residence, periods, categories, family_order, covered: dict[str, bool]
) -> Table:
    frame = by_residence.copy()
    frame["family"] = frame["category_id"].map(
        lambda i: categories[i].family.code if i in categories else "??"
    )
    sums = frame.groupby("family")[list(periods)].sum()
    # (period name, count column, change column, their labels)
    compared = [
        ("previous", "periode_precedente", "evolution_precedente_pct",
         "Période précédente", "Évolution (%)"),
        ("year_before", "un_an_avant", "evolution_un_an_pct",
         "Un an avant", "Évolution sur un an (%)"),
    ]  # fmt: skip
    compared = [c for c in compared if c[0] in periods]
    rows = []
    for code, label in [("", "Tous les faits")] + [
        (f.code, f"{f.code} · {f.label}") for f in family_order
    ]:
        values = sums.sum() if code == "" else sums.reindex([code]).fillna(0).iloc[0]
        current = int(values.get("current", 0))
        row = {"famille": code or "tout", "libelle": label, "periode": current}
        for name, count_key, change_key, *_ in compared:
            if covered[name]:
                count = int(values.get(name, 0))
                row[count_key] = count
                row[change_key] = _pct(percent_change(current, count))
            else:  # before the perimeter's first fact: nothing to compare with
                row[count_key] = row[change_key] = None
        rows.append(row)
    notes = [f"Période : {periods['current'].label()}"]
    for name, *_, count_label, _change_label in compared:
        history = "" if covered[name] else f" ({NO_HISTORY})"
        notes.append(f"{count_label.lower()} : {periods[name].label()}{history}")
    return Table(
        "comparaison",
        "Comparaison des périodes",
        [
            ("famille", "Famille"),
            ("libelle", "Libellé"),
            ("periode", "Période"),
            *(
                column
                for _name, count_key, change_key, count_label, change_label in compared
                for column in ((count_key, count_label), (change_key, change_label))
            ),
        ],
        rows,
        note=" ; ".join(notes) + ".",
    )


def _pct(value: float | None) -> float:
    return math.nan if value is None else value


def format_percent(value: float | None, decimals: int = 1) -> str:
    """Format a percentage for the page (« 12,5 % », or « — »)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{format_number(value, decimals)}\u202f%"
