"""Filing a fact: the one way, for the field form and the API alike.

A fact is filed exactly once per client UUID: a resend (a lost answer, the PWA's
outbox) gets the stored fact back. Sends of one UUID racing each other are caught by
the UUID's unique index (see :func:`store_report`).
"""

from __future__ import annotations

import logging
import uuid as uuid_module
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from orfi.auth.models import User
from orfi.database import utcnow
from orfi.errors import ValidationError
from orfi.extensions import db
from orfi.geo.points import h3_cell
from orfi.patrimoine.models import Organisation
from orfi.reports.checks import ReportInput, checked_input
from orfi.reports.models import STAFF_VICTIMS, LocationSource, Report, Status
from orfi.reports.numbering import next_reference
from orfi.timezone import from_local, now_local, to_local

logger = logging.getLogger(__name__)


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
    """File a fact for ``user``; return it and whether it was created now (flushed,
    not committed: the caller's unit of work commits).

    A UUID the client already sent returns the stored fact instead of a second one, so a
    resend after a lost answer never files the fact twice.
    """
    if data.uuid is not None and (existing := find_report_by_uuid(data.uuid)):
        return _resent_report(user, existing), False
    return store_report(user, build_report(user, data))


def build_report(user: User, data: ReportInput) -> Report:
    """Check ``data`` for ``user`` and return the new fact, not stored yet (no
    reference); raise ValidationError with every error by field."""
    checked = checked_input(user, data)
    if checked.errors:
        raise ValidationError(checked.errors)
    residence = checked.residence
    occurred_at = data.occurred_at
    if occurred_at.tzinfo is None:
        occurred_at = from_local(occurred_at)
    if data.latitude is None:
        latitude, longitude = residence.latitude, residence.longitude
        source, accuracy = LocationSource.RESIDENCE, None
    else:
        latitude, longitude = data.latitude, data.longitude
        source = data.location_source or LocationSource.GPS
        accuracy = data.gps_accuracy_m
    staff = data.victime in STAFF_VICTIMS
    # Relations, not ids: the fact holds the rows the checks loaded, which the
    # session's identity map (weak) would otherwise let go and read again to show it.
    return Report(
        uuid=data.uuid or uuid_module.uuid4(),
        organisation_id=residence.organisation_id,
        residence=residence,
        batiment=checked.batiment,
        category=checked.category,
        author=user,
        occurred_at=occurred_at,
        created_at=utcnow(),
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


def store_report(user: User, report: Report) -> tuple[Report, bool]:
    """Number and flush a fact built by :func:`build_report`; return the stored fact
    and whether it is this one.

    Two sends of one UUID may both find it free (PostgreSQL lets them check at once):
    the second one's insert then meets the unique index, its savepoint is rolled back
    (its reference number with it) and the first send's fact is returned.
    """
    code = db.session.get(Organisation, report.organisation_id).code
    try:
        with db.session.begin_nested():
            report.reference = next_reference(
                report.organisation_id, code, now_local().year
            )
            db.session.add(report)
    except IntegrityError:
        stored = find_report_by_uuid(report.uuid)
        if stored is None:
            raise
        return _resent_report(user, stored), False
    # No "created" event: the row itself says who filed it and when (its history
    # holds what changed since).
    logger.info("Fait %s enregistré par l'utilisateur %s", report.reference, user.id)
    return report, True


def _resent_report(user: User, existing: Report) -> Report:
    """Return the stored fact a client sent again, if it is this user's."""
    if existing.author_id != user.id:
        raise ValidationError({"uuid": ["Cet identifiant est déjà utilisé."]})
    return existing
