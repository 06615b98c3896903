"""What the résidence pages show beside the patrimoine: their number of facts."""

from __future__ import annotations

import sqlalchemy as sa

from orfi.auth.models import User
from orfi.extensions import db
from orfi.reports.models import Report
from orfi.reports.queries import visible_reports


def count_reports_by_residence(residence_ids: list[int]) -> dict[int, int]:
    """Return the number of facts per résidence id."""
    if not residence_ids:
        return {}
    rows = db.session.execute(
        db.select(Report.residence_id, sa.func.count())
        .where(Report.residence_id.in_(residence_ids))
        .group_by(Report.residence_id)
    )
    return {residence_id: count for residence_id, count in rows}


def latest_reports(user: User, residence_id: int, limit: int = 10) -> list[Report]:
    """The latest facts of one résidence that ``user`` may read, newest first."""
    return list(
        db.session.scalars(
            visible_reports(user)
            .where(Report.residence_id == residence_id)
            .options(sa.orm.joinedload(Report.category))
            .order_by(Report.occurred_at.desc(), Report.id.desc())
            .limit(limit)
        )
    )
