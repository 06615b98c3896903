"""Correcting a fact after filing: its référent at any time, its author for a while.

What may be corrected is what the filer may have got wrong on the spot: the
description, the date and time, the place (résidence, bâtiment, position), the lieu and
the victime. Category, status and gravity are the qualification's
(:mod:`orfi.reports.qualification`). Every correction is one history event
(``kind="correction"``) holding each changed field as ``[before, after]``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app

from orfi.auth.access import QUALIFIERS
from orfi.auth.models import User
from orfi.database import utcnow
from orfi.errors import AccessDenied, ValidationError
from orfi.extensions import db
from orfi.patrimoine.models import Batiment, Residence
from orfi.reports.checks import (
    MAX_COMMENT,
    Fail,
    ReportInput,
    check_batiment,
    check_description_required,
    check_details,
    check_occurred_at,
    check_position,
    is_storable_text,
    may_file_for,
)
from orfi.reports.creation import derived_fields
from orfi.reports.models import (
    STAFF_VICTIMS,
    Lieu,
    LocationSource,
    Report,
    ReportEvent,
    Victime,
)
from orfi.timezone import from_local, to_local

logger = logging.getLogger(__name__)

#: The ``ReportEvent.kind`` of a correction.
EVENT_KIND = "correction"
#: How a corrected date and time is recorded in the history (Europe/Paris).
MOMENT_FORMAT = "%d/%m/%Y %H:%M"
#: Two positions closer than this (degrees, about 10 cm) are the same one.
_SAME_POSITION = 1e-6


@dataclass
class CorrectionInput:
    """The corrected state of a fact's correctable fields, as the user sends it."""

    description: str
    occurred_at: datetime | None  # naive: Europe/Paris wall-clock time
    residence_id: int | None
    batiment_id: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    #: Take the résidence's position (the position is then the résidence's).
    residence_position: bool = False
    confirm_position: bool = False
    lieu: Lieu | None = None
    victime: Victime | None = None
    arret_travail_jours: int | None = None
    comment: str = ""


def _as_utc(moment: datetime) -> datetime:
    """SQLite gives naive UTC datetimes back."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def author_deadline(report: Report) -> datetime:
    """Return when the author stops being able to correct ``report`` (UTC)."""
    minutes = current_app.config["ORFI_AUTHOR_EDIT_MINUTES"]
    return _as_utc(report.created_at) + timedelta(minutes=minutes)


def may_correct(user: User, report: Report) -> bool:
    """Whether ``user`` may correct ``report`` (a fact they can already see).

    A référent (or an administrator) of the fact's bailleur may at any time; its
    author during ``ORFI_AUTHOR_EDIT_MINUTES`` after filing.
    """
    if user.organisation_id is None or user.organisation_id != report.organisation_id:
        return False
    if user.role in QUALIFIERS:
        return True
    return report.author_id == user.id and utcnow() <= author_deadline(report)


def _require_corrector(user: User, report: Report) -> None:
    if not may_correct(user, report):
        if report.author_id == user.id and user.role not in QUALIFIERS:
            raise AccessDenied(
                "Le délai de correction de ce fait est passé : demandez à votre "
                "référent sûreté de le corriger."
            )
        raise AccessDenied("Seul un référent sûreté corrige ce fait.")


def _moment_label(moment: datetime) -> str:
    return to_local(_as_utc(moment)).strftime(MOMENT_FORMAT)


def _position_label(latitude: float, longitude: float) -> str:
    return f"{latitude:.5f}, {longitude:.5f}"


def _code(value) -> str | None:
    return getattr(value, "value", value)


@dataclass
class _Place:
    """Where and when a corrected fact took place."""

    residence: Residence | None
    batiment: Batiment | None
    moment: datetime
    latitude: float | None
    longitude: float | None
    source: LocationSource
    accuracy: float | None


def correct_report(
    user: User, report: Report, data: CorrectionInput
) -> ReportEvent | None:
    """Apply a correction to ``report`` and record it in its history.

    Raise AccessDenied if ``user`` may not correct it, ValidationError (nothing
    changed) with every error by field; return the event, or None if nothing changed.
    """
    _require_corrector(user, report)
    config = current_app.config
    errors: dict[str, list[str]] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    description = (data.description or "").strip()
    # The filing's checks, on the corrected values.
    check_details(
        ReportInput(
            category_id=report.category_id,
            residence_id=data.residence_id,
            occurred_at=data.occurred_at,
            victime=data.victime,
            arret_travail_jours=data.arret_travail_jours,
            description=description,
        ),
        config,
        fail,
    )
    check_description_required(report.category, description, fail)
    if len(data.comment or "") > MAX_COMMENT or not is_storable_text(data.comment):
        fail("comment", f"Commentaire invalide ({MAX_COMMENT} caractères au plus).")
    place = _corrected_place(user, report, data, config, fail)
    if errors:
        raise ValidationError(errors)
    changes = _changes(report, data, description, place)
    if not changes:
        return None
    _apply(report, data, description, place)
    event = ReportEvent(
        report_id=report.id,
        user_id=user.id,
        kind=EVENT_KIND,
        changes=changes,
        comment=(data.comment or "").strip(),
    )
    db.session.add(event)
    db.session.flush()
    logger.info(
        "Fait %s corrigé par l'utilisateur %s (%s)",
        report.reference,
        user.id,
        ", ".join(changes),
    )
    return event


def _corrected_place(
    user: User, report: Report, data: CorrectionInput, config, fail: Fail
) -> _Place:
    """Check the corrected résidence, bâtiment, date and position."""
    residence = report.residence
    if data.residence_id is None:
        fail("residence", "Choisissez une résidence.")
    elif data.residence_id != report.residence_id:
        residence = db.session.get(Residence, data.residence_id)
        if residence is None or not may_file_for(user, residence):
            fail("residence", "Cette résidence ne fait pas partie de votre périmètre.")
            residence = None
    batiment = check_batiment(data.batiment_id, residence, fail)
    place = _Place(
        residence,
        batiment,
        _corrected_moment(report, data, config, fail),
        report.latitude,
        report.longitude,
        report.location_source,
        report.gps_accuracy_m,
    )
    if data.residence_position and residence is not None:
        place.latitude, place.longitude = residence.latitude, residence.longitude
        place.source, place.accuracy = LocationSource.RESIDENCE, None
    elif not data.residence_position and (
        data.latitude is None
        or data.longitude is None
        or abs(data.latitude - report.latitude) > _SAME_POSITION
        or abs(data.longitude - report.longitude) > _SAME_POSITION
    ):
        place.latitude, place.longitude = data.latitude, data.longitude
        place.source, place.accuracy = LocationSource.MAP, None
        if place.latitude is None or place.longitude is None:
            fail("latitude", "Indiquez la latitude et la longitude, en degrés.")
            return place
    moved = (place.latitude, place.longitude) != (report.latitude, report.longitude)
    if residence is not None and (moved or residence is not report.residence):
        check_position(
            ReportInput(
                category_id=report.category_id,
                residence_id=residence.id,
                occurred_at=None,
                latitude=place.latitude,
                longitude=place.longitude,
                confirm_position=data.confirm_position,
            ),
            residence,
            config,
            fail,
        )
    return place


def _corrected_moment(
    report: Report, data: CorrectionInput, config, fail: Fail
) -> datetime:
    """The corrected date of the fact (UTC), checked only if it changed."""
    moment = _as_utc(report.occurred_at)
    if data.occurred_at is None:
        fail("occurred_at", "Indiquez la date et l'heure du fait.")
        return moment
    try:
        corrected = from_local(data.occurred_at)
    except OverflowError:
        fail("occurred_at", "Date invalide.")
        return moment
    if corrected != moment:
        check_occurred_at(data.occurred_at, config, fail)
    return corrected


def _changes(
    report: Report, data: CorrectionInput, description: str, place: _Place
) -> dict[str, list]:
    """The history's ``[before, after]`` of each corrected field."""
    staff = data.victime in STAFF_VICTIMS
    pairs = {
        "description": (report.description, description),
        "occurred_at": (_moment_label(report.occurred_at), _moment_label(place.moment)),
        "residence": (report.residence.label, place.residence.label),
        "batiment": (
            report.batiment.reference if report.batiment else None,
            place.batiment.reference if place.batiment else None,
        ),
        "position": (
            _position_label(report.latitude, report.longitude),
            _position_label(place.latitude, place.longitude),
        ),
        "location_source": (_code(report.location_source), _code(place.source)),
        "lieu": (_code(report.lieu), _code(data.lieu)),
        "victime": (_code(report.victime), _code(data.victime)),
        # A staff victim's fields go when the victim is no longer staff.
        "arret_travail_jours": (
            report.arret_travail_jours,
            data.arret_travail_jours if staff else None,
        ),
        "mission_service_public": (
            report.mission_service_public,
            report.mission_service_public and staff,
        ),
    }
    return {name: [old, new] for name, (old, new) in pairs.items() if old != new}


def _apply(
    report: Report, data: CorrectionInput, description: str, place: _Place
) -> None:
    """Write the corrected values, and what is derived from time and position."""
    staff = data.victime in STAFF_VICTIMS
    report.description = description
    report.residence = place.residence
    report.batiment = place.batiment
    report.lieu = data.lieu
    report.victime = data.victime
    report.arret_travail_jours = data.arret_travail_jours if staff else None
    report.mission_service_public = report.mission_service_public and staff
    report.occurred_at = place.moment
    report.latitude, report.longitude = place.latitude, place.longitude
    report.location_source, report.gps_accuracy_m = place.source, place.accuracy
    for name, value in derived_fields(
        place.moment, place.latitude, place.longitude
    ).items():
        setattr(report, name, value)
