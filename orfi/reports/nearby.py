"""The recent facts of a category near a position ("Déjà signalé ?")."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from orfi.auth.models import Role, User, user_residence
from orfi.database import utcnow
from orfi.extensions import db
from orfi.geo.points import distance_m, is_valid_position
from orfi.patrimoine.models import Residence
from orfi.reports.checks import CLOCK_SKEW
from orfi.reports.models import Report

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
