"""Filing, listing and qualifying facts."""

from __future__ import annotations

import functools
import logging
import math
import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from orfi import limits
from orfi.auth.models import Role, User, user_residence
from orfi.database import Prepared, prepared, utcnow
from orfi.errors import AccessDenied, NotFound, ValidationError
from orfi.extensions import db
from orfi.geo.points import distance_m, h3_cell, is_valid_position
from orfi.nomenclature.models import Category
from orfi.nomenclature.services import get_category
from orfi.patrimoine.models import Batiment, Organisation, Residence
from orfi.reports.models import (
    STAFF_VICTIMS,
    Intervention,
    Lieu,
    LocationSource,
    ReferenceCounter,
    Report,
    ReportEvent,
    Status,
    Suite,
    Victime,
)
from orfi.timezone import from_local, now_local, to_local

logger = logging.getLogger(__name__)

#: Tolerated clock skew between a phone and the server for "not in the future".
CLOCK_SKEW = timedelta(minutes=5)
MAX_DAMAGE_EUR = limits.DAMAGE_MAX_EUR
MAX_STOPPAGE_DAYS = limits.STOPPAGE_MAX_DAYS
MAX_COMMENT = limits.COMMENT_MAX_LENGTH
_GRAVITY_RANGE = f"La gravité va de {limits.GRAVITY_MIN} à {limits.GRAVITY_MAX}."


@dataclass
class ReportInput:
    """What a user submits to file a fact, already parsed into Python types."""

    category_id: int | None
    residence_id: int | None
    occurred_at: datetime | None  # aware, or naive meaning Europe/Paris wall-clock time
    latitude: float | None = None
    longitude: float | None = None
    gps_accuracy_m: float | None = None
    location_source: LocationSource | None = None
    confirm_position: bool = False
    batiment_id: int | None = None
    lieu: Lieu | None = None
    victime: Victime | None = None
    arret_travail_jours: int | None = None
    mission_service_public: bool = False
    suite: Suite | None = None
    intervention: Intervention | None = None
    damage_cost_eur: int | None = None
    gravity: int | None = None
    description: str = ""
    uuid: uuid_module.UUID | None = None


@dataclass
class ReportFilters:
    """Filters of the facts list (all optional)."""

    date_from: date | None = None
    date_to: date | None = None
    category_id: int | None = None
    residence_id: int | None = None
    status: Status | None = None
    page: int = 1
    extra: dict = field(default_factory=dict)


def filing_residences(user: User) -> list[Residence]:
    """Return the résidences ``user`` may file for: a gardien's sector, else all."""
    if user.organisation_id is None:
        return []
    if user.role is Role.GARDIEN:
        return list(user.sector)
    query = db.select(Residence).where(
        Residence.organisation_id == user.organisation_id
    )
    if user.agence_id is not None:
        query = query.where(Residence.agence_id == user.agence_id)
    return list(db.session.scalars(query.order_by(Residence.name)))


def may_file_for(
    user: User,
    residence,
    connection: sa.Connection | None = None,
    *,
    in_sector: bool | None = None,
) -> bool:
    """Return whether ``user`` may file facts on ``residence`` (filing_residences).

    ``in_sector`` says whether ``residence`` is in ``user``'s sector, when the caller
    already read it; else it is read here for a gardien.
    """
    if (
        user.organisation_id is None
        or residence.organisation_id != user.organisation_id
    ):
        return False
    if user.role is Role.GARDIEN:
        if in_sector is not None:
            return in_sector
        params = {"user_id": user.id, "residence_id": residence.id}
        connection = connection or _connection()
        return connection.execute(_in_sector(), params).first() is not None
    if user.role is Role.FEDERATION:
        return False
    return user.agence_id is None or residence.agence_id == user.agence_id


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


def check_report_input(user: User, data: ReportInput) -> dict[str, list[str]]:
    """Return the domain errors of ``data`` for ``user`` by field (empty: valid)."""
    return _checked(user, data).errors


@dataclass
class _Checked:
    """The errors of a submitted fact, and the rows checking it read."""

    errors: dict[str, list[str]]
    category: sa.Row | None = None
    residence: sa.Row | None = None


@dataclass
class IntakeRows:
    """What checking a new fact reads, fetched by one statement (see intake_select)."""

    category: sa.Row | SimpleNamespace | None
    residence: sa.Row | SimpleNamespace | None
    in_sector: bool | None
    stored_id: int | None


def intake_values(data: ReportInput) -> dict:
    """The parameters of :func:`intake_select`'s statement for ``data``."""
    return {
        "residence_id": data.residence_id or 0,
        "category_id": data.category_id or 0,
        "uuid": data.uuid,
    }


def intake_rows(row) -> IntakeRows | None:
    """The rows of a fact as :func:`intake_select` read them; None when the résidence
    does not exist (the slow path then reads each row on its own and reports the
    errors)."""
    if row.id is None:
        return None
    category = None
    if row.category_id is not None:
        category = SimpleNamespace(
            id=row.category_id,
            organisation_id=row.category_organisation_id,
            active=row.category_active,
            code=row.category_code,
            label=row.category_label,
        )
    residence = SimpleNamespace(
        id=row.id,
        organisation_id=row.organisation_id,
        agence_id=row.agence_id,
        latitude=row.latitude,
        longitude=row.longitude,
        name=row.name,
        reference=row.reference,
        organisation_code=row.organisation_code,
    )
    return IntakeRows(category, residence, bool(row.in_sector), row.stored_id)


def _read_intake_rows(user: User, data: ReportInput, cursor) -> IntakeRows | None:
    """Read the résidence, the category, the sector and the client UUID of ``data``
    in one statement (see intake_rows)."""
    row = _prepared(_intake_row).first(
        cursor, {**intake_values(data), "user_id": user.id}
    )
    return None if row is None else intake_rows(row)


def _checked(user: User, data: ReportInput, rows: IntakeRows | None = None) -> _Checked:
    connection = None if rows is not None else _connection()
    errors: dict[str, list[str]] = {}
    config = current_app.config

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if user.organisation_id is None or user.role is Role.FEDERATION:
        fail("residence", "Votre compte ne permet pas de signaler des faits.")
        return _Checked(errors)

    # Rows, not entities: this runs for every fact filed (see _intake_row).
    if rows is not None:
        category = rows.category
    elif data.category_id:
        category = connection.execute(
            _category_row(), {"category_id": data.category_id}
        ).first()
    else:
        category = None
    if category is None or category.organisation_id != user.organisation_id:
        category = None
        fail("category", "Choisissez une catégorie.")
    elif not category.active:
        fail(
            "category", "Cette catégorie n'est plus utilisée : choisissez-en une autre."
        )

    if rows is not None:
        residence = rows.residence
    elif data.residence_id:
        residence = connection.execute(
            _residence_row(), {"residence_id": data.residence_id}
        ).first()
    else:
        residence = None
    if residence is None:
        fail("residence", "Choisissez une résidence.")
    elif not may_file_for(
        user, residence, connection, in_sector=rows.in_sector if rows else None
    ):
        fail("residence", "Cette résidence ne fait pas partie de votre secteur.")
        residence = None

    if data.batiment_id is not None:
        batiment = db.session.get(Batiment, data.batiment_id)
        if (
            batiment is None
            or residence is None
            or batiment.residence_id != residence.id
        ):
            fail("batiment", "Ce bâtiment n'appartient pas à la résidence choisie.")

    _check_position(data, residence, config, fail)
    _check_occurred_at(data.occurred_at, config, fail)

    max_length = config["ORFI_DESCRIPTION_MAX_LENGTH"]
    if len(data.description or "") > max_length:
        fail("description", f"La description est limitée à {max_length} caractères.")
    elif not is_storable_text(data.description or ""):
        fail("description", "La description contient des caractères invalides.")
    if (
        data.gravity is not None
        and not limits.GRAVITY_MIN <= data.gravity <= limits.GRAVITY_MAX
    ):
        fail("gravity", _GRAVITY_RANGE)
    if (
        data.damage_cost_eur is not None
        and not 0 <= data.damage_cost_eur <= MAX_DAMAGE_EUR
    ):
        fail(
            "damage_cost_eur",
            f"Indiquez un coût entre 0 et {limits.french(MAX_DAMAGE_EUR)} €.",
        )
    if data.arret_travail_jours is not None:
        if data.victime not in STAFF_VICTIMS:
            fail(
                "arret_travail_jours",
                "L'arrêt de travail concerne un membre du personnel.",
            )
        elif not 0 <= data.arret_travail_jours <= MAX_STOPPAGE_DAYS:
            fail(
                "arret_travail_jours",
                f"Indiquez un nombre de jours entre 0 et {MAX_STOPPAGE_DAYS}.",
            )
    if data.mission_service_public and data.victime not in STAFF_VICTIMS:
        fail(
            "mission_service_public",
            "La mission de service public concerne un membre du personnel victime.",
        )
    return _Checked(errors, category, residence)


def is_storable_text(text: str) -> bool:
    """Return whether ``text`` can be stored as is (no NUL, valid UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. from a JSON "\ud800"
        return False
    return True


def _check_position(data: ReportInput, residence, config, fail) -> None:
    has_lat, has_lon = data.latitude is not None, data.longitude is not None
    if has_lat != has_lon:
        fail(
            "latitude",
            "La position est incomplète : latitude et longitude vont ensemble.",
        )
        return
    if not has_lat:
        return
    if not is_valid_position(data.latitude, data.longitude):
        fail(
            "latitude",
            "Position invalide : latitude entre -90 et 90, longitude entre "
            "-180 et 180.",
        )
        return
    if data.gps_accuracy_m is not None and not (
        0 <= data.gps_accuracy_m <= limits.GPS_ACCURACY_MAX_M
    ):
        fail("gps_accuracy_m", "Précision GPS invalide.")
    if residence is None:
        return
    limit = config["ORFI_MAX_DISTANCE_FROM_RESIDENCE_M"]
    gap = distance_m(
        data.latitude, data.longitude, residence.latitude, residence.longitude
    )
    if gap > limit and not data.confirm_position:
        fail(
            "confirm_position",
            f"La position est à {_format_distance(gap)} de la résidence "
            f"« {residence.name} » (plus de {limit} m) : confirmez-la ou choisissez "
            "la bonne résidence.",
        )


def _format_distance(metres: float) -> str:
    if metres < 1000:
        return f"{round(metres)} m"
    return f"{metres / 1000:.1f} km".replace(".", ",")


def _check_occurred_at(occurred_at: datetime | None, config, fail) -> None:
    if occurred_at is None:
        fail("occurred_at", "Indiquez la date et l'heure du fait.")
        return
    try:
        moment = from_local(occurred_at) if occurred_at.tzinfo is None else occurred_at
    except OverflowError:  # year 1 or 9999 shifted out of range
        fail("occurred_at", "Date invalide.")
        return
    now = utcnow()
    if moment > now + CLOCK_SKEW:
        fail("occurred_at", "La date du fait ne peut pas être dans le futur.")
    max_days = config["ORFI_MAX_FACT_AGE_DAYS"]
    if moment < now - timedelta(days=max_days):
        fail("occurred_at", f"Le fait ne peut pas dater de plus de {max_days} jours.")


# Statements run for every fact filed are built once, on tables rather than entities,
# and run on the session's connection: building a statement, or going through the ORM,
# costs several times more than running it on SQLite (see benchmarks/api_load.py).


def _connection() -> sa.Connection:
    """The connection of the session's transaction (to run prebuilt Core statements)."""
    return db.session.connection()


@functools.cache
def _report_by_uuid() -> sa.Select:
    return db.select(Report).where(Report.uuid == sa.bindparam("uuid"))


@functools.cache
def _category_row() -> sa.Select:
    category = Category.__table__.c
    return sa.select(
        category.id, category.organisation_id, category.active, category.code,
        category.label,
    ).where(category.id == sa.bindparam("category_id"))  # fmt: skip


def _residence_columns() -> tuple:
    """What checking a fact needs of its résidence, with its bailleur's code."""
    residence, organisation = Residence.__table__, Organisation.__table__
    return (
        residence.c.id,
        residence.c.organisation_id,
        residence.c.agence_id,
        residence.c.latitude,
        residence.c.longitude,
        residence.c.name,
        residence.c.reference,
        organisation.c.code.label("organisation_code"),
    )


@functools.cache
def _residence_row() -> sa.Select:
    residence, organisation = Residence.__table__, Organisation.__table__
    return (
        sa.select(*_residence_columns())
        .join(organisation, residence.c.organisation_id == organisation.c.id)
        .where(residence.c.id == sa.bindparam("residence_id"))
    )


def intake_select(
    *who: sa.ColumnElement, columns: tuple = (), users: sa.FromClause | None = None
) -> sa.Select:
    """The statement of everything filing a fact reads, in one (it runs for every
    fact): the résidence with its bailleur's code, the category, whether the
    résidence is in the user's sector and the id of a fact already stored under the
    client UUID (parameters: see intake_values).

    The user is the row of ``users`` (default: the user table) that the criteria
    ``who`` select, with their ``columns`` too: the API reads the owner of a token
    with the fact's rows. Résidence and category columns are null when they do not
    exist; no row when the user does not.
    """
    user, residence, organisation, category, report = (
        User.__table__, Residence.__table__, Organisation.__table__,
        Category.__table__, Report.__table__,
    )  # fmt: skip
    in_sector = sa.exists().where(
        user_residence.c.user_id == user.c.id,
        user_residence.c.residence_id == residence.c.id,
    )
    stored = (
        sa.select(report.c.id)
        .where(report.c.uuid == sa.bindparam("uuid"))
        .scalar_subquery()
    )
    place = residence.join(
        organisation, residence.c.organisation_id == organisation.c.id
    )
    return (
        sa.select(
            *_residence_columns(),
            in_sector.label("in_sector"),
            category.c.id.label("category_id"),
            category.c.organisation_id.label("category_organisation_id"),
            category.c.active.label("category_active"),
            category.c.code.label("category_code"),
            category.c.label.label("category_label"),
            stored.label("stored_id"),
            *columns,
        )
        .select_from(
            (user if users is None else users)
            .outerjoin(place, residence.c.id == sa.bindparam("residence_id"))
            .outerjoin(category, category.c.id == sa.bindparam("category_id"))
        )
        .where(*who)
    )


@functools.cache
def _intake_row() -> sa.Select:
    return intake_select(User.__table__.c.id == sa.bindparam("user_id"))


@functools.cache
def _in_sector() -> sa.Select:
    return sa.select(user_residence.c.residence_id).where(
        user_residence.c.user_id == sa.bindparam("user_id"),
        user_residence.c.residence_id == sa.bindparam("residence_id"),
    )


def next_reference(organisation_id: int, code: str, year: int, cursor=None) -> str:
    """Return the organisation's next reference for ``year`` (``TMH-2026-000123``).

    One statement creates the year's counter or moves it on; the counter's row then
    stays locked until the transaction ends, so numbers never repeat.
    """
    number = (
        _prepared(_next_number)
        .first(
            cursor or _cursor(),
            {"counter_organisation": organisation_id, "counter_year": year},
        )
        .last
    )
    return f"{code}-{year}-{number:06d}"


def derived_fields(occurred_at: datetime, latitude: float, longitude: float) -> dict:
    """Return the columns computed from time and position (calendar parts, H3 cells)."""
    local = to_local(occurred_at)
    return {
        "occurred_month": local.year * 100 + local.month,
        "occurred_weekday": local.weekday(),
        "occurred_hour": local.hour,
        "h3_r7": h3_cell(latitude, longitude, 7),
        "h3_r9": h3_cell(latitude, longitude, 9),
    }


def find_report_by_uuid(report_uuid: uuid_module.UUID) -> Report | None:
    """Return the fact with this client UUID, whoever filed it."""
    return db.session.scalar(_report_by_uuid(), {"uuid": report_uuid})


def create_report(user: User, data: ReportInput) -> tuple[Report, bool]:
    """File a fact for ``user``; return it and whether it was created now.

    A UUID the client already sent returns the stored fact instead of a second one, so a
    resend after a lost answer never files the fact twice.
    """
    if (
        data.uuid is not None
        and (existing := find_report_by_uuid(data.uuid)) is not None
    ):
        return _resent_report(user, existing), False
    report_id, created = store_report(user, build_report(user, data))
    return db.session.get(Report, report_id), created


@dataclass
class NewReport:
    """A checked fact, ready to be stored: its row (no reference, no id yet), and the
    rows that checking it read."""

    values: dict
    organisation_code: str
    client_uuid: uuid_module.UUID | None
    category: sa.Row
    residence: sa.Row


def prepare_report(
    user: User, data: ReportInput, cursor=None, rows: IntakeRows | None = None
) -> tuple[int | None, NewReport | None]:
    """Return the id of the stored fact if ``data`` resends a known UUID, else the
    checked new fact to store (reads only; see :func:`build_report`). ``cursor``: a
    DBAPI cursor to read with (default: the session's connection's); ``rows``: what
    the caller already read of them with :func:`intake_select`."""
    cursor = cursor or _cursor()
    if rows is None:
        rows = _read_intake_rows(user, data, cursor)
    if data.uuid is not None and (rows is None or rows.stored_id is not None):
        stored = _prepared(_stored_by_uuid).first(cursor, {"uuid": data.uuid})
        if stored is not None:
            return _resent_report(user, stored).id, None
    return None, build_report(user, data, rows)


def build_report(
    user: User, data: ReportInput, rows: IntakeRows | None = None
) -> NewReport:
    """Check ``data`` for ``user`` and compute the fact's row, without storing it.

    Reads only: a caller may run it outside the write transaction (see the API), so
    that the database's write lock is held for the inserts alone. ``rows`` are what
    :func:`prepare_report` already read.
    """
    checked = _checked(user, data, rows)
    if checked.errors:
        raise ValidationError(checked.errors)
    residence = checked.residence
    occurred_at = (
        from_local(data.occurred_at)
        if data.occurred_at.tzinfo is None
        else data.occurred_at
    )
    if data.latitude is None:
        latitude, longitude = residence.latitude, residence.longitude
        source, accuracy = LocationSource.RESIDENCE, None
    else:
        latitude, longitude = data.latitude, data.longitude
        source = data.location_source or LocationSource.GPS
        accuracy = data.gps_accuracy_m
    staff = data.victime in STAFF_VICTIMS
    created_at = utcnow()
    values = {
        "uuid": data.uuid or uuid_module.uuid4(),
        "organisation_id": residence.organisation_id,
        "residence_id": residence.id,
        "batiment_id": data.batiment_id,
        "category_id": data.category_id,
        "author_id": user.id,
        "occurred_at": occurred_at,
        "created_at": created_at,
        "latitude": latitude,
        "longitude": longitude,
        "gps_accuracy_m": accuracy,
        "location_source": source,
        "lieu": data.lieu,
        "victime": data.victime,
        "arret_travail_jours": data.arret_travail_jours if staff else None,
        "mission_service_public": bool(data.mission_service_public and staff),
        "suite": data.suite,
        "intervention": data.intervention,
        "damage_cost_eur": data.damage_cost_eur,
        "gravity": data.gravity,
        "description": (data.description or "").strip(),
        "status": Status.NOUVEAU,
        "duplicate_of_id": None,
        **derived_fields(occurred_at, latitude, longitude),
    }
    return NewReport(
        values,
        residence.organisation_code,
        data.uuid,
        checked.category,
        residence,
    )


def store_report(user: User, new: NewReport, cursor=None) -> tuple[int, bool]:
    """Store a fact built by :func:`build_report`; return its id and whether it is new.

    A fact whose UUID is already stored (a resend racing the first send) is not stored
    again: the stored fact's id is returned. The rows are written by plain INSERTs run
    on the driver (``cursor``, default: the session connection's): this runs for
    every fact filed, under SQLite's write lock, where a unit-of-work flush, or even
    a SQLAlchemy execution, costs more than the inserts themselves.
    """
    values = new.values
    cursor = cursor or _cursor()
    organisation_id = values["organisation_id"]
    year = now_local().year
    values["reference"] = next_reference(
        organisation_id, new.organisation_code, year, cursor
    )
    # Two sends of one UUID may both get here (checked before the write transaction):
    # the second one's insert, made conditional on the UUID being free, stores
    # nothing, and its number goes back to the counter.
    inserted = _prepared(_insert_report, tuple(values)).first(cursor, values)
    if inserted is None:
        # The counter's row stays locked until this transaction ends: no other fact
        # took a number since ours, which can be given back.
        _prepared(_give_back_number).execute(
            cursor, {"counter_organisation": organisation_id, "counter_year": year}
        )
        # Read on this transaction's connection: on SQLite another one would wait
        # for the write lock this one holds.
        stored = _prepared(_stored_by_uuid).first(cursor, {"uuid": values["uuid"]})
        _resent_report(user, stored)
        return stored.id, False
    # No "created" event: the row itself says who filed it and when (its history
    # holds what changed since).
    values["id"] = inserted.id
    logger.info("Fait %s enregistré par l'utilisateur %s", values["reference"], user.id)
    return inserted.id, True


def _cursor():
    """A DBAPI cursor on the connection of the session's transaction."""
    return db.session.connection().connection.cursor()


def _prepared(build, keys: tuple[str, ...] | None = None) -> Prepared:
    """The statement of ``build`` compiled for the current database (once)."""
    return prepared(db.engine.dialect, build, keys, by_dialect=build in _BY_DIALECT)


def _dialect_insert(dialect: str):
    """The INSERT construct with ON CONFLICT of ``dialect`` (None if it has none)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        return None
    return insert


def _insert_report(dialect: str) -> sa.Insert:
    """INSERT of a fact that stores nothing if its UUID is taken (RETURNING no row)."""
    table = Report.__table__
    insert = _dialect_insert(dialect)
    if insert is None:  # a unique violation then raises instead
        return sa.insert(table).returning(table.c.id)
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=[table.c.uuid])
        .returning(table.c.id)
    )


def _next_number(dialect: str) -> sa.Insert:
    """Create the year's counter at 1, or add one to it; RETURNING the number."""
    table = ReferenceCounter.__table__
    values = {
        "organisation_id": sa.bindparam("counter_organisation"),
        "year": sa.bindparam("counter_year"),
        "last": 1,
    }
    insert = _dialect_insert(dialect)
    if insert is None:
        raise NotImplementedError(f"Base {dialect} non prise en charge.")
    return (
        insert(table)
        .values(values)
        .on_conflict_do_update(
            index_elements=[table.c.organisation_id, table.c.year],
            set_={"last": table.c.last + 1},
        )
        .returning(table.c.last)
    )


#: Statement builders that take the dialect's name.
_BY_DIALECT = frozenset({_insert_report, _next_number})


def _give_back_number() -> sa.Update:
    table = ReferenceCounter.__table__
    return (
        sa.update(table)
        .where(
            table.c.organisation_id == sa.bindparam("counter_organisation"),
            table.c.year == sa.bindparam("counter_year"),
        )
        .values(last=table.c.last - 1)
    )


def _stored_by_uuid() -> sa.Select:
    table = Report.__table__
    return sa.select(table.c.id, table.c.author_id).where(
        table.c.uuid == sa.bindparam("uuid")
    )


def _resent_report(user: User, existing):
    """Return the stored fact a client sent again (a Report, or a row with its id and
    author_id), if it is this user's."""
    if existing.author_id != user.id:
        raise ValidationError({"uuid": ["Cet identifiant est déjà utilisé."]})
    return existing


def visible_reports(user: User) -> sa.Select:
    """Return a query of the facts ``user`` may read.

    A gardien reads their own facts; readers the organisation's (a chef d'agence, the
    agence's); anyone else none.
    """
    query = db.select(Report)
    if user.organisation_id is None:
        return query.where(sa.false())
    query = query.where(Report.organisation_id == user.organisation_id)
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


def filtered_reports(
    user: User, filters: ReportFilters, *, mine: bool = False
) -> sa.Select:
    """Return a query of the facts ``user`` may read that match ``filters``."""
    query = visible_reports(user)
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
    return query.order_by(Report.occurred_at.desc(), Report.id.desc())


def list_reports(
    user: User,
    filters: ReportFilters,
    *,
    mine: bool = False,
    per_page: int | None = None,
):
    """Return a page (Flask-SQLAlchemy pagination) of the facts ``user`` may read."""
    query = filtered_reports(user, filters, mine=mine).options(
        sa.orm.joinedload(Report.category).joinedload(Category.family),
        sa.orm.joinedload(Report.residence),
    )
    return db.paginate(
        query,
        page=filters.page,
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


def qualify_report(
    user: User,
    report: Report,
    *,
    category_id: int,
    status: Status,
    gravity: int | None,
    comment: str = "",
) -> ReportEvent | None:
    """Change a fact's category, status and gravity, keeping the change in its history.

    Returns the history event, or None when nothing changed.
    """
    errors: dict[str, list[str]] = {}
    category = get_category(report.organisation_id, category_id)
    if category is None:
        errors["category"] = ["Choisissez une catégorie de votre nomenclature."]
    elif not category.active and category.id != report.category_id:
        errors["category"] = ["Cette catégorie n'est plus utilisée."]
    if gravity is not None and not limits.GRAVITY_MIN <= gravity <= limits.GRAVITY_MAX:
        errors["gravity"] = [_GRAVITY_RANGE]
    if len(comment) > MAX_COMMENT:
        errors["comment"] = [f"Le commentaire est limité à {MAX_COMMENT} caractères."]
    if errors:
        raise ValidationError(errors)

    changes: dict[str, list] = {}
    if category.id != report.category_id:
        changes["category"] = [report.category.code, category.code]
        report.category = category
    if status is not report.status:
        changes["status"] = [report.status.value, status.value]
        report.status = status
    if gravity != report.gravity:
        changes["gravity"] = [report.gravity, gravity]
        report.gravity = gravity
    if not changes and not comment:
        return None
    event = ReportEvent(
        report_id=report.id,
        user_id=user.id,
        kind="updated",
        changes=changes,
        comment=comment,
    )
    db.session.add(event)
    db.session.flush()
    return event


# ---------------------------------------------------------------- "Déjà signalé ?"

#: A fact of the same category closer than this, recent enough, may be the same fact.
NEARBY_RADIUS_M = 50
NEARBY_WINDOW = timedelta(hours=24)
_METRES_PER_DEGREE = 111_320.0


@dataclass
class NearbyFact:
    """A fact near a position, with its distance in metres."""

    report: Report
    distance_m: float


def nearby_reports(
    user: User,
    *,
    category_id: int,
    latitude: float,
    longitude: float,
    since: datetime | None = None,
    until: datetime | None = None,
    radius_m: float = NEARBY_RADIUS_M,
    exclude_id: int | None = None,
    limit: int = 10,
) -> list[NearbyFact]:
    """Return the facts of this category within ``radius_m`` of a point, nearest first.

    Only facts that count are returned (not duplicates), only on résidences ``user``
    may file for (or facts ``user`` may read), by default from the last 24 hours: the
    facts a gardien may be about to file a second time.
    """
    if user.organisation_id is None or not is_valid_position(latitude, longitude):
        return []
    now = utcnow()
    since = since or now - NEARBY_WINDOW
    until = until or now + CLOCK_SKEW
    # A bounding box in degrees lets the database use its indexes; the exact distance
    # is computed below on the few facts left.
    dlat = radius_m / _METRES_PER_DEGREE
    dlon = radius_m / (_METRES_PER_DEGREE * max(math.cos(math.radians(latitude)), 0.01))
    query = db.select(Report).where(
        Report.organisation_id == user.organisation_id,
        Report.category_id == category_id,
        Report.duplicate_of_id.is_(None),
        Report.occurred_at >= since,
        Report.occurred_at <= until,
        Report.latitude.between(latitude - dlat, latitude + dlat),
        Report.longitude.between(longitude - dlon, longitude + dlon),
    )
    if exclude_id is not None:
        query = query.where(Report.id != exclude_id)
    query = query.where(_filer_perimeter(user))
    query = query.options(
        sa.orm.joinedload(Report.category), sa.orm.joinedload(Report.residence)
    ).limit(200)
    found = [
        NearbyFact(report, distance_m(latitude, longitude, r_lat, r_lon))
        for report in db.session.scalars(query)
        for r_lat, r_lon in [(report.latitude, report.longitude)]
    ]
    found = [fact for fact in found if fact.distance_m <= radius_m]
    found.sort(key=lambda fact: (fact.distance_m, -fact.report.id))
    return found[:limit]


def _filer_perimeter(user: User) -> sa.ColumnElement[bool]:
    """SQL condition: facts on résidences ``user`` files for, or their own facts."""
    if user.role is Role.GARDIEN:
        sector = db.select(user_residence.c.residence_id).where(
            user_residence.c.user_id == user.id
        )
        return sa.or_(Report.residence_id.in_(sector), Report.author_id == user.id)
    if user.role is Role.FEDERATION:
        return sa.false()
    if user.agence_id is not None:
        in_agence = db.select(Residence.id).where(Residence.agence_id == user.agence_id)
        return Report.residence_id.in_(in_agence)
    return sa.true()


def may_add_to(user: User, report: Report) -> bool:
    """Return whether ``user`` may add a complement or photos to ``report``."""
    if user.organisation_id != report.organisation_id:
        return False
    if report.author_id == user.id:
        return True
    return db.session.scalar(
        visible_reports(user).where(Report.id == report.id)
    ) is not None or may_file_for(user, report.residence)


def get_report_for_addition(user: User, report_uuid: uuid_module.UUID) -> Report:
    """Return the fact ``user`` may add to, else raise NotFound."""
    report = find_report_by_uuid(report_uuid)
    if report is None or not may_add_to(user, report):
        raise NotFound("Signalement introuvable.")
    return report


def add_to_report(
    user: User,
    report: Report,
    *,
    comment: str = "",
    client_uuid: uuid_module.UUID | None = None,
) -> tuple[ReportEvent, bool]:
    """Add another filer's complement to a fact; return it and whether it is new.

    This is what "Déjà signalé ?" offers instead of filing the same fact twice. Like a
    fact, an addition sent again with the same ``client_uuid`` is recorded once.
    """
    if not may_add_to(user, report):
        raise AccessDenied("Vous ne pouvez pas compléter ce fait.")
    if client_uuid is not None and (
        existing := _find_event_by_client_uuid(client_uuid)
    ):
        return _resent_event(user, report, existing), False
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationError(
            {"comment": [f"Le complément est limité à {MAX_COMMENT} caractères."]}
        )
    if not is_storable_text(comment):
        raise ValidationError(
            {"comment": ["Le complément contient des caractères invalides."]}
        )
    event = ReportEvent(
        report_id=report.id,
        user_id=user.id,
        kind="addition",
        comment=comment,
        client_uuid=client_uuid or uuid_module.uuid4(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(event)
    except IntegrityError:
        existing = _find_event_by_client_uuid(client_uuid) if client_uuid else None
        if existing is None:
            raise
        return _resent_event(user, report, existing), False
    logger.info("Complément ajouté au fait %s par %s", report.reference, user.id)
    return event, True


def _find_event_by_client_uuid(client_uuid: uuid_module.UUID) -> ReportEvent | None:
    return db.session.scalar(
        db.select(ReportEvent).where(ReportEvent.client_uuid == client_uuid)
    )


def _resent_event(user: User, report: Report, event: ReportEvent) -> ReportEvent:
    if event.user_id != user.id or event.report_id != report.id:
        raise ValidationError({"uuid": ["Cet identifiant est déjà utilisé."]})
    return event


# --------------------------------------------------------------------- duplicates


def find_visible_report_by_reference(user: User, reference: str) -> Report | None:
    """Return the fact with this reference if ``user`` may read it."""
    reference = (reference or "").strip().upper()
    if not reference:
        return None
    return db.session.scalar(visible_reports(user).where(Report.reference == reference))


def list_duplicates(report: Report) -> list[Report]:
    """Return the facts marked as duplicates of ``report``, oldest first."""
    return list(
        db.session.scalars(
            db.select(Report)
            .where(Report.duplicate_of_id == report.id)
            .order_by(Report.occurred_at, Report.id)
        )
    )


def duplicate_candidates(user: User, report: Report) -> list[NearbyFact]:
    """Return the facts that may be the same as ``report``: same category, close in
    space (50 m) and in time (24 h before or after)."""
    return nearby_reports(
        user,
        category_id=report.category_id,
        latitude=report.latitude,
        longitude=report.longitude,
        since=report.occurred_at - NEARBY_WINDOW,
        until=report.occurred_at + NEARBY_WINDOW,
        exclude_id=report.id,
    )


def _require_qualifier(user: User) -> None:
    if user.role not in (Role.REFERENT, Role.ADMIN):
        raise AccessDenied("Seul un référent sûreté marque les doublons.")


def mark_duplicate(
    user: User, report: Report, original: Report | None, *, comment: str = ""
) -> ReportEvent:
    """Mark ``report`` as a duplicate of ``original``; it leaves the statistics.

    If ``original`` is itself a duplicate, ``report`` points to the fact it duplicates,
    and facts that duplicated ``report`` follow it, so that every chain has one level.
    """
    _require_qualifier(user)
    if original is None:
        raise ValidationError(
            {"original": ["Indiquez la référence du fait d'origine."]}
        )
    if original.organisation_id != report.organisation_id:
        raise ValidationError(
            {"original": ["Ce fait n'appartient pas au même bailleur."]}
        )
    while original.duplicate_of_id is not None:
        original = db.session.get(Report, original.duplicate_of_id)
    if original.id == report.id:
        raise ValidationError(
            {"original": ["Un fait ne peut pas être son propre doublon."]}
        )
    if len(comment) > MAX_COMMENT or not is_storable_text(comment):
        raise ValidationError(
            {"comment": [f"Commentaire invalide ({MAX_COMMENT} caractères au plus)."]}
        )
    before = report.duplicate_of.reference if report.duplicate_of_id else None
    report.duplicate_of = original
    event = ReportEvent(
        report_id=report.id,
        user_id=user.id,
        kind="updated",
        changes={"duplicate_of": [before, original.reference]},
        comment=comment.strip(),
    )
    db.session.add(event)
    for child in list_duplicates(report):
        child.duplicate_of = original
        db.session.add(
            ReportEvent(
                report_id=child.id,
                user_id=user.id,
                kind="updated",
                changes={"duplicate_of": [report.reference, original.reference]},
            )
        )
    db.session.flush()
    logger.info(
        "Fait %s marqué doublon de %s par %s",
        report.reference,
        original.reference,
        user.id,
    )
    return event


def unmark_duplicate(
    user: User, report: Report, *, comment: str = ""
) -> ReportEvent | None:
    """Make ``report`` count again (it is not a duplicate); None if it was not one."""
    _require_qualifier(user)
    if report.duplicate_of_id is None:
        return None
    if len(comment) > MAX_COMMENT or not is_storable_text(comment):
        raise ValidationError(
            {"comment": [f"Commentaire invalide ({MAX_COMMENT} caractères au plus)."]}
        )
    before = report.duplicate_of.reference
    report.duplicate_of = None
    event = ReportEvent(
        report_id=report.id,
        user_id=user.id,
        kind="updated",
        changes={"duplicate_of": [before, None]},
        comment=comment.strip(),
    )
    db.session.add(event)
    db.session.flush()
    return event
