"""What the résidence pages show beside the patrimoine: their number of facts."""

from __future__ import annotations

import sqlalchemy as sa

from orfi.extensions import db
from orfi.reports.models import Report


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
