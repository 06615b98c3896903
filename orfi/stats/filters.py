"""Filters shared by the map and statistics pages, and the queries they narrow.

Every figure of both pages starts from :func:`filtered_reports`: the facts the user
may read (``visible_reports``), without duplicates (``counted_reports``), narrowed by
the page's filters inside the SQL query. The period is a range of Europe/Paris dates
turned into UTC bounds on ``occurred_at``; the other filters compare columns that
every covering index of migration 0003 carries, so no filter makes a query leave
its index.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from orfi.auth.models import User
from orfi.auth.perimeter import visible_residences
from orfi.choices import Choice
from orfi.extensions import db
from orfi.forms import bounded_int
from orfi.nomenclature.models import Category, Family
from orfi.nomenclature.services import list_categories
from orfi.patrimoine.models import Agence, Residence
from orfi.reports.models import Lieu, Report, Status
from orfi.reports.queries import counted_reports, visible_reports
from orfi.reports.residence_choices import capped_residences
from orfi.timezone import from_local, now_local

logger = logging.getLogger(__name__)

#: Longest period a page may cover (queries stay bounded).
MAX_PERIOD_DAYS = 6 * 366


class HourBand(Choice):
    """A band of local hours (Europe/Paris) of the fact."""

    NUIT = ("nuit", "Nuit (0 h – 6 h)")
    MATIN = ("matin", "Matin (6 h – 12 h)")
    APRES_MIDI = ("apres-midi", "Après-midi (12 h – 18 h)")
    SOIREE = ("soiree", "Soirée (18 h – 24 h)")

    @property
    def hours(self) -> tuple[int, int]:
        """First hour of the band and the hour after its last."""
        return _BAND_HOURS[self]


_BAND_HOURS = {
    HourBand.NUIT: (0, 6),
    HourBand.MATIN: (6, 12),
    HourBand.APRES_MIDI: (12, 18),
    HourBand.SOIREE: (18, 24),
}


@dataclass(frozen=True)
class Period:
    """A range of local (Europe/Paris) dates, both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """Return the UTC instants [start, end) of the period."""
        return (
            from_local(datetime.combine(self.start, time.min)),
            from_local(datetime.combine(self.end + timedelta(days=1), time.min)),
        )

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(1))

    def year_before(self) -> Period:
        """The same dates one year earlier (29 February becomes the 28th)."""
        return Period(_year_earlier(self.start), _year_earlier(self.end))

    def label(self) -> str:
        """The period as people read it: « du 01/01/2026 au 31/03/2026 »."""
        return f"du {self.start:%d/%m/%Y} au {self.end:%d/%m/%Y}"


def _year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def default_period(today: date | None = None) -> Period:
    """The last twelve months up to today (Europe/Paris)."""
    today = today or now_local().date()
    return Period(_year_earlier(today) + timedelta(days=1), today)


def period_presets(today: date | None = None) -> list[tuple[str, Period]]:
    """Periods offered as one-tap links: 30 days, 3 months, 12 months, this year."""
    today = today or now_local().date()
    return [
        ("30 derniers jours", Period(today - timedelta(days=29), today)),
        ("3 derniers mois", Period(_months_before(today.replace(day=1), 2), today)),
        ("12 derniers mois", default_period(today)),
        (f"Année {today.year}", Period(date(today.year, 1, 1), today)),
    ]


def _months_before(first_of_month: date, months: int) -> date:
    year, month = divmod(
        first_of_month.year * 12 + first_of_month.month - 1 - months, 12
    )
    return date(year, month + 1, 1)


@dataclass(frozen=True)
class StatsFilters:
    """What the map and statistics pages are narrowed to (all but the period optional).

    ``category_ids`` and ``residence_ids`` are resolved from the nature (family or
    category) and the agence when the filters are read, so that queries compare plain
    columns of the covering indexes.
    """

    period: Period
    nature: str | None = None  # family code (AP) or category code (AP01)
    agence_id: int | None = None
    residence_id: int | None = None
    lieu: Lieu | None = None
    hour_band: HourBand | None = None
    status: Status | None = None
    category_ids: tuple[int, ...] | None = field(default=None, compare=False)
    residence_ids: tuple[int, ...] | None = field(default=None, compare=False)

    def with_period(self, period: Period) -> StatsFilters:
        """The same filters over another period."""
        return replace(self, period=period)

    def query_args(self) -> dict[str, str]:
        """The filters as URL query arguments (for links, CSV and JSON requests)."""
        args = {
            "date_from": self.period.start.isoformat(),
            "date_to": self.period.end.isoformat(),
        }
        optional = {
            "nature": self.nature,
            "agence": self.agence_id,
            "residence": self.residence_id,
            "lieu": self.lieu,
            "hours": self.hour_band,
            "status": self.status,
        }
        args.update({k: str(v) for k, v in optional.items() if v is not None})
        return args


#: What the statistics read of each résidence of the perimeter.
RESIDENCE_COLUMNS = (
    Residence.id,
    Residence.reference,
    Residence.name,
    Residence.commune_name,
    Residence.address,
    Residence.logements,
    Residence.qpv_code,
    Residence.agence_id,
    Residence.latitude,
    Residence.longitude,
)


@dataclass
class FilterChoices:
    """What a user may pick in the filters: their nomenclature and perimeter."""

    families: list[Family]
    categories: list[Category]
    agences: list[Agence]
    #: Rows of the columns in ``RESIDENCE_COLUMNS``, by name.
    residences: list[sa.Row]

    def nature_groups(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """(family label, [(code, label)]) for a select with one group per family."""
        groups = []
        for family in self.families:
            options = [
                (family.code, f"{family.code} · {family.label} (toute la famille)")
            ]
            options += [
                (c.code, c.display) for c in self.categories if c.family_id == family.id
            ]
            groups.append((family.label, options))
        return groups


def list_filter_choices(user: User) -> FilterChoices:
    """Return the families, categories, agences and résidences ``user`` may pick."""
    categories = list(list_categories(user.organisation_id, active_only=False))
    family_ids = {c.family_id for c in categories}
    families = sorted(
        {c.family for c in categories if c.family_id in family_ids},
        key=lambda f: (f.position, f.code),
    )
    agences: list[Agence] = []
    if user.agence_id is None:
        agences = list(
            db.session.scalars(
                db.select(Agence)
                .where(Agence.organisation_id == user.organisation_id)
                .order_by(Agence.name)
            )
        )
    # Rows, not objects: a perimeter may hold tens of thousands of résidences, and
    # an ORM object per row cost ~1 s at 20,000 on every statistics and map page.
    residences = list(
        db.session.execute(
            visible_residences(user)
            .with_only_columns(*RESIDENCE_COLUMNS)
            .order_by(Residence.name)
        )
    )
    return FilterChoices(families, categories, agences, residences)


@dataclass
class ResidenceOptions:
    """The résidences the filter's select offers, and whether some were left out."""

    residences: list[Residence]
    truncated: bool


def residence_options(user: User, filters: StatsFilters) -> ResidenceOptions:
    """Return a capped list of ``user``'s résidences, with the one ``filters`` chose.

    The page's weight does not grow with the patrimoine; another résidence is reached
    from its page (« Résidences »), which links here with it chosen.
    """
    chosen = [filters.residence_id] if filters.residence_id is not None else []
    return ResidenceOptions(*capped_residences(visible_residences(user), chosen))


def read_filters(
    args: Mapping[str, str], choices: FilterChoices, *, today: date | None = None
) -> tuple[StatsFilters, dict[str, str]]:
    """Read filters from URL arguments; return them and the errors by argument.

    A value that is invalid or outside the user's perimeter is left out (and reported),
    so that a stale bookmark still opens the page.
    """
    errors: dict[str, str] = {}
    filters = StatsFilters(period=_read_period(args, today, errors))
    filters = _read_nature(filters, args, choices, errors)
    filters = _read_place(filters, args, choices, errors)
    for name, enum_cls, attribute in (
        ("lieu", Lieu, "lieu"),
        ("hours", HourBand, "hour_band"),
        ("status", Status, "status"),
    ):
        raw = (args.get(name) or "").strip()
        if raw:
            member = enum_cls.parse(raw)
            if member is None:
                errors[name] = "Valeur inconnue."
            else:
                filters = replace(filters, **{attribute: member})
    return filters, errors


def _read_period(
    args: Mapping[str, str], today: date | None, errors: dict[str, str]
) -> Period:
    """Return the period ``date_from`` to ``date_to`` (the default one if invalid)."""
    period = default_period(today)
    start, end = period.start, period.end
    for name in ("date_from", "date_to"):
        raw = (args.get(name) or "").strip()
        if not raw:
            continue
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            errors[name] = "Date invalide (format AAAA-MM-JJ)."
            continue
        if name == "date_from":
            start = value
        else:
            end = value
    if start > end:
        errors["date_to"] = "La date de fin précède la date de début."
        start, end = period.start, period.end
    elif (end - start).days >= MAX_PERIOD_DAYS:
        errors["date_from"] = "La période est limitée à six ans."
        start = end - timedelta(days=MAX_PERIOD_DAYS - 1)
    return Period(start, end)


def _read_nature(
    filters: StatsFilters,
    args: Mapping[str, str],
    choices: FilterChoices,
    errors: dict[str, str],
) -> StatsFilters:
    """Return ``filters`` narrowed to the family or category ``nature`` names."""
    nature = (args.get("nature") or "").strip().upper()
    if not nature:
        return filters
    family = next((f for f in choices.families if f.code == nature), None)
    category = next((c for c in choices.categories if c.code == nature), None)
    if family is not None:
        ids = tuple(c.id for c in choices.categories if c.family_id == family.id)
        return replace(filters, nature=nature, category_ids=ids)
    if category is not None:
        return replace(filters, nature=nature, category_ids=(category.id,))
    errors["nature"] = "Famille ou catégorie inconnue."
    return filters


def _read_place(
    filters: StatsFilters,
    args: Mapping[str, str],
    choices: FilterChoices,
    errors: dict[str, str],
) -> StatsFilters:
    """Return ``filters`` narrowed to the ``agence`` and ``residence`` asked for."""
    agence_id = _int_arg(args, "agence", errors)
    if agence_id is not None:
        if any(a.id == agence_id for a in choices.agences):
            ids = tuple(r.id for r in choices.residences if r.agence_id == agence_id)
            filters = replace(filters, agence_id=agence_id, residence_ids=ids)
        else:
            errors["agence"] = "Agence inconnue ou hors de votre périmètre."

    residence_id = _int_arg(args, "residence", errors)
    if residence_id is not None:
        residence = next((r for r in choices.residences if r.id == residence_id), None)
        if residence is None:
            errors["residence"] = "Résidence inconnue ou hors de votre périmètre."
        elif filters.agence_id is not None and residence.agence_id != filters.agence_id:
            errors["residence"] = "Cette résidence n'appartient pas à l'agence choisie."
        else:
            filters = replace(
                filters, residence_id=residence_id, residence_ids=(residence_id,)
            )
    return filters


def _int_arg(args: Mapping[str, str], name: str, errors: dict[str, str]) -> int | None:
    try:
        return bounded_int(args.get(name))
    except ValueError as error:
        errors[name] = str(error)
        return None


def filtered_reports(
    user: User,
    filters: StatsFilters,
    *,
    period: Period | None = None,
    span: tuple[datetime, datetime] | None = None,
) -> sa.Select:
    """Return ``select(Report)`` over the counted facts ``user`` may read, filtered.

    The period is ``filters.period`` unless ``period`` or raw UTC bounds ``span`` are
    given (the comparisons cover several periods at once). Callers pick their columns
    with ``with_only_columns`` and group in the database.
    """
    lo, hi = span or (period or filters.period).bounds()
    query = counted_reports(visible_reports(user)).where(
        Report.occurred_at >= lo, Report.occurred_at < hi
    )
    if filters.category_ids is not None:
        query = query.where(Report.category_id.in_(filters.category_ids))
    if filters.residence_ids is not None:
        query = query.where(Report.residence_id.in_(filters.residence_ids))
    if filters.lieu is not None:
        query = query.where(Report.lieu == filters.lieu)
    if filters.hour_band is not None:
        first, after = filters.hour_band.hours
        query = query.where(Report.occurred_hour >= first, Report.occurred_hour < after)
    if filters.status is not None:
        query = query.where(Report.status == filters.status)
    return query


class utc_hour(FunctionElement):  # noqa: N801 (an SQL function, named as one)
    """The UTC hour an instant falls in, as SQL: text on SQLite, a timestamp elsewhere.

    Grouping by it returns at most 24 rows a day whatever the number of facts; Paris
    offsets being whole hours, each UTC hour lies in exactly one local hour, so local
    days, weeks, months, weekdays and hours all follow without a time zone in SQL.
    """

    inherit_cache = True
    type = sa.String()


@compiles(utc_hour)
def _utc_hour_default(element, compiler, **kw):
    # In UTC whatever the session's time zone (some zones are off by half hours).
    column = compiler.process(element.clauses, **kw)
    return f"date_trunc('hour', {column} AT TIME ZONE 'UTC')"


@compiles(utc_hour, "sqlite")
def _utc_hour_sqlite(element, compiler, **kw):
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC here).
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 13)"


def utc_hour_of(column: ColumnElement) -> utc_hour:
    """Return the :class:`utc_hour` SQL expression of a datetime column."""
    return utc_hour(column)
