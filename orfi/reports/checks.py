"""What a submitted fact must satisfy: who may file where, and the domain rules."""

from __future__ import annotations

import functools
import uuid as uuid_module
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import contains_eager

from orfi import limits
from orfi.auth.models import Role, User, user_residence
from orfi.database import utcnow
from orfi.extensions import db
from orfi.geo.points import distance_m, is_valid_position
from orfi.nomenclature.models import Category
from orfi.patrimoine.models import Batiment, Organisation, Residence
from orfi.reports.models import (
    STAFF_VICTIMS,
    Intervention,
    Lieu,
    LocationSource,
    Report,
    Suite,
    Victime,
)
from orfi.timezone import from_local

#: Tolerated clock skew between a phone and the server for "not in the future".
CLOCK_SKEW = timedelta(minutes=5)
MAX_DAMAGE_EUR = limits.DAMAGE_MAX_EUR
MAX_STOPPAGE_DAYS = limits.STOPPAGE_MAX_DAYS
MAX_COMMENT = limits.COMMENT_MAX_LENGTH
GRAVITY_RANGE = f"La gravité va de {limits.GRAVITY_MIN} à {limits.GRAVITY_MAX}."

#: Records one error message for one field.
Fail = Callable[[str, str], None]


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
class CheckedInput:
    """The errors of a submitted fact by field, and the rows checking it loaded."""

    errors: dict[str, list[str]]
    category: Category | None = None
    residence: Residence | None = None
    batiment: Batiment | None = None


def is_storable_text(text: str) -> bool:
    """Return whether ``text`` can be stored as is (no NUL, valid UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. from a JSON "\ud800"
        return False
    return True


def may_file_for(
    user: User, residence: Residence, *, in_sector: bool | None = None
) -> bool:
    """Return whether ``user`` may file facts on ``residence`` (gardien: sector).

    ``in_sector`` says whether ``residence`` is in ``user``'s sector, when the caller
    already read it; else it is read here for a gardien.
    """
    if (
        user.organisation_id is None
        or residence.organisation_id != user.organisation_id
    ):
        return False
    if user.role is Role.GARDIEN:
        return _in_sector(user, residence) if in_sector is None else in_sector
    if user.role is Role.FEDERATION:
        return False
    return user.agence_id is None or residence.agence_id == user.agence_id


def _in_sector(user: User, residence: Residence) -> bool:
    """Whether ``residence`` is in the gardien ``user``'s sector (one indexed read,
    rather than loading the whole sector)."""
    link = user_residence.c
    found = db.session.execute(
        sa.select(link.residence_id).where(
            link.user_id == user.id, link.residence_id == residence.id
        )
    ).first()
    return found is not None


@dataclass
class InputRows:
    """What checking and filing a submitted fact read (see :func:`read_input_rows`)."""

    category: Category | None
    residence: Residence | None  # with its bailleur loaded
    in_sector: bool  # whether the résidence is in the user's sector
    stored_id: int | None  # of a fact already filed under the client UUID


def read_input_rows(user: User, data: ReportInput) -> InputRows:
    """Read the category, the résidence with its bailleur, whether it is in the
    user's sector and the fact already filed under the client UUID, in one statement:
    every fact filed runs it, and each round trip counts under the write lock."""
    parameters = {"user_id": user.id, **input_rows_parameters(data)}
    row = db.session.execute(_input_rows(), parameters).one()
    return input_rows_of(row)


def input_rows_parameters(data: ReportInput) -> dict:
    """Return the parameters of :func:`input_rows_statement` for ``data``."""
    return {
        "residence_id": data.residence_id or 0,
        "category_id": data.category_id or 0,
        "uuid": data.uuid,  # None matches nothing
    }


def input_rows_of(row: sa.Row) -> InputRows:
    """Return the InputRows of a row of :func:`input_rows_statement` (its first four
    columns)."""
    residence, category, in_sector, stored_id = row[:4]
    return InputRows(category, residence, bool(in_sector), stored_id)


@functools.cache
def _input_rows() -> sa.Select:
    # Built once: building it costs more than running it (SQLAlchemy caches its
    # compiled form).
    return input_rows_statement().where(User.id == sa.bindparam("user_id"))


def input_rows_statement() -> sa.Select:
    """The SELECT of :func:`read_input_rows`, from ``User`` but not yet narrowed to
    one user: the API narrows it to a token's owner, checking the token in the same
    statement. Parameters: :func:`input_rows_parameters`."""
    link = user_residence.c
    in_sector = sa.exists().where(
        link.user_id == User.id, link.residence_id == Residence.id
    )
    stored = sa.select(Report.id).where(Report.uuid == sa.bindparam("uuid"))
    return (
        sa.select(
            Residence,
            Category,
            in_sector.label("in_sector"),
            stored.scalar_subquery().label("stored_id"),
        )
        .select_from(User)
        .outerjoin(Residence, Residence.id == sa.bindparam("residence_id"))
        .outerjoin(Organisation, Organisation.id == Residence.organisation_id)
        .outerjoin(Category, Category.id == sa.bindparam("category_id"))
        .options(contains_eager(Residence.organisation))
    )


def check_report_input(user: User, data: ReportInput) -> dict[str, list[str]]:
    """Return the domain errors of ``data`` for ``user`` by field (empty: valid)."""
    return checked_input(user, data).errors


def checked_input(
    user: User, data: ReportInput, rows: InputRows | None = None
) -> CheckedInput:
    """Check ``data`` for ``user``; return the errors and the rows the checks read
    (``rows``: what the caller already read with :func:`read_input_rows`)."""
    errors: dict[str, list[str]] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if user.organisation_id is None or user.role is Role.FEDERATION:
        fail("residence", "Votre compte ne permet pas de signaler des faits.")
        return CheckedInput(errors)
    config = current_app.config
    rows = rows or read_input_rows(user, data)
    category = _check_category(user, rows.category, fail)
    check_description_required(category, data.description, fail)
    residence = _check_residence(user, rows, fail)
    batiment = check_batiment(data.batiment_id, residence, fail)
    check_position(data, residence, config, fail)
    check_occurred_at(data.occurred_at, config, fail)
    check_details(data, config, fail)
    return CheckedInput(errors, category, residence, batiment)


def _check_category(user: User, category: Category | None, fail: Fail):
    if category is None or category.organisation_id != user.organisation_id:
        fail("category", "Choisissez une catégorie.")
        return None
    if not category.active:
        fail(
            "category", "Cette catégorie n'est plus utilisée : choisissez-en une autre."
        )
    return category


#: Why a fact of an « à préciser » category is refused without a description.
DESCRIPTION_REQUIRED = (
    "Cette catégorie est « à préciser » : décrivez le fait en quelques mots."
)


def check_description_required(
    category: Category | None, description: str | None, fail: Fail
) -> None:
    """Refuse an empty description for a category « à préciser » (e.g. AU99)."""
    required = category is not None and category.description_required
    if required and not (description or "").strip():
        fail("description", DESCRIPTION_REQUIRED)


def _check_residence(user: User, rows: InputRows, fail: Fail):
    residence = rows.residence
    if residence is None:
        fail("residence", "Choisissez une résidence.")
        return None
    if not may_file_for(user, residence, in_sector=rows.in_sector):
        fail("residence", "Cette résidence ne fait pas partie de votre secteur.")
        return None
    return residence


def check_batiment(batiment_id: int | None, residence, fail: Fail):
    """Return the bâtiment of ``batiment_id`` if it belongs to ``residence``."""
    if batiment_id is None:
        return None
    batiment = db.session.get(Batiment, batiment_id)
    if batiment is None or residence is None or batiment.residence_id != residence.id:
        fail("batiment", "Ce bâtiment n'appartient pas à la résidence choisie.")
        return None
    return batiment


def check_position(data: ReportInput, residence, config, fail: Fail) -> None:
    """Check a sent position: complete, valid, near the résidence or confirmed."""
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


def check_occurred_at(occurred_at: datetime | None, config, fail: Fail) -> None:
    """Check the date of a fact: given, not in the future, not too old."""
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


def check_details(data: ReportInput, config, fail: Fail) -> None:
    """The description, gravity, cost and the staff victim's fields."""
    max_length = config["ORFI_DESCRIPTION_MAX_LENGTH"]
    if len(data.description or "") > max_length:
        fail("description", f"La description est limitée à {max_length} caractères.")
    elif not is_storable_text(data.description or ""):
        fail("description", "La description contient des caractères invalides.")
    if (
        data.gravity is not None
        and not limits.GRAVITY_MIN <= data.gravity <= limits.GRAVITY_MAX
    ):
        fail("gravity", GRAVITY_RANGE)
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
