"""Filing, listing and qualifying facts."""

from __future__ import annotations

import logging
import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from orfi.auth.models import Role, User
from orfi.database import utcnow
from orfi.errors import NotFound, ValidationError
from orfi.extensions import db
from orfi.geo.points import distance_m, h3_cell, is_valid_position
from orfi.nomenclature.models import Category
from orfi.nomenclature.services import get_category
from orfi.patrimoine.models import Batiment, Residence
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
MAX_DAMAGE_EUR = 10_000_000
MAX_STOPPAGE_DAYS = 1_000


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
    errors: dict[str, list[str]] = {}
    config = current_app.config

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if user.organisation_id is None or user.role is Role.FEDERATION:
        fail("residence", "Votre compte ne permet pas de signaler des faits.")
        return errors

    category = (
        get_category(user.organisation_id, data.category_id)
        if data.category_id
        else None
    )
    if category is None:
        fail("category", "Choisissez une catégorie.")
    elif not category.active:
        fail(
            "category", "Cette catégorie n'est plus utilisée : choisissez-en une autre."
        )

    residence = (
        db.session.get(Residence, data.residence_id) if data.residence_id else None
    )
    allowed_ids = {r.id for r in filing_residences(user)}
    if residence is None:
        fail("residence", "Choisissez une résidence.")
    elif (
        residence.organisation_id != user.organisation_id
        or residence.id not in allowed_ids
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
    if data.gravity is not None and not 1 <= data.gravity <= 4:
        fail("gravity", "La gravité va de 1 à 4.")
    if (
        data.damage_cost_eur is not None
        and not 0 <= data.damage_cost_eur <= MAX_DAMAGE_EUR
    ):
        fail("damage_cost_eur", "Indiquez un coût entre 0 et 10 000 000 €.")
    if data.arret_travail_jours is not None:
        if data.victime not in STAFF_VICTIMS:
            fail(
                "arret_travail_jours",
                "L'arrêt de travail concerne un membre du personnel.",
            )
        elif not 0 <= data.arret_travail_jours <= MAX_STOPPAGE_DAYS:
            fail("arret_travail_jours", "Indiquez un nombre de jours entre 0 et 1000.")
    if data.mission_service_public and data.victime not in STAFF_VICTIMS:
        fail(
            "mission_service_public",
            "La mission de service public concerne un membre du personnel victime.",
        )
    return errors


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
    if data.gps_accuracy_m is not None and not (0 <= data.gps_accuracy_m < 1e6):
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
    moment = from_local(occurred_at) if occurred_at.tzinfo is None else occurred_at
    now = utcnow()
    if moment > now + CLOCK_SKEW:
        fail("occurred_at", "La date du fait ne peut pas être dans le futur.")
    max_days = config["ORFI_MAX_FACT_AGE_DAYS"]
    if moment < now - timedelta(days=max_days):
        fail("occurred_at", f"Le fait ne peut pas dater de plus de {max_days} jours.")


def next_reference(organisation_id: int, code: str, year: int) -> str:
    """Return the organisation's next reference for ``year`` (``TMH-2026-000123``)."""
    bump = (
        sa.update(ReferenceCounter)
        .where(
            ReferenceCounter.organisation_id == organisation_id,
            ReferenceCounter.year == year,
        )
        .values(last=ReferenceCounter.last + 1)
        .returning(ReferenceCounter.last)
    )
    number = db.session.execute(bump).scalar()
    if number is None:
        try:
            with db.session.begin_nested():
                db.session.add(
                    ReferenceCounter(organisation_id=organisation_id, year=year, last=1)
                )
            number = 1
        except IntegrityError:  # another transaction created this year's counter first
            number = db.session.execute(bump).scalar_one()
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
    return db.session.scalar(db.select(Report).where(Report.uuid == report_uuid))


def create_report(user: User, data: ReportInput) -> tuple[Report, bool]:
    """File a fact for ``user``; return it and whether it was created now.

    A UUID the client already sent returns the stored fact instead of a second one, so a
    resend after a lost answer never files the fact twice.
    """
    if (
        data.uuid is not None
        and (existing := find_report_by_uuid(data.uuid)) is not None
    ):
        if existing.author_id != user.id:
            raise ValidationError({"uuid": ["Cet identifiant est déjà utilisé."]})
        return existing, False
    errors = check_report_input(user, data)
    if errors:
        raise ValidationError(errors)

    residence = db.session.get(Residence, data.residence_id)
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
    organisation = residence.organisation
    report = Report(
        uuid=data.uuid or uuid_module.uuid4(),
        reference=next_reference(organisation.id, organisation.code, now_local().year),
        organisation_id=organisation.id,
        residence_id=residence.id,
        batiment_id=data.batiment_id,
        category_id=data.category_id,
        author_id=user.id,
        occurred_at=occurred_at,
        latitude=latitude,
        longitude=longitude,
        gps_accuracy_m=accuracy,
        location_source=source,
        lieu=data.lieu,
        victime=data.victime,
        arret_travail_jours=data.arret_travail_jours if staff else None,
        mission_service_public=bool(data.mission_service_public and staff),
        suite=data.suite,
        intervention=data.intervention,
        damage_cost_eur=data.damage_cost_eur,
        gravity=data.gravity,
        description=(data.description or "").strip(),
        status=Status.NOUVEAU,
        **derived_fields(occurred_at, latitude, longitude),
    )
    db.session.add(report)
    db.session.flush()
    db.session.add(ReportEvent(report_id=report.id, user_id=user.id, kind="created"))
    db.session.flush()
    logger.info("Fait %s enregistré par l'utilisateur %s", report.reference, user.id)
    return report, True


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


def list_reports(user: User, filters: ReportFilters, *, mine: bool = False):
    """Return a page (Flask-SQLAlchemy pagination) of the facts ``user`` may read."""
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
    query = query.options(
        sa.orm.joinedload(Report.category).joinedload(Category.family),
        sa.orm.joinedload(Report.residence),
    ).order_by(Report.occurred_at.desc(), Report.id.desc())
    return db.paginate(
        query,
        page=filters.page,
        per_page=current_app.config["ORFI_PAGE_SIZE"],
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
    if gravity is not None and not 1 <= gravity <= 4:
        errors["gravity"] = ["La gravité va de 1 à 4."]
    if len(comment) > 500:
        errors["comment"] = ["Le commentaire est limité à 500 caractères."]
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
