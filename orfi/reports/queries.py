"""Which facts a user may read, and the lists and filters of the pages and the API."""

from __future__ import annotations

import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_sqlalchemy.pagination import SelectPagination

from orfi.auth.models import Role, User
from orfi.database import utcnow
from orfi.errors import NotFound
from orfi.extensions import db
from orfi.nomenclature.models import Category
from orfi.patrimoine.models import Agence, Residence
from orfi.reports.models import Report, Status
from orfi.reports.search import Search, few_or_many, search
from orfi.timezone import from_local, now_local

#: Gravity from which a fact must be followed up quickly (orange and red).
OVERDUE_MIN_GRAVITY = 3


#: The sorts of the facts list: its name in the query string, and its French label.
SORTS = {
    "date": "Date du fait",
    "gravite": "Gravité",
    "statut": "Statut",
    "residence": "Résidence",
}
#: The workflow order of the statuses, the order of the sort by status.
_STATUS_ORDER = {status: rank for rank, status in enumerate(Status)}


@dataclass
class ReportFilters:
    """Filters of the facts list (all optional), its search text and its sort."""

    date_from: date | None = None
    date_to: date | None = None
    category_id: int | None = None
    residence_id: int | None = None
    status: Status | None = None
    #: A sector of the map: an H3 cell, whose facts are one range of ``h3_r9``.
    sector: int | None = None
    page: int = 1
    extra: dict = field(default_factory=dict)
    # The work queue (docs/work-queue.md).
    q: str = ""
    gravity: int | None = None
    agence_id: int | None = None
    author_id: int | None = None
    unassigned: bool = False
    late: bool = False
    sort: str = "date"
    descending: bool = True


def visible_reports(user: User, *, by_id: bool = False) -> sa.Select:
    """Return a query of the facts ``user`` may read.

    A gardien reads their own facts; readers the organisation's (a chef d'agence, the
    agence's); anyone else none. ``by_id``: the caller narrows the query to a list of
    ids (a search); SQLite then reads the facts by id instead of walking the
    perimeter's index and probing the list with each of its facts.
    """
    query = db.select(Report)
    if user.organisation_id is None:
        return query.where(sa.false())
    organisation = Report.organisation_id
    if by_id and db.session.get_bind().dialect.name == "sqlite":
        organisation = organisation + 0  # not indexable: SQLite's planner skips it
    query = query.where(organisation == user.organisation_id)
    if user.role is Role.GARDIEN:
        return query.where(Report.author_id == user.id)
    if user.agence_id is not None:
        query = query.join(Residence, Report.residence_id == Residence.id).where(
            Residence.agence_id == user.agence_id
        )
    return query


def counted_reports(query: sa.Select) -> sa.Select:
    """Restrict a query of facts to those that count in statistics (not duplicates)."""
    return query.where(Report.duplicate_of_id.is_(None))


#: The follow-up's actions, named rather than imported: orfi.followup sits above.
_ACTIONS = sa.table("followup_action", sa.column("report_id"))


#: The conditions of the partial indexes of report (ix_report_open_grave,
#: ix_report_next_step), written with their constants: a database uses a partial index
#: only where the query states its condition with the same literals, not parameters.
_OPEN = Report.status != sa.literal_column(f"'{Status.CLOS.value}'")
_GRAVE = Report.gravity >= sa.literal_column(str(OVERDUE_MIN_GRAVITY))


def overdue_condition(days: int) -> sa.ColumnElement[bool]:
    """Return the condition of a fact left without follow-up: gravity 3 or more, not
    closed, filed ``days`` days ago or more, and still without any action."""
    cutoff = utcnow() - timedelta(days=days)
    return sa.and_(
        _GRAVE,
        _OPEN,
        Report.created_at <= cutoff,
        # The action's id alone: the index of actions by fact answers it.
        ~sa.exists(
            sa.select(_ACTIONS.c.report_id).where(_ACTIONS.c.report_id == Report.id)
        ),
    )


def _next_step_passed(today: date) -> sa.ColumnElement[bool]:
    return Report.next_step_on < today


def late_condition(days: int, today: date) -> sa.ColumnElement[bool]:
    """Return the condition of a late fact (« en retard »), the one definition.

    A fact not closed and not a duplicate is late when the day of its next step has
    passed, or, with no next step set, when it is left without follow-up
    (:func:`overdue_condition`, the « Suivi » page's).
    """
    return sa.and_(
        _OPEN,
        Report.duplicate_of_id.is_(None),
        sa.or_(
            _next_step_passed(today),
            sa.and_(Report.next_step_on.is_(None), overdue_condition(days)),
        ),
    )


def late_ids(organisation_id: int, days: int, today: date) -> sa.CompoundSelect:
    """The ids of a bailleur's late facts (:func:`late_condition`), read as its two
    ways to be late, each on its partial index: a list filtered on « en retard »
    would otherwise test each fact of the perimeter (1.8 s at a million facts)."""
    mine = sa.select(Report.id).where(
        Report.organisation_id == organisation_id,
        _OPEN,
        Report.duplicate_of_id.is_(None),
    )
    return sa.union(
        mine.where(_next_step_passed(today)),
        mine.where(Report.next_step_on.is_(None), overdue_condition(days)),
    )


def is_late(report: Report) -> bool:
    """Whether one fact is late now (:func:`late_condition`, asked of the database)."""
    return report.id in late_report_ids([report.id])


def _late_days() -> int:
    return current_app.config["ORFI_FOLLOWUP_OVERDUE_DAYS"]


def _sort_key(name: str):
    if name == "gravite":
        return Report.gravity
    if name == "statut":
        return sa.case(_STATUS_ORDER, value=Report.status)
    if name == "residence":
        # Correlated on the fact only: a chef d'agence's query already joins the
        # résidences, which auto-correlation would otherwise take for this one.
        return (
            sa.select(Residence.name)
            .where(Residence.id == Report.residence_id)
            .correlate_except(Residence)
            .scalar_subquery()
        )
    return Report.occurred_at


#: Within one value of the sort (one status, one gravity, one résidence), by date.
_BY_DATE = (Report.occurred_at.desc(), Report.id.desc())


def sorted_reports(query: sa.Select, sort: str, descending: bool) -> sa.Select:
    """Order a query of facts by ``sort`` (a key of SORTS), then by date and id so
    that facts with the same key keep one order; facts without gravity come last.
    This order is the list's definition; a page of it is read run by run
    (:class:`Runs`)."""
    sort = sort if sort in SORTS else "date"
    key = _sort_key(sort)
    ordered = key.desc() if descending else key.asc()
    if sort == "gravite":
        ordered = ordered.nulls_last()
    return query.order_by(ordered, *_BY_DATE)


@dataclass(frozen=True)
class Runs:
    """A sort by status, gravity or résidence as runs of facts that share its value,
    in the list's order: ``column`` holds the value, each run a list of values (a
    résidence's name may be several résidences'), ``None`` the facts without one
    (no gravity).

    A page is read run after run, each by date on the indexes that hold the value
    then the date, until the page is full: the database never sorts the perimeter
    (1 s at a million facts for a sort by status, 2 s by résidence with a filter;
    a few milliseconds run by run). Where many runs come up empty one after the
    other (a filter that few facts pass, hundreds of résidences), they are read
    together, twice as many each time, in the list's SQL order.
    """

    column: sa.ColumnElement
    runs: list[list | None]

    def condition(self, runs: list[list | None]) -> sa.ColumnElement[bool]:
        """The facts of ``runs``."""
        values = [value for run in runs if run is not None for value in run]
        parts = [self.column.in_(values)] if values else []
        if any(run is None for run in runs):
            parts.append(self.column.is_(None))
        return sa.or_(*parts)


def sort_runs(user: User, sort: str, descending: bool) -> Runs | None:
    """Return the runs of a sort by status, gravity or résidence (None by date)."""
    if sort == "statut":
        statuses = sorted(Status, key=_STATUS_ORDER.get, reverse=descending)
        return Runs(Report.status, [[status] for status in statuses])
    if sort == "gravite":
        return Runs(
            Report.gravity,
            [[g] for g in sorted(range(1, 5), reverse=descending)] + [None],
        )
    if sort != "residence":
        return None
    rows = db.session.execute(
        sa.select(Residence.name, Residence.id)
        .where(Residence.organisation_id == user.organisation_id)
        .order_by(Residence.name, Residence.id)
    ).all()
    names: dict[str, list[int]] = {}
    for name, residence_id in rows:  # the database's order of names (its collation)
        names.setdefault(name, []).append(residence_id)
    runs = list(names.values())
    return Runs(Report.residence_id, runs[::-1] if descending else runs)


def _queue_filters(
    query: sa.Select,
    filters: ReportFilters,
    found: Search | None,
    late: sa.ColumnElement[bool] | None,
) -> sa.Select:
    """Narrow ``query`` by the work queue's search (``found``), « en retard »
    (``late``) and other filters."""
    if found is not None:
        query = query.where(found.condition)
    if filters.gravity:
        query = query.where(Report.gravity == filters.gravity)
    if filters.agence_id:
        query = query.where(
            Report.residence_id.in_(
                sa.select(Residence.id)
                .where(Residence.agence_id == filters.agence_id)
                .correlate(None)  # not the chef d'agence's joined résidence
            )
        )
    if filters.author_id:
        query = query.where(Report.author_id == filters.author_id)
    if filters.unassigned:
        query = query.where(Report.assignee_id.is_(None))
    if late is not None:
        query = query.where(late)
    return query


#: Up to this many late facts are named by id (a few per cent of a perimeter).
LATE_IDS = 10_000


def _late_filter(user: User) -> Search:
    """The « en retard » filter: few late facts are read first and named by id (the
    list then reads them by id), many are tested fact by fact as the list walks."""
    days, today = _late_days(), now_local().date()
    if user.organisation_id is None:
        return Search(sa.false(), sparse=True)
    return few_or_many(
        late_ids(user.organisation_id, days, today),
        LATE_IDS,
        late_condition(days, today),
    )


def filtered_reports(
    user: User, filters: ReportFilters, *, mine: bool = False
) -> sa.Select:
    """Return a query of the facts ``user`` may read that match ``filters``."""
    # A search that finds few facts reads them by id; one that finds many walks the
    # perimeter in the list's order (SQLite: see visible_reports).
    found = search(user, filters.q) if filters.q.strip() else None
    late = _late_filter(user) if filters.late else None
    by_id = (found is not None and found.sparse) or (late is not None and late.sparse)
    query = _queue_filters(
        visible_reports(user, by_id=by_id),
        filters,
        found,
        late.condition if late is not None else None,
    )
    if mine:
        query = query.where(Report.author_id == user.id)
    if filters.date_from:
        query = query.where(
            Report.occurred_at
            >= from_local(datetime.combine(filters.date_from, datetime.min.time()))
        )
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), datetime.min.time())
        query = query.where(Report.occurred_at < from_local(end))
    if filters.category_id:
        query = query.where(Report.category_id == filters.category_id)
    if filters.residence_id:
        query = query.where(Report.residence_id == filters.residence_id)
    if filters.status:
        query = query.where(Report.status == filters.status)
    if filters.sector:
        from orfi.geo.hexagons import finest_range

        query = query.where(Report.h3_r9.between(*finest_range(filters.sector)))
    return sorted_reports(query, filters.sort, filters.descending)


def list_reports(
    user: User,
    filters: ReportFilters,
    *,
    mine: bool = False,
    per_page: int | None = None,
):
    """Return a page (Flask-SQLAlchemy pagination) of the facts ``user`` may read."""
    return _paginate(
        filtered_reports(user, filters, mine=mine),
        filters.page,
        per_page,
        sort_runs(user, filters.sort, filters.descending),
    )


#: What a page of the facts list shows of each fact besides its own columns.
_LIST_OPTIONS = (
    sa.orm.joinedload(Report.category).joinedload(Category.family),
    sa.orm.joinedload(Report.residence),
    sa.orm.joinedload(Report.assignee),
)


class _NarrowPagination(SelectPagination):
    """A page of facts sorted and counted on their ids alone, then loaded by id.

    Sorting ``SELECT report.*`` makes the database carry every column of every
    matching fact through the sort (seconds at a million facts); sorting the ids
    carries one narrow row each, and only the page's facts are then read whole.
    """

    _capped = False

    def _query_items(self) -> list[Report]:
        select, session = self._query_args["select"], self._query_args["session"]
        narrow, runs = select.with_only_columns(Report.id), self._query_args["runs"]
        if runs is None:
            ids = list(
                session.scalars(narrow.limit(self.per_page).offset(self._query_offset))
            )
        else:
            wanted = self._query_offset + self.per_page
            ids = _read_runs(session, narrow, runs, wanted)[self._query_offset :]
        if not ids:
            return []
        found = session.scalars(
            sa.select(Report).where(Report.id.in_(ids)).options(*_LIST_OPTIONS)
        ).unique()
        by_id = {report.id: report for report in found}
        return [by_id[i] for i in ids if i in by_id]

    #: Counted exactly up to here; past it the page says « plus de 1 000 faits ».
    #: Counting 50,000 matches of a common word cost 0.8 s on PostgreSQL at a million
    #: facts (the page itself 2 ms): nobody pages through more than 20 pages of 50.
    COUNT_CAP = 1000

    @property
    def capped(self) -> bool:
        """Whether more facts match than were counted (:attr:`COUNT_CAP`)."""
        return self._capped

    def _query_count(self) -> int:
        select, session = self._query_args["select"], self._query_args["session"]
        narrow = (
            select.with_only_columns(Report.id)
            .order_by(None)
            .limit(self.COUNT_CAP + 1)
            .subquery()
        )
        count = session.scalar(sa.select(sa.func.count()).select_from(narrow))
        self._capped = count > self.COUNT_CAP
        return min(count, self.COUNT_CAP)


def _read_runs(session, narrow: sa.Select, runs: Runs, wanted: int) -> list[int]:
    """The ids of the first ``wanted`` facts of a sorted query, read run by run."""
    ids: list[int] = []
    pending, size = list(runs.runs), 1
    while pending and len(ids) < wanted:
        batch, pending = pending[:size], pending[size:]
        query = narrow.where(runs.condition(batch))
        if len(batch) == 1:  # one value: by date, on the index of the value
            query = query.order_by(None).order_by(*_BY_DATE)
        found = session.scalars(query.limit(wanted - len(ids))).all()
        ids += found
        size = 1 if found or len(runs.runs) <= RUNS_ONE_BY_ONE else size * 2
    return ids


#: Sorts with at most this many runs read them one by one, however empty.
RUNS_ONE_BY_ONE = 8


def _paginate(
    query: sa.Select, page: int, per_page: int | None, runs: Runs | None = None
):
    """Return a page (Flask-SQLAlchemy pagination) of a sorted query of facts."""
    return _NarrowPagination(
        select=query,
        runs=runs,
        session=db.session(),
        page=page,
        per_page=per_page or current_app.config["ORFI_PAGE_SIZE"],
        error_out=False,
        count=True,
    )


def get_visible_report(user: User, report_uuid: uuid_module.UUID) -> Report:
    """Return the fact if ``user`` may read it, else raise NotFound."""
    report = db.session.scalar(visible_reports(user).where(Report.uuid == report_uuid))
    if report is None:
        raise NotFound("Signalement introuvable.")
    return report


def find_visible_report_by_reference(user: User, reference: str) -> Report | None:
    """Return the fact with this reference if ``user`` may read it."""
    reference = (reference or "").strip().upper()
    if not reference:
        return None
    return db.session.scalar(visible_reports(user).where(Report.reference == reference))


def frequent_category_ids(user: User, *, limit: int = 5, days: int = 180) -> list[int]:
    """Return the ids of the categories ``user`` filed most in the last ``days``."""
    since = utcnow() - timedelta(days=days)
    rows = db.session.execute(
        db.select(Report.category_id, sa.func.count().label("n"))
        .where(Report.author_id == user.id, Report.created_at >= since)
        .group_by(Report.category_id)
        .order_by(sa.desc("n"), Report.category_id)
        .limit(limit)
    )
    return [row.category_id for row in rows]


def late_report_ids(ids: list[int]) -> set[int]:
    """Return which of the facts ``ids`` are late (a page's badges)."""
    if not ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(Report.id).where(
                Report.id.in_(ids), late_condition(_late_days(), now_local().date())
            )
        )
    )


def list_assigned_reports(user: User, page: int, *, per_page: int | None = None):
    """Return a page of « Mes faits à traiter »: the open facts ``user`` took, late
    first, then by the day of their next step (none last), the gravest first."""
    late = late_condition(_late_days(), now_local().date())
    query = (
        visible_reports(user)
        .where(
            Report.assignee_id == user.id,
            Report.status != Status.CLOS,
            Report.duplicate_of_id.is_(None),
        )
        .order_by(
            sa.case((late, 0), else_=1),
            Report.next_step_on.asc().nulls_last(),
            Report.gravity.desc().nulls_last(),
            Report.occurred_at.desc(),
            Report.id.desc(),
        )
    )
    return _paginate(query, page, per_page)


def list_filer_choices(user: User) -> list[User]:
    """Return the users of ``user``'s bailleur who may have filed a fact, by name
    (the list's « Signalé par » filter)."""
    if user.organisation_id is None:
        return []
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.organisation_id == user.organisation_id)
            .order_by(User.name, User.id)
        )
    )


def list_agence_choices(user: User) -> list[Agence]:
    """Return the agences ``user`` reads (a chef d'agence, their own), by name."""
    if user.organisation_id is None:
        return []
    query = sa.select(Agence).where(Agence.organisation_id == user.organisation_id)
    if user.agence_id is not None:
        query = query.where(Agence.id == user.agence_id)
    return list(db.session.scalars(query.order_by(Agence.name, Agence.id)))
